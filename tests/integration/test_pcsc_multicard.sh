# SPDX-License-Identifier: Apache-2.0
# Several virtual cards in separate vpcd slots (three cards: two slots of the first vpcd reader
# and one of a second). Each card holds a different key under the same label "k". The card is
# chosen by reader (URI, provider config, SCHSM_READER), serial or token; an ambiguous choice
# fails and lists the readers; a key is never taken from the wrong card.
. "$(dirname "$0")/lib.sh"

need "$TOOL" "$SCHSM_BUILD/lib/schsm.so"
N=3
pcsc_start $N
printf '%s\n' "$PIN" >"$T/pin"
chmod 600 "$T/pin"
Q="?pin-source=file:$T/pin"
printf 'which card signed this?\n' >"$T/data"

pct() {   # percent-encodes a reader name for a URI
    printf '%s' "$1" | od -An -tx1 -v | tr -d '\n' | sed 's/ \(..\)/%\1/g'
}

declare -a RD SER
for i in $(seq 0 $((N - 1))); do
    RD[$i]=$(reader_name "$i")
    check "init-$i" "$TOOL" --reader "${RD[$i]}" init --so-pin "$SO_PIN" --pin "$PIN" --label "tok$i" --yes
    check "keygen-$i" "$TOOL" --reader "${RD[$i]}" --pin "$PIN" keygen --type ec:prime256v1 --label k
    check "pub-$i" "$TOOL" --reader "${RD[$i]}" export-pubkey --label k --out "$T/pub$i.pem"
    check "info-$i" "$TOOL" --reader "${RD[$i]}" info --json
    SER[$i]=$(sed -n 's/.*"serial": *"\([^"]*\)".*/\1/p' "$T/info-$i.log")
done
check serials-differ test "${SER[0]}" != "${SER[1]}" -a "${SER[1]}" != "${SER[2]}"

# sign_on NAME CARD URI [env...]: signs with URI and checks the signature is CARD's key's.
sign_on() {
    local name=$1 card=$2 uri=$3
    shift 3
    # shellcheck disable=SC2086
    check "$name" env "$@" openssl dgst -sha256 $PROV -sign "$uri" -out "$T/$name.sig" "$T/data" &&
        check "$name-is-card$card" openssl dgst -sha256 -verify "$T/pub$card.pem" \
            -signature "$T/$name.sig" "$T/data"
}

sign_on by-reader-uri 1 "schsm:reader=$(pct "${RD[1]}");object=k;type=private$Q"
sign_on by-reader-uri-2 2 "schsm:reader=$(pct "${RD[2]}");object=k;type=private$Q"
sign_on by-env 2 "schsm:object=k;type=private$Q" SCHSM_READER="PCD B 00 00"
sign_on by-env-0 0 "schsm:object=k;type=private$Q" SCHSM_READER="${RD[0]}"
sign_on by-serial 1 "schsm:serial=${SER[1]};object=k;type=private$Q"
sign_on by-serial-2 2 "schsm:serial=${SER[2]};object=k;type=private$Q"
sign_on by-token 2 "schsm:token=tok2;object=k;type=private$Q"
sign_on by-token-0 0 "schsm:token=tok0;object=k;type=private$Q"

# An openssl.cnf activating schsm and default, with LINE in the schsm section.
cnf_select() {   # FILE LINE
    cat >"$1" <<EOC
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
schsm = schsm_sect
[default_sect]
activate = 1
[schsm_sect]
module = $SCHSM_BUILD/lib/schsm.so
$2
activate = 1
EOC
}
cnf_select "$T/openssl.cnf" "reader = ${RD[1]}"
check by-config env OPENSSL_CONF="$T/openssl.cnf" openssl dgst -sha256 \
    -sign "schsm:object=k;type=private$Q" -out "$T/by-config.sig" "$T/data"
check by-config-is-card1 openssl dgst -sha256 -verify "$T/pub1.pem" -signature "$T/by-config.sig" "$T/data"
# The URI's reader comes before the configuration's.
check uri-over-config env OPENSSL_CONF="$T/openssl.cnf" openssl dgst -sha256 \
    -sign "schsm:reader=$(pct "${RD[2]}");object=k;type=private$Q" -out "$T/uri-over-config.sig" "$T/data"
check uri-over-config-is-card2 openssl dgst -sha256 -verify "$T/pub2.pem" \
    -signature "$T/uri-over-config.sig" "$T/data"

# Ambiguous: a reader substring that matches every card fails and names the readers.
check_fail ambiguous env SCHSM_READER="Virtual PCD" openssl dgst -sha256 $PROV \
    -sign "schsm:object=k;type=private$Q" -out "$T/amb.sig" "$T/data"
check_log_has ambiguous 'Virtual PCD 00 00'
check_log_has ambiguous 'Virtual PCD B 00 00'
check_fail ambiguous-tool env SCHSM_READER="Virtual PCD" "$TOOL" list
check_log_has ambiguous-tool 'Virtual PCD 00 01'

# Never the wrong card: a serial/token that contradicts the chosen reader fails.
check_fail serial-contradicts-reader openssl dgst -sha256 $PROV \
    -sign "schsm:reader=$(pct "${RD[0]}");serial=${SER[1]};object=k;type=private$Q" \
    -out "$T/wrong.sig" "$T/data"
check_fail token-contradicts-serial openssl dgst -sha256 $PROV \
    -sign "schsm:serial=${SER[0]};token=tok1;object=k;type=private$Q" -out "$T/wrong2.sig" "$T/data"
check_fail unknown-serial openssl dgst -sha256 $PROV \
    -sign "schsm:serial=DENK0000000;object=k;type=private$Q" -out "$T/wrong3.sig" "$T/data"

# With no reader named, serial= and token= select the card among all readers; a failed choice
# lists the cards seen (reader, serial, label).
check_log_has unknown-serial "serial ${SER[2]}, token 'tok2'"
check_log_has unknown-serial "reader '${RD[0]}'"
check_fail token-unknown openssl dgst -sha256 $PROV \
    -sign "schsm:token=nope;object=k;type=private$Q" -out "$T/wrong4.sig" "$T/data"
check_log_has token-unknown "token 'tok1'"
# A reader substring that matches several readers is narrowed to those holding a card: "PCD B"
# matches slot B 00 00 (card 2) and the empty slot B 00 01.
sign_on narrowed-env 2 "schsm:object=k;type=private$Q" SCHSM_READER="PCD B"
# ... and, when several cards remain, by serial= / token=.
sign_on env-and-token 1 "schsm:token=tok1;object=k;type=private$Q" SCHSM_READER="Virtual PCD"
sign_on env-and-serial 0 "schsm:serial=${SER[0]};object=k;type=private$Q" SCHSM_READER="Virtual PCD"
# A store listing by serial shows that card's key only (its private and public halves).
check list-by-serial openssl storeutl $PROV -noout "schsm:serial=${SER[2]}$Q"
check_log_has list-by-serial 'Total found: 2$'
check pub-by-token openssl pkey $PROV -pubin -in "schsm:token=tok1;object=k;type=public" -pubout -out "$T/tok1.pem"
check pub-by-token-is-card1 cmp "$T/tok1.pem" "$T/pub1.pem"

# A key-reference file carries the serial: it finds its card in whichever reader, with no reader
# named, and its public key reads without any PIN (an empty -passin: no login now).
check keyref-write openssl pkey $PROV -in "schsm:serial=${SER[2]};object=k;type=private" \
    -passin "file:$T/pin" -out "$T/k2.ref" </dev/null
check keyref-sign openssl dgst -sha256 $PROV -sign "$T/k2.ref" -passin "file:$T/pin" -out "$T/keyref.sig" "$T/data"
check keyref-sign-is-card2 openssl dgst -sha256 -verify "$T/pub2.pem" -signature "$T/keyref.sig" "$T/data"
check keyref-pubout-no-pin openssl pkey $PROV -in "$T/k2.ref" -passin pass: -pubout -out "$T/k2.ref.pub" </dev/null
check keyref-pubout-is-card2 cmp "$T/k2.ref.pub" "$T/pub2.pem"
check_fail keyref-sign-no-pin openssl dgst -sha256 $PROV -sign "$T/k2.ref" -passin pass: -out "$T/np.sig" "$T/data" </dev/null
check_log_has keyref-sign-no-pin 'PIN is needed'
# Without any PIN source and no terminal the load fails at once (servers refuse to start).
check_fail keyref-no-terminal timeout 20 setsid openssl pkey $PROV -in "$T/k2.ref" -noout </dev/null

# SCHSM_READER, the config and --reader may name the card by serial=/token= instead of a reader.
sign_on env-serial 2 "schsm:object=k;type=private$Q" SCHSM_READER="serial=${SER[2]}"
sign_on env-token 1 "schsm:object=k;type=private$Q" SCHSM_READER="token=tok1"
# A URI that names the card comes before SCHSM_READER.
sign_on uri-serial-over-env 0 "schsm:serial=${SER[0]};object=k;type=private$Q" SCHSM_READER="serial=${SER[2]}"
check_fail env-serial-unknown env SCHSM_READER="serial=NOPE" openssl dgst -sha256 $PROV \
    -sign "schsm:object=k;type=private$Q" -out "$T/nope.sig" "$T/data"
check_log_has env-serial-unknown "no SmartCard-HSM matches serial=NOPE"
check_log_has env-serial-unknown "reader '${RD[0]}' \(serial ${SER[0]}, token 'tok0'\)"
check_log_has env-serial-unknown "reader '${RD[2]}' \(serial ${SER[2]}, token 'tok2'\)"
check tool-by-token "$TOOL" --reader token=tok2 info --json
check_log_has tool-by-token "\"serial\": *\"${SER[2]}\""
check tool-env-serial env SCHSM_READER="serial=${SER[1]}" "$TOOL" info --json
check_log_has tool-env-serial "\"serial\": *\"${SER[1]}\""
check_fail tool-serial-unknown env SCHSM_READER="serial=NOPE" "$TOOL" info --json
check_log_has tool-serial-unknown "serial ${SER[0]}, token 'tok0'"
check_log_has tool-serial-unknown "serial ${SER[1]}, token 'tok1'"
check_fail tool-token-unknown "$TOOL" --reader token=nope list
check_log_has tool-token-unknown "no SmartCard-HSM matches token=nope"

# serial / token in the provider configuration: before SCHSM_READER, after the URI.
cnf_select "$T/serial.cnf" "serial = ${SER[2]}"
cnf_select "$T/token.cnf" "token = tok1"
cnf_select "$T/reader-serial.cnf" "reader = serial=${SER[0]}"
sign_on cnf-serial 2 "schsm:object=k;type=private$Q" OPENSSL_CONF="$T/serial.cnf" SCHSM_READER="${RD[0]}"
sign_on cnf-token 1 "schsm:object=k;type=private$Q" OPENSSL_CONF="$T/token.cnf"
sign_on cnf-reader-serial 0 "schsm:object=k;type=private$Q" OPENSSL_CONF="$T/reader-serial.cnf"
sign_on uri-over-cnf-serial 1 "schsm:token=tok1;object=k;type=private$Q" OPENSSL_CONF="$T/serial.cnf"

# Each reader lists its own card only.
check list-1 "$TOOL" --reader "${RD[1]}" info --json
check_log_has list-1 "\"serial\": *\"${SER[1]}\""

finish
