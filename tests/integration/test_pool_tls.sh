# Pools: one key on 2 and on 4 virtual cards behind one pcscd (filled with wrap-key/unwrap-key under
# one DKEK), served by nginx (4 workers) and HAProxy from ONE key-reference file with pool=yes.
# Checks: every handshake succeeds and verifies; every card of the pool signs; a card removed during a
# run costs no failed handshake beyond the one in flight (the operation is retried on another card);
# the card is used again after it is back, without restarting the server.
#
# POOL_HANDSHAKES (default 24): handshakes per phase.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_tls.sh"
need_tls
need_cmd nginx haproxy
N=${POOL_HANDSHAKES:-24}
MAXCARDS=4
export SCHSM_POOL_LOCK_DIR="$T/locks"
printf '%s\n' "$PIN" >"$T/pin"
chmod 600 "$T/pin"
export TOOL_PIN=$PIN SHAREPW=pool-share-pw

# The cards are filled through sim: readers (same state files that pcscd serves later): one DKEK
# share imported into every card, the key generated on card 0, wrapped, unwrapped into the others.
st() { local i=$1; shift; "$TOOL" --reader "sim:$T/card$i.state" --pin-source env:TOOL_PIN "$@"; }
setup_cards() {
    local i
    for i in $(seq 0 $((MAXCARDS - 1))); do
        st "$i" init --so-pin "$SO_PIN" --yes --dkek-shares 1 || return 1
    done
    st 0 create-dkek-share --out "$T/dkek.pbe" --password-source env:SHAREPW || return 1
    for i in $(seq 0 $((MAXCARDS - 1))); do
        st "$i" import-dkek-share --in "$T/dkek.pbe" --password-source env:SHAREPW || return 1
    done
    st 0 keygen --type ec:prime256v1 --label pool-ec --id 0a || return 1
    st 0 wrap-key --label pool-ec --out "$T/pool-ec.wrap" || return 1
    for i in $(seq 1 $((MAXCARDS - 1))); do
        st "$i" unwrap-key --in "$T/pool-ec.wrap" || return 1
    done
    # A different key under the same label and ID on no card would be refused by the public-key
    # comparison; the key-reference file names card 0 by serial and asks for the pool.
    SCHSM_READER="sim:$T/card0.state" openssl pkey $PROV -in "schsm:object=pool-ec;type=private;pool=yes" \
        -passin "file:$T/pin" -out "$T/pool-ec.key" </dev/null || return 1
    SCHSM_READER="sim:$T/card0.state" openssl pkey $PROV -in "schsm:object=pool-ec;type=public" \
        -pubin -pubout -out "$T/pool-ec.pub" </dev/null 2>/dev/null ||
        SCHSM_READER="sim:$T/card0.state" openssl pkey $PROV -in "$T/pool-ec.key" -passin "file:$T/pin" \
            -pubout -out "$T/pool-ec.pub" </dev/null || return 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
        -out "$T/ca.pem" -subj "/CN=schsm pool test CA" -days 2 || return 1
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/ext.cnf"
    SCHSM_READER="sim:$T/card0.state" openssl req $PROV -new -key "$T/pool-ec.key" -passin "file:$T/pin" \
        -subj "/CN=localhost" -out "$T/pool-ec.csr" </dev/null &&
    openssl x509 -req -in "$T/pool-ec.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
        -extfile "$T/ext.cnf" -out "$T/pool-ec.pem"
}
check "four cards with one key (DKEK share, wrap-key, unwrap-key)" setup_cards >"$T/setup.log" 2>&1 ||
    { cat "$T/setup.log"; finish; }
check "the key-reference file records the pool" grep -q . "$T/pool-ec.key"
check "pool=yes is in the key reference" sh -c "openssl asn1parse -in '$T/pool-ec.key' | grep -q 'pool=yes'"

# Card I's SIGN commands so far (the virtual card traces what it receives).
signs() { grep -c '^apdu> 80 68' "$T/sim$1.trace" 2>/dev/null || true; }

cat >"$T/pool.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
schsm = schsm_sect
default = default_sect
[default_sect]
activate = 1
[schsm_sect]
module = $SCHSM_BUILD/lib/schsm.so
activate = 1
pin-source = file:$T/pin
CNF

# run_phase NAME: N handshakes; passes when all succeed.
run_phase() { tls_run "$1" "$TLS_PORT" "$N" tls1_3; }

# every_card_signed BEFORE...: each card's SIGN count grew.
every_card_signed() {
    local i=0 b
    for b in "$@"; do
        [ "$(signs $i)" -gt "$b" ] || { echo "card $i signed nothing (still $b)"; return 1; }
        i=$((i + 1))
    done
}

# removal_phase NAME CARD: handshakes while card CARD is removed mid-run. At most one may fail
# (the one in flight when the card went); reports how many did.
removal_phase() {
    local name=$1 card=$2 i out fails=0
    for i in $(seq 1 "$N"); do
        [ "$i" -eq 3 ] && sim_stop "$card"
        out=$(tls_sclient "$TLS_PORT" tls1_3)
        printf '%s' "$out" | grep -q 'HTTP/1\.[01] 200' || fails=$((fails + 1))
    done
    wait_no_card "$card" || return 1
    echo "$name: $fails of $N handshakes failed while card $card was removed"
    POOL_REPORT+=("$name: card $card removed during $N handshakes: $fails failed")
    [ "$fails" -le 1 ]
}

# back_phase CARD: after reinsertion the card signs again (probed every 2 s): handshakes until it
# does, at most 200.
back_phase() {
    local card=$1 before i
    before=$(signs "$card")
    for i in $(seq 200); do
        tls_sclient "$TLS_PORT" tls1_3 | grep -q 'HTTP/1\.[01] 200' || { echo "handshake $i failed"; return 1; }
        [ "$(signs "$card")" -gt "$before" ] && { echo "card $card signs again after $i handshakes"; return 0; }
    done
    echo "card $card did not sign again"
    return 1
}

POOL_REPORT=()
export SCHSM_SIM_DEBUG=apdu
pcsc_start "$MAXCARDS"
for ncards in 2 4; do
    # Pools of 2: cards 2 and 3 are taken out of their readers first.
    for i in $(seq 0 $((MAXCARDS - 1))); do
        if [ "$i" -ge "$ncards" ]; then
            [ -n "${SIM_PID[$i]:-}" ] && { sim_stop "$i"; wait_no_card "$i"; }
        elif [ -z "${SIM_PID[$i]:-}" ]; then
            sim_start "$i"; wait_card "$i"
        fi
    done
    for server in nginx haproxy; do
        cfg="$server-$ncards"
        if [ "$server" = nginx ]; then
            check "$cfg: start (4 workers)" nginx_start "$cfg" "$T/pool.cnf" 4 pool-ec || continue
        else
            check "$cfg: start" haproxy_start "$cfg" "$T/pool.cnf" pool-ec || continue
        fi
        before=(); for i in $(seq 0 $((ncards - 1))); do before+=("$(signs $i)"); done
        check "$cfg: $N handshakes" run_phase "$cfg"
        check "$cfg: every card of the pool signed" every_card_signed "${before[@]}"
        check "$cfg: card 1 removed mid-run, at most the handshake in flight fails" removal_phase "$cfg" 1
        sim_start 1
        check "$cfg: card 1 back in its reader" wait_card 1
        check "$cfg: card 1 serves again without a server restart" back_phase 1
        if [ "$server" = nginx ]; then nginx_stop; else haproxy_stop; fi
    done
done
check_fail "PIN never in the traces" grep -rq "$PIN" "$T"/nginx-*/error.log "$T"/haproxy-*/stdout.log
for l in "${POOL_REPORT[@]}"; do echo "$l"; done
tls_finish
