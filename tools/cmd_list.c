/* SPDX-License-Identifier: Apache-2.0 */
/* list: the keys and certificates on the card, each with the URIs that name it (the shortest one
 * that is unambiguous on this card, and the full one with the card's serial), and for
 * certificates subject, issuer and expiry. No PIN. */
#include "tools/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm/algs.h"
#include "hsm/check.h"
#include "hsm/crypto.h"
#include "hsm/rv.h"
#include "hsm/uri_text.h"

typedef struct {
    const char *type;
    char label[HSM_LABEL_MAX];
    uint8_t id_raw[HSM_ID_MAX];
    size_t id_len;
    char id[2 * HSM_ID_MAX + 1];
    unsigned bits;
    char curve[64];
    int key_ref;        /* -1 none */
    int is_cert;
    char subject[256];  /* certificates */
    char issuer[256];
    char not_after[32]; /* ISO 8601, UTC */
    char *uri;          /* shortest unambiguous on this card */
    char *uri_full;     /* with serial, label and id */
    hsm_alg_list algs;  /* keys: the algorithm list (known = read) */
    const char *state;  /* NULL = complete; "incomplete" (key without description), "orphan" (files without key) */
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

/* Table suffix: "  [algorithms: ecdsa-sha256]" for a key with an algorithm list. */
static void print_algorithms(const hsm_alg_list *l)
{
    if (!l->known || !l->restricted)
        return;
    char names[HSM_ALGS_MAX * 24];
    hsm_alg_list_text(l->ids, l->n, names, sizeof(names));
    printf("  [algorithms: %s]", l->n ? names : "none");
}

static void pkey_facts(EVP_PKEY *pk, row *r)
{
    size_t len = 0;
    if (r->bits == 0)
        r->bits = (unsigned)EVP_PKEY_get_bits(pk);
    if (EVP_PKEY_get_group_name(pk, r->curve, sizeof(r->curve), &len) != 1)
        r->curve[0] = '\0';
}

/* detail: also the algorithm list (SELECT of the key file) and, for EC keys, the curve (READ CEnn). */
static void key_row(tool_ctx *ctx, const hsm_key *k, row *r, int detail)
{
    memset(r, 0, sizeof(*r));
    r->type = tool_key_type_name(k->type);
    snprintf(r->label, sizeof(r->label), "%s", k->label);
    memcpy(r->id_raw, k->id, k->id_len);
    r->id_len = k->id_len;
    tool_hex_into(r->id, k->id, k->id_len);
    r->bits = k->bits;
    r->key_ref = k->key_ref;
    if (!detail)
        return;
    if (hsm_token_key_algorithms(ctx->tok, k, 1, &r->algs) != HSM_OK)
        memset(&r->algs, 0, sizeof(r->algs));   /* shown as unknown, the listing goes on */
    if (k->type == HSM_KEY_EC && k->has_cert_file) {
        EVP_PKEY *pk = NULL;
        if (hsm_token_public_key(ctx->tok, k, &pk) == HSM_OK && pk != NULL)
            pkey_facts(pk, r);
        EVP_PKEY_free(pk);
    }
}

/* "2027-01-31T12:00:00Z" from an ASN1_TIME. */
static void iso_time(const ASN1_TIME *t, char *out, size_t cap)
{
    struct tm tm;
    out[0] = '\0';
    if (t != NULL && ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void cert_row(tool_ctx *ctx, const hsm_cert_ref *c, row *r)
{
    memset(r, 0, sizeof(*r));
    r->type = "cert";
    r->is_cert = 1;
    snprintf(r->label, sizeof(r->label), "%s", c->label);
    memcpy(r->id_raw, c->id, c->id_len);
    r->id_len = c->id_len;
    tool_hex_into(r->id, c->id, c->id_len);
    r->key_ref = (c->fid >> 8) == HSM_PREFIX_EE_CERT ? (int)(c->fid & 0xFF) : -1;
    hsm_bytes b = HSM_BYTES_INIT;
    if (hsm_token_read_file(ctx->tok, c->fid, &b) == HSM_OK) {
        const unsigned char *q = b.data;
        X509 *x = X509_new_ex(hsm_libctx(), NULL);
        if (x != NULL && d2i_X509(&x, &q, (long)b.len) != NULL) {
            X509_NAME_oneline(X509_get_subject_name(x), r->subject, sizeof(r->subject));
            X509_NAME_oneline(X509_get_issuer_name(x), r->issuer, sizeof(r->issuer));
            iso_time(X509_get0_notAfter(x), r->not_after, sizeof(r->not_after));
            EVP_PKEY *pk = X509_get0_pubkey(x);
            if (pk != NULL)
                pkey_facts(pk, r);
        }
        X509_free(x);
    }
    hsm_bytes_free(&b);
}

/* The shortest URI that names only this row among rows of its kind: the label when no other
 * key (certificate) has it, else the ID when unique, else both. */
static void row_uris(row *rows, size_t n, size_t i, const char *serial)
{
    row *r = &rows[i];
    int label_dup = r->label[0] == '\0', id_dup = r->id_len == 0;
    for (size_t j = 0; j < n; j++) {
        if (j == i || rows[j].is_cert != r->is_cert)
            continue;
        if (strcmp(rows[j].label, r->label) == 0)
            label_dup = 1;
        if (rows[j].id_len == r->id_len && memcmp(rows[j].id_raw, r->id_raw, r->id_len) == 0)
            id_dup = 1;
    }
    const char *type = r->is_cert ? "cert" : strcmp(r->type, "aes") == 0 ? NULL : "private";
    if (!label_dup)
        r->uri = hsm_object_uri(NULL, r->label, NULL, 0, type);
    else if (!id_dup)
        r->uri = hsm_object_uri(NULL, NULL, r->id_raw, r->id_len, type);
    else
        r->uri = hsm_object_uri(NULL, r->label, r->id_raw, r->id_len, type);
    r->uri_full = hsm_object_uri(serial, r->label, r->id_raw, r->id_len, type);
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
    tool_json_key(j, "uri");
    tool_json_string(j, r->uri);
    tool_json_key(j, "uri_full");
    tool_json_string(j, r->uri_full);
    if (r->is_cert) {
        tool_json_key(j, "subject");
        tool_json_string(j, r->subject[0] ? r->subject : NULL);
        tool_json_key(j, "issuer");
        tool_json_string(j, r->issuer[0] ? r->issuer : NULL);
        tool_json_key(j, "not_after");
        tool_json_string(j, r->not_after[0] ? r->not_after : NULL);
    } else {
        json_algorithms(j, &r->algs);
    }
    if (r->state != NULL) {
        tool_json_key(j, "state");
        tool_json_string(j, r->state);
    }
    tool_json_end_object(j);
}

/* Marks keys without description as incomplete (type and curve from their CEnn) and adds a row
 * per key reference whose files lost their key, after rows[0..at). Returns the rows added. */
static size_t mark_leftovers(tool_ctx *ctx, const hsm_check_report *files, const hsm_key *keys, size_t nk,
                             row *rows, size_t at)
{
    size_t added = 0;
    for (size_t i = 0; i < files->n; i++) {
        const hsm_check_entry *e = &files->entries[i];
        if (e->findings & HSM_CHECK_NO_DESC) {
            for (size_t k = 0; k < nk; k++) {
                if (rows[k].key_ref != e->ref)
                    continue;
                rows[k].state = "incomplete";
                EVP_PKEY *pk = NULL;
                if (keys[k].type == HSM_KEY_NONE && keys[k].has_cert_file &&
                    hsm_token_public_key(ctx->tok, &keys[k], &pk) == HSM_OK && pk != NULL) {
                    rows[k].type = EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA ? "rsa" : "ec";
                    pkey_facts(pk, &rows[k]);
                }
                EVP_PKEY_free(pk);
            }
        } else if (e->findings & HSM_CHECK_ORPHAN) {
            row *r = &rows[at + added++];
            r->type = "files";
            r->key_ref = e->ref;
            r->state = "orphan";
            snprintf(r->label, sizeof(r->label), "(files without key:%s%s%s)",
                     (e->files & HSM_CHECK_DESC) ? " description" : "", (e->files & HSM_CHECK_PUB) ? " public" : "",
                     (e->files & HSM_CHECK_REQ) ? " request" : "");
        }
    }
    return added;
}

static void table(const row *rows, size_t n)
{
    int wid = 2, wcurve = 5, wlabel = 5;
    for (size_t i = 0; i < n; i++) {
        if ((int)strlen(rows[i].id) > wid)
            wid = (int)strlen(rows[i].id);
        if ((int)strlen(rows[i].curve) > wcurve)
            wcurve = (int)strlen(rows[i].curve);
        if ((int)strlen(rows[i].label) > wlabel)
            wlabel = (int)strlen(rows[i].label);
    }
    printf("%-5s %5s %-*s %4s %-*s %-*s %s\n", "TYPE", "BITS", wcurve, "CURVE", "REF", wid, "ID", wlabel,
           "LABEL", "URI");
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        char bits[16], ref[8];
        snprintf(bits, sizeof(bits), r->bits ? "%u" : "-", r->bits);
        snprintf(ref, sizeof(ref), r->key_ref >= 0 ? "%d" : "-", r->key_ref);
        printf("%-5s %5s %-*s %4s %-*s %-*s %s", r->type, bits, wcurve, r->curve[0] ? r->curve : "-", ref, wid,
               r->id, wlabel, r->label, r->uri ? r->uri : "-");
        if (r->subject[0])
            printf("  (%s, expires %s)", r->subject, r->not_after[0] ? r->not_after : "?");
        print_algorithms(&r->algs);
        if (r->state != NULL)
            printf("  [%s: see schsm-tool check]", r->state);
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
    /* The plain table costs SELECT, ENUMERATE and one READ per key description; --long and --json
     * add the curves, certificates, algorithm lists and the serial (for full URIs). */
    int detail = tool_flag(a, "long") || tool_flag(a, "json");
    hsm_key *keys = NULL;
    hsm_cert_ref *certs = NULL;
    size_t nk = 0, nc = 0;
    /* One snapshot: the directory and each CEnn are read once for keys, certificates and rows. */
    hsm_token_snapshot_begin(ctx->tok);
    if (hsm_token_list_keys(ctx->tok, &keys, &nk) != HSM_OK) {
        hsm_token_snapshot_end(ctx->tok);
        return tool_token_fail(ctx, "cannot list the keys");
    }
    if (detail && hsm_token_list_certs(ctx->tok, &certs, &nc) != HSM_OK) {
        hsm_token_snapshot_end(ctx->tok);
        free(keys);
        return tool_token_fail(ctx, "cannot list the certificates");
    }
    char serial[64] = "";
    if (detail && hsm_token_serial(ctx->tok, serial, sizeof(serial)) != HSM_OK)
        serial[0] = '\0';
    /* Interrupted operations and other tools leave keys without description and files without
     * their key: shown as such (from the directory already read), never hidden. */
    hsm_check_report files;
    if (hsm_check_scan_files(ctx->tok, &files) != HSM_OK) {
        hsm_token_snapshot_end(ctx->tok);
        free(keys);
        free(certs);
        return tool_token_fail(ctx, "cannot list the card's files");
    }
    row *rows = calloc(nk + nc + files.n + 1, sizeof(row));
    if (rows == NULL) {
        hsm_token_snapshot_end(ctx->tok);
        free(keys);
        free(certs);
        hsm_check_report_free(&files);
        return tool_error(ctx, TOOL_FAIL, "out of memory");
    }
    for (size_t i = 0; i < nk; i++)
        key_row(ctx, &keys[i], &rows[i], detail);
    for (size_t i = 0; i < nc; i++)
        cert_row(ctx, &certs[i], &rows[nk + i]);
    size_t nr = nk + nc + mark_leftovers(ctx, &files, keys, nk, rows, nk + nc);
    hsm_check_report_free(&files);
    hsm_token_snapshot_end(ctx->tok);
    for (size_t i = 0; i < nk + nc; i++)
        row_uris(rows, nk + nc, i, serial);
    if (tool_flag(a, "json")) {
        tool_json j;
        tool_json_init(&j, stdout);
        tool_json_begin_array(&j);
        for (size_t i = 0; i < nr; i++)
            json_row(&j, &rows[i]);
        tool_json_end_array(&j);
        tool_json_finish(&j);
    } else {
        table(rows, nr);
        if (!detail && nk > 0 && isatty(STDOUT_FILENO))   /* scripts count rows: a hint for people only */
            printf("(list --long adds curves, certificates and algorithm lists)\n");
    }
    for (size_t i = 0; i < nr; i++) {
        free(rows[i].uri);
        free(rows[i].uri_full);
    }
    free(rows);
    free(keys);
    free(certs);
    return TOOL_OK;
}

static const tool_opt list_opts[] = {
    { "long", NULL, "also each EC key's curve, the certificates (subject, expiry) and the keys' algorithm "
                    "lists: one to three more APDUs per key" },
    { "json", NULL, "print a JSON array with one object per key or certificate: label, id (hex), type "
                    "(ec, rsa, aes, cert), bits, curve, key_ref, uri (the shortest URI naming it on this "
                    "card), uri_full (with the card's serial); keys also algorithms (names of the algorithm list, "
                    "or null) and algorithms_hex (its bytes); certificates also subject, issuer and "
                    "not_after (expiry, ISO 8601 UTC)" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_list = {
    "list", "[--long] [--json]", "list keys and certificates on the card, with the URIs that name them",
    "No PIN is needed. The URI column is the shortest schsm: URI that names the object on this card;\n"
    "paste it into openssl (for example openssl pkey -in 'URI' -pubout). The plain table reads only the\n"
    "key directory (SELECT, ENUMERATE, one READ per key); --long and --json read every detail.",
    list_opts, run_list,
};
