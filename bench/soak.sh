#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Soak: nginx (2 workers, TLS 1.3, ECDSA P-256 key on the virtual card through pcscd and vpcd)
# under steady load for a given time, while the card is reset (schsm-sim --reset: every login
# dropped) and removed and re-inserted (the card process stopped and started) at intervals.
# Reports handshakes made and failed, handshakes per phase, the RSS and open file descriptors of
# the nginx workers over time. Not a CTest test; run it by hand:
#
#   bench/soak.sh BUILD_DIR [SECONDS]      (default 600 s)
#
# Parameters (environment):
#   SOAK_CLIENTS=2          parallel client loops (openssl s_client and curl alternating, 127.0.0.1 only)
#   SOAK_RESET_EVERY=30     seconds between card resets
#   SOAK_REMOVE_EVERY=90    seconds between card removals (the card stays out for SOAK_OUT seconds)
#   SOAK_OUT=3
#   SOAK_SAMPLE_EVERY=15    seconds between RSS/fd samples
set -u
B=${1:?usage: bench/soak.sh BUILD_DIR [SECONDS]}
DURATION=${2:-600}
HERE=$(cd "$(dirname "$0")" && pwd)
CLIENTS=${SOAK_CLIENTS:-2}
RESET_EVERY=${SOAK_RESET_EVERY:-30}
REMOVE_EVERY=${SOAK_REMOVE_EVERY:-90}
OUT_SECS=${SOAK_OUT:-3}
SAMPLE_EVERY=${SOAK_SAMPLE_EVERY:-15}
export SCHSM_TEST_TMP=${SCHSM_TEST_TMP:-/tmp/schsm-bench}
mkdir -p "$SCHSM_TEST_TMP"
. "$HERE/../tests/integration/lib.sh" "$B"
. "$HERE/../tests/integration/lib_tls.sh"
need_tls
need_cmd nginx

pcsc_start 1
tls_card_setup
cnf=$(tls_write_cnf schsm-first)
nginx_start soak "$cnf" 2 web-ec256 >/dev/null || { echo "nginx did not start"; exit 1; }
STATE=${SIM_STATE[0]}
END=$((SECONDS + DURATION))

# client LOOP: handshakes until the end; one line per handshake: "ok" or "fail" with the time.
client() {
    local i=0 out
    while [ "$SECONDS" -lt "$END" ]; do
        if [ $((i % 2)) = 0 ]; then
            out=$(tls_sclient "$TLS_PORT" tls1_3)
            if printf '%s' "$out" | grep -q 'HTTP/1\.[01] 200'; then echo "$SECONDS ok"; else echo "$SECONDS fail"; fi
        else
            out=$(tls_curl "$TLS_PORT" tls1_3)
            if [ "$out" = "HTTP 200" ]; then echo "$SECONDS ok"; else echo "$SECONDS fail"; fi
        fi
        i=$((i + 1))
    done
}
START=$SECONDS
CLIENT_PIDS=()
for c in $(seq "$CLIENTS"); do
    client >"$T/client.$c.log" 2>&1 &
    CLIENT_PIDS+=($!)
done

sample() {   # time, then per worker: pid rss_kB fds
    local p line="$(( SECONDS - START ))s"
    for p in $(nginx_worker_pids); do
        line="$line  $p:$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null)kB/$(ls "/proc/$p/fd" 2>/dev/null | wc -l)fd"
    done
    echo "$line"
}

echo "soak: ${DURATION}s, nginx 2 workers, $CLIENTS clients, reset every ${RESET_EVERY}s, removal every ${REMOVE_EVERY}s (${OUT_SECS}s out)"
echo "samples (seconds: worker pid:RSS/fds):"
sample | tee "$T/samples"
resets=0 removals=0
next_reset=$((START + RESET_EVERY)) next_remove=$((START + REMOVE_EVERY)) next_sample=$((START + SAMPLE_EVERY))
while [ "$SECONDS" -lt "$END" ]; do
    if [ "$SECONDS" -ge "$next_remove" ]; then
        sim_stop 0
        wait_no_card 0 >/dev/null
        sleep "$OUT_SECS"   # the card stays out for a while: that is the condition soaked, not a wait
        sim_start 0
        wait_card 0 >/dev/null
        removals=$((removals + 1))
        next_remove=$((SECONDS + REMOVE_EVERY))
    elif [ "$SECONDS" -ge "$next_reset" ]; then
        "$SCHSM_BUILD/bin/schsm-sim" --state "$STATE" --reset >/dev/null
        resets=$((resets + 1))
        next_reset=$((SECONDS + RESET_EVERY))
    elif [ "$SECONDS" -ge "$next_sample" ]; then
        sample | tee -a "$T/samples"
        next_sample=$((SECONDS + SAMPLE_EVERY))
    else
        sleep 1
    fi
done
for p in "${CLIENT_PIDS[@]}"; do wait "$p"; done   # (not a bare wait: pcscd and the card are children too)
sample | tee -a "$T/samples"
ok=$(cat "$T"/client.*.log | grep -c ' ok$')
fail=$(cat "$T"/client.*.log | grep -c ' fail$')
echo "handshakes: $ok ok, $fail failed ($(awk -v o="$ok" -v d="$DURATION" 'BEGIN { printf "%.1f", o / d }')/s); $resets resets, $removals removals"
# Failures should cluster in the removal windows; show when they happened.
echo "failed handshakes per 10 s window: $(cat "$T"/client.*.log | awk '$2 == "fail" { w[int(($1 - '"$START"') / 10) * 10]++ } END { for (k in w) printf "%ss:%d ", k, w[k] }')"
first=$(head -n 1 "$T/samples"); last=$(tail -n 1 "$T/samples")
echo "first sample: $first"
echo "last sample:  $last"
nginx_stop
FAILED=0
finish >/dev/null
