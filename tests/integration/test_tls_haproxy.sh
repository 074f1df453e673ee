# SPDX-License-Identifier: Apache-2.0
# HAProxy 2.6 in master-worker mode (-W, the worker forked from the master that loaded the key)
# serving TLS with card-held keys: key-reference file in the crt file, schsm activated through
# openssl.cnf (listed before and after default) and, once, through HAProxy's own ssl-provider
# keywords. HAProxy 2.6 has no passphrase option, so the PIN comes from pin-source in openssl.cnf.
# ECDSA P-256, P-384 and RSA-2048, TLS 1.2 and 1.3; full handshakes verified against the test CA,
# each answering a request; APDUs per handshake from the server's trace.
#
# TLS_HANDSHAKES (default 20) per configuration; TLS_HANDSHAKES_FULL (default 200) for
# ECDSA P-256 TLS 1.3 with schsm listed first.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_tls.sh"
need_tls
need_cmd haproxy
pcsc_start 1
tls_card_setup
TLS_CNF_EXTRA="pin-source = file:$T/pin"

declare -A sigalg12=([web-ec256]='ECDSA' [web-ec384]='ECDSA' [web-rsa2048]='RSA')
declare -A sigalg13=([web-ec256]='ECDSA' [web-ec384]='ECDSA' [web-rsa2048]='RSA-PSS')

run_config() {   # CFG
    local cfg=$1 proto n extra
    for proto in tls1_3 tls1_2; do
        n=$TLS_HANDSHAKES
        [ "$cfg/$proto" = "haproxy-web-ec256-schsm-first/tls1_3" ] && n=$TLS_HANDSHAKES_FULL
        extra=()
        if [ "$proto" = tls1_2 ]; then
            SIGALG=${sigalg12[$key]}
            [ "$key" = web-rsa2048 ] && extra=(-sigalgs RSA+SHA256:RSA+SHA384)
        else
            SIGALG=${sigalg13[$key]}
        fi
        check "$cfg $proto: $n handshakes" tls_run "$cfg-$proto" "$TLS_PORT" "$n" "$proto" "${extra[@]}"
        if [ "$proto" = tls1_3 ]; then
            # The worker's first use of the card after the fork: at most 3 APDUs, then 1 each.
            check "$cfg $proto: first handshake <= 3 APDUs" \
                awk 'NR == 1 { exit !($3 <= 3) }' "$T/$cfg-$proto.apdus"
            check "$cfg $proto: then exactly 1 APDU per handshake" tls_steady_is_one "$cfg-$proto" 1
        else
            check "$cfg $proto: exactly 1 APDU per handshake" tls_steady_is_one "$cfg-$proto" 0
        fi
        SIGALG=
    done
}

for order in schsm-first default-first; do
    cnf=$(tls_write_cnf $order)
    for key in $TLS_KEYS; do
        cfg="haproxy-$key-$order"
        check "$cfg: start (master-worker)" haproxy_start "$cfg" "$cnf" "$key" || continue
        check "$cfg: a worker was forked" wait_for 100 sh -c "[ \$(pgrep -P $HAPROXY_PID | wc -l) -ge 1 ]"
        check "$cfg: key loaded with <= 6 APDUs ($TLS_LOAD_APDUS)" test "$TLS_LOAD_APDUS" -le 6
        run_config "$cfg"
        pids="$HAPROXY_PID $(pgrep -P "$HAPROXY_PID" | tr '\n' ' ')"
        haproxy_stop
        check "$cfg: master and worker stopped" sh -c "for p in $pids; do ! kill -0 \$p 2>/dev/null || exit 1; done"
    done
done

# HAProxy's own provider loading (global ssl-provider-path / ssl-provider): openssl.cnf then only
# carries schsm's settings (reader, pin-source) in a section without "activate" (OpenSSL 3.0 reads
# "activate = 0" as activate). A provider loaded by name later still gets that section's settings.
cnf=$(tls_write_cnf default-first)
awk '/^\[/ { s = ($0 == "[schsm_sect]") } !(s && /^activate/) { print }' "$cnf" >"$T/settings-only.cnf"
check "settings-only cnf leaves schsm inactive" sh -c "! OPENSSL_CONF='$T/settings-only.cnf' openssl list -providers | grep -q schsm"
key=web-ec256
cfg="haproxy-ssl-provider-$key"
if check "$cfg: start" haproxy_start "$cfg" "$T/settings-only.cnf" "$key" TLSv1.2 ssl-provider; then
    check "$cfg tls1_3: $TLS_HANDSHAKES handshakes" tls_run "$cfg-tls1_3" "$TLS_PORT" "$TLS_HANDSHAKES" tls1_3
    check "$cfg tls1_3: then exactly 1 APDU per handshake" tls_steady_is_one "$cfg-tls1_3" 1
    haproxy_stop
fi

tls_finish
