# SPDX-License-Identifier: Apache-2.0
# Injected faults through pcscd (SCHSM_SIM_FAULT on schsm-sim --vpcd, counted per connection):
# truncated and garbage answers, a status word, a reset, a delay and a failed state write in the
# middle of a stream of signatures and a keygen; then a removal. Every run ends with exit 0 or a
# clear error (exit 1), nothing is signed wrongly, no PIN try is lost, and once the faults are
# spent every operation works again and `schsm-tool check` finds the card clean.
. "$(dirname "$0")/lib.sh"

need "$TOOL" "$SCHSM_BUILD/lib/schsm.so"
need_cmd openssl
pcsc_start 1
R=$(reader_name 0)
export SCHSM_READER="$R"
export OPENSSL_CONF=/dev/null
PROV="-provider-path $SCHSM_BUILD/lib -provider schsm -provider default"
# Garbage answers are random; the seed is printed so that a failing run can be repeated.
export SCHSM_SIM_FAULT_SEED=${SCHSM_SIM_FAULT_SEED:-$RANDOM$RANDOM}
echo "garbage answers from SCHSM_SIM_FAULT_SEED=$SCHSM_SIM_FAULT_SEED (set it to repeat them)"

check init "$TOOL" init --so-pin "$SO_PIN" --pin "$PIN" --yes
check keygen "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label fk
check pubkey "$TOOL" export-pubkey --label fk --out "$T/fk.pub"
echo "signed under faults" >"$T/data"

restart_card() {   # restart_card [FAULT RULES]: the card process again, with these faults
    sim_stop 0
    wait_no_card 0 >/dev/null
    SCHSM_SIM_FAULT="${1:-}" sim_start 0
    wait_card 0 >/dev/null
}

sign_runs() {   # sign_runs N: N signatures; each exits 0 (and verifies) or 1 with an error
    local i rc bad=0
    for i in $(seq "$1"); do
        rc=0
        rm -f "$T/sig"
        openssl dgst $PROV -sha256 -sign "schsm:object=fk;type=private?pin-value=$PIN" -out "$T/sig" \
            "$T/data" >"$T/sign.err" 2>&1 || rc=$?
        case $rc in
        0) openssl dgst -sha256 -verify "$T/fk.pub" -signature "$T/sig" "$T/data" >/dev/null ||
               { echo "run $i: signature does not verify"; bad=1; } ;;
        1) grep -qi error "$T/sign.err" || { echo "run $i: failed without an error"; bad=1; } ;;
        *) echo "run $i: exit $rc: $(tail -n 2 "$T/sign.err")"; bad=1 ;;
        esac
        echo "run $i: exit $rc"
    done
    return $bad
}

restart_card "apdu=4:truncate,apdu=9:garbage,apdu=14:sw=6F00,apdu=19:reset,apdu=24:delay=300,write=2:enospc"
check signs-under-faults sign_runs 10
check keygen-under-faults sh -c '"$0" --pin "$1" keygen --type ec:prime256v1 --label fk2; [ $? -le 1 ]' "$TOOL" "$PIN"
check faults-fired sh -c '[ "$(grep -c "fault injected at" "$0")" -ge 5 ]' "$T/sim0.log"
check signs-after-faults sign_runs 5
check_log_lacks signs-after-faults 'exit [1-9]'
check check-clean "$TOOL" check
check info "$TOOL" info --json
check_log_has info '"pin_tries": *3'

# A removal at the second APDU of the next connection: the operation fails cleanly, and once the
# card is back (without faults) everything works.
restart_card "apdu=2:remove"
check sign-card-pulled sign_runs 1
check_log_has sign-card-pulled 'exit 1'
restart_card
check signs-after-removal sign_runs 3
check_log_lacks signs-after-removal 'exit [1-9]'
check check-clean-end "$TOOL" check
finish
