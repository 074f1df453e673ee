# SPDX-License-Identifier: Apache-2.0
# Sourced by scripts/*.sh: makes sure the Debian packages a script needs are installed.
# As root it installs what is missing; otherwise it prints the apt-get line and fails.

schsm_need_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "Missing Debian packages: ${missing[*]}" >&2
        echo "Install them with:  sudo apt-get install -y ${missing[*]}" >&2
        return 1
    fi
    echo "Installing missing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # An old or empty package list makes apt-get miss packages; refresh it once.
    apt-get update -qq || { echo "apt-get update failed: check the network or /etc/apt/sources.list" >&2; return 1; }
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
        echo "apt-get install failed for: ${missing[*]}" >&2; return 1; }
    # Debian starts services on install; tests start their own, so stop the system ones again.
    for p in nginx haproxy pcscd; do
        if printf '%s\n' "${missing[@]}" | grep -qx "$p" && command -v systemctl >/dev/null 2>&1; then
            systemctl stop "$p" >/dev/null 2>&1 || true
        fi
    done
}

# Packages to build schsm and run its unit and openssl-cli tests (man-db and groff-base: the man
# page checks; cmake brings cpack for the Debian package).
SCHSM_BUILD_PACKAGES=(cmake make gcc pkg-config libssl-dev openssl libpcsclite-dev check python3 man-db groff-base)
# Packages for the PC/SC, OpenSC interop and TLS integration tests.
SCHSM_INTEGRATION_PACKAGES=(pcscd vsmartcard-vpcd opensc opensc-pkcs11 nginx haproxy curl procps systemd util-linux)
# Packages for the libFuzzer targets (scripts/fuzz.sh): clang, and the compiler-rt runtimes
# (libFuzzer, ASan, UBSan) that clang only recommends.
SCHSM_FUZZ_PACKAGES=(clang libclang-rt-14-dev)
# Packages for the benchmarks in bench/ only (the incumbent stack, the plot); never needed by tests.
SCHSM_BENCH_PACKAGES=(libengine-pkcs11-openssl opensc-pkcs11 gnuplot-nox)
