/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the schsm encoders (one file per output format). */
#ifndef SCHSM_ENCODE_INT_H
#define SCHSM_ENCODE_INT_H

#include <openssl/bio.h>
#include <openssl/core_dispatch.h>

#include "key.h"
#include "provider.h"

/* The encoder context is the provider context: encoders keep no state of their own. */
OSSL_FUNC_encoder_newctx_fn schsm_enc_newctx;
OSSL_FUNC_encoder_freectx_fn schsm_enc_freectx;

/* OpenSSL treats selections as levels: private implies public implies parameters.
 * Returns whether an output holding `parts` serves `selection`. */
int schsm_enc_selection_ok(int selection, int parts);

/* A BIO over the core BIO OpenSSL passed in; NULL with an error raised. */
BIO *schsm_enc_bio(schsm_provctx *prov, OSSL_CORE_BIO *cout);

/* The public key of a schsm key (card keys read it lazily); NULL with an error raised. */
EVP_PKEY *schsm_enc_public(schsm_key *k);

/* The start of every encode call: obj must be a schsm key passed as an object (not as abstract
 * parameters); then *pub gets its public key (unless pub is NULL) and the output is opened.
 * NULL with an error raised. */
BIO *schsm_enc_open(schsm_provctx *prov, const void *obj, const OSSL_PARAM abstract[], OSSL_CORE_BIO *cout,
                    EVP_PKEY **pub);

/* An encoder's dispatch table body: our shared context, its selection test and its encode. */
#define SCHSM_ENCODER_DISPATCH(does_selection, encode)                                                 \
    { OSSL_FUNC_ENCODER_NEWCTX, (void (*)(void))schsm_enc_newctx },                                    \
        { OSSL_FUNC_ENCODER_FREECTX, (void (*)(void))schsm_enc_freectx },                              \
        { OSSL_FUNC_ENCODER_DOES_SELECTION, (void (*)(void))(does_selection) },                        \
        { OSSL_FUNC_ENCODER_ENCODE, (void (*)(void))(encode) }, { 0, NULL }

extern const OSSL_DISPATCH schsm_spki_der_encoder_functions[];
extern const OSSL_DISPATCH schsm_spki_pem_encoder_functions[];
extern const OSSL_DISPATCH schsm_text_encoder_functions[];
extern const OSSL_DISPATCH schsm_keyref_der_encoder_functions[];
extern const OSSL_DISPATCH schsm_keyref_pem_encoder_functions[];

#endif
