# SPDX-License-Identifier: Apache-2.0
# scripts/pcsc-demo.sh (docs/virtual-card.md): the virtual card behind a private pcscd, used by
# OpenSC (opensc-tool, pkcs15-tool) and by schsm (schsm-tool, an OpenSSL signature that verifies),
# and everything it started stopped and its scratch directory removed afterwards.
. "$(dirname "$0")/lib.sh"
need_pcsc
need_cmd pkcs15-tool

export TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
check "pcsc-demo.sh runs" env SCHSM_BUILD_DIR="$SCHSM_BUILD" bash "$SCHSM_SOURCE/scripts/pcsc-demo.sh"
check_log_has "pcsc-demo.sh runs" '^0 +Yes +Virtual PCD 00 00'
check_log_has "pcsc-demo.sh runs" '^SmartCard-HSM'
check_log_has "pcsc-demo.sh runs" '^Private EC Key \[web\]'
check_log_has "pcsc-demo.sh runs" '^Verified OK$'
log="$T/pcsc-demo.sh_runs.log"
pcscd_pid=$(sed -n 's/^pcscd (pid \([0-9]*\)).*/\1/p' "$log")
sim_pid=$(sed -n 's/^schsm-sim (pid \([0-9]*\)).*/\1/p' "$log")
check "pcsc-demo.sh named its pcscd and schsm-sim" test -n "$pcscd_pid" -a -n "$sim_pid"
check "pcscd stopped" sh -c "! kill -0 $pcscd_pid 2>/dev/null"
check "schsm-sim stopped" sh -c "! kill -0 $sim_pid 2>/dev/null"
check "scratch directory removed" sh -c "! ls -A '$TMPDIR' | grep -q ."
check "pcsc-demo.sh --help" bash "$SCHSM_SOURCE/scripts/pcsc-demo.sh" --help
check_fail "pcsc-demo.sh rejects unknown arguments" bash "$SCHSM_SOURCE/scripts/pcsc-demo.sh" --bogus
finish
