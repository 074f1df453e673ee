#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Keys made with an algorithm list (keygen --algorithms): the list shows in schsm-tool list,
# list --json, openssl pkey -text and storeutl -text; the provider signs only with what the list
# allows (an ECDSA key limited to ecdsa-sha256 signs through the card's own hash) and refuses the
# rest with a message that shows the list. Reading the list costs no APDU on the signing path.
. "$(dirname "$0")/lib.sh"
init_card
need "$TOOL"

printf '%s\n' "$PIN" >"$T/pin"
chmod 600 "$T/pin"
Q="?pin-source=file:$T/pin"
printf 'message signed by a key limited to one algorithm\n' >"$T/data"
head -c 4000 /dev/urandom >"$T/big"

check "keygen ecdsa-sha256 only" "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label hashonly \
    --algorithms ecdsa-sha256
check_log_has "keygen ecdsa-sha256 only" 'allowed: *ecdsa-sha256$'
check "keygen ecdsa only" "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label signonly --algorithms ecdsa
check "keygen rsa with names and hex" "$TOOL" --pin "$PIN" keygen --type rsa:2048 --label rsalist \
    --algorithms rsa-pss,decrypt,0x92
check_log_has "keygen rsa with names and hex" 'allowed: *rsa-pss, rsa-decrypt, wrap$'
check "keygen without list" "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label free
check_fail "unknown name refused" "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label bad \
    --algorithms ecdsa256
check_log_has "unknown name refused" "unknown algorithm 'ecdsa256'"
check_fail "name of the other key type refused" "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label bad \
    --algorithms rsa-oaep
check_log_has "name of the other key type refused" 'rsa-oaep does not fit an EC key'

# --- shown everywhere ---------------------------------------------------------------------------
check "list" "$TOOL" list
check_log_has "list" 'hashonly +\[algorithms: ecdsa-sha256\]'
check_log_has "list" 'rsalist +\[algorithms: rsa-pss, rsa-decrypt, wrap\]'
check_log_lacks "list" 'free +\['
check "list --json" "$TOOL" list --json
check "json lists" python3 -c '
import json, sys
d = {k["label"]: k for k in json.load(open(sys.argv[1]))}
assert d["hashonly"]["algorithms"] == ["ecdsa-sha256"], d["hashonly"]
assert d["hashonly"]["algorithms_hex"] == "73", d["hashonly"]
assert d["rsalist"]["algorithms"] == ["rsa-pss", "rsa-decrypt", "wrap"], d["rsalist"]
assert d["rsalist"]["algorithms_hex"] == "402192", d["rsalist"]
assert d["free"]["algorithms"] is None and d["free"]["algorithms_hex"] is None, d["free"]
' "$T/list_--json.log"
check "pkey -text" $OSSL pkey $PROV -in "schsm:object=hashonly;type=private$Q" -text -noout
check_log_has "pkey -text" '^Algorithms: ecdsa-sha256 \(73\)$'
check "pkey -text unrestricted" $OSSL pkey $PROV -in "schsm:object=free;type=private$Q" -text -noout
check_log_has "pkey -text unrestricted" '^Algorithms: any that fits the key \(no algorithm list\)$'
check "storeutl -text" $OSSL storeutl $PROV -text "schsm:$Q"
check_log_has "storeutl -text" '^Algorithms: rsa-pss, rsa-decrypt, wrap \(40 21 92\)$'
check_log_has "storeutl -text" '^Algorithms: ecdsa \(70\)$'

# --- the provider keeps to the list -------------------------------------------------------------
"$TOOL" export-pubkey --label hashonly --out "$T/hashonly.pub" >/dev/null 2>&1
check "sign with ecdsa-sha256 key" $OSSL dgst -sha256 $PROV -sign "schsm:object=hashonly;type=private$Q" \
    -out "$T/h.sig" "$T/data"
check "its signature verifies" $OSSL dgst -sha256 -verify "$T/hashonly.pub" -signature "$T/h.sig" "$T/data"
check_fail "other digest refused" $OSSL dgst -sha384 $PROV -sign "schsm:object=hashonly;type=private$Q" \
    -out "$T/h384.sig" "$T/data"
check_log_has "other digest refused" 'allows only ecdsa-sha256: the card hashes'
check_log_has "other digest refused" 'openssl dgst -sha256 -sign'
$OSSL dgst -sha256 -binary -out "$T/data.sha256" "$T/data"
check_fail "prehashed input refused" $OSSL pkeyutl $PROV -sign -inkey "schsm:object=hashonly;type=private$Q" \
    -in "$T/data.sha256" -out "$T/x.sig"
check_log_has "prehashed input refused" 'allows only ecdsa-sha256: the card hashes, so it needs the message itself'
check_fail "message over one APDU refused" $OSSL dgst -sha256 $PROV -sign \
    "schsm:object=hashonly;type=private$Q" -out "$T/big.sig" "$T/big"
check_log_has "message over one APDU refused" 'not a longer message'
check_fail "ECDH refused by the list" $OSSL pkeyutl -derive $PROV -inkey "schsm:object=signonly;type=private$Q" \
    -peerkey "$T/hashonly.pub" -out "$T/secret"
check_log_has "ECDH refused by the list" 'key derivation with key "signonly" refused by the card: the key.s algorithm list allows only ecdsa \(70\), not ecdh \(80\)'
check_log_lacks "ECDH refused by the list" 'decryption'
check_fail "RSA-PKCS1 refused by the list" $OSSL dgst -sha256 $PROV -sign "schsm:object=rsalist;type=private$Q" \
    -out "$T/r.sig" "$T/data"
check_log_has "RSA-PKCS1 refused by the list" 'allows only rsa-pss, rsa-decrypt, wrap'
# An RSA key limited to rsa-pss signs PSS through the card's padding (salt = hash length).
"$TOOL" export-pubkey --label rsalist --out "$T/rsalist.pub" >/dev/null 2>&1
check "RSA-PSS by the list" $OSSL dgst -sha256 $PROV -sign "schsm:object=rsalist;type=private$Q" \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -out "$T/pss.sig" "$T/data"
check "RSA-PSS signature verifies" $OSSL dgst -sha256 -verify "$T/rsalist.pub" -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:32 -signature "$T/pss.sig" "$T/data"
check_fail "RSA-PSS with a salt the card cannot make" $OSSL dgst -sha256 $PROV \
    -sign "schsm:object=rsalist;type=private$Q" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:max \
    -out "$T/pss2.sig" "$T/data"
check_log_has "RSA-PSS with a salt the card cannot make" 'may not make this signature: its algorithm list allows only rsa-pss'
# The decrypt the list allows still works (host unpads after the card's raw RSA).
printf 'secret\n' >"$T/plain"
check "encrypt to the RSA key" $OSSL pkeyutl -encrypt -pubin -inkey "$T/rsalist.pub" -in "$T/plain" -out "$T/ct"
check "decrypt with the list's rsa-decrypt" $OSSL pkeyutl -decrypt $PROV -inkey "schsm:object=rsalist;type=private$Q" \
    -in "$T/ct" -out "$T/plain2"
check "decrypted" cmp "$T/plain" "$T/plain2"

# A cold signature with an unrestricted key reads no algorithm list (no SELECT of a key file).
check "cold sign traced" env SCHSM_DEBUG=apdu SCHSM_DEBUG_FILE="$T/cold.trace" $OSSL dgst -sha256 $PROV \
    -sign "schsm:object=free;type=private$Q" -out "$T/free.sig" "$T/data"
check "cold sign traced anything" grep -q '^apdu> 80 68' "$T/cold.trace"
check "no key-file SELECT when signing" sh -c "! grep -q '^apdu> 00 A4 00' '$T/cold.trace'"
echo "cold sign with an unrestricted key: $(apdu_count "$T/cold.trace") APDUs"

finish
