#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# XKEK key domains with virtual cards: a group signer on A admits B and C; B and C derive the same
# XKEK; a key made on B moves to C and signs there (openssl with the provider), verified with B's
# public key; D without a membership cannot unwrap it. Each refusal names its check. The group
# signer survives wrap-key/unwrap-key onto another card and a firmware update of its card.
. "$(dirname "$0")/lib_tool.sh" tool_xkek "${1:-${SCHSM_BUILD:-build}}"
SIM="$BUILD/bin/schsm-sim"
[ -f "$BUILD/lib/schsm.so" ] || { echo "skip: the provider is not built"; exit 77; }
export OPENSSL_CONF=/dev/null
export DKEK_PW=xkek-test-share-password
PROV="-provider-path $BUILD/lib -provider schsm -provider default"

# Options that point schsm-tool at card NAME (run executes programs, not shell functions).
R() { echo "--reader sim:$TMP/$1.state --pin $PIN"; }
on() { local card=$1; shift; "$TOOL" $(R "$card") "$@"; }
new_card() {  # NAME [init options]
    local card=$1; shift
    "$TOOL" --reader "sim:$TMP/$card.state" init --so-pin $SO --pin $PIN --key-domains 2 "$@" >/dev/null
    "$TOOL" --reader "sim:$TMP/$card.state" device --trust-test-root --out-chain "$TMP/$card.chain" >/dev/null
}
kcv() { on "$1" key-domains --json | python3 -c 'import json,sys; print([d for d in json.load(sys.stdin) if d["domain"]==0][0].get("kcv",""))'; }
join() {  # GS_CARD GS_LABEL MEMBER
    run 0 "kdm issue for $3 (group signer $2 on $1)" "$TOOL" $(R "$1") kdm issue --group-signer "$2" --member "$TMP/$3.chain" --out "$TMP/$3.kdm" --trust-test-root
    run 0 "$3 joins (xkek create)" "$TOOL" $(R "$3") xkek create --kdm "$TMP/$3.kdm" --trust-test-root --json
    expect "$3 has an XKEK domain 0 without a KCV yet" 'd["domain"] == 0 and d["complete"] is False and len(d["uid"]) == 128'
    run 0 "$3 exchange-key" "$TOOL" $(R "$3") xkek exchange-key --domain 0 --out "$TMP/$3.req"
}
pair() {  # X Y: derive both ways
    run 0 "$1 derives with $2's exchange key" "$TOOL" $(R "$1") xkek derive --domain 0 --peer "$TMP/$2.req" --trust-test-root --json
    expect "$1 has an XKEK" 'd["complete"] is True'
    run 0 "$2 derives with $1's exchange key" "$TOOL" $(R "$2") xkek derive --domain 0 --peer "$TMP/$1.req" --trust-test-root
    if [ -n "$(kcv "$1")" ] && [ "$(kcv "$1")" = "$(kcv "$2")" ]; then ok "$1 and $2 show the same KCV"; else ko "$1 and $2 show the same KCV"; fi
}
move_key() {  # FROM TO LABEL: keygen in the domain on FROM, wrap, unwrap on TO, sign on TO, verify with FROM's key
    run 0 "keygen --key-domain 0 on $1" "$TOOL" $(R "$1") keygen --type ec:prime256v1 --label "$3" --key-domain 0
    run 0 "wrap-key on $1" "$TOOL" $(R "$1") wrap-key --label "$3" --out "$TMP/$3.wrap"
    run 0 "export-pubkey on $1" "$TOOL" $(R "$1") export-pubkey --label "$3" --out "$TMP/$3.pub"
    run 0 "unwrap-key on $2" "$TOOL" $(R "$2") unwrap-key --in "$TMP/$3.wrap"
    echo "moved between cards $1 and $2" >"$TMP/msg"
    run 0 "openssl signs "$TOOL" $(R $2) with the moved key" env SCHSM_READER="sim:$TMP/$2.state" \
        openssl dgst $PROV -sha256 -sign "schsm:object=$3;type=private?pin-value=$PIN" -out "$TMP/$3.sig" "$TMP/msg"
    run 0 "the signature verifies with $1's public key" openssl dgst -sha256 -verify "$TMP/$3.pub" -signature "$TMP/$3.sig" "$TMP/msg"
}

for c in "group-signer create" "kdm issue" "xkek create" "xkek exchange-key" "xkek derive"; do
    run 0 "$c --help" "$TOOL" $c --help
    contains "$c --help shows usage" "Usage: schsm-tool $c"
done

run 2 "xkek without a verb" "$TOOL" xkek
contains "lists the verbs" "needs one of: create, exchange-key, derive"
run 0 "help with a two-word command" "$TOOL" help kdm issue
contains "shows its usage" "Usage: schsm-tool kdm issue"

# --- A: group signer in a DKEK domain made of one share (so it can be restored) ---
new_card A --dkek-shares 1
run 0 "create a DKEK share" "$TOOL" create-dkek-share --out "$TMP/share.dkek" --password-source env:DKEK_PW
run 0 "import it on A" "$TOOL" $(R A) import-dkek-share --in "$TMP/share.dkek" --password-source env:DKEK_PW
run 2 "group-signer create needs --label" "$TOOL" $(R A) group-signer create
run 0 "group-signer create" "$TOOL" $(R A) group-signer create --label GS --json
expect "group signer in DKEK domain 0" 'd["label"] == "GS" and d["domain"] == 0'
run 0 "wrap-key backs up the group signer" "$TOOL" $(R A) wrap-key --label GS --out "$TMP/gs.wrap"

# --- B and C join, derive the same XKEK, move a key ---
new_card B
new_card C
new_card D
join A GS B
join A GS C
pair B C
move_key B C moved
run 0 "the moved key attests on B, where it was generated" "$TOOL" $(R B) attest --label moved --trust-test-root --out "$TMP/moved.att"
run 1 "on C it cannot: its request names B's device" "$TOOL" $(R C) attest --label moved --trust-test-root
contains "explains that the key was moved" "keeps the request of the card that generated it"
run 0 "B's bundle verifies against the key C signs with" "$TOOL" attest --verify "$TMP/moved.att" --trust-test-root --pubkey "$TMP/moved.pub"
run 1 "D (no membership) cannot unwrap the key" "$TOOL" $(R D) unwrap-key --in "$TMP/moved.wrap"
run 1 "D cannot join with B's membership" "$TOOL" $(R D) xkek create --kdm "$TMP/B.kdm" --trust-test-root
contains "names the failed check: issued for another device" "check 3 failed: the KDM was not issued for this device"
run 1 "a KDM from a virtual card is refused without --trust-test-root" "$TOOL" $(R D) xkek create --kdm "$TMP/B.kdm"
contains "names the failed check: group signer's device chain" "check 1 failed"

# another group signer: its KDM cannot join B's domain 0; its members' exchange keys do not fit
run 0 "second group signer on A" "$TOOL" $(R A) group-signer create --label GS2
run 0 "kdm issue for B by GS2" "$TOOL" $(R A) kdm issue --group-signer GS2 --member "$TMP/B.chain" --out "$TMP/B2.kdm" --trust-test-root
run 1 "B refuses GS2's KDM for domain 0" "$TOOL" $(R B) xkek create --kdm "$TMP/B2.kdm" --domain 0 --trust-test-root
contains "says the domain belongs to another group signer" "belongs to another group signer"
run 0 "D joins GS2's group" "$TOOL" $(R A) kdm issue --group-signer GS2 --member "$TMP/D.chain" --out "$TMP/D.kdm" --trust-test-root
run 0 "D xkek create" "$TOOL" $(R D) xkek create --kdm "$TMP/D.kdm" --trust-test-root
run 0 "D exchange-key" "$TOOL" $(R D) xkek exchange-key --domain 0 --out "$TMP/D.req"
run 1 "B refuses D's exchange key (other domain UID)" "$TOOL" $(R B) xkek derive --domain 0 --peer "$TMP/D.req" --trust-test-root
contains "names the failed check: domain UID" "check 3 failed: the peer's exchange key belongs to another key domain"
python3 - "$TMP/D.req" "$TMP/Dbad.req" <<'PY'
import base64, sys
lines = open(sys.argv[1]).read().split("\n")
b = bytearray(base64.b64decode("".join(l for l in lines if l and not l.startswith("-----"))))
def tlv(i):   # the TLV at i: (value start, end); walked, as random key bytes may look like a tag
    j = i + (2 if b[i] & 0x1F == 0x1F else 1)
    n = b[j]; j += 1
    if n & 0x80:
        k = n & 0x7F; n = int.from_bytes(b[j:j + k], "big"); j += k
    return j, j + n
v67, _ = tlv(0)          # 67: the authenticated request
v21, _ = tlv(v67)        # 7F21: the request itself
_, e4e = tlv(v21)        # 7F4E: its body, followed by the key's own signature
assert b[e4e:e4e + 2] == b"\x5f\x37"
sv, _ = tlv(e4e)
b[sv + 7] ^= 1           # the exchange key's own signature
body = base64.b64encode(bytes(b)).decode()
open(sys.argv[2], "w").write(lines[0] + "\n" + body + "\n" + [l for l in lines if l.startswith("-----END")][0] + "\n")
PY
run 1 "a damaged exchange request is refused" "$TOOL" $(R B) xkek derive --domain 0 --peer "$TMP/Dbad.req" --trust-test-root
contains "names the failed check: request" "check 2 failed"
run 0 "B's KCV is unchanged by the refusals" test "$(kcv B)" = "$(kcv C)"

# --- the group signer moves to A2 (wrap-key + unwrap-key); memberships still verify ---
new_card A2 --dkek-shares 1
run 0 "A2 imports the DKEK share" "$TOOL" $(R A2) import-dkek-share --in "$TMP/share.dkek" --password-source env:DKEK_PW
run 0 "unwrap the group signer on A2" "$TOOL" $(R A2) unwrap-key --in "$TMP/gs.wrap"
new_card E
join A2 GS E
pair B E
move_key B E moved-e

# --- firmware update of A: new device certificate; restore the DKEK and the group signer ---
run 0 "firmware update of A" "$SIM" --state "$TMP/A.state" --firmware-update
run 0 "init A again" "$TOOL" --reader "sim:$TMP/A.state" init --so-pin $SO --pin $PIN --dkek-shares 1 --key-domains 2
run 0 "re-import the DKEK share" "$TOOL" $(R A) import-dkek-share --in "$TMP/share.dkek" --password-source env:DKEK_PW
run 0 "unwrap the group signer again" "$TOOL" $(R A) unwrap-key --in "$TMP/gs.wrap"
new_card F
join A GS F
pair C F
move_key C F moved-f

# --- a group signer restored without its origin chain (file of another tool) ---
python3 - "$TMP/gs.wrap" "$TMP/gs-bare.wrap" <<'PY'
import sys
def tlv(b, i):  # -> (start, value start, end) of the TLV at i (tags of 1 or 2 bytes)
    j = i + (2 if b[i] & 0x1F == 0x1F else 1)
    n = b[j]; j += 1
    if n & 0x80:
        k = n & 0x7F; n = int.from_bytes(b[j:j + k], "big"); j += k
    return i, j, j + n
b = open(sys.argv[1], "rb").read()
_, v, end = tlv(b, 0)
parts, i = [], v
while i < end:
    s, _, e = tlv(b, i); parts.append(b[s:e]); i = e
assert len(parts) == 4 and parts[3][0] == 0xE1, "wrap-key should have added the origin chain (E1)"
body = b"".join(parts[:3])
n = len(body)
hdr = bytes([0x30]) + (bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 0xFF]))
open(sys.argv[2], "wb").write(hdr + body)
PY
new_card A3 --dkek-shares 1
run 0 "A3 imports the DKEK share" "$TOOL" $(R A3) import-dkek-share --in "$TMP/share.dkek" --password-source env:DKEK_PW
run 0 "unwrap the group signer without its origin chain" "$TOOL" $(R A3) unwrap-key --in "$TMP/gs-bare.wrap"
new_card G
run 1 "kdm issue refuses without the origin chain" "$TOOL" $(R A3) kdm issue --group-signer GS --member "$TMP/G.chain" --out "$TMP/G.kdm" --trust-test-root
contains "explains and names the fix" "Pass --origin-chain FILE"
run 1 "the chain of another card is refused" "$TOOL" $(R A3) kdm issue --group-signer GS --member "$TMP/G.chain" --out "$TMP/G.kdm" --trust-test-root --origin-chain "$TMP/B.chain"
contains "says it does not belong" "does not belong to this group signer"
run 0 "--origin-chain with A's saved chain fixes it" "$TOOL" $(R A3) kdm issue --group-signer GS --member "$TMP/G.chain" --out "$TMP/G.kdm" --trust-test-root --origin-chain "$TMP/A.chain"
run 0 "and is kept: the next membership needs no file" "$TOOL" $(R A3) kdm issue --group-signer GS --member "$TMP/G.chain" --out "$TMP/G.kdm" --trust-test-root
run 0 "G joins with it" "$TOOL" $(R G) xkek create --kdm "$TMP/G.kdm" --trust-test-root

finish
