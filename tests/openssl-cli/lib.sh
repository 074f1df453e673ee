# Shared helpers for the openssl CLI tests. Source it; then use `check`, `check_fail`, `finish`.
# Environment from CTest: SCHSM_BUILD (build dir, also $1), SCHSM_SOURCE, SCHSM_TEST_TMP.
# Every test gets a fresh virtual card in its own directory, so tests can run in parallel.

set -u

SCHSM_BUILD=${SCHSM_BUILD:-${1:-}}
if [ -z "$SCHSM_BUILD" ]; then
    echo "usage: $0 BUILD_DIR (or set SCHSM_BUILD)"
    exit 2
fi
SCHSM_BUILD=$(cd "$SCHSM_BUILD" && pwd)
SCHSM_SOURCE=${SCHSM_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SCHSM_TEST_TMP=${SCHSM_TEST_TMP:-$SCHSM_BUILD/tests/tmp}
export SCHSM_BUILD SCHSM_SOURCE SCHSM_TEST_TMP

TEST_NAME=$(basename "$0" .sh)
T="$SCHSM_TEST_TMP/$TEST_NAME.$$"
mkdir -p "$T"
STATE="$T/card.state"
export SCHSM_READER="sim:$STATE"
TOOL="$SCHSM_BUILD/bin/schsm-tool"
PIN=648219
SO_PIN=3537363231383830
OSSL="openssl"
PROV="-provider-path $SCHSM_BUILD/lib -provider schsm -provider default"
# The same providers, schsm listed after default (provider order must never matter).
PROV_REV="-provider-path $SCHSM_BUILD/lib -provider default -provider schsm"
# OPENSSL_CONF must not load a user's configuration with schsm already active.
export OPENSSL_CONF=/dev/null
unset SCHSM_DEBUG SCHSM_DEBUG_FILE

PASSED=0
FAILED=0

need() {
    for f in "$@"; do
        if [ ! -e "$f" ]; then
            echo "SKIP: $f not built"
            exit 77
        fi
    done
}

need "$SCHSM_BUILD/lib/schsm.so"

# Initialises the virtual card (fresh state). Extra args go to schsm-tool init.
init_card() {
    need "$TOOL"
    rm -f "$STATE"
    if ! "$TOOL" --reader "sim:$STATE" init --so-pin "$SO_PIN" --pin "$PIN" --yes "$@" >"$T/init.log" 2>&1; then
        echo "FATAL: schsm-tool init failed:"
        cat "$T/init.log"
        exit 1
    fi
}

# check NAME CMD...: runs CMD, expects exit 0. Output goes to $T/NAME.log (shown on failure).
check() {
    local name=$1
    shift
    local log="$T/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log"
    if "$@" >"$log" 2>&1; then
        PASSED=$((PASSED + 1))
        echo "ok   $name"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $name (exit $?): $*"
        sed 's/^/     | /' "$log" | tail -n 25
    fi
}

# check_fail NAME CMD...: expects CMD to fail (non-zero exit).
check_fail() {
    local name=$1
    shift
    local log="$T/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log"
    if "$@" >"$log" 2>&1; then
        FAILED=$((FAILED + 1))
        echo "FAIL $name (expected failure, got success): $*"
        sed 's/^/     | /' "$log" | tail -n 25
    else
        PASSED=$((PASSED + 1))
        echo "ok   $name (failed as expected)"
    fi
}

# check_log_has NAME PATTERN: the log of the previous check NAME matches the grep -E pattern.
check_log_has() {
    local name=$1 pat=$2
    local log="$T/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log"
    if grep -Eq -- "$pat" "$log"; then
        PASSED=$((PASSED + 1))
        echo "ok   $name output matches /$pat/"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $name output does not match /$pat/"
        sed 's/^/     | /' "$log" | tail -n 25
    fi
}

# apdu_count FILE: number of command APDUs traced in FILE.
apdu_count() {
    if [ -f "$1" ]; then grep -c '^apdu>' "$1"; else echo 0; fi
}

finish() {
    echo "$PASSED passed, $FAILED failed"
    if [ "$FAILED" -ne 0 ]; then
        echo "(work files kept in $T)"
        exit 1
    fi
    rm -rf "$T"
    exit 0
}
