# SPDX-License-Identifier: Apache-2.0
# The part of the shell-test harness every suite shares (sourced by tests/openssl-cli/lib.sh and
# tests/integration/lib.sh): the environment from CTest, and the check/finish helpers.
#
#   check NAME CMD...            CMD must succeed; its output goes to the log of NAME
#   check_fail NAME CMD...       CMD must fail
#   check_log_has NAME PATTERN   the log of the earlier check NAME matches the grep -E pattern
#   check_log_lacks NAME PATTERN ... and this one does not
#   finish                       prints the counts, calls finish_cleanup when the suite defines
#                                it, keeps $T on failure (exit 1), else removes it (exit 0)
#
# The sourcing lib sets T (the test's work directory) before the first check.

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
PASSED=0
FAILED=0

# The log file of check NAME: $T/NAME.log with every character outside [A-Za-z0-9_.-] made '_'.
_logname() {
    echo "$T/$(printf '%s' "$1" | tr -c 'A-Za-z0-9_.-' '_').log"
}

# check NAME CMD...: runs CMD, expects exit 0. Output goes to $T/NAME.log (shown on failure).
check() {
    local name=$1 rc
    shift
    local log
    log=$(_logname "$name")
    if "$@" >"$log" 2>&1; then
        PASSED=$((PASSED + 1))
        echo "ok   $name"
        return 0
    else
        rc=$?
        FAILED=$((FAILED + 1))
        echo "FAIL $name (exit $rc): $*"
        sed 's/^/     | /' "$log" | tail -n 25
        return 1
    fi
}

# check_fail NAME CMD...: expects CMD to fail (non-zero exit).
check_fail() {
    local name=$1
    shift
    local log
    log=$(_logname "$name")
    if "$@" >"$log" 2>&1; then
        FAILED=$((FAILED + 1))
        echo "FAIL $name (expected failure, got success): $*"
        sed 's/^/     | /' "$log" | tail -n 25
        return 1
    fi
    PASSED=$((PASSED + 1))
    echo "ok   $name (failed as expected)"
}

# check_log_has NAME PATTERN: the log of the earlier check NAME matches the grep -E pattern.
check_log_has() {
    local name=$1 pat=$2
    local log
    log=$(_logname "$name")
    if grep -Eq -- "$pat" "$log"; then
        PASSED=$((PASSED + 1))
        echo "ok   $name output matches /$pat/"
        return 0
    fi
    FAILED=$((FAILED + 1))
    echo "FAIL $name output does not match /$pat/"
    sed 's/^/     | /' "$log" | tail -n 25
    return 1
}

# check_log_lacks NAME PATTERN: the log of the earlier check NAME does not match.
check_log_lacks() {
    local name=$1 pat=$2
    local log
    log=$(_logname "$name")
    if ! grep -Eq -- "$pat" "$log"; then
        PASSED=$((PASSED + 1))
        echo "ok   $name output has no /$pat/"
        return 0
    fi
    FAILED=$((FAILED + 1))
    echo "FAIL $name output matches /$pat/"
    grep -E -- "$pat" "$log" | sed 's/^/     | /' | head -n 10
    return 1
}

finish() {
    echo "$PASSED passed, $FAILED failed"
    if declare -F finish_cleanup >/dev/null; then
        finish_cleanup
    fi
    if [ "$FAILED" -ne 0 ]; then
        echo "(work files kept in $T)"
        exit 1
    fi
    rm -rf "$T"
    exit 0
}
