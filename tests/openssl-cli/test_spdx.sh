#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Every source file (.c, .h, .sh, CMakeLists.txt, .cmake) carries "SPDX-License-Identifier:
# Apache-2.0" in its first comment lines (scripts/spdx.sh adds it), and the script is idempotent:
# on a copy of a few files, a second run changes nothing and a shebang stays on line 1.
. "$(dirname "$0")/lib.sh"

check "every source file has the SPDX line (scripts/spdx.sh --check)" "$SCHSM_SOURCE/scripts/spdx.sh" --check

# The script on a scratch repository: adds once, in the right place, then nothing.
R="$T/repo"
mkdir -p "$R/scripts/lib" "$R/src"
cp "$SCHSM_SOURCE/scripts/spdx.sh" "$R/scripts/"
cp "$SCHSM_SOURCE/scripts/lib/args.sh" "$R/scripts/lib/"
printf '#!/bin/sh\necho hi\n' >"$R/src/a.sh"
chmod +x "$R/src/a.sh"
printf 'int x;\n' >"$R/src/b.c"
printf 'add_library(x b.c)\n' >"$R/src/CMakeLists.txt"
printf 'not a source\n' >"$R/src/c.txt"
mkdir -p "$R/build/x"
printf 'int y;\n' >"$R/build/x/gen.c"
check "spdx.sh --check finds the missing lines" sh -c "! '$R/scripts/spdx.sh' --check"
check "spdx.sh adds them" "$R/scripts/spdx.sh"
check "shebang stays first" sh -c "head -n 2 '$R/src/a.sh' | tr '\n' '|' | grep -qx '#!/bin/sh|# SPDX-License-Identifier: Apache-2.0|'"
check "C comment on line 1" sh -c "head -n 1 '$R/src/b.c' | grep -qx '/\* SPDX-License-Identifier: Apache-2.0 \*/'"
check "CMakeLists.txt" sh -c "head -n 1 '$R/src/CMakeLists.txt' | grep -qx '# SPDX-License-Identifier: Apache-2.0'"
check "other files untouched" sh -c "test \"\$(cat '$R/src/c.txt')\" = 'not a source'"
check "build trees untouched" sh -c "test \"\$(cat '$R/build/x/gen.c')\" = 'int y;'"
check "executable bit kept" test -x "$R/src/a.sh"
cp -r "$R/src" "$T/before"
check "second run" "$R/scripts/spdx.sh"
check "second run changed nothing" diff -r "$T/before" "$R/src"
check "spdx.sh --check passes" "$R/scripts/spdx.sh" --check
finish
