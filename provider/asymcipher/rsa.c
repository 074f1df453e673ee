/* SPDX-License-Identifier: Apache-2.0 */
/* RSA decryption with card keys: the card applies the raw private key (DECIPHER 0x21) and the
 * host removes PKCS#1 v1.5 type 2 or OAEP padding with OpenSSL's constant-time checks, so a
 * padding error says no more than OpenSSL's own. Encryption is a public operation on the host. */
#define OPENSSL_SUPPRESS_DEPRECATED  /* RSA_padding_check_* are the constant-time unpadders */

#include "algs.h"
#include "key.h"
#include "pool.h"
#include "rsa_pad.h"
#include "hsm/card.h"
#include "hsm/crypto.h"
#include "hsm/rv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

typedef struct {
    schsm_provctx *pctx;
    schsm_key *key;
    int op;
    int pad;
    EVP_MD *oaep_md;
    EVP_MD *mgf1_md;
    unsigned char *label;
    size_t label_len;
} rsa_ctx;

/* MGF1 uses the OAEP digest unless one was set. */
static const EVP_MD *mgf1_md(const rsa_ctx *c)
{
    return c->mgf1_md != NULL ? c->mgf1_md : c->oaep_md;
}

static void *rsa_newctx(void *provctx)
{
    rsa_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->pctx = provctx;
    c->pad = RSA_PKCS1_PADDING;
    c->oaep_md = EVP_MD_fetch(hsm_libctx(), "SHA1", NULL);   /* the OAEP default */
    if (c->oaep_md == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

static void rsa_freectx(void *vc)
{
    rsa_ctx *c = vc;
    if (c == NULL)
        return;
    schsm_key_free(c->key);
    EVP_MD_free(c->oaep_md);
    EVP_MD_free(c->mgf1_md);
    free(c->label);
    free(c);
}

static void *rsa_dupctx(void *vc)
{
    rsa_ctx *c = vc, *d = malloc(sizeof(*d));
    if (d == NULL)
        return NULL;
    *d = *c;
    d->label = NULL;
    if (c->label_len != 0 && (d->label = malloc(c->label_len)) == NULL) {
        free(d);
        return NULL;
    }
    if (d->label != NULL)
        memcpy(d->label, c->label, c->label_len);
    schsm_key_ref(d->key);
    if (d->oaep_md != NULL)
        EVP_MD_up_ref(d->oaep_md);
    if (d->mgf1_md != NULL)
        EVP_MD_up_ref(d->mgf1_md);
    return d;
}

static int rsa_set_ctx_params(void *vc, const OSSL_PARAM params[]);

static int rsa_init(rsa_ctx *c, schsm_key *k, const OSSL_PARAM params[], int op)
{
    if (k == NULL || k->type != HSM_KEY_RSA) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "not an RSA key");
        return 0;
    }
    if (op == EVP_PKEY_OP_DECRYPT && k->token == NULL && !(k->parts & OSSL_KEYMGMT_SELECT_PRIVATE_KEY)) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "cannot decrypt with a public key");
        return 0;
    }
    schsm_key_free(c->key);
    c->key = schsm_key_ref(k);
    c->op = op;
    return rsa_set_ctx_params(c, params);
}

static int rsa_encrypt_init(void *vc, void *k, const OSSL_PARAM params[])
{
    return rsa_init(vc, k, params, EVP_PKEY_OP_ENCRYPT);
}

static int rsa_decrypt_init(void *vc, void *k, const OSSL_PARAM params[])
{
    return rsa_init(vc, k, params, EVP_PKEY_OP_DECRYPT);
}

/* A host context on pk with our padding settings (encryption, software-key decryption). */
static EVP_PKEY_CTX *host_ctx(rsa_ctx *c, EVP_PKEY *pk, int decrypt)
{
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), pk, NULL);
    int ok = pc != NULL && (decrypt ? EVP_PKEY_decrypt_init(pc) : EVP_PKEY_encrypt_init(pc)) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(pc, c->pad) == 1;
    if (ok && c->pad == RSA_PKCS1_OAEP_PADDING) {
        ok = EVP_PKEY_CTX_set_rsa_oaep_md_name(pc, EVP_MD_get0_name(c->oaep_md), NULL) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, EVP_MD_get0_name(mgf1_md(c)), NULL) == 1;
        if (ok && c->label_len != 0) {
            unsigned char *l = OPENSSL_memdup(c->label, c->label_len);
            ok = l != NULL && EVP_PKEY_CTX_set0_rsa_oaep_label(pc, l, (int)c->label_len) == 1;
            if (!ok)
                OPENSSL_free(l);
        }
    }
    if (!ok) {
        EVP_PKEY_CTX_free(pc);
        return NULL;
    }
    return pc;
}

/* Encrypts or decrypts on the host with pk (out NULL: *outlen gets the size needed). */
static int host_crypt(rsa_ctx *c, EVP_PKEY *pk, int decrypt, unsigned char *out, size_t *outlen, size_t outsize,
                      const unsigned char *in, size_t inlen)
{
    EVP_PKEY_CTX *pc = host_ctx(c, pk, decrypt);
    size_t len = outsize;
    size_t *lp = out != NULL ? &len : outlen;
    int ok = pc != NULL && (decrypt ? EVP_PKEY_decrypt(pc, out, lp, in, inlen)
                                    : EVP_PKEY_encrypt(pc, out, lp, in, inlen)) == 1;
    if (ok && out != NULL)
        *outlen = len;
    EVP_PKEY_CTX_free(pc);
    return ok;
}

static int rsa_encrypt(void *vc, unsigned char *out, size_t *outlen, size_t outsize,
                       const unsigned char *in, size_t inlen)
{
    rsa_ctx *c = vc;
    EVP_PKEY *pub = c->key != NULL ? schsm_key_public(c->key) : NULL;
    if (pub == NULL)
        return 0;
    return host_crypt(c, pub, 0, out, outlen, outsize, in, inlen);
}

static int rsa_decrypt(void *vc, unsigned char *out, size_t *outlen, size_t outsize,
                       const unsigned char *in, size_t inlen)
{
    rsa_ctx *c = vc;
    schsm_key *k = c->key;
    if (k == NULL || c->op != EVP_PKEY_OP_DECRYPT)
        return 0;
    if (k->token == NULL)
        return host_crypt(c, k->pub, 1, out, outlen, outsize, in, inlen);
    size_t klen = (k->card.bits + 7) / 8;
    if (out == NULL) {
        *outlen = klen;
        return 1;
    }
    if (inlen == 0 || inlen > klen) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "ciphertext must be at most %zu bytes", klen);
        return 0;
    }
    unsigned char *ct = calloc(1, klen), *em = calloc(1, klen), *msg = calloc(1, klen);
    hsm_bytes raw = HSM_BYTES_INIT;
    int ok = ct != NULL && em != NULL && msg != NULL;
    if (ok) {
        memcpy(ct + klen - inlen, in, inlen);
        if (!schsm_key_decipher(k, HSM_ALG_RSA_DECRYPT_RAW, ct, klen, &raw)) {
            ok = 0;
        } else if (raw.len > klen) {
            schsm_raise(c->pctx, SCHSM_R_CARD, "the card's RSA answer is too long");
            ok = 0;
        } else {
            memcpy(em + klen - raw.len, raw.data, raw.len);
        }
    }
    int n = -1;
    if (ok && c->pad == RSA_PKCS1_PADDING) {
        n = RSA_padding_check_PKCS1_type_2(msg, (int)klen, em, (int)klen, (int)klen);
    } else if (ok && c->pad == RSA_PKCS1_OAEP_PADDING) {
        n = RSA_padding_check_PKCS1_OAEP_mgf1(msg, (int)klen, em, (int)klen, (int)klen, c->label,
                                              (int)c->label_len, c->oaep_md, mgf1_md(c));
    } else if (ok && c->pad == RSA_NO_PADDING) {
        memcpy(msg, em, klen);
        n = (int)klen;
    }
    if (ok && n < 0) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "RSA decryption failed");
        ok = 0;
    } else if (ok && (size_t)n > outsize) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "output buffer too small");
        ok = 0;
    } else if (ok) {
        memcpy(out, msg, (size_t)n);
        *outlen = (size_t)n;
    }
    if (ct != NULL)
        free(ct);
    if (em != NULL) {
        OPENSSL_cleanse(em, klen);
        free(em);
    }
    if (msg != NULL) {
        OPENSSL_cleanse(msg, klen);
        free(msg);
    }
    hsm_bytes_free(&raw);
    return ok;
}

static int fetch_md(rsa_ctx *c, const OSSL_PARAM *p, EVP_MD **slot)
{
    const char *name = NULL;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name))
        return 0;
    EVP_MD *md = EVP_MD_fetch(hsm_libctx(), name, NULL);
    if (md == NULL) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "unknown digest %s", name);
        return 0;
    }
    EVP_MD_free(*slot);
    *slot = md;
    return 1;
}

static int rsa_set_ctx_params(void *vc, const OSSL_PARAM params[])
{
    rsa_ctx *c = vc;
    const OSSL_PARAM *p;
    if (params == NULL)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) != NULL) {
        int pad;
        if (!schsm_rsa_pad_get(p, &pad))
            return 0;
        if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_OAEP_PADDING && pad != RSA_NO_PADDING) {
            schsm_raise(c->pctx, SCHSM_R_UNSUPPORTED, "RSA padding mode not supported for decryption");
            return 0;
        }
        c->pad = pad;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST)) != NULL &&
        !fetch_md(c, p, &c->oaep_md))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST)) != NULL &&
        !fetch_md(c, p, &c->mgf1_md))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL)) != NULL) {
        void *l = NULL;
        size_t n = 0;
        if (!OSSL_PARAM_get_octet_string(p, &l, 0, &n))
            return 0;
        free(c->label);
        c->label = NULL;
        c->label_len = 0;
        if (n != 0) {
            c->label = malloc(n);
            if (c->label == NULL) {
                OPENSSL_free(l);
                return 0;
            }
            memcpy(c->label, l, n);
            c->label_len = n;
        }
        OPENSSL_free(l);
    }
    return 1;
}

static int rsa_get_ctx_params(void *vc, OSSL_PARAM params[])
{
    rsa_ctx *c = vc;
    OSSL_PARAM *p;
    if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) != NULL) {
        if (!schsm_rsa_pad_set(p, c->pad))
            return 0;
    }
    if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST)) != NULL &&
        !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(c->oaep_md)))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST)) != NULL &&
        !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(mgf1_md(c))))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL)) != NULL &&
        !OSSL_PARAM_set_octet_ptr(p, c->label, c->label_len))
        return 0;
    return 1;
}

static const OSSL_PARAM rsa_params[] = {
    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL, 0),
    OSSL_PARAM_END,
};
static const OSSL_PARAM *rsa_params_fn(void *vc, void *provctx) { return rsa_params; }

const OSSL_DISPATCH schsm_rsa_asym_cipher_functions[] = {
    { OSSL_FUNC_ASYM_CIPHER_NEWCTX, (void (*)(void))rsa_newctx },
    { OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT, (void (*)(void))rsa_encrypt_init },
    { OSSL_FUNC_ASYM_CIPHER_ENCRYPT, (void (*)(void))rsa_encrypt },
    { OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, (void (*)(void))rsa_decrypt_init },
    { OSSL_FUNC_ASYM_CIPHER_DECRYPT, (void (*)(void))rsa_decrypt },
    { OSSL_FUNC_ASYM_CIPHER_FREECTX, (void (*)(void))rsa_freectx },
    { OSSL_FUNC_ASYM_CIPHER_DUPCTX, (void (*)(void))rsa_dupctx },
    { OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, (void (*)(void))rsa_get_ctx_params },
    { OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS, (void (*)(void))rsa_params_fn },
    { OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, (void (*)(void))rsa_set_ctx_params },
    { OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, (void (*)(void))rsa_params_fn },
    { 0, NULL },
};
