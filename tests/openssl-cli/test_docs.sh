#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The documentation's commands, run as written (fenced ```sh blocks extracted from the files) against
# a virtual card: README "A first look", docs/openssl-cnf.md (its openssl.cnf and the commands using
# it), docs/servers.md sections 1 (key, reference, certificate, certificate back from the card as a
# clean PEM), 2 (openssl.cnf), 4 (nginx configuration, nginx -t) and 5 (HAProxy crt file and
# configuration, haproxy -c).
# "Installed" is simulated: the tools on PATH, OPENSSL_MODULES pointing at the built module (so a
# config without `module =` and `-provider schsm` without -provider-path work). Absolute paths under
# /etc/ in the docs are moved under the test directory; nothing else is changed.
. "$(dirname "$0")/lib.sh"
need "$TOOL" "$SCHSM_BUILD/bin/schsm-sim"

DOCS="$SCHSM_SOURCE/docs"
export PATH="$SCHSM_BUILD/bin:$PATH"
export OPENSSL_MODULES="$SCHSM_BUILD/lib"

. "$SCHSM_SOURCE/tests/lib/docs.sh"

# A fresh virtual card with PIN file $T/etc/schsm/pin, like a user's /etc/schsm/pin.
mkdir -p "$T/etc/schsm" "$T/etc/ssl" "$T/etc/nginx" "$T/etc/haproxy"
(umask 077; printf '%s\n' "$PIN" >"$T/etc/schsm/pin")

# --- README: A first look (verbatim, in a temp HOME, with ./build being this build) ------------
mkdir -p "$T/readme/home"
ln -s "$SCHSM_BUILD" "$T/readme/build"
doc_block "$SCHSM_SOURCE/README.md" "## A first look" sh >"$T/readme.sh"
check "README first look: block found" test -s "$T/readme.sh"
check_fail "README first look: no state file in shared /tmp" grep -q 'sim:/tmp/' "$T/readme.sh"
readme_run() { (unset SCHSM_READER; export HOME="$T/readme/home"; run_block "$T/readme" "$T/readme.sh"); }
check "README first look runs" readme_run
check_log_has "README first look runs" 'web'
check_log_has "README first look runs" '^apdu> '
check "README first look: card state in HOME" test -s "$T/readme/home/schsm-card.state"

# --- docs/openssl-cnf.md ---------------------------------------------------------------------
init_card
"$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label web >"$T/kg.log" 2>&1 || { cat "$T/kg.log"; exit 1; }
doc_block "$DOCS/openssl-cnf.md" "# Activating schsm in openssl.cnf" ini >"$T/etc/ssl/openssl-schsm.cnf"
check "openssl-cnf.md: example = examples/schsm.cnf (installed copy)" \
    cmp "$T/etc/ssl/openssl-schsm.cnf" "$SCHSM_SOURCE/examples/schsm.cnf"
# Pasted on another machine it must not name this machine's reader, PIN file or module path.
check_fail "openssl-cnf.md: no active machine-specific settings" \
    grep -Eq '^[[:space:]]*(module|reader|serial|token|pin-source|pin-value)[[:space:]]*=' "$T/etc/ssl/openssl-schsm.cnf"
mkdir -p "$T/cnf"
doc_block "$DOCS/openssl-cnf.md" "# Activating schsm in openssl.cnf" sh >"$T/cnf.sh"
check "openssl-cnf.md: commands run as written" run_block "$T/cnf" "$T/cnf.sh"
check_log_has "openssl-cnf.md: commands run as written" 'name: schsm: SmartCard-HSM'
check_log_has "openssl-cnf.md: commands run as written" 'Verified OK'
check "openssl-cnf.md: web.key is a reference" grep -q 'BEGIN SCHSM KEY REFERENCE' "$T/cnf/web.key"

# --- docs/servers.md 1: key, reference file, certificate; the certificate back as clean PEM ----
init_card
mkdir -p "$T/srv"
doc_block "$DOCS/servers.md" "## 1. Key, reference file, certificate" sh 1 >"$T/srv1.sh"
doc_block "$DOCS/servers.md" "## 1. Key, reference file, certificate" sh 2 >"$T/srv2.sh"
check "servers.md 1: key, reference, CSR, certificate" run_block "$T/srv" "$T/srv1.sh"
check "servers.md 1: CSR signed on the card" openssl req -in "$T/srv/web.csr" -verify -noout
check "servers.md 1: certificate extraction command" run_block "$T/srv" "$T/srv2.sh"
# The file holds exactly the certificate: same DER as the one imported, no storeutl text around it.
check "servers.md 1: web.pem is the imported certificate" \
    cmp <(openssl x509 -in "$T/srv/web.pem" -outform DER) <(openssl x509 -in "$T/etc/nginx/web.pem" -outform DER)
check "servers.md 1: web.pem is clean PEM" \
    sh -c "head -n1 '$T/srv/web.pem' | grep -qx -- '-----BEGIN CERTIFICATE-----' && tail -n1 '$T/srv/web.pem' | grep -qx -- '-----END CERTIFICATE-----' && ! grep -Eq 'Total found|^[0-9]+: ' '$T/srv/web.pem'"
# The storeutl alternative the text gives (options before the URI, piped through x509).
check "servers.md 1: storeutl | x509 alternative" sh -c \
    "openssl storeutl -provider schsm -provider default -certs 'schsm:object=web;type=cert' | openssl x509 -out '$T/srv/web2.pem'"
check "servers.md 1: both ways give the same file" cmp "$T/srv/web.pem" "$T/srv/web2.pem"

# --- docs/servers.md 2 and 5: openssl.cnf for servers, HAProxy crt file and configuration -------
doc_block "$DOCS/servers.md" "## 2. openssl.cnf activation" ini >"$T/etc/ssl/openssl-server.cnf"
check_fail "servers.md 2: no active machine-specific settings" \
    grep -Eq '^[[:space:]]*(module|reader|pin-source|pin-value)[[:space:]]*=' "$T/etc/ssl/openssl-server.cnf"
check "servers.md 2: the config loads both providers" env OPENSSL_CONF="$T/etc/ssl/openssl-server.cnf" openssl list -providers
check_log_has "servers.md 2: the config loads both providers" 'schsm'
check_log_has "servers.md 2: the config loads both providers" 'default'
if command -v nginx >/dev/null 2>&1; then
    # servers.md 4: the nginx block as the top of a complete nginx.conf; nginx -t loads the key
    # reference through openssl.cnf and logs in with ssl_password_file, as the master would.
    mkdir -p "$T/nginx/logs"
    { echo "pid $T/nginx/nginx.pid; error_log $T/nginx/error.log; events {}"
      doc_block "$DOCS/servers.md" "## 4. nginx" nginx | sed "s#/etc/#$T/etc/#g"; } >"$T/nginx/nginx.conf"
    check "servers.md 4: block found (key reference and PIN file)" \
        sh -c "grep -q 'ssl_certificate_key' '$T/nginx/nginx.conf' && grep -q 'ssl_password_file' '$T/nginx/nginx.conf'"
    check "servers.md 4: nginx -t accepts the configuration" env OPENSSL_CONF="$T/etc/ssl/openssl-server.cnf" \
        nginx -t -p "$T/nginx/" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf"
    check_log_has "servers.md 4: nginx -t accepts the configuration" 'test is successful'
else
    echo "note: nginx not installed; the nginx configuration check is left out"
fi
doc_block "$DOCS/servers.md" "## 5. HAProxy 2.6" sh >"$T/srv5.sh"
check "servers.md 5: crt file" run_block "$T/srv" "$T/srv5.sh"
check "servers.md 5: crt file holds certificate and reference" \
    sh -c "grep -q 'BEGIN CERTIFICATE' '$T/etc/haproxy/web.crt' && grep -q 'BEGIN SCHSM KEY REFERENCE' '$T/etc/haproxy/web.crt'"
if command -v haproxy >/dev/null 2>&1; then
    doc_block "$DOCS/servers.md" "## 5. HAProxy 2.6" haproxy | sed "s#/etc/#$T/etc/#g" >"$T/haproxy.cfg"
    check "servers.md 5: block found (bind with the crt file, mode, timeouts)" \
        sh -c "grep -q 'crt $T/etc/haproxy/web.crt' '$T/haproxy.cfg' && grep -q 'mode http' '$T/haproxy.cfg' && grep -q 'timeout client' '$T/haproxy.cfg'"
    # As the text says: the PIN from pin-source in the schsm section.
    sed 's#^\# pin-source = .*#pin-source = file:'"$T"'/etc/schsm/pin#' "$T/etc/ssl/openssl-server.cnf" >"$T/haproxy.cnf"
    check "servers.md 5: haproxy -c accepts the configuration" \
        env OPENSSL_CONF="$T/haproxy.cnf" haproxy -c -f "$T/haproxy.cfg"
    check_log_has "servers.md 5: haproxy -c accepts the configuration" 'Configuration file is valid'
    check_log_lacks "servers.md 5: haproxy -c accepts the configuration" '\[WARNING\]'
else
    echo "note: haproxy not installed; the HAProxy configuration check is left out"
fi

finish
