#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ECDH with card keys: pkeyutl -derive with the card key and a software peer gives the same secret
# as the default provider computes on the other side, for several curves.
. "$(dirname "$0")/lib.sh"
init_card
DEF="-provider default"
for c in prime256v1 secp384r1 secp521r1 brainpoolP256r1; do
    "$TOOL" --pin "$PIN" keygen --type "ec:$c" --label "dh-$c" >>"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
    "$TOOL" export-pubkey --label "dh-$c" --out "$T/$c.card.pub" >>"$T/kg.log" 2>&1
    $OSSL genpkey $DEF -algorithm EC -pkeyopt "group:$c" -out "$T/$c.peer.key" 2>>"$T/kg.log"
    $OSSL pkey $DEF -in "$T/$c.peer.key" -pubout -out "$T/$c.peer.pub"
    check "$c: derive with the card key" $OSSL pkeyutl $PROV -derive \
        -inkey "schsm:object=dh-$c;type=private?pin-value=$PIN" -peerkey "$T/$c.peer.pub" -out "$T/$c.card.secret"
    check "$c: derive on the other side (default)" $OSSL pkeyutl $DEF -derive -inkey "$T/$c.peer.key" \
        -peerkey "$T/$c.card.pub" -out "$T/$c.peer.secret"
    check "$c: secrets are equal" cmp "$T/$c.card.secret" "$T/$c.peer.secret"
    check "$c: secret is not empty" test -s "$T/$c.card.secret"
done
check "reversed order derive" $OSSL pkeyutl $PROV_REV -derive \
    -inkey "schsm:object=dh-prime256v1;type=private?pin-value=$PIN" -peerkey "$T/prime256v1.peer.pub" -out "$T/rev.secret"
check "reversed order secret equal" cmp "$T/rev.secret" "$T/prime256v1.peer.secret"
check_fail "peer on another curve refused" $OSSL pkeyutl $PROV -derive \
    -inkey "schsm:object=dh-prime256v1;type=private?pin-value=$PIN" -peerkey "$T/secp384r1.peer.pub" -out "$T/bad.secret"
finish
