#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The reason reaches the user: a public key that matched while the application asked for a
# private key (suggest -pubin), and a key-reference file used without any PIN (asked once; the
# message says how to give one, not OpenSSL's generic "unsupported").
. "$(dirname "$0")/lib.sh"
init_card
need "$TOOL"

"$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label k1 >"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
printf 'data\n' >"$T/data"

# pkey -pubout without -pubin asks the store for a private key.
check_fail "pubout without -pubin" $OSSL pkey $PROV -in "schsm:object=k1;type=public" -pubout
check_log_has "pubout without -pubin" "a public key matches 'object=k1;type=public', but the application asked for a private key"
check_log_has "pubout without -pubin" 'give -pubin'
check_log_lacks "pubout without -pubin" 'no key matching'
check "with -pubin it works" $OSSL pkey $PROV -pubin -in "schsm:object=k1;type=public" -pubout -out "$T/k1.pub"
check_fail "a private key asked for as public" $OSSL pkey $PROV -pubin -in "schsm:object=k1;type=private" -pubout
check_log_has "a private key asked for as public" "a private key matches 'object=k1;type=private', but the application asked for a public key"
check_fail "really absent" $OSSL pkey $PROV -in "schsm:object=nothere;type=public" -pubout
check_log_has "really absent" "no key matching 'object=nothere;type=public'"

# A key-reference file with no PIN anywhere (no terminal, no -passin, no pin-source).
check "write the reference" $OSSL pkey $PROV -in "schsm:object=k1;type=private" -passin "pass:$PIN" \
    -out "$T/web.key" </dev/null
check_fail "sign without a PIN" setsid -w $OSSL dgst $PROV -sha256 -sign "$T/web.key" -out "$T/s" "$T/data" </dev/null
check_log_has "sign without a PIN" "key 'k1': the user PIN is needed for this key and none was given: give it with -passin"
check_log_has "sign without a PIN" 'pin-source'
check_log_lacks "sign without a PIN" 'ossl_store_handle_load_result:unsupported'
check "the reason is said once" test "$(grep -c 'the user PIN is needed' "$T/sign_without_a_PIN.log")" = 1
check "asked at most once" test "$(grep -o 'Enter pass phrase' "$T/sign_without_a_PIN.log" | wc -l)" -le 1
check "no wrong PIN counted" sh -c "'$TOOL' info | grep -Eq 'User PIN: *3 tries left'"
# A wrong PIN keeps its own message (and is not called "none given").
check_fail "sign with a wrong PIN" $OSSL dgst $PROV -sha256 -sign "$T/web.key" -passin pass:000000 \
    -out "$T/s" "$T/data" </dev/null
check_log_has "sign with a wrong PIN" 'wrong PIN'
check_log_lacks "sign with a wrong PIN" 'none was given'
check "sign with the PIN" $OSSL dgst $PROV -sha256 -sign "$T/web.key" -passin "pass:$PIN" -out "$T/s" "$T/data" </dev/null
check "signature verifies" $OSSL dgst -sha256 -verify "$T/k1.pub" -signature "$T/s" "$T/data"

finish
