/* SPDX-License-Identifier: Apache-2.0 */
/* schsm-tool's option parsers: the command line (global options, command name, command options)
 * from arbitrary argv, then each option value through the validator the command uses (key type,
 * ID, algorithm list, SO-PIN, numbers), and the command's --help text. Nothing touches a card: the
 * commands themselves are not run. Input: argv elements separated by NUL bytes. */
#include "fuzz.h"

#define main schsm_tool_main   /* libFuzzer has the process's main */
#include "hsm/algs.h"
#include "hsm/rv.h"
#include "tools/main.c"
#undef main

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_stdio();
    return 0;
}

static void values(const tool_args *a)
{
    char why[512];
    for (int i = 0; a->opts != NULL && a->opts[i].name != NULL; i++) {
        const char *name = a->opts[i].name, *v = a->val[i];
        if (!a->set[i] || v == NULL)
            continue;
        why[0] = '\0';
        if (strcmp(name, "type") == 0) {
            tool_keytype kt;
            if (tool_parse_keytype(v, &kt, why, sizeof(why)) == HSM_OK) {
                uint8_t algs[HSM_ALGS_MAX];
                size_t n = 0;
                (void)hsm_alg_parse_list("sha256,ecdsa,0x70", (enum hsm_key_type)kt.type, algs, &n, why, sizeof(why));
                FUZZ_CHECK(n <= HSM_ALGS_MAX, "at most HSM_ALGS_MAX algorithms");
            } else {
                FUZZ_CHECK(why[0] != '\0', "a refused key type says why");
            }
        } else if (strcmp(name, "id") == 0) {
            uint8_t id[HSM_ID_MAX];
            size_t n = 0;
            if (tool_parse_id(v, id, sizeof(id), &n, why, sizeof(why)) == HSM_OK)
                FUZZ_CHECK(n <= sizeof(id), "ID length in bounds");
        } else if (strcmp(name, "algorithms") == 0) {
            uint8_t algs[HSM_ALGS_MAX];
            for (int type = HSM_KEY_NONE; type <= HSM_KEY_AES; type++) {
                size_t n = 0;
                if (hsm_alg_parse_list(v, (enum hsm_key_type)type, algs, &n, why, sizeof(why)) != HSM_OK)
                    continue;
                FUZZ_CHECK(n <= HSM_ALGS_MAX, "at most HSM_ALGS_MAX algorithms");
                char text[512];
                hsm_alg_list_text(algs, n, text, sizeof(text));
                hsm_alg_list_hex(algs, n, text, sizeof(text));
                for (size_t j = 0; j < n; j++)
                    (void)hsm_alg_name(algs[j]);
            }
        } else if (strstr(name, "so-pin") != NULL) {
            uint8_t so[8];
            (void)tool_parse_so_pin(v, so, why, sizeof(why));
        } else {
            long n = 0;
            (void)tool_parse_uint(v, 0, 255, &n);
            (void)tool_check_retries(n, strlen(v), why, sizeof(why));
            (void)tool_check_pin(strlen(v), "user PIN", why, sizeof(why));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2048)
        return 0;
    char *buf = fuzz_strndup(data, size);
    char *argv[66];
    int argc = 0;
    argv[argc++] = "schsm-tool";
    for (size_t i = 0; i <= size && argc < 64;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;

    tool_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.prog = "schsm-tool";
    int pos = 1;
    int r = parse_opts(&ctx, argc, argv, &pos, NULL, 1);
    FUZZ_CHECK(r == PARSE_OK || r == PARSE_HELP || r == PARSE_VERSION || r == TOOL_USAGE, "global parse result");
    if (r == PARSE_OK && pos < argc) {
        const tool_cmd *c = find_cmd(argv[pos++]);
        if (c != NULL) {
            ctx.cmd = c;
            tool_args a;
            memset(&a, 0, sizeof(a));
            a.opts = c->opts;
            r = parse_opts(&ctx, argc, argv, &pos, &a, 0);
            FUZZ_CHECK(r == PARSE_OK || r == PARSE_HELP || r == PARSE_VERSION || r == TOOL_USAGE,
                       "command parse result");
            FUZZ_CHECK(pos <= argc, "parser stays inside argv");
            if (r == PARSE_OK)
                values(&a);
            else if (r == PARSE_HELP)
                cmd_help(stdout, c);
        }
    }
    free(buf);
    return 0;
}
