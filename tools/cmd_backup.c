#include "tools/keyfiles.h"
static int run_todo(tool_ctx *ctx, tool_args *a) { (void)a; return tool_error(ctx, TOOL_FAIL, "not yet"); }
const tool_cmd tool_cmd_backup = { "backup", "", "x", NULL, NULL, run_todo };
const tool_cmd tool_cmd_restore = { "restore", "", "x", NULL, NULL, run_todo };
const tool_cmd tool_cmd_verify_backup = { "verify-backup", "", "x", NULL, NULL, run_todo };
