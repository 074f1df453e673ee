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

# _pid_tree PID: PID and all its descendants.
_pid_tree() {
    local c
    echo "$1"
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do _pid_tree "$c"; done
}

# wait_listen PORT PID: waits (bounded, about 30 s) until PID or one of its descendants holds a
# listening TCP socket on PORT. Only that process's own socket counts: a log line or a listener
# left by an earlier server on the same port is never taken for the new one. 1 when PID died or
# the time ran out.
wait_listen() {
    local port=$1 pid=$2 hex i inodes p fd link ino
    hex=$(printf ':%04X' "$port")
    for i in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || return 1
        inodes=$(awk -v h="$hex" '$4 == "0A" && substr($2, length($2) - 4) == h { print $10 }' \
            /proc/net/tcp /proc/net/tcp6 2>/dev/null)
        if [ -n "$inodes" ]; then
            for p in $(_pid_tree "$pid"); do
                for fd in /proc/"$p"/fd/*; do
                    link=$(readlink "$fd" 2>/dev/null) || continue
                    for ino in $inodes; do
                        [ "$link" = "socket:[$ino]" ] && return 0
                    done
                done
            done
        fi
        sleep 0.1
    done
    return 1
}

# --- TCP ports ---------------------------------------------------------------------------------
# Tests run in parallel and pick ports at random. A picked port is claimed with mkdir (atomic) in
# $SCHSM_TEST_TMP/ports, so two tests never take the same one between the check and the bind, and
# the ranges stay below the kernel's ephemeral ports, which any outgoing connection may take.
# port_in_use P: a socket of this network namespace uses TCP port P (either end).
port_in_use() {
    grep -q ":$(printf '%04X' "$1") " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
_port_claims() { echo "${SCHSM_TEST_TMP:-${TMPDIR:-/tmp}}/ports"; }
# claim_port P: P is free and now this test's (the claim names the test's shell, $$, which
# subshells share, so `p=$(free_port)` keeps it).
claim_port() {
    local d
    d=$(_port_claims)
    mkdir -p "$d" && ! port_in_use "$1" && mkdir "$d/$1" 2>/dev/null || return 1
    echo "$$" >"$d/$1/owner"
}
# release_ports: gives this test's claims back (finish and the integration clean-up call it).
release_ports() {
    local f
    for f in "$(_port_claims)"/*/owner; do
        [ -f "$f" ] && [ "$(cat "$f" 2>/dev/null)" = "$$" ] && rm -rf "$(dirname "$f")"
    done
    return 0
}
# free_port: a free port, claimed, between 20000 and the start of the ephemeral range.
free_port() {
    local lo=32768 p try
    read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    [ "$lo" -gt 21000 ] || lo=32768
    for try in $(seq 200); do
        p=$((20000 + RANDOM % (lo - 20000)))
        claim_port "$p" && { echo "$p"; return 0; }
    done
    return 1
}

# wait_for N CMD...: runs CMD until it succeeds, every 0.1 s, at most N times; the last try's
# output and status are the answer. For conditions that come true a moment after an event (a
# server forks its workers after it listens; a process prints what it waits for).
wait_for() {
    local n=$1 i
    shift
    for i in $(seq $((n - 1))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    "$@"
}

finish() {
    release_ports
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
