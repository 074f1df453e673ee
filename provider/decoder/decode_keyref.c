/* SPDX-License-Identifier: Apache-2.0 */
/* Key-reference decoders. They sit among OpenSSL's own decoders for every PEM/DER input an
 * application reads once schsm is active, so anything that is not a key reference of our key type
 * is answered with "not mine" (return 1 without an object) and OpenSSL tries the next decoder.
 * A key reference that cannot be resolved is a hard error: the file was meant for us. */
#include "decoders.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "../encoder/encoders.h"
#include "../encoder/keyref.h"
#include "../store/resolve.h"
#include "key.h"
#include "provider.h"

typedef struct {
    schsm_provctx *prov;
    int type;       /* HSM_KEY_EC / HSM_KEY_RSA */
} dec_ctx;

static OSSL_FUNC_decoder_freectx_fn dec_freectx;
static OSSL_FUNC_decoder_export_object_fn dec_export_object;

static void *dec_newctx(void *provctx, int type)
{
    dec_ctx *d = calloc(1, sizeof(*d));
    if (d != NULL) {
        d->prov = provctx;
        d->type = type;
    }
    return d;
}

static void *dec_newctx_ec(void *provctx)
{
    return dec_newctx(provctx, HSM_KEY_EC);
}

static void *dec_newctx_rsa(void *provctx)
{
    return dec_newctx(provctx, HSM_KEY_RSA);
}

static void *dec_newctx_any(void *provctx)
{
    return dec_newctx(provctx, HSM_KEY_NONE);
}

static void dec_freectx(void *ctx)
{
    free(ctx);
}

static int dec_does_selection(void *provctx, int selection)
{
    /* a reference names a private key; public-only reads are OpenSSL's business */
    return selection == 0 || (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
}

#define MAX_DER 8192

/* Turns a key-reference body into a key object. Returns 1 (also for "not mine") or 0. */
static int decode_body(dec_ctx *d, const uint8_t *der, size_t len, OSSL_CALLBACK *data_cb, void *data_cbarg,
                       OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    schsm_keyref ref;
    const char *mine = d->type == HSM_KEY_EC ? "EC" : "RSA";
    schsm_key *key;
    int objtype = OSSL_OBJECT_PKEY;
    OSSL_PARAM params[4];

    if (!schsm_keyref_decode_ex(der, len, &ref))
        return 1;   /* someone else's DER */
    if (strcmp(ref.key_type, "EC") != 0 && strcmp(ref.key_type, "RSA") != 0) {
        schsm_raise(d->prov, SCHSM_R_BAD_ARGS, "key reference of unknown key type '%s'", ref.key_type);
        schsm_keyref_clear(&ref);
        return 0;
    }
    if (strcmp(ref.key_type, mine) != 0) {
        schsm_keyref_clear(&ref);
        return 1;   /* the other key type's decoder takes it */
    }
    key = schsm_resolve_private_key(d->prov, ref.uri, &ref, d->type, pw_cb, pw_cbarg);
    schsm_keyref_clear(&ref);
    /* On failure the object still goes out, as an empty reference: keymgmt load() refuses it, and
     * OpenSSL then treats the failure as final and keeps our error ("no key matching ...") instead
     * of replacing it with a generic "unsupported". */
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &objtype);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, (char *)mine, 0);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &key, sizeof(key));
    params[3] = OSSL_PARAM_construct_end();
    /* one reference goes with the object; keymgmt load() takes it over */
    return data_cb(params, data_cbarg) && key != NULL;
}

/* PEM "SCHSM KEY REFERENCE" -> its DER body. Registered under the name "DER" so that it is used
 * wherever OpenSSL's own PEM-to-DER step is (the file: store, PEM_read_bio_PrivateKey): OpenSSL's
 * step drops PEM labels it does not know. The body then goes to the DER decoders below. */
static int unwrap_pem(void *ctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *data_cb, void *data_cbarg,
                      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    dec_ctx *d = ctx;
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long len = 0;
    int ok = 1;
    BIO *in = BIO_new_from_core_bio(d->prov->libctx, cin);

    if (in == NULL)
        return 0;
    ERR_set_mark();
    if (PEM_read_bio(in, &name, &header, &data, &len) <= 0) {
        ERR_pop_to_mark();      /* not PEM at all: not ours */
        goto done;
    }
    ERR_pop_to_mark();
    if (strcmp(name, SCHSM_KEYREF_PEM_NAME) != 0)
        goto done;
    if (len <= 0 || len > MAX_DER) {
        schsm_raise(d->prov, SCHSM_R_BAD_ARGS, "malformed " SCHSM_KEYREF_PEM_NAME);
        ok = 0;
        goto done;
    }
    {
        /* A reference that cannot be resolved fails here, where OpenSSL keeps our error; in the
         * later key step it would be replaced by a generic "unsupported". */
        schsm_keyref ref;
        int parsed = schsm_keyref_decode_ex(data, (size_t)len, &ref);
        int found = parsed && schsm_resolve_probe(d->prov, ref.uri, &ref,
                                                  strcmp(ref.key_type, "EC") == 0 ? HSM_KEY_EC : HSM_KEY_RSA,
                                                  pw_cb, pw_cbarg);
        if (!parsed)
            schsm_raise(d->prov, SCHSM_R_BAD_ARGS, "malformed " SCHSM_KEYREF_PEM_NAME);
        schsm_keyref_clear(&ref);
        if (!found) {
            ok = 0;
            goto done;
        }
    }
    {
        /* No data type or structure: the next step (a DER key decoder, or the file: store's
         * DER-to-object step) must accept it as plain DER. */
        OSSL_PARAM params[2];
        params[0] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, data, (size_t)len);
        params[1] = OSSL_PARAM_construct_end();
        ok = data_cb(params, data_cbarg);
    }
done:
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    BIO_free(in);
    return ok;
}

static int decode_der(void *ctx, OSSL_CORE_BIO *cin, int selection, OSSL_CALLBACK *data_cb, void *data_cbarg,
                      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    dec_ctx *d = ctx;
    unsigned char buf[MAX_DER + 1];
    size_t len = 0;
    int ok = 1, n;
    BIO *in = BIO_new_from_core_bio(d->prov->libctx, cin);

    if (in == NULL)
        return 0;
    /* Key references are small; anything bigger is someone else's DER. */
    while (len < sizeof(buf) && (n = BIO_read(in, buf + len, (int)(sizeof(buf) - len))) > 0)
        len += (size_t)n;
    if (len > 0 && len <= MAX_DER && buf[0] == 0x30)
        ok = decode_body(d, buf, len, data_cb, data_cbarg, pw_cb, pw_cbarg);
    BIO_free(in);
    return ok;
}

/* Card keys do not leave the provider (a public-only copy could not sign); see store.c. */
static int dec_export_object(void *ctx, const void *objref, size_t objref_sz, OSSL_CALLBACK *export_cb,
                             void *export_cbarg)
{
    return 0;
}

#define DECODER_TABLE(name, newctx, decode)                                          \
    const OSSL_DISPATCH name[] = {                                                   \
        {OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))newctx},                          \
        {OSSL_FUNC_DECODER_FREECTX, (void (*)(void))dec_freectx},                    \
        {OSSL_FUNC_DECODER_DOES_SELECTION, (void (*)(void))dec_does_selection},      \
        {OSSL_FUNC_DECODER_DECODE, (void (*)(void))decode},                          \
        {OSSL_FUNC_DECODER_EXPORT_OBJECT, (void (*)(void))dec_export_object},        \
        {0, NULL},                                                                   \
    }

DECODER_TABLE(schsm_keyref_pem2der_decoder_functions, dec_newctx_any, unwrap_pem);
DECODER_TABLE(schsm_keyref_der_ec_decoder_functions, dec_newctx_ec, decode_der);
DECODER_TABLE(schsm_keyref_der_rsa_decoder_functions, dec_newctx_rsa, decode_der);
