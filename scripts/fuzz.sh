#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets (tests/fuzz/, clang, ASan+UBSan) in ./build-fuzz and runs each one.
#   ./scripts/fuzz.sh [SECONDS] [TARGET...]
# SECONDS: how long each target runs (default 60). TARGET: names like tlv or fuzz_tlv (default all).
# Prints per target the executions, executions per second and findings; exits 1 on any finding
# (crash, sanitizer report, leak, timeout, out of memory), 2 on a usage error.
# Seeds: tests/fuzz/corpus/<target>/ (read only). What the fuzzer adds goes to build-fuzz/corpus/,
# findings to build-fuzz/findings/<target>/ (reproduce: build-fuzz/fuzz/fuzz_<target> FILE).
# Environment: SCHSM_FUZZ_JOBS (parallel targets, default 1); SCHSM_FUZZ_SEED (a number: the same
# mutations from the same start, as CI does; default a new random seed per run, printed in the
# target's log as "INFO: Seed:"). Run it under nice on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh

seconds=60
targets=()
for a in "$@"; do
    case "$a" in
        -h|--help) sed -n '3,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        ''|*[!0-9]*) targets+=("${a#fuzz_}") ;;
        *) seconds=$a ;;
    esac
done
case "${SCHSM_FUZZ_SEED:-1}" in
    ''|*[!0-9]*|0) echo "fuzz.sh: SCHSM_FUZZ_SEED must be a positive number" >&2; exit 2 ;;
esac
if [ "$seconds" -lt 1 ]; then
    echo "fuzz.sh: SECONDS must be at least 1" >&2
    exit 2
fi

schsm_need_packages "${SCHSM_BUILD_PACKAGES[@]}" "${SCHSM_FUZZ_PACKAGES[@]}"

build=build-fuzz
CC=clang cmake -S . -B "$build" -DSCHSM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null

if [ ${#targets[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do
        t=$(basename "$f" .c)
        targets+=("${t#fuzz_}")
    done
fi
for t in "${targets[@]}"; do
    if [ ! -x "$build/fuzz/fuzz_$t" ]; then
        echo "fuzz.sh: no fuzz target '$t' (tests/fuzz/fuzz_$t.c)" >&2
        exit 2
    fi
done

run_one() {
    local t=$1 seeds=tests/fuzz/corpus/$1 work=$build/corpus/$1 found=$build/findings/$1
    mkdir -p "$work" "$found" "$seeds"
    # -timeout: one input may take at most 10 s; -rss_limit_mb: the sanitizers' own memory included.
    local seed=()
    [ -z "${SCHSM_FUZZ_SEED:-}" ] || seed=(-seed="$SCHSM_FUZZ_SEED")
    "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1 \
        "${seed[@]}" -artifact_prefix="$found/" "$work" "$seeds" >"$build/findings/$t.log" 2>&1 || true
}

start=$(date +%s)
jobs=${SCHSM_FUZZ_JOBS:-1}
running=0
for t in "${targets[@]}"; do
    rm -rf "$build/findings/$t" "$build/findings/$t.log"
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

status=0
total=0
printf '%-12s %12s %9s %8s  %s\n' target executions exec/s findings notes
for t in "${targets[@]}"; do
    log=$build/findings/$t.log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    findings=$(find "$build/findings/$t" -type f | wc -l)
    note=""
    if [ "$findings" -gt 0 ]; then
        note="$(find "$build/findings/$t" -type f | head -1); $(grep -m1 -E 'ERROR|violated|runtime error' "$log" || true)"
        status=1
    elif [ -z "$execs" ]; then
        note="did not finish: see $log"
        findings=1
        status=1
    fi
    total=$((total + ${execs:-0}))
    printf '%-12s %12s %9s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$findings" "$note"
done
echo "fuzz.sh: ${#targets[@]} targets, ${seconds}s each, $total executions in $(( $(date +%s) - start ))s"
[ "$status" -eq 0 ] || echo "fuzz.sh: FINDINGS (logs in $build/findings/)" >&2
exit "$status"
