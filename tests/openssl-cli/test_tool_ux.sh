#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
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

# --- help says what the commands do (issue 12 item 10) ---
run 0 "init --help" "$TOOL" init --help
lacks "init --help: --pin not shown as required" "^Usage: .*--pin PIN"
contains "init --help: --key-domains" "--key-domains"
contains "init --help: --force" "--force"
run 0 "info --json" "$TOOL" info --json
keys=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)))')
run 0 "info --help" "$TOOL" info --help
for k in $keys; do contains "info --help names JSON key $k" "$k"; done
run 0 "keygen --help" "$TOOL" keygen --help
help_curves=$(printf '%s' "$OUT" | tr '\n' ' ' | sed 's/  */ /g' | grep -o 'Curves (ec:NAME): [^G]*' | sed 's/^Curves (ec:NAME): //; s/ *$//')
run 2 "unknown curve" "$TOOL" --pin $PIN keygen --type ec:nope --label x
err_curves=$(printf '%s' "$OUT" | grep -o 'use one of .*' | head -1 | sed 's/^use one of //')
if [ -n "$help_curves" ] && [ "$help_curves" = "$err_curves" ]; then ok "help and error give the same curve list"
else OUT="help: $help_curves | error: $err_curves"; ko "help and error give the same curve list"; fi
contains "curve list is not cut" "secp256k1"

# --- keygen --json, list with URIs (issue 12 items 5, 10) ---
run 0 "keygen --json" "$TOOL" --pin $PIN keygen --type ec:prime256v1 --label api --json
expect "keygen --json fields" 'd["label"] == "api" and d["curve"] == "prime256v1" and d["uri"] == "schsm:object=api;type=private" and d["uri_full"].startswith("schsm:serial=") and ";id=%" in d["uri_full"]'
# (the tools never make two keys with one label; tests/unit/test_store_ambiguous.c checks that the
# ambiguity message gives full URIs, with a card made that way)
run 0 "list --json" "$TOOL" list --json
expect "list: unique label gives the short URI" '[x["uri"] for x in d if x["label"] == "api"] == ["schsm:object=api;type=private"]'
expect "list: full URIs carry the serial" 'all(x["uri_full"].startswith("schsm:serial=") for x in d)'
run 0 "list (table) has the URI column" "$TOOL" list
contains "table URI column" "schsm:object=api;type=private"
export OPENSSL_CONF=/dev/null
if [ -e "$BUILD/lib/schsm.so" ]; then
    uri=$("$TOOL" list --json | python3 -c 'import json,sys; print([x["uri"] for x in json.load(sys.stdin) if x["label"] == "web"][0])')
    run 0 "listed URI works in openssl" openssl pkey -provider-path "$BUILD/lib" -provider schsm -provider default \
        -in "${uri%;type=private};type=public" -pubin -noout
fi

# --- certificates: import, list, export, delete-cert (the key stays), rename ---
if [ -e "$BUILD/lib/schsm.so" ] && openssl req -provider-path "$BUILD/lib" -provider schsm -provider default -x509 -new \
        -key "schsm:object=api;type=private?pin-value=$PIN" -subj /CN=api -days 30 -out "$TMP/api.crt" 2>/dev/null; then
    run 0 "import-cert" "$TOOL" --pin $PIN import-cert --label api --in "$TMP/api.crt"
    run 0 "list --json with the certificate" "$TOOL" list --json
    expect "certificate subject, issuer, expiry" '[(x["subject"], x["issuer"], len(x["not_after"])) for x in d if x["type"] == "cert"] == [("/CN=api", "/CN=api", 20)]'
    expect "certificate URI" '[x["uri"] for x in d if x["type"] == "cert"] == ["schsm:object=api;type=cert"]'
    run 0 "export-cert" "$TOOL" export-cert --label api --out "$TMP/out.pem"
    if cmp -s <(openssl x509 -in "$TMP/out.pem") <(openssl x509 -in "$TMP/api.crt"); then ok "exported certificate is the imported one"
    else ko "exported certificate is the imported one"; fi
    run 0 "export-cert --der" "$TOOL" export-cert --label api --der --out "$TMP/out.der"
    run 0 "DER parses" openssl x509 -inform DER -in "$TMP/out.der" -noout
    run 0 "rename" "$TOOL" --pin $PIN rename --label api --new-label api2 --new-id 0a0b
    run 0 "list after rename" "$TOOL" list --json
    expect "renamed key and its certificate" 'sorted((x["type"], x["id"]) for x in d if x["label"] == "api2") == [("cert", "0a0b"), ("ec", "0a0b")] and not [x for x in d if x["label"] == "api"]'
    run 1 "rename to a taken label" "$TOOL" --pin $PIN rename --label api2 --new-label web
    contains "rename to a taken label: says so" "already exists"
    run 2 "delete-cert without --yes and no terminal" "$TOOL" --pin $PIN delete-cert --label api2
    run 0 "delete-cert" "$TOOL" --pin $PIN delete-cert --label api2 --yes
    run 0 "list after delete-cert" "$TOOL" list --json
    expect "certificate gone, key kept" '[x["type"] for x in d if x["label"] == "api2"] == ["ec"]'
    run 0 "public key still readable" "$TOOL" export-pubkey --label api2 --out "$TMP/api2.pub"
    run 1 "delete-cert of a key without certificate" "$TOOL" --pin $PIN delete-cert --label api2 --yes
    contains "no certificate: says so" "has no X.509 certificate"
else
    ko "certificate part (req failed)"
fi

# --- random, readers, --wait ---
run 0 "random N" "$TOOL" random 300 --out "$TMP/rnd"
if [ "$(stat -c %s "$TMP/rnd")" = 300 ]; then ok "random wrote 300 bytes"; else ko "random wrote 300 bytes"; fi
run 0 "random --hex" "$TOOL" random 8 --hex
if printf '%s' "$OUT" | grep -qx '[0-9a-f]\{16\}'; then ok "random --hex prints 16 hex digits"; else ko "random --hex prints 16 hex digits"; fi
run 2 "random without N" "$TOOL" random
run 2 "random 0" "$TOOL" random 0
run 0 "readers --json" "$TOOL" readers --json
expect "readers lists the virtual card" 'any(x["smartcard_hsm"] and x["reader"].startswith("sim:") and x["serial"] for x in d)'
run 0 "--wait with the card present" timeout 20 "$TOOL" --wait info --json
expect "--wait then info" 'd["initialized"] is True'
# On a terminal a slow operation shows a spinner with the elapsed time (the virtual card made slow
# with SCHSM_SIM_LATENCY_US so that key generation takes over a second).
if command -v python3 >/dev/null; then
    run 0 "spinner on a terminal" env SCHSM_SIM_LATENCY_US=400000 python3 "$(dirname "$0")/../lib/answer_prompt.py" \
        "generating ec:prime256v1 key 'slow' on the card (" "" "$TOOL" --pin $PIN keygen --type ec:prime256v1 --label slow
    contains "spinner shows the elapsed seconds" "on the card ([0-9]* s)"
fi
run 0 "no spinner when stderr is not a terminal" "$TOOL" --pin $PIN keygen --type rsa:1024 --label quiet
lacks "no spinner characters" "waiting\|generating"

finish
