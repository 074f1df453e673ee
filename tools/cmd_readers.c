/* SPDX-License-Identifier: Apache-2.0 */
/* readers: the PC/SC readers and what each holds (a SmartCard-HSM with serial and label, another
 * card, or nothing), like opensc-tool -l. Identity reads only: no PIN. A sim:PATH reader named by
 * --reader or SCHSM_READER is listed too. */
#include "tools/util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "hsm/rv.h"
#include "reader/reader.h"

typedef struct {
    const char *reader;
    int hsm;
    char serial[64];
    char label[64];
    char note[256];
} reader_row;

static void probe(const char *spec, reader_row *r)
{
    hsm_token *t = NULL;
    memset(r, 0, sizeof(*r));
    r->reader = spec;
    ERR_set_mark();
    if (hsm_token_new(spec, schsm_reader_open, &t) == HSM_OK
        && hsm_token_identity(t, r->serial, sizeof(r->serial), r->label, sizeof(r->label)) == HSM_OK) {
        r->hsm = 1;
    } else {
        const char *e = t != NULL ? hsm_token_error(t) : NULL;
        snprintf(r->note, sizeof(r->note), "%s", e != NULL && *e ? e : "no SmartCard-HSM");
    }
    ERR_pop_to_mark();
    hsm_token_free(t);
}

static int run_readers(tool_ctx *ctx, tool_args *a)
{
    char why[512] = "", *names = NULL;
    const char *sim = ctx->reader != NULL && strncmp(ctx->reader, "sim:", 4) == 0 ? ctx->reader : NULL;
    int rv = hsm_pcsc_list_why(&names, why, sizeof(why));
    if (rv != HSM_OK && rv != HSM_E_NO_READER && sim == NULL)
        return tool_error(ctx, TOOL_FAIL, "%s", why);
    if (rv != HSM_OK && sim == NULL && !tool_flag(a, "json")) {
        free(names);
        return tool_error(ctx, TOOL_FAIL, "%s", why[0] ? why : "no PC/SC reader found");
    }
    if (rv != HSM_OK && sim != NULL && why[0] != '\0' && !tool_flag(a, "json"))
        fprintf(stderr, "%s readers: note: PC/SC readers not listed: %s\n", ctx->prog, why);
    size_t n = sim != NULL;
    for (const char *s = names; s != NULL && *s; s += strlen(s) + 1)
        n++;
    reader_row *rows = calloc(n + 1, sizeof(*rows));
    if (rows == NULL) {
        free(names);
        return tool_error(ctx, TOOL_FAIL, "out of memory");
    }
    size_t i = 0;
    if (sim != NULL)
        probe(sim, &rows[i++]);
    for (const char *s = names; s != NULL && *s; s += strlen(s) + 1)
        probe(s, &rows[i++]);
    if (tool_flag(a, "json")) {
        tool_json j;
        tool_json_init(&j, stdout);
        tool_json_begin_array(&j);
        for (i = 0; i < n; i++) {
            tool_json_begin_object(&j);
            tool_json_key(&j, "reader");
            tool_json_string(&j, rows[i].reader);
            tool_json_key(&j, "smartcard_hsm");
            tool_json_bool(&j, rows[i].hsm);
            tool_json_key(&j, "serial");
            tool_json_string(&j, rows[i].hsm ? rows[i].serial : NULL);
            tool_json_key(&j, "label");
            tool_json_string(&j, rows[i].hsm && rows[i].label[0] ? rows[i].label : NULL);
            tool_json_key(&j, "note");
            tool_json_string(&j, rows[i].hsm ? NULL : rows[i].note);
            tool_json_end_object(&j);
        }
        tool_json_end_array(&j);
        tool_json_finish(&j);
    } else {
        for (i = 0; i < n; i++) {
            if (rows[i].hsm)
                printf("%s: SmartCard-HSM, serial %s, token '%s'\n", rows[i].reader, rows[i].serial,
                       rows[i].label[0] ? rows[i].label : "?");
            else
                printf("%s: %s\n", rows[i].reader, rows[i].note);
        }
        if (n == 0)
            printf("(no readers)\n");
    }
    free(rows);
    free(names);
    return TOOL_OK;
}

static const tool_opt readers_opts[] = {
    { "json", NULL, "print a JSON array: reader, smartcard_hsm (true/false), serial, label, note (why a "
                    "reader holds no SmartCard-HSM)" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_readers = {
    "readers", "[--json]", "list the PC/SC readers and the SmartCard-HSMs in them",
    "No PIN is needed. Use the reader's name (or a part of it), serial=SERIAL or token=LABEL with\n"
    "--reader.", readers_opts, run_readers,
};
