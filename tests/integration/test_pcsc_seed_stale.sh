# SPDX-License-Identifier: Apache-2.0
# Regression test for the seed scenario (stale key state). A key is generated, used and deleted;
# the card is re-initialised with OpenSC (sc-hsm-tool -X, DKEK share created and imported) and
# OpenSC generates a new key under the same label, ID and key reference. Every schsm view must
# show only the new key and every signature must verify with the new public key - in new
# processes and in one long-lived process, also when the card in the reader is swapped.
. "$(dirname "$0")/lib.sh"

need "$TOOL" "$SCHSM_BUILD/lib/schsm.so"
need_cmd sc-hsm-tool pkcs11-tool
[ -e "$PKCS11_MODULE" ] || skip "$PKCS11_MODULE missing (apt-get install opensc-pkcs11)"
pcsc_start 1
R=$(reader_name 0)
export SCHSM_READER="$R"
P11=(pkcs11-tool --module "$PKCS11_MODULE")
printf '%s\n' "$PIN" >"$T/pin"
chmod 600 "$T/pin"
Q="?pin-source=file:$T/pin"
printf 'seed scenario\n' >"$T/data"

json_id() {   # the id of the key labelled $1 in `schsm-tool list --json`
    "$TOOL" list --json | tr -d '\n' | tr '{' '\n' | grep "\"label\": *\"$1\"" | sed -n 's/.*"id": *"\([0-9a-fA-F]*\)".*/\1/p'
}

# --- the old key: generated, used, deleted ----------------------------------------------
check init "$TOOL" init --so-pin "$SO_PIN" --pin "$PIN" --yes
check keygen-old "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label seed
check pub-old "$TOOL" export-pubkey --label seed --out "$T/old.pem"
OLD_ID=$(json_id seed)
check old-id-known test -n "$OLD_ID"
check sign-old openssl dgst -sha256 $PROV -sign "schsm:object=seed;type=private$Q" -out "$T/old.sig" "$T/data"
check verify-old openssl dgst -sha256 -verify "$T/old.pem" -signature "$T/old.sig" "$T/data"

signer_start "schsm:object=seed;type=private$Q" "$T/old.pem"
check signer-old signer_expect ok sign

check delete-old "$TOOL" --pin "$PIN" delete --label seed --yes
check list-empty "$TOOL" list --json
check_log_lacks list-empty '"seed"'
check signer-deleted signer_expect refused sign

# --- OpenSC re-initialises and makes the new key with the same label and ID -------------
check reinit-opensc sc-hsm-tool -r "$R" -X --so-pin "$SO_PIN" --pin "$PIN" --dkek-shares 1
check dkek-create sc-hsm-tool -r "$R" --create-dkek-share "$T/dkek.pbe" --password seed-share-pw
check dkek-import sc-hsm-tool -r "$R" --import-dkek-share "$T/dkek.pbe" --password seed-share-pw
check_log_has dkek-import 'DKEK shares *: *1'
check keygen-new "${P11[@]}" --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 \
    --label seed --id "$OLD_ID"
check pub-new-der "${P11[@]}" --read-object --type pubkey --id "$OLD_ID" -o "$T/new.der"
check pub-new openssl pkey -pubin -inform DER -in "$T/new.der" -out "$T/new.pem"
check keys-differ sh -c "! cmp -s '$T/old.pem' '$T/new.pem'"

# --- every schsm view shows only the new key --------------------------------------------
check list-new "$TOOL" list --json
check_log_has list-new "\"label\": *\"seed\""
check one-key-listed test "$(grep -o '"label": *"seed"' "$T/list-new.log" | wc -l)" -eq 1
check id-kept test "$(json_id seed)" = "$OLD_ID"
check storeutl openssl storeutl $PROV -noout "schsm:$Q"
check_log_has storeutl 'Total found: 2$'
check storeutl-pub openssl pkey $PROV -pubin -in "schsm:object=seed;type=public" -pubout -out "$T/store.pem"
check store-pub-is-new cmp "$T/store.pem" "$T/new.pem"
check sign-label openssl dgst -sha256 $PROV -sign "schsm:object=seed;type=private$Q" -out "$T/l.sig" "$T/data"
check verify-label openssl dgst -sha256 -verify "$T/new.pem" -signature "$T/l.sig" "$T/data"
IDPCT=$(printf '%s' "$OLD_ID" | sed 's/../%&/g')
check sign-id openssl dgst -sha256 $PROV -sign "schsm:id=$IDPCT;type=private$Q" -out "$T/i.sig" "$T/data"
check verify-id openssl dgst -sha256 -verify "$T/new.pem" -signature "$T/i.sig" "$T/data"

# The long-lived process: its old key object stays refused, a fresh lookup finds the new key.
check signer-stale-refused signer_expect refused sign
check signer-reload signer_expect ok load "$T/new.pem"
check signer-new signer_expect ok sign

# --- the card in the reader is swapped between two operations of the same process -------
sim_stop 0
check removed wait_no_card 0
sim_start 0 "$T/other.state"
check other-in wait_card 0
check init-other "$TOOL" init --so-pin "$SO_PIN" --pin "$PIN" --yes
check keygen-other "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label seed --id "$OLD_ID"
check pub-other "$TOOL" export-pubkey --label seed --out "$T/other.pem"
check signer-swapped-refused signer_expect refused sign
check signer-reload-other signer_expect ok load "$T/other.pem"
check signer-other signer_expect ok sign
check sign-other-new-process openssl dgst -sha256 $PROV -sign "schsm:id=$IDPCT;type=private$Q" \
    -out "$T/o.sig" "$T/data"
check verify-other openssl dgst -sha256 -verify "$T/other.pem" -signature "$T/o.sig" "$T/data"

sim_stop 0
check removed-other wait_no_card 0
sim_start 0 "$T/card0.state"
check first-back wait_card 0
check signer-back-refused signer_expect refused sign
check signer-reload-back signer_expect ok load "$T/new.pem"
check signer-back signer_expect ok sign

exec 3>&-
finish
