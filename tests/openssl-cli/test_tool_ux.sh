#!/bin/bash
# schsm-tool and schsm-sim usability (issue 9 item 7, issue 12 items 9 and 10): usage errors
# before any APDU, clear messages for odd state files, private trace files, and the commands
# users of pkcs11-tool/opensc-tool reach for.
. "$(dirname "$0")/lib_tool.sh" tool_ux "${1:-${SCHSM_BUILD:-build}}"
SIM="$BUILD/bin/schsm-sim"

run 0 "init" "$TOOL" init --so-pin $SO --pin $PIN --label ux
run 0 "keygen" "$TOOL" --pin $PIN keygen --type ec:prime256v1 --label web

# --- usage errors (exit 2) ---
run 2 "--reader \"\" is a usage error" "$TOOL" --reader "" info
contains "--reader \"\" says why" "must not be empty"
run 2 "--key-domain beyond the card's domains" env SCHSM_DEBUG=apdu "$TOOL" --pin $PIN keygen \
    --type ec:prime256v1 --label kd --key-domain 99
contains "--key-domain 99 names the card's domains" "only key domain 0"
lacks "--key-domain 99: no key generated" "apdu> 00 46"
run 2 "--key-domain not a number" "$TOOL" --pin $PIN keygen --type ec:prime256v1 --label kd --key-domain x

# --- trace file is private ---
rm -f "$TMP/trace"
run 0 "traced info" env SCHSM_DEBUG=apdu SCHSM_DEBUG_FILE="$TMP/trace" "$TOOL" info
mode=$(stat -c %a "$TMP/trace" 2>/dev/null || echo none)
if [ "$mode" = 600 ]; then ok "SCHSM_DEBUG_FILE created mode 0600"; else OUT="mode $mode"; ko "SCHSM_DEBUG_FILE created mode 0600"; fi

# --- odd state files ---
: >"$TMP/empty.state"
run 1 "0-byte state file" "$TOOL" --reader "sim:$TMP/empty.state" info
contains "0-byte state file: says it is empty" "empty (0 bytes)"
lacks "0-byte state file: no '(Success)'" "Success"

# --- schsm-sim ---
if [ -x "$SIM" ]; then
    run 0 "schsm-sim --version" "$SIM" --version
    contains "schsm-sim --version prints it" "schsm-sim [0-9]"
    run 1 "schsm-sim --dump of a mistyped path" "$SIM" --state "$TMP/TYPO" --dump
    contains "mistyped path: says so" "no such state file"
    if [ -e "$TMP/TYPO" ] || [ -e "$TMP/TYPO.lock" ]; then ko "mistyped path: no file or .lock created"
    else ok "mistyped path: no file or .lock created"; fi
    run 1 "schsm-sim --dump of a 0-byte file" "$SIM" --state "$TMP/empty.state" --dump
    contains "schsm-sim 0-byte file: says it is empty" "empty (0 bytes)"
    run 0 "schsm-sim --dump of the card" "$SIM" --state "$TMP/card.state" --dump
fi

finish
