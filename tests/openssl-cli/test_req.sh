#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Certificates with card keys: req -x509 (self-signed, EC, RSA and RSA-PSS), a CSR signed by a
# card-held CA with x509 -req -CA, checked by the default provider (openssl verify) alone.
. "$(dirname "$0")/lib.sh"
init_card
DEF="-provider default"
for spec in ec:prime256v1:ca ec:secp384r1:leaf rsa:2048:rsaca; do
    IFS=: read -r type arg label <<<"$spec"
    "$TOOL" --pin "$PIN" keygen --type "$type:$arg" --label "$label" >>"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
done
key() { echo "schsm:object=$1;type=private?pin-value=$PIN"; }

# Self-signed certificates.
check "req -x509 EC" $OSSL req $PROV -x509 -new -key "$(key ca)" -subj "/CN=schsm test CA" -days 30 \
    -sha256 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out "$T/ca.crt"
check "EC self-signed verifies (default)" $OSSL verify $DEF -CAfile "$T/ca.crt" "$T/ca.crt"
check "certificate key matches the card key" bash -c "cmp <($OSSL x509 -in '$T/ca.crt' -pubkey -noout) \
    <('$TOOL' export-pubkey --label ca --out /dev/stdout)"
check "req -x509 RSA" $OSSL req $PROV -x509 -new -key "$(key rsaca)" -subj "/CN=schsm RSA CA" -days 30 \
    -sha384 -addext basicConstraints=critical,CA:TRUE -out "$T/rsaca.crt"
check "RSA self-signed verifies (default)" $OSSL verify $DEF -CAfile "$T/rsaca.crt" "$T/rsaca.crt"
check "req -x509 RSA-PSS" $OSSL req $PROV -x509 -new -key "$(key rsaca)" -subj "/CN=schsm PSS" -days 30 \
    -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -out "$T/pss.crt"
check "RSA-PSS certificate says so" bash -c "$OSSL x509 -in '$T/pss.crt' -text -noout | grep -q rsassaPss"
check "RSA-PSS self-signed verifies (default)" $OSSL verify $DEF -CAfile "$T/pss.crt" "$T/pss.crt"

# A CSR from a card key, and one from a software key, signed by the card CA.
check "req -new CSR with card key" $OSSL req $PROV -new -key "$(key leaf)" -subj "/CN=leaf.example" -out "$T/leaf.csr"
check "CSR self-signature verifies (default)" $OSSL req $DEF -in "$T/leaf.csr" -verify -noout
$OSSL req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/soft.key" -subj "/CN=soft.example" \
    -out "$T/soft.csr" >/dev/null 2>&1
for csr in leaf soft; do
    check "x509 -req -CA (card CA) $csr" $OSSL x509 $PROV -req -in "$T/$csr.csr" -CA "$T/ca.crt" -CAkey "$(key ca)" \
        -CAcreateserial -days 10 -sha256 -out "$T/$csr.crt"
    check "$csr chain verifies (default)" $OSSL verify $DEF -CAfile "$T/ca.crt" "$T/$csr.crt"
done
check "x509 -req -CA RSA CA" $OSSL x509 $PROV -req -in "$T/soft.csr" -CA "$T/rsaca.crt" -CAkey "$(key rsaca)" \
    -CAcreateserial -days 10 -sha512 -out "$T/soft-rsa.crt"
check "RSA CA chain verifies (default)" $OSSL verify $DEF -CAfile "$T/rsaca.crt" "$T/soft-rsa.crt"
check_fail "wrong CA does not verify" $OSSL verify $DEF -CAfile "$T/rsaca.crt" "$T/leaf.crt"

# Same with schsm listed after default.
check "req -x509 reversed order" $OSSL req $PROV_REV -x509 -new -key "$(key leaf)" -subj "/CN=rev" -days 1 -out "$T/rev.crt"
check "reversed order certificate verifies" $OSSL verify $DEF -CAfile "$T/rev.crt" "$T/rev.crt"
finish
