#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Key-reference files: written by pkey -out from a schsm: URI, loaded back by any command with
# schsm active, never holding key material; OpenSSL's own key files keep working next to them.
. "$(dirname "$0")/lib.sh"
init_card
need "$TOOL"

"$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label web >"$T/kg1.log" 2>&1 || { cat "$T/kg1.log"; exit 1; }
"$TOOL" --pin "$PIN" keygen --type rsa:2048 --label rsa1 >"$T/kg2.log" 2>&1 || { cat "$T/kg2.log"; exit 1; }
"$TOOL" export-pubkey --label web --out "$T/web.pub" >/dev/null 2>&1
"$TOOL" export-pubkey --label rsa1 --out "$T/rsa1.pub" >/dev/null 2>&1
head -c 3000 /dev/urandom >"$T/data"

for k in web rsa1; do
    check "$k: write reference" $OSSL pkey $PROV -in "schsm:object=$k;type=private" -passin "pass:$PIN" \
        -out "$T/$k.ref" </dev/null
    check "$k: PEM type" grep -q "^-----BEGIN SCHSM KEY REFERENCE-----" "$T/$k.ref"
    check_fail "$k: no PRIVATE KEY block" grep -q "PRIVATE KEY" "$T/$k.ref"
    check "$k: body holds the URI" sh -c "$OSSL asn1parse -in '$T/$k.ref' | grep -q 'UTF8STRING *:schsm:.*object=$k.*type=private'"
    check_fail "$k: body holds no PIN" grep -q "$PIN" "$T/$k.ref"
    check "$k: pubout from the reference" $OSSL pkey $PROV -in "$T/$k.ref" -passin "pass:$PIN" -pubout -out "$T/$k.ref.pub" </dev/null
    check "$k: same public key" cmp "$T/$k.ref.pub" "$T/$k.pub"
    check "$k: sign with the reference" $OSSL dgst $PROV -sha256 -sign "$T/$k.ref" -passin "pass:$PIN" \
        -out "$T/$k.sig" "$T/data" </dev/null
    check "$k: verify with the default provider" $OSSL dgst -sha256 -verify "$T/$k.pub" -signature "$T/$k.sig" "$T/data"
    check "$k: provider order reversed" $OSSL pkey $PROV_REV -in "$T/$k.ref" -passin "pass:$PIN" -pubout -out "$T/$k.rev.pub" </dev/null
    check "$k: reversed order same key" cmp "$T/$k.rev.pub" "$T/$k.pub"
done

# Round trip of the reference itself, and the DER form.
check "re-encode a loaded reference" $OSSL pkey $PROV -in "$T/web.ref" -passin "pass:$PIN" -out "$T/web2.ref" </dev/null
check "re-encoded reference is identical" cmp "$T/web.ref" "$T/web2.ref"
check "DER reference" $OSSL pkey $PROV -in "$T/web.ref" -passin "pass:$PIN" -outform DER -out "$T/web.der" </dev/null
check "DER reference loads" $OSSL pkey $PROV -inform DER -in "$T/web.der" -passin "pass:$PIN" -pubout -out "$T/web.der.pub" </dev/null
check "DER reference same key" cmp "$T/web.der.pub" "$T/web.pub"
check "text from a reference" $OSSL pkey $PROV -in "$T/web.ref" -passin "pass:$PIN" -text -noout </dev/null
check_log_has "text from a reference" "URI: schsm:"

# OpenSSL's own files still load while schsm is active (its decoders sit next to ours).
$OSSL genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/soft.pem" 2>/dev/null
$OSSL pkey -in "$T/soft.pem" -pubout -out "$T/soft.pub" 2>/dev/null
check "software PEM key loads with schsm active" $OSSL pkey $PROV -in "$T/soft.pem" -pubout -out "$T/soft2.pub"
check "software key unchanged" cmp "$T/soft.pub" "$T/soft2.pub"
check "software key signs with schsm active" $OSSL dgst $PROV -sha256 -sign "$T/soft.pem" -out "$T/soft.sig" "$T/data"
check "software signature verifies" $OSSL dgst -sha256 -verify "$T/soft.pub" -signature "$T/soft.sig" "$T/data"
$OSSL pkey -in "$T/soft.pem" -outform DER -out "$T/soft.der" 2>/dev/null
check "software DER key loads with schsm active" $OSSL pkey $PROV -inform DER -in "$T/soft.der" -pubout -out "$T/soft3.pub"
check "software DER key unchanged" cmp "$T/soft.pub" "$T/soft3.pub"
check "public PEM loads with schsm active" $OSSL pkey $PROV -pubin -in "$T/web.pub" -noout

# A broken reference is refused clearly; a deleted key is reported, never replaced by another.
sed 's/^[A-Za-z0-9+\/]\{10\}/AAAAAAAAAA/' "$T/web.ref" >"$T/bad.ref"
check_fail "corrupt reference refused" $OSSL pkey $PROV -in "$T/bad.ref" -passin "pass:$PIN" -noout </dev/null
check "delete the key" "$TOOL" --pin "$PIN" delete --label web --yes
# The file records the key reference and public key, so loading it reads no directory; the first
# signature finds the key gone and says so, and no signature comes out.
rm -f "$T/gone.sig"
check_fail "reference to a deleted key" $OSSL dgst $PROV -sha256 -sign "$T/web.ref" -passin "pass:$PIN" \
    -out "$T/gone.sig" "$T/data" </dev/null
check_log_has "reference to a deleted key" "no longer on the card|key changed|deleted"
check "no signature from a deleted key" test ! -s "$T/gone.sig"
# Another key made under the same label at the same reference is never used through the old file.
check "a new key under the same label" "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label web
check_fail "reference to a replaced key" $OSSL dgst $PROV -sha256 -sign "$T/web.ref" -passin "pass:$PIN" \
    -out "$T/gone.sig" "$T/data" </dev/null
check_log_has "reference to a replaced key" "changed|load it again"
check "no signature from a replaced key" test ! -s "$T/gone.sig"

finish
