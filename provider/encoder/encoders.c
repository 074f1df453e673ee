/* SPDX-License-Identifier: Apache-2.0 */
/* The encoder and decoder tables and the helpers all encoders share. */
#include "encoders.h"
#include "encode_int.h"
#include "../decoder/decoders.h"

#include <openssl/core_names.h>

#define P "provider=schsm"

const OSSL_ALGORITHM schsm_encoders[] = {
    { "EC", P ",output=der,structure=SubjectPublicKeyInfo", schsm_spki_der_encoder_functions, NULL },
    { "EC", P ",output=pem,structure=SubjectPublicKeyInfo", schsm_spki_pem_encoder_functions, NULL },
    { "EC", P ",output=der,structure=PrivateKeyInfo", schsm_keyref_der_encoder_functions, NULL },
    { "EC", P ",output=pem,structure=PrivateKeyInfo", schsm_keyref_pem_encoder_functions, NULL },
    { "EC", P ",output=text", schsm_text_encoder_functions, NULL },
    { "RSA", P ",output=der,structure=SubjectPublicKeyInfo", schsm_spki_der_encoder_functions, NULL },
    { "RSA", P ",output=pem,structure=SubjectPublicKeyInfo", schsm_spki_pem_encoder_functions, NULL },
    { "RSA", P ",output=der,structure=PrivateKeyInfo", schsm_keyref_der_encoder_functions, NULL },
    { "RSA", P ",output=pem,structure=PrivateKeyInfo", schsm_keyref_pem_encoder_functions, NULL },
    { "RSA", P ",output=text", schsm_text_encoder_functions, NULL },
    { NULL, NULL, NULL, NULL },
};

const OSSL_ALGORITHM schsm_decoders[] = {
    { "DER", P ",input=pem", schsm_keyref_pem2der_decoder_functions, "schsm key-reference PEM to DER" },
    { "EC", P ",input=der", schsm_keyref_der_ec_decoder_functions, "schsm key reference (EC)" },
    { "RSA", P ",input=der", schsm_keyref_der_rsa_decoder_functions, "schsm key reference (RSA)" },
    { NULL, NULL, NULL, NULL },
};

void *schsm_enc_newctx(void *provctx)
{
    return provctx;
}

void schsm_enc_freectx(void *ctx)
{
    (void)ctx;
}

int schsm_enc_selection_ok(int selection, int parts)
{
    static const int levels[] = {
        OSSL_KEYMGMT_SELECT_PRIVATE_KEY, OSSL_KEYMGMT_SELECT_PUBLIC_KEY, OSSL_KEYMGMT_SELECT_ALL_PARAMETERS,
    };
    if (selection == 0)
        return 1;
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        if (selection & levels[i])
            return (parts & levels[i]) != 0;
    return 0;
}

BIO *schsm_enc_bio(schsm_provctx *prov, OSSL_CORE_BIO *cout)
{
    BIO *b = BIO_new_from_core_bio(prov->libctx, cout);
    if (b == NULL)
        schsm_raise(prov, SCHSM_R_INTERNAL, "cannot open the output stream");
    return b;
}

EVP_PKEY *schsm_enc_public(schsm_key *k)
{
    if (schsm_key_is_card(k))
        return schsm_key_public(k);
    if (k->pub == NULL)
        schsm_raise(k->ctx, SCHSM_R_BAD_ARGS, "the key holds no public part");
    return k->pub;
}

BIO *schsm_enc_open(schsm_provctx *prov, const void *obj, const OSSL_PARAM abstract[], OSSL_CORE_BIO *cout,
                    EVP_PKEY **pub)
{
    if (obj == NULL || abstract != NULL) {
        schsm_raise(prov, SCHSM_R_BAD_ARGS, "only schsm key objects can be encoded here");
        return NULL;
    }
    if (pub != NULL && (*pub = schsm_enc_public((schsm_key *)obj)) == NULL)
        return NULL;
    return schsm_enc_bio(prov, cout);
}
