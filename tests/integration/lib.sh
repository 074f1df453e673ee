# SPDX-License-Identifier: Apache-2.0
# Harness for the tests that run through the real PC/SC stack: a private pcscd with vsmartcard's
# vpcd driver, and one `schsm-sim --vpcd` per virtual card. Source it, then:
#
#   pcsc_start N        start pcscd with N vpcd slots and one virtual card in each
#                       (card I keeps its state in $T/cardI.state; SIM_STATE[I] may preset it)
#   sim_stop I / sim_start I [STATE]   remove / insert card I (stopping the process is removal)
#   wait_card I / wait_no_card I       wait until pcscd sees card I present / absent
#   reader_name I       the PC/SC reader name of slot I (e.g. "Virtual PCD 00 00")
#   check / check_fail / check_log_has / check_log_lacks / finish   from tests/lib/checks.sh
#
# Isolation: pcsc-lite 1.9 daemons always bind /run/pcscd/pcscd.comm (PCSCLITE_CSOCK_NAME is read
# by clients only), unless systemd hands them a listening socket. We do that with
# systemd-socket-activate, so our pcscd listens on $PCSC_SOCK_DIR/pcscd.comm ($T, or a short
# directory when $T is too deep for a socket path) and every client of this test finds it through
# PCSCLITE_CSOCK_NAME, never the system pcscd. Without systemd-socket-activate, pcscd runs in a
# private mount namespace whose /run/pcscd is $PCSC_SOCK_DIR. vpcd ports are picked per
# test, so tests can run in parallel. Only the processes started here are stopped, by PID, in a
# trap (track_pid adds a test's own helpers).
#
# Also: signer_start / signer_expect drive a long-lived signing process (signloop.c) between
# card events; build_signloop compiles it.
#
# Environment knobs: PCSCD_DEBUG=1 runs pcscd with --debug --apdu (log in $PCSCD_LOG);
# SCHSM_SIM_DEBUG=apdu traces what each virtual card receives into $T/simI.trace.

. "$(dirname "${BASH_SOURCE[0]}")/../lib/checks.sh"
mkdir -p "$SCHSM_TEST_TMP"
T=$(mktemp -d "$SCHSM_TEST_TMP/$TEST_NAME.XXXXXX")
TOOL="$SCHSM_BUILD/bin/schsm-tool"
SIM="$SCHSM_BUILD/bin/schsm-sim"
# Profile of the virtual cards this test creates (CTest runs some tests again with variant).
SIM_PROFILE="${SCHSM_SIM_PROFILE:-cardcontact}"
export SCHSM_SIM_PROFILE="$SIM_PROFILE"
PIN=648219
SO_PIN=3537363231383830
PROV="-provider-path $SCHSM_BUILD/lib -provider schsm -provider default"
PKCS11_MODULE=${PKCS11_MODULE:-/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/opensc-pkcs11.so}
VPCD_DRIVER=${VPCD_DRIVER:-/usr/lib/pcsc/drivers/serial/libifdvpcd.so}
PCSCD=${PCSCD:-$(command -v pcscd || echo /usr/sbin/pcscd)}
PCSCD_LOG="$T/pcscd.log"

# Every PC/SC client started by the test talks to our pcscd only. A Unix socket's path holds at
# most 107 bytes (sun_path), which a deep checkout or TMPDIR exceeds ("File name too long" from
# pcscd); the socket then gets a short directory of its own under /tmp, removed by pcsc_cleanup.
PCSC_SOCK_DIR=$T
if [ "${#T}" -gt 90 ]; then   # 90 + "/pcscd.comm" leaves room below 107
    PCSC_SOCK_DIR=$(mktemp -d /tmp/schsm-pcscd.XXXXXX)
fi
export PCSCLITE_CSOCK_NAME="$PCSC_SOCK_DIR/pcscd.comm"
# OpenSSL must not load a user's configuration with schsm already active.
export OPENSSL_CONF=/dev/null
# OpenSC keeps a file cache under $HOME; each test gets its own, so nothing leaks between tests.
export HOME="$T/home" XDG_CACHE_HOME="$T/home/.cache"
mkdir -p "$HOME"
unset SCHSM_DEBUG SCHSM_DEBUG_FILE SCHSM_READER

PCSCD_PID=
VPCD_PORT_BASE=
NCARDS=0
declare -a SIM_PID=() SIM_STATE=() EXTRA_PID=()

skip() {
    echo "SKIP: $*"
    rm -rf "$T"
    exit 77
}

need() {
    for f in "$@"; do
        [ -e "$f" ] || skip "$f not built"
    done
}

need_cmd() {
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "$c not installed"
    done
}

need_pcsc() {
    [ -x "$PCSCD" ] || skip "pcscd not installed (apt-get install pcscd)"
    [ -e "$VPCD_DRIVER" ] || skip "vpcd driver not installed (apt-get install vsmartcard-vpcd)"
    need_cmd opensc-tool
    [ "$(pcscd_mode)" != none ] ||
        skip "cannot run a private pcscd: install systemd (systemd-socket-activate) or allow unshare -m"
    need "$SIM"
}

# --- process control ------------------------------------------------------------------------

# Stops one process we started, by PID: TERM, then KILL after 5 s.
stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "warning: pid $pid ignored SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

# track_pid PID: a helper process the test started; stopped (by PID) with everything else.
track_pid() {
    EXTRA_PID+=("$1")
}

pcsc_cleanup() {
    local i
    for i in "${!EXTRA_PID[@]}"; do
        stop_pid "${EXTRA_PID[$i]}"
    done
    EXTRA_PID=()
    for i in "${!SIM_PID[@]}"; do
        stop_pid "${SIM_PID[$i]}"
    done
    SIM_PID=()
    stop_pid "$PCSCD_PID"
    PCSCD_PID=
    if [ "$PCSC_SOCK_DIR" != "$T" ]; then rm -rf "$PCSC_SOCK_DIR"; fi
    release_ports
}
trap pcsc_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- pcscd and the virtual cards ------------------------------------------------------------

# pick_ports N: a free block of ports for N vpcd slots (the driver listens on two per reader),
# aligned to 20, between 10000 and 19999: apart from free_port's range and the ephemeral ports.
# The block's first port is claimed for the whole block.
pick_ports() {
    local n=$1 base i ok try span
    span=$(((n + 1) / 2 * 2))
    for try in $(seq 100); do
        base=$((10000 + (RANDOM % 500) * 20))
        ok=1
        for i in $(seq 0 $((span - 1))); do
            if port_in_use $((base + i)); then ok=0; break; fi
        done
        if [ $ok = 1 ] && claim_port "$base"; then
            echo "$base"
            return 0
        fi
    done
    return 1
}

# Writes one reader.conf entry per two slots (the driver serves two slots per reader, on
# CHANNELID and CHANNELID+1). The driver keeps its sockets in globals indexed by slot, so a
# second reader on the same library would overwrite the first one's: readers after the first
# load their own copy of the library, which the dynamic loader maps separately.
write_reader_conf() {
    local n=$1 base=$2 k lib readers name
    mkdir -p "$T/reader.conf.d" "$T/drivers"
    readers=$(((n + 1) / 2))
    for k in $(seq 0 $((readers - 1))); do
        lib=$VPCD_DRIVER
        name=$(reader_base "$k")
        if [ "$k" -gt 0 ]; then
            lib="$T/drivers/libifdvpcd-$k.so"
            cp "$VPCD_DRIVER" "$lib"
        fi
        cat >"$T/reader.conf.d/vpcd-$k" <<EOF
FRIENDLYNAME "$name"
DEVICENAME   /dev/null:$((base + 2 * k))
LIBPATH      $lib
CHANNELID    $((base + 2 * k))
EOF
    done
}

# Reader k's friendly name: "Virtual PCD" as Debian's own config, then "Virtual PCD B", "... C".
# (pcscd numbers same-named readers of different drivers alike, so the names must differ.)
reader_base() {
    local letters=ABCDEFGH
    if [ "$1" -eq 0 ]; then echo "Virtual PCD"; else echo "Virtual PCD ${letters:$1:1}"; fi
}

# reader_name I: the PC/SC name of slot I, e.g. "Virtual PCD 00 01", "Virtual PCD B 00 00".
reader_name() {
    printf '%s 00 %02X' "$(reader_base $(($1 / 2)))" $(($1 % 2))
}

# opensc-tool -l prints "Nr. Card Features Name"; Card is Yes/No.
card_state() {
    local name
    name=$(reader_name "$1")
    timeout 10 opensc-tool -l 2>/dev/null | awk -v n="$name" '
        { line = $0; sub(/^[0-9]+ +/, "", line); card = line; sub(/ .*/, "", card);
          if (index($0, n) > 0) { print card; exit } }'
}

wait_card() {
    local i
    for i in $(seq 100); do
        [ "$(card_state "$1")" = "Yes" ] && return 0
        sleep 0.2
    done
    echo "card $1 did not appear in reader '$(reader_name "$1")'"
    timeout 10 opensc-tool -l
    return 1
}

wait_no_card() {
    local i
    for i in $(seq 100); do
        [ "$(card_state "$1")" = "No" ] && return 0
        sleep 0.2
    done
    echo "card $1 still present in reader '$(reader_name "$1")'"
    return 1
}

# sim_start I [STATE]: inserts virtual card I (state file STATE, default $T/cardI.state).
sim_start() {
    local i=$1 state=${2:-${SIM_STATE[$1]:-$T/card$1.state}}
    SIM_STATE[$i]=$state
    if [ -n "${SCHSM_SIM_DEBUG:-}" ]; then
        SCHSM_DEBUG=$SCHSM_SIM_DEBUG SCHSM_DEBUG_FILE="$T/sim$i.trace" \
            "$SIM" --state "$state" --profile "$SIM_PROFILE" --vpcd --port $((VPCD_PORT_BASE + i)) >>"$T/sim$i.log" 2>&1 &
    else
        "$SIM" --state "$state" --profile "$SIM_PROFILE" --vpcd --port $((VPCD_PORT_BASE + i)) >>"$T/sim$i.log" 2>&1 &
    fi
    SIM_PID[$i]=$!
}

# sim_stop I: removes virtual card I (its process exits; pcscd sees the card go).
sim_stop() {
    stop_pid "${SIM_PID[$1]:-}"
    SIM_PID[$1]=
}

# How pcscd gets a private socket: "activate" (systemd-socket-activate hands it
# $PCSCLITE_CSOCK_NAME) or "unshare" (a private mount namespace where /run/pcscd is
# $PCSC_SOCK_DIR). PCSC_HARNESS_MODE overrides.
pcscd_mode() {
    if [ -n "${PCSC_HARNESS_MODE:-}" ]; then
        echo "$PCSC_HARNESS_MODE"
    elif command -v systemd-socket-activate >/dev/null 2>&1; then
        echo activate
    elif unshare -m true 2>/dev/null; then
        echo unshare
    else
        echo none
    fi
}

pcscd_start() {
    local dbg=() mode
    [ -n "${PCSCD_DEBUG:-}" ] && dbg=(--debug --apdu)
    mode=$(pcscd_mode)
    # unshare, sh and systemd-socket-activate all exec, so $! stays pcscd's PID.
    case $mode in
    activate)
        if unshare -m true 2>/dev/null; then
            # Also a private /run/pcscd, so pcscd's pid file cannot replace a system pcscd's.
            unshare -m sh -c 'mkdir -p /run/pcscd && mount -t tmpfs tmpfs /run/pcscd 2>/dev/null || true; exec "$@"' sh \
                systemd-socket-activate -l "$PCSCLITE_CSOCK_NAME" \
                "$PCSCD" --foreground "${dbg[@]}" --config "$T/reader.conf.d" >"$PCSCD_LOG" 2>&1 &
        else
            systemd-socket-activate -l "$PCSCLITE_CSOCK_NAME" \
                "$PCSCD" --foreground "${dbg[@]}" --config "$T/reader.conf.d" >"$PCSCD_LOG" 2>&1 &
        fi
        ;;
    unshare)
        # pcscd binds /run/pcscd/pcscd.comm, which is $PCSCLITE_CSOCK_NAME outside the namespace.
        unshare -m sh -c 'mkdir -p /run/pcscd && mount --bind "$1" /run/pcscd && shift && exec "$@"' sh "$PCSC_SOCK_DIR" \
            "$PCSCD" --foreground "${dbg[@]}" --config "$T/reader.conf.d" >"$PCSCD_LOG" 2>&1 &
        ;;
    *)
        echo "FATAL: cannot give pcscd a private socket (need systemd-socket-activate or unshare -m)"
        return 1
        ;;
    esac
    PCSCD_PID=$!
    local i
    for i in $(seq 100); do
        [ -S "$PCSCLITE_CSOCK_NAME" ] && break
        sleep 0.1
    done
    [ -S "$PCSCLITE_CSOCK_NAME" ] || { echo "pcscd did not start"; cat "$PCSCD_LOG"; return 1; }
    # With socket activation the first client connection is what execs pcscd.
    timeout 10 opensc-tool -l >/dev/null 2>&1
    return 0
}

# pcsc_start N: pcscd with N vpcd slots and a virtual card in each; waits until all are seen.
pcsc_start() {
    local n=${1:-1} i
    need_pcsc
    NCARDS=$n
    VPCD_PORT_BASE=$(pick_ports "$n") || { echo "no free ports for vpcd"; exit 1; }
    write_reader_conf "$n" "$VPCD_PORT_BASE"
    pcscd_start || exit 1
    for i in $(seq 0 $((n - 1))); do
        sim_start "$i"
    done
    for i in $(seq 0 $((n - 1))); do
        if ! wait_card "$i"; then
            echo "FATAL: virtual card $i not seen by pcscd"
            tail -n 20 "$T/sim$i.log" "$PCSCD_LOG"
            exit 1
        fi
    done
}

# pcscd_restart: stops and starts pcscd (the cards stay; they reconnect by themselves).
pcscd_restart() {
    stop_pid "$PCSCD_PID"
    PCSCD_PID=
    rm -f "$PCSCLITE_CSOCK_NAME"
    pcscd_start
}

# build_signloop: compiles tests/integration/signloop.c (a long-lived signer) into $T/signloop.
build_signloop() {
    need_cmd cc
    cc -std=c11 -O2 -Wall -o "$T/signloop" "$SCHSM_SOURCE/tests/integration/signloop.c" \
        $(pkg-config --cflags --libs libcrypto 2>/dev/null || echo -lcrypto) -lpthread ||
        { echo "FATAL: cannot build signloop"; exit 1; }
}

# A long-lived signer process (signloop in command mode) that a test drives between card events:
#   signer_start URI PUBKEY_PEM
#   signer_expect ok|failed sign            one signature, verified against the current public key
#   signer_expect refused sign              failed before signing (never a signature that
#                                           does not verify: that would be the wrong key)
#   signer_expect ok|failed load PUBKEY_PEM  resolve URI again in the same process
# Its stderr is in $T/signer.err, each command's number is $SIGNER_SEQ.
signer_start() {
    [ -x "$T/signloop" ] || build_signloop
    mkfifo "$T/signer.in"
    "$T/signloop" "$SCHSM_BUILD/lib" "$1" "$2" - <"$T/signer.in" >"$T/signer.out" 2>"$T/signer.err" &
    track_pid $!
    exec 3>"$T/signer.in"
    SIGNER_SEQ=0
}

signer_expect() {
    local want=$1 i got
    shift
    SIGNER_SEQ=$((SIGNER_SEQ + 1))
    echo "$*" >&3
    for i in $(seq 300); do
        if [ "$(wc -l <"$T/signer.out")" -ge "$SIGNER_SEQ" ]; then
            got=$(sed -n "${SIGNER_SEQ}p" "$T/signer.out")
            echo "command $SIGNER_SEQ ($*): $got"
            grep "^[a-z]* $SIGNER_SEQ:" "$T/signer.err"
            if [ "$want" = refused ]; then
                # Refused by schsm before signing - not signed with some other key.
                [ "$got" = "failed $SIGNER_SEQ" ] &&
                    grep -q "^signature $SIGNER_SEQ: signing failed" "$T/signer.err" &&
                    ! grep -q "^signature $SIGNER_SEQ: does not verify" "$T/signer.err"
                return
            fi
            [ "$got" = "$want $SIGNER_SEQ" ]
            return
        fi
        sleep 0.1
    done
    echo "command $SIGNER_SEQ ($*): no answer within 30 s"
    return 1
}

# Called by finish (tests/lib/checks.sh).
finish_cleanup() {
    pcsc_cleanup
}
