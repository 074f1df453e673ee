/* SPDX-License-Identifier: Apache-2.0 */
/* RSA signatures with card keys: the host builds the encoded message (PKCS#1 v1.5 DigestInfo or
 * EMSA-PSS) to the modulus length and the card applies the raw private key (algorithm 0x20),
 * so every digest, salt length and MGF1 digest works whatever the card's firmware offers.
 * A key whose algorithm list leaves out 0x20 signs with what the list has: 30 (the card pads a
 * DigestInfo), 40 (PSS over a hash, salt = hash length), or 3x/4x (the card hashes the message).
 * The list is read only after the card refused 0x20 once. */
#include "sig.h"
#include "pool.h"
#include "algs.h"
#include "hsm/card.h"
#include "hsm/crypto.h"
#include "hsm/rv.h"
#include "hsm/algs.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/core_dispatch.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

/* DigestInfo ::= SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING digest } (all short lengths). */
static int digest_info(const EVP_MD *md, const unsigned char *h, size_t hlen, hsm_bytes *out)
{
    ASN1_OBJECT *obj = OBJ_nid2obj(EVP_MD_get_type(md));
    int olen = obj != NULL ? i2d_ASN1_OBJECT(obj, NULL) : -1;
    if (olen <= 0 || olen > 40 || hlen > 64)
        return 0;
    unsigned char oid[48], *q = oid;
    i2d_ASN1_OBJECT(obj, &q);
    size_t alg_len = (size_t)olen + 2;
    size_t inner = 2 + alg_len + 2 + hlen;
    hsm_bytes_put_u8(out, 0x30);
    hsm_bytes_put_u8(out, (uint8_t)inner);
    hsm_bytes_put_u8(out, 0x30);
    hsm_bytes_put_u8(out, (uint8_t)alg_len);
    hsm_bytes_put(out, oid, (size_t)olen);
    hsm_bytes_put_u8(out, 0x05);
    hsm_bytes_put_u8(out, 0x00);
    hsm_bytes_put_u8(out, 0x04);
    hsm_bytes_put_u8(out, (uint8_t)hlen);
    hsm_bytes_put(out, h, hlen);
    return !out->oom;
}

/* EMSA-PKCS1-v1_5: 00 01 FF.. 00 T, k bytes. */
static int pad_pkcs1(const unsigned char *t, size_t tlen, size_t k, unsigned char *em)
{
    if (tlen + 11 > k)
        return 0;
    em[0] = 0x00;
    em[1] = 0x01;
    memset(em + 2, 0xFF, k - tlen - 3);
    em[k - tlen - 1] = 0x00;
    memcpy(em + k - tlen, t, tlen);
    return 1;
}

static int mgf1_xor(const EVP_MD *md, const unsigned char *seed, size_t seedlen, unsigned char *out, size_t len)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    int ok = m != NULL;
    for (uint32_t ctr = 0, done = 0; ok && done < len; ctr++) {
        unsigned char cb[4] = { (unsigned char)(ctr >> 24), (unsigned char)(ctr >> 16),
                                (unsigned char)(ctr >> 8), (unsigned char)ctr };
        ok = EVP_DigestInit_ex2(m, md, NULL) && EVP_DigestUpdate(m, seed, seedlen) &&
             EVP_DigestUpdate(m, cb, 4) && EVP_DigestFinal_ex(m, buf, &hl);
        for (unsigned int i = 0; ok && i < hl && done < len; i++)
            out[done++] ^= buf[i];
    }
    EVP_MD_CTX_free(m);
    OPENSSL_cleanse(buf, sizeof(buf));
    return ok;
}

/* EMSA-PSS-ENCODE (RFC 8017 9.1.1) into em of k bytes (a leading 00 when emLen < k). */
static int pad_pss(const EVP_MD *md, const EVP_MD *mgf1, const unsigned char *mhash, size_t hlen,
                   int slen, unsigned bits, size_t k, unsigned char *em)
{
    size_t embits = bits - 1, emlen = (embits + 7) / 8;
    if (slen < 0 || emlen < hlen + (size_t)slen + 2 || emlen > k)
        return 0;
    unsigned char salt[1024];
    if ((size_t)slen > sizeof(salt) || (slen > 0 && RAND_bytes_ex(hsm_libctx(), salt, (size_t)slen, 0) != 1))
        return 0;
    memset(em, 0, k);
    unsigned char *e = em + (k - emlen);
    size_t dblen = emlen - hlen - 1;
    unsigned char *h = e + dblen;
    static const unsigned char zeros[8] = { 0 };
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    unsigned int hl = 0;
    int ok = m != NULL && EVP_DigestInit_ex2(m, md, NULL) && EVP_DigestUpdate(m, zeros, 8) &&
             EVP_DigestUpdate(m, mhash, hlen) && EVP_DigestUpdate(m, salt, (size_t)slen) &&
             EVP_DigestFinal_ex(m, h, &hl) && hl == hlen;
    EVP_MD_CTX_free(m);
    if (ok) {
        e[dblen - (size_t)slen - 1] = 0x01;
        memcpy(e + dblen - (size_t)slen, salt, (size_t)slen);
        ok = mgf1_xor(mgf1, h, hlen, e, dblen);
        e[0] &= (unsigned char)(0xFF >> (8 * emlen - embits));
        e[emlen - 1] = 0xBC;
    }
    OPENSSL_cleanse(salt, sizeof(salt));
    return ok;
}

/* Which card algorithm the list allows for this signature (0 = none), and what to send. */
static uint8_t pick_listed(schsm_sigctx *c, const hsm_alg_list *l, const unsigned char *tbs, size_t tbslen,
                           hsm_bytes *in)
{
    int nib = schsm_sig_card_hash_nibble(c->md);
    int hlen = c->md != NULL ? EVP_MD_get_size(c->md) : 0;
    if (c->pad == RSA_PKCS1_PADDING && c->md != NULL) {
        if (hsm_alg_list_allows(l, HSM_ALG_RSA_PKCS1_DI))
            return digest_info(c->md, tbs, tbslen, in) ? HSM_ALG_RSA_PKCS1_DI : 0;
        if (nib && c->msg_whole && hsm_alg_list_allows(l, (uint8_t)(0x30 | nib)))
            return hsm_bytes_set(in, c->msg.data, c->msg.len) == HSM_OK ? (uint8_t)(0x30 | nib) : 0;
    } else if (c->pad == RSA_PKCS1_PSS_PADDING && c->md != NULL) {
        /* The card salts with the hash length and uses MGF1 with the same hash. */
        int same_mgf = c->mgf1 == NULL || EVP_MD_is_a(c->mgf1, EVP_MD_get0_name(c->md));
        int salt_ok = c->saltlen == RSA_PSS_SALTLEN_DIGEST || c->saltlen == RSA_PSS_SALTLEN_AUTO ||
                      c->saltlen == hlen;
        if (!same_mgf || !salt_ok)
            return 0;
        if (nib && hsm_alg_list_allows(l, HSM_ALG_RSA_PSS))
            return hsm_bytes_set(in, tbs, tbslen) == HSM_OK ? HSM_ALG_RSA_PSS : 0;
        if (nib && c->msg_whole && hsm_alg_list_allows(l, (uint8_t)(0x40 | nib)))
            return hsm_bytes_set(in, c->msg.data, c->msg.len) == HSM_OK ? (uint8_t)(0x40 | nib) : 0;
    }
    return 0;
}

/* The list excludes 0x20: sign with what it allows, verified on the host. 1, or 0 raised. */
static int sign_listed(schsm_sigctx *c, const hsm_alg_list *l, const unsigned char *tbs, size_t tbslen,
                       hsm_bytes *out)
{
    schsm_key *k = c->key;
    hsm_bytes in = HSM_BYTES_INIT;
    uint8_t alg = pick_listed(c, l, tbs, tbslen, &in);
    if (alg == 0) {
        char names[HSM_ALGS_MAX * 24];
        hsm_alg_list_text(l->ids, l->n, names, sizeof(names));
        hsm_bytes_free(&in);
        schsm_raise(c->pctx, SCHSM_R_UNSUPPORTED,
                    "key \"%s\" may not make this signature: its algorithm list allows only %s (rsa-pkcs1 and "
                    "rsa-pss take a digest, rsa-pss salts with the hash length and MGF1 of the same hash, "
                    "-shaNNN variants need the whole message of at most %d bytes)",
                    k->card.label, l->n ? names : "nothing", SCHSM_SIG_MSG_MAX);
        return 0;
    }
    int rv = hsm_token_sign(k->token, &k->card, alg, in.data, in.len, out);
    hsm_bytes_free(&in);
    if (rv != HSM_OK) {
        schsm_raise_token(c->pctx, k->token, rv);
        return 0;
    }
    /* The token checks raw signatures itself; this one is checked here. */
    EVP_PKEY *pub = schsm_key_public(k);
    EVP_PKEY_CTX *pc = pub != NULL ? schsm_sig_host_ctx(c, pub, 0) : NULL;
    int ok = pc != NULL && EVP_PKEY_verify(pc, out->data, out->len, tbs, tbslen) == 1;
    EVP_PKEY_CTX_free(pc);
    if (!ok) {
        hsm_bytes_clear(out);
        schsm_raise(c->pctx, SCHSM_R_CARD, "the card's %s signature with key \"%s\" does not verify with its "
                    "public key: check the card", hsm_alg_name(alg), k->card.label);
    }
    return ok;
}

static int rsa_card_sign(schsm_sigctx *c, unsigned char *sig, size_t *siglen, size_t sigsize,
                         const unsigned char *tbs, size_t tbslen)
{
    schsm_key *k = c->key;
    size_t klen = (k->card.bits + 7) / 8;
    if (sig == NULL) {
        *siglen = klen;
        return 1;
    }
    if (sigsize < klen) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "signature buffer too small (%zu < %zu)", sigsize, klen);
        return 0;
    }
    unsigned char *em = calloc(1, klen);
    hsm_bytes t = HSM_BYTES_INIT, out = HSM_BYTES_INIT;
    int ok = em != NULL;
    if (ok && c->md != NULL && tbslen != (size_t)EVP_MD_get_size(c->md)) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "input is %zu bytes, the digest is %d", tbslen,
                    EVP_MD_get_size(c->md));
        ok = 0;
    } else if (ok && c->pad == RSA_PKCS1_PADDING) {
        if (c->md != NULL)
            ok = digest_info(c->md, tbs, tbslen, &t) && pad_pkcs1(t.data, t.len, klen, em);
        else
            ok = pad_pkcs1(tbs, tbslen, klen, em);
        if (!ok)
            schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "data too large for the key size");
    } else if (ok && c->pad == RSA_PKCS1_PSS_PADDING) {
        if (c->md == NULL) {
            schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "PSS needs a digest");
            ok = 0;
        } else {
            ok = pad_pss(c->md, c->mgf1 != NULL ? c->mgf1 : c->md, tbs, tbslen,
                         schsm_sig_pss_saltlen(c, k->card.bits), k->card.bits, klen, em);
            if (!ok)
                schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "PSS salt length too large for the key size");
        }
    } else if (ok) {   /* RSA_NO_PADDING: the caller gives the whole block */
        ok = tbslen == klen;
        if (ok)
            memcpy(em, tbs, klen);
        else
            schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "raw RSA input must be %zu bytes", klen);
    }
    hsm_alg_list l;
    hsm_token_key_algorithms(k->token, &k->card, 0, &l);   /* what is known; no APDU */
    if (ok && !hsm_alg_list_allows(&l, HSM_ALG_RSA_RAW)) {
        ok = sign_listed(c, &l, tbs, tbslen, &out);
    } else if (ok) {
        EVP_PKEY *pub = schsm_key_loaded_public(k);
        hsm_token *who;
        int rv = schsm_key_sign_rv(k, pub, HSM_ALG_RSA_RAW, em, klen, &out, &who);
        EVP_PKEY_free(pub);
        if (rv == HSM_E_SW && hsm_token_key_algorithms(k->token, &k->card, 0, &l) == HSM_OK &&
            !hsm_alg_list_allows(&l, HSM_ALG_RSA_RAW)) {
            ok = sign_listed(c, &l, tbs, tbslen, &out);   /* a refusal that read the list */
        } else if (rv != HSM_OK) {
            schsm_raise_token(c->pctx, who, rv);
            ok = 0;
        }
    }
    if (ok) {
        if (out.len > klen || out.len == 0) {
            schsm_raise(c->pctx, SCHSM_R_CARD, "the card returned a %zu-byte RSA signature", out.len);
            ok = 0;
        } else {
            /* Left-pad: a card may drop leading zero bytes. */
            memset(sig, 0, klen - out.len);
            memcpy(sig + klen - out.len, out.data, out.len);
            *siglen = klen;
        }
    }
    if (em != NULL) {
        OPENSSL_cleanse(em, klen);
        free(em);
    }
    hsm_bytes_free(&t);
    hsm_bytes_free(&out);
    return ok;
}

static void *rsa_newctx(void *provctx, const char *propq)
{
    return schsm_sig_newctx(provctx, HSM_KEY_RSA, rsa_card_sign);
}

static const OSSL_PARAM *rsa_gettable(void *vc, void *provctx) { return schsm_sig_gettable(HSM_KEY_RSA); }
static const OSSL_PARAM *rsa_settable(void *vc, void *provctx) { return schsm_sig_settable(HSM_KEY_RSA); }

const OSSL_DISPATCH schsm_rsa_signature_functions[] = {
    { OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))rsa_newctx },
    SCHSM_SIG_COMMON_DISPATCH,
    { OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))rsa_gettable },
    { OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))rsa_settable },
    { 0, NULL },
};
