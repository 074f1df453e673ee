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

extern const OSSL_DISPATCH schsm_spki_der_encoder_functions[];
extern const OSSL_DISPATCH schsm_spki_pem_encoder_functions[];
extern const OSSL_DISPATCH schsm_text_encoder_functions[];
extern const OSSL_DISPATCH schsm_keyref_der_encoder_functions[];
extern const OSSL_DISPATCH schsm_keyref_pem_encoder_functions[];

#endif
