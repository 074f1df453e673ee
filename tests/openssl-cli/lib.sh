# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the openssl CLI tests. Source it; then use `check`, `check_fail`, `finish`
# (from tests/lib/checks.sh).
# Environment from CTest: SCHSM_BUILD (build dir, also $1), SCHSM_SOURCE, SCHSM_TEST_TMP.
# Every test gets a fresh virtual card in its own directory, so tests can run in parallel.

. "$(dirname "${BASH_SOURCE[0]}")/../lib/checks.sh"
mkdir -p "$SCHSM_TEST_TMP"
T=$(mktemp -d "$SCHSM_TEST_TMP/$TEST_NAME.XXXXXX")
STATE="$T/card.state"
export SCHSM_READER="sim:$STATE"
# Cards are created with the profile CTest names (cardcontact, or variant for the @variant runs).
export SCHSM_SIM_PROFILE="${SCHSM_SIM_PROFILE:-cardcontact}"
echo "virtual card profile: $SCHSM_SIM_PROFILE"
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

# secret_echoed URI LOG SECRET: succeeds when LOG is missing or empty, or shows SECRET anywhere but
# in the verbatim URI (the openssl command line tools repeat the URI they could not open; schsm
# itself must never write the secret).
secret_echoed() {
    [ ! -s "$2" ] || grep -vF -- "$1" "$2" | grep -qF -- "$3"
}

# apdu_count FILE: number of command APDUs traced in FILE.
apdu_count() {
    if [ -f "$1" ]; then grep -c '^apdu>' "$1"; else echo 0; fi
}

# json_check NAME PYTHON-EXPR: evaluates EXPR on the JSON in the log of check NAME (as d).
json_check() {
    if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
        "$(_logname "$1")" "$2" 2>/dev/null; then
        PASSED=$((PASSED + 1)); echo "ok   $1: $2"
    else
        FAILED=$((FAILED + 1)); echo "FAIL $1: $2"; sed 's/^/     | /' "$(_logname "$1")" | tail -n 20
    fi
}
# assert NAME CMD...: a plain shell condition as a check.
assert() {
    local name=$1; shift
    if "$@"; then PASSED=$((PASSED + 1)); echo "ok   $name"; else FAILED=$((FAILED + 1)); echo "FAIL $name"; fi
}
