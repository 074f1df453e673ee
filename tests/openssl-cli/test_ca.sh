#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# openssl ca signing a CSR with a card-held CA key (EC and RSA), checked with openssl verify
# (default provider only).
. "$(dirname "$0")/lib.sh"
init_card
DEF="-provider default"
"$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label ca >"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
"$TOOL" --pin "$PIN" keygen --type rsa:2048 --label rsaca >>"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }

for ca in ca rsaca; do
    d="$T/$ca"
    mkdir -p "$d/newcerts"
    : >"$d/index.txt"
    echo 01 >"$d/serial"
    cat >"$d/ca.cnf" <<CNF
[ ca ]
default_ca = card_ca
[ card_ca ]
dir = $d
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
certificate = \$dir/ca.crt
private_key = schsm:object=$ca;type=private?pin-value=$PIN
default_md = sha256
default_days = 30
policy = any
unique_subject = no
copy_extensions = copy
[ any ]
commonName = supplied
[ req ]
distinguished_name = dn
[ dn ]
CNF
    check "$ca: self-signed CA certificate" $OSSL req $PROV -config "$d/ca.cnf" -x509 -new \
        -key "schsm:object=$ca;type=private?pin-value=$PIN" -subj "/CN=card $ca" -days 30 -out "$d/ca.crt"
    $OSSL req -new -newkey rsa:2048 -nodes -keyout "$d/user.key" -subj "/CN=user of $ca" -out "$d/user.csr" \
        >/dev/null 2>&1
    check "$ca: openssl ca signs the CSR" $OSSL ca $PROV -config "$d/ca.cnf" -batch -in "$d/user.csr" -out "$d/user.crt"
    check "$ca: issued certificate verifies (default)" $OSSL verify $DEF -CAfile "$d/ca.crt" "$d/user.crt"
    check "$ca: database records it" grep -q "CN=user of $ca" "$d/index.txt"
    check "$ca: a CRL signed by the card" $OSSL ca $PROV -config "$d/ca.cnf" -gencrl -crldays 7 -out "$d/ca.crl"
    check "$ca: CRL verifies (default)" $OSSL crl $DEF -in "$d/ca.crl" -CAfile "$d/ca.crt" -noout
done
finish
