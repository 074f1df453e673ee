#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# schsm-tool PIN handling on the virtual card: a wrong PIN costs exactly one try, the last try
# is refused without --force, a blocked PIN is unblocked with the SO-PIN, PIN changes work.
. "$(dirname "$0")/lib_tool.sh" tool_pin "${1:-${SCHSM_BUILD:-build}}"
WRONG=000000
NEWPIN=13579246

# tries WHICH WANT: checks pin_tries / so_pin_tries from info --json
tries() {
    local got
    got=$(setsid -w "$TOOL" info --json </dev/null 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1") || got="error"
    if [ "$got" = "$2" ]; then ok "$1 is $2"; else OUT="got $got"; ko "$1 is $2"; fi
}

run 0 "init" "$TOOL" init --so-pin $SO --pin $PIN
tries pin_tries 3
tries so_pin_tries 15
run 0 "correct PIN verifies" "$TOOL" --pin $PIN verify-pin
tries pin_tries 3

# one wrong PIN costs exactly one try
run 1 "wrong PIN refused" "$TOOL" --pin $WRONG verify-pin
contains_ci "wrong PIN explained with tries left" "2"
tries pin_tries 2
run 1 "second wrong PIN" "$TOOL" --pin $WRONG verify-pin
tries pin_tries 1

# the last try is not spent without --force
run 1 "last try refused without --force" "$TOOL" --pin $WRONG verify-pin
contains_ci "refusal mentions --force" "force"
tries pin_tries 1
run 1 "keygen does not spend the last try either" "$TOOL" --pin $WRONG keygen --type ec:prime256v1 --label x
tries pin_tries 1
run 0 "correct PIN with --force on the last try" "$TOOL" --pin $PIN verify-pin --force
tries pin_tries 3

# block it
for i in 1 2; do run 1 "wrong PIN $i" "$TOOL" --pin $WRONG verify-pin; done
run 1 "wrong PIN with --force blocks" "$TOOL" --pin $WRONG verify-pin --force
tries pin_tries 0
run 1 "correct PIN refused when blocked" "$TOOL" --pin $PIN verify-pin
contains_ci "blocked message points to unblock-pin" "unblock"
run 1 "unblock with a wrong SO-PIN" "$TOOL" unblock-pin --so-pin 0000000000000000
tries so_pin_tries 14
tries pin_tries 0
run 0 "unblock-pin with the SO-PIN" "$TOOL" unblock-pin --so-pin $SO
tries pin_tries 3
run 0 "old PIN works after unblock" "$TOOL" --pin $PIN verify-pin

# unblock with a new PIN
for i in 1 2; do run 1 "wrong PIN $i" "$TOOL" --pin $WRONG verify-pin; done
run 0 "unblock-pin --new-pin" "$TOOL" unblock-pin --so-pin $SO --new-pin $NEWPIN
tries pin_tries 3
run 1 "old PIN no longer valid" "$TOOL" --pin $PIN verify-pin
run 0 "new PIN valid" "$TOOL" --pin $NEWPIN verify-pin

# change-pin
run 0 "change-pin" "$TOOL" --pin $NEWPIN change-pin --new-pin $PIN
run 0 "changed PIN valid" "$TOOL" --pin $PIN verify-pin
run 1 "change-pin with a wrong old PIN" "$TOOL" --pin $WRONG change-pin --new-pin $NEWPIN
tries pin_tries 2
run 2 "change-pin to a short PIN" "$TOOL" --pin $PIN change-pin --new-pin 123
run 2 "change-pin without a new PIN and no terminal" "$TOOL" --pin $PIN change-pin
run 0 "PIN still valid" "$TOOL" --pin $PIN verify-pin

# change-so-pin
run 0 "change-so-pin" "$TOOL" change-so-pin --so-pin $SO --new-so-pin 0102030405060708
run 1 "old SO-PIN no longer valid" "$TOOL" unblock-pin --so-pin $SO
run 0 "new SO-PIN valid" "$TOOL" unblock-pin --so-pin 0102030405060708
run 2 "change-so-pin with a malformed new SO-PIN" "$TOOL" change-so-pin --so-pin 0102030405060708 --new-so-pin xyz
run 0 "change-so-pin back" "$TOOL" change-so-pin --so-pin 0102030405060708 --new-so-pin $SO

finish
