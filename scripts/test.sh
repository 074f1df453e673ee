#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds schsm and runs every test through CTest.
#   ./scripts/test.sh              build in ./build, run all tests
#   ./scripts/test.sh --sanitize   build in ./build-asan with ASan+UBSan and run the tests there
#   ./scripts/test.sh --help
# As root on Debian 12 it installs the packages it needs. In CI (CI=true) a skipped test fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
. scripts/lib/args.sh

sanitize=0
skip_integration=0
ctest_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --sanitize) sanitize=1 ;;
        --skip-integration) skip_integration=1 ;;
        -R|-E|-L) ctest_args+=("$1" "$2"); shift ;;
        -h|--help)
            script_help
            echo "  --skip-integration    leave out tests/integration (pcscd, OpenSC, nginx, HAProxy)"
            echo "  -R REGEX / -E REGEX   passed to ctest to pick tests"
            exit 0 ;;
        *) echo "test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

schsm_need_packages "${SCHSM_BUILD_PACKAGES[@]}" "${SCHSM_INTEGRATION_PACKAGES[@]}"

jobs=$(nproc 2>/dev/null || echo 2)
# Tests start pcscd, servers and many short processes each and wait with bounded timeouts; nproc
# counts the CPUs a container may see, not its quota, so at most 4 tests run at once.
ctest_jobs=$jobs
[ "$ctest_jobs" -le 4 ] || ctest_jobs=4
if [ "$sanitize" = 1 ]; then
    build=build-asan
    cmake -S . -B "$build" -DSCHSM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
else
    build=build
    cmake -S . -B "$build" >/dev/null
fi
cmake --build "$build" -j"$jobs"

export SCHSM_TEST_TMP="$PWD/$build/tests/tmp"
rm -rf "$SCHSM_TEST_TMP"; mkdir -p "$SCHSM_TEST_TMP"

if [ "$sanitize" = 1 ]; then
    # The openssl, nginx and haproxy binaries are not built with ASan: to load our ASan-built
    # module into them the runtime must be preloaded. Leak checks stay on for our own unit tests.
    SCHSM_ASAN_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
    export SCHSM_ASAN_PRELOAD
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

log="$build/ctest.log"
: >"$log"
run_ctest() {
    set +e
    (cd "$build" && ctest --output-on-failure --timeout 900 -j"$ctest_jobs" "$@") 2>&1 | tee -a "$log"
    local rc=${PIPESTATUS[0]}
    set -e
    return "$rc"
}
rc=0
if [ "$sanitize" = 1 ]; then
    # Our own programs with leak checks; then the shell tests, whose openssl, nginx and haproxy
    # binaries need the ASan runtime preloaded to load our module (their own exit-time
    # allocations are not ours to judge, so leak checks are off there).
    run_ctest -R '^unit/' "${ctest_args[@]}" || rc=$?
    shell_tests='^(openssl-cli|integration)/'
    [ "$skip_integration" = 1 ] && shell_tests='^openssl-cli/'
    LD_PRELOAD="$SCHSM_ASAN_PRELOAD" ASAN_OPTIONS=detect_leaks=0 \
        run_ctest -R "$shell_tests" "${ctest_args[@]}" || rc=$?
elif [ "$skip_integration" = 1 ]; then
    run_ctest -E '^integration/' "${ctest_args[@]}" || rc=$?
else
    run_ctest "${ctest_args[@]}" || rc=$?
fi
if [ "$rc" -ne 0 ]; then
    exit "$rc"
fi
if [ "${CI:-}" = "true" ] && grep -q "\*\*\*Skipped\|Not Run" "$log"; then
    echo "CI: tests were skipped; in CI every test must run:" >&2
    grep "\*\*\*Skipped\|Not Run" "$log" >&2
    exit 1
fi
