#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Crash safety (issue 9): a bounded loop of `kill -9` in the middle of keygen, genpkey, delete,
# import-cert and unwrap-key. Each round holds the operation at a random APDU with an injected delay
# (SCHSM_SIM_FAULT=apdu=K:delay=MS, said on stderr when it starts), kills it there, and waits for
# the process to be gone. Afterwards, every round:
#   - the state file loads (schsm-sim --dump);
#   - `check --repair --yes` leaves nothing for `check` to report;
#   - every key whose creation was acknowledged (exit 0) is still there, once, under its label;
#   - the PIN counter is full (no try lost).
# CRASH_ROUNDS (default 50) bounds the loop; CRASH_SEED makes it repeatable.
. "$(dirname "$0")/lib.sh"

SIM="$SCHSM_BUILD/bin/schsm-sim"
need "$TOOL" "$SIM"
ROUNDS=${CRASH_ROUNDS:-50}
RANDOM=${CRASH_SEED:-$$}

tool() { "$TOOL" --pin "$PIN" "$@"; }
init_card --dkek-shares 1
export CRASH_DKEK_PW=crash-share-password
check dkek-share "$TOOL" create-dkek-share --out "$T/share.dkek" --password-source env:CRASH_DKEK_PW
check dkek-import "$TOOL" import-dkek-share --in "$T/share.dkek" --password-source env:CRASH_DKEK_PW
check wrapped-key-source tool keygen --type ec:prime256v1 --label wrap-src
check wrap tool wrap-key --label wrap-src --out "$T/wrapped.bin"
"$TOOL" export-pubkey --label wrap-src --out "$T/src.pub" >/dev/null
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" -subj /CN=ca \
    -days 2 -out "$T/ca.pem" 2>/dev/null
openssl x509 -new -force_pubkey "$T/src.pub" -subj /CN=wrap-src -CA "$T/ca.pem" -CAkey "$T/ca.key" -days 2 \
    -outform DER -out "$T/src.der" 2>/dev/null

declare -A ACKED=([wrap-src]=1)   # labels whose creation was acknowledged and not since deleted
declare -A GONE=()                # labels whose deletion was acknowledged
acked_ops=0
unwrapped=0

# hold_and_kill K CMD...: runs CMD with a long delay at APDU K, kills it once the delay started
# (or lets it finish when it sends fewer APDUs); sets RC to its exit status (137 = killed).
hold_and_kill() {   # CMD must be the program itself (a shell function would leave it running)
    local k=$1 err="$T/op.err" i
    shift
    : >"$err"
    SCHSM_SIM_FAULT="apdu=$k:delay=60000" "$@" >/dev/null 2>"$err" &
    local pid=$!
    for i in $(seq 1 2000); do   # poll for the condition, bounded (at most ~20 s)
        grep -q "fault injected at APDU $k" "$err" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.01
    done
    kill -9 "$pid" 2>/dev/null
    RC=0
    { wait "$pid"; } 2>/dev/null || RC=$?
    [ "${CRASH_VERBOSE:-}" ] && echo "     k=$k rc=$RC: $*" || true
}

bad=0 killed=0
fail_round() { bad=$((bad + 1)); echo "     round $1: $2"; }
for round in $(seq 1 "$ROUNDS"); do
    k=$((RANDOM % 16 + 1))
    [ $((round % 3)) = 0 ] && k=1000   # every third operation runs to its end: acknowledged
    labels=("${!ACKED[@]}" "")
    victim=${labels[$((RANDOM % ${#labels[@]}))]}
    [ -n "$victim" ] || victim="c$((round - 1))"   # maybe made, maybe not: delete copes with both
    case $((RANDOM % 5)) in
    0) op="keygen"; new="c$round"; hold_and_kill "$k" "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label "$new" ;;
    1) op="genpkey"; new="g$round"
       hold_and_kill "$k" $OSSL genpkey $PROV -pkeyopt "pin-value:$PIN" -algorithm EC -pkeyopt group:P-256 \
           -pkeyopt "label:$new" -out "$T/g.key" ;;
    2) op="delete $victim"; new=""; unset "ACKED[$victim]" 2>/dev/null || true
       hold_and_kill "$k" "$TOOL" --pin "$PIN" delete --yes --label "$victim" ;;
    3) op="import-cert"; new=""
       if [ -n "${ACKED[wrap-src]:-}" ]; then hold_and_kill "$k" "$TOOL" --pin "$PIN" import-cert --label wrap-src --in "$T/src.der"
       else hold_and_kill "$k" "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label "i$round"; new="i$round"; fi ;;
    4) op="unwrap-key"; unwrapped=$((unwrapped + 1)); new="u$unwrapped"
       hold_and_kill "$k" "$TOOL" --pin "$PIN" unwrap-key --in "$T/wrapped.bin" --label "$new" --id "$(printf 'a0%04x' "$unwrapped")" ;;
    esac
    [ "$RC" = 137 ] && killed=$((killed + 1))
    if [ "$RC" = 0 ] && [ -n "$new" ]; then ACKED[$new]=1; acked_ops=$((acked_ops + 1)); fi
    if [ "$RC" = 0 ] && [ "${op%% *}" = delete ]; then GONE[$victim]=1; acked_ops=$((acked_ops + 1)); fi
    if [ "$RC" != 0 ] && [ "$RC" != 1 ] && [ "$RC" != 137 ]; then fail_round "$round" "$op exited $RC"; fi
    "$SIM" --state "$STATE" --dump >"$T/dump.log" 2>&1 || { fail_round "$round" "state does not load after $op"; continue; }
    grep -q "user PIN: *3 of 3" "$T/dump.log" || fail_round "$round" "PIN try lost ($op): $(grep 'user PIN' "$T/dump.log")"
    tool check --repair --yes >"$T/repair.log" 2>&1
    "$TOOL" check >"$T/check.log" 2>&1 || fail_round "$round" "check after repair ($op at APDU $k): $(tail -n 3 "$T/check.log")"
    "$TOOL" list --json >"$T/list.json" 2>&1 || { fail_round "$round" "list fails"; continue; }
    for l in "${!ACKED[@]}"; do
        [ "$(grep -c "\"label\": \"$l\"" "$T/list.json")" -ge 1 ] || fail_round "$round" "acknowledged key $l lost ($op at APDU $k)"
    done
    for l in "${!GONE[@]}"; do
        grep -q "\"label\": \"$l\"" "$T/list.json" && fail_round "$round" "acknowledged deletion of $l undone ($op at APDU $k)"
    done
done
echo "     ($killed of $ROUNDS operations killed mid-way, $acked_ops acknowledged; ${#ACKED[@]} acknowledged keys kept)"
check "crash rounds: $ROUNDS, $bad bad" test "$bad" = 0
# The rounds are random (CRASH_SEED), so these only prove the loop was not vacuous: with 50 rounds
# about 30 are killed and 10 to 20 acknowledged (every third round runs to its end, but a delete
# of a key that was never made, or an import-cert, counts as no acknowledged change).
check "some operations were really killed" test "$killed" -ge $((ROUNDS / 10))
check "some operations were acknowledged" test "$acked_ops" -ge 1
finish
