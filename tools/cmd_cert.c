/* SPDX-License-Identifier: Apache-2.0 */
/* import-cert and export-pubkey: moving public material between files and the card. Host-side
 * parsing runs in hsm_libctx() so that a configured schsm provider never loops back into the card. */
#include "tools/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hsm/crypto.h"
#include "hsm/rv.h"

#define CERT_FILE_MAX (64 * 1024)

static int read_all(const char *path, hsm_bytes *out, char *why, size_t why_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
        return HSM_E_ARGS;
    }
    uint8_t buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (out->len + n > CERT_FILE_MAX) {
            fclose(f);
            snprintf(why, why_len, "%s is larger than %d bytes: not a certificate", path, CERT_FILE_MAX);
            return HSM_E_ARGS;
        }
        hsm_bytes_put(out, buf, n);
    }
    int err = ferror(f);
    fclose(f);
    if (err || out->oom) {
        snprintf(why, why_len, "cannot read %s", path);
        return HSM_E_ARGS;
    }
    return HSM_OK;
}

static int looks_pem(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 10 <= n; i++)
        if (memcmp(p + i, "-----BEGIN", 10) == 0)
            return 1;
    return 0;
}

/* PEM ("CERTIFICATE") or DER; on success der holds the DER bytes and *x the parsed certificate. */
static int load_cert(const char *path, hsm_bytes *der, X509 **x, char *why, size_t why_len)
{
    hsm_bytes raw = HSM_BYTES_INIT;
    int rv = read_all(path, &raw, why, why_len);
    if (rv == HSM_OK && looks_pem(raw.data, raw.len)) {
        BIO *bio = BIO_new_mem_buf(raw.data, (int)raw.len);
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long len = 0;
        rv = HSM_E_ARGS;
        snprintf(why, why_len, "%s holds no PEM CERTIFICATE block", path);
        while (bio != NULL && PEM_read_bio(bio, &name, &header, &data, &len) == 1) {
            int is_cert = strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0;
            if (is_cert)
                rv = hsm_bytes_set(der, data, (size_t)len);
            OPENSSL_free(name);
            OPENSSL_free(header);
            OPENSSL_free(data);
            if (is_cert)
                break;
        }
        BIO_free(bio);
    } else if (rv == HSM_OK) {
        rv = hsm_bytes_set(der, raw.data, raw.len);
    }
    hsm_bytes_free(&raw);
    if (rv != HSM_OK)
        return rv;
    const unsigned char *q = der->data;
    *x = X509_new_ex(hsm_libctx(), NULL);
    if (*x == NULL || d2i_X509(x, &q, (long)der->len) == NULL || q != der->data + der->len) {
        X509_free(*x);
        *x = NULL;
        snprintf(why, why_len, "%s is not an X.509 certificate (PEM or DER)", path);
        return HSM_E_ARGS;
    }
    return HSM_OK;
}

/* Same public key? Compare SubjectPublicKeyInfo encodings: the two keys live in different
 * library contexts, so EVP_PKEY_eq may not be able to compare them directly. */
static int same_pubkey(EVP_PKEY *a, EVP_PKEY *b)
{
    unsigned char *da = NULL, *db = NULL;
    int la = i2d_PUBKEY(a, &da), lb = i2d_PUBKEY(b, &db);
    int same = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;
    OPENSSL_free(da);
    OPENSSL_free(db);
    if (!same)
        same = EVP_PKEY_eq(a, b) == 1;
    return same;
}

static int run_import_cert(tool_ctx *ctx, tool_args *a)
{
    char why[512];
    const char *in = tool_arg(a, "in");
    if (in == NULL)
        return tool_usage_error(ctx, "--in FILE is required (certificate in PEM or DER)");
    hsm_bytes der = HSM_BYTES_INIT;
    X509 *x = NULL;
    if (load_cert(in, &der, &x, why, sizeof(why)) != HSM_OK) {
        hsm_bytes_free(&der);
        return tool_error(ctx, TOOL_FAIL, "%s", why);
    }
    hsm_key k;
    EVP_PKEY *pub = NULL;
    int rc = tool_find_key(ctx, a, &k);
    if (rc == TOOL_OK && hsm_token_public_key(ctx->tok, &k, &pub) != HSM_OK)
        rc = tool_token_fail(ctx, "cannot read the key's public key to compare it with the certificate");
    if (rc == TOOL_OK && !same_pubkey(pub, X509_get0_pubkey(x)))
        rc = tool_error(ctx, TOOL_FAIL, "the certificate in %s is for a different key than '%s': its public "
                        "key does not match. Nothing was stored; pick the certificate issued for this key",
                        in, k.label);
    if (rc == TOOL_OK)
        rc = tool_login(ctx, 0);
    if (rc == TOOL_OK && hsm_token_store_cert(ctx->tok, &k, der.data, der.len) != HSM_OK)
        rc = tool_token_fail(ctx, "the certificate was not stored");
    if (rc == TOOL_OK) {
        char subject[256];
        X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
        printf("Stored the certificate %s for key '%s' (key ref %u).\n", subject, k.label, k.key_ref);
    }
    EVP_PKEY_free(pub);
    X509_free(x);
    hsm_bytes_free(&der);
    return rc;
}

static int run_export_pubkey(tool_ctx *ctx, tool_args *a)
{
    const char *out = tool_arg(a, "out");
    hsm_key k;
    EVP_PKEY *pub = NULL;
    int rc = tool_find_key(ctx, a, &k);
    if (rc == TOOL_OK && hsm_token_public_key(ctx->tok, &k, &pub) != HSM_OK)
        rc = tool_token_fail(ctx, "cannot read the public key");
    if (rc != TOOL_OK)
        return rc;
    BIO *bio = out == NULL || strcmp(out, "-") == 0 ? BIO_new_fp(stdout, BIO_NOCLOSE) : BIO_new_file(out, "w");
    if (bio == NULL)
        rc = tool_error(ctx, TOOL_FAIL, "cannot write %s: %s", out ? out : "stdout", strerror(errno));
    else if (PEM_write_bio_PUBKEY(bio, pub) != 1)
        rc = tool_error(ctx, TOOL_FAIL, "cannot encode the public key as PEM");
    BIO_free(bio);
    EVP_PKEY_free(pub);
    return rc;
}

static const tool_opt import_opts[] = {
    TOOL_OPTS_KEY_SELECT,
    { "in", "FILE", "certificate, PEM or DER" },
    { NULL, NULL, NULL },
};
static const tool_opt export_opts[] = {
    TOOL_OPTS_KEY_SELECT,
    { "out", "FILE", "output file (default: standard output)" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_import_cert = {
    "import-cert", "--label L | --id HEX --in cert.pem|cert.der", "store the X.509 certificate of a key",
    "The certificate's public key must match the key's. Needs the user PIN. The key's attestation\n"
    "(the card's CV request) is kept on the card.",
    import_opts, run_import_cert,
};
const tool_cmd tool_cmd_export_pubkey = {
    "export-pubkey", "--label L | --id HEX [--out pub.pem]", "write a key's public key as PEM",
    "No PIN is needed.", export_opts, run_export_pubkey,
};
