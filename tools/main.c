/* SPDX-License-Identifier: Apache-2.0 */
/* schsm-tool: key management for the SmartCard-HSM. Global options, the command table,
 * option parsing and --help. Exit codes: 0 ok, 1 operation failed, 2 usage error. */
#include "tools/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* DKEK and key backup commands (tools/cmd_dkek.c). */
extern const tool_cmd tool_cmd_create_dkek_share;
extern const tool_cmd tool_cmd_import_dkek_share;
extern const tool_cmd tool_cmd_dkek_status;
extern const tool_cmd tool_cmd_key_domains;
extern const tool_cmd tool_cmd_wrap_key;
extern const tool_cmd tool_cmd_unwrap_key;
/* Pools (tools/cmd_pool.c). */
extern const tool_cmd tool_cmd_pool_status;

static const tool_cmd *const commands[] = {
    &tool_cmd_info,
    &tool_cmd_init,
    &tool_cmd_change_pin,
    &tool_cmd_change_so_pin,
    &tool_cmd_unblock_pin,
    &tool_cmd_verify_pin,
    &tool_cmd_keygen,
    &tool_cmd_list,
    &tool_cmd_delete,
    &tool_cmd_import_cert,
    &tool_cmd_export_pubkey,
    &tool_cmd_create_dkek_share,
    &tool_cmd_import_dkek_share,
    &tool_cmd_dkek_status,
    &tool_cmd_key_domains,
    &tool_cmd_wrap_key,
    &tool_cmd_unwrap_key,
    &tool_cmd_pool_status,
    &tool_cmd_device,
    &tool_cmd_attest,
    &tool_cmd_group_signer_create,
    &tool_cmd_kdm_issue,
    &tool_cmd_xkek_create,
    &tool_cmd_xkek_exchange_key,
    &tool_cmd_xkek_derive,
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Accepted before and after the command name. */
static const tool_opt global_opts[] = {
    { "reader", "R", "reader: sim:PATH (virtual card), a PC/SC reader name substring, serial=VALUE "
                     "or token=LABEL; "
                     "default $SCHSM_READER, else the first reader with a SmartCard-HSM" },
    { "pin", "PIN", "user PIN (visible to other users in the process list: prefer --pin-source)" },
    { "pin-source", "SRC", "read the user PIN from file:PATH (first line) or env:NAME" },
    { "help", NULL, "show help (also -h)" },
    { "version", NULL, "show the version" },
    { NULL, NULL, NULL },
};

/* Word-wraps text to width columns; continuation lines start at column indent. */
static void print_wrapped(FILE *f, const char *text, int indent, int width)
{
    int col = indent;
    const char *p = text;
    while (*p != '\0') {
        const char *sp = strchr(p, ' ');
        int wl = sp ? (int)(sp - p) : (int)strlen(p);
        if (col > indent && col + 1 + wl > width) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        fwrite(p, 1, (size_t)wl, f);
        col += wl;
        p += wl;
        while (*p == ' ')
            p++;
    }
    fputc('\n', f);
}

static void print_opts(FILE *f, const tool_opt *opts)
{
    for (const tool_opt *o = opts; o != NULL && o->name != NULL; o++) {
        char head[64];
        snprintf(head, sizeof(head), "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-24s ", head);
        print_wrapped(f, o->help, 27, 100);
    }
}

static void main_help(FILE *f)
{
    fprintf(f, "Usage: schsm-tool [GLOBAL OPTIONS] COMMAND [OPTIONS]\n\n"
               "Manage keys and PINs of a SmartCard-HSM (Nitrokey HSM 2) or of the virtual card "
               "(--reader sim:PATH).\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-20s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nGlobal options:\n");
    print_opts(f, global_opts);
    fprintf(f, "\nRun 'schsm-tool COMMAND --help' for the options of a command.\n"
               "Exit codes: 0 success, 1 the operation failed, 2 usage error.\n"
               "SCHSM_DEBUG=apdu traces every APDU (header and lengths only) to stderr.\n");
}

static void cmd_help(FILE *f, const tool_cmd *c)
{
    fprintf(f, "Usage: schsm-tool %s %s\n\n%s\n", c->name, c->synopsis, c->summary);
    if (c->details != NULL)
        fprintf(f, "\n%s\n", c->details);
    if (c->opts != NULL && c->opts[0].name != NULL) {
        fprintf(f, "\nOptions:\n");
        print_opts(f, c->opts);
    }
    fprintf(f, "\nGlobal options:\n");
    print_opts(f, global_opts);
}

static const tool_cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

/* Commands of two words ("pool status"): the table names them with a space. Tries "NAME WORD"
 * first, so a family's verbs can share a first word; pos moves past the second word on a hit. */
static const tool_cmd *find_cmd_words(int argc, char **argv, int *pos, const char *name)
{
    if (*pos < argc && argv[*pos][0] != '-') {
        char two[128];
        if (snprintf(two, sizeof(two), "%s %s", name, argv[*pos]) < (int)sizeof(two)) {
            const tool_cmd *c = find_cmd(two);
            if (c != NULL) {
                (*pos)++;
                return c;
            }
        }
    }
    return find_cmd(name);
}

static int unknown_cmd(tool_ctx *ctx, const char *name);

static void vreport(tool_ctx *ctx, const char *fmt, va_list ap)
{
    if (ctx->cmd != NULL)
        fprintf(stderr, "%s %s: error: ", ctx->prog, ctx->cmd->name);
    else
        fprintf(stderr, "%s: error: ", ctx->prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int tool_error(tool_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(ctx, fmt, ap);
    va_end(ap);
    return code;
}

int tool_usage_error(tool_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(ctx, fmt, ap);
    va_end(ap);
    if (ctx->cmd != NULL)
        fprintf(stderr, "Run '%s %s --help' for usage.\n", ctx->prog, ctx->cmd->name);
    else
        fprintf(stderr, "Run '%s --help' for usage.\n", ctx->prog);
    return TOOL_USAGE;
}

/* "unknown command", or for the first word of a family ("pool") the words that may follow. */
static int unknown_cmd(tool_ctx *ctx, const char *name)
{
    char verbs[256] = "";
    size_t nlen = strlen(name), used = 0;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const char *n = commands[i]->name;
        if (strncmp(n, name, nlen) == 0 && n[nlen] == ' ' && used < sizeof(verbs)) {
            int w = snprintf(verbs + used, sizeof(verbs) - used, "%s%s", used ? ", " : "", n + nlen + 1);
            if (w > 0)
                used += (size_t)w;
        }
    }
    if (used > 0)
        return tool_usage_error(ctx, "'%s' needs one of: %s", name, verbs);
    return tool_usage_error(ctx, "unknown command '%s'", name);
}

static int opt_index(const tool_opt *opts, const char *name, size_t len)
{
    for (int i = 0; opts != NULL && opts[i].name != NULL; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return i;
    return -1;
}

const char *tool_arg(const tool_args *a, const char *name)
{
    int i = opt_index(a->opts, name, strlen(name));
    return i >= 0 && a->set[i] ? a->val[i] : NULL;
}

int tool_flag(const tool_args *a, const char *name)
{
    int i = opt_index(a->opts, name, strlen(name));
    return i >= 0 && a->set[i];
}

enum { PARSE_OK = 0, PARSE_HELP = -1, PARSE_VERSION = -2 };

/* Parses argv[*pos..] as options (global and, when cmd != NULL, the command's). Stops at the
 * first non-option when stop_at_word (the command name). Returns PARSE_* or an exit code. */
static int parse_opts(tool_ctx *ctx, int argc, char **argv, int *pos, tool_args *a, int stop_at_word)
{
    for (; *pos < argc; (*pos)++) {
        const char *s = argv[*pos];
        if (strcmp(s, "-h") == 0)
            return PARSE_HELP;
        if (strncmp(s, "--", 2) != 0 || s[2] == '\0') {
            if (stop_at_word)
                return PARSE_OK;
            return tool_usage_error(ctx, "unexpected argument '%s'", s);
        }
        const char *name = s + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int gi = opt_index(global_opts, name, len);
        int ci = a != NULL ? opt_index(a->opts, name, len) : -1;
        const tool_opt *o = ci >= 0 ? &a->opts[ci] : gi >= 0 ? &global_opts[gi] : NULL;
        if (o == NULL)
            return tool_usage_error(ctx, "unknown option '--%.*s'", (int)len, name);
        const char *val = NULL;
        if (o->arg != NULL) {
            if (eq != NULL)
                val = eq + 1;
            else if (*pos + 1 < argc)
                val = argv[++(*pos)];
            else
                return tool_usage_error(ctx, "option --%s needs a value (%s)", o->name, o->arg);
        } else if (eq != NULL) {
            return tool_usage_error(ctx, "option --%s takes no value", o->name);
        }
        if (ci >= 0) {
            a->set[ci] = 1;
            a->val[ci] = val;
            continue;
        }
        if (strcmp(o->name, "help") == 0)
            return PARSE_HELP;
        if (strcmp(o->name, "version") == 0)
            return PARSE_VERSION;
        if (strcmp(o->name, "reader") == 0)
            ctx->reader = val;
        else if (strcmp(o->name, "pin") == 0)
            ctx->pin_value = val;
        else if (strcmp(o->name, "pin-source") == 0)
            ctx->pin_source = val;
    }
    return PARSE_OK;
}

/* Ends run() on a parse_opts() result other than PARSE_OK: --help (for c, or the main help when
 * c is NULL), --version, or the error status itself. */
static int help_or_version(int r, const tool_cmd *c)
{
    if (r == PARSE_HELP) {
        if (c == NULL)
            main_help(stdout);
        else
            cmd_help(stdout, c);
        return TOOL_OK;
    }
    if (r == PARSE_VERSION) {
        printf("schsm-tool %s\n", SCHSM_TOOL_VERSION);
        return TOOL_OK;
    }
    return r;
}

static int run(tool_ctx *ctx, int argc, char **argv)
{
    int pos = 1;
    int r = parse_opts(ctx, argc, argv, &pos, NULL, 1);
    if (r != PARSE_OK)
        return help_or_version(r, NULL);
    if (pos >= argc) {
        main_help(stderr);
        return TOOL_USAGE;
    }
    const char *name = argv[pos++];
    if (strcmp(name, "help") == 0) {
        if (pos >= argc) {
            main_help(stdout);
            return TOOL_OK;
        }
        const char *first = argv[pos++];
        const tool_cmd *c = find_cmd_words(argc, argv, &pos, first);
        if (c == NULL)
            return unknown_cmd(ctx, first);
        cmd_help(stdout, c);
        return TOOL_OK;
    }
    const tool_cmd *c = find_cmd_words(argc, argv, &pos, name);
    if (c == NULL)
        return unknown_cmd(ctx, name);
    ctx->cmd = c;
    tool_args a;
    memset(&a, 0, sizeof(a));
    a.opts = c->opts;
    r = parse_opts(ctx, argc, argv, &pos, &a, 0);
    if (r != PARSE_OK)
        return help_or_version(r, c);
    if (ctx->pin_value != NULL && ctx->pin_source != NULL)
        return tool_usage_error(ctx, "give either --pin or --pin-source, not both");
    if (ctx->pin_value != NULL) {
        /* Copy, then wipe the argv copy so /proc/PID/cmdline stops showing it early. */
        if (tool_take_secret(ctx->pin_value, &ctx->pin, &ctx->pin_len) != 0)
            return tool_error(ctx, TOOL_FAIL, "out of memory");
        ctx->pin_value = NULL;
    }
    if (ctx->reader == NULL) {
        const char *env = getenv("SCHSM_READER");
        if (env != NULL && *env != '\0')
            ctx->reader = env;
    }
    return c->run(ctx, &a);
}

int main(int argc, char **argv)
{
    tool_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.prog = "schsm-tool";
    int rc = run(&ctx, argc, argv);
    if (ctx.tok != NULL)
        hsm_token_free(ctx.tok);
    tool_secret_free(ctx.pin, ctx.pin_len);
    fflush(stdout);
    if (ferror(stdout) && rc == TOOL_OK)
        rc = TOOL_FAIL;
    return rc;
}
