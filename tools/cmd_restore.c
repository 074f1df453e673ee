/* SPDX-License-Identifier: Apache-2.0 */
/* restore --in DIR and verify-backup --in DIR: the wrapped-key files of a backup (cmd_backup.c)
 * back into a card. Every file is self-describing, so the manifest is for people; each key goes
 * in through hsm_kb_unwrap(), which leaves nothing of a key that failed. */
#include "tools/keyfiles.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "hsm/crypto.h"
#include "hsm/keybackup.h"
#include "hsm/rv.h"

#define MAX_FILES 255

typedef struct {
    char name[NAME_MAX + 1];
    hsm_bytes data;
    hsm_prkd prkd;
    int have_prkd;
    hsm_wrapped_hdr hdr;
    const char *outcome;        /* restored, present, clash, failed, ... */
    int ok;                     /* counts as done (restored, present, would restore) */
    unsigned key_ref;
    char detail[600];
} entry;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* Every *.wrap of dir, read and checked (file format, the request's self-signature). */
static int load_dir(tool_ctx *ctx, const char *dir, entry **out, size_t *n)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return tool_error(ctx, TOOL_FAIL, "cannot open the backup directory %s", dir);
    entry *e = calloc(MAX_FILES, sizeof(*e));
    size_t k = 0;
    struct dirent *de;
    while (e != NULL && (de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".wrap") != 0)
            continue;
        if (k == MAX_FILES) {
            closedir(d);
            free(e);
            return tool_error(ctx, TOOL_FAIL, "%s holds more than %d wrapped keys", dir, MAX_FILES);
        }
        snprintf(e[k++].name, sizeof(e->name), "%s", de->d_name);
    }
    closedir(d);
    if (e == NULL)
        return tool_error(ctx, TOOL_FAIL, "out of memory");
    qsort(e, k, sizeof(*e), by_name);
    int rc = TOOL_OK;
    for (size_t i = 0; i < k && rc == TOOL_OK; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, e[i].name);
        rc = tool_read_file(ctx, path, HSM_KB_FILE_MAX, &e[i].data);
        hsm_wrapped_file wf;
        EVP_PKEY *pub = NULL;
        hsm_kb_result r;
        memset(&r, 0, sizeof(r));
        if (rc == TOOL_OK && hsm_kb_file_open(e[i].data.data, e[i].data.len, &wf, &e[i].hdr, &e[i].prkd,
                                              &e[i].have_prkd, &pub, &r) != HSM_OK)
            rc = tool_error(ctx, TOOL_FAIL, "%s: %s", path, r.why);
        EVP_PKEY_free(pub);
    }
    if (rc == TOOL_OK && k == 0)
        rc = tool_error(ctx, TOOL_FAIL, "%s holds no wrapped keys (*.wrap): is it a backup directory?", dir);
    if (rc != TOOL_OK) {
        for (size_t i = 0; i < k; i++)
            hsm_bytes_free(&e[i].data);
        free(e);
        return rc;
    }
    *out = e;
    *n = k;
    return TOOL_OK;
}

static void free_entries(entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hsm_bytes_free(&e[i].data);
    free(e);
}

/* Every file's KCV must name a complete DKEK of this card, before anything is changed. */
static int check_kcvs(tool_ctx *ctx, entry *e, size_t n)
{
    hsm_kb_domain doms[HSM_KB_MAX_DOMAINS];
    size_t nd = 0;
    int rc = tool_read_domains(ctx, doms, &nd);
    if (rc != TOOL_OK)
        return rc;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        hsm_kb_result r;
        memset(&r, 0, sizeof(r));
        if (hsm_kb_domain_for_kcv(doms, nd, e[i].hdr.kcv, &r) >= 0)
            continue;
        if (bad++ < 8)
            fprintf(stderr, "%s %s: %s: %s\n", ctx->prog, ctx->cmd->name, e[i].name, r.why);
    }
    if (bad > 0)
        return tool_error(ctx, TOOL_FAIL, "%zu of %zu wrapped keys need a DKEK this card does not hold (see above): "
                          "nothing was restored", bad, n);
    return TOOL_OK;
}

/* --in DIR read and checked, the PIN verified, every KCV on the card: what restore and
 * verify-backup do before they change anything. */
static int open_backup(tool_ctx *ctx, tool_args *a, entry **e, size_t *n)
{
    const char *dir = tool_arg(a, "in");
    if (dir == NULL || *dir == '\0')
        return tool_usage_error(ctx, "--in DIR is required (a directory written by schsm-tool backup)");
    int rc = load_dir(ctx, dir, e, n);
    if (rc != TOOL_OK)
        return rc;
    rc = tool_login(ctx, 0);
    if (rc == TOOL_OK)
        rc = check_kcvs(ctx, *e, *n);
    if (rc != TOOL_OK) {
        free_entries(*e, *n);
        *e = NULL;
    }
    return rc;
}

static void report(tool_ctx *ctx, tool_args *a, const entry *e, size_t n)
{
    if (tool_flag(a, "json")) {
        tool_json j;
        tool_json_init(&j, stdout);
        tool_json_begin_array(&j);
        for (size_t i = 0; i < n; i++) {
            char id[2 * HSM_ID_MAX + 1];
            tool_hex_into(id, e[i].prkd.id, e[i].prkd.id_len);
            tool_json_begin_object(&j);
            tool_json_key(&j, "file");
            tool_json_string(&j, e[i].name);
            tool_json_key(&j, "label");
            tool_json_string(&j, e[i].prkd.label);
            tool_json_key(&j, "id");
            tool_json_string(&j, id);
            tool_json_key(&j, "outcome");
            tool_json_string(&j, e[i].outcome);
            tool_json_key(&j, "key_ref");
            if (e[i].key_ref)
                tool_json_int(&j, e[i].key_ref);
            else
                tool_json_null(&j);
            tool_json_key(&j, "detail");
            tool_json_string(&j, e[i].detail);
            tool_json_end_object(&j);
        }
        tool_json_end_array(&j);
        tool_json_finish(&j);
        return;
    }
    (void)ctx;
    printf("%-12s %-24s %-16s %-7s %s\n", "FILE", "LABEL", "OUTCOME", "KEYREF", "DETAIL");
    for (size_t i = 0; i < n; i++) {
        char ref[12] = "-";
        if (e[i].key_ref)
            snprintf(ref, sizeof(ref), "%u", e[i].key_ref);
        printf("%-12s %-24s %-16s %-7s %s\n", e[i].name, e[i].prkd.label, e[i].outcome, ref, e[i].detail);
    }
}

static int finish(tool_ctx *ctx, const entry *e, size_t n, const char *what)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += !e[i].ok;
    if (bad > 0)
        return tool_error(ctx, TOOL_FAIL, "%zu of %zu keys were not %s (see the table); keys that failed left "
                          "nothing behind, so running the command again after fixing the cause completes it",
                          bad, n, what);
    return TOOL_OK;
}

static int run_restore(tool_ctx *ctx, tool_args *a)
{
    int dry = tool_flag(a, "dry-run");
    entry *e = NULL;
    size_t n = 0;
    int rc = open_backup(ctx, a, &e, &n);
    if (rc != TOOL_OK)
        return rc;
    for (size_t i = 0; rc == TOOL_OK && i < n; i++) {
        hsm_kb_unwrap_opts o = { .skip_present = 1, .dry_run = dry };
        hsm_kb_unwrap_info info;
        hsm_kb_result r;
        int rv = hsm_kb_unwrap(ctx->tok, e[i].data.data, e[i].data.len, &o, &info, &r);
        e[i].ok = rv == HSM_OK || r.reason == HSM_KB_PRESENT;
        if (rv == HSM_OK && dry) {
            e[i].outcome = "would restore";
        } else if (rv == HSM_OK) {
            e[i].outcome = "restored";
            e[i].key_ref = info.key_ref;
            snprintf(e[i].detail, sizeof(e[i].detail), "%s%s", info.checked ? "signature checked" : "not checked "
                     "by a signature", info.have_cert ? ", with certificate/request" : "");
        } else {
            static const char *const names[] = {
                [HSM_KB_PRESENT] = "present", [HSM_KB_CLASH] = "clash", [HSM_KB_FW_BUG] = "firmware bug",
                [HSM_KB_MISMATCH] = "wrong key", [HSM_KB_REFUSED] = "refused",
            };
            const char *nm = r.reason >= 0 && r.reason < (int)(sizeof(names) / sizeof(names[0])) ? names[r.reason]
                                                                                                : NULL;
            e[i].outcome = nm != NULL ? nm : "failed";
            if (r.reason == HSM_KB_PRESENT)
                e[i].key_ref = info.present_ref;
            snprintf(e[i].detail, sizeof(e[i].detail), "%s", r.reason == HSM_KB_PRESENT ? "skipped: same public key"
                     : r.why);
            if (r.reason != HSM_KB_PRESENT)
                fprintf(stderr, "%s %s: %s: %s\n", ctx->prog, ctx->cmd->name, e[i].name, r.why);
        }
    }
    if (rc == TOOL_OK) {
        report(ctx, a, e, n);
        rc = finish(ctx, e, n, dry ? "restorable" : "restored");
    }
    free_entries(e, n);
    return rc;
}

static int run_verify(tool_ctx *ctx, tool_args *a)
{
    entry *e = NULL;
    size_t n = 0;
    int rc = open_backup(ctx, a, &e, &n);
    if (rc != TOOL_OK)
        return rc;
    hsm_key *before = NULL, *after = NULL;
    size_t nb = 0, na = 0;
    if (hsm_token_list_keys(ctx->tok, &before, &nb) != HSM_OK)
        rc = tool_token_fail(ctx, "cannot list the keys");
    for (size_t i = 0; rc == TOOL_OK && i < n; i++) {
        /* A throw-away label and random ID, so the copy never clashes with the original. */
        uint8_t id[8];
        if (RAND_bytes_ex(hsm_libctx(), id, sizeof(id), 0) != 1) {
            rc = tool_error(ctx, TOOL_FAIL, "host random number generator failed");
            break;
        }
        hsm_kb_unwrap_opts o = { 0 };
        if (e[i].have_prkd) {
            o.label = "schsm-verify-backup";
            o.id = id;
            o.id_len = sizeof(id);
        }
        hsm_kb_unwrap_info info;
        hsm_kb_result r;
        int rv = hsm_kb_unwrap(ctx->tok, e[i].data.data, e[i].data.len, &o, &info, &r);
        if (rv == HSM_OK) {
            if (hsm_kb_remove_key(ctx->tok, info.key_ref) != HSM_OK) {
                rc = tool_error(ctx, TOOL_FAIL, "cannot delete the test copy of %s at key reference %u: delete it "
                                "with schsm-tool delete --label schsm-verify-backup", e[i].name, info.key_ref);
                break;
            }
            e[i].ok = info.checked;
            e[i].outcome = info.checked ? "ok" : "not proven";
            snprintf(e[i].detail, sizeof(e[i].detail), "%s", info.checked
                     ? "unwrapped, signed, verified with the request's public key, deleted"
                     : "unwrapped and deleted, but no signature could be checked (no request, or an algorithm "
                       "list without a signature the host can verify)");
        } else {
            e[i].outcome = r.reason == HSM_KB_FW_BUG ? "firmware bug" : "failed";
            snprintf(e[i].detail, sizeof(e[i].detail), "%s", r.why);
            fprintf(stderr, "%s %s: %s: %s\n", ctx->prog, ctx->cmd->name, e[i].name, r.why);
        }
    }
    if (rc == TOOL_OK && hsm_token_list_keys(ctx->tok, &after, &na) != HSM_OK)
        rc = tool_token_fail(ctx, "cannot list the keys afterwards");
    int same = na == nb;
    for (size_t i = 0; rc == TOOL_OK && same && i < na; i++)
        same = after[i].key_ref == before[i].key_ref && strcmp(after[i].label, before[i].label) == 0;
    if (rc == TOOL_OK) {
        report(ctx, a, e, n);
        if (!same)
            rc = tool_error(ctx, TOOL_FAIL, "the card's set of keys changed during the check: compare 'schsm-tool "
                            "list' with what you expect");
        else
            rc = finish(ctx, e, n, "proven to unwrap and sign");
    }
    free(before);
    free(after);
    free_entries(e, n);
    return rc;
}

static const tool_opt restore_opts[] = {
    { "in", "DIR", "the backup directory (schsm-tool backup --out DIR)" },
    { "dry-run", NULL, "check everything (KCVs, keys present, label/ID clashes) but change nothing" },
    { "json", NULL, "print the result per key as a JSON array" },
    { NULL, NULL, NULL },
};
static const tool_opt verify_opts[] = {
    { "in", "DIR", "the backup directory (schsm-tool backup --out DIR)" },
    { "json", NULL, "print the result per key as a JSON array" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_restore = {
    "restore", "--in DIR [--dry-run] [--json]",
    "unwrap every key of a backup into this card (same DKEK shares needed)",
    "First checks that this card holds the DKEK of every file (else nothing is changed). Then each\n"
    "key is unwrapped and proven by a signature verified with its request's public key; keys already\n"
    "on the card (same public key) are skipped, label/ID clashes are reported and skipped. A key that\n"
    "fails leaves nothing behind; run the command again to complete the job. Ends with a table per\n"
    "key. Exit code 1 when any key was not restored. Needs the user PIN.",
    restore_opts, run_restore,
};
const tool_cmd tool_cmd_verify_backup = {
    "verify-backup", "--in DIR [--json]",
    "prove that every key of a backup unwraps and signs on this card, then remove the copies",
    "On a card holding the same DKEK (the original card too), each file is unwrapped into a free\n"
    "key reference under a throw-away label, signs once (verified on the host with the public key\n"
    "of its request), and is deleted again. The card's set of keys is the same afterwards. Needs the\n"
    "user PIN.",
    verify_opts, run_verify,
};
