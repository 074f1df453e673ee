#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Pools: handshakes per second with one key on N = 1, 2 and 4 virtual cards behind one pcscd, each
# card taking SCHSM_SIM_LATENCY_US per APDU (the card's signing time), served by nginx (4 workers)
# and HAProxy (4 threads), TLS 1.3, ECDSA P-256, one key-reference file with pool=yes. Then a
# threaded signing loop (tests/integration/signloop.c) with the same pool. Prints a table with the
# ratio to N = 1 (the goal is at least 0.9 N) and writes it to bench/results/pool.md.
# Not a CTest test; run it by hand:
#
#   bench/pool.sh BUILD_DIR
#
# Parameters (environment):
#   BENCH_SECONDS=10           length of each handshake measurement
#   BENCH_CLIENTS=8            parallel `openssl s_time -new` clients
#   SCHSM_SIM_LATENCY_US=30000 modelled time per APDU (see README.md for why 30 ms)
#   BENCH_CARDS="1 2 4"        pool sizes
#   BENCH_SIGNS=200            signatures of the threaded signing loop (4 threads, SIGNS/4 each;
#                              the time includes loading the key and finding the pool)
set -u
B=$(cd "${1:?usage: bench/pool.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SECS=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-8}
CARDS=${BENCH_CARDS:-1 2 4}
SIGNS=${BENCH_SIGNS:-200}
export SCHSM_SIM_LATENCY_US=${SCHSM_SIM_LATENCY_US:-30000}
export SCHSM_TEST_TMP=${SCHSM_TEST_TMP:-/tmp/schsm-bench}
export SCHSM_BUILD=$B SCHSM_SOURCE="$HERE/.." TEST_NAME=bench_pool
. "$HERE/../tests/integration/lib.sh"
. "$HERE/../tests/integration/lib_tls.sh"
. "$HERE/../tests/integration/lib_pool.sh"
need_tls
need_cmd nginx haproxy cc
MAX=4

# rate NAME: CLIENTS parallel s_time runs against $TLS_PORT; prints handshakes/s (sum).
rate() {
    local i pids=()
    for i in $(seq "$CLIENTS"); do
        OPENSSL_CONF=/dev/null openssl s_time -connect "127.0.0.1:$TLS_PORT" -new -tls1_3 -verify 2 \
            -CAfile "$T/ca.pem" -time "$SECS" >"$T/$1.$i.out" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    awk '/connections in [0-9.]+ real seconds/ { n += $1; s = $4 } END { printf "%.1f", n / s }' "$T/$1".*.out
}

# Signatures per second of one process with 4 threads.
sign_rate() {
    local start end
    start=$(date +%s.%N)
    "$T/signloop" "$B/lib" "schsm:serial=$SERIAL0;object=pool-ec;type=private;pool=yes?pin-source=file:$T/pin" \
        "$T/pool-ec.pub" $((SIGNS / 4)) 4 >/dev/null 2>"$T/signloop.err" || { echo "failed"; return; }
    end=$(date +%s.%N)
    awk -v n=$((SIGNS / 4 * 4)) -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", n / (b - a) }'
}

pool_cards_setup "$MAX" >"$T/setup.log" 2>&1 || { echo "set-up failed:"; cat "$T/setup.log"; exit 1; }
SERIAL0=$("$TOOL" --reader "sim:$T/card0.state" info --json | sed -n 's/.*"serial": *"\([^"]*\)".*/\1/p' | head -n 1)
pool_write_cnf
pcsc_start "$MAX" >/dev/null
build_signloop

out="$HERE/results/pool.md"
mkdir -p "$HERE/results"
{
echo "# bench/pool.sh, $(date -u +%Y-%m-%d)"
echo
echo "nginx $(nginx -v 2>&1 | sed 's/.*\///') (4 workers), HAProxy $(haproxy -v | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p') (4 threads),"
echo "TLS 1.3, ECDSA P-256, $CLIENTS parallel s_time clients, ${SECS}s each; signing loop: $SIGNS signatures in 4 threads;"
echo "virtual cards with ${SCHSM_SIM_LATENCY_US} us per APDU; $(nproc) CPUs."
echo
echo "| cards | nginx handshakes/s | ratio | HAProxy handshakes/s | ratio | signatures/s (4 threads) | ratio |"
echo "|---|---|---|---|---|---|---|"
} | tee "$out"
base_n= base_h= base_s=
for n in $CARDS; do
    for i in $(seq 0 $((MAX - 1))); do
        if [ "$i" -ge "$n" ]; then
            [ -n "${SIM_PID[$i]:-}" ] && { sim_stop "$i"; wait_no_card "$i" >/dev/null; }
        elif [ -z "${SIM_PID[$i]:-}" ]; then
            sim_start "$i"; wait_card "$i" >/dev/null
        fi
    done
    nginx_start "n$n" "$T/pool.cnf" 4 pool-ec >/dev/null || exit 1
    rn=$(rate "nginx-$n")
    nginx_stop
    HAPROXY_THREADS=4 haproxy_start "h$n" "$T/pool.cnf" pool-ec >/dev/null || exit 1
    rh=$(rate "haproxy-$n")
    haproxy_stop
    rs=$(sign_rate)
    [ -z "$base_n" ] && { base_n=$rn; base_h=$rh; base_s=$rs; }
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
    echo "| $n | $rn | $(ratio "$rn" "$base_n") | $rh | $(ratio "$rh" "$base_h") | $rs | $(ratio "$rs" "$base_s") |" | tee -a "$out"
done
echo
echo "written to $out"
FAILED=0
finish >/dev/null
