#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# RSA decryption with a card key: data encrypted by the default provider with the exported public
# key (PKCS#1 v1.5, OAEP SHA-1 and SHA-256, with and without a label) decrypts through schsm.
. "$(dirname "$0")/lib.sh"
init_card
DEF="-provider default"
"$TOOL" --pin "$PIN" keygen --type rsa:2048 --label enc >"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
"$TOOL" export-pubkey --label enc --out "$T/enc.pub" >>"$T/kg.log" 2>&1
head -c 48 /dev/urandom >"$T/secret"
KEY="schsm:object=enc;type=private?pin-value=$PIN"

dec_case() {   # NAME OPTS...
    local name=$1
    shift
    check "$name: encrypt (default)" $OSSL pkeyutl $DEF -encrypt -pubin -inkey "$T/enc.pub" "$@" \
        -in "$T/secret" -out "$T/$name.ct"
    check "$name: decrypt (card)" $OSSL pkeyutl $PROV -decrypt -inkey "$KEY" "$@" -in "$T/$name.ct" -out "$T/$name.pt"
    check "$name: plaintext matches" cmp "$T/secret" "$T/$name.pt"
}
dec_case pkcs1
dec_case oaep-sha1 -pkeyopt rsa_padding_mode:oaep
dec_case oaep-sha256 -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256
dec_case oaep-sha256-mgf1-sha1 -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha1
dec_case oaep-label -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_oaep_label:0011223344

check_fail "wrong OAEP label fails" $OSSL pkeyutl $PROV -decrypt -inkey "$KEY" -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_oaep_label:00112233ff -in "$T/oaep-label.ct" -out "$T/bad.pt"
# An OAEP block read as PKCS#1 v1.5 is refused, except when its random second byte happens to be
# 02 followed by a conforming padding (about 1 in 260): then the "plaintext" is garbage. Either
# way the secret must not come out, and a refusal must leave no output behind.
oaep_as_pkcs1() {
    if $OSSL pkeyutl $PROV -decrypt -inkey "$KEY" -in "$T/oaep-sha1.ct" -out "$T/bad2.pt"; then
        ! cmp -s "$T/secret" "$T/bad2.pt"
    else
        [ ! -s "$T/bad2.pt" ]
    fi
}
check "OAEP ciphertext as PKCS#1 does not give the secret, and no output on refusal" oaep_as_pkcs1

# Encryption with the card key's public half runs on the host.
check "encrypt with the schsm key" $OSSL pkeyutl $PROV -encrypt -pubin -inkey "schsm:object=enc;type=public" \
    -in "$T/secret" -out "$T/host.ct"
check "decrypt that (card)" $OSSL pkeyutl $PROV -decrypt -inkey "$KEY" -in "$T/host.ct" -out "$T/host.pt"
check "host round trip matches" cmp "$T/secret" "$T/host.pt"
finish
