#!/usr/bin/env bash
# Puts the licence identifier into every source file that lacks it:
#   ./scripts/spdx.sh            add "SPDX-License-Identifier: Apache-2.0" where it is missing
#   ./scripts/spdx.sh --check    list the files that lack it; exit 1 if there are any
#   ./scripts/spdx.sh --help
# Files: every .c, .h, .sh, .cmake and CMakeLists.txt file outside the build trees (/build*/).
# The identifier becomes the first comment line: line 1 (/* ... */ in C, # ... elsewhere), or
# line 2 after a #! line. A file that has it in its first 3 lines is left alone, so running the
# script again changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
ID="SPDX-License-Identifier: Apache-2.0"

mode=add
. scripts/lib/args.sh
if script_flag --check "$@"; then mode=check; fi

source_files() {
    # Everything below the top directory except build trees (/build*/, as in .gitignore) and .git.
    find . \( -path './build*' -o -path ./.git \) -prune -o -type f \
        \( -name '*.c' -o -name '*.h' -o -name '*.sh' -o -name '*.cmake' -o -name CMakeLists.txt \) -print |
        sed 's#^\./##' | sort
}

has_id() { head -n 3 "$1" | grep -qF "$ID"; }

missing=0
while read -r f; do
    has_id "$f" && continue
    if [ "$mode" = check ]; then
        echo "$f"
        missing=$((missing + 1))
        continue
    fi
    case "$f" in
        *.c|*.h) line="/* $ID */" ;;
        *) line="# $ID" ;;
    esac
    tmp=$(mktemp "$f.spdx.XXXXXX")
    if head -n 1 "$f" | grep -q '^#!'; then
        { head -n 1 "$f"; echo "$line"; tail -n +2 "$f"; } >"$tmp"
    else
        { echo "$line"; cat "$f"; } >"$tmp"
    fi
    chmod --reference="$f" "$tmp"
    mv "$tmp" "$f"
    echo "added: $f"
done < <(source_files)

if [ "$mode" = check ] && [ "$missing" -gt 0 ]; then
    echo "$missing file(s) without '$ID'; run ./scripts/spdx.sh to add it" >&2
    exit 1
fi
exit 0
