# SPDX-License-Identifier: Apache-2.0
# Pools: one key on 2 and on 4 virtual cards behind one pcscd (filled with wrap-key/unwrap-key under
# one DKEK), served by nginx (4 workers) and HAProxy from ONE key-reference file with pool=yes.
# Checks: every handshake succeeds and verifies; every card of the pool signs; a card removed during a
# run costs no failed handshake beyond the one in flight (the operation is retried on another card);
# the card is used again after it is back, without restarting the server.
#
# POOL_HANDSHAKES (default 24): handshakes per phase.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_tls.sh"
. "$(dirname "$0")/lib_pool.sh"
need_tls
need_cmd nginx haproxy
N=${POOL_HANDSHAKES:-24}
MAXCARDS=4
check "four cards with one key (DKEK share, wrap-key, unwrap-key)" pool_cards_setup "$MAXCARDS" >"$T/setup.log" 2>&1 ||
    { cat "$T/setup.log"; finish; }
check "pool=yes is in the key reference" sh -c "openssl asn1parse -in '$T/pool-ec.key' | grep -q 'pool=yes'"
pool_write_cnf

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

# client_loop FILE K: K handshakes one after another, one line "ok"/"fail" each in FILE.
client_loop() {
    local i
    for i in $(seq 1 "$2"); do
        if tls_sclient "$TLS_PORT" tls1_3 | grep -q 'HTTP/1\.[01] 200'; then echo ok; else echo fail; fi >>"$1"
    done
}

# removal_phase NAME CARD: 4 parallel clients, N handshakes in all; card CARD is removed once a
# quarter of them are done. At most one may fail (the one in flight on that card when it went);
# reports how many did.
removal_phase() {
    local name=$1 card=$2 k pids=() done_ fails i
    rm -f "$T/rm.$name".*
    for k in 1 2 3 4; do
        : >"$T/rm.$name.$k"
        client_loop "$T/rm.$name.$k" $((N / 4)) &
        pids+=($!)
    done
    for i in $(seq 600); do
        done_=$(cat "$T/rm.$name".* | wc -l)
        [ "$done_" -ge $((N / 4)) ] && break
        sleep 0.05
    done
    sim_stop "$card"
    for k in "${pids[@]}"; do wait "$k"; done
    wait_no_card "$card" || return 1
    fails=$(cat "$T/rm.$name".* | grep -c fail || true)
    echo "$name: $fails of $(cat "$T/rm.$name".* | wc -l) handshakes failed; card $card removed after $done_"
    POOL_REPORT+=("$name: card $card removed during $N handshakes (4 parallel clients): $fails failed")
    [ "$fails" -le 1 ]
}

# back_phase CARD: after reinsertion the card signs again (the pool probes an absent card every
# 2 s): handshakes until it does, bounded by time (60 s), not by a count that a fast machine
# would run through before the first probe.
back_phase() {
    local card=$1 before i=0 end=$((SECONDS + 60))
    before=$(signs "$card")
    while [ "$SECONDS" -lt "$end" ]; do
        i=$((i + 1))
        tls_sclient "$TLS_PORT" tls1_3 | grep -q 'HTTP/1\.[01] 200' || { echo "handshake $i failed"; return 1; }
        [ "$(signs "$card")" -gt "$before" ] && { echo "card $card signs again after $i handshakes"; return 0; }
    done
    echo "card $card did not sign again within 60 s ($i handshakes)"
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
