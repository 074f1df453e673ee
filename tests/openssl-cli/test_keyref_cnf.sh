#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# schsm activated through openssl.cnf (docs/openssl-cnf.md), with the reader and the PIN source from
# the provider configuration: key-reference files then work without any -provider option.
. "$(dirname "$0")/lib.sh"
init_card
need "$TOOL"

"$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label web >"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
"$TOOL" export-pubkey --label web --out "$T/web.pub" >/dev/null 2>&1
printf '%s\n' "$PIN" >"$T/pin"
chmod 600 "$T/pin"
echo "data to sign" >"$T/data"

check "write the reference" $OSSL pkey $PROV -in "schsm:object=web;type=private" -passin "pass:$PIN" -out "$T/web.key" </dev/null

# The configuration of docs/openssl-cnf.md, pointed at this build and this virtual card.
write_cnf() {   # FILE FIRST SECOND
    cat >"$1" <<CNF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
$2 = $2_sect
$3 = $3_sect
[default_sect]
activate = 1
[schsm_sect]
module = $SCHSM_BUILD/lib/schsm.so
activate = 1
reader = sim:$STATE
pin-source = file:$T/pin
CNF
}
write_cnf "$T/schsm-first.cnf" schsm default
write_cnf "$T/default-first.cnf" default schsm

# The reader comes from the configuration: SCHSM_READER must not be what makes this work.
unset SCHSM_READER
for order in schsm-first default-first; do
    check "$order: providers loaded" env OPENSSL_CONF="$T/$order.cnf" $OSSL list -providers
    check_log_has "$order: providers loaded" "schsm"
    check "$order: pkey -pubout without -provider" env OPENSSL_CONF="$T/$order.cnf" $OSSL pkey -in "$T/web.key" -pubout -out "$T/$order.pub" </dev/null
    check "$order: same public key" cmp "$T/$order.pub" "$T/web.pub"
    check "$order: sign with PIN from pin-source" env OPENSSL_CONF="$T/$order.cnf" $OSSL dgst -sha256 -sign "$T/web.key" -out "$T/$order.sig" "$T/data" </dev/null
    check "$order: verify without schsm" env OPENSSL_CONF=/dev/null $OSSL dgst -sha256 -verify "$T/web.pub" -signature "$T/$order.sig" "$T/data"
    check "$order: storeutl via the config reader" env OPENSSL_CONF="$T/$order.cnf" $OSSL storeutl -noout 'schsm:' </dev/null
    check_log_has "$order: storeutl via the config reader" "Total found: 2"
    # OpenSSL's own work is untouched: a software key and its use.
    check "$order: software key generation" env OPENSSL_CONF="$T/$order.cnf" $OSSL genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/$order.soft.pem"
    check "$order: software key is PKCS#8" grep -q "BEGIN PRIVATE KEY" "$T/$order.soft.pem"
    check "$order: software key reads back" env OPENSSL_CONF="$T/$order.cnf" $OSSL pkey -in "$T/$order.soft.pem" -noout
done

finish
