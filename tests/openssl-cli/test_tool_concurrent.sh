#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Concurrent key management on one card (issue 9, item 1): two schsm-tool loops generate and
# delete keys at once. Each process's key change re-SELECTs the applet, logging the other one out
# between its login and its next command; every operation must log in again with the PIN it
# holds (6982 -> one new login, in the same transaction) and succeed, and no key may be left.
. "$(dirname "$0")/lib_tool.sh" tool_concurrent "${1:-}"

N=${SCHSM_CONCURRENT_ROUNDS:-20}
# Card latency widens the window between one process's login and its next command, as a real card does.
export SCHSM_SIM_LATENCY_US=${SCHSM_SIM_LATENCY_US:-2000}
run 0 "init" "$TOOL" init --so-pin $SO --pin $PIN

loop() {   # loop NAME: N rounds of keygen + delete; prints one line per failure
    local i
    for i in $(seq 1 "$N"); do
        "$TOOL" --pin $PIN keygen --type ec:prime256v1 --label "$1-$i" >/dev/null 2>"$TMP/$1.err" \
            || { echo "keygen $1-$i: $(cat "$TMP/$1.err")"; continue; }
        "$TOOL" --pin $PIN delete --yes --label "$1-$i" >/dev/null 2>"$TMP/$1.err" \
            || echo "delete $1-$i: $(cat "$TMP/$1.err")"
    done
}
loop a >"$TMP/a.log" &
pa=$!
loop b >"$TMP/b.log" &
pb=$!
wait $pa; wait $pb
OUT=$(cat "$TMP/a.log" "$TMP/b.log")
if [ -z "$OUT" ]; then ok "all $((4 * N)) keygen/delete operations of two concurrent loops succeeded"
else ko "concurrent keygen/delete: $(wc -l <<<"$OUT") operations failed"; fi
run 0 "list after the loops" "$TOOL" list --json
expect "no key left behind" "len(d) == 0"
finish
