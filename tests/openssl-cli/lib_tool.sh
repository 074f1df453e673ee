# SPDX-License-Identifier: Apache-2.0
# Harness for the schsm-tool tests: a fresh virtual card per script, and checks on each command's
# exact exit code and output. Source it with the test's short name: `. lib_tool.sh NAME BUILD_DIR`.
#
#   run WANT_RC DESC CMD...    CMD (stdin closed, no controlling terminal) must exit WANT_RC; output in $OUT
#   expect DESC PYTHON-EXPR    EXPR is true of the JSON in $OUT (as d)
#   contains / contains_ci / lacks DESC PATTERN   $OUT matches (case-insensitively) / does not match
#   finish                     prints "N passed, N failed" and fails when any check failed

set -euo pipefail

BUILD=${2:-${SCHSM_BUILD:-build}}
TOOL="$BUILD/bin/schsm-tool"
[ -x "$TOOL" ] || { echo "skip: $TOOL is not built"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 is needed to parse JSON"; exit 77; }

TMP=$(mktemp -d "${SCHSM_TEST_TMP:-/tmp}/$1.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export SCHSM_READER="sim:$TMP/card.state"
unset SCHSM_DEBUG SCHSM_DEBUG_FILE || true
SO=3537363231383830
PIN=648219    # test-only PIN

pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; [ -n "${OUT:-}" ] && printf '       %s\n' "$OUT" | head -8; }
run() {
    local want=$1 desc=$2; shift 2
    local rc=0
    OUT=$(setsid -w "$@" </dev/null 2>&1) || rc=$?
    if [ "$rc" = "$want" ]; then ok "$desc"; else OUT="rc=$rc (want $want): $OUT"; ko "$desc"; fi
}
expect() {
    if printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$2" 2>/dev/null
    then ok "$1"; else ko "$1"; fi
}
contains() { if grep -q -- "$2" <<<"$OUT"; then ok "$1"; else ko "$1"; fi; }
contains_ci() { if grep -qi -- "$2" <<<"$OUT"; then ok "$1"; else ko "$1"; fi; }
lacks() { if grep -q -- "$2" <<<"$OUT"; then ko "$1"; else ok "$1"; fi; }
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
