#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# schsm-tool check and the ordering of multi-APDU changes (issues 9 and 11): delete removes every
# file of a key and nothing else; an interrupted keygen or delete leaves a key that list and check
# show as incomplete, and the same command run again cleans up; check --repair describes a key
# without description and never deletes a key.
. "$(dirname "$0")/lib_tool.sh" tool_check "${1:-}"
SIM="$BUILD/bin/schsm-sim"
[ -x "$SIM" ] || { echo "skip: $SIM is not built"; exit 77; }
STATE=${SCHSM_READER#sim:}

. "$(dirname "$0")/../lib/pull.sh"
files() { "$SIM" --state "$STATE" --dump | sed -n 's/^  \(C[0-9A-F]\{3\}\) .*/\1/p' | tr '\n' ' '; }

run 0 "check --help" "$TOOL" check --help
contains "help names --repair" "--repair"
run 0 "init" "$TOOL" init --so-pin $SO --pin $PIN
run 0 "check on an empty card" "$TOOL" check --json
expect "no key references, memory reported" 'd["key_refs"] == [] and d["problems"] == 0 and d["free_memory"] > 0'

run 0 "keygen k1" "$TOOL" --pin $PIN keygen --type ec:prime256v1 --label k1
run 0 "keygen k2" "$TOOL" --pin $PIN keygen --type ec:prime256v1 --label k2
# A certificate for k1 (self-made with an outside key, forced onto k1's public key): CB01 keeps the request.
run 0 "export k1" "$TOOL" export-pubkey --label k1 --out "$TMP/k1.pub"
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/ca.key" -subj /CN=ca \
    -days 2 -out "$TMP/ca.pem" 2>/dev/null
openssl x509 -new -force_pubkey "$TMP/k1.pub" -subj /CN=k1 -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -days 2 \
    -outform DER -out "$TMP/k1.der" 2>/dev/null
run 0 "import-cert k1" "$TOOL" --pin $PIN import-cert --label k1 --in "$TMP/k1.der"
run 0 "check: all well" "$TOOL" check --json
expect "two complete keys, k1 with certificate and kept request" \
    'd["problems"] == 0 and [e["key_ref"] for e in d["key_refs"]] == [1, 2] and d["key_refs"][0]["certificate"] and d["key_refs"][0]["files"]["request"] == "CB01"'
OUT=$(files)
contains "k1's four files before delete" "CB01 C401 CE01.*CE02\|C401.*CB01"
run 0 "delete k1" "$TOOL" --pin $PIN delete --yes --label k1
OUT="$(files) | $("$SIM" --state "$STATE" --dump | grep -c '^  CC01' || true)"
lacks "C401 gone" "C401"
lacks "CE01 gone" "CE01"
lacks "CB01 gone" "CB01"
contains "CC01 gone" "| 0$"
contains "k2's files kept" "C402 .*CE02\|CE02.*C402"

# --- interrupted keygen: the key is there, its description not: incomplete, then cleaned by a rerun
n=$(apdu_index "$STATE" 1 "00 D7 C4" "$TOOL" --pin $PIN keygen --type ec:prime256v1 --label k3)
run 1 "keygen k3 with the card reset before the description is written" \
    env SCHSM_SIM_FAULT="$(pulled_from "$n")" "$TOOL" --pin $PIN keygen --type ec:prime256v1 --label k3
run 0 "list shows what is there" "$TOOL" list --json
expect "no key labelled k3, one incomplete key" \
    'not any(o["label"] == "k3" for o in d) and sum(1 for o in d if o.get("state") == "incomplete") == 1'
run 0 "keygen k3 again" "$TOOL" --pin $PIN keygen --type ec:prime256v1 --label k3
run 0 "check after the rerun" "$TOOL" check --json
expect "no incomplete key left" 'd["problems"] == 0 and len(d["key_refs"]) == 2'

# --- interrupted delete: description gone first, then the card is pulled: the key is incomplete
n=$(apdu_index "$STATE" 1 "00 E4" "$TOOL" --pin $PIN delete --yes --label k3)
run 1 "delete k3, card pulled after the description went" \
    env SCHSM_SIM_FAULT="$(pulled_from $((n + 1)))" "$TOOL" --pin $PIN delete --yes --label k3
run 0 "list marks the incomplete key" "$TOOL" list --json
expect "one incomplete key" 'sum(1 for o in d if o.get("state") == "incomplete") == 1'
run 1 "check reports it" "$TOOL" check
contains "as no-description" "no-description"
run 0 "delete k3 again removes the rest" "$TOOL" --pin $PIN delete --yes --label k3
contains "says so" "Removed 1 incomplete key reference"
run 0 "check: clean" "$TOOL" check --json
expect "only k2 left" 'd["problems"] == 0 and [e["label"] for e in d["key_refs"]] == ["k2"]'

# --- a key without description that no command of ours made: check --repair describes it
n=$(apdu_index "$STATE" 1 "00 D7 C4" "$TOOL" --pin $PIN keygen --type ec:prime256v1 --label k4)
run 1 "keygen k4 interrupted" env SCHSM_SIM_FAULT="$(pulled_from "$n")" "$TOOL" --pin $PIN keygen --type ec:prime256v1 --label k4
run 2 "check --repair without --yes and no terminal" "$TOOL" check --repair
# (keygen k4 run again would remove it: this is the case of a key some other program left)
run 0 "check --repair --yes" "$TOOL" --pin $PIN check --repair --yes
contains "described as recovered" 'described the key as "recovered-key-'
run 0 "check: clean after the repair" "$TOOL" check --json
expect "the key kept, with a description and OpenSC's ID" \
    'd["problems"] == 0 and len(d["key_refs"]) == 2 and [e["id"] == e["public_key_id"] for e in d["key_refs"] if e["label"].startswith("recovered-key-")] == [True]'
run 0 "the recovered key can be deleted by its label" "$TOOL" --pin $PIN delete --yes --label "$(python3 -c 'import json,sys; print([e["label"] for e in json.loads(sys.argv[1])["key_refs"] if e["label"].startswith("recovered-")][0])' "$OUT")"
run 0 "info: no PIN try lost" "$TOOL" info --json
expect "3 tries left" 'd["pin_tries"] == 3 or d.get("pin_verified")'
finish
