# SPDX-License-Identifier: Apache-2.0
# Sourced by scripts/*.sh that take at most one option:
#   if script_flag --keep "$@"; then keep=1; fi
# --help/-h prints the script's header comment and exits 0; FLAG returns true, no argument false;
# anything else is a usage error (exit 2).

script_help() {
    awk 'NR == 1 && /^#!/ { next } /SPDX-License-Identifier/ { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
}

script_flag() {
    local flag=$1
    shift
    case "${1:-}" in
        -h|--help) script_help; exit 0 ;;
        "$flag") [ $# -eq 1 ] || { echo "$(basename "$0"): one argument at most (see --help)" >&2; exit 2; }; return 0 ;;
        "") return 1 ;;
        *) echo "$(basename "$0"): unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
}
