#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Full TLS handshakes per second through nginx (4 workers, TLS 1.3, ECDSA P-256): the key on the
# virtual card (through pcscd and vpcd, as with a real token) against the same nginx with a
# software key. Each card run is made with the virtual card's modelled latency per APDU set to 0
# and to a realistic value. Not a CTest test; run it by hand:
#
#   bench/tls_handshakes.sh BUILD_DIR
#
# Parameters (environment):
#   BENCH_SECONDS=10        length of each measurement
#   BENCH_CLIENTS=4         parallel `openssl s_time -new` clients (each a stream of full handshakes)
#   BENCH_WORKERS=4         nginx worker processes
#   BENCH_LATENCY_US="0 30000"   SCHSM_SIM_LATENCY_US values to run the card with (see README.md)
set -u
B=${1:?usage: bench/tls_handshakes.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SECS=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-4}
WORKERS=${BENCH_WORKERS:-4}
LATENCIES=${BENCH_LATENCY_US:-0 30000}
export SCHSM_TEST_TMP=${SCHSM_TEST_TMP:-/tmp/schsm-bench}
. "$HERE/../tests/integration/lib.sh" "$B"
. "$HERE/../tests/integration/lib_tls.sh"
need_tls
need_cmd nginx

# rate NAME: BENCH_CLIENTS parallel s_time runs against $TLS_PORT; prints handshakes/s (sum).
rate() {
    local i pids=() total=0 n s
    for i in $(seq "$CLIENTS"); do
        OPENSSL_CONF=/dev/null openssl s_time -connect "127.0.0.1:$TLS_PORT" -new -tls1_3 -verify 2 \
            -CAfile "$T/ca.pem" -time "$SECS" >"$T/$1.$i.out" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    awk '/connections in [0-9.]+ real seconds/ { n += $1; s = $4 } END { printf "%.1f", n / s }' "$T/$1".*.out
}

export SCHSM_SIM_LATENCY_US=0
pcsc_start 1
tls_card_setup
# The software key: same curve, same CA.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/soft.key" \
    -subj "/CN=localhost" -out "$T/soft.csr" 2>/dev/null
openssl x509 -req -in "$T/soft.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
    -extfile "$T/ext.cnf" -out "$T/soft.pem" 2>/dev/null
cnf=$(tls_write_cnf schsm-first)

echo "nginx $(nginx -v 2>&1 | sed 's/.*\///'), $WORKERS workers, TLS 1.3, ECDSA P-256, $CLIENTS parallel clients, ${SECS}s each, $(nproc) CPUs"
printf '%-34s %12s %16s\n' "configuration" "handshakes/s" "APDUs/handshake"

nginx_start soft "$cnf" "$WORKERS" soft >/dev/null || exit 1
printf '%-34s %12s %16s\n' "software key (file)" "$(rate soft)" "0"
nginx_stop

for lat in $LATENCIES; do
    sim_stop 0
    SCHSM_SIM_LATENCY_US=$lat sim_start 0
    wait_card 0 >/dev/null || exit 1
    nginx_start "card-$lat" "$cnf" "$WORKERS" web-ec256 >/dev/null || exit 1
    before=$(apdus "$TLS_TRACE")
    r=$(rate "card-$lat")
    after=$(apdus "$TLS_TRACE")
    hs=$(awk '/connections in [0-9.]+ real seconds/ { n += $1 } END { print n }' "$T/card-$lat".*.out)
    printf '%-34s %12s %16s\n' "card key, latency ${lat} us/APDU" "$r" \
        "$(awk -v a=$((after - before)) -v h="$hs" 'BEGIN { printf "%.3f", h ? a / h : 0 }')"
    nginx_stop
done
FAILED=0
nginx_stop
finish >/dev/null
