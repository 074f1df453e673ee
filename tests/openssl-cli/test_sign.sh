#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dgst -sign with card keys for every hash (EC, RSA PKCS#1 v1.5, RSA-PSS with each salt length
# form and MGF1 digest), verified by the default provider alone with the exported public key,
# and by schsm with the card key; pkeyutl -sign on a digest.
. "$(dirname "$0")/lib.sh"
init_card
"$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label ec1 >"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
"$TOOL" --pin "$PIN" keygen --type ec:secp521r1 --label ec5 >>"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
"$TOOL" --pin "$PIN" keygen --type rsa:2048 --label rsa1 --id 0102 >>"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
for k in ec1 ec5 rsa1; do
    "$TOOL" export-pubkey --label $k --out "$T/$k.pub" >>"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
done
head -c 5000 /dev/urandom >"$T/data"
DEF="-provider default"

for k in ec1 ec5 rsa1; do
    for h in sha1 sha224 sha256 sha384 sha512; do
        check "$k $h sign" $OSSL dgst $PROV -$h -sign "schsm:object=$k;type=private?pin-value=$PIN" \
            -out "$T/$k.$h.sig" "$T/data"
        check "$k $h verify (default, exported key)" $OSSL dgst $DEF -$h -verify "$T/$k.pub" \
            -signature "$T/$k.$h.sig" "$T/data"
    done
done

# Verification with the card key itself runs on the host.
check "ec1 verify with schsm key" $OSSL dgst $PROV -sha256 -verify "schsm:object=ec1;type=public" \
    -signature "$T/ec1.sha256.sig" "$T/data"
check_fail "ec1 verify rejects other data" $OSSL dgst $DEF -sha256 -verify "$T/ec1.pub" \
    -signature "$T/ec1.sha256.sig" "$T/kg.log"

# Default digest (no -sha*) is SHA-256.
check "ec1 default digest sign" $OSSL dgst $PROV -sign "schsm:object=ec1;type=private?pin-value=$PIN" \
    -out "$T/ec1.def.sig" "$T/data"
check "ec1 default digest verifies as sha256" $OSSL dgst $DEF -sha256 -verify "$T/ec1.pub" \
    -signature "$T/ec1.def.sig" "$T/data"

# RSA-PSS: salt lengths and MGF1.
for h in sha1 sha256 sha384 sha512; do
    for sl in digest max auto 20; do
        check "pss $h saltlen $sl sign" $OSSL dgst $PROV -$h -sign "schsm:id=%01%02;type=private?pin-value=$PIN" \
            -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:$sl -out "$T/pss.$h.$sl.sig" "$T/data"
        vsl=$sl; [ "$sl" = auto ] && vsl=auto
        check "pss $h saltlen $sl verify (default)" $OSSL dgst $DEF -$h -verify "$T/rsa1.pub" \
            -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:$vsl -signature "$T/pss.$h.$sl.sig" "$T/data"
    done
done
check "pss sha256 saltlen digest is exact" $OSSL dgst $DEF -sha256 -verify "$T/rsa1.pub" \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -signature "$T/pss.sha256.digest.sig" "$T/data"
check_fail "pss sha256 saltlen 20 is not 32" $OSSL dgst $DEF -sha256 -verify "$T/rsa1.pub" \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -signature "$T/pss.sha256.20.sig" "$T/data"
check "pss sha256 mgf1 sha1 sign" $OSSL dgst $PROV -sha256 -sign "schsm:object=rsa1;type=private?pin-value=$PIN" \
    -sigopt rsa_padding_mode:pss -sigopt rsa_mgf1_md:sha1 -out "$T/pss.mgf1.sig" "$T/data"
check "pss sha256 mgf1 sha1 verify" $OSSL dgst $DEF -sha256 -verify "$T/rsa1.pub" \
    -sigopt rsa_padding_mode:pss -sigopt rsa_mgf1_md:sha1 -signature "$T/pss.mgf1.sig" "$T/data"
check_fail "pss mgf1 mismatch fails" $OSSL dgst $DEF -sha256 -verify "$T/rsa1.pub" \
    -sigopt rsa_padding_mode:pss -signature "$T/pss.mgf1.sig" "$T/data"

# pkeyutl -sign on a digest, both key types.
$OSSL dgst -sha256 -binary -out "$T/data.h" "$T/data"
for k in ec1 rsa1; do
    check "pkeyutl $k sign" $OSSL pkeyutl $PROV -sign -inkey "schsm:object=$k;type=private?pin-value=$PIN" \
        -pkeyopt digest:sha256 -in "$T/data.h" -out "$T/$k.pku.sig"
    check "pkeyutl $k verify (default)" $OSSL pkeyutl $DEF -verify -pubin -inkey "$T/$k.pub" \
        -pkeyopt digest:sha256 -in "$T/data.h" -sigfile "$T/$k.pku.sig"
done

# Same with schsm listed after default: the card key still signs in schsm.
check "reverse order EC sign" $OSSL dgst $PROV_REV -sha384 -sign "schsm:object=ec1;type=private?pin-value=$PIN" \
    -out "$T/rev.sig" "$T/data"
check "reverse order EC verify" $OSSL dgst $DEF -sha384 -verify "$T/ec1.pub" -signature "$T/rev.sig" "$T/data"
check "reverse order RSA sign" $OSSL dgst $PROV_REV -sha256 -sign "schsm:object=rsa1;type=private?pin-value=$PIN" \
    -out "$T/rev2.sig" "$T/data"
check "reverse order RSA verify" $OSSL dgst $DEF -sha256 -verify "$T/rsa1.pub" -signature "$T/rev2.sig" "$T/data"

finish
