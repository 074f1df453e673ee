/* SPDX-License-Identifier: Apache-2.0 */
/* export-cert, delete-cert, rename, random: the small object commands users of pkcs11-tool and
 * opensc-tool reach for. */
#include "tools/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hsm/crypto.h"
#include "hsm/rv.h"

/* ---- export-cert ---- */

static int run_export_cert(tool_ctx *ctx, tool_args *a)
{
    const char *label = tool_arg(a, "label"), *idhex = tool_arg(a, "id"), *out = tool_arg(a, "out");
    uint8_t id[HSM_ID_MAX];
    size_t id_len = 0;
    char why[256];
    if (label == NULL && idhex == NULL)
        return tool_usage_error(ctx, "say which certificate: --label L or --id HEX");
    if (idhex != NULL && tool_parse_id(idhex, id, sizeof(id), &id_len, why, sizeof(why)) != HSM_OK)
        return tool_usage_error(ctx, "%s", why);
    int rc = tool_open(ctx);
    if (rc != TOOL_OK)
        return rc;
    hsm_cert_ref *certs = NULL;
    size_t n = 0, hits = 0, hit = 0;
    if (hsm_token_list_certs(ctx->tok, &certs, &n) != HSM_OK)
        return tool_token_fail(ctx, "cannot list the certificates");
    for (size_t i = 0; i < n; i++) {
        if (label != NULL && strcmp(label, certs[i].label) != 0)
            continue;
        if (idhex != NULL && (certs[i].id_len != id_len || memcmp(certs[i].id, id, id_len) != 0))
            continue;
        hits++;
        hit = i;
    }
    if (hits != 1) {
        free(certs);
        return tool_error(ctx, TOOL_FAIL, "%s certificate matches %s%s%s%s; 'schsm-tool list' shows them",
                          hits == 0 ? "no" : "more than one", label ? "label " : "", label ? label : "",
                          label && idhex ? " and " : "", idhex ? "the id" : "");
    }
    hsm_bytes der = HSM_BYTES_INIT;
    int rv = hsm_token_read_file(ctx->tok, certs[hit].fid, &der);
    free(certs);
    if (rv != HSM_OK) {
        hsm_bytes_free(&der);
        return tool_token_fail(ctx, "cannot read the certificate");
    }
    const unsigned char *q = der.data;
    X509 *x = X509_new_ex(hsm_libctx(), NULL);
    if (x == NULL || d2i_X509(&x, &q, (long)der.len) == NULL) {
        X509_free(x);
        hsm_bytes_free(&der);
        return tool_error(ctx, TOOL_FAIL, "the certificate on the card is not X.509 (a CV certificate?)");
    }
    BIO *bio = out == NULL || strcmp(out, "-") == 0 ? BIO_new_fp(stdout, BIO_NOCLOSE) : BIO_new_file(out, "wb");
    if (bio == NULL)
        rc = tool_error(ctx, TOOL_FAIL, "cannot write %s: %s", out, strerror(errno));
    else if (!(tool_flag(a, "der") ? i2d_X509_bio(bio, x) : PEM_write_bio_X509(bio, x)))
        rc = tool_error(ctx, TOOL_FAIL, "cannot write the certificate to %s", out ? out : "standard output");
    BIO_free(bio);
    X509_free(x);
    hsm_bytes_free(&der);
    return rc;
}

/* ---- delete-cert ---- */

static int run_delete_cert(tool_ctx *ctx, tool_args *a)
{
    hsm_key k;
    int rc = tool_find_key(ctx, a, &k);
    if (rc != TOOL_OK)
        return rc;
    if (!tool_flag(a, "yes")) {
        char q[HSM_LABEL_MAX + 96];
        snprintf(q, sizeof(q), "Delete the certificate of key '%s' (the key stays)?", k.label);
        if (!tool_have_tty())
            return tool_usage_error(ctx, "deleting a certificate cannot be undone: pass --yes to confirm");
        if (!tool_confirm(q))
            return tool_error(ctx, TOOL_FAIL, "not confirmed: nothing was deleted");
    }
    rc = tool_login(ctx, 0);
    if (rc == TOOL_OK && hsm_token_delete_cert(ctx->tok, &k) != HSM_OK)
        rc = tool_token_fail(ctx, "the certificate was not deleted");
    if (rc == TOOL_OK)
        printf("Deleted the certificate of key '%s'; the key and its public key stay on the card.\n", k.label);
    return rc;
}

/* ---- rename ---- */

static int run_rename(tool_ctx *ctx, tool_args *a)
{
    const char *nl = tool_arg(a, "new-label"), *nid = tool_arg(a, "new-id");
    uint8_t id[HSM_ID_MAX];
    size_t id_len = 0;
    char why[256];
    if (nl == NULL && nid == NULL)
        return tool_usage_error(ctx, "give --new-label L and/or --new-id HEX");
    if (nl != NULL && (*nl == '\0' || strlen(nl) >= HSM_LABEL_MAX))
        return tool_usage_error(ctx, "--new-label must have 1 to %d bytes", HSM_LABEL_MAX - 1);
    if (nid != NULL && tool_parse_id(nid, id, sizeof(id), &id_len, why, sizeof(why)) != HSM_OK)
        return tool_usage_error(ctx, "%s", why);
    hsm_key k;
    int rc = tool_find_key(ctx, a, &k);
    if (rc == TOOL_OK)
        rc = tool_login(ctx, 0);
    if (rc == TOOL_OK && hsm_token_rename_key(ctx->tok, &k, nl, nid ? id : NULL, id_len) != HSM_OK)
        rc = tool_token_fail(ctx, "the key was not renamed");
    if (rc == TOOL_OK)
        printf("Key '%s' is now%s%s%s%s%s.\n", k.label, nl ? " labelled '" : "", nl ? nl : "", nl ? "'" : "",
               nid ? (nl ? " with id " : " id ") : "", nid ? nid : "");
    return rc;
}

/* ---- random ---- */

static int run_random(tool_ctx *ctx, tool_args *a)
{
    const char *n_s = tool_arg(a, "bytes"), *out = tool_arg(a, "out");
    long n;
    if (n_s == NULL)
        return tool_usage_error(ctx, "say how many bytes: schsm-tool random N (1 to 65536)");
    if (tool_parse_uint(n_s, 1, 65536, &n) != HSM_OK)
        return tool_usage_error(ctx, "the number of bytes must be 1 to 65536, not '%.20s'", n_s);
    int rc = tool_reach(ctx);
    if (rc != TOOL_OK)
        return rc;
    uint8_t *buf = malloc((size_t)n);
    if (buf == NULL)
        return tool_error(ctx, TOOL_FAIL, "out of memory");
    hsm_card *c = hsm_token_lock(ctx->tok);
    if (c == NULL) {
        free(buf);
        return tool_token_fail(ctx, "cannot reach the card");
    }
    int rv = HSM_OK;
    for (long off = 0; off < n && rv == HSM_OK; off += 256) {   /* GET CHALLENGE: up to 256 per APDU */
        size_t chunk = (size_t)(n - off < 256 ? n - off : 256);
        rv = hsm_card_challenge(c, buf + off, chunk);
    }
    if (rv != HSM_OK)
        rc = tool_card_fail(ctx, c, rv, 0x84, "the card gave no random bytes");
    hsm_token_unlock(ctx->tok, 0);
    int hex = tool_flag(a, "hex") || (out == NULL && isatty(STDOUT_FILENO));
    FILE *f = rc != TOOL_OK ? NULL : out == NULL || strcmp(out, "-") == 0 ? stdout : fopen(out, "wb");
    if (rc == TOOL_OK && f == NULL)
        rc = tool_error(ctx, TOOL_FAIL, "cannot write %s: %s", out, strerror(errno));
    if (f != NULL) {
        if (hex) {
            for (long i = 0; i < n; i++)
                fprintf(f, "%02x", buf[i]);
            fputc('\n', f);
        } else {
            fwrite(buf, 1, (size_t)n, f);
        }
        if ((f != stdout && fclose(f) != 0) || (f == stdout && fflush(f) != 0))
            rc = tool_error(ctx, TOOL_FAIL, "cannot write %s", out ? out : "standard output");
    }
    free(buf);
    return rc;
}

static const tool_opt export_cert_opts[] = {
    { "label", "L", "the certificate's label (a key's certificate has the key's label)" },
    { "id", "HEX", "the certificate's ID" },
    { "out", "FILE", "output file (default: standard output)" },
    { "der", NULL, "write DER instead of PEM" },
    { NULL, NULL, NULL },
};
static const tool_opt delete_cert_opts[] = {
    TOOL_OPTS_KEY_SELECT,
    { "yes", NULL, "do not ask for confirmation (required without a terminal)" },
    { NULL, NULL, NULL },
};
static const tool_opt rename_opts[] = {
    TOOL_OPTS_KEY_SELECT,
    { "new-label", "L", "the new label (unique on the card)" },
    { "new-id", "HEX", "the new ID (CKA_ID; unique on the card)" },
    { NULL, NULL, NULL },
};
static const tool_opt random_opts[] = {
    { "bytes", "N", "how many bytes (1 to 65536); also accepted as the first argument" },
    { "out", "FILE", "output file (default: standard output)" },
    { "hex", NULL, "write hex (the default when standard output is a terminal)" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_export_cert = {
    "export-cert", "--label L | --id HEX [--out cert.pem] [--der]", "write a certificate from the card",
    "No PIN is needed. PEM by default.", export_cert_opts, run_export_cert,
};
const tool_cmd tool_cmd_delete_cert = {
    "delete-cert", "--label L | --id HEX [--yes]", "delete a key's certificate and keep the key",
    "Needs the user PIN. The key's CV request (its attestation) takes the certificate's place, so the\n"
    "public key stays readable. Refused when the certificate is the only copy of the public key.",
    delete_cert_opts, run_delete_cert,
};
const tool_cmd tool_cmd_rename = {
    "rename", "--label L | --id HEX [--new-label L] [--new-id HEX]", "change a key's label and/or ID",
    "Needs the user PIN. Rewrites the key's description (PKCS#15); the key itself does not change,\n"
    "so key-reference files that name it by the old label or ID must be written again.",
    rename_opts, run_rename,
};
const tool_cmd tool_cmd_random = {
    "random", "N [--out FILE] [--hex]", "N random bytes from the card's generator",
    "No PIN is needed. Raw bytes unless --hex or standard output is a terminal.", random_opts, run_random,
};
