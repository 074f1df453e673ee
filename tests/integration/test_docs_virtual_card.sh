# SPDX-License-Identifier: Apache-2.0
# docs/virtual-card.md, run as written: the in-process sim: block, and the private-pcscd block
# (its vpcd port replaced by a free one, so tests can run in parallel), after which OpenSC and
# schsm-tool must see the card in "Virtual PCD 00 00"; then the page's own clean-up (kill %1 %2).
. "$(dirname "$0")/lib.sh"
. "$SCHSM_SOURCE/tests/lib/docs.sh"
need_pcsc
need "$TOOL"
command -v systemd-socket-activate >/dev/null && unshare -m true 2>/dev/null ||
    skip "the page's private pcscd needs systemd-socket-activate and unshare -m (root)"
export PATH="$SCHSM_BUILD/bin:$PATH"
DOC="$SCHSM_SOURCE/docs/virtual-card.md"

# 1. sim: in-process, in a temp HOME.
mkdir -p "$T/home1"
doc_block "$DOC" '## 1. In-process: the `sim:PATH` reader' sh >"$T/sim.sh"
check "sim: block found" test -s "$T/sim.sh"
sim_block() { (export HOME="$T/home1"; run_block "$T" "$T/sim.sh"); }
check "sim: block runs" sim_block
check_log_has "sim: block runs" 'web'

# 2. The private pcscd.
port=$(pick_ports 1) || { echo "no free port"; exit 1; }
doc_block "$DOC" '### With a private pcscd (what the tests and `scripts/pcsc-demo.sh` do)' sh >"$T/pcscd.sh"
check "private-pcscd block found" grep -q 36100 "$T/pcscd.sh"
{
    # The page's clean-up, whatever happens.
    echo "trap 'kill %1 %2 2>/dev/null; wait; rm -r \"\$d\"' EXIT"
    sed "s/36100/$port/g" "$T/pcscd.sh"
    echo 'for i in $(seq 100); do opensc-tool -l 2>/dev/null | grep -q "Yes *Virtual PCD 00 00" && break; sleep 0.2; done'
    echo 'opensc-tool -l'
    echo 'opensc-tool -r "Virtual PCD 00 00" -n'
    echo 'schsm-tool --reader "Virtual PCD 00 00" info'
    echo 'echo "dir $d"'
} >"$T/pcscd-run.sh"
unset PCSCLITE_CSOCK_NAME
# The page's block puts its socket in $(mktemp -d) under TMPDIR; a Unix socket path holds at most
# 107 bytes, so a deep checkout gets a short TMPDIR of its own under /tmp.
DOC_TMP=$T/tmp
[ "${#DOC_TMP}" -le 75 ] || DOC_TMP=$(mktemp -d /tmp/schsm-doc.XXXXXX)
private_pcscd() { (export TMPDIR="$DOC_TMP"; mkdir -p "$TMPDIR"; bash -euo pipefail "$T/pcscd-run.sh" </dev/null); }
check "private pcscd block runs" private_pcscd
check_log_has "private pcscd block runs" '^0 +Yes +Virtual PCD 00 00'
check_log_has "private pcscd block runs" '^SmartCard-HSM'
check_log_has "private pcscd block runs" '^Initialised: +no'
check "its clean-up removed the directory" sh -c "! ls -A '$DOC_TMP' | grep -q ."
[ "$DOC_TMP" = "$T/tmp" ] || rmdir "$DOC_TMP"
finish
