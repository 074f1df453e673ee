#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One version everywhere: CMake's project(VERSION) is what schsm-tool --version, schsm-sim
# --version, the provider (openssl list -providers -verbose), the Debian package (CPack) and the
# man pages report, and the changelog has an entry for it. Build info carries no build date.
. "$(dirname "$0")/lib.sh"
SIM="$SCHSM_BUILD/bin/schsm-sim"
need "$TOOL" "$SIM" "$SCHSM_BUILD/CPackConfig.cmake"

version=$(sed -n 's/^project(schsm VERSION \([0-9][0-9.]*\).*/\1/p' "$SCHSM_SOURCE/CMakeLists.txt")
check "CMakeLists.txt has project(schsm VERSION x.y.z)" sh -c "echo '$version' | grep -Eqx '[0-9]+\.[0-9]+\.[0-9]+'"

check "schsm-tool --version" "$TOOL" --version
check_log_has "schsm-tool --version" "^schsm-tool $version\$"
check "schsm-sim --version" "$SIM" --version
check_log_has "schsm-sim --version" "^schsm-sim $version\$"
check "openssl list -providers -verbose" $OSSL list -providers -verbose $PROV
check_log_has "openssl list -providers -verbose" "^ +version: $version\$"
check_log_has "openssl list -providers -verbose" "build info: schsm $version "
check "the Debian package version (CPack)" grep -qx "set(CPACK_PACKAGE_VERSION \"$version\")" "$SCHSM_BUILD/CPackConfig.cmake"
for m in man/schsm-tool.1 man/schsm-sim.1 man/schsm.7; do
    check "$m names schsm $version" grep -q "^\.TH .*\"schsm $version\"" "$SCHSM_SOURCE/$m"
done
check "CHANGELOG.md has an entry for $version" grep -q "^## \[$version\]" "$SCHSM_SOURCE/CHANGELOG.md"
check "no second version string in the sources" sh -c \
    "! grep -rnE '\"[0-9]+\.[0-9]+\.[0-9]+\"' '$SCHSM_SOURCE'/hsm '$SCHSM_SOURCE'/provider '$SCHSM_SOURCE'/tools '$SCHSM_SOURCE'/sim '$SCHSM_SOURCE'/reader --include='*.c' --include='*.h'"
# Reproducible builds: no __DATE__/__TIME__/__TIMESTAMP__, no build directory in the binaries.
check "no __DATE__/__TIME__ in the sources" sh -c \
    "! grep -rnE '__(DATE|TIME|TIMESTAMP)__' '$SCHSM_SOURCE'/hsm '$SCHSM_SOURCE'/provider '$SCHSM_SOURCE'/tools '$SCHSM_SOURCE'/sim '$SCHSM_SOURCE'/reader"
for f in lib/schsm.so bin/schsm-tool bin/schsm-sim; do
    check "$f does not contain the source path" sh -c "! grep -qF '$SCHSM_SOURCE/' '$SCHSM_BUILD/$f'"
done
finish
