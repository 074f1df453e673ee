# SPDX-License-Identifier: Apache-2.0
# Pulling the virtual card in the middle of a command (SCHSM_SIM_FAULT, sim/fault.c), for tests of
# interrupted operations. Source it; it needs nothing else.
#
#   apdu_index STATE NTH PATTERN CMD...  the number of the NTH command APDU matching PATTERN that
#                                        CMD sends to the sim: card in STATE, run on a copy of it (the
#                                        card itself is unchanged); empty when there is none
#   pulled_from N                        a SCHSM_SIM_FAULT value: the card is pulled at APDU N and at
#                                        each of the next ones (no chance to clean up)
apdu_index() {
    local state=$1 nth=$2 pat=$3 probe="$1.probe"
    shift 3
    cp "$state" "$probe"
    { SCHSM_READER="sim:$probe" SCHSM_DEBUG=apdu "$@" 2>&1 || true; } | grep '^apdu>' | grep -n -- "$pat" |
        sed -n "${nth}s/:.*//p"
    rm -f "$probe" "$probe.lock"
}
pulled_from() { local i r=""; for i in $(seq "$1" $(($1 + 12))); do r="$r${r:+,}apdu=$i:remove"; done; echo "$r"; }
