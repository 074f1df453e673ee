#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Turns bench/results/peers.md (bench/peers.sh) and bench/results/pool.md (bench/pool.sh) into one
# picture, bench/results/bench.png: APDUs per cold sign per stack, and handshakes per second against
# the number of cards in a pool. Needs gnuplot (Debian gnuplot-nox, installed when run as root).
#
#   bench/plot.sh [RESULTS_DIR]      (default: bench/results)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
R=${1:-$HERE/results}
. "$HERE/../scripts/lib/deps.sh"
schsm_need_packages gnuplot-nox
[ -f "$R/peers.md" ] || { echo "no $R/peers.md: run bench/peers.sh first" >&2; exit 1; }
[ -f "$R/pool.md" ] || { echo "no $R/pool.md: run bench/pool.sh first" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# "| stack | key | APDUs | ms |" rows -> "label<TAB>apdus"; stacks shortened to their first word.
awk -F'|' '/^\| [^-]/ && $4 ~ /^ *[0-9]+/ && $2 !~ /stack/ {
    split($2, w, " "); gsub(/ /, "", $3); n = $4; sub(/ .*/, "", n); sub(/^ */, "", n)
    printf "\"%s %s\"\t%s\n", w[1] == "OpenSC" ? "OpenSC+libp11" : w[1], $3, n }' "$R/peers.md" >"$W/peers.dat"
# "| cards | nginx | ratio | haproxy | ratio | sign | ratio |" rows -> "cards nginx haproxy sign"
awk -F'|' '/^\| [0-9]/ { gsub(/ /, ""); print $2, $3, $5, $7 }' "$R/pool.md" >"$W/pool.dat"
[ -s "$W/peers.dat" ] && [ -s "$W/pool.dat" ] || { echo "the result tables have no rows" >&2; exit 1; }
base=$(awk 'NR == 1 { print $2 / $1 }' "$W/pool.dat")

gnuplot <<GP
set terminal pngcairo size 1200,500 font "sans,10"
set output "$R/bench.png"
set multiplot layout 1,2
set title "APDUs per cold openssl dgst -sign (pcscd log)"
set style data histograms
set style fill solid 0.6 border -1
set boxwidth 0.7
set yrange [0:*]
set xtics rotate by -30
set grid ytics
unset key
plot "$W/peers.dat" using 2:xtic(1) linecolor rgb "#3465a4"
set title "Pool: TLS 1.3 handshakes/s against cards (30 ms per APDU)"
set style data linespoints
set xtics norotate
set xlabel "cards in the pool"
set ylabel "handshakes/s"
set xrange [0.5:*]
set key top left
plot "$W/pool.dat" using 1:2 title "nginx, 4 workers" linewidth 2, \
     "$W/pool.dat" using 1:3 title "HAProxy, 4 threads" linewidth 2, \
     "$W/pool.dat" using 1:(column(1) * $base) title "N x the rate of one card" dashtype 2 linecolor rgb "gray"
unset multiplot
GP
echo "wrote $R/bench.png"
