# SPDX-License-Identifier: Apache-2.0
# TLS helpers on top of lib.sh (source lib.sh first): a card with server and client keys, a test CA,
# openssl.cnf files activating schsm before or after default, and nginx / HAProxy / s_server started
# on 127.0.0.1 with free ports and stopped by PID. Handshake loops count the APDUs each handshake
# costs from the server's own trace (SCHSM_DEBUG=apdu, SCHSM_DEBUG_FILE per server).
#
#   tls_card_setup          init card 0, keys web-ec256 web-ec384 web-rsa2048 client-ec256, key-reference
#                           files $T/KEY.key, CA $T/ca.pem, certificates $T/KEY.pem (CN localhost)
#   tls_write_cnf ORDER     $T/ORDER.cnf, ORDER = schsm-first | default-first (extra lines: $TLS_CNF_EXTRA)
#   nginx_start NAME CNF WORKERS KEY [PROTO] [extra server lines]   / nginx_stop
#   haproxy_start NAME CNF KEY / haproxy_stop
#   s_server_start NAME CNF args... / s_server_stop
#   tls_run NAME PORT N PROTO [s_client args]   N handshakes (s_client and curl alternating)
#
# Environment: TLS_HANDSHAKES (default 20) sets N for the configuration matrix; TLS_HANDSHAKES_FULL
# (default 200) for the representative configurations; see the test scripts.

TLS_HANDSHAKES=${TLS_HANDSHAKES:-20}
TLS_HANDSHAKES_FULL=${TLS_HANDSHAKES_FULL:-200}
TLS_KEYS="web-ec256 web-ec384 web-rsa2048"
NGINX_PID=
HAPROXY_PID=
S_SERVER_PID=
TLS_PORT=
TLS_TRACE=
# Summary lines collected by tls_run, printed by tls_report.
TLS_SUMMARY=()

need_tls() {
    need "$TOOL" "$SCHSM_BUILD/lib/schsm.so"
    need_cmd openssl curl timeout setsid
}

# Runs a server binary under the ASan runtime when scripts/test.sh --sanitize asks for it.
tls_env() {
    if [ -n "${SCHSM_ASAN_PRELOAD:-}" ]; then
        exec env LD_PRELOAD="$SCHSM_ASAN_PRELOAD" ASAN_OPTIONS=detect_leaks=0 "$@"
    else
        exec "$@"
    fi
}

tls_cleanup() {
    nginx_stop
    haproxy_stop
    s_server_stop
    pcsc_cleanup
}
trap tls_cleanup EXIT

# A free TCP port for a server, claimed for this test (free_port in tests/lib/checks.sh).
tls_free_port() { free_port; }

wait_port() {   # PORT PID: until PID (or a child) listens on PORT; see wait_listen in checks.sh
    wait_listen "$1" "$2"
}

# --- the card and the PKI --------------------------------------------------------------------

tls_card_setup() {
    local r k
    r=$(reader_name 0)
    TLS_READER=$r
    printf '%s\n' "$PIN" >"$T/pin"
    chmod 600 "$T/pin"
    "$TOOL" --reader "$r" init --so-pin "$SO_PIN" --pin "$PIN" --yes >"$T/setup.log" 2>&1 || {
        echo "FATAL: init failed"; cat "$T/setup.log"; exit 1; }
    local -A type=([web-ec256]=ec:prime256v1 [web-ec384]=ec:secp384r1 [web-rsa2048]=rsa:2048
                   [client-ec256]=ec:prime256v1)
    for k in web-ec256 web-ec384 web-rsa2048 client-ec256; do
        "$TOOL" --reader "$r" --pin-source "file:$T/pin" keygen --type "${type[$k]}" --label "$k" \
            >>"$T/setup.log" 2>&1 || { echo "FATAL: keygen $k failed"; cat "$T/setup.log"; exit 1; }
        SCHSM_READER="$r" openssl pkey $PROV -in "schsm:object=$k;type=private" -passin "file:$T/pin" \
            -out "$T/$k.key" >>"$T/setup.log" 2>&1 </dev/null || {
            echo "FATAL: key reference for $k failed"; cat "$T/setup.log"; exit 1; }
    done
    # A software CA; the leaf certificates are requested with the card keys (CSR signed by the card).
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
        -out "$T/ca.pem" -subj "/CN=schsm test CA" -days 2 >>"$T/setup.log" 2>&1 || {
        echo "FATAL: CA"; cat "$T/setup.log"; exit 1; }
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$T/ext.cnf"
    for k in web-ec256 web-ec384 web-rsa2048 client-ec256; do
        SCHSM_READER="$r" openssl req $PROV -new -key "$T/$k.key" -passin "file:$T/pin" -subj "/CN=localhost" \
            -out "$T/$k.csr" >>"$T/setup.log" 2>&1 </dev/null &&
        openssl x509 -req -in "$T/$k.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
            -extfile "$T/ext.cnf" -out "$T/$k.pem" >>"$T/setup.log" 2>&1 || {
            echo "FATAL: certificate for $k failed"; cat "$T/setup.log"; exit 1; }
    done
}

# tls_write_cnf ORDER: schsm activated through openssl.cnf (docs/servers.md), listed before
# (schsm-first) or after (default-first) the default provider. Lines in $TLS_CNF_EXTRA go into the
# schsm section (e.g. "pin-source = file:...").
tls_write_cnf() {
    local order=$1 a b
    if [ "$order" = schsm-first ]; then a=schsm; b=default; else a=default; b=schsm; fi
    cat >"$T/$order.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
$a = ${a}_sect
$b = ${b}_sect
[default_sect]
activate = 1
[schsm_sect]
module = $SCHSM_BUILD/lib/schsm.so
activate = 1
reader = $TLS_READER
${TLS_CNF_EXTRA:-}
CNF
    echo "$T/$order.cnf"
}

# --- servers ---------------------------------------------------------------------------------

# nginx_start NAME CNF WORKERS KEY [PROTO] [EXTRA]: nginx (master + WORKERS workers) serving
# $T/KEY.pem with key-reference $T/KEY.key, PIN through ssl_password_file. Sets TLS_PORT, TLS_TRACE.
nginx_start() {
    local name=$1 cnf=$2 workers=$3 key=$4 proto=${5:-TLSv1.2 TLSv1.3} extra=${6:-}
    local d="$T/nginx-$name" cert=${NGINX_CERT:-$T/$key.pem} pwline
    need_cmd nginx
    mkdir -p "$d/logs"
    TLS_PORT=$(tls_free_port) || { echo "no free port"; return 1; }
    TLS_TRACE="$d/apdu.trace"
    : >"$TLS_TRACE"
    pwline="ssl_password_file $T/pin;"
    [ -n "${NGINX_NO_PASSWORD_FILE:-}" ] && pwline=
    cat >"$d/nginx.conf" <<CONF
user ${NGINX_USER:-root};
master_process on;
worker_processes $workers;
pid $d/nginx.pid;
error_log $d/error.log info;
# nginx clears the environment of its workers; keep what the card and its tracing need.
env OPENSSL_CONF;
env PCSCLITE_CSOCK_NAME;
env SCHSM_DEBUG;
env SCHSM_DEBUG_FILE;
env SCHSM_POOL_LOCK_DIR;
events { worker_connections 64; }
http {
    log_format w '\$pid \$ssl_protocol \$ssl_cipher \$status client:\$ssl_client_verify';
    access_log $d/access.log w;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    server {
        listen 127.0.0.1:$TLS_PORT ssl;
        server_name localhost;
        ssl_certificate $cert;
        ssl_certificate_key $T/$key.key;
        $pwline
        ssl_protocols $proto;
        ssl_session_tickets off;
        ssl_session_cache off;
        $extra
        location / { return 200 "hello from nginx \$pid\n"; }
    }
}
CONF
    OPENSSL_CONF=$cnf SCHSM_DEBUG=apdu SCHSM_DEBUG_FILE=$TLS_TRACE \
        tls_env setsid nginx -p "$d" -c "$d/nginx.conf" -g 'daemon off;' </dev/null >"$d/stdout.log" 2>&1 &
    NGINX_PID=$!
    if ! wait_port "$TLS_PORT" "$NGINX_PID"; then
        echo "nginx did not start:"
        tail -n 20 "$d/error.log" "$d/stdout.log"
        nginx_stop
        return 1
    fi
    TLS_LOAD_APDUS=$(apdus "$TLS_TRACE")
    TLS_SUMMARY+=("$(printf '%-44s key loaded in the master: %d APDUs' "$name" "$TLS_LOAD_APDUS")")
}

nginx_stop() {
    [ -n "$NGINX_PID" ] || return 0
    stop_pid "$NGINX_PID"   # the master stops its workers on SIGTERM
    NGINX_PID=
}

nginx_worker_pids() {
    [ -n "$NGINX_PID" ] && pgrep -P "$NGINX_PID" | sort -n
}

# haproxy_start NAME CNF KEY [PROTO-MIN] [PROVIDER]: HAProxy in master-worker mode (-W), key and
# certificate in one crt file; the PIN from pin-source in CNF (HAProxy 2.6 has no passphrase option).
# PROVIDER=ssl-provider loads schsm with HAProxy's own ssl-provider keyword instead of CNF.
haproxy_start() {
    local name=$1 cnf=$2 key=$3 minver=${4:-TLSv1.2} mode=${5:-cnf}
    local d="$T/haproxy-$name" glob=
    need_cmd haproxy
    mkdir -p "$d"
    TLS_PORT=$(tls_free_port) || { echo "no free port"; return 1; }
    TLS_TRACE="$d/apdu.trace"
    : >"$TLS_TRACE"
    cat "$T/$key.pem" "$T/$key.key" >"$d/crt.pem"
    if [ "$mode" = ssl-provider ]; then
        glob="    ssl-provider-path $SCHSM_BUILD/lib
    ssl-provider default
    ssl-provider schsm"
    fi
    cat >"$d/haproxy.cfg" <<CONF
global
    master-worker
    pidfile $d/haproxy.pid
    nbthread ${HAPROXY_THREADS:-2}
$glob
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:$TLS_PORT ssl crt $d/crt.pem ssl-min-ver $minver no-tls-tickets
    http-request return status 200 content-type text/plain string "hello from haproxy"
CONF
    OPENSSL_CONF=$cnf SCHSM_DEBUG=apdu SCHSM_DEBUG_FILE=$TLS_TRACE \
        tls_env setsid haproxy -W -f "$d/haproxy.cfg" </dev/null >"$d/stdout.log" 2>&1 &
    HAPROXY_PID=$!
    if ! wait_port "$TLS_PORT" "$HAPROXY_PID"; then
        echo "haproxy did not start:"
        tail -n 20 "$d/stdout.log"
        haproxy_stop
        return 1
    fi
    TLS_LOAD_APDUS=$(apdus "$TLS_TRACE")
    TLS_SUMMARY+=("$(printf '%-44s key loaded before serving: %d APDUs' "$name" "$TLS_LOAD_APDUS")")
}

haproxy_stop() {
    [ -n "$HAPROXY_PID" ] || return 0
    stop_pid "$HAPROXY_PID"   # the master (-W) stops its worker
    HAPROXY_PID=
}

# s_server_start NAME CNF ARGS...: openssl s_server -www on a free port (one process, no fork).
s_server_start() {
    local name=$1 cnf=$2
    shift 2
    local d="$T/s_server-$name"
    mkdir -p "$d"
    TLS_PORT=$(tls_free_port) || { echo "no free port"; return 1; }
    TLS_TRACE="$d/apdu.trace"
    : >"$TLS_TRACE"
    OPENSSL_CONF=$cnf SCHSM_DEBUG=apdu SCHSM_DEBUG_FILE=$TLS_TRACE \
        tls_env setsid openssl s_server -accept "127.0.0.1:$TLS_PORT" -www -no_ticket -no_cache "$@" \
        </dev/null >"$d/stdout.log" 2>&1 &
    S_SERVER_PID=$!
    if ! wait_port "$TLS_PORT" "$S_SERVER_PID"; then
        echo "s_server did not start:"
        tail -n 20 "$d/stdout.log"
        s_server_stop
        return 1
    fi
    TLS_LOAD_APDUS=$(apdus "$TLS_TRACE")
    TLS_SUMMARY+=("$(printf '%-44s key loaded before serving: %d APDUs' "$name" "$TLS_LOAD_APDUS")")
}

s_server_stop() {
    [ -n "$S_SERVER_PID" ] || return 0
    stop_pid "$S_SERVER_PID"
    S_SERVER_PID=
}

# --- clients ---------------------------------------------------------------------------------

# One s_client handshake with a request; the answer must come and the chain verify.
# tls_sclient PORT PROTO [args]: PROTO tls1_2 | tls1_3.
tls_sclient() {
    local port=$1 proto=$2
    shift 2
    printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' |
        OPENSSL_CONF=${TLS_CLIENT_CNF:-/dev/null} timeout 20 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
            -"$proto" -verify_return_error -CAfile "$T/ca.pem" -no_ticket -brief -ign_eof "$@" 2>&1
}

tls_curl() {
    local port=$1 proto=$2 v
    [ "$proto" = tls1_3 ] && v="--tlsv1.3 --tls-max 1.3" || v="--tlsv1.2 --tls-max 1.2"
    OPENSSL_CONF=/dev/null timeout 20 curl -sS --no-sessionid $v --cacert "$T/ca.pem" -o /dev/null \
        -w 'HTTP %{http_code}\n' --resolve "localhost:$port:127.0.0.1" "https://localhost:$port/" 2>&1
}

apdus() { grep -c '^apdu>' "$1" 2>/dev/null || true; }

# tls_run NAME PORT N PROTO [s_client args]: N handshakes, even ones s_client, odd ones curl, each
# checked (verification and an HTTP 200 answer). Records the APDUs of each handshake (from the
# server's trace; SCLIENT_ONLY=1: s_client only, e.g. for client keys) in $T/NAME.apdus ("i client apdus"), and adds a summary line. Passes when all
# handshakes succeed. SIGALG (optional) is a pattern the s_client "Peer signature type" must match.
tls_run() {
    local name=$1 port=$2 n=$3 proto=$4
    shift 4
    local i ok=0 before after out first= steady=() tool
    : >"$T/$name.apdus"
    for i in $(seq 0 $((n - 1))); do
        before=$(apdus "$TLS_TRACE")
        if [ $((i % 2)) = 0 ] || [ -n "${SCLIENT_ONLY:-}" ]; then
            tool=s_client
            out=$(tls_sclient "$port" "$proto" "$@")
            if printf '%s' "$out" | grep -q '^Verification: OK' &&
               printf '%s' "$out" | grep -q 'HTTP/1\.[01] 200' &&
               { [ -z "${SIGALG:-}" ] || printf '%s' "$out" | grep -Eq "^(Peer )?[Ss]ignature type: ($SIGALG)\$"; }; then
                ok=$((ok + 1))
            else
                echo "handshake $i (s_client) failed:"; printf '%s\n' "$out" | tail -n 8 | sed 's/^/     | /'
            fi
        else
            tool=curl
            out=$(tls_curl "$port" "$proto")
            if printf '%s' "$out" | grep -q '^HTTP 200$'; then
                ok=$((ok + 1))
            else
                echo "handshake $i (curl) failed:"; printf '%s\n' "$out" | tail -n 5 | sed 's/^/     | /'
            fi
        fi
        after=$(apdus "$TLS_TRACE")
        echo "$i $tool $((after - before))" >>"$T/$name.apdus"
    done
    TLS_LAST_OK=$ok
    local summary
    summary=$(awk -v n="$n" -v ok="$ok" -v name="$name" '
        { c[NR] = $3; total += $3 }
        END {
            mn = 1e9; mx = 0; s = 0
            for (i = 2; i <= NR; i++) { if (c[i] < mn) mn = c[i]; if (c[i] > mx) mx = c[i]; s += c[i] }
            if (NR < 2) { mn = mx = c[1] }
            printf "%-44s tried %4d ok %4d  APDUs: first %d, later min %d max %d avg %.2f", name, n, ok, c[1], mn, mx, (NR > 1 ? s / (NR - 1) : c[1])
        }' "$T/$name.apdus")
    TLS_SUMMARY+=("$summary")
    echo "     $summary"
    [ "$ok" -eq "$n" ]
}

# tls_steady_is NAME K: every handshake after the first K of tls_run NAME cost exactly 1 APDU.
tls_steady_is_one() {
    local name=$1 skip=${2:-1}
    awk -v skip="$skip" 'NR > skip && $3 != 1 { bad++; print "handshake " $1 " (" $2 ") cost " $3 " APDUs" }
        END { exit bad > 0 }' "$T/$name.apdus"
}

# check_worker_costs NAME DIR MAXFIRST (nginx): from the access log of the tls_run NAME (one request
# per handshake, clients one after another, so line i is handshake i): each worker's first
# handshake costs at most MAXFIRST APDUs, every other one exactly 1. Adds a summary line.
check_worker_costs() {   # NAME DIR MAXFIRST
    local name=$1 d=$2 max=$3 out rc
    out=$(paste -d' ' <(awk '{print $1}' "$d/access.log") "$T/$name.apdus" |
        awk -v max="$max" '{ pid = $1; c = $4
               if (!(pid in seen)) { seen[pid] = 1; w++; firsts = firsts " " c
                                     if (c > max) { bad++; print "worker " pid " first handshake: " c " APDUs" } }
               else if (c != 1) { bad++; print "handshake " $2 " (worker " pid "): " c " APDUs" } }
             END { print w " workers served; first handshake per worker:" firsts " APDUs; all others 1"; exit bad > 0 }')
    rc=$?
    echo "$out"
    TLS_SUMMARY+=("$(printf '%-44s %s' "$name" "$(echo "$out" | tail -n 1)")")
    return $rc
}

tls_report() {
    local l
    echo "---- TLS summary (handshakes tried / succeeded / APDUs per handshake, server side) ----"
    for l in "${TLS_SUMMARY[@]}"; do echo "$l"; done
    if [ -n "${TLS_REPORT_FILE:-}" ]; then
        for l in "${TLS_SUMMARY[@]}"; do echo "$l"; done >>"$TLS_REPORT_FILE"
    fi
}

tls_finish() {
    nginx_stop
    haproxy_stop
    s_server_stop
    tls_report
    finish
}
