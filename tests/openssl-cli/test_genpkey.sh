#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# openssl genpkey with a label makes the key on the card and writes a key reference (never key
# material); every card curve and RSA 2048/3072, each checked by signing with the written
# reference file and verifying with the default provider and the public key exported by the tool.
. "$(dirname "$0")/lib.sh"
init_card
echo "genpkey test data" >"$T/data"
DEF="-provider default"
GEN="$OSSL genpkey $PROV -pkeyopt pin-value:$PIN"

n=0
gen_and_check() {   # NAME ALGORITHM OPTS...
    local name=$1 alg=$2
    shift 2
    n=$((n + 1))
    check "genpkey $name" $GEN -algorithm "$alg" "$@" -pkeyopt "label:$name" -out "$T/$name.key"
    check "$name: file is a key reference" grep -q "BEGIN SCHSM KEY REFERENCE" "$T/$name.key"
    check_fail "$name: file holds no private key" grep -q "PRIVATE KEY" "$T/$name.key"
    check "$name: public key from the tool" "$TOOL" export-pubkey --label "$name" --out "$T/$name.pub"
    check "$name: sign with the reference file" $OSSL dgst $PROV -sha256 -sign "$T/$name.key" \
        -passin "pass:$PIN" -out "$T/$name.sig" "$T/data"
    check "$name: verify (default provider)" $OSSL dgst $DEF -sha256 -verify "$T/$name.pub" \
        -signature "$T/$name.sig" "$T/data"
}

for c in prime256v1 secp384r1 secp521r1 prime192v1 secp224r1 brainpoolP192r1 brainpoolP224r1 \
         brainpoolP256r1 brainpoolP320r1 brainpoolP384r1 brainpoolP512r1 secp192k1 secp256k1; do
    gen_and_check "ec-$c" EC -pkeyopt "group:$c"
done
gen_and_check "ec-alias" EC -pkeyopt group:P-256
check "P-256 alias made a 256-bit key" bash -c "$OSSL pkey -pubin -in '$T/ec-alias.pub' -text -noout | grep -q 'prime256v1\|P-256'"
gen_and_check rsa-2048 RSA -pkeyopt rsa_keygen_bits:2048
gen_and_check rsa-3072 RSA -pkeyopt rsa_keygen_bits:3072
check "RSA 3072 key has 3072 bits" bash -c "$OSSL pkey -pubin -in '$T/rsa-3072.pub' -text -noout | grep -q '3072 bit'"

# An explicit ID, then the key found by it.
check "genpkey with hexid" $GEN -algorithm EC -pkeyopt group:P-256 -pkeyopt label:with-id -pkeyopt hexid:c0ffee \
    -out "$T/with-id.key"
check "key found by id" $OSSL dgst $PROV -sha256 -sign "schsm:id=%c0%ff%ee;type=private?pin-value=$PIN" \
    -out "$T/id.sig" "$T/data"

# PIN from the environment through pin-source.
export SCHSM_TEST_PIN=$PIN
check "genpkey with pin-source env" $OSSL genpkey $PROV -algorithm EC -pkeyopt group:P-384 \
    -pkeyopt label:from-env -pkeyopt pin-source:env:SCHSM_TEST_PIN -out "$T/from-env.key"
n=$((n + 2))

# Errors: unsupported curve, duplicate label; neither leaves anything on the card.
check_fail "unsupported curve refused" $GEN -algorithm EC -pkeyopt group:sect283k1 -pkeyopt label:bad -out "$T/bad.key"
check_log_has "unsupported curve refused" "does not support EC group"
check_fail "duplicate label refused" $GEN -algorithm EC -pkeyopt group:P-256 -pkeyopt label:ec-prime256v1 -out "$T/dup.key"
check_fail "RSA 1000 bits refused" $GEN -algorithm RSA -pkeyopt rsa_keygen_bits:1000 -pkeyopt label:odd -out "$T/odd.key"
check "card lists exactly the keys made" bash -c "test \$('$TOOL' list | tail -n +2 | grep -c .) -eq $n"

# Without a label: a software key, nothing on the card.
check "genpkey without label" $OSSL genpkey $PROV -algorithm EC -pkeyopt group:P-256 -out "$T/soft.key"
check "software key written as PKCS#8" grep -q "BEGIN PRIVATE KEY" "$T/soft.key"
check "still exactly the keys made" bash -c "test \$('$TOOL' list | tail -n +2 | grep -c .) -eq $n"

finish
