# SPDX-License-Identifier: Apache-2.0
# Key backup files move both ways between schsm-tool and OpenSC's sc-hsm-tool: DKEK share files
# (sheet 12.7) and wrapped-key files (12.6), on a virtual card behind pcscd.
. "$(dirname "$0")/lib.sh"
need_cmd sc-hsm-tool

pcsc_start 1
R=$(reader_name 0)
export TOOL_PIN=$PIN OURPW=our-share-pw THEIRPW=their-share-pw
st() { "$TOOL" --reader "$R" --pin-source env:TOOL_PIN "$@"; }

check init st init --so-pin "$SO_PIN" --yes --dkek-shares 2
check ours-create st create-dkek-share --out "$T/ours.dkek" --password-source env:OURPW
check theirs-create sc-hsm-tool -r "$R" --create-dkek-share "$T/theirs.dkek" --password "$THEIRPW"
check theirs-import-ours sc-hsm-tool -r "$R" --import-dkek-share "$T/ours.dkek" --password "$OURPW"
check_log_has theirs-import-ours '1 share\(s\) still missing|missing'
check ours-import-theirs st import-dkek-share --in "$T/theirs.dkek" --password-source env:THEIRPW
check ours-status st dkek-status
check theirs-status sc-hsm-tool -r "$R"
# Both tools report the same key check value for the combined DKEK.
kcv=$(grep -Eio 'kcv[^0-9a-f]*([0-9a-f]{2}[: ]?){8}' "$T/ours-status.log" | grep -Eio '([0-9a-f]{2}[: ]?){8}$' | tr -d ': ' | tr a-f A-F | head -1)
check kcv-seen test -n "$kcv"
check_log_has theirs-status "$(echo "$kcv" | sed 's/../&[: ]?/g')"

check keygen st keygen --type ec:prime256v1 --label k1
check pub1 st export-pubkey --label k1 --out "$T/k1.pub"
check ours-wrap st wrap-key --label k1 --out "$T/k1.wrap"
check theirs-unwrap sc-hsm-tool -r "$R" --unwrap-key "$T/k1.wrap" --key-reference 9 --pin "$PIN"
check theirs-wrap sc-hsm-tool -r "$R" --wrap-key "$T/k9.wrap" --key-reference 9 --pin "$PIN"
check ours-unwrap st unwrap-key --in "$T/k9.wrap" --label k1-back --id 99
check list st list
check_log_has list 'k1-back'

# The key that went schsm -> OpenSC -> schsm still is k1: its signatures verify with k1's public key.
echo "backup round trip" > "$T/data"
check sign openssl dgst -sha256 $PROV -sign "schsm:object=k1-back;type=private?pin-source=env:TOOL_PIN" \
    -out "$T/data.sig" "$T/data"
check verify openssl dgst -sha256 -verify "$T/k1.pub" -signature "$T/data.sig" "$T/data"
finish
