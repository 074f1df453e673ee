/* SPDX-License-Identifier: Apache-2.0 */
/* keygen, delete: making and removing keys (list: cmd_list.c). */
#include "tools/util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm/algs.h"
#include "hsm/check.h"
#include "hsm/crypto.h"
#include "hsm/curves.h"
#include "hsm/rv.h"
#include "hsm/uri_text.h"

static void print_hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

/* ---- keygen ---- */

/* keygen --json: the new key as list --json shows it, plus the algorithms it is limited to. */
static int keygen_json(tool_ctx *ctx, const hsm_key *k, const hsm_curve *curve, const uint8_t *algs,
                       size_t n_algs)
{
    char serial[64] = "", *idhex = hsm_hex_encode(k->id, k->id_len);
    if (hsm_token_serial(ctx->tok, serial, sizeof(serial)) != HSM_OK)
        serial[0] = '\0';
    const char *type = k->type == HSM_KEY_AES ? NULL : "private";
    char *uri = hsm_object_uri(NULL, k->label, NULL, 0, type);
    char *full = hsm_object_uri(serial, k->label, k->id, k->id_len, type);
    tool_json j;
    tool_json_init(&j, stdout);
    tool_json_begin_object(&j);
    tool_json_key(&j, "label");
    tool_json_string(&j, k->label);
    tool_json_key(&j, "id");
    tool_json_string(&j, idhex);
    tool_json_key(&j, "type");
    tool_json_string(&j, tool_key_type_name(k->type));
    tool_json_key(&j, "bits");
    tool_json_int(&j, k->bits);
    tool_json_key(&j, "curve");
    tool_json_string(&j, curve != NULL ? curve->name : NULL);
    tool_json_key(&j, "key_ref");
    tool_json_int(&j, k->key_ref);
    tool_json_key(&j, "uri");
    tool_json_string(&j, uri);
    tool_json_key(&j, "uri_full");
    tool_json_string(&j, full);
    tool_json_key(&j, "algorithms");
    tool_json_begin_array(&j);
    for (size_t i = 0; i < n_algs; i++) {
        char hex[3];
        snprintf(hex, sizeof(hex), "%02x", algs[i]);
        tool_json_string(&j, hsm_alg_name(algs[i]) != NULL ? hsm_alg_name(algs[i]) : hex);
    }
    tool_json_end_array(&j);
    tool_json_end_object(&j);
    tool_json_finish(&j);
    free(idhex);
    free(uri);
    free(full);
    return TOOL_OK;
}

static int run_keygen(tool_ctx *ctx, tool_args *a)
{
    char why[TOOL_CURVE_LIST_MAX + 128];
    const char *type = tool_arg(a, "type");
    const char *label = tool_arg(a, "label");
    if (type == NULL)
        return tool_usage_error(ctx, "--type is required: ec:CURVE (e.g. ec:prime256v1), rsa:BITS (e.g. rsa:2048) "
                                "or aes:BITS");
    if (label == NULL || *label == '\0')
        return tool_usage_error(ctx, "--label is required (the name applications use to find the key)");
    if (strlen(label) >= HSM_LABEL_MAX)
        return tool_usage_error(ctx, "--label is too long: at most %d bytes", HSM_LABEL_MAX - 1);
    tool_keytype kt;
    if (tool_parse_keytype(type, &kt, why, sizeof(why)) != HSM_OK)
        return tool_usage_error(ctx, "%s", why);

    hsm_keygen_params p;
    memset(&p, 0, sizeof(p));
    p.type = (enum hsm_key_type)kt.type;
    p.ec_nid = kt.ec_nid;
    p.rsa_bits = kt.rsa_bits;
    p.label = label;
    p.key_domain = -1;
    uint8_t id[HSM_ID_MAX], algs[HSM_ALGS_MAX];
    size_t id_len = 0, n_algs = 0;
    const char *s = tool_arg(a, "id");
    if (s != NULL) {
        if (tool_parse_id(s, id, sizeof(id), &id_len, why, sizeof(why)) != HSM_OK)
            return tool_usage_error(ctx, "%s", why);
        p.id = id;
        p.id_len = id_len;
    }
    s = tool_arg(a, "algorithms");
    if (s != NULL) {
        if (hsm_alg_parse_list(s, (enum hsm_key_type)kt.type, algs, &n_algs, why, sizeof(why)) != HSM_OK)
            return tool_usage_error(ctx, "%s", why);
        p.algorithms = algs;
        p.algorithms_len = n_algs;
    }
    int rc = TOOL_OK;
    if ((tool_arg(a, "key-domain") != NULL || tool_arg(a, "domain") != NULL)
        && (rc = tool_key_domain_opt(ctx, a, &p.key_domain)) != TOOL_OK)
        return rc;

    rc = tool_login(ctx, 0);
    if (rc != TOOL_OK)
        return rc;
    hsm_key k;
    memset(&k, 0, sizeof(k));
    char what[96];
    snprintf(what, sizeof(what), "generating %s key '%s' on the card", type, label);
    tool_progress_begin(what);
    int gen = hsm_token_generate(ctx->tok, &p, &k);
    tool_progress_end();
    if (gen != HSM_OK)
        return tool_token_fail(ctx, "key generation failed");

    const hsm_curve *curve = k.type == HSM_KEY_EC ? hsm_curve_by_nid(kt.ec_nid) : NULL;
    if (tool_flag(a, "json"))
        return keygen_json(ctx, &k, curve, algs, n_algs);
    printf("Generated a key on the card:\n");
    printf("  label:    %s\n", k.label);
    printf("  id:       ");
    print_hex(stdout, k.id, k.id_len);
    printf("\n  key ref:  %u\n", k.key_ref);
    if (k.type == HSM_KEY_EC) {
        printf("  type:     ec %s (%u bits)\n", curve != NULL ? curve->name : "?", k.bits);
    } else {
        printf("  type:     %s %u bits\n", tool_key_type_name(k.type), k.bits);
    }
    if (n_algs > 0) {
        char names[HSM_ALGS_MAX * 24];
        hsm_alg_list_text(algs, n_algs, names, sizeof(names));
        printf("  allowed:  %s\n", names);
    }
    return TOOL_OK;
}

/* ---- delete ---- */

/* delete --label L run again after an interruption: the key is gone or incomplete, but what is
 * left of it (recognised by keygen's marker) goes too. Returns -1 when there is nothing of it. */
static int delete_leftovers(tool_ctx *ctx, tool_args *a)
{
    const char *label = tool_arg(a, "label");
    size_t n = 0;
    if (label == NULL || tool_arg(a, "id") != NULL || *label == '\0' || tool_open(ctx) != TOOL_OK ||
        hsm_token_remove_leftovers(ctx->tok, label, 1, &n) != HSM_OK || n == 0)
        return -1;
    if (!tool_flag(a, "yes"))
        return tool_usage_error(ctx, "key '%s' is gone, but %zu incomplete key reference%s left by an interrupted "
                                "operation on it remain: pass --yes to remove them", label, n, n == 1 ? "" : "s");
    int rc = tool_login(ctx, 0);
    if (rc == TOOL_OK && hsm_token_remove_leftovers(ctx->tok, label, 0, &n) != HSM_OK)
        rc = tool_token_fail(ctx, "the leftovers were not removed");
    if (rc == TOOL_OK)
        printf("Removed %zu incomplete key reference%s left of key '%s' by an interrupted operation.\n", n,
               n == 1 ? "" : "s", label);
    return rc;
}

static int run_delete(tool_ctx *ctx, tool_args *a)
{
    hsm_key k;
    const char *label = tool_arg(a, "label");
    int rc = tool_open(ctx);
    if (rc != TOOL_OK)
        return rc;
    hsm_token_snapshot_begin(ctx->tok);   /* one directory read for both lookups */
    if (label != NULL && *label != '\0' && tool_arg(a, "id") == NULL &&
        hsm_token_find_key(ctx->tok, label, NULL, 0, &k) == HSM_E_NOT_FOUND) {
        int lrc = delete_leftovers(ctx, a);
        if (lrc >= 0) {
            hsm_token_snapshot_end(ctx->tok);
            return lrc;
        }
    }
    rc = tool_find_key(ctx, a, &k);
    hsm_token_snapshot_end(ctx->tok);
    if (rc != TOOL_OK)
        return rc;
    char *idhex = hsm_hex_encode(k.id, k.id_len);
    char q[512];
    snprintf(q, sizeof(q), "Delete key '%s' (id %s, key ref %u) and its certificate for good?", k.label,
             idhex ? idhex : "?", k.key_ref);
    rc = tool_confirm_change(ctx, tool_flag(a, "yes"), q, "deleting a key cannot be undone", "nothing was deleted");
    if (rc == TOOL_OK)
        rc = tool_login(ctx, 0);
    if (rc == TOOL_OK && hsm_token_delete_key(ctx->tok, &k) != HSM_OK)
        rc = tool_token_fail(ctx, "the key was not deleted");
    if (rc == TOOL_OK)
        printf("Deleted key '%s' (id %s, key ref %u).\n", k.label, idhex ? idhex : "?", k.key_ref);
    free(idhex);
    return rc;
}

static const tool_opt keygen_opts[] = {
    { "type", "T", "ec:CURVE (the curves are listed below), rsa:BITS (1024, 1536, 2048, 3072, 4096) or "
                   "aes:BITS (128, 192, 256)" },
    { "label", "L", "key label (required, unique on the card)" },
    { "id", "HEX", "key ID (CKA_ID); default: SHA-1 of the public key, as OpenSC does" },
    { "algorithms", "LIST", "restrict the key to these algorithms: comma list of names (EC: ecdsa, ecdsa-sha1 .. "
                            "ecdsa-sha512, ecdh; RSA: rsa-raw, rsa-pkcs1[-sha256 ...], rsa-pss[-sha256 ...], "
                            "decrypt, rsa-decrypt-pkcs1, rsa-oaep; AES: aes-cbc-encrypt, aes-cbc-decrypt, aes-cmac; "
                            "any: wrap, unwrap) or hex ids (70, 0x92)" },
    { "key-domain", "N", "put the key in key domain N (DKEK or XKEK domain)" },
    { "domain", "N", "same as --key-domain" },
    { "json", NULL, "print the new key as a JSON object: label, id, type, bits, curve, key_ref, uri, "
                    "uri_full, algorithms" },
    { NULL, NULL, NULL },
};
static const tool_opt delete_opts[] = {
    TOOL_OPTS_KEY_SELECT,
    { "yes", NULL, "do not ask for confirmation (required without a terminal)" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_keygen = {
    "keygen", "--type ec:CURVE|rsa:BITS|aes:BITS --label L [--id HEX] [--algorithms LIST] [--key-domain N] [--json]",
    "generate a key pair (or an AES key) on the card",
    "Needs the user PIN. Without --algorithms the key may be used with every algorithm that fits\n"
    "its type (and exported when a DKEK is set up).",
    keygen_opts, run_keygen,
};
const tool_cmd tool_cmd_delete = {
    "delete", "--label L | --id HEX [--yes]", "delete a key with its description and certificate",
    "Removes the key, its PKCS#15 description and its certificate file; nothing else.", delete_opts,
    run_delete,
};
