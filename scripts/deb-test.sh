#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian package, installs it, uses it as installed, and removes it again:
#   ./scripts/deb-test.sh              (as root; CI calls it from .ci/run)
#   ./scripts/deb-test.sh --replace    also when another version of schsm is installed (it is
#                                      removed at the end; reinstall it yourself)
#   ./scripts/deb-test.sh --help
# Steps: `cpack -G DEB` in the build directory (SCHSM_BUILD_DIR, default build; configured and
# built first if needed); the package's name, version, dependencies and files are checked; it is
# installed with dpkg -i; the demo's sign-and-verify runs against the installed files
# (scripts/demo.sh --installed: schsm-tool from /usr/bin, the module from OpenSSL's MODULESDIR, no
# -provider-path), the man pages and the example openssl.cnf are checked; then dpkg -r removes it
# and nothing of it may be left.
# Already installed: the same version is replaced by the fresh build and left installed at the
# end; another version stops the script unless --replace. Files of a `cmake --install` into /usr
# (not owned by any package) are set aside and put back afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh

replace=0
. scripts/lib/args.sh
if script_flag --replace "$@"; then replace=1; fi
if [ "$(id -u)" -ne 0 ]; then
    echo "deb-test.sh installs a package with dpkg -i: run it as root (CI does)" >&2
    exit 1
fi

BUILD=${SCHSM_BUILD_DIR:-build}
step() { printf '\n==> %s\n' "$*"; }
fail() { echo "deb-test: FAILED: $*" >&2; exit 1; }
pass() { echo "ok   $*"; }

schsm_need_packages "${SCHSM_BUILD_PACKAGES[@]}"

step "Building the package in $BUILD"
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S . -B "$BUILD" >/dev/null
fi
cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")
[ -n "$version" ] || fail "no CMAKE_PROJECT_VERSION in $BUILD/CMakeCache.txt"
arch=$(dpkg --print-architecture)
deb="$BUILD/schsm_${version}_${arch}.deb"
rm -f "$deb"
(cd "$BUILD" && cpack -G DEB >cpack.log 2>&1) || { cat "$BUILD/cpack.log" >&2; fail "cpack -G DEB"; }
[ -s "$deb" ] || fail "cpack did not write $deb"
echo "$deb"

step "Checking the package"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = schsm ] && pass "Package: schsm" || fail "Package is '$(field Package)'"
[ "$(field Version)" = "$version" ] && pass "Version: $version (= CMake project VERSION)" || fail "Version is '$(field Version)'"
field Depends | grep -q 'libssl3' && field Depends | grep -q 'libpcsclite1' && pass "Depends: $(field Depends)" ||
    fail "Depends lacks libssl3 or libpcsclite1: $(field Depends)"
field Recommends | grep -qw pcscd && pass "Recommends: pcscd" || fail "Recommends lacks pcscd"
moddir=$(pkg-config --variable=modulesdir libcrypto 2>/dev/null || openssl version -m | sed 's/^MODULESDIR: "\(.*\)"$/\1/')
files=("$moddir/schsm.so" /usr/bin/schsm-tool /usr/bin/schsm-sim
       /usr/share/man/man1/schsm-tool.1 /usr/share/man/man1/schsm-sim.1 /usr/share/man/man7/schsm.7
       /usr/share/doc/schsm/README.md /usr/share/doc/schsm/copyright /usr/share/doc/schsm/examples/schsm.cnf
       /usr/share/doc/schsm/docs/openssl-cnf.md /usr/share/doc/schsm/docs/security.md)
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's#^\./#/#' >"$BUILD/deb-contents.txt"
for f in "${files[@]}"; do
    grep -qx -- "$f" "$BUILD/deb-contents.txt" || fail "$f is not in the package"
done
pass "module in $moddir, tools, man pages, docs and example in the package"

# --- what is on the machine already ---------------------------------------------------------
was_installed=
if dpkg-query -W -f='${Status}' schsm 2>/dev/null | grep -q "install ok installed"; then
    was_installed=$(dpkg-query -W -f='${Version}' schsm)
    if [ "$was_installed" != "$version" ] && [ "$replace" != 1 ]; then
        fail "schsm $was_installed is installed; remove it (dpkg -r schsm) or run with --replace"
    fi
    echo "note: schsm $was_installed is installed already; the fresh build replaces it"
fi
# Files a `cmake --install` put where the package goes (owned by no package): set them aside.
saved=$(mktemp -d "${TMPDIR:-/tmp}/schsm-deb-test.XXXXXX")
declare -a set_aside=()
for f in "$moddir/schsm.so" /usr/bin/schsm-tool /usr/bin/schsm-sim; do
    if [ -e "$f" ] && ! dpkg -S "$f" >/dev/null 2>&1; then
        mkdir -p "$saved$(dirname "$f")"
        mv "$f" "$saved$f"
        set_aside+=("$f")
        echo "note: $f (from a cmake --install) set aside; it is put back at the end"
    fi
done

installed_by_us=0
demo_dir=$(mktemp -d "${TMPDIR:-/tmp}/schsm-deb-demo.XXXXXX")
cleanup() {
    local f
    if [ "$installed_by_us" = 1 ]; then
        if [ -n "$was_installed" ] && [ "$was_installed" = "$version" ]; then
            echo "leaving schsm $version installed, as it was before"
        else
            dpkg -r schsm >/dev/null 2>&1 || echo "warning: dpkg -r schsm failed" >&2
            [ -n "$was_installed" ] && echo "note: schsm $was_installed was installed before and has been removed; reinstall it yourself"
        fi
    fi
    for f in "${set_aside[@]}"; do
        mkdir -p "$(dirname "$f")"
        mv "$saved$f" "$f" && echo "put back: $f"
    done
    rm -rf "$saved" "$demo_dir"
}
trap cleanup EXIT

step "Installing it: dpkg -i"
dpkg -i "$deb"
installed_by_us=1
[ "$(dpkg-query -W -f='${Version}' schsm)" = "$version" ] && pass "schsm $version installed" || fail "dpkg does not show schsm $version"

step "Using the installed files"
# Nothing from the build tree and no user configuration may help.
export OPENSSL_CONF=/dev/null
unset OPENSSL_MODULES SCHSM_READER SCHSM_DEBUG SCHSM_DEBUG_FILE
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
[ "$(command -v schsm-tool)" = /usr/bin/schsm-tool ] || fail "schsm-tool on PATH is $(command -v schsm-tool)"
[ "$(schsm-tool --version)" = "schsm-tool $version" ] && pass "schsm-tool --version: $version" || fail "schsm-tool --version says '$(schsm-tool --version)'"
[ "$(schsm-sim --version)" = "schsm-sim $version" ] && pass "schsm-sim --version: $version" || fail "schsm-sim --version says '$(schsm-sim --version)'"
openssl list -providers -verbose -provider schsm >"$demo_dir/providers.txt" 2>&1 || { cat "$demo_dir/providers.txt"; fail "openssl cannot load schsm from $moddir"; }
grep -qE "^ +version: $version\$" "$demo_dir/providers.txt" && pass "openssl list -providers: schsm $version from MODULESDIR" ||
    { cat "$demo_dir/providers.txt"; fail "the provider does not report version $version"; }
OPENSSL_CONF=/usr/share/doc/schsm/examples/schsm.cnf openssl list -providers >"$demo_dir/cnf.txt" 2>&1 &&
    grep -q schsm "$demo_dir/cnf.txt" && pass "the installed example openssl.cnf activates schsm" ||
    { cat "$demo_dir/cnf.txt"; fail "examples/schsm.cnf does not activate schsm"; }
for m in schsm-tool schsm-sim schsm.7; do
    page=$(man -w "${m%.7}" 2>/dev/null | head -n1 || true)
    [ -n "$page" ] && case "$page" in /usr/share/man/*) true ;; *) false ;; esac && pass "man ${m%.7}: $page" ||
        fail "man -w ${m%.7} does not find the installed page"
done
DEMO_DIR="$demo_dir/demo" ./scripts/demo.sh --installed >"$demo_dir/demo.log" 2>&1 ||
    { cat "$demo_dir/demo.log"; fail "scripts/demo.sh --installed"; }
grep -q -- '-provider-path' "$demo_dir/demo.log" && { cat "$demo_dir/demo.log"; fail "the demo used -provider-path"; }
grep -q '^Verified OK$' "$demo_dir/demo.log" && grep -q ': OK$' "$demo_dir/demo.log" &&
    pass "the demo's sign-and-verify against the installed files (no -provider-path)" ||
    { cat "$demo_dir/demo.log"; fail "the demo's signature or certificate did not verify"; }

if [ -n "$was_installed" ] && [ "$was_installed" = "$version" ]; then
    step "Done (schsm $version stays installed, as before)"
    exit 0
fi

step "Removing it: dpkg -r"
dpkg -r schsm
installed_by_us=0
for f in "${files[@]}"; do
    [ ! -e "$f" ] || fail "$f is still there after dpkg -r"
done
pass "dpkg -r removed every file"
if openssl list -providers -provider schsm >/dev/null 2>&1; then
    fail "openssl still loads schsm after dpkg -r"
fi
pass "openssl no longer finds schsm"
step "Done"
