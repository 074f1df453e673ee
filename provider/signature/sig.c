/* SPDX-License-Identifier: Apache-2.0 */
/* Signature plumbing shared by ECDSA and RSA: digests, parameters, host verification. */
#include "sig.h"
#include "rsa_pad.h"
#include "hsm/crypto.h"
#include "hsm/pkcs15.h"
#include "hsm/rv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

void *schsm_sig_newctx(void *provctx, int type, schsm_sign_fn sign)
{
    schsm_sigctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->pctx = provctx;
    c->type = type;
    c->pad = RSA_PKCS1_PADDING;
    c->saltlen = RSA_PSS_SALTLEN_AUTO;
    c->sign = sign;
    return c;
}

void schsm_sig_freectx(void *vc)
{
    schsm_sigctx *c = vc;
    if (c == NULL)
        return;
    schsm_key_free(c->key);
    EVP_MD_free(c->md);
    EVP_MD_free(c->mgf1);
    EVP_MD_CTX_free(c->mdctx);
    hsm_bytes_free(&c->msg);
    free(c);
}

void *schsm_sig_dupctx(void *vc)
{
    schsm_sigctx *c = vc, *d = malloc(sizeof(*d));
    if (d == NULL)
        return NULL;
    *d = *c;
    d->key = schsm_key_ref(c->key);
    if (d->md != NULL)
        EVP_MD_up_ref(d->md);
    if (d->mgf1 != NULL)
        EVP_MD_up_ref(d->mgf1);
    d->mdctx = NULL;
    d->msg = (hsm_bytes)HSM_BYTES_INIT;
    if (c->msg.len > 0 && hsm_bytes_set(&d->msg, c->msg.data, c->msg.len) != HSM_OK) {
        schsm_sig_freectx(d);
        return NULL;
    }
    if (c->mdctx != NULL) {
        d->mdctx = EVP_MD_CTX_new();
        if (d->mdctx == NULL || !EVP_MD_CTX_copy_ex(d->mdctx, c->mdctx)) {
            schsm_sig_freectx(d);
            return NULL;
        }
    }
    return d;
}

int schsm_sig_card_hash_nibble(const EVP_MD *md)
{
    static const char *const names[] = { "SHA1", "SHA224", "SHA256", "SHA384", "SHA512" };
    for (int i = 0; md != NULL && i < 5; i++)
        if (EVP_MD_is_a(md, names[i]))
            return i + 1;
    return 0;
}

/* Digests a signature may use: SHA-1, SHA-2 and SHA-3 (all have DigestInfo OIDs). */
static int set_md(schsm_sigctx *c, const char *name, EVP_MD **slot)
{
    EVP_MD *md = EVP_MD_fetch(hsm_libctx(), name, NULL);
    if (md == NULL) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "unknown digest %s", name);
        return 0;
    }
    static const char *const allowed[] = {
        "SHA1", "SHA224", "SHA256", "SHA384", "SHA512", "SHA512-224", "SHA512-256",
        "SHA3-224", "SHA3-256", "SHA3-384", "SHA3-512",
    };
    int ok = 0;
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && !ok; i++)
        ok = EVP_MD_is_a(md, allowed[i]);
    if (!ok) {
        schsm_raise(c->pctx, SCHSM_R_UNSUPPORTED, "digest %s cannot be used for signatures", name);
        EVP_MD_free(md);
        return 0;
    }
    EVP_MD_free(*slot);
    *slot = md;
    return 1;
}

static int init(schsm_sigctx *c, schsm_key *k, const OSSL_PARAM params[], int op)
{
    if (k == NULL || k->type != c->type) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "key type does not match the signature algorithm");
        return 0;
    }
    if (op == EVP_PKEY_OP_SIGN && k->token == NULL && !(k->parts & OSSL_KEYMGMT_SELECT_PRIVATE_KEY)) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "cannot sign with a public key");
        return 0;
    }
    if (op == EVP_PKEY_OP_VERIFY && k->token == NULL && !(k->parts & OSSL_KEYMGMT_SELECT_PUBLIC_KEY)) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "key has no public part to verify with");
        return 0;
    }
    schsm_key *old = c->key;
    c->key = schsm_key_ref(k);
    schsm_key_free(old);
    c->operation = op;
    return schsm_sig_set_ctx_params(c, params);
}

int schsm_sig_sign_init(void *vc, void *key, const OSSL_PARAM params[])
{
    return init(vc, key, params, EVP_PKEY_OP_SIGN);
}

int schsm_sig_verify_init(void *vc, void *key, const OSSL_PARAM params[])
{
    return init(vc, key, params, EVP_PKEY_OP_VERIFY);
}

int schsm_sig_pss_saltlen(const schsm_sigctx *c, unsigned bits)
{
    int hlen = EVP_MD_get_size(c->md);
    int emlen = (int)(bits - 1 + 7) / 8;
    switch (c->saltlen) {
    case RSA_PSS_SALTLEN_DIGEST: return hlen;
    case RSA_PSS_SALTLEN_MAX:
    case RSA_PSS_SALTLEN_AUTO: return emlen - hlen - 2;
    default: return c->saltlen;
    }
}

EVP_PKEY_CTX *schsm_sig_host_ctx(schsm_sigctx *c, EVP_PKEY *pk, int for_sign)
{
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), pk, NULL);
    if (pc == NULL)
        return NULL;
    int ok = (for_sign ? EVP_PKEY_sign_init(pc) : EVP_PKEY_verify_init(pc)) == 1;
    if (ok && c->md != NULL)
        ok = EVP_PKEY_CTX_set_signature_md(pc, c->md) == 1;
    if (ok && c->type == HSM_KEY_RSA) {
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, c->pad) == 1;
        if (ok && c->pad == RSA_PKCS1_PSS_PADDING) {
            int sl = c->saltlen;
            /* Verification honours "auto"; everything else gets the number we sign with. */
            if (for_sign || sl != RSA_PSS_SALTLEN_AUTO)
                sl = schsm_sig_pss_saltlen(c, (unsigned)EVP_PKEY_get_bits(pk));
            ok = EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, sl) == 1 &&
                 EVP_PKEY_CTX_set_rsa_mgf1_md(pc, c->mgf1 != NULL ? c->mgf1 : c->md) == 1;
        }
    }
    if (!ok) {
        EVP_PKEY_CTX_free(pc);
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "signature parameters not usable with this key");
        return NULL;
    }
    return pc;
}

int schsm_sig_sign(void *vc, unsigned char *sig, size_t *siglen, size_t sigsize,
                   const unsigned char *tbs, size_t tbslen)
{
    schsm_sigctx *c = vc;
    if (c->key == NULL || c->operation != EVP_PKEY_OP_SIGN)
        return 0;
    if (sig != NULL && c->md != NULL && c->type == HSM_KEY_EC && tbslen != (size_t)EVP_MD_get_size(c->md)) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "input is %zu bytes, the digest is %d", tbslen,
                    EVP_MD_get_size(c->md));
        return 0;
    }
    if (c->key->token == NULL) {
        /* Software key: plain host signing. */
        EVP_PKEY_CTX *pc = schsm_sig_host_ctx(c, c->key->pub, 1);
        if (pc == NULL)
            return 0;
        size_t len = sigsize;
        int ok = EVP_PKEY_sign(pc, sig, sig != NULL ? &len : siglen, tbs, tbslen) == 1;
        if (ok && sig != NULL)
            *siglen = len;
        EVP_PKEY_CTX_free(pc);
        return ok;
    }
    return c->sign(c, sig, siglen, sigsize, tbs, tbslen);
}

int schsm_sig_verify(void *vc, const unsigned char *sig, size_t siglen,
                     const unsigned char *tbs, size_t tbslen)
{
    schsm_sigctx *c = vc;
    if (c->key == NULL)
        return 0;
    EVP_PKEY *pub = schsm_key_public(c->key);
    if (pub == NULL)
        return 0;
    EVP_PKEY_CTX *pc = schsm_sig_host_ctx(c, pub, 0);
    if (pc == NULL)
        return 0;
    int ok = EVP_PKEY_verify(pc, sig, siglen, tbs, tbslen);
    EVP_PKEY_CTX_free(pc);
    return ok == 1;
}

static int digest_init(schsm_sigctx *c, const char *mdname, schsm_key *k, const OSSL_PARAM params[], int op)
{
    if (!init(c, k, params, op))
        return 0;
    if (mdname == NULL || *mdname == '\0')
        mdname = c->md != NULL ? EVP_MD_get0_name(c->md) : "SHA256";
    if (!set_md(c, mdname, &c->md))
        return 0;
    if (c->mdctx == NULL && (c->mdctx = EVP_MD_CTX_new()) == NULL)
        return 0;
    hsm_bytes_clear(&c->msg);
    c->msg_over = 0;
    return EVP_DigestInit_ex2(c->mdctx, c->md, NULL) == 1;
}

int schsm_sig_digest_sign_init(void *vc, const char *mdname, void *key, const OSSL_PARAM params[])
{
    return digest_init(vc, mdname, key, params, EVP_PKEY_OP_SIGN);
}

int schsm_sig_digest_verify_init(void *vc, const char *mdname, void *key, const OSSL_PARAM params[])
{
    return digest_init(vc, mdname, key, params, EVP_PKEY_OP_VERIFY);
}

int schsm_sig_digest_update(void *vc, const unsigned char *data, size_t len)
{
    schsm_sigctx *c = vc;
    if (c->mdctx == NULL)
        return 0;
    /* Keep short messages of card keys: a key limited to ecdsa-shaNNN (rsa-pss-shaNNN ...) needs it. */
    if (c->operation == EVP_PKEY_OP_SIGN && c->key != NULL && schsm_key_is_card(c->key) && !c->msg_over) {
        if (c->msg.len + len > SCHSM_SIG_MSG_MAX || hsm_bytes_put(&c->msg, data, len) != HSM_OK) {
            c->msg_over = 1;
            hsm_bytes_clear(&c->msg);
        }
    }
    return EVP_DigestUpdate(c->mdctx, data, len) == 1;
}

int schsm_sig_digest_sign_final(void *vc, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    schsm_sigctx *c = vc;
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;
    if (c->mdctx == NULL)
        return 0;
    if (sig == NULL)
        return schsm_sig_sign(c, NULL, siglen, 0, NULL, 0);
    if (EVP_DigestFinal_ex(c->mdctx, h, &hlen) != 1)
        return 0;
    c->msg_whole = !c->msg_over;
    int ok = schsm_sig_sign(c, sig, siglen, sigsize, h, hlen);
    c->msg_whole = 0;
    return ok;
}

int schsm_sig_digest_verify_final(void *vc, const unsigned char *sig, size_t siglen)
{
    schsm_sigctx *c = vc;
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;
    if (c->mdctx == NULL || EVP_DigestFinal_ex(c->mdctx, h, &hlen) != 1)
        return 0;
    return schsm_sig_verify(c, sig, siglen, h, hlen);
}

/* ---- parameters ---- */

static int algorithm_id(schsm_sigctx *c, OSSL_PARAM *p)
{
    if (c->key == NULL || c->md == NULL)
        return 1;   /* not determined yet: leave it unset as OpenSSL's providers do */
    EVP_PKEY *pub = schsm_key_public(c->key);
    if (pub == NULL)
        return 0;
    EVP_PKEY_CTX *pc = schsm_sig_host_ctx(c, pub, 0);
    if (pc == NULL)
        return 0;
    OSSL_PARAM q[] = { OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, p->data, p->data_size),
                       OSSL_PARAM_END };
    int ok = EVP_PKEY_CTX_get_params(pc, q) == 1;
    if (ok)
        p->return_size = q[0].return_size;
    EVP_PKEY_CTX_free(pc);
    return ok;
}

int schsm_sig_get_ctx_params(void *vc, OSSL_PARAM params[])
{
    schsm_sigctx *c = vc;
    OSSL_PARAM *p;
    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) != NULL && !algorithm_id(c, p))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL && c->md != NULL &&
        !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(c->md)))
        return 0;
    if (c->type != HSM_KEY_RSA)
        return 1;
    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL) {
        int ok = schsm_rsa_pad_set(p, c->pad);
        if (!ok)
            return 0;
    }
    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) != NULL) {
        const EVP_MD *m = c->mgf1 != NULL ? c->mgf1 : c->md;
        if (m != NULL && !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(m)))
            return 0;
    }
    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != NULL) {
        if (p->data_type == OSSL_PARAM_INTEGER) {
            if (!OSSL_PARAM_set_int(p, c->saltlen))
                return 0;
        } else {
            const char *v = c->saltlen == RSA_PSS_SALTLEN_DIGEST ? OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST
                          : c->saltlen == RSA_PSS_SALTLEN_MAX ? OSSL_PKEY_RSA_PSS_SALT_LEN_MAX
                          : c->saltlen == RSA_PSS_SALTLEN_AUTO ? OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO : NULL;
            char num[16];
            if (v == NULL) {
                snprintf(num, sizeof(num), "%d", c->saltlen);
                v = num;
            }
            if (!OSSL_PARAM_set_utf8_string(p, v))
                return 0;
        }
    }
    return 1;
}

int schsm_sig_set_ctx_params(void *vc, const OSSL_PARAM params[])
{
    schsm_sigctx *c = vc;
    const OSSL_PARAM *p;
    if (params == NULL)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST)) != NULL) {
        const char *name = NULL;
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !set_md(c, name, &c->md))
            return 0;
    }
    if (c->type != HSM_KEY_RSA)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL) {
        int pad;
        if (!schsm_rsa_pad_get(p, &pad))
            return 0;
        if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_PSS_PADDING && pad != RSA_NO_PADDING) {
            schsm_raise(c->pctx, SCHSM_R_UNSUPPORTED, "RSA padding mode not supported for signatures");
            return 0;
        }
        c->pad = pad;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != NULL) {
        int sl;
        if (p->data_type == OSSL_PARAM_INTEGER) {
            if (!OSSL_PARAM_get_int(p, &sl))
                return 0;
        } else {
            const char *s = NULL;
            if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
                return 0;
            if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0)
                sl = RSA_PSS_SALTLEN_DIGEST;
            else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX) == 0)
                sl = RSA_PSS_SALTLEN_MAX;
            else if (strcmp(s, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO) == 0)
                sl = RSA_PSS_SALTLEN_AUTO;
            else {
                char *end = NULL;
                long v = strtol(s, &end, 10);
                if (end == s || *end != '\0' || v < 0 || v > 1024) {
                    schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "bad PSS salt length %s", s);
                    return 0;
                }
                sl = (int)v;
            }
        }
        if (sl < RSA_PSS_SALTLEN_MAX) {
            schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "bad PSS salt length %d", sl);
            return 0;
        }
        c->saltlen = sl;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) != NULL) {
        const char *name = NULL;
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &name) || !set_md(c, name, &c->mgf1))
            return 0;
    }
    return 1;
}

static const OSSL_PARAM ec_gettable[] = {
    OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
    OSSL_PARAM_END,
};
static const OSSL_PARAM rsa_gettable[] = {
    OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
    OSSL_PARAM_END,
};
static const OSSL_PARAM ec_settable[] = {
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
    OSSL_PARAM_END,
};
static const OSSL_PARAM rsa_settable[] = {
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
    OSSL_PARAM_END,
};

const OSSL_PARAM *schsm_sig_gettable(int type)
{
    return type == HSM_KEY_RSA ? rsa_gettable : ec_gettable;
}

const OSSL_PARAM *schsm_sig_settable(int type)
{
    return type == HSM_KEY_RSA ? rsa_settable : ec_settable;
}
