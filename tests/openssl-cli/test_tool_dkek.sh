#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# DKEK key backup with schsm-tool: share files (plain and n-of-m), import into two virtual cards
# (same KCV), wrap EC and RSA keys on card 1, unwrap into card 2, sign there through the
# provider and verify with card 1's public keys; wrong password and wrong DKEK are refused with
# clear messages and leave nothing behind. Each share-file KDF costs a few seconds (10^7 MD5).
source "$(dirname "$0")/lib.sh"
need "$TOOL"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read JSON"; exit 77; }

C1="sim:$STATE"
C2="sim:$T/card2.state"
C3="sim:$T/card3.state"
C4="sim:$T/card4.state"
export DKEK_PW1="first custodian pw" DKEK_PW2="second-custodian" DKEK_BAD="not the password" SHORT_PW=abc12
export TOOL_PIN=$PIN
t1() { "$TOOL" --reader "$C1" --pin-source env:TOOL_PIN "$@"; }
t2() { "$TOOL" --reader "$C2" --pin-source env:TOOL_PIN "$@"; }
t3() { "$TOOL" --reader "$C3" --pin-source env:TOOL_PIN "$@"; }
t4() { "$TOOL" --reader "$C4" --pin-source env:TOOL_PIN "$@"; }

init_card --dkek-shares 2
for c in "$C2:2" "$C3:1" "$C4:"; do
    r=${c%:*}; n=${c##*:}
    "$TOOL" --reader "$r" init --so-pin "$SO_PIN" --pin "$PIN" --yes ${n:+--dkek-shares $n} >"$T/init2.log" 2>&1 \
        || { echo "FATAL: init of $r failed"; cat "$T/init2.log"; exit 1; }
done

# --- help ---
for c in create-dkek-share import-dkek-share dkek-status wrap-key unwrap-key; do
    check "$c --help" "$TOOL" "$c" --help
    check_log_has "$c --help" "Usage: schsm-tool $c"
done
check "main help lists unwrap-key" "$TOOL" --help
check_log_has "main help lists unwrap-key" "unwrap-key"

# --- share files ---
check "create share 1" t1 create-dkek-share --out "$T/s1.dkek" --password-source env:DKEK_PW1
check_log_has "create share 1" "deriving key \(takes a few seconds\)"
check "create share 2" t1 create-dkek-share --out "$T/s2.dkek" --password-source env:DKEK_PW2
assert "share file is 64 bytes" test "$(stat -c %s "$T/s1.dkek")" = 64
assert "share file starts with Salted__" test "$(head -c 8 "$T/s1.dkek")" = "Salted__"
assert "share files differ" bash -c "! cmp -s '$T/s1.dkek' '$T/s2.dkek'"
cp "$T/s1.dkek" "$T/s1.copy"
check_fail "create refuses to overwrite" t1 create-dkek-share --out "$T/s1.dkek" --password-source env:DKEK_PW2
check_log_has "create refuses to overwrite" "exists.*--force"
assert "refused overwrite left the file alone" cmp -s "$T/s1.dkek" "$T/s1.copy"
check_fail "create refuses a short password" t1 create-dkek-share --out "$T/short.dkek" --password-source env:SHORT_PW
check_log_has "create refuses a short password" "at least 6 characters"
check_fail "create refuses threshold 1" t1 create-dkek-share --out "$T/bad.dkek" --pwd-shares-threshold 1 --pwd-shares-total 3
check_fail "create refuses total 2" t1 create-dkek-share --out "$T/bad.dkek" --pwd-shares-threshold 2 --pwd-shares-total 2
check_fail "create refuses threshold > total" t1 create-dkek-share --out "$T/bad.dkek" --pwd-shares-threshold 4 --pwd-shares-total 3
assert "no file after invalid shares" test ! -e "$T/bad.dkek" -a ! -e "$T/short.dkek"

# --- import: wrong password first, with the APDU trace proving nothing was sent ---
check_fail "wrong share password" env SCHSM_DEBUG=apdu SCHSM_DEBUG_FILE="$T/wrongpw.trace" \
    "$TOOL" --reader "$C1" import-dkek-share --in "$T/s1.dkek" --password-source env:DKEK_BAD
check_log_has "wrong share password" "wrong password or not a DKEK share file"
assert "wrong password: no share import APDU sent" bash -c "! grep -q '^apdu> 80 52 00 00 Lc=32' '$T/wrongpw.trace'"
check_fail "import of a non-share file" t1 import-dkek-share --in "$T/init.log" --password-source env:DKEK_PW1
check_log_has "import of a non-share file" "not a DKEK share file"
check "status after the failed import" t1 dkek-status --json
json_check "status after the failed import" 'd[0]["total"] == 2 and d[0]["missing"] == 2'

for n in 1 2; do
    for card in t1 t2; do
        check "import share $n into $card" $card import-dkek-share --in "$T/s$n.dkek" --password-source env:DKEK_PW$n
    done
done
check_log_has "import share 1 into t2" "1 missing"
check_log_has "import share 2 into t2" "KCV: [0-9a-f]{16}"
check "card 1 status" t1 dkek-status --json
check "card 2 status" t2 dkek-status --json
json_check "card 1 status" 'd[0]["missing"] == 0 and d[0]["complete"] and d[0]["kcv"] != "0"*16'
kcv1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["kcv"])' "$(_logname "card 1 status")")
json_check "card 2 status" "d[0]['kcv'] == '$kcv1'"
check "info shows the same KCV" t2 info --json
json_check "info shows the same KCV" "d['dkek']['kcv'] == '$kcv1'"
check_fail "a third share is refused" t1 import-dkek-share --in "$T/s1.dkek" --password-source env:DKEK_PW1
check_log_has "a third share is refused" "already has all 2 DKEK shares"

# --- wrap on card 1 ---
check "keygen ec on card 1" t1 keygen --type ec:prime256v1 --label bk-ec
check "keygen rsa on card 1" t1 keygen --type rsa:2048 --label bk-rsa --id c0ffee01
for k in bk-ec bk-rsa; do
    check "export $k public key from card 1" t1 export-pubkey --label $k --out "$T/$k.pub"
    check "wrap $k" t1 wrap-key --label $k --out "$T/$k.wrap"
    check_log_has "wrap $k" "KCV $kcv1"
    assert "$k wrapped file is 30 { 04 ... }" test "$(od -An -tx1 -N1 "$T/$k.wrap" | tr -d ' ')" = 30
done
check_fail "wrap refuses to overwrite" t1 wrap-key --label bk-ec --out "$T/bk-ec.wrap"
check_fail "wrap of a missing key" t1 wrap-key --label no-such-key --out "$T/none.wrap"
assert "no file for a missing key" test ! -e "$T/none.wrap"

# --- unwrap into card 2 and use the keys there ---
check "list card 2 before" t2 list --json
json_check "list card 2 before" 'len(d) == 0'
for k in bk-ec bk-rsa; do
    check "unwrap $k into card 2" t2 unwrap-key --in "$T/$k.wrap"
done
check "list card 2 after" t2 list --json
json_check "list card 2 after" 'sorted(o["label"] for o in d if o["type"] != "cert") == ["bk-ec", "bk-rsa"]'
json_check "list card 2 after" 'any(o["label"] == "bk-rsa" and o["id"] == "c0ffee01" and o["bits"] == 2048 for o in d)'
echo "data signed on the second card" >"$T/data"
for k in bk-ec bk-rsa; do
    check "sign with $k on card 2" env SCHSM_READER="$C2" $OSSL dgst $PROV -sha256 \
        -sign "schsm:object=$k;type=private?pin-value=$PIN" -out "$T/$k.sig" "$T/data"
    check "verify $k signature with card 1's public key" $OSSL dgst -sha256 -verify "$T/$k.pub" \
        -signature "$T/$k.sig" "$T/data"
done
check_fail "unwrap refuses an existing label" t2 unwrap-key --in "$T/bk-ec.wrap"
check_log_has "unwrap refuses an existing label" "on the card already.*--force"
check "unwrap under a new label and id" t2 unwrap-key --in "$T/bk-ec.wrap" --label bk-ec-copy --id 0a0b
check "list after relabel" t2 list --json
json_check "list after relabel" 'any(o["label"] == "bk-ec-copy" and o["id"] == "0a0b" for o in d) and sum(o["type"] == "ec" for o in d) == 2'
check "unwrap --force replaces" t2 unwrap-key --in "$T/bk-rsa.wrap" --force
check "list after replace" t2 list --json
json_check "list after replace" 'sum(o["label"] == "bk-rsa" for o in d if o["type"] != "cert") == 1'
check "relabelled key signs" env SCHSM_READER="$C2" $OSSL dgst $PROV -sha256 \
    -sign "schsm:object=bk-ec-copy;type=private?pin-value=$PIN" -out "$T/copy.sig" "$T/data"
check "relabelled key is the same key" $OSSL dgst -sha256 -verify "$T/bk-ec.pub" -signature "$T/copy.sig" "$T/data"

# --- n-of-m share file on card 3 (a different DKEK) ---
check "create n-of-m share" t3 create-dkek-share --out "$T/s3.dkek" --pwd-shares-threshold 2 --pwd-shares-total 3
check_log_has "create n-of-m share" "Share value: ([0-9a-f]{2}:){7}[0-9a-f]{2}"
L3=$(_logname "create n-of-m share")
sed -n '/^Share 3 of 3/,/^Share value/p;/^Share 1 of 3/,/^Share value/p' "$L3" >"$T/two-shares.txt"
sed -n '/^Share 2 of 3/,/^Share value/p' "$L3" >"$T/one-share.txt"
check_fail "one share is not enough" t3 import-dkek-share --in "$T/s3.dkek" --shares-file "$T/one-share.txt"
check_fail "wrong shares are detected" t3 import-dkek-share --in "$T/s1.dkek" --shares-file "$T/two-shares.txt"
check_log_has "wrong shares are detected" "wrong password"
check "import with 2 of 3 shares" t3 import-dkek-share --in "$T/s3.dkek" --shares-file "$T/two-shares.txt" --pwd-shares 2
check_log_has "import with 2 of 3 shares" "0 missing"

# --- unwrap with the wrong DKEK, and without any DKEK: refused, nothing left behind ---
check "card 3 keygen" t3 keygen --type ec:prime256v1 --label own-key
check "list card 3 before" t3 list --json
check_fail "unwrap into a card with another DKEK" t3 unwrap-key --in "$T/bk-ec.wrap" --label other
check_log_has "unwrap into a card with another DKEK" "different DKEK \(KCV $kcv1"
check "list card 3 after" t3 list --json
assert "card 3 unchanged" cmp -s "$(_logname "list card 3 before")" "$(_logname "list card 3 after")"
check_fail "unwrap into a card without DKEK" t4 unwrap-key --in "$T/bk-ec.wrap"
check_log_has "unwrap into a card without DKEK" "no DKEK"
check "list card 4 after" t4 list --json
json_check "list card 4 after" 'len(d) == 0'
# A damaged blob with the right KCV gets past the host's check: the card refuses it (CMAC).
python3 - "$T/bk-ec.wrap" "$T/damaged.wrap" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
assert b[0] == 0x30 and b[1] == 0x82 and b[4] == 0x04 and b[5] == 0x82
blob_len = b[6] << 8 | b[7]
b[8 + blob_len - 20] ^= 0x01
open(sys.argv[2], "wb").write(b)
PY
check "list card 2 before damaged" t2 list --json
check_fail "unwrap of a damaged blob" t2 unwrap-key --in "$T/damaged.wrap" --label damaged --id 0d
check_log_has "unwrap of a damaged blob" "damaged, or in an encoding this card does not accept"
check_log_lacks "unwrap of a damaged blob" "different DKEK"
check "list card 2 after damaged" t2 list --json
assert "damaged blob left nothing" cmp -s "$(_logname "list card 2 before damaged")" "$(_logname "list card 2 after damaged")"
check_fail "unwrap of a non-wrapped file" t2 unwrap-key --in "$T/s1.dkek"
check_log_has "unwrap of a non-wrapped file" "not a wrapped-key file"
check "dkek-status without DKEK" t4 dkek-status
check_log_has "dkek-status without DKEK" "No DKEK"

# --- a key reference freed by an interrupted delete (description and key gone, the card pulled
# before its public-key files): a card that lists only keys and descriptions (the variant) hides
# CEnn/CBnn, and the next key there must not inherit them, neither by keygen nor by unwrap ---
. "$(dirname "$0")/../lib/pull.sh"
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" -subj /CN=ca \
    -days 2 -out "$T/ca.pem" 2>/dev/null
# interrupted_delete LABEL: keygen LABEL with a certificate (CBnn keeps its request), then delete
# it with the card pulled from its third DELETE FILE on (after the description and the key)
interrupted_delete() {
    local l=$1 n
    t2 keygen --type ec:prime256v1 --label "$l" && t2 export-pubkey --label "$l" --out "$T/$l.pub" || return 1
    openssl x509 -new -force_pubkey "$T/$l.pub" -subj "/CN=$l" -CA "$T/ca.pem" -CAkey "$T/ca.key" -days 2 \
        -outform DER -out "$T/$l.der" 2>/dev/null && t2 import-cert --label "$l" --in "$T/$l.der" || return 1
    n=$(apdu_index "$T/card2.state" 3 '00 E4' "$TOOL" --pin-source env:TOOL_PIN delete --yes --label "$l")
    [ -n "$n" ] || { echo "no third DELETE FILE in the trace"; return 1; }
    ! SCHSM_SIM_FAULT="$(pulled_from "$n")" t2 delete --yes --label "$l"
}
# fresh_key_files LABEL: LABEL's reference holds no request (CBnn) and no certificate mismatch
fresh_key_files() {
    t2 check --json >"$T/check2.json" 2>/dev/null
    python3 - "$T/check2.json" "$1" <<'PY'
import json, sys
e = [e for e in json.load(open(sys.argv[1]))["key_refs"] if e["label"] == sys.argv[2]]
sys.exit(0 if len(e) == 1 and e[0]["files"]["request"] is None and "certificate-mismatch" not in e[0]["findings"] else 1)
PY
}
check "delete of gone1 interrupted after its key" interrupted_delete gone1
check "keygen at the freed reference" t2 keygen --type ec:prime256v1 --label fresh1
check "the new key inherited no old public-key file" fresh_key_files fresh1
check "delete of gone2 interrupted after its key" interrupted_delete gone2
check "unwrap at the freed reference" t2 unwrap-key --in "$T/bk-ec.wrap" --label fresh2 --id 0e0f
check "the unwrapped key inherited no old public-key file" fresh_key_files fresh2
# What an interrupted delete left (and no new key reused) is found by the check on both profiles
# (on the variant by reading CEnn/CBnn of every reference) and removed by its repair.
check "delete of gone3 interrupted after its key" interrupted_delete gone3
orphans_found() { t2 check >"$T/orphans.txt" 2>&1; [ $? = 1 ] && grep -q 'orphan-files' "$T/orphans.txt"; }
no_problem() { t2 check --json >"$T/check2.json" 2>&1 && python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["problems"] != 0)' "$T/check2.json"; }
check "check finds the files the interrupted deletes left" orphans_found
check "check --repair removes them" t2 check --repair --yes
check "check: no problem left" no_problem

# --- no secrets in any output ---
assert "share passwords never printed" bash -c "! grep -rqF -e '$DKEK_PW1' -e '$DKEK_PW2' -e '$DKEK_BAD' '$T'/*.log"

finish
