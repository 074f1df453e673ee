#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# APDU counts on both virtual-card profiles (issue 8): cardcontact (CardContact's behaviour) and
# variant (another SmartCard-HSM implementation: files not listed by ENUMERATE, 9000 at end of
# file, KCV hidden until the PIN, ...). A fresh card per profile with two keys (EC P-256 "k1",
# RSA-2048 "k2"); counted with the tracer (SCHSM_DEBUG=apdu), which is deterministic.
#
# Usage: bench/profile_apdu_count.sh [BUILD_DIR]     (default: ./build)
set -eu
B=$(cd "${1:-build}" && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OPENSSL_CONF=/dev/null
P="-provider-path $B/lib -provider schsm -provider default"
echo data >"$W/d"
count() {   # count LABEL CMD...: runs CMD traced, prints the number of command APDUs and their headers
    local label=$1; shift
    rm -f "$W/tr"
    SCHSM_DEBUG=apdu SCHSM_DEBUG_FILE="$W/tr" "$@" >/dev/null 2>&1
    printf '  %-28s %2d  %s\n' "$label" "$(grep -c '^apdu>' "$W/tr")" \
        "$(grep '^apdu>' "$W/tr" | cut -d' ' -f2-5 | paste -sd, | sed 's/,/, /g')"
}
for profile in cardcontact variant; do
    S="$W/$profile.state"
    export SCHSM_SIM_PROFILE=$profile SCHSM_READER="sim:$S"
    "$B/bin/schsm-tool" init --so-pin 3537363231383830 --pin 648219 --yes >/dev/null
    "$B/bin/schsm-tool" --pin 648219 keygen --type ec:prime256v1 --label k1 >/dev/null
    "$B/bin/schsm-tool" --pin 648219 keygen --type rsa:2048 --label k2 >/dev/null
    echo "profile $profile (2 keys):"
    # shellcheck disable=SC2086
    count "cold sign EC (k1)" openssl dgst $P -sha256 -sign 'schsm:object=k1;type=private?pin-value=648219' \
        -out "$W/s" "$W/d"
    # shellcheck disable=SC2086
    count "cold sign RSA (k2)" openssl dgst $P -sha256 -sign 'schsm:object=k2;type=private?pin-value=648219' \
        -out "$W/s" "$W/d"
    count "schsm-tool list" "$B/bin/schsm-tool" list
    count "schsm-tool list --long" "$B/bin/schsm-tool" list --long
    # shellcheck disable=SC2086
    openssl pkey $P -in 'schsm:object=k1;type=private' -passin pass:648219 -out "$W/k1.key" </dev/null
    # shellcheck disable=SC2086
    count "cold sign, key-ref file (k1)" openssl dgst $P -sha256 -sign "$W/k1.key" -passin pass:648219 \
        -out "$W/s" "$W/d"
    # shellcheck disable=SC2086
    count "pkey -pubin -pubout (k1)" openssl pkey $P -pubin -in 'schsm:object=k1;type=public' -pubout -out "$W/p"
done
