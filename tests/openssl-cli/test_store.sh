#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The schsm: OSSL_STORE loader driven by openssl storeutl/pkey/x509: listing, search by alias,
# public keys, certificates, token/serial matching and the errors for missing objects and bad URIs.
. "$(dirname "$0")/lib.sh"
init_card
need "$TOOL"

"$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label k1 >"$T/kg1.log" 2>&1 || { cat "$T/kg1.log"; exit 1; }
"$TOOL" --pin "$PIN" keygen --type rsa:2048 --label k2 --id c0ffee >"$T/kg2.log" 2>&1 || { cat "$T/kg2.log"; exit 1; }
"$TOOL" export-pubkey --label k1 --out "$T/k1.tool.pub" >/dev/null 2>&1
"$TOOL" export-pubkey --label k2 --out "$T/k2.tool.pub" >/dev/null 2>&1
SERIAL=$("$TOOL" info 2>/dev/null | sed -n 's/^ *[Ss]erial[^:]*: *\([A-Z0-9]*\).*/\1/p' | head -1)

# Listing: 2 keys, their 2 public keys, no certificates yet. A listing needs no PIN.
check "storeutl lists everything" $OSSL storeutl $PROV 'schsm:' </dev/null
check_log_has "storeutl lists everything" "Total found: 4"
check_log_has "storeutl lists everything" "BEGIN SCHSM KEY REFERENCE"
check_log_has "storeutl lists everything" "BEGIN PUBLIC KEY"
check "storeutl public keys" $OSSL storeutl $PROV 'schsm:type=public' </dev/null
check_log_has "storeutl public keys" "Total found: 2"
check_fail "public listing has no key references" grep -q "SCHSM KEY REFERENCE" "$T/storeutl_public_keys.log"
check "storeutl -keys (private keys only)" $OSSL storeutl $PROV -keys 'schsm:' </dev/null
check_log_has "storeutl -keys (private keys only)" "Total found: 2"
check "storeutl -keys" $OSSL storeutl $PROV -keys 'schsm:type=private' </dev/null
check_log_has "storeutl -keys" "Total found: 2"
check "storeutl -certs (none yet)" $OSSL storeutl $PROV -certs 'schsm:' </dev/null
check_log_has "storeutl -certs (none yet)" "Total found: 0"
check "storeutl provider order reversed" $OSSL storeutl $PROV_REV 'schsm:' </dev/null
check_log_has "storeutl provider order reversed" "Total found: 4"

# Search by alias (label) and by id.
check "storeutl -alias k2" $OSSL storeutl $PROV -passin "pass:$PIN" -alias k2 'schsm:' </dev/null
check_log_has "storeutl -alias k2" "Total found: 2"
check "storeutl by id" $OSSL storeutl $PROV -noout 'schsm:id=%c0%ff%ee;type=public' </dev/null
check_log_has "storeutl by id" "Total found: 1"

# Public keys: pkey -pubout from the private and from the public object match the card's key.
check "pkey -pubout (private URI)" $OSSL pkey $PROV -in "schsm:object=k1;type=private?pin-value=$PIN" \
    -pubout -out "$T/k1.pub"
check "pubout equals the tool's export" cmp "$T/k1.pub" "$T/k1.tool.pub"
check "pkey -pubin type=public" $OSSL pkey $PROV -pubin -in 'schsm:object=k2;type=public' -out "$T/k2.pub" </dev/null
check "RSA public key equals the tool's export" cmp "$T/k2.pub" "$T/k2.tool.pub"
check "pkey -pubout with -passin" $OSSL pkey $PROV -in 'schsm:object=k2;type=private' -passin "pass:$PIN" -pubout -out "$T/k2b.pub" </dev/null
check "RSA pubout equals the tool's export" cmp "$T/k2b.pub" "$T/k2.tool.pub"

# Text: the URI and the public parameters, no private numbers.
check "pkey -text" $OSSL pkey $PROV -in "schsm:object=k1?pin-value=$PIN" -text -noout
check_log_has "pkey -text" "URI: schsm:.*object=k1"
check_log_has "pkey -text" "prime256v1|P-256"
check "pkey -text RSA" $OSSL pkey $PROV -in "schsm:id=%C0%FF%EE?pin-value=$PIN" -text -noout
check_log_has "pkey -text RSA" "Modulus"
check_fail "no private numbers in -text" grep -Eq "^priv:|privateExponent" "$T/pkey_-text.log"

# token= and serial=
if [ -n "$SERIAL" ]; then
    check "serial matches" $OSSL storeutl $PROV -passin "pass:$PIN" -noout "schsm:serial=$SERIAL;object=k1" </dev/null
    check_log_has "serial matches" "Total found: 2"
fi
check_fail "wrong serial" $OSSL storeutl $PROV -noout 'schsm:serial=XX0000000;object=k1' </dev/null
check_log_has "wrong serial" "no token matching serial=XX0000000 in reader"
check_fail "wrong token label" $OSSL storeutl $PROV -noout 'schsm:token=nosuchtoken' </dev/null
check_log_has "wrong token label" "no token matching token=nosuchtoken"

# Missing objects name the reader and the token searched; bad URIs say what is wrong.
check_fail "missing key" $OSSL pkey $PROV -in 'schsm:object=nope;type=private?pin-value=1' -noout
check_log_has "missing key" "no key matching 'object=nope;type=private' on token '.*' \(serial .*\) in reader 'sim:"
check_fail "missing object" $OSSL storeutl $PROV 'schsm:object=nope' </dev/null
check_log_has "missing object" "no key or certificate matching 'object=nope'"
check_fail "unknown attribute" $OSSL storeutl $PROV 'schsm:label=k1' </dev/null
check_log_has "unknown attribute" "unknown path attribute 'label'"
check_fail "pin-value is never echoed" $OSSL storeutl $PROV 'schsm:object=k1?pin-value=12%zz9876' </dev/null
check_fail "no PIN in the error" secret_echoed 'schsm:object=k1?pin-value=12%zz9876' \
    "$(_logname "pin-value is never echoed")" 9876

# Certificates: a self-signed certificate made with the card key, stored on the card.
if $OSSL req $PROV -x509 -new -key "schsm:object=k1;type=private?pin-value=$PIN" -subj /CN=k1 -days 2 \
       -out "$T/k1.crt" >"$T/req.log" 2>&1 \
   && "$TOOL" --pin "$PIN" import-cert --label k1 --in "$T/k1.crt" >"$T/import.log" 2>&1; then
    check "storeutl -certs" $OSSL storeutl $PROV -certs 'schsm:' </dev/null
    check_log_has "storeutl -certs" "Total found: 1"
    check "x509 from the card" $OSSL x509 $PROV -in 'schsm:object=k1;type=cert' -noout -subject </dev/null
    check_log_has "x509 from the card" "CN ?= ?k1"
    check "listing now has 5 objects" $OSSL storeutl $PROV -noout 'schsm:' </dev/null
    check_log_has "listing now has 5 objects" "Total found: 5"
else
    echo "note: certificate part not run (req or import-cert failed):"
    tail -3 "$T/req.log" "$T/import.log" 2>/dev/null | sed 's/^/     | /'
    FAILED=$((FAILED + 1))
fi

finish
