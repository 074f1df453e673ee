#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The same cold `openssl dgst -sha256 -sign` (a new process each time, 2 keys on the card: EC P-256
# and RSA-2048) through schsm and through the incumbent stacks, all against the same virtual card
# behind a private pcscd: APDUs counted from pcscd's own --apdu log, wall time as the median of
# BENCH_RUNS runs. Every signature is verified. Prints a table and writes it, with the date and
# versions, to bench/results/peers.md. Not a CTest test; run it by hand:
#
#   bench/peers.sh BUILD_DIR
#
# Stacks: schsm (this provider); OpenSC + libp11's engine (Debian libengine-pkcs11-openssl and
# opensc-pkcs11); pkcs11-provider when a build of it is found (P11PROV_MODULE=/path/pkcs11.so, or
# OpenSSL's MODULESDIR/pkcs11.so), else reported absent. OpenSC's file cache is emptied before
# every run, so each run is cold for every stack.
#   BENCH_RUNS=7   runs per stack and key
set -u
B=$(cd "${1:?usage: bench/peers.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=${BENCH_RUNS:-7}
. "$HERE/../scripts/lib/deps.sh"
schsm_need_packages "${SCHSM_BENCH_PACKAGES[@]}" || exit 1
export SCHSM_TEST_TMP=${SCHSM_TEST_TMP:-/tmp/schsm-bench}
export SCHSM_BUILD=$B SCHSM_SOURCE="$HERE/.." TEST_NAME=bench_peers PCSCD_DEBUG=1
. "$HERE/../tests/integration/lib.sh"
need "$TOOL" "$B/lib/schsm.so"
need_cmd openssl pkcs11-tool
ENGINE=$(ls /usr/lib/*/engines-3/pkcs11.so 2>/dev/null | head -n 1)
MODULESDIR=$(openssl version -m | sed 's/^MODULESDIR: "\(.*\)"$/\1/')
P11PROV=${P11PROV_MODULE:-}
[ -z "$P11PROV" ] && [ -f "$MODULESDIR/pkcs11.so" ] && P11PROV="$MODULESDIR/pkcs11.so"

pcsc_start 1 >/dev/null
R=$(reader_name 0)
printf '%s\n' "$PIN" >"$T/pin"
chmod 600 "$T/pin"
printf 'cold sign benchmark\n' >"$T/data"
"$TOOL" --reader "$R" init --so-pin "$SO_PIN" --pin "$PIN" --yes >"$T/setup.log" 2>&1 &&
"$TOOL" --reader "$R" --pin "$PIN" keygen --type ec:prime256v1 --label k-ec --id 01 >>"$T/setup.log" 2>&1 &&
"$TOOL" --reader "$R" --pin "$PIN" keygen --type rsa:2048 --label k-rsa --id 02 >>"$T/setup.log" 2>&1 &&
"$TOOL" --reader "$R" export-pubkey --label k-ec --out "$T/k-ec.pub" >>"$T/setup.log" 2>&1 &&
"$TOOL" --reader "$R" export-pubkey --label k-rsa --out "$T/k-rsa.pub" >>"$T/setup.log" 2>&1 ||
    { cat "$T/setup.log"; echo "set-up failed"; exit 1; }

cat >"$T/engine.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE
MODULE_PATH = $PKCS11_MODULE
init = 0
CNF

# sign_cmd STACK KEY: the command line of one cold signature into $T/sig.
sign_cmd() {
    case $1 in
    schsm) echo "openssl dgst -sha256 $PROV -sign 'schsm:object=$2;type=private?pin-source=file:$T/pin' -out $T/sig $T/data" ;;
    libp11) echo "env OPENSSL_CONF=$T/engine.cnf openssl dgst -sha256 -engine pkcs11 -keyform engine -sign 'pkcs11:object=$2;type=private;pin-value=$PIN' -out $T/sig $T/data" ;;
    p11prov) echo "env PKCS11_PROVIDER_MODULE=$PKCS11_MODULE openssl dgst -sha256 -provider-path $(dirname "$P11PROV") -provider pkcs11 -provider default -sign 'pkcs11:object=$2;type=private?pin-value=$PIN' -out $T/sig $T/data" ;;
    esac
}

# measure STACK KEY: RUNS cold signatures; prints "APDUs median_ms" (APDUs of the last run, after
# checking all runs cost the same) or "failed".
measure() {
    local stack=$1 key=$2 i mark t0 t1 n apdus=() times=() cmd
    cmd=$(sign_cmd "$stack" "$key")
    for i in $(seq "$RUNS"); do
        rm -rf "$HOME/.cache/opensc" "$HOME/.eid"
        rm -f "$T/sig"
        mark=$(wc -l <"$PCSCD_LOG")
        t0=$(date +%s%N)
        eval "$cmd" </dev/null >"$T/run.log" 2>&1 || { echo "failed"; sed 's/^/    /' "$T/run.log" >&2; return; }
        t1=$(date +%s%N)
        openssl dgst -sha256 -verify "$T/$key.pub" -signature "$T/sig" "$T/data" >/dev/null 2>&1 ||
            { echo "failed"; echo "    $stack $key: signature does not verify" >&2; return; }
        # pcscd writes its log as it goes; wait until the count stops growing.
        n=-1
        while [ "$n" != "$(tail -n +"$((mark + 1))" "$PCSCD_LOG" | grep -c ' APDU: ')" ]; do
            n=$(tail -n +"$((mark + 1))" "$PCSCD_LOG" | grep -c ' APDU: ')
            sleep 0.2
        done
        apdus+=("$n")
        times+=($(((t1 - t0) / 1000000)))
    done
    echo "${apdus[-1]} $(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }') $(printf '%s\n' "${apdus[@]}" | sort -un | tr '\n' ' ')"
}

stacks="schsm libp11"
[ -n "$P11PROV" ] && stacks="$stacks p11prov"
out="$HERE/results/peers.md"
mkdir -p "$HERE/results"
name() { case $1 in schsm) echo "schsm $(cd "$HERE/.." && git describe --always --dirty 2>/dev/null || echo dev)";;
    libp11) echo "OpenSC $(dpkg-query -W -f='${Version}' opensc-pkcs11) + libp11 engine $(dpkg-query -W -f='${Version}' libengine-pkcs11-openssl)";;
    p11prov) echo "OpenSC + pkcs11-provider ($P11PROV)";; esac; }
{
echo "# bench/peers.sh, $(date -u +%Y-%m-%d)"
echo
echo "Cold \`openssl dgst -sha256 -sign\` (a new process each run), 2 keys on the card, virtual card behind"
echo "pcscd $(dpkg-query -W -f='${Version}' pcscd) + vpcd; OpenSSL $(openssl version | awk '{print $2}'); $RUNS runs each; APDUs from pcscd's --apdu log."
[ -z "$P11PROV" ] && echo "pkcs11-provider: absent on this machine (set P11PROV_MODULE to a build of it to include it)."
echo
echo "| stack | key | APDUs | median wall time (ms) |"
echo "|---|---|---|---|"
} | tee "$out"
for stack in $stacks; do
    for key in k-ec k-rsa; do
        r=$(measure "$stack" "$key")
        set -- $r
        if [ "$1" = failed ]; then
            echo "| $(name "$stack") | $key | failed | - |" | tee -a "$out"
        else
            note=
            [ "$#" -gt 3 ] && note=" (runs varied: $3 $4 ...)"
            echo "| $(name "$stack") | $key | $1$note | $2 |" | tee -a "$out"
        fi
    done
done
echo
echo "written to $out"
FAILED=0
finish >/dev/null
