/* SPDX-License-Identifier: Apache-2.0 */
/* keygen, list, delete: the key directory. */
#include "tools/util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm/algs.h"
#include "hsm/crypto.h"
#include "hsm/curves.h"
#include "hsm/rv.h"

static void print_hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

/* ---- keygen ---- */

static int run_keygen(tool_ctx *ctx, tool_args *a)
{
    char why[256];
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
    s = tool_arg(a, "key-domain");
    if (s != NULL && tool_arg(a, "domain") != NULL)
        return tool_usage_error(ctx, "give --domain or --key-domain, not both (they are the same)");
    if (s == NULL)
        s = tool_arg(a, "domain");
    if (s != NULL) {
        long d;
        if (tool_parse_uint(s, 0, 255, &d) != HSM_OK)
            return tool_usage_error(ctx, "--key-domain must be a number from 0 to 255");
        p.key_domain = (int)d;
    }

    int rc = tool_login(ctx, 0);
    if (rc != TOOL_OK)
        return rc;
    hsm_key k;
    memset(&k, 0, sizeof(k));
    if (hsm_token_generate(ctx->tok, &p, &k) != HSM_OK)
        return tool_token_fail(ctx, "key generation failed");

    printf("Generated a key on the card:\n");
    printf("  label:    %s\n", k.label);
    printf("  id:       ");
    print_hex(stdout, k.id, k.id_len);
    printf("\n  key ref:  %u\n", k.key_ref);
    if (k.type == HSM_KEY_EC) {
        const hsm_curve *c = hsm_curve_by_nid(kt.ec_nid);
        printf("  type:     ec %s (%u bits)\n", c != NULL ? c->name : "?", k.bits);
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

/* ---- list ---- */

typedef struct {
    const char *type;
    char label[HSM_LABEL_MAX];
    char id[2 * HSM_ID_MAX + 1];
    unsigned bits;
    char curve[64];
    int key_ref;        /* -1 none */
    char subject[256];  /* certificates */
    hsm_alg_list algs;  /* keys: the algorithm list (known = read) */
} row;

/* The key's algorithm list, as names ("ecdsa-sha256") and raw bytes ("73"); null when the key has
 * none (every algorithm of its type) or it could not be read. */
static void json_algorithms(tool_json *j, const hsm_alg_list *l)
{
    tool_json_key(j, "algorithms");
    if (!l->known || !l->restricted) {
        tool_json_null(j);
    } else {
        tool_json_begin_array(j);
        for (size_t i = 0; i < l->n; i++) {
            const char *name = hsm_alg_name(l->ids[i]);
            char hex[3];
            snprintf(hex, sizeof(hex), "%02x", l->ids[i]);
            tool_json_string(j, name != NULL ? name : hex);
        }
        tool_json_end_array(j);
    }
    char hex[2 * HSM_ALGS_MAX + 1] = "";
    for (size_t i = 0; i < l->n && i < HSM_ALGS_MAX; i++)
        snprintf(hex + 2 * i, 3, "%02x", l->ids[i]);
    tool_json_key(j, "algorithms_hex");
    tool_json_string(j, l->known && l->restricted ? hex : NULL);
}

/* Table suffix: "  [only ecdsa-sha256]" for a key with an algorithm list. */
static void print_algorithms(const hsm_alg_list *l)
{
    if (!l->known || !l->restricted)
        return;
    char names[HSM_ALGS_MAX * 24];
    hsm_alg_list_text(l->ids, l->n, names, sizeof(names));
    printf("  [algorithms: %s]", l->n ? names : "none");
}

static void hex_into(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void pkey_facts(EVP_PKEY *pk, row *r)
{
    size_t len = 0;
    if (r->bits == 0)
        r->bits = (unsigned)EVP_PKEY_get_bits(pk);
    if (EVP_PKEY_get_group_name(pk, r->curve, sizeof(r->curve), &len) != 1)
        r->curve[0] = '\0';
}

static void key_row(tool_ctx *ctx, const hsm_key *k, row *r)
{
    memset(r, 0, sizeof(*r));
    r->type = tool_key_type_name(k->type);
    snprintf(r->label, sizeof(r->label), "%s", k->label);
    hex_into(r->id, k->id, k->id_len);
    r->bits = k->bits;
    r->key_ref = k->key_ref;
    if (hsm_token_key_algorithms(ctx->tok, k, 1, &r->algs) != HSM_OK)
        memset(&r->algs, 0, sizeof(r->algs));   /* shown as unknown, the listing goes on */
    if (k->type == HSM_KEY_EC && k->has_cert_file) {
        EVP_PKEY *pk = NULL;
        if (hsm_token_public_key(ctx->tok, k, &pk) == HSM_OK && pk != NULL)
            pkey_facts(pk, r);
        EVP_PKEY_free(pk);
    }
}

static void cert_row(tool_ctx *ctx, const hsm_cert_ref *c, row *r)
{
    memset(r, 0, sizeof(*r));
    r->type = "cert";
    snprintf(r->label, sizeof(r->label), "%s", c->label);
    hex_into(r->id, c->id, c->id_len);
    r->key_ref = (c->fid >> 8) == HSM_PREFIX_EE_CERT ? (int)(c->fid & 0xFF) : -1;
    hsm_bytes b = HSM_BYTES_INIT;
    if (hsm_token_read_file(ctx->tok, c->fid, &b) == HSM_OK) {
        const unsigned char *q = b.data;
        X509 *x = X509_new_ex(hsm_libctx(), NULL);
        if (x != NULL && d2i_X509(&x, &q, (long)b.len) != NULL) {
            X509_NAME_oneline(X509_get_subject_name(x), r->subject, sizeof(r->subject));
            EVP_PKEY *pk = X509_get0_pubkey(x);
            if (pk != NULL)
                pkey_facts(pk, r);
        }
        X509_free(x);
    }
    hsm_bytes_free(&b);
}

static void json_row(tool_json *j, const row *r)
{
    tool_json_begin_object(j);
    tool_json_key(j, "label");
    tool_json_string(j, r->label);
    tool_json_key(j, "id");
    tool_json_string(j, r->id);
    tool_json_key(j, "type");
    tool_json_string(j, r->type);
    tool_json_key(j, "bits");
    if (r->bits)
        tool_json_int(j, r->bits);
    else
        tool_json_null(j);
    tool_json_key(j, "curve");
    tool_json_string(j, r->curve[0] ? r->curve : NULL);
    tool_json_key(j, "key_ref");
    if (r->key_ref >= 0)
        tool_json_int(j, r->key_ref);
    else
        tool_json_null(j);
    if (strcmp(r->type, "cert") == 0) {
        tool_json_key(j, "subject");
        tool_json_string(j, r->subject[0] ? r->subject : NULL);
    } else {
        json_algorithms(j, &r->algs);
    }
    tool_json_end_object(j);
}

static void table(const row *rows, size_t n)
{
    int wid = 2, wcurve = 5;
    for (size_t i = 0; i < n; i++) {
        if ((int)strlen(rows[i].id) > wid)
            wid = (int)strlen(rows[i].id);
        if ((int)strlen(rows[i].curve) > wcurve)
            wcurve = (int)strlen(rows[i].curve);
    }
    printf("%-5s %5s %-*s %4s %-*s %s\n", "TYPE", "BITS", wcurve, "CURVE", "REF", wid, "ID", "LABEL");
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        char bits[16], ref[8];
        snprintf(bits, sizeof(bits), r->bits ? "%u" : "-", r->bits);
        snprintf(ref, sizeof(ref), r->key_ref >= 0 ? "%d" : "-", r->key_ref);
        printf("%-5s %5s %-*s %4s %-*s %s", r->type, bits, wcurve, r->curve[0] ? r->curve : "-", ref, wid,
               r->id, r->label);
        if (r->subject[0])
            printf("  (%s)", r->subject);
        print_algorithms(&r->algs);
        printf("\n");
    }
    if (n == 0)
        printf("(no keys or certificates on the card)\n");
}

static int run_list(tool_ctx *ctx, tool_args *a)
{
    int rc = tool_open(ctx);
    if (rc != TOOL_OK)
        return rc;
    hsm_key *keys = NULL;
    hsm_cert_ref *certs = NULL;
    size_t nk = 0, nc = 0;
    if (hsm_token_list_keys(ctx->tok, &keys, &nk) != HSM_OK)
        return tool_token_fail(ctx, "cannot list the keys");
    if (hsm_token_list_certs(ctx->tok, &certs, &nc) != HSM_OK) {
        free(keys);
        return tool_token_fail(ctx, "cannot list the certificates");
    }
    row *rows = calloc(nk + nc + 1, sizeof(row));
    if (rows == NULL) {
        free(keys);
        free(certs);
        return tool_error(ctx, TOOL_FAIL, "out of memory");
    }
    for (size_t i = 0; i < nk; i++)
        key_row(ctx, &keys[i], &rows[i]);
    for (size_t i = 0; i < nc; i++)
        cert_row(ctx, &certs[i], &rows[nk + i]);
    if (tool_flag(a, "json")) {
        tool_json j;
        tool_json_init(&j, stdout);
        tool_json_begin_array(&j);
        for (size_t i = 0; i < nk + nc; i++)
            json_row(&j, &rows[i]);
        tool_json_end_array(&j);
        tool_json_finish(&j);
    } else {
        table(rows, nk + nc);
    }
    free(rows);
    free(keys);
    free(certs);
    return TOOL_OK;
}

/* ---- delete ---- */

static int run_delete(tool_ctx *ctx, tool_args *a)
{
    hsm_key k;
    int rc = tool_find_key(ctx, a, &k);
    if (rc != TOOL_OK)
        return rc;
    char *idhex = hsm_hex_encode(k.id, k.id_len);
    char q[512];
    snprintf(q, sizeof(q), "Delete key '%s' (id %s, key ref %u) and its certificate for good?", k.label,
             idhex ? idhex : "?", k.key_ref);
    if (!tool_flag(a, "yes")) {
        if (!tool_have_tty())
            rc = tool_usage_error(ctx, "deleting a key cannot be undone: pass --yes to confirm");
        else if (!tool_confirm(q))
            rc = tool_error(ctx, TOOL_FAIL, "not confirmed: nothing was deleted");
    }
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
    { "type", "T", "ec:CURVE (prime256v1/P-256, secp384r1, secp521r1, brainpoolP256r1, brainpoolP384r1, "
                   "brainpoolP512r1, secp256k1), rsa:BITS (1024, 1536, 2048, 3072, 4096) or aes:BITS "
                   "(128, 192, 256)" },
    { "label", "L", "key label (required, unique on the card)" },
    { "id", "HEX", "key ID (CKA_ID); default: SHA-1 of the public key, as OpenSC does" },
    { "algorithms", "LIST", "restrict the key to these algorithms: comma list of names (EC: ecdsa, ecdsa-sha1 .. "
                            "ecdsa-sha512, ecdh; RSA: rsa-raw, rsa-pkcs1[-sha256 ...], rsa-pss[-sha256 ...], "
                            "decrypt, rsa-decrypt-pkcs1, rsa-oaep; AES: aes-cbc-encrypt, aes-cbc-decrypt, aes-cmac; "
                            "any: wrap, unwrap) or hex ids (70, 0x92)" },
    { "key-domain", "N", "put the key in key domain N (DKEK or XKEK domain)" },
    { "domain", "N", "same as --key-domain" },
    { NULL, NULL, NULL },
};
static const tool_opt list_opts[] = {
    { "json", NULL, "print a JSON array of objects (label, id, type, bits, curve, key_ref; for keys also "
                    "algorithms: names of the algorithm list or null, algorithms_hex: its bytes)" },
    { NULL, NULL, NULL },
};
static const tool_opt delete_opts[] = {
    TOOL_OPTS_KEY_SELECT,
    { "yes", NULL, "do not ask for confirmation (required without a terminal)" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_keygen = {
    "keygen", "--type ec:CURVE|rsa:BITS|aes:BITS --label L [--id HEX] [--algorithms LIST] [--key-domain N]",
    "generate a key pair (or an AES key) on the card",
    "Needs the user PIN. Without --algorithms the key may be used with every algorithm that fits\n"
    "its type (and exported when a DKEK is set up).",
    keygen_opts, run_keygen,
};
const tool_cmd tool_cmd_list = {
    "list", "[--json]", "list keys and certificates on the card", "No PIN is needed.", list_opts, run_list,
};
const tool_cmd tool_cmd_delete = {
    "delete", "--label L | --id HEX [--yes]", "delete a key with its description and certificate",
    "Removes the key, its PKCS#15 description and its certificate file; nothing else.", delete_opts,
    run_delete,
};
