# SPDX-License-Identifier: Apache-2.0
# Pool helpers on top of lib.sh and lib_tls.sh: N virtual cards that hold one key, filled through
# sim: readers (the same state files pcscd serves later) with one DKEK share and wrap-key/unwrap-key.
#
#   pool_cards_setup N   cards 0..N-1 ($T/cardI.state) hold key "pool-ec" (EC P-256, ID 0a);
#                        $T/pool-ec.key (key-reference file with pool=yes, card 0 by serial),
#                        $T/pool-ec.pub, CA $T/ca.pem, certificate $T/pool-ec.pem (CN localhost)
#   pool_write_cnf       $T/pool.cnf: schsm (first) and default, PIN from $T/pin
#   signs I              SIGN commands card I received so far (needs SCHSM_SIM_DEBUG=apdu)
export SCHSM_POOL_LOCK_DIR="$T/locks"
export TOOL_PIN=$PIN SHAREPW=pool-share-pw
printf '%s\n' "$PIN" >"$T/pin"
chmod 600 "$T/pin"

pool_st() { local i=$1; shift; "$TOOL" --reader "sim:$T/card$i.state" --pin-source env:TOOL_PIN "$@"; }

pool_cards_setup() {
    local n=$1 i c0="sim:$T/card0.state"
    for i in $(seq 0 $((n - 1))); do
        pool_st "$i" init --so-pin "$SO_PIN" --yes --dkek-shares 1 || return 1
    done
    pool_st 0 create-dkek-share --out "$T/dkek.pbe" --password-source env:SHAREPW || return 1
    for i in $(seq 0 $((n - 1))); do
        pool_st "$i" import-dkek-share --in "$T/dkek.pbe" --password-source env:SHAREPW || return 1
    done
    pool_st 0 keygen --type ec:prime256v1 --label pool-ec --id 0a || return 1
    pool_st 0 wrap-key --label pool-ec --out "$T/pool-ec.wrap" || return 1
    for i in $(seq 1 $((n - 1))); do
        pool_st "$i" unwrap-key --in "$T/pool-ec.wrap" || return 1
    done
    pool_st 0 export-pubkey --label pool-ec --out "$T/pool-ec.pub" || return 1
    # The key-reference file names card 0 by serial and asks for the pool.
    SCHSM_READER=$c0 openssl pkey $PROV -in "schsm:object=pool-ec;type=private;pool=yes" \
        -passin "file:$T/pin" -out "$T/pool-ec.key" </dev/null || return 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
        -out "$T/ca.pem" -subj "/CN=schsm pool test CA" -days 2 || return 1
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/ext.cnf"
    SCHSM_READER=$c0 openssl req $PROV -new -key "$T/pool-ec.key" -passin "file:$T/pin" \
        -subj "/CN=localhost" -out "$T/pool-ec.csr" </dev/null &&
    openssl x509 -req -in "$T/pool-ec.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
        -extfile "$T/ext.cnf" -out "$T/pool-ec.pem"
}

pool_write_cnf() {
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
}

signs() { grep -c '^apdu> 80 68' "$T/sim$1.trace" 2>/dev/null || true; }
