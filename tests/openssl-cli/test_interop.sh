#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What must hold on every SmartCard-HSM (issue 8), run on each virtual-card profile by CTest
# (test_interop and test_interop@variant): the APDU budgets of a cold sign and of `list`, the
# serial from whatever EF 2F02 holds (info, key-reference files, serial= URIs), the KCV shown
# only as what it is (unknown until the PIN is verified on cards that hide it), and the device
# key never listed as a user key. Counts come from SCHSM_DEBUG=apdu (deterministic).
. "$(dirname "$0")/lib.sh"
need "$TOOL"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read JSON"; exit 77; }
init_card --dkek-shares 0    # the card makes its own DKEK: a KCV to show, no share files
for k in k1 k2; do
    "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label $k >"$T/kg-$k.log" 2>&1 || { cat "$T/kg-$k.log"; exit 1; }
done
head -c 1000 /dev/urandom >"$T/data"
"$TOOL" export-pubkey --label k1 --out "$T/k1.pub" >/dev/null 2>&1

# budget NAME MAX: the APDUs traced in $T/NAME.trace are at most MAX.
budget() {
    local n
    n=$(apdu_count "$T/$1.trace")
    if [ "$n" -ge 1 ] && [ "$n" -le "$2" ]; then
        PASSED=$((PASSED + 1)); echo "ok   $1: $n APDUs (at most $2)"
    else
        FAILED=$((FAILED + 1)); echo "FAIL $1: $n APDUs, want 1..$2"; sed 's/^/     | /' "$T/$1.trace"
    fi
}

# --- APDU budgets (bench/README.md has the figures) ---
check "cold sign" env SCHSM_DEBUG=apdu SCHSM_DEBUG_FILE="$T/cold-sign.trace" $OSSL dgst $PROV -sha256 \
    -sign "schsm:object=k1;type=private?pin-value=$PIN" -out "$T/k1.sig" "$T/data" </dev/null
budget cold-sign 7
check "cold signature verifies" $OSSL dgst -sha256 -verify "$T/k1.pub" -signature "$T/k1.sig" "$T/data"
check "key-reference file" $OSSL pkey $PROV -in "schsm:object=k1;type=private" -passin "pass:$PIN" -out "$T/k1.key"
check "cold sign through the key-reference file" env SCHSM_DEBUG=apdu SCHSM_DEBUG_FILE="$T/keyref-sign.trace" \
    $OSSL dgst $PROV -sha256 -sign "$T/k1.key" -passin "pass:$PIN" -out "$T/k1r.sig" "$T/data" </dev/null
# SELECT, READ 2F02 (the serial, before any PIN), VERIFY status, VERIFY, SIGN (issue 13).
budget keyref-sign 5
check "its signature verifies" $OSSL dgst -sha256 -verify "$T/k1.pub" -signature "$T/k1r.sig" "$T/data"
check "list" env SCHSM_DEBUG=apdu SCHSM_DEBUG_FILE="$T/list.trace" "$TOOL" list
# SELECT, ENUMERATE, then one READ of each key's description C4nn = 2 + 1 per key (issue 13).
budget list 4
check "list --long" env SCHSM_DEBUG=apdu SCHSM_DEBUG_FILE="$T/list-long.trace" "$TOOL" list --long
# --long adds per key CEnn (EC curve, X.509 or not), the key file's FCP (SELECT CCnn: the algorithm
# list) and once the serial (EF 2F02, for the full URIs) = 3 + 3 per key.
budget list-long 9
check_log_has "list --long" "prime256v1"
check_fail "list reads the directory once" sh -c "[ \$(grep -c '^apdu> 80 58' '$T/list.trace') -gt 1 ]"

# --- the device key (CC00, and C400 on some cards) is no user key ---
check "list --json" "$TOOL" list --json
json_check "list --json" 'sorted(o["label"] for o in d) == ["k1", "k2"] and all(o["key_ref"] != 0 for o in d)'

# --- serial from EF 2F02, whatever it holds ---
check "info --json" "$TOOL" info --json
json_check "info --json" 'd["serial"] and len(d["serial"]) >= 8 and d["device_chr"][:-5] == d["serial"]'
SERIAL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["serial"])' "$(_logname "info --json")")
check "key-reference file" $OSSL pkey $PROV -in "schsm:object=k1;type=private" -passin "pass:$PIN" \
    -out "$T/k1.ref" </dev/null
check "reference carries the serial" sh -c "$OSSL asn1parse -in '$T/k1.ref' | grep -q 'serial=$SERIAL'"
check "sign with the reference" $OSSL dgst $PROV -sha256 -sign "$T/k1.ref" -passin "pass:$PIN" -out "$T/ref.sig" \
    "$T/data" </dev/null
check "URI serial= selects the card" $OSSL pkey $PROV -pubin -in "schsm:serial=$SERIAL;object=k1;type=public" -pubout \
    -out "$T/k1.serial.pub" </dev/null
check "same public key by serial" cmp "$T/k1.serial.pub" "$T/k1.pub"
check_fail "missing key" $OSSL pkey $PROV -in "schsm:object=nope;type=private?pin-value=$PIN" -noout </dev/null
check_log_has "missing key" "\(serial $SERIAL\)"
check_log_lacks "missing key" "\(serial \)"

# --- KCV: the card's own, or "unknown until the PIN is verified", never zeros ---
check "dkek-status --json with a PIN" "$TOOL" --pin "$PIN" dkek-status --json
json_check "dkek-status --json with a PIN" 'len(d[0]["kcv"]) == 16 and d[0]["kcv"] != "0" * 16'
KCV=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["kcv"])' \
    "$(_logname "dkek-status --json with a PIN")")
check "info with a PIN" "$TOOL" --pin "$PIN" info
check_log_has "info with a PIN" "^DKEK: .*KCV $KCV"
"$SCHSM_BUILD/bin/schsm-sim" --state "$STATE" --reset >/dev/null   # a new card session: no PIN verified
check "dkek-status without a PIN" "$TOOL" dkek-status
check_log_lacks "dkek-status without a PIN" "KCV: 0{16}"
check "info without a PIN" "$TOOL" info --json
if [ "$SCHSM_SIM_PROFILE" = variant ]; then
    check_log_has "dkek-status without a PIN" "KCV: unknown until the user PIN is verified"
    json_check "info without a PIN" 'd["dkek"]["kcv"] is None'
else
    check_log_has "dkek-status without a PIN" "KCV: $KCV"
    json_check "info without a PIN" 'd["dkek"]["kcv"] == "'"$KCV"'"'
fi

# --- device identity: a chain on the CardContact card, a plain "self-signed" verdict elsewhere ---
if [ "$SCHSM_SIM_PROFILE" = variant ]; then
    check_fail "device on a card without a certificate chain" "$TOOL" device --json --trust-test-root
    json_check "device on a card without a certificate chain" 'd["chain"]["verdict"] == "self-signed" and d["serial"] != ""'
else
    check "device chain to the test root" "$TOOL" device --json --trust-test-root
    json_check "device chain to the test root" 'd["chain"]["verdict"] == "test"'
fi

# --- the virtual card says which profile it is ---
check "dump names the profile" "$SCHSM_BUILD/bin/schsm-sim" --state "$STATE" --dump
check_log_has "dump names the profile" "^profile: +$SCHSM_SIM_PROFILE$"
finish
