/* SPDX-License-Identifier: Apache-2.0 */
/* SubjectPublicKeyInfo, DER and PEM. The public key lives in hsm_libctx(), so OpenSSL's default
 * provider does the actual encoding. */
#include "encode_int.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

static int spki_does_selection(void *provctx, int selection)
{
    return schsm_enc_selection_ok(selection, OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS);
}

static int spki_encode(void *ctx, OSSL_CORE_BIO *cout, const void *obj, const OSSL_PARAM abstract[],
                       int selection, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg, int pem)
{
    schsm_provctx *prov = ctx;
    EVP_PKEY *pub;
    BIO *out = schsm_enc_open(prov, obj, abstract, cout, &pub);
    int ok;

    if (out == NULL)
        return 0;
    ok = pem ? PEM_write_bio_PUBKEY(out, pub) : i2d_PUBKEY_bio(out, pub);
    BIO_free(out);
    if (!ok)
        schsm_raise(prov, SCHSM_R_INTERNAL, "cannot write the public key");
    return ok;
}

static int spki_der_encode(void *ctx, OSSL_CORE_BIO *cout, const void *obj, const OSSL_PARAM abstract[],
                           int selection, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    return spki_encode(ctx, cout, obj, abstract, selection, cb, cbarg, 0);
}

static int spki_pem_encode(void *ctx, OSSL_CORE_BIO *cout, const void *obj, const OSSL_PARAM abstract[],
                           int selection, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    return spki_encode(ctx, cout, obj, abstract, selection, cb, cbarg, 1);
}

const OSSL_DISPATCH schsm_spki_der_encoder_functions[] = {
    SCHSM_ENCODER_DISPATCH(spki_does_selection, spki_der_encode),
};

const OSSL_DISPATCH schsm_spki_pem_encoder_functions[] = {
    SCHSM_ENCODER_DISPATCH(spki_does_selection, spki_pem_encode),
};
