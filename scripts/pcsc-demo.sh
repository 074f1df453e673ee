#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The virtual SmartCard-HSM behind a real pcscd, used by OpenSC and by schsm:
#   ./scripts/pcsc-demo.sh          build if needed, run the demo, clean up
#   ./scripts/pcsc-demo.sh --keep   leave pcscd and the virtual card running until Enter is pressed
#   ./scripts/pcsc-demo.sh --help
# It starts a private pcscd (its own socket, never the system's /run/pcscd/pcscd.comm) with one
# vpcd reader, attaches `schsm-sim --vpcd` to it, and shows opensc-tool and pkcs15-tool seeing a
# SmartCard-HSM, schsm-tool initialising it and making a key, and OpenSSL signing with that key
# through pcscd. docs/virtual-card.md explains each step. Everything it starts is stopped (by PID)
# and its files removed when it ends, however it ends.
# As root on Debian 12 it installs the packages it needs (pcscd, vsmartcard-vpcd, opensc).
#
# The pcscd/vpcd plumbing is the test harness's (tests/integration/lib.sh): the same private
# pcscd (systemd-socket-activate, or unshare -m), port picking and reader.conf.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh

keep=0
. scripts/lib/args.sh
if script_flag --keep "$@"; then keep=1; fi

BUILD=${SCHSM_BUILD_DIR:-build}
step() { printf '\n==> %s\n' "$*"; }
show() { printf '$'; printf ' %q' "$@"; printf '\n'; "$@"; }

step "Checking Debian packages"
schsm_need_packages "${SCHSM_BUILD_PACKAGES[@]}" pcscd vsmartcard-vpcd opensc systemd util-linux

if [ ! -x "$BUILD/bin/schsm-sim" ] || [ ! -x "$BUILD/bin/schsm-tool" ] || [ ! -f "$BUILD/lib/schsm.so" ]; then
    step "Building schsm in $BUILD"
    { [ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD" >/dev/null; } &&
        cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null ||
        { echo "pcsc-demo: the build failed; run cmake --build $BUILD to see why" >&2; exit 1; }
fi

# The harness wants a build dir and a scratch dir; the scratch dir is ours and goes at the end.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/schsm-pcsc-demo.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
SCHSM_BUILD=$(cd "$BUILD" && pwd)
export SCHSM_BUILD SCHSM_SOURCE="$PWD" SCHSM_TEST_TMP="$WORK"
# shellcheck source=../tests/integration/lib.sh
. tests/integration/lib.sh
set -e          # (the harness sets only -u)
demo_cleanup() {
    pcsc_cleanup
    rm -rf "$WORK"
}
trap demo_cleanup EXIT

step "A private pcscd with one vpcd reader, and the virtual card in it"
pcsc_start 1
R=$(reader_name 0)
echo "pcscd (pid $PCSCD_PID) listens on $PCSCLITE_CSOCK_NAME; every command below finds it through"
echo "PCSCLITE_CSOCK_NAME. Its reader configuration ($T/reader.conf.d/vpcd-0):"
sed 's/^/    /' "$T/reader.conf.d/vpcd-0"
echo "schsm-sim (pid ${SIM_PID[0]}) serves the card in ${SIM_STATE[0]} on port $VPCD_PORT_BASE:"
echo "    $SIM --state ${SIM_STATE[0]} --vpcd --port $VPCD_PORT_BASE"

step "OpenSC sees a SmartCard-HSM"
show opensc-tool -l
show opensc-tool -r "$R" -n
show opensc-tool -r "$R" -a

step "schsm-tool initialises it and makes a key, through pcscd"
echo "(the vendor's example PINs: fine for the virtual card, never for a real one)"
show "$TOOL" --reader "$R" init --so-pin "$SO_PIN" --pin "$PIN" --label pcsc-demo --yes
show "$TOOL" --reader "$R" --pin "$PIN" keygen --type ec:prime256v1 --label web
show "$TOOL" --reader "$R" list

step "OpenSC reads what schsm-tool wrote (PKCS#15)"
show pkcs15-tool -r "$R" --list-keys
show pkcs15-tool -r "$R" --list-public-keys

step "OpenSSL signs with the card key through pcscd; the default provider verifies"
printf 'signed through pcscd\n' >"$T/data"
(umask 077; printf '%s\n' "$PIN" >"$T/pin")
show openssl dgst -provider-path "$SCHSM_BUILD/lib" -provider schsm -provider default -sha256 \
    -sign "schsm:reader=${R// /%20};object=web;type=private?pin-source=file:$T/pin" \
    -out "$T/data.sig" "$T/data"
show "$TOOL" --reader "$R" export-pubkey --label web --out "$T/web.pub.pem"
show openssl dgst -sha256 -verify "$T/web.pub.pem" -signature "$T/data.sig" "$T/data"

if [ "$keep" = 1 ]; then
    step "Running until you press Enter"
    echo "In another shell:  export PCSCLITE_CSOCK_NAME=$PCSCLITE_CSOCK_NAME"
    echo "then e.g.          opensc-tool -l;  $TOOL info"
    read -r _ || true
fi

step "Done: stopping schsm-sim and pcscd, removing $WORK"
