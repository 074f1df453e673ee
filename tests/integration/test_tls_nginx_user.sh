#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The documented nginx set-up with workers running as an unprivileged user (docs/servers.md: the
# master, root, loads the key; the workers, www-data, open their own PC/SC connection). With a
# socket the workers may use, handshakes work; with a root-only socket the worker's error names
# the permission problem, not "is pcscd running" (issue 12 item 7).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_tls.sh"
need_tls
need_cmd nginx
WUSER=www-data
id "$WUSER" >/dev/null 2>&1 || WUSER=nobody
id "$WUSER" >/dev/null 2>&1 || skip "no unprivileged user (www-data, nobody) to run the workers as"
[ "$(id -u)" = 0 ] || skip "needs root (nginx switches its workers to $WUSER)"
# The workers must reach the socket: every directory above it searchable ("x", or "t" as /tmp),
# the socket read-write. When the build directory lies below a directory other users may not
# search (a checkout in a private home), the socket moves to a directory of its own in /tmp.
searchable_path() {
    local p=$1
    while [ "$p" != / ]; do
        case "$(stat -c %A "$p" | cut -c10)" in x|t) ;; *) return 1 ;; esac
        p=$(dirname "$p")
    done
}
chmod o+x "$T"   # the test directory holds the socket
if ! searchable_path "$PCSC_SOCK_DIR" && [ "$(pcscd_mode)" = activate ]; then
    [ "$PCSC_SOCK_DIR" = "$T" ] || rm -rf "$PCSC_SOCK_DIR"
    PCSC_SOCK_DIR=$(mktemp -d /tmp/schsm-nginx-user.XXXXXX)   # pcsc_cleanup removes it
    chmod 711 "$PCSC_SOCK_DIR"
    export PCSCLITE_CSOCK_NAME="$PCSC_SOCK_DIR/pcscd.comm"
fi
pcsc_start 1
tls_card_setup
cnf=$(tls_write_cnf default-first)
searchable_path "$(dirname "$PCSCLITE_CSOCK_NAME")" ||
    skip "$(dirname "$PCSCLITE_CSOCK_NAME") is not searchable by other users; the worker could not reach the socket"
check "socket open to the workers" chmod 0666 "$PCSCLITE_CSOCK_NAME"
export NGINX_USER=$WUSER
chmod 0644 "$cnf"

handshakes() {   # NAME N: N handshakes, each verified and answered
    local i
    for i in $(seq "$2"); do
        tls_sclient "$TLS_PORT" tls1_3 | grep -q 'HTTP/1\.[01] 200' || return 1
    done
}

cfg=nginx-user-ok
if check "$cfg: start, workers as $WUSER" nginx_start "$cfg" "$cnf" 2 web-ec256; then
    # Both workers forked and switched to the user (a worker is root between fork and setuid).
    check "$cfg: workers run as $WUSER" wait_for 100 sh -c "n=0; for p in \$(pgrep -P $NGINX_PID); do \
        [ \"\$(stat -c %U /proc/\$p)\" = $WUSER ] || exit 1; n=\$((n + 1)); done; [ \$n -eq 2 ]"
    check "$cfg: 10 handshakes" handshakes "$cfg" 10
    nginx_stop
fi

cfg=nginx-user-denied
check "socket root-only" chmod 0600 "$PCSCLITE_CSOCK_NAME"
if check "$cfg: start (the master, root, loads the key)" nginx_start "$cfg" "$cnf" 1 web-ec256; then
    check_fail "$cfg: handshake fails" handshakes "$cfg" 1
    log="$T/nginx-$cfg/error.log"
    check "$cfg: the worker names the permission problem" grep -q "permission denied on the PC/SC socket" "$log"
    check "$cfg: not told pcscd is down" sh -c "! grep -q 'is pcscd running' '$log'"
    nginx_stop
fi
chmod 0666 "$PCSCLITE_CSOCK_NAME"
tls_finish
