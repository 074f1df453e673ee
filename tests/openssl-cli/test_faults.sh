#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Injected card and disk faults (issue 9): each operation runs once with a fault at EVERY APDU index
# it sends (counted first with SCHSM_DEBUG=apdu), for each fault kind, and once per state-file write
# and fsync failure. Each time:
#   - the exit status is 0 or 1 (no crash, no usage error), and a failure says "error";
#   - no PIN try is lost (the counter is the same as before; a wrong PIN is never sent);
#   - afterwards the card is unchanged or holds the complete object: the same command run again
#     succeeds (or finds its work done), `schsm-tool check` then finds no problem, and the object is
#     complete (a key listed once with its label, a certificate exported, ...).
# FAULT_KINDS / FAULT_OPS narrow the run; the summary prints the fault positions tried per operation.
. "$(dirname "$0")/lib.sh"

SIM="$SCHSM_BUILD/bin/schsm-sim"
need "$TOOL" "$SIM"
KINDS=${FAULT_KINDS:-"sw=6F00 truncate garbage remove reset"}
OPS=${FAULT_OPS:-"keygen delete import-cert sign genpkey unwrap init dkek-import wrong-pin"}
BASE="$T/base.state"
# Garbage answers are random; the seed is printed so that a failing run can be repeated.
export SCHSM_SIM_FAULT_SEED=${SCHSM_SIM_FAULT_SEED:-$RANDOM$RANDOM}
echo "garbage answers from SCHSM_SIM_FAULT_SEED=$SCHSM_SIM_FAULT_SEED (set it to repeat them)"

tries() { "$SIM" --state "$STATE" --dump | sed -n 's/^user PIN: *\([0-9]*\) of.*/\1/p'; }
use_base() { cp "$BASE" "$STATE"; }
tool() { "$TOOL" --pin "$PIN" "$@"; }
listed() { "$TOOL" list --json; }
# key_once LABEL: exactly one key with LABEL, nothing incomplete or orphaned (grep: no python per run)
key_once() {
    local l
    l=$(listed) || return 1
    [ "$(grep -c "\"label\": \"$1\"" <<<"$l")" = 1 ] && ! grep -q '"state"' <<<"$l"
}
key_gone() {
    local l
    l=$(listed) || return 1
    ! grep -q "\"label\": \"$1\"" <<<"$l" && ! grep -q '"state"' <<<"$l"
}

# ---- the operations: op_X_setup makes $BASE; op_X runs it; op_X_rerun completes it; op_X_done checks ----
op_keygen_setup() { init_card; tool keygen --type ec:prime256v1 --label other >/dev/null; }
op_keygen() { tool keygen --type ec:prime256v1 --label fk; }
op_keygen_rerun() { key_once fk >/dev/null 2>&1 || op_keygen; }
op_keygen_done() { key_once fk; }

op_delete_setup() { init_card; tool keygen --type ec:prime256v1 --label fk >/dev/null; tool keygen --type ec:prime256v1 --label other >/dev/null; }
op_delete() { tool delete --yes --label fk; }
op_delete_rerun() { key_gone fk >/dev/null 2>&1 || op_delete; }
op_delete_done() { key_gone fk && key_once other; }

op_import_cert_setup() {
    init_card
    tool keygen --type ec:prime256v1 --label fk >/dev/null
    "$TOOL" export-pubkey --label fk --out "$T/fk.pub" >/dev/null
    if [ ! -f "$T/ca.key" ]; then
        openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
            -subj /CN=fault-ca -days 2 -out "$T/ca.pem" 2>/dev/null
        openssl x509 -new -force_pubkey "$T/fk.pub" -subj /CN=fk -CA "$T/ca.pem" -CAkey "$T/ca.key" \
            -days 2 -outform DER -out "$T/fk.der" 2>/dev/null ||
            openssl x509 -req -in <(openssl req -new -key "$T/ca.key" -subj /CN=fk 2>/dev/null) -CA "$T/ca.pem" \
                -CAkey "$T/ca.key" -force_pubkey "$T/fk.pub" -days 2 -outform DER -out "$T/fk.der" 2>/dev/null
    fi
}
op_import_cert() { tool import-cert --label fk --in "$T/fk.der"; }
op_import_cert_rerun() { op_import_cert; }
op_import_cert_done() {
    listed | python3 -c 'import json,sys; d=json.load(sys.stdin)
c=[o for o in d if o["label"]=="fk"]
sys.exit(0 if sorted(o["type"] for o in c)==["cert","ec"] and any(o.get("subject")=="/CN=fk" for o in c) and not any("state" in o for o in d) else 1)'
}

op_sign_setup() {
    init_card
    tool keygen --type ec:prime256v1 --label fk >/dev/null
    "$TOOL" export-pubkey --label fk --out "$T/fk.pub" >/dev/null
    echo "fault test data" >"$T/data"
}
op_sign() {
    rm -f "$T/sig"
    $OSSL dgst $PROV -sha256 -sign "schsm:object=fk;type=private?pin-value=$PIN" -out "$T/sig" "$T/data"
}
op_sign_rerun() { op_sign; }
op_sign_done() { $OSSL dgst -sha256 -verify "$T/fk.pub" -signature "$T/sig" "$T/data" >/dev/null && key_once fk; }

op_genpkey_setup() { init_card; }
op_genpkey() {
    $OSSL genpkey $PROV -pkeyopt pin-value:$PIN -algorithm EC -pkeyopt group:P-256 -pkeyopt label:fk -out "$T/fk.key"
}
op_genpkey_rerun() { key_once fk >/dev/null 2>&1 || op_genpkey; }
op_genpkey_done() { key_once fk; }

op_unwrap_setup() {
    if [ ! -f "$T/wrapped.bin" ]; then
        init_card --dkek-shares 1
        "$TOOL" import-dkek-share --in "$T/share.dkek" --password-source env:FAULT_DKEK_PW >/dev/null
        tool keygen --type ec:prime256v1 --label fk >/dev/null
        tool wrap-key --label fk --out "$T/wrapped.bin" >/dev/null
        tool delete --yes --label fk >/dev/null
        cp "$STATE" "$T/unwrap.state"
    fi
    cp "$T/unwrap.state" "$STATE"
}
op_unwrap() { tool unwrap-key --in "$T/wrapped.bin"; }
op_unwrap_rerun() { key_once fk >/dev/null 2>&1 || op_unwrap; }
op_unwrap_done() { key_once fk; }

# A wrong PIN costs exactly one try, whatever the card does meanwhile; never a second one.
op_wrong_pin_setup() { init_card; }
op_wrong_pin() { "$TOOL" --pin 000000 verify-pin; }
op_wrong_pin_lost=1   # tries a run may cost
op_wrong_pin_rerun() { "$TOOL" --pin "$PIN" verify-pin; }
op_wrong_pin_done() { [ "$(tries)" = 3 ]; }

op_init_setup() { init_card; tool keygen --type ec:prime256v1 --label old >/dev/null; }
op_init() { "$TOOL" init --so-pin "$SO_PIN" --pin "$PIN" --yes --label fault-card; }
op_init_rerun() { op_init; }
op_init_done() { key_gone old && "$TOOL" info --json | grep -q '"label": *"fault-card"'; }

# Each run decrypts the share (10 million MD5 rounds): fewer kinds, the same positions.
op_dkek_import_kinds="sw=6F00 remove"
op_dkek_import_writes=2
op_dkek_import_setup() { init_card --dkek-shares 1; }
op_dkek_import() { "$TOOL" import-dkek-share --in "$T/share.dkek" --password-source env:FAULT_DKEK_PW; }
op_dkek_import_rerun() { "$TOOL" dkek-status --json | grep -q '"missing": *0' || op_dkek_import; }
op_dkek_import_done() { "$TOOL" dkek-status --json | grep -q '"missing": *0'; }

export FAULT_DKEK_PW=fault-share-password
case " $OPS " in
*" unwrap "* | *" dkek-import "*)   # 10 million MD5 rounds: only when needed
    init_card
    "$TOOL" create-dkek-share --out "$T/share.dkek" --password-source env:FAULT_DKEK_PW >/dev/null ;;
esac

SUMMARY=""
# one_run OP RULE: one faulty run and its aftermath; prints nothing on success, a reason on failure
one_run() {
    local op=$1 rule=$2 fn=${1//-/_} rc=0 log="$T/run.log"
    use_base
    local before
    before=$(tries)
    SCHSM_SIM_FAULT="$rule" "op_$fn" >"$log" 2>&1 || rc=$?
    if [ "$rc" -gt 1 ]; then echo "exit $rc: $(tail -n 2 "$log")"; return; fi
    if [ "$rc" = 1 ] && ! grep -qi "error" "$log"; then echo "failed without an error message: $(tail -n 2 "$log")"; return; fi
    local lost_var="op_${fn}_lost" after
    after=$(tries)
    if [ "$op" != init ] && { [ "$after" -gt "$before" ] || [ $((before - after)) -gt "${!lost_var:-0}" ]; }; then
        echo "PIN tries $before -> $after"; return
    fi
    if ! "op_${fn}_rerun" >"$T/rerun.log" 2>&1; then echo "rerun failed: $(tail -n 2 "$T/rerun.log")"; return; fi
    if ! "$TOOL" check >"$T/check.log" 2>&1; then echo "check after rerun: $(grep -v ' ok$' "$T/check.log" | head -n 4)"; return; fi
    if ! "op_${fn}_done" >/dev/null 2>&1; then echo "object not complete after rerun: $(listed | tr -d '\n ' | head -c 300)"; return; fi
    if [ "$(tries)" != 3 ]; then echo "PIN tries after rerun: $(tries)"; fi
}

for op in $OPS; do
    fn=${op//-/_}   # (not f: lib.sh's need() uses it)
    rm -f "$STATE"
    "op_${fn}_setup" >/dev/null 2>&1 || { echo "FATAL: setup of $op failed"; exit 1; }
    cp "$STATE" "$BASE"
    n=$(export SCHSM_DEBUG=apdu; "op_$fn" 2>&1 | grep -c '^apdu>')
    rules=()
    kinds_var="op_${fn}_kinds"
    for i in $(seq 1 "$n"); do for k in ${!kinds_var:-$KINDS}; do rules+=("apdu=$i:$k"); done; done
    # State-file writes and fsyncs: at most one per APDU; the first 6 (no operation here changes
    # the card more often).
    writes_var="op_${fn}_writes"
    w=${!writes_var:-$n}
    [ "$w" -le 6 ] || w=6
    for i in $(seq 1 "$w"); do rules+=("write=$i:enospc" "fsync=$i:fail"); done
    bad=0
    for rule in "${rules[@]}"; do
        why=$(one_run "$op" "$rule")
        if [ -n "$why" ]; then
            bad=$((bad + 1))
            [ "$bad" -le 5 ] && echo "     $op $rule: $why"
        fi
    done
    check "$op: ${#rules[@]} faults ($n APDUs x kinds + writes + fsyncs), $bad bad" test "$bad" = 0
    SUMMARY="$SUMMARY $op=$n/${#rules[@]}"
done
echo "     fault positions (APDUs/runs):$SUMMARY"
finish
