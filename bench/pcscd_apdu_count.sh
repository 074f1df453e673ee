#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# APDU cost of a cold `openssl dgst -sign` with a card key, counted from pcscd's own APDU log
# (pcscd --foreground --debug --apdu), not from schsm's tracer. "Cold" = a new process, so
# nothing is cached: it opens the reader, selects the applet, finds the key, logs in and signs.
#
# Usage: bench/pcscd_apdu_count.sh [BUILD_DIR]     (default: ./build)
# Runs a private pcscd with vpcd and one virtual card (tests/integration/lib.sh), as root or as
# a user allowed to run pcscd. Prints the command measured and the counts.
#
# Measured (virtual card behind pcscd 1.9.9 + vpcd, ECDSA P-256, PIN from a file): 6 APDUs,
# the same as SCHSM_DEBUG=apdu counts: SELECT applet, ENUMERATE OBJECTS, READ C4xx (key
# description), VERIFY status probe, VERIFY PIN, SIGN.
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${SCHSM_BUILD:-$here/../build}}
export PCSCD_DEBUG=1
# shellcheck source=../tests/integration/lib.sh
. "$here/../tests/integration/lib.sh" "$build"

need "$TOOL" "$SCHSM_BUILD/lib/schsm.so"
need_cmd openssl
pcsc_start 1
R=$(reader_name 0)
export SCHSM_READER="$R"

"$TOOL" --reader "$R" init --so-pin "$SO_PIN" --pin "$PIN" --yes >"$T/init.log" 2>&1 ||
    { cat "$T/init.log"; echo "init failed"; exit 1; }
"$TOOL" --reader "$R" --pin "$PIN" keygen --type ec:prime256v1 --label bench >"$T/keygen.log" 2>&1 ||
    { cat "$T/keygen.log"; echo "keygen failed"; exit 1; }
# shellcheck disable=SC2086
openssl pkey $PROV -in "schsm:object=bench;type=public" -pubin -pubout -out "$T/bench.pub" \
    >"$T/pub.log" 2>&1 || { cat "$T/pub.log"; echo "cannot read the public key"; exit 1; }

printf 'pcscd APDU count benchmark\n' >"$T/data"
echo "$PIN" >"$T/pin"
chmod 600 "$T/pin"
URI="schsm:object=bench;type=private?pin-source=file:$T/pin"
CMD="openssl dgst -sha256 $PROV -sign '$URI' -out sig data"

count_since() {
    tail -n +"$(($1 + 1))" "$PCSCD_LOG" | grep -c ' APDU: '
}

# Let pcscd's own power-management traffic settle, then measure.
sleep 1
mark=$(wc -l <"$PCSCD_LOG")
# shellcheck disable=SC2086
SCHSM_DEBUG=apdu SCHSM_DEBUG_FILE="$T/trace" \
    openssl dgst -sha256 $PROV -sign "$URI" -out "$T/sig" "$T/data" >"$T/sign.log" 2>&1 ||
    { cat "$T/sign.log"; echo "sign failed"; exit 1; }
sleep 0.5
pcscd_count=$(count_since "$mark")
trace_count=$(grep -c '^apdu>' "$T/trace" 2>/dev/null || echo 0)

openssl dgst -sha256 -verify "$T/bench.pub" -signature "$T/sig" "$T/data" >"$T/verify.log" 2>&1 ||
    { cat "$T/verify.log"; echo "signature does not verify"; exit 1; }

echo "command (cold process, reader '$R', ECDSA P-256):"
echo "  $CMD"
echo "APDUs seen by pcscd (--apdu log): $pcscd_count"
echo "APDUs traced by schsm (SCHSM_DEBUG=apdu): $trace_count"
echo "APDU headers in pcscd's log:"
tail -n +"$((mark + 1))" "$PCSCD_LOG" | grep ' APDU: ' | awk '{print "  " $3, $4, $5, $6}'
pcsc_cleanup
rm -rf "$T"
