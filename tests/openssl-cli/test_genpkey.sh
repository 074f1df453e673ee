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

# Provider order (issue 12 item 2): the documented commands (docs/pin.md, docs/openssl-cnf.md,
# docs/key-reference-files.md) under both orders. With default listed first, OpenSSL itself picks
# default's key manager, which refuses "label" before schsm sees it: -propquery provider=schsm
# picks schsm's (as with pkcs11-provider). It also works with schsm listed first.
echo "$PIN" >"$T/pin"
for order in first last; do
    if [ $order = first ]; then P="$PROV"; else P="$PROV_REV"; fi
    check "$order: genpkey EC -propquery provider=schsm" $OSSL genpkey $P -propquery provider=schsm \
        -algorithm EC -pkeyopt group:P-256 -pkeyopt label:pq-ec-$order -pkeyopt "pin-source:file:$T/pin" \
        -out "$T/pq-ec-$order.key"
    check "$order: EC reference written" grep -q "BEGIN SCHSM KEY REFERENCE" "$T/pq-ec-$order.key"
    check "$order: genpkey RSA -propquery with hexid" $OSSL genpkey $P -propquery provider=schsm \
        -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt label:pq-rsa-$order \
        -pkeyopt hexid:$([ $order = first ] && echo 0a01 || echo 0a02) -pkeyopt "pin-value:$PIN" \
        -out "$T/pq-rsa-$order.key"
    check "$order: genpkey with reader and pin-source env" $OSSL genpkey $P -propquery provider=schsm \
        -algorithm EC -pkeyopt group:P-384 -pkeyopt label:pq-rd-$order -pkeyopt "reader:sim:$STATE" \
        -pkeyopt pin-source:env:SCHSM_TEST_PIN -out "$T/pq-rd-$order.key"
    check "$order: genpkey with id" $OSSL genpkey $P -propquery provider=schsm -algorithm EC \
        -pkeyopt group:P-256 -pkeyopt label:pq-id-$order -pkeyopt id:$order -pkeyopt "pin-value:$PIN" \
        -out "$T/pq-id-$order.key"
    check "$order: key found by id" $OSSL pkey $P -in "schsm:id=$order;type=public" -pubin -noout
    check "$order: sign with the new reference" $OSSL dgst $P -sha256 -sign "$T/pq-ec-$order.key" \
        -passin "file:$T/pin" -out "$T/pq-$order.sig" "$T/data"
    n=$((n + 4))
    # No PIN and no terminal: the message names genpkey's own options, never -passin.
    check_fail "$order: no PIN, no terminal" setsid -w $OSSL genpkey $P -propquery provider=schsm \
        -algorithm EC -pkeyopt group:P-256 -pkeyopt label:nopin-$order -out "$T/nopin.key" </dev/null
    check_log_has "$order: no PIN, no terminal" "-pkeyopt pin-source:file:PATH"
    check_log_lacks "$order: no PIN, no terminal" "passin"
done
# openssl.cnf with default listed first and schsm preferred (docs/openssl-cnf.md): genpkey needs
# no -propquery; without a label the key is still a software key.
cat >"$T/pref.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
alg_section = evp_properties
[evp_properties]
default_properties = ?provider=schsm
[provider_sect]
default = default_sect
schsm = schsm_sect
[default_sect]
activate = 1
[schsm_sect]
module = $SCHSM_BUILD/lib/schsm.so
activate = 1
CNF
check "cnf preferring schsm: genpkey with label" env OPENSSL_CONF="$T/pref.cnf" $OSSL genpkey -algorithm EC \
    -pkeyopt group:P-256 -pkeyopt label:pref -pkeyopt "pin-source:file:$T/pin" -out "$T/pref.key"
check "cnf preferring schsm: a key reference" grep -q "BEGIN SCHSM KEY REFERENCE" "$T/pref.key"
check "cnf preferring schsm: genpkey without label" env OPENSSL_CONF="$T/pref.cnf" $OSSL genpkey -algorithm EC \
    -pkeyopt group:P-256 -out "$T/pref-soft.key"
check "cnf preferring schsm: software key" grep -q "BEGIN PRIVATE KEY" "$T/pref-soft.key"
n=$((n + 1))

# On a terminal genpkey asks for the PIN through OpenSSL's UI and says once that the card is busy.
check "PIN asked on the terminal" python3 "$SCHSM_SOURCE/tests/lib/answer_prompt.py" "user PIN:" "$PIN" \
    $OSSL genpkey $PROV_REV -propquery provider=schsm -algorithm EC -pkeyopt group:P-256 \
    -pkeyopt label:prompted -out "$T/prompted.key"
check_log_has "PIN asked on the terminal" "generating an EC key on the card"
check "prompted key is on the card" "$TOOL" export-pubkey --label prompted --out "$T/prompted.pub"
check "no progress line without a terminal" $OSSL genpkey $PROV -propquery provider=schsm -algorithm EC \
    -pkeyopt group:P-256 -pkeyopt label:quiet -pkeyopt "pin-value:$PIN" -out "$T/quiet.key"
check_log_lacks "no progress line without a terminal" "generating"
n=$((n + 2))

# With default first and no -propquery, OpenSSL refuses the label itself (nothing reaches schsm).
check_fail "default first without -propquery refused" $OSSL genpkey $PROV_REV -algorithm EC -pkeyopt group:P-256 \
    -pkeyopt label:unseen -pkeyopt "pin-value:$PIN" -out "$T/unseen.key"
check "card lists exactly the keys made (orders)" bash -c "test \$('$TOOL' list | tail -n +2 | grep -c .) -eq $n"

# Without a label: a software key, nothing on the card.
check "genpkey without label" $OSSL genpkey $PROV -algorithm EC -pkeyopt group:P-256 -out "$T/soft.key"
check "software key written as PKCS#8" grep -q "BEGIN PRIVATE KEY" "$T/soft.key"
check "still exactly the keys made" bash -c "test \$('$TOOL' list | tail -n +2 | grep -c .) -eq $n"

finish
