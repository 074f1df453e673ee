#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The schsm demo on the virtual SmartCard-HSM:
#   ./scripts/demo.sh          build if needed, then set up a fresh virtual card in $DEMO_DIR
#   ./scripts/demo.sh --installed   use the installed schsm (schsm-tool on PATH, the module in
#                                   OpenSSL's MODULESDIR: no -provider-path), build nothing
#   ./scripts/demo.sh --help
# It initialises the card, generates an EC P-256 and an RSA-2048 key on it and lists them.
# As root on Debian 12 it installs the packages it needs; otherwise it prints the apt-get line.
#
# Environment: DEMO_DIR (default build/demo) holds card.state, the virtual card;
#              SCHSM_BUILD_DIR (default build) is the CMake build directory.
#
# Structure: one function per step, called in order from main(). To extend the demo, add a
# demo_* function and call it from main().
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
. scripts/lib/args.sh

BUILD=${SCHSM_BUILD_DIR:-build}
DEMO_DIR=${DEMO_DIR:-$PWD/$BUILD/demo}
CARD_STATE="$DEMO_DIR/card.state"
DEMO_READER="sim:$CARD_STATE"
# Demo-only secrets: the vendor's well-known example values. Never use them on a real card.
DEMO_SO_PIN=3537363231383830
DEMO_PIN=648219
DEMO_PIN_FILE="$DEMO_DIR/pin.txt"

demo_step() { printf '\n==> %s\n' "$*"; }
# Shows each command quoted the way a shell needs it (URIs contain ';' and '?'), then runs it.
demo_run() {
    local shown="" a
    for a in "$@"; do
        case "$a" in
            *[\;\?\&\ \*\'\"]*) shown+="'${a//\'/\'\\\'\'}' " ;;
            *) shown+="$a " ;;
        esac
    done
    printf '$ %s\n' "${shown% }"
    "$@"
}
# The tool and the provider options: from the build directory, or (--installed) as installed.
TOOL="$BUILD/bin/schsm-tool"
PROV_OPTS="-provider-path $BUILD/lib -provider schsm -provider default"
demo_tool() { demo_run "$TOOL" --reader "$DEMO_READER" "$@"; }

demo_deps() {
    demo_step "Checking Debian packages"
    schsm_need_packages "${SCHSM_BUILD_PACKAGES[@]}"
}

demo_build() {
    demo_step "Building schsm in $BUILD"
    local log
    log=$(mktemp)
    if { [ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD"; } >"$log" 2>&1 \
        && cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" >>"$log" 2>&1; then
        rm -f "$log"
    else
        tail -n 40 "$log" >&2
        rm -f "$log"
        echo "demo: the build failed (output above)" >&2
        exit 1
    fi
    [ -x "$BUILD/bin/schsm-tool" ] || { echo "demo: $BUILD/bin/schsm-tool was not built" >&2; exit 1; }
}

demo_card_init() {
    demo_step "Initialising a fresh virtual SmartCard-HSM ($CARD_STATE)"
    mkdir -p "$DEMO_DIR"
    rm -f "$CARD_STATE" "$CARD_STATE.lock"
    echo "Using the demo-only SO-PIN $DEMO_SO_PIN and user PIN $DEMO_PIN (never use these on a real card)."
    # The PIN goes through a file so that it does not show up in the process list.
    (umask 077; printf '%s\n' "$DEMO_PIN" >"$DEMO_PIN_FILE")
    demo_tool init --so-pin "$DEMO_SO_PIN" --pin-source "file:$DEMO_PIN_FILE" --label schsm-demo
    demo_tool info
}

demo_keys() {
    demo_step "Generating keys on the card"
    demo_tool --pin-source "file:$DEMO_PIN_FILE" keygen --type ec:prime256v1 --label demo-ec
    demo_tool --pin-source "file:$DEMO_PIN_FILE" keygen --type rsa:2048 --label demo-rsa
}

demo_list() {
    demo_step "Keys on the card"
    demo_tool list
    demo_tool export-pubkey --label demo-ec --out "$DEMO_DIR/demo-ec.pub.pem"
    echo "Public key of demo-ec written to $DEMO_DIR/demo-ec.pub.pem"
}

# The provider part: OpenSSL itself makes a card key, a self-signed certificate and a signature.
demo_openssl() {
    demo_step "OpenSSL with the schsm provider"
    local prov="$PROV_OPTS"
    local uri="schsm:object=demo-web;type=private?pin-source=file:$DEMO_PIN_FILE"
    export SCHSM_READER="$DEMO_READER"
    rm -f "$DEMO_DIR/demo-web.key"
    # shellcheck disable=SC2086
    demo_run openssl genpkey $prov -algorithm EC -pkeyopt group:P-256 -pkeyopt label:demo-web \
        -pkeyopt "pin-source:file:$DEMO_PIN_FILE" -out "$DEMO_DIR/demo-web.key"
    echo "demo-web.key is a reference to the card key, not key material:"
    cat "$DEMO_DIR/demo-web.key"
    # shellcheck disable=SC2086
    demo_run openssl req $prov -x509 -new -key "$uri" -subj /CN=schsm-demo -days 30 -out "$DEMO_DIR/demo-web.crt"
    demo_run openssl x509 -in "$DEMO_DIR/demo-web.crt" -noout -subject -issuer -dates
    printf 'signed by a key that never left the card\n' >"$DEMO_DIR/message.txt"
    # shellcheck disable=SC2086
    demo_run openssl dgst $prov -sha256 -sign "$uri" -out "$DEMO_DIR/message.sig" "$DEMO_DIR/message.txt"
    # shellcheck disable=SC2086
    demo_run openssl pkey $prov -in "$DEMO_DIR/demo-web.key" -passin "file:$DEMO_PIN_FILE" -pubout \
        -out "$DEMO_DIR/demo-web.pub.pem"
    echo "Verifying with the default provider only and the exported public key:"
    demo_run openssl dgst -provider default -sha256 -verify "$DEMO_DIR/demo-web.pub.pem" \
        -signature "$DEMO_DIR/message.sig" "$DEMO_DIR/message.txt"
    demo_run openssl verify -provider default -CAfile "$DEMO_DIR/demo-web.crt" "$DEMO_DIR/demo-web.crt"
    echo "What happened: genpkey made key demo-web on the card and wrote only a reference to it;"
    echo "req -x509 and dgst -sign had the card sign; the default provider verified both."
}

demo_done() {
    demo_step "Done"
    echo "The virtual card lives in $CARD_STATE; point any tool at it with --reader $DEMO_READER"
    echo "or SCHSM_READER=$DEMO_READER. SCHSM_DEBUG=apdu shows every APDU."
}

main() {
    local installed=0
    case "${1:-}" in
        -h|--help) script_help; exit 0 ;;
        --installed) installed=1 ;;
        "") ;;
        *) echo "demo.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    if [ "$installed" = 1 ]; then
        TOOL=$(command -v schsm-tool) || { echo "demo: schsm-tool is not installed" >&2; exit 1; }
        PROV_OPTS="-provider schsm -provider default"
    else
        demo_deps
        demo_build
    fi
    demo_card_init
    demo_keys
    demo_list
    demo_openssl
    demo_done
}

main "$@"
