#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# PIN safety through OpenSSL: a wrong PIN costs exactly one try, the PIN never shows up in
# output, the last try is refused (right or wrong PIN) with a clear message, and after an
# unblock with the SO-PIN signing works again. PIN from URI, -passin, and pin-source.
. "$(dirname "$0")/lib.sh"
init_card
"$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label k >"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
"$TOOL" export-pubkey --label k --out "$T/k.pub" >>"$T/kg.log" 2>&1
echo data >"$T/data"
tries() { "$TOOL" info --json 2>/dev/null | sed -n 's/.*"pin_tries": *\([0-9-]*\).*/\1/p'; }
sign() { $OSSL dgst $PROV -sha256 -sign "$@" -out "$T/sig" "$T/data"; }
WRONG=111111

check "3 tries at start" test "$(tries)" = 3
check "sign with the right PIN (URI)" sign "schsm:object=k;type=private?pin-value=$PIN"
check "verify (default)" $OSSL dgst -provider default -sha256 -verify "$T/k.pub" -signature "$T/sig" "$T/data"
check "right PIN via -passin" sign "schsm:object=k;type=private" -passin "pass:$PIN"
echo "$PIN" >"$T/pinfile"
check "right PIN via pin-source file" sign "schsm:object=k;type=private?pin-source=file:$T/pinfile"
check "still 3 tries" test "$(tries)" = 3

# Provider configuration in openssl.cnf: reader, pin-source and debug.
cat >"$T/openssl.cnf" <<CNF
openssl_conf = init
[init]
providers = provs
[provs]
schsm = schsm_sect
default = default_sect
[schsm_sect]
module = $SCHSM_BUILD/lib/schsm.so
reader = sim:$STATE
pin-source = file:$T/pinfile
debug = apdu
activate = 1
[default_sect]
activate = 1
CNF
check "config reader + pin-source" env -u SCHSM_READER OPENSSL_CONF="$T/openssl.cnf" SCHSM_DEBUG_FILE="$T/cnf.trace" \
    $OSSL dgst -sha256 -sign "schsm:object=k;type=private" -out "$T/cnf.sig" "$T/data"
check "config signature verifies" $OSSL dgst -provider default -sha256 -verify "$T/k.pub" -signature "$T/cnf.sig" "$T/data"
check "config debug=apdu traced the SIGN" grep -q "^apdu> 80 68" "$T/cnf.trace"
check "provider parameters" bash -c "OPENSSL_CONF='$T/openssl.cnf' $OSSL list -providers | grep -A3 schsm | grep -q 'status: active'"

check_fail "wrong PIN (URI)" sign "schsm:object=k;type=private?pin-value=$WRONG"
check_log_has "wrong PIN (URI)" "PIN"
check_fail "wrong PIN not echoed" secret_echoed "schsm:object=k;type=private?pin-value=$WRONG" \
    "$(_logname "wrong PIN (URI)")" "$WRONG"
check "one try consumed" test "$(tries)" = 2
check_fail "wrong PIN (-passin)" sign "schsm:object=k;type=private" -passin "pass:$WRONG"
check "one more try consumed" test "$(tries)" = 1

check_fail "last try: right PIN refused" sign "schsm:object=k;type=private?pin-value=$PIN"
check_log_has "last try: right PIN refused" "one try|1 try|last"
check "no try spent on the refusal" test "$(tries)" = 1
check_fail "last try: wrong PIN refused" sign "schsm:object=k;type=private?pin-value=$WRONG"
check "card not blocked" test "$(tries)" = 1

check "unblock with the SO-PIN" "$TOOL" unblock-pin --so-pin "$SO_PIN"
check "tries restored" test "$(tries)" = 3
check "sign again" sign "schsm:object=k;type=private?pin-value=$PIN"
finish
