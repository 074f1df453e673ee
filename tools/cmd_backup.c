/* SPDX-License-Identifier: Apache-2.0 */
/* backup --out DIR: every exportable key of the card as one sc-hsm-tool wrapped-key file
 * (keyNN.wrap, NN = the key reference in hex) plus manifest.json, which lists each key (label,
 * ID, type, domain, KCV, public-key fingerprint, certificate or request, algorithm list) and the
 * keys that could not be exported with the reason. restore/verify-backup: cmd_restore.c. */
#include "tools/keyfiles.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm/algs.h"
#include "hsm/crypto.h"
#include "hsm/keybackup.h"
#include "hsm/rv.h"

/* SHA-256 of the DER SubjectPublicKeyInfo, hex; "" when unknown. */
static void fingerprint(EVP_PKEY *pub, char out[65])
{
    out[0] = '\0';
    unsigned char *der = NULL;
    int len = pub != NULL ? i2d_PUBKEY(pub, &der) : -1;
    unsigned char md[32];
    size_t mdlen = 0;
    if (len > 0 && EVP_Q_digest(hsm_libctx(), "SHA256", NULL, der, (size_t)len, md, &mdlen) == 1 && mdlen == 32)
        tool_hex_into(out, md, 32);
    OPENSSL_free(der);
}

static void json_algs(tool_json *j, const uint8_t *algs, size_t n, int has)
{
    tool_json_key(j, "algorithms");
    if (!has) {
        tool_json_null(j);
        return;
    }
    char hex[33];
    tool_hex_into(hex, algs, n);
    tool_json_begin_object(j);
    tool_json_key(j, "hex");
    tool_json_string(j, hex);
    tool_json_key(j, "names");
    tool_json_begin_array(j);
    for (size_t i = 0; i < n; i++) {
        const char *name = hsm_alg_name(algs[i]);
        char raw[8];
        snprintf(raw, sizeof(raw), "%02x", algs[i]);
        tool_json_string(j, name != NULL ? name : raw);
    }
    tool_json_end_array(j);
    tool_json_end_object(j);
}

static void json_key_head(tool_json *j, const hsm_key *k)
{
    char id[2 * HSM_ID_MAX + 1];
    tool_hex_into(id, k->id, k->id_len);
    tool_json_key(j, "label");
    tool_json_string(j, k->label);
    tool_json_key(j, "id");
    tool_json_string(j, id);
    tool_json_key(j, "key_ref");
    tool_json_int(j, k->key_ref);
    tool_json_key(j, "type");
    tool_json_string(j, tool_key_type_name(k->type));
    tool_json_key(j, "bits");
    tool_json_int(j, k->bits);
}

/* The domain's KEK can wrap: complete DKEK or agreed XKEK. reason gets why not. */
static int domain_ready(const hsm_kb_domain *doms, size_t nd, int d, char *reason, size_t cap)
{
    if (d < 0)
        return 1;   /* the card does not say: let WRAP KEY decide */
    if ((size_t)d >= nd || !doms[d].present) {
        snprintf(reason, cap, "key domain %d has no KEK", d);
        return 0;
    }
    const hsm_dkek_status *st = &doms[d].st;
    static const uint8_t zero[8];
    if (st->total == 0xFF ? memcmp(st->kcv, zero, 8) == 0 : st->missing != 0) {
        snprintf(reason, cap, "the KEK of key domain %d is incomplete (%u share%s missing)", d, st->missing,
                 st->missing == 1 ? "" : "s");
        return 0;
    }
    return 1;
}

static int prepare_dir(tool_ctx *ctx, const char *dir, int force, char *manifest, size_t cap)
{
    if (snprintf(manifest, cap, "%s/manifest.json", dir) >= (int)cap)
        return tool_usage_error(ctx, "directory name too long: %s", dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return tool_error(ctx, TOOL_FAIL, "cannot create %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return tool_error(ctx, TOOL_FAIL, "%s is not a directory", dir);
    if (!force && stat(manifest, &st) == 0)
        return tool_error(ctx, TOOL_FAIL, "%s holds a backup already: choose another directory or pass --force to "
                          "overwrite it", dir);
    return TOOL_OK;
}

static int run_backup(tool_ctx *ctx, tool_args *a)
{
    const char *dir = tool_arg(a, "out");
    int force = tool_flag(a, "force");
    char manifest[PATH_MAX];
    if (dir == NULL || *dir == '\0')
        return tool_usage_error(ctx, "--out DIR is required (where the wrapped keys and manifest.json go)");
    int rc = prepare_dir(ctx, dir, force, manifest, sizeof(manifest));
    if (rc == TOOL_OK)
        rc = tool_login(ctx, 0);
    if (rc != TOOL_OK)
        return rc;
    hsm_key *keys = NULL;
    size_t nk = 0;
    if (hsm_token_list_keys(ctx->tok, &keys, &nk) != HSM_OK)
        return tool_token_fail(ctx, "cannot list the keys");
    hsm_kb_domain doms[HSM_KB_MAX_DOMAINS];
    hsm_kb_key_meta *meta = calloc(nk ? nk : 1, sizeof(*meta));
    size_t nd = 0;
    hsm_card *c = meta != NULL ? hsm_token_lock(ctx->tok) : NULL;
    if (c == NULL) {
        free(keys);
        free(meta);
        return meta == NULL ? tool_error(ctx, TOOL_FAIL, "out of memory") : tool_token_fail(ctx, "cannot reach the card");
    }
    hsm_kb_domains(c, doms, HSM_KB_MAX_DOMAINS, &nd);
    for (size_t i = 0; i < nk; i++)
        if (hsm_kb_key_meta_read(c, keys[i].key_ref, &meta[i]) != HSM_OK)
            meta[i].domain = -1;
    hsm_token_unlock(ctx->tok, 0);

    char *mbuf = NULL;
    size_t mlen = 0;
    FILE *mf = open_memstream(&mbuf, &mlen);
    if (mf == NULL) {
        free(keys);
        free(meta);
        return tool_error(ctx, TOOL_FAIL, "out of memory");
    }
    tool_json j;
    tool_json_init(&j, mf);
    tool_json_begin_object(&j);
    tool_json_key(&j, "format");
    tool_json_string(&j, "schsm-backup-1");
    hsm_token_info ti;
    if (hsm_token_info_get(ctx->tok, &ti) == HSM_OK) {
        /* The source card: restore problems (firmware bugs) are easier to place with it. */
        char fw[16];
        snprintf(fw, sizeof(fw), "%u.%u", ti.fw_major, ti.fw_minor);
        tool_json_key(&j, "card");
        tool_json_begin_object(&j);
        tool_json_key(&j, "serial");
        tool_json_string(&j, ti.serial);
        tool_json_key(&j, "firmware");
        tool_json_string(&j, fw);
        tool_json_end_object(&j);
    }
    tool_json_key(&j, "keys");
    tool_json_begin_array(&j);
    size_t done = 0, skipped = 0, failed = 0;
    /* Reasons of the keys left out, printed after the list (JSON: "not_exported"). */
    char (*reasons)[600] = calloc(nk ? nk : 1, sizeof(*reasons));
    for (size_t i = 0; reasons != NULL && i < nk; i++) {
        const hsm_key *k = &keys[i];
        int d = meta[i].domain;
        if (!domain_ready(doms, nd, d, reasons[i], sizeof(reasons[i])))
            continue;
        hsm_bytes file = HSM_BYTES_INIT;
        hsm_kb_wrap_info wi;
        hsm_kb_result r;
        if (hsm_kb_wrap(ctx->tok, k->key_ref, &file, &wi, &r) != HSM_OK) {
            snprintf(reasons[i], sizeof(reasons[i]), "not exportable: %s", r.why);
            hsm_bytes_free(&file);
            continue;
        }
        char name[32], path[PATH_MAX];
        snprintf(name, sizeof(name), "key%02x.wrap", k->key_ref);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (tool_write_file(ctx, path, file.data, file.len, 1) != TOOL_OK) {
            snprintf(reasons[i], sizeof(reasons[i]), "cannot write %s", name);
            failed++;
            hsm_bytes_free(&file);
            continue;
        }
        hsm_wrapped_file wf;
        int x509 = hsm_wrapped_file_parse(file.data, file.len, &wf) == HSM_OK && wf.cert != NULL && wf.cert[0] == 0x30;
        EVP_PKEY *pub = NULL;
        char fp[65] = "", kcv[17];
        if (k->type != HSM_KEY_AES && hsm_token_public_key(ctx->tok, k, &pub) == HSM_OK)
            fingerprint(pub, fp);
        EVP_PKEY_free(pub);
        tool_hex_into(kcv, wi.hdr.kcv, 8);
        tool_json_begin_object(&j);
        tool_json_key(&j, "file");
        tool_json_string(&j, name);
        json_key_head(&j, k);
        tool_json_key(&j, "domain");
        if (d >= 0)
            tool_json_int(&j, d);
        else
            tool_json_null(&j);
        tool_json_key(&j, "kcv");
        tool_json_string(&j, kcv);
        tool_json_key(&j, "public_key_sha256");
        if (fp[0])
            tool_json_string(&j, fp);
        else
            tool_json_null(&j);
        tool_json_key(&j, "certificate");
        tool_json_bool(&j, wi.have_cert && x509);
        tool_json_key(&j, "request");
        tool_json_bool(&j, wi.have_cert && !x509);
        json_algs(&j, wi.hdr.algs, wi.hdr.algs_len, wi.hdr.algs_len > 0);
        tool_json_end_object(&j);
        char dom[16] = "?";
        if (d >= 0)
            snprintf(dom, sizeof(dom), "%d", d);
        printf("  %-10s %-24s key ref %3u  domain %-3s %s%s\n", name, k->label, k->key_ref, dom,
               wi.have_cert ? (x509 ? "certificate" : "request") : "-", wi.hdr.algs_len ? ", algorithm list" : "");
        done++;
        hsm_bytes_free(&file);
    }
    tool_json_end_array(&j);
    tool_json_key(&j, "not_exported");
    tool_json_begin_array(&j);
    for (size_t i = 0; reasons != NULL && i < nk; i++) {
        if (reasons[i][0] == '\0')
            continue;
        skipped++;
        tool_json_begin_object(&j);
        json_key_head(&j, &keys[i]);
        tool_json_key(&j, "reason");
        tool_json_string(&j, reasons[i]);
        tool_json_end_object(&j);
        fprintf(stderr, "%s %s: key ref %u ('%s') left out: %s\n", ctx->prog, ctx->cmd->name, keys[i].key_ref,
                keys[i].label, reasons[i]);
    }
    tool_json_end_array(&j);
    tool_json_end_object(&j);
    tool_json_finish(&j);
    fclose(mf);
    if (reasons == NULL)
        rc = tool_error(ctx, TOOL_FAIL, "out of memory");
    if (rc == TOOL_OK)
        rc = tool_write_file(ctx, manifest, (const uint8_t *)mbuf, mlen, 1);
    if (rc == TOOL_OK && tool_flag(a, "json"))
        fwrite(mbuf, 1, mlen, stdout);
    if (rc == TOOL_OK)
        printf("Backed up %zu key%s to %s (manifest.json lists them); %zu left out.\n", done, done == 1 ? "" : "s",
               dir, skipped - failed);
    free(mbuf);
    free(reasons);
    free(meta);
    free(keys);
    if (rc == TOOL_OK && failed > 0)
        rc = tool_error(ctx, TOOL_FAIL, "%zu key%s could not be written: see above", failed, failed == 1 ? "" : "s");
    return rc;
}

static const tool_opt backup_opts[] = {
    { "out", "DIR", "directory for the wrapped keys and manifest.json (created when absent)" },
    { "force", NULL, "write into a directory that holds a backup already (its files are replaced)" },
    { "json", NULL, "also print the manifest on stdout" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_backup = {
    "backup", "--out DIR [--force] [--json]",
    "wrap every exportable key into DIR, with a manifest (restore with 'restore')",
    "Each key goes into DIR/keyNN.wrap (sc-hsm-tool --wrap-key format: wrapped key, description,\n"
    "certificate or request). DIR/manifest.json lists label, ID, type, key domain, KCV, SHA-256 of the\n"
    "public key, certificate/request, algorithm list, and the keys left out with the reason (domain\n"
    "without a complete KEK, key not exportable). Needs the user PIN. The files are only as safe as\n"
    "the DKEK shares: see docs/key-backup.md.",
    backup_opts, run_backup,
};
