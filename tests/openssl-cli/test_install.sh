#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# cmake --install under a prefix: the module goes to PREFIX/<OpenSSL's module dir relative to its
# prefix> (never the system's MODULESDIR), the tools, man pages, docs and the example openssl.cnf
# land below the prefix, and nothing outside it; the installed module loads. -DSCHSM_MODULESDIR
# overrides the module directory; without -DCMAKE_INSTALL_PREFIX the prefix is OpenSSL's own.
# The man pages format without a single warning (man --warnings, groff -ww) and name every
# schsm-tool command.
. "$(dirname "$0")/lib.sh"
need "$TOOL" "$SCHSM_BUILD/bin/schsm-sim" "$SCHSM_BUILD/cmake_install.cmake"
command -v pkg-config >/dev/null || { echo "SKIP: pkg-config not installed"; exit 77; }
command -v man >/dev/null && command -v groff >/dev/null || { echo "SKIP: man-db/groff-base not installed"; exit 77; }

P="$T/prefix"
ossl_prefix=$(pkg-config --variable=prefix libcrypto)
ossl_moddir=$(pkg-config --variable=modulesdir libcrypto)
rel_moddir=${ossl_moddir#"$ossl_prefix"/}
check "pkg-config names OpenSSL's module dir below its prefix" test "$rel_moddir" != "$ossl_moddir"

# cmake --install writes install_manifest.txt into the build dir; keep the build's own copy intact.
manifest="$SCHSM_BUILD/install_manifest.txt"
[ -f "$manifest" ] && cp "$manifest" "$T/manifest.saved"
check "cmake --install --prefix" cmake --install "$SCHSM_BUILD" --prefix "$P"
check_log_has "cmake --install --prefix" 'OpenSSL looks for providers in .*OPENSSL_MODULES='
cp "$manifest" "$T/manifest.txt"
if [ -f "$T/manifest.saved" ]; then cp "$T/manifest.saved" "$manifest"; else rm -f "$manifest"; fi

for f in "$rel_moddir/schsm.so" bin/schsm-tool bin/schsm-sim \
         share/man/man1/schsm-tool.1 share/man/man1/schsm-sim.1 share/man/man7/schsm.7 \
         share/doc/schsm/README.md share/doc/schsm/LICENSE share/doc/schsm/CHANGELOG.md \
         share/doc/schsm/copyright share/doc/schsm/examples/schsm.cnf \
         share/doc/schsm/docs/openssl-cnf.md share/doc/schsm/docs/servers.md \
         share/doc/schsm/docs/virtual-card.md share/doc/schsm/docs/security.md; do
    check "installed: $f" test -s "$P/$f"
done
check "nothing installed outside the prefix" sh -c "! grep -v '^$P/' '$T/manifest.txt'"
check "the module is not in the system MODULESDIR because of this install" sh -c "! grep -qF '$ossl_moddir' '$T/manifest.txt'"
check "every doc in docs/ is installed" sh -c \
    "for d in '$SCHSM_SOURCE'/docs/*.md; do test -f '$P/share/doc/schsm/docs/'\$(basename \$d) || exit 1; done"
check "the installed module loads" env OPENSSL_CONF=/dev/null \
    openssl list -providers -verbose -provider-path "$P/$rel_moddir" -provider schsm
check_log_has "the installed module loads" 'status: active'
check "the installed example config loads with OPENSSL_MODULES" \
    env OPENSSL_CONF="$P/share/doc/schsm/examples/schsm.cnf" OPENSSL_MODULES="$P/$rel_moddir" openssl list -providers
check_log_has "the installed example config loads with OPENSSL_MODULES" 'schsm'
check "the installed tool runs" "$P/bin/schsm-tool" --version

# Man pages: formatted by man from the file, without warnings. man and groff run without the
# sanitizer pass's LD_PRELOAD (groff is C++ and trips ASan on its own allocations).
for m in share/man/man1/schsm-tool.1 share/man/man1/schsm-sim.1 share/man/man7/schsm.7; do
    name=$(basename "$m")
    check "man -l $name" sh -c "MANWIDTH=80 env -u LD_PRELOAD man -l '$P/$m' >'$T/$name.txt' 2>'$T/$name.err' && test -s '$T/$name.txt' && ! test -s '$T/$name.err'"
    check "man --warnings -l $name: no warnings" sh -c "MANWIDTH=80 env -u LD_PRELOAD man --warnings -l '$P/$m' 2>&1 >/dev/null | tee /dev/stderr | grep -q . && exit 1 || exit 0"
    check "groff -ww $name: no warnings" sh -c "env -u LD_PRELOAD groff -ww -z -man '$P/$m' 2>&1 | tee /dev/stderr | grep -q . && exit 1 || exit 0"
done
# Every command schsm-tool --help lists is in schsm-tool(1).
"$TOOL" --help | awk '/^Commands:/ { c = 1; next } c && /^$/ { exit } c { print $1 }' >"$T/commands"
check "schsm-tool --help lists commands" test -s "$T/commands"
check "schsm-tool(1) names every command" sh -c \
    "while read -r c; do grep -qw -- \"\$c\" '$T/schsm-tool.1.txt' || { echo \"missing: \$c\"; exit 1; }; done <'$T/commands'"
check "schsm(7) covers URIs, config keys and key-reference files" sh -c \
    "for w in URIS CONFIGURATION 'KEY-REFERENCE FILES' pin-source 'SCHSM KEY REFERENCE' SCHSM_READER; do grep -q \"\$w\" '$T/schsm.7.txt' || { echo \"missing: \$w\"; exit 1; }; done"

# The README's uninstall command, on this install's manifest.
uninstall="xargs -d '\\n' rm -f -- < build/install_manifest.txt"
check "README gives the uninstall command" grep -qF "$uninstall" "$SCHSM_SOURCE/README.md"
check "uninstall with the manifest" sh -c "xargs -d '\\n' rm -f -- < '$T/manifest.txt'"
check "nothing left but directories" sh -c "test -z \"\$(find '$P' -type f)\""

# The module directory rules, at configure time (a configure-only tree; nothing is built).
check "configure with defaults" cmake -S "$SCHSM_SOURCE" -B "$T/cfg" -DSCHSM_TESTS=OFF
check "default prefix is OpenSSL's prefix" grep -qx "CMAKE_INSTALL_PREFIX:PATH=$ossl_prefix" "$T/cfg/CMakeCache.txt"
check "default module dir is OpenSSL's, relative to the prefix" \
    grep -qx "SCHSM_MODULESDIR:STRING=$rel_moddir" "$T/cfg/CMakeCache.txt"
check "configure with -DSCHSM_MODULESDIR" cmake -S "$SCHSM_SOURCE" -B "$T/cfg" -DSCHSM_MODULESDIR="$T/elsewhere"
check "-DSCHSM_MODULESDIR overrides" grep -qF "$T/elsewhere" "$T/cfg/provider/cmake_install.cmake"
rm -rf "$T/cfg"

finish
