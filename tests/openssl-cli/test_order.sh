#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Provider order never matters: with schsm listed before or after default, OpenSSL's own work
# (TLS ephemeral ECDHE keys, parameter generation, keys loaded from PEM files, verification)
# keeps working and never touches the card; genpkey without a label makes no card key.
. "$(dirname "$0")/lib.sh"
init_card
command -v timeout >/dev/null || { echo "SKIP: timeout missing"; exit 77; }

count_keys() { "$TOOL" list 2>/dev/null | grep -c -i 'label' || true; }
# A card key for the TLS server, with its self-signed certificate.
"$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label tls >"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
"$TOOL" --pin "$PIN" keygen --type rsa:2048 --label tlsr >>"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
for k in tls tlsr; do
    $OSSL req $PROV -x509 -new -key "schsm:object=$k;type=private?pin-value=$PIN" -subj /CN=localhost -days 2 \
        -out "$T/$k.crt" >>"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
done
echo "$PIN" >"$T/pin"
KEYS0=$(count_keys)

# Software keys and certificates made by the default provider only.
$OSSL req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" \
    -out "$T/srv.crt" -subj /CN=localhost -days 2 >/dev/null 2>&1 || { echo "cannot make server cert"; exit 1; }
$OSSL req -x509 -newkey rsa:2048 -nodes -keyout "$T/srvr.key" \
    -out "$T/srvr.crt" -subj /CN=localhost -days 2 >/dev/null 2>&1 || { echo "cannot make server cert"; exit 1; }

for order in first last; do
    if [ $order = first ]; then P="$PROV"; else P="$PROV_REV"; fi
    check "$order: genpkey EC without label" $OSSL genpkey $P -algorithm EC -pkeyopt group:P-256 -out "$T/sw.$order.pem"
    check "$order: software key is an ordinary PEM key" grep -q "BEGIN PRIVATE KEY" "$T/sw.$order.pem"
    check "$order: genpkey RSA without label" $OSSL genpkey $P -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$T/swr.$order.pem"
    check "$order: EC paramgen" $OSSL genpkey $P -genparam -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/par.$order.pem"
    check "$order: keygen from params" $OSSL genpkey $P -paramfile "$T/par.$order.pem" -out "$T/frompar.$order.pem"
    check "$order: sign with a PEM key" $OSSL dgst $P -sha256 -sign "$T/srv.key" -out "$T/pem.$order.sig" "$T/srv.crt"
    check "$order: verify with a certificate key" $OSSL dgst $P -sha256 -verify <($OSSL x509 -in "$T/srv.crt" -pubkey -noout) \
        -signature "$T/pem.$order.sig" "$T/srv.crt"
    check "$order: ECDH between two PEM keys" $OSSL pkeyutl $P -derive -inkey "$T/srv.key" \
        -peerkey <($OSSL pkey -in "$T/sw.$order.pem" -pubout) -out "$T/ecdh.$order"
    check "$order: verify certificate chain" $OSSL verify $P -CAfile "$T/srv.crt" "$T/srv.crt"

    # TLS on loopback: server and client both load schsm in this order.
    for v in tls1_2 tls1_3; do
        for g in P-256 P-384 X25519; do
            for cert in srv srvr tls tlsr; do
                key="$T/$cert.key"
                case $cert in tls*) key="schsm:object=$cert;type=private?pin-source=file:$T/pin" ;; esac
                # a claimed free port; the new server's own listening socket, never a log line an
                # earlier one wrote; another port when something took this one first
                for try in 1 2 3 4 5; do
                    port=$(free_port) || break
                    timeout 20 $OSSL s_server $P -accept "127.0.0.1:$port" -naccept 1 -cert "$T/$cert.crt" \
                        -key "$key" -groups "$g" -$v -www >"$T/s_server.log" 2>&1 &
                    spid=$!
                    wait_listen "$port" "$spid" && break
                    echo "s_server on port $port did not start (try $try):"; cat "$T/s_server.log"
                done
                check "$order: $v $g $cert handshake" bash -c "printf 'GET / HTTP/1.0\r\n\r\n' | timeout 20 $OSSL s_client $P \
                    -connect 127.0.0.1:$port -groups $g -$v -CAfile $T/$cert.crt -verify_return_error -ign_eof 2>&1 \
                    | grep -q 'Verification: OK\|Verify return code: 0'"
                kill "$spid" 2>/dev/null
                wait "$spid" 2>/dev/null
                release_ports
            done
        done
    done
done

KEYS1=$(count_keys)
check "no key was created on the card" test "$KEYS0" = "$KEYS1"
finish
