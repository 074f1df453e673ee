# SPDX-License-Identifier: Apache-2.0
# Concurrency through pcscd: 8 processes x 200 signatures on one card, all at once, while OpenSC
# keeps selecting the applet (which logs everybody else out); then threads inside one process.
# Every signature must be made and must verify.
. "$(dirname "$0")/lib.sh"

need "$TOOL" "$SCHSM_BUILD/lib/schsm.so"
PROCS=${CONC_PROCS:-8}
SIGS=${CONC_SIGS:-200}

pcsc_start 1
R=$(reader_name 0)
export SCHSM_READER="$R"
build_signloop

check init "$TOOL" init --so-pin "$SO_PIN" --pin "$PIN" --yes
check keygen-ec "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label conc-ec
check pub-ec "$TOOL" export-pubkey --label conc-ec --out "$T/conc-ec.pem"
check keygen-rsa "$TOOL" --pin "$PIN" keygen --type rsa:2048 --label conc-rsa
check pub-rsa "$TOOL" export-pubkey --label conc-rsa --out "$T/conc-rsa.pem"
printf '%s\n' "$PIN" >"$T/pin"
chmod 600 "$T/pin"
URI_EC="schsm:object=conc-ec;type=private?pin-source=file:$T/pin"
URI_RSA="schsm:object=conc-rsa;type=private?pin-source=file:$T/pin"

# OpenSC in a loop: every pkcs15-tool run SELECTs the applet, dropping the others' login.
(
    runs=0
    while [ ! -e "$T/stop-opensc" ]; do
        pkcs15-tool -r "$R" -D >/dev/null 2>&1
        runs=$((runs + 1))
        echo "$runs" >"$T/opensc-runs"
    done
) &
OPENSC_LOOP=$!

run_parallel() {
    local name=$1 uri=$2 pub=$3 n=$4 i pids=() fails=0
    for i in $(seq 1 "$n"); do
        "$T/signloop" "$SCHSM_BUILD/lib" "$uri" "$pub" "$SIGS" >"$T/$name.$i.log" 2>&1 &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        if ! wait "${pids[$i]}"; then
            fails=$((fails + 1))
            echo "worker $((i + 1)) failed:"
            tail -n 5 "$T/$name.$((i + 1)).log"
        fi
    done
    [ "$fails" -eq 0 ] || return 1
    # Each worker says how many it made and verified; all of them must say all.
    [ "$(grep -lx "$SIGS of $SIGS signatures made and verified" "$T/$name".*.log | wc -l)" -eq "$n" ]
}

start=$(date +%s)
check "ec-${PROCS}x${SIGS}" run_parallel ec "$URI_EC" "$T/conc-ec.pem" "$PROCS"
echo "     ($((PROCS * SIGS)) ECDSA signatures in $(($(date +%s) - start)) s)"
check "rsa-2x$SIGS" run_parallel rsa "$URI_RSA" "$T/conc-rsa.pem" 2
check "threads-4x$SIGS" "$T/signloop" "$SCHSM_BUILD/lib" "$URI_EC" "$T/conc-ec.pem" "$SIGS" 4
check_log_has "threads-4x$SIGS" "^$((4 * SIGS)) of $((4 * SIGS)) signatures made and verified"

touch "$T/stop-opensc"
wait "$OPENSC_LOOP"
echo "     (OpenSC ran pkcs15-tool $(cat "$T/opensc-runs" 2>/dev/null || echo 0) times meanwhile)"

# Nothing went wrong with the PIN on the way: still all tries left.
check info-after "$TOOL" info --json
check_log_has info-after '"pin_tries": *3'

finish
