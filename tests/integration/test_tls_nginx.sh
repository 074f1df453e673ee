# SPDX-License-Identifier: Apache-2.0
# nginx 1.22 serving TLS with card-held keys, loaded from key-reference files through openssl.cnf
# activation, PIN from ssl_password_file (the passphrase callback). Matrix: 1 and 4 workers x
# ECDSA P-256, P-384, RSA-2048 x TLS 1.2 and 1.3 x schsm listed before and after default.
# Every handshake is a full one (no tickets, no session cache, a new client process), verified
# against the test CA, and answers a request. APDUs per handshake come from the server's trace:
# steady state must be exactly 1 (the SIGN), a worker's first handshake after the fork at most 3.
#
# TLS_HANDSHAKES (default 20): handshakes per configuration of the matrix.
# TLS_HANDSHAKES_FULL (default 200): handshakes for the representative configurations
#   (4 workers ECDSA P-256 TLS 1.3 schsm first; 1 worker RSA-2048 TLS 1.2 default first).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_tls.sh"
need_tls
need_cmd nginx
pcsc_start 1
tls_card_setup

declare -A sigalg12=([web-ec256]='ECDSA' [web-ec384]='ECDSA' [web-rsa2048]='RSA')
declare -A sigalg13=([web-ec256]='ECDSA' [web-ec384]='ECDSA' [web-rsa2048]='RSA-PSS')

for order in schsm-first default-first; do
    cnf=$(tls_write_cnf $order)
    for workers in 1 4; do
        for key in $TLS_KEYS; do
            cfg="nginx-w$workers-$key-$order"
            if ! check "$cfg: start" nginx_start "$cfg" "$cnf" "$workers" "$key"; then
                continue
            fi
            check "$cfg: $workers workers" wait_for 100 sh -c "[ \$(pgrep -P $NGINX_PID | wc -l) -eq $workers ]"
            d="$T/nginx-$cfg"
            for proto in tls1_3 tls1_2; do
                n=$TLS_HANDSHAKES
                extra=()
                [ "$workers/$key/$proto/$order" = "4/web-ec256/tls1_3/schsm-first" ] && n=$TLS_HANDSHAKES_FULL
                [ "$workers/$key/$proto/$order" = "1/web-rsa2048/tls1_2/default-first" ] && n=$TLS_HANDSHAKES_FULL
                # RSA: PKCS#1 v1.5 in TLS 1.2 (asked for by the client), PSS in TLS 1.3.
                if [ "$proto" = tls1_2 ]; then
                    SIGALG=${sigalg12[$key]}
                    [ "$key" = web-rsa2048 ] && extra=(-sigalgs RSA+SHA256:RSA+SHA384)
                else
                    SIGALG=${sigalg13[$key]}
                fi
                : >"$d/access.log"
                check "$cfg $proto: $n handshakes" tls_run "$cfg-$proto" "$TLS_PORT" "$n" "$proto" "${extra[@]}"
                if [ "$proto" = tls1_3 ]; then
                    # The first use of the card in each worker (after the fork) happens here.
                    check "$cfg $proto: APDUs per handshake (first per worker <= 3, then 1)" \
                        check_worker_costs "$cfg-$proto" "$d" 3
                else
                    check "$cfg $proto: exactly 1 APDU per handshake" tls_steady_is_one "$cfg-$proto" 0
                fi
                SIGALG=
            done
            check "$cfg: key loaded in the master with <= 6 APDUs ($TLS_LOAD_APDUS)" test "$TLS_LOAD_APDUS" -le 6
            check "$cfg: no errors logged" sh -c "! grep -E '\\[(emerg|alert|crit)\\]' '$d/error.log'"
            pids="$NGINX_PID $(nginx_worker_pids | tr '\n' ' ')"
            nginx_stop
            check "$cfg: master and workers stopped" sh -c "for p in $pids; do ! kill -0 \$p 2>/dev/null || exit 1; done"
        done
    done
done

tls_finish
