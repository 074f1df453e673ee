# SPDX-License-Identifier: Apache-2.0
# Pools through pcscd with three virtual cards: cards 0 and 1 hold the same key (DKEK wrap/unwrap);
# card 2 holds ANOTHER key under the same label and ID. A threaded signer with pool=yes:
#  - spreads its signatures over cards 0 and 1, never card 2 (the public key decides membership),
#    and every signature verifies with card 0's public key;
#  - when card 1 has another PIN, card 1 costs exactly one PIN try (never retried) and card 0 serves
#    everything; card 0's PIN counter is untouched.
# `schsm-tool pool status` through pcscd reports the pool, the impostor and a missing key.
. "$(dirname "$0")/lib.sh"
need "$TOOL" "$SCHSM_BUILD/lib/schsm.so"
need_cmd openssl cc
export TOOL_PIN=$PIN SHAREPW=pool-share-pw OTHER_PIN=135791
export SCHSM_POOL_LOCK_DIR="$T/locks"

st() { local i=$1; shift; "$TOOL" --reader "sim:$T/card$i.state" --pin-source env:TOOL_PIN "$@"; }
setup() {
    local i
    for i in 0 1 2; do st "$i" init --so-pin "$SO_PIN" --yes --dkek-shares 1 || return 1; done
    st 0 create-dkek-share --out "$T/dkek.pbe" --password-source env:SHAREPW || return 1
    for i in 0 1; do st "$i" import-dkek-share --in "$T/dkek.pbe" --password-source env:SHAREPW || return 1; done
    st 0 keygen --type ec:prime256v1 --label pk --id 5a || return 1
    st 0 keygen --type ec:prime256v1 --label only-on-0 || return 1
    st 0 wrap-key --label pk --out "$T/pk.wrap" || return 1
    st 1 unwrap-key --in "$T/pk.wrap" || return 1
    st 0 wrap-key --label only-on-0 --out "$T/o.wrap" || return 1
    st 1 unwrap-key --in "$T/o.wrap" || return 1
    st 1 delete --label only-on-0 --yes || return 1
    # The impostor: same label and ID, another key.
    st 2 keygen --type ec:prime256v1 --label pk --id 5a || return 1
    st 0 export-pubkey --label pk --out "$T/pk.pub" || return 1
    SERIAL0=$("$TOOL" --reader "sim:$T/card0.state" info --json | sed -n 's/.*"serial": *"\([^"]*\)".*/\1/p' | head -n 1)
    [ -n "$SERIAL0" ]
}
check "three cards: pk on 0 and 1, an impostor pk on 2" setup >"$T/setup.log" 2>&1 || { cat "$T/setup.log"; finish; }
SERIAL0=$("$TOOL" --reader "sim:$T/card0.state" info --json | sed -n 's/.*"serial": *"\([^"]*\)".*/\1/p' | head -n 1)

signs() { grep -c '^apdu> 80 68' "$T/sim$1.trace" 2>/dev/null || true; }
tries() { "$TOOL" --reader "$(reader_name "$1")" info --json | sed -n 's/.*"pin_tries": *\([0-9a-z]*\).*/\1/p' | head -n 1; }

export SCHSM_SIM_DEBUG=apdu
pcsc_start 3
build_signloop
URI="schsm:serial=$SERIAL0;object=pk;type=private;pool=yes?pin-value=$PIN"

check "pool status --json" "$TOOL" pool status --json
check_log_has "pool status --json" '"label": "pk"'
# The readers listed as holders of pk (between its label and its "missing" list).
pk_holders() { awk '/"label": "pk"/,/"missing"/' "$(_logname "pool status --json")" | grep '"reader"'; }
check "pool status: pk is on exactly 2 cards" test "$(pk_holders | wc -l)" -eq 2
impostor_listed() { pk_holders | grep -qF "$(reader_name 2)"; }
check_fail "pool status: the impostor's card is not a holder" impostor_listed
check "pool status" "$TOOL" pool status
check_log_has "pool status" "'pk' +ec 256 bits +id 5a .* on 2 cards"
check_log_lacks "pool status" "'only-on-0'"
check "pool status without a sub-command is a usage error" sh -c "'$TOOL' pool; test \$? -eq 2"

b0=$(signs 0); b1=$(signs 1); b2=$(signs 2)
check "40 signatures in 4 threads with pool=yes, every one verified" \
    "$T/signloop" "$SCHSM_BUILD/lib" "$URI" "$T/pk.pub" 40 4
check "card 0 signed" test "$(signs 0)" -gt "$b0"
check "card 1 signed" test "$(signs 1)" -gt "$b1"
check "card 2 (another key under the same name) never signed" test "$(signs 2)" -eq "$b2"

# Card 1 gets another PIN: the pool must never retry it there, and never try it elsewhere.
sim_stop 1; wait_no_card 1
check "card 1 gets another PIN" "$TOOL" --reader "sim:$T/card1.state" --pin-source env:TOOL_PIN change-pin \
    --new-pin "$OTHER_PIN"
sim_start 1; wait_card 1
t0=$(tries 0); t1=$(tries 1)
b0=$(signs 0); b1=$(signs 1)
check "40 signatures in 4 threads, card 1's PIN is wrong: all made by card 0 and verified" \
    "$T/signloop" "$SCHSM_BUILD/lib" "$URI" "$T/pk.pub" 40 4
check "card 0 signed them" test "$(signs 0)" -ge $((b0 + 40))
check "card 1 signed none" test "$(signs 1)" -eq "$b1"
check "card 1 lost at most one PIN try ($t1 -> $(tries 1))" test "$(tries 1)" -ge $((t1 - 1))
check "card 0's PIN counter is untouched ($t0)" test "$(tries 0)" = "$t0"
finish
