# SPDX-License-Identifier: Apache-2.0
# openssl s_server and s_client with card-held keys: the key-reference file and the schsm: URI as
# -key, the server certificate stored on the card (schsm-tool import-cert) and loaded as
# -cert 'schsm:...;type=cert', mutual TLS with the client key on the card (s_client -key 'schsm:...')
# against s_server and nginx, and no PIN with no terminal failing at once with a clear message.
#
# TLS_HANDSHAKES (default 20) per configuration.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_tls.sh"
need_tls
pcsc_start 1
tls_card_setup
N=$TLS_HANDSHAKES

declare -A sigalg12=([web-ec256]='ECDSA' [web-ec384]='ECDSA' [web-rsa2048]='RSA')
declare -A sigalg13=([web-ec256]='ECDSA' [web-ec384]='ECDSA' [web-rsa2048]='RSA-PSS')

# s_server: one process, no fork. The first handshake may log in, later ones cost 1 APDU.
for order in schsm-first default-first; do
    cnf=$(tls_write_cnf $order)
    for key in $TLS_KEYS; do
        for proto in tls1_3 tls1_2; do
            cfg="s_server-$key-$order-$proto"
            extra=()
            if [ "$proto" = tls1_2 ]; then
                SIGALG=${sigalg12[$key]}
                [ "$key" = web-rsa2048 ] && extra=(-sigalgs RSA+SHA256:RSA+SHA384)
            else
                SIGALG=${sigalg13[$key]}
            fi
            check "$cfg: start" s_server_start "$cfg" "$cnf" -cert "$T/$key.pem" -key "$T/$key.key" \
                -pass "file:$T/pin" -"$proto" || continue
            check "$cfg: $N handshakes" tls_run "$cfg" "$TLS_PORT" "$N" "$proto" "${extra[@]}"
            check "$cfg: exactly 1 APDU per handshake" tls_steady_is_one "$cfg" 0
            SIGALG=
            s_server_stop
        done
    done
done

# The key by URI, PIN from the URI's pin-source; the certificate stored on the card and loaded
# through the store. The certificate must be the one imported (its serial number is checked).
cnf=$(tls_write_cnf schsm-first)
check "import-cert web-ec256" "$TOOL" --reader "$TLS_READER" --pin-source "file:$T/pin" import-cert \
    --label web-ec256 --in "$T/web-ec256.pem"
check "certificate readable through the store" env OPENSSL_CONF="$cnf" openssl storeutl -certs \
    -out "$T/oncard.pem" 'schsm:object=web-ec256;type=cert'
check "same certificate as imported" sh -c "[ \"\$(openssl x509 -in '$T/oncard.pem' -noout -fingerprint -sha256)\" = \
    \"\$(openssl x509 -in '$T/web-ec256.pem' -noout -fingerprint -sha256)\" ]"
cfg=s_server-cert-on-card
if check "$cfg: start with -cert and -key as schsm: URIs" s_server_start "$cfg" "$cnf" \
        -cert 'schsm:object=web-ec256;type=cert' \
        -key "schsm:object=web-ec256;type=private?pin-source=file:$T/pin"; then
    check "$cfg: $N handshakes" tls_run "$cfg" "$TLS_PORT" "$N" tls1_3
    check "$cfg: exactly 1 APDU per handshake" tls_steady_is_one "$cfg" 0
    check "$cfg: served the card's certificate" sh -c "echo | openssl s_client -connect 127.0.0.1:$TLS_PORT \
        -CAfile '$T/ca.pem' -showcerts 2>/dev/null | openssl x509 -noout -fingerprint -sha256 | \
        grep -qF \"\$(openssl x509 -in '$T/web-ec256.pem' -noout -fingerprint -sha256)\""
    s_server_stop
fi

# Mutual TLS: the client's key on the card. The client is a new process each time (cold load).
export TLS_CLIENT_CNF="$cnf"
CKEY="schsm:object=client-ec256;type=private?pin-source=file:$T/pin"
check_fail "s_server without schsm refuses the key reference" sh -c "OPENSSL_CONF=/dev/null openssl s_server \
    -accept 127.0.0.1:1 -cert '$T/web-ec256.pem' -key '$T/web-ec256.key' -pass 'file:$T/pin' </dev/null"
for proto in tls1_3 tls1_2; do
    cfg="mtls-s_server-$proto"
    check "$cfg: start" s_server_start "$cfg" "$cnf" -cert "$T/web-ec256.pem" -key "$T/web-ec256.key" \
        -pass "file:$T/pin" -Verify 1 -CAfile "$T/ca.pem" -verify_return_error || continue
    SCLIENT_ONLY=1 check "$cfg: $N handshakes with the client key on the card" \
        tls_run "$cfg" "$TLS_PORT" "$N" "$proto" -key "$CKEY" -cert "$T/client-ec256.pem"
    check_fail "$cfg: a client without a certificate is refused" tls_sclient "$TLS_PORT" "$proto"
    s_server_stop
done
if command -v nginx >/dev/null 2>&1; then
    cfg=mtls-nginx
    if check "$cfg: start (ssl_verify_client on)" nginx_start "$cfg" "$cnf" 2 web-ec256 "TLSv1.2 TLSv1.3" \
            "ssl_verify_client on; ssl_client_certificate $T/ca.pem;"; then
        SCLIENT_ONLY=1 check "$cfg: $N handshakes with the client key on the card" \
            tls_run "$cfg" "$TLS_PORT" "$N" tls1_3 -key "$CKEY" -cert "$T/client-ec256.pem"
        check "$cfg: nginx verified the client certificate" \
            test "$(grep -c 'client:SUCCESS' "$T/nginx-$cfg/access.log")" -eq "$N"
        check "$cfg: a client without a certificate is refused" sh -c "! { $(declare -f tls_sclient); \
            T='$T' tls_sclient $TLS_PORT tls1_3; } | grep -q 'HTTP/1.1 200'"
        nginx_stop
    fi
fi
unset TLS_CLIENT_CNF

# No PIN anywhere and no terminal (setsid, stdin /dev/null): fail at once, with a message that
# names the PIN, never hang. The card is logged in at this point (by the runs above): the server
# must still refuse, since it could not log in again after a reset.
cnf=$(TLS_CNF_EXTRA= tls_write_cnf default-first)
nopin() {   # NAME CMD...: must fail within 20 s
    local start=$SECONDS rc
    timeout 20 setsid "$@" </dev/null
    rc=$?
    echo "exit $rc after $((SECONDS - start)) s"
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ]
}
check "no PIN: s_server fails at once" nopin env OPENSSL_CONF="$cnf" openssl s_server \
    -accept "127.0.0.1:$(tls_free_port)" -cert "$T/web-ec256.pem" -key "$T/web-ec256.key"
# (OpenSSL's file store drops the provider's reason here; s_server names the key it could not load.)
check_log_has "no PIN: s_server fails at once" "Could not read server certificate private key"
check_log_lacks "no PIN: s_server fails at once" "$PIN"
check "no PIN: s_client with a card key fails at once" nopin env OPENSSL_CONF="$cnf" openssl s_client \
    -connect 127.0.0.1:1 -key 'schsm:object=client-ec256;type=private' -cert "$T/client-ec256.pem"
check_log_has "no PIN: s_client with a card key fails at once" "PIN"
if command -v nginx >/dev/null 2>&1; then
    NGINX_NO_PASSWORD_FILE=1 nginx_start nopin "$cnf" 1 web-ec256 >/dev/null 2>&1
    check "no PIN: nginx refuses to start" test -z "$NGINX_PID"
    check "no PIN: nginx says why" grep -q "the user PIN is needed for this key and none was given" \
        "$T/nginx-nopin/error.log" "$T/nginx-nopin/stdout.log"
    nginx_stop
fi

tls_finish
