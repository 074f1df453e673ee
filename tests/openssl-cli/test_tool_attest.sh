#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Device identity (schsm-tool device), the virtual card's firmware update, and key attestation
# (schsm-tool attest): chain verdicts, the chain file, bundles checked without a card.
. "$(dirname "$0")/lib_tool.sh" tool_attest "${1:-${SCHSM_BUILD:-build}}"
SIM="$BUILD/bin/schsm-sim"
STATE="$TMP/card.state"

# PEM file -> raw bytes -> python edit -> PEM again (to tamper with chain files).
tamper() {  # IN OUT PYTHON-EXPR-ON-b
    python3 - "$1" "$2" "$3" <<'PY'
import base64, sys
lines = open(sys.argv[1]).read().split("\n")
head, tail = lines[0], [l for l in lines if l.startswith("-----END")][0]
b = bytearray(base64.b64decode("".join(l for l in lines[1:] if l and not l.startswith("-----"))))
exec(sys.argv[3])
body = base64.b64encode(bytes(b)).decode()
open(sys.argv[2], "w").write(head + "\n" + "\n".join(body[i:i+64] for i in range(0, len(body), 64)) + "\n" + tail + "\n")
PY
}

run 0 "device --help" "$TOOL" device --help
contains "device --help documents the chain file" "SMARTCARD-HSM DEVICE CHAIN"
run 0 "attest --help" "$TOOL" attest --help
contains "attest --help says what is not attested" "NOT usage flags or exportability"

run 0 "init" "$TOOL" init --so-pin $SO --pin $PIN --label attest-test

# --- device ---
run 1 "device: test root not trusted by default" "$TOOL" device --json
expect "verdict test-root-untrusted, labelled test" 'd["chain"]["verdict"] == "test-root-untrusted" and d["chain"]["test"] is True and d["chain"]["trusted"] is False'
run 0 "device --trust-test-root --out-chain" "$TOOL" device --trust-test-root --json --out-chain "$TMP/chain.pem"
expect "verdict test, trusted, TEST message" 'd["chain"]["verdict"] == "test" and d["chain"]["trusted"] and "TEST" in d["chain"]["message"]'
expect "device cert: CHR = serial + 5 digits, CAR = DICA CHR, validity, key" 'd["device_certificate"]["chr"].startswith(d["serial"]) and len(d["device_certificate"]["chr"]) == len(d["serial"]) + 5 and d["device_certificate"]["car"] == d["dica_certificate"]["chr"] and d["device_certificate"]["valid_to"] and d["device_certificate"]["public_key"].startswith("04")'
expect "firmware 3.5 on a new virtual card" 'd["firmware"] == "3.5"'
SERIAL=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["serial"])')
DEVCHR=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["device_certificate"]["chr"])')
run 0 "device (plain)" "$TOOL" device --trust-test-root
contains "plain output labels the TEST root" "UTSRCACC100001 (TEST)"
contains "plain output shows the firmware" "Firmware: *3.5"

run 0 "chain file verifies without a card" env SCHSM_READER=sim:/nonexistent/x "$TOOL" device --verify-chain "$TMP/chain.pem" --trust-test-root --json
expect "offline verdict test" 'd["chain"]["verdict"] == "test"'
tamper "$TMP/chain.pem" "$TMP/badsig.pem" 'b[-3] ^= 1'   # last bytes: the DICA signature
run 1 "chain with a damaged DICA signature" "$TOOL" device --verify-chain "$TMP/badsig.pem" --trust-test-root --json
expect "verdict bad-signature, names the DICA" 'd["chain"]["verdict"] == "bad-signature" and "DICA" in d["chain"]["failed"]'
tamper "$TMP/chain.pem" "$TMP/devsig.pem" 'i = b.index(b"\x5f\x37\x40"); b[i + 10] ^= 1'   # first 5F37: device cert
run 1 "chain with a damaged device signature" "$TOOL" device --verify-chain "$TMP/devsig.pem" --trust-test-root --json
expect "verdict bad-signature, names the device certificate" 'd["chain"]["verdict"] == "bad-signature" and "device certificate" in d["chain"]["failed"]'
tamper "$TMP/chain.pem" "$TMP/unknown.pem" 'i = b.rindex(b"UTSRCACC100001"); b[i:i+2] = b"XX"'
run 1 "chain naming an unknown root" "$TOOL" device --verify-chain "$TMP/unknown.pem" --trust-test-root --json
expect "verdict unknown-root" 'd["chain"]["verdict"] == "unknown-root" and not d["chain"]["trusted"]'
printf 'junk' >"$TMP/junk"
run 1 "not a chain file" "$TOOL" device --verify-chain "$TMP/junk"
contains "explains what a chain file is" "not a device chain file"
run 2 "--verify-chain with --out-chain" "$TOOL" device --verify-chain "$TMP/chain.pem" --out-chain "$TMP/x"

# --- attest ---
run 0 "keygen ec" "$TOOL" --pin $PIN keygen --type ec:prime256v1 --label k-ec
run 0 "keygen rsa" "$TOOL" --pin $PIN keygen --type rsa:2048 --label k-rsa
run 0 "export-pubkey k-ec" "$TOOL" export-pubkey --label k-ec --out "$TMP/k-ec.pub"
run 0 "export-pubkey k-rsa" "$TOOL" export-pubkey --label k-rsa --out "$TMP/k-rsa.pub"
run 1 "attest on the virtual card without --trust-test-root" "$TOOL" attest --label k-ec --out "$TMP/ec.att" --json
expect "bundle written, signatures good, chain untrusted" 'd["request_verified"] and not d["attested"] and d["chain"]["verdict"] == "test-root-untrusted"'
run 0 "attest --trust-test-root --json" "$TOOL" attest --label k-ec --out "$TMP/ec.att" --trust-test-root --json
expect "attested, EC key, test device" 'd["attested"] and d["key_type"].startswith("EC") and d["chain"]["test"] and "usage" in d["does_not_attest"]'
head -1 "$TMP/ec.att" | grep -q -- "-----BEGIN SMARTCARD-HSM ATTESTATION-----" && ok "bundle is PEM" || ko "bundle is PEM"

run 1 "attest --verify fails without --trust-test-root" env SCHSM_READER=sim:/nonexistent/x "$TOOL" attest --verify "$TMP/ec.att"
contains "says why" "NOT ATTESTED"
run 0 "attest --verify passes with --trust-test-root and the right --pubkey" env SCHSM_READER=sim:/nonexistent/x "$TOOL" attest --verify "$TMP/ec.att" --trust-test-root --pubkey "$TMP/k-ec.pub"
contains "says what is attested" "ATTESTED: *(TEST DEVICE)"
contains "says what is not attested" "Not attested: *the key's usage restrictions"
run 1 "attest --verify with another key's --pubkey" "$TOOL" attest --verify "$TMP/ec.att" --trust-test-root --pubkey "$TMP/k-rsa.pub" --json
expect "pubkey mismatch reported" 'd["pubkey_matches"] is False and not d["attested"] and "not the attested key" in d["failed"]'
tamper "$TMP/ec.att" "$TMP/bad.att" '
def tlv(i):   # the TLV at i: (value start, end); walked, as random key bytes may look like a tag
    j = i + (2 if b[i] & 0x1F == 0x1F else 1); n = b[j]; j += 1
    if n & 0x80:
        k = n & 0x7F; n = int.from_bytes(b[j:j + k], "big"); j += k
    return j, j + n
v, _ = tlv(0)            # 30: the bundle
_, e = tlv(v)            # 02 01 01: its version
v67, _ = tlv(e)          # 67: the key request
_, e21 = tlv(v67)        # 7F21, then the outer CAR (42), then the device signature
_, e42 = tlv(e21)
assert b[e42:e42 + 2] == b"\x5f\x37"
sv, _ = tlv(e42)
b[sv + 17] ^= 1'
run 1 "bundle with a damaged signature" "$TOOL" attest --verify "$TMP/bad.att" --trust-test-root --json
expect "not attested, names a signature" 'not d["attested"] and "signature" in (d["failed"] or "")'
run 1 "attest --verify of a non-bundle" "$TOOL" attest --verify "$TMP/chain.pem"
contains "names the expected format" "not an attestation bundle"
run 2 "attest with --verify and --label" "$TOOL" attest --verify "$TMP/ec.att" --label k-ec

run 0 "attest rsa key" "$TOOL" attest --label k-rsa --out "$TMP/rsa.att" --trust-test-root --json
expect "RSA 2048 attested" 'd["attested"] and d["key_type"] == "RSA 2048"'

# import-cert replaces CEnn; the request kept in CBnn still attests.
if command -v openssl >/dev/null; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/ca.key" 2>/dev/null
    openssl req -new -x509 -key "$TMP/ca.key" -subj /CN=attest-ca -days 2 -out "$TMP/ca.pem" 2>/dev/null
    openssl req -new -key "$TMP/ca.key" -subj /CN=k-ec -out "$TMP/req.csr" 2>/dev/null
    openssl x509 -req -in "$TMP/req.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial \
        -force_pubkey "$TMP/k-ec.pub" -days 2 -out "$TMP/cert.pem" 2>/dev/null
    run 0 "import-cert over the request" "$TOOL" --pin $PIN import-cert --label k-ec --in "$TMP/cert.pem"
    run 0 "attest after import-cert (request from CBnn)" "$TOOL" attest --label k-ec --out "$TMP/ec2.att" --trust-test-root --json
    expect "still attested" 'd["attested"]'
    run 0 "the certificate's key matches the bundle" "$TOOL" attest --verify "$TMP/ec2.att" --trust-test-root --pubkey "$TMP/cert.pem"
fi

# A key made by the provider (openssl genpkey) attests like schsm-tool's own.
if [ -f "$BUILD/lib/schsm.so" ] && command -v openssl >/dev/null; then
    run 0 "openssl genpkey on the card" env OPENSSL_CONF=/dev/null openssl genpkey -provider-path "$BUILD/lib" \
        -provider schsm -provider default -pkeyopt pin-value:$PIN -algorithm EC -pkeyopt group:P-256 \
        -pkeyopt label:k-gen -out "$TMP/k-gen.key"
    run 0 "attest the genpkey key" "$TOOL" attest --label k-gen --trust-test-root --json
    expect "attested" 'd["attested"] and d["key_type"] == "EC prime256v1"'
fi

# --- firmware update of the virtual card ---
run 0 "firmware update to 3.6" "$SIM" --state "$STATE" --firmware-update 3.6
run 1 "the old key is gone" "$TOOL" attest --label k-ec
run 0 "device after the update" "$TOOL" device --trust-test-root --json
expect "same serial, firmware 3.6, new device CHR, chain still test-trusted" "d['serial'] == '$SERIAL' and d['firmware'] == '3.6' and d['device_certificate']['chr'] != '$DEVCHR' and d['chain']['verdict'] == 'test'"
run 0 "old bundle still verifies offline (it carries its chain)" "$TOOL" attest --verify "$TMP/ec.att" --trust-test-root
run 0 "update without VERSION counts the minor up" "$SIM" --state "$STATE" --firmware-update
run 0 "info" "$TOOL" info --json
expect "firmware 3.7, factory fresh" 'd["firmware"] == "3.7" and d["initialized"] is False'
run 2 "bad VERSION" "$SIM" --state "$STATE" --firmware-update 3.x

finish
