# SPDX-License-Identifier: Apache-2.0
# Shared by the TLS benchmarks (source after tests/integration/lib_tls.sh):
#   rate NAME   CLIENTS parallel `openssl s_time -new` runs (full TLS 1.3 handshakes, verified
#               against $T/ca.pem) of SECS seconds against $TLS_PORT; prints handshakes/s (sum).
rate() {
    local i pids=()
    for i in $(seq "$CLIENTS"); do
        OPENSSL_CONF=/dev/null openssl s_time -connect "127.0.0.1:$TLS_PORT" -new -tls1_3 -verify 2 \
            -CAfile "$T/ca.pem" -time "$SECS" >"$T/$1.$i.out" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    awk '/connections in [0-9.]+ real seconds/ { n += $1; s = $4 } END { printf "%.1f", n / s }' "$T/$1".*.out
}
