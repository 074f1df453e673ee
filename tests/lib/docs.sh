# SPDX-License-Identifier: Apache-2.0
# Extracting commands from the documentation (sourced by tests/*/test_docs*.sh).
#
#   doc_block FILE HEADING LANG [N]   the Nth (default 1st) ```LANG block after the line HEADING
#   run_block DIR FILE                runs the commands in FILE with bash -eu -o pipefail in DIR,
#                                     stdin closed, every /etc/ in them moved under $T/etc/

doc_block() {
    awk -v head="$2" -v lang="$3" -v want="${4:-1}" '
        $0 == head { inside = 1; next }
        inside && $0 == "```" lang { n++; if (n == want) { f = 1; next } }
        f && /^```/ { exit }
        f { print }' "$1"
}

run_block() {
    local dir=$1 file=$2
    sed "s#/etc/#$T/etc/#g" "$file" >"$file.run"
    (cd "$dir" && bash -euo pipefail "$file.run" </dev/null)
}
