# SPDX-License-Identifier: Apache-2.0
# The virtual card is killed and restarted while nginx (2 workers) keeps running: handshakes fail
# cleanly while it is gone (quickly, no hang, nginx stays up), and succeed again once it is back,
# without restarting nginx. The workers log in again with the PIN they hold.
#
# TLS_HANDSHAKES (default 20): handshakes before, during (at most 10) and after the removal.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_tls.sh"
need_tls
need_cmd nginx
pcsc_start 1
tls_card_setup
N=$TLS_HANDSHAKES
cnf=$(tls_write_cnf schsm-first)

# tls_expect_fail PORT K: K handshakes, each must fail within 20 s (no hang, no answer).
tls_expect_fail() {
    local port=$1 k=$2 i out start bad=0
    for i in $(seq "$k"); do
        start=$SECONDS
        out=$(tls_sclient "$port" tls1_3)
        if printf '%s' "$out" | grep -q 'HTTP/1\.[01] 200'; then
            echo "handshake $i succeeded without a card"; bad=1
        fi
        if [ $((SECONDS - start)) -ge 15 ]; then
            echo "handshake $i took $((SECONDS - start)) s"; bad=1
        fi
    done
    return $bad
}

check "start nginx (2 workers)" nginx_start restart "$cnf" 2 web-ec256 || tls_finish
d="$T/nginx-restart"
: >"$d/access.log"
check "before: $N handshakes" tls_run before "$TLS_PORT" "$N" tls1_3
check "before: first handshake per worker <= 3 APDUs, then 1" check_worker_costs before "$d" 3
workers_before=$(nginx_worker_pids | tr '\n' ' ')

sim_stop 0
check "card removed" wait_no_card 0
k=$((N < 10 ? N : 10))
check "card gone: $k handshakes fail cleanly" tls_expect_fail "$TLS_PORT" "$k"
check "nginx still running" kill -0 "$NGINX_PID"
check "same workers (none crashed)" test "$(nginx_worker_pids | tr '\n' ' ')" = "$workers_before"
check "the workers said why" grep -Eiq 'remov|no (token/)?card|no smart ?card|reader' "$d/error.log"

sim_start 0
check "card back" wait_card 0
: >"$d/access.log"
check "after: $N handshakes, no nginx restart" tls_run after "$TLS_PORT" "$N" tls1_3
check "same nginx master" kill -0 "$NGINX_PID"
check "same workers" test "$(nginx_worker_pids | tr '\n' ' ')" = "$workers_before"
# Each worker re-reads the card once after the reset (SELECT, directory, PIN status, VERIFY, SIGN),
# then every handshake is 1 APDU again.
check "after: each worker re-reads the card once (<= 12 APDUs), then 1 APDU" check_worker_costs after "$d" 12
check_fail "PIN never in the logs" grep -rq "$PIN" "$d/error.log" "$d/stdout.log"
nginx_stop
tls_finish
