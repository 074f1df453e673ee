/* SPDX-License-Identifier: Apache-2.0 */
/* schsm-tool check [--json] [--repair] [--yes]: the card check of hsm/check.h, printed. */
#include "tools/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/check.h"
#include "hsm/rv.h"

static void fid_text(char *out, size_t cap, const hsm_check_entry *e, unsigned bit, uint8_t prefix)
{
    if (e->files & bit)
        snprintf(out, cap, "%02X%02X", prefix, e->ref);
    else
        snprintf(out, cap, "-");
}

static void findings_text(char *out, size_t cap, const hsm_check_entry *e)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned bit = 1; bit != 0 && bit <= HSM_CHECK_BAD_PUB; bit <<= 1)
        if ((e->findings & bit) && n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", hsm_check_finding_name(bit));
    if (n == 0)
        snprintf(out, cap, "ok");
}

/* A hex string value (NULL when absent or out of memory). */
static void json_hex(tool_json *j, const uint8_t *p, size_t n, int present)
{
    char *hex = present ? hsm_hex_encode(p, n) : NULL;
    tool_json_string(j, hex);
    free(hex);
}

static void print_table(const hsm_check_report *r)
{
    printf("%4s %-5s %-5s %-5s %-5s %-24s %s\n", "REF", "KEY", "DESC", "PUB", "REQ", "LABEL", "FINDINGS");
    for (size_t i = 0; i < r->n; i++) {
        const hsm_check_entry *e = &r->entries[i];
        char k[8], d[8], p[8], q[8], f[160];
        fid_text(k, sizeof(k), e, HSM_CHECK_KEY, HSM_PREFIX_KEY);
        fid_text(d, sizeof(d), e, HSM_CHECK_DESC, HSM_PREFIX_PRKD);
        fid_text(p, sizeof(p), e, HSM_CHECK_PUB, HSM_PREFIX_EE_CERT);
        fid_text(q, sizeof(q), e, HSM_CHECK_REQ, 0xCB);
        findings_text(f, sizeof(f), e);
        const char *label = e->have_desc ? e->desc.label : (e->findings & HSM_CHECK_ORPHAN) ? "(orphan files)"
                                                                                             : "(no description)";
        printf("%4u %-5s %-5s %-5s %-5s %-24s %s%s\n", e->ref, k, d, p, q, label, f,
               (e->files & HSM_CHECK_PUB) && e->pub_is_cert ? " (certificate)" : "");
    }
    if (r->n == 0)
        printf("(no key references in use)\n");
    if (r->free_memory >= 0)
        printf("Free memory: %ld bytes\n", r->free_memory);
    else
        printf("Free memory: not reported by the card\n");
    printf("%zu key reference%s, %zu with problems, %zu with warnings.\n", r->n, r->n == 1 ? "" : "s", r->problems,
           r->warnings);
}

static void json_files(tool_json *j, const hsm_check_entry *e)
{
    static const struct {
        const char *name;
        unsigned bit;
        uint8_t prefix;
    } F[] = { { "key", HSM_CHECK_KEY, HSM_PREFIX_KEY }, { "description", HSM_CHECK_DESC, HSM_PREFIX_PRKD },
              { "public", HSM_CHECK_PUB, HSM_PREFIX_EE_CERT }, { "request", HSM_CHECK_REQ, 0xCB } };
    tool_json_key(j, "files");
    tool_json_begin_object(j);
    for (size_t i = 0; i < sizeof(F) / sizeof(F[0]); i++) {
        char fid[8];
        snprintf(fid, sizeof(fid), "%02X%02X", F[i].prefix, e->ref);
        tool_json_key(j, F[i].name);
        tool_json_string(j, (e->files & F[i].bit) ? fid : NULL);
    }
    tool_json_end_object(j);
}

static void print_json(const hsm_check_report *r, int repaired_steps, int failed_steps)
{
    tool_json j;
    tool_json_init(&j, stdout);
    tool_json_begin_object(&j);
    tool_json_key(&j, "key_refs");
    tool_json_begin_array(&j);
    for (size_t i = 0; i < r->n; i++) {
        const hsm_check_entry *e = &r->entries[i];
        tool_json_begin_object(&j);
        tool_json_key(&j, "key_ref");
        tool_json_int(&j, e->ref);
        json_files(&j, e);
        tool_json_key(&j, "label");
        tool_json_string(&j, e->have_desc ? e->desc.label : NULL);
        tool_json_key(&j, "id");
        json_hex(&j, e->desc.id, e->desc.id_len, e->have_desc);
        tool_json_key(&j, "public_key_id");
        json_hex(&j, e->pub_id, 20, e->have_pub_id);
        tool_json_key(&j, "certificate");
        tool_json_bool(&j, (e->files & HSM_CHECK_PUB) && e->pub_is_cert);
        tool_json_key(&j, "findings");
        tool_json_begin_array(&j);
        for (unsigned bit = 1; bit <= HSM_CHECK_BAD_PUB; bit <<= 1)
            if (e->findings & bit)
                tool_json_string(&j, hsm_check_finding_name(bit));
        tool_json_end_array(&j);
        tool_json_key(&j, "repairable");
        tool_json_bool(&j, hsm_check_repairable(e));
        tool_json_end_object(&j);
    }
    tool_json_end_array(&j);
    tool_json_key(&j, "free_memory");
    if (r->free_memory >= 0)
        tool_json_int(&j, r->free_memory);
    else
        tool_json_null(&j);
    tool_json_key(&j, "problems");
    tool_json_int(&j, (long long)r->problems);
    tool_json_key(&j, "warnings");
    tool_json_int(&j, (long long)r->warnings);
    tool_json_key(&j, "repair_steps");
    tool_json_int(&j, repaired_steps);
    tool_json_key(&j, "repair_failures");
    tool_json_int(&j, failed_steps);
    tool_json_end_object(&j);
    tool_json_finish(&j);
}

typedef struct {
    tool_ctx *ctx;
    int quiet;
    int steps;
} repair_log;

static void on_step(void *arg, uint8_t ref, const char *what, int rc)
{
    repair_log *l = arg;
    l->steps++;
    FILE *f = l->quiet ? stderr : stdout;
    if (rc == HSM_OK)
        fprintf(f, "key ref %u: %s\n", ref, what);
    else
        fprintf(stderr, "%s %s: key ref %u: %s: failed (%s)\n", l->ctx->prog, l->ctx->cmd->name, ref, what,
                rc == HSM_E_BUSY ? "changed meanwhile" : hsm_token_error(l->ctx->tok));
}

static size_t count_repairable(const hsm_check_report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += hsm_check_repairable(&r->entries[i]) != 0;
    return n;
}

static int run_check(tool_ctx *ctx, tool_args *a)
{
    int json = tool_flag(a, "json"), repair = tool_flag(a, "repair"), yes = tool_flag(a, "yes");
    if (yes && !repair)
        return tool_usage_error(ctx, "--yes only confirms --repair");
    int rc = tool_open(ctx);
    if (rc != TOOL_OK)
        return rc;
    hsm_check_report r;
    if (hsm_check_scan(ctx->tok, &r) != HSM_OK)
        return tool_token_fail(ctx, "cannot check the card");
    int steps = 0, failed = 0;
    size_t fixable = count_repairable(&r);
    if (repair && fixable > 0) {
        if (!json)
            print_table(&r);
        char q[160];
        snprintf(q, sizeof(q), "Repair %zu key reference%s (orphan files removed, no key deleted)?", fixable,
                 fixable == 1 ? "" : "s");
        rc = tool_confirm_change(ctx, yes, q, "--repair changes the card", "the card was left unchanged");
        if (rc == TOOL_OK)
            rc = tool_login(ctx, 0);
        if (rc != TOOL_OK) {
            hsm_check_report_free(&r);
            return rc;
        }
        repair_log log = { ctx, json, 0 };
        failed = hsm_check_repair(ctx->tok, &r, on_step, &log);
        steps = log.steps;
        hsm_check_report_free(&r);
        if (failed < 0)
            return tool_token_fail(ctx, "cannot repair the card");
        if (hsm_check_scan(ctx->tok, &r) != HSM_OK)
            return tool_token_fail(ctx, "cannot check the card after the repair");
        if (!json)
            printf("After the repair:\n");
    }
    if (json)
        print_json(&r, steps, failed);
    else
        print_table(&r);
    if (!json && r.problems > 0 && !repair && count_repairable(&r) > 0)
        printf("Run 'schsm-tool check --repair' to remove orphan files and describe incomplete keys.\n");
    rc = r.problems > 0 || failed > 0 ? TOOL_FAIL : TOOL_OK;
    hsm_check_report_free(&r);
    return rc;
}

static const tool_opt check_opts[] = {
    { "json", NULL, "print a JSON object: key_refs (files, label, id, public_key_id, findings, repairable), "
                    "free_memory, problems, warnings" },
    { "repair", NULL, "remove orphan files, describe keys without description, restore CEnn from CBnn" },
    { "yes", NULL, "do not ask before repairing (required without a terminal)" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_check = {
    "check", "[--json] [--repair [--yes]]", "check every key reference's files; repair what is left over",
    "Lists each key reference nn with its files: key CCnn, description C4nn, public key or certificate\n"
    "CEnn, kept request CBnn. Findings: orphan-files (files without their key, as interrupted\n"
    "operations or OpenSC's --delete-object leave them), no-description (a key OpenSC does not show),\n"
    "bad-description, id-mismatch (a warning: the ID is not OpenSC's SHA-1 ID of the public key, also\n"
    "the case for an ID chosen on purpose), certificate-mismatch (CEnn certifies another key than the\n"
    "one in CBnn), public-key-file-missing, bad-public-key-file; and the free memory.\n"
    "--repair (user PIN) removes orphan files, describes a key without description as\n"
    "\"recovered-key-NN\", and copies CBnn back to a missing CEnn. It never deletes a key.\n"
    "Exit status 1 while problems (not warnings) remain. No PIN is needed without --repair.",
    check_opts, run_check,
};
