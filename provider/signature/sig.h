/* SPDX-License-Identifier: Apache-2.0 */
/* Shared state and helpers of the ECDSA and RSA signature operations. The card does only the
 * private-key step; hashing, padding and verification run on the host in hsm_libctx(). */
#ifndef SCHSM_SIG_H
#define SCHSM_SIG_H

#include <openssl/core.h>
#include <openssl/evp.h>

#include "key.h"

typedef struct schsm_sigctx schsm_sigctx;

/* Algorithm-specific signing of a digest (or raw input when no digest is set). */
typedef int (*schsm_sign_fn)(schsm_sigctx *c, unsigned char *sig, size_t *siglen, size_t sigsize,
                             const unsigned char *tbs, size_t tbslen);

struct schsm_sigctx {
    schsm_provctx *pctx;
    int type;                  /* HSM_KEY_EC / HSM_KEY_RSA */
    schsm_key *key;
    int operation;             /* EVP_PKEY_OP_SIGN or EVP_PKEY_OP_VERIFY */
    EVP_MD *md;                /* NULL: input is the digest already (or raw for RSA) */
    EVP_MD_CTX *mdctx;         /* digest-sign/verify */
    /* RSA */
    int pad;                   /* RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING, RSA_NO_PADDING */
    EVP_MD *mgf1;              /* NULL = same as md */
    int saltlen;               /* RSA_PSS_SALTLEN_* or a byte count */
    schsm_sign_fn sign;
    /* Digest-sign of a card key: the message too (up to SCHSM_SIG_MSG_MAX bytes), for a key
     * whose algorithm list makes the card hash it (ecdsa-sha256 ...). */
    hsm_bytes msg;
    int msg_over;              /* longer than SCHSM_SIG_MSG_MAX: not kept */
    int msg_whole;             /* set while digest-sign final runs: msg is the whole message */
};

/* The low nibble of the card's hashing algorithm ids for md (0x71..0x75, 0x31..0x35, 0x41..0x45):
 * SHA-1 = 1, SHA-224 = 2, SHA-256 = 3, SHA-384 = 4, SHA-512 = 5; 0 for any other digest. */
int schsm_sig_card_hash_nibble(const EVP_MD *md);

/* The most message a card-hashing algorithm gets in one SIGN APDU. */
#define SCHSM_SIG_MSG_MAX 1024

void *schsm_sig_newctx(void *provctx, int type, schsm_sign_fn sign);
void schsm_sig_freectx(void *vc);
void *schsm_sig_dupctx(void *vc);
int schsm_sig_sign_init(void *vc, void *key, const OSSL_PARAM params[]);
int schsm_sig_verify_init(void *vc, void *key, const OSSL_PARAM params[]);
int schsm_sig_sign(void *vc, unsigned char *sig, size_t *siglen, size_t sigsize,
                   const unsigned char *tbs, size_t tbslen);
int schsm_sig_verify(void *vc, const unsigned char *sig, size_t siglen,
                     const unsigned char *tbs, size_t tbslen);
int schsm_sig_digest_sign_init(void *vc, const char *mdname, void *key, const OSSL_PARAM params[]);
int schsm_sig_digest_verify_init(void *vc, const char *mdname, void *key, const OSSL_PARAM params[]);
int schsm_sig_digest_update(void *vc, const unsigned char *data, size_t len);
int schsm_sig_digest_sign_final(void *vc, unsigned char *sig, size_t *siglen, size_t sigsize);
int schsm_sig_digest_verify_final(void *vc, const unsigned char *sig, size_t siglen);
int schsm_sig_get_ctx_params(void *vc, OSSL_PARAM params[]);
int schsm_sig_set_ctx_params(void *vc, const OSSL_PARAM params[]);
const OSSL_PARAM *schsm_sig_gettable(int type);
const OSSL_PARAM *schsm_sig_settable(int type);

/* The dispatch entries every signature table shares. */
#define SCHSM_SIG_COMMON_DISPATCH \
    { OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))schsm_sig_freectx }, \
    { OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))schsm_sig_dupctx }, \
    { OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))schsm_sig_sign_init }, \
    { OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))schsm_sig_sign }, \
    { OSSL_FUNC_SIGNATURE_VERIFY_INIT, (void (*)(void))schsm_sig_verify_init }, \
    { OSSL_FUNC_SIGNATURE_VERIFY, (void (*)(void))schsm_sig_verify }, \
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))schsm_sig_digest_sign_init }, \
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))schsm_sig_digest_update }, \
    { OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))schsm_sig_digest_sign_final }, \
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, (void (*)(void))schsm_sig_digest_verify_init }, \
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, (void (*)(void))schsm_sig_digest_update }, \
    { OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, (void (*)(void))schsm_sig_digest_verify_final }, \
    { OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))schsm_sig_get_ctx_params }, \
    { OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))schsm_sig_set_ctx_params }

/* A host EVP_PKEY_CTX on pk configured like c (digest, padding, concrete salt length) for
 * verifying, signing with a software key, or asking OpenSSL for the AlgorithmIdentifier. */
EVP_PKEY_CTX *schsm_sig_host_ctx(schsm_sigctx *c, EVP_PKEY *pk, int for_sign);
/* Concrete PSS salt length for a modulus of bits (resolves digest/max/auto). */
int schsm_sig_pss_saltlen(const schsm_sigctx *c, unsigned bits);

#endif
