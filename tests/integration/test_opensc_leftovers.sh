# SPDX-License-Identifier: Apache-2.0
# OpenSC's leftovers and the card check (issue 11, part 4), through pcscd with the virtual card:
# pkcs11-tool --delete-object, in either order (private key first, or public key first), leaves
# the key's public-key file CEnn behind. `schsm-tool check` must find those orphans (exit 1),
# `check --repair --yes` must remove them and nothing else, and afterwards `check` is clean and
# OpenSC's pkcs15-tool -D shows the same private keys as `schsm-tool list`.
. "$(dirname "$0")/lib.sh"

need_cmd pkcs11-tool pkcs15-tool python3
need "$TOOL"
[ -e "$PKCS11_MODULE" ] || skip "$PKCS11_MODULE missing (apt-get install opensc-pkcs11)"

pcsc_start 1
R=$(reader_name 0)
export SCHSM_READER="$R"
P11=(pkcs11-tool --module "$PKCS11_MODULE" --login --pin "$PIN")

check init "$TOOL" init --so-pin "$SO_PIN" --pin "$PIN" --yes
for k in 1:del-priv-first 2:del-pub-first 3:keeper; do
    check "gen-${k#*:}" "${P11[@]}" --keypairgen --key-type EC:prime256v1 --id "0${k%%:*}" --label "${k#*:}"
done
check keygen-tool "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label tool-key

check check-before "$TOOL" check --json
check_log_has check-before '"problems": 0'

# Order 1: private key, then public key. Order 2: public key, then private key.
check del1-priv "${P11[@]}" --delete-object --type privkey --id 01
# OpenSC builds the public-key object from the private key's description: once that is gone the
# public key cannot even be named any more, and its CE01 stays behind.
check_fail del1-pub "${P11[@]}" --delete-object --type pubkey --id 01
check del2-pub "${P11[@]}" --delete-object --type pubkey --id 02
check del2-priv "${P11[@]}" --delete-object --type privkey --id 02

# What OpenSC left: the check reports it (exit 1) and list shows it as orphan files.
check_fail check-leftovers "$TOOL" check
check check-leftovers-json sh -c '"$0" check --json; true' "$TOOL"
check leftovers-are-orphans python3 - "$T/check-leftovers-json.log" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
orph = [e for e in d["key_refs"] if "orphan-files" in e["findings"]]
print("orphans:", [(e["key_ref"], e["files"]) for e in orph])
# OpenSC left files of both deleted keys (CE01, CE02), and no key was among them
assert sorted(e["key_ref"] for e in orph) == [1, 2], orph
assert all(e["files"]["key"] is None for e in orph)
assert all(e["repairable"] for e in orph)
EOF
check list-shows-orphans "$TOOL" list
check_log_has list-shows-orphans 'orphan'

check repair "$TOOL" --pin "$PIN" check --repair --yes
check_log_has repair 'removed orphan file CE01'
check_log_has repair 'removed orphan file CE02'
check_log_lacks repair 'removed .*(CC0|C40[34]|CE0[34])'
check check-after "$TOOL" check --json
check_log_has check-after '"problems": 0'
check list-after "$TOOL" list --json
check list-after-keys python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
keys = sorted(o["label"] for o in d if o["type"] != "cert")
assert keys == ["keeper", "tool-key"], keys
assert not any("state" in o for o in d)' "$T/list-after.log"

# OpenSC agrees: the same private keys, and it still signs with the one it made.
check p15-dump pkcs15-tool -r "$R" -D
check p15-agrees python3 -c '
import re, sys
labels = sorted(re.findall(r"Private EC Key \[([^\]]+)\]", open(sys.argv[1]).read()))
assert labels == ["keeper", "tool-key"], labels' "$T/p15-dump.log"
printf 'after the repair\n' >"$T/data"
openssl dgst -sha256 -binary -out "$T/data.sha256" "$T/data"
check keeper-signs "${P11[@]}" --sign --mechanism ECDSA --id 03 -i "$T/data.sha256" -o "$T/sig"

finish
