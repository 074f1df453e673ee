/* SPDX-License-Identifier: Apache-2.0 */
/* WRAP KEY / UNWRAP KEY with the key domain's KEK (sheet 12.3-12.5).
 * Blob: KCV(8) type(1) [2-byte length + value: key-type OID, algorithm list, access
 * conditions, key OID] AES-256-CBC(Kenc, IV 0, plaintext) AES-CMAC(Kmac, everything before).
 * Plaintext: 8 random bytes, key size in bits (2), components as 2-byte length + value, then
 * 80 00.. up to a multiple of 16 (nothing when already aligned).
 * The card wraps RSA keys as type 06 (CRT: dp, dq, p, qInv, q, n, e), EC keys as 0C
 * (a, b, p, n, G, d, Q), AES keys as 0F. UNWRAP also accepts RSA type 05 (d, n, e). Any
 * KCV, CMAC or structure mismatch answers 6A80; the card is unchanged then. */
#include "sim/sim_int.h"

#include "hsm/crypto.h"
#include "hsm/curves.h"
#include "hsm/cvc.h"
#include "hsm/rv.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <string.h>

static const uint8_t OID_AES[8] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01 };

/* Kenc (i = 1) and Kmac (i = 2) = SHA-256(KEK || 00 00 00 i). */
static int derive(const uint8_t kek[32], uint8_t i, uint8_t out[32])
{
    uint8_t buf[36];
    unsigned int n = 0;
    memcpy(buf, kek, 32);
    buf[32] = buf[33] = buf[34] = 0;
    buf[35] = i;
    EVP_MD *md = EVP_MD_fetch(hsm_libctx(), "SHA256", NULL);
    int ok = md != NULL && EVP_Digest(buf, sizeof(buf), out, &n, md, NULL) == 1;
    EVP_MD_free(md);
    OPENSSL_cleanse(buf, sizeof(buf));
    return ok;
}

static int aes256_cbc(const uint8_t key[32], int enc, const uint8_t *in, size_t len, uint8_t *out)
{
    static const uint8_t iv[16];
    EVP_CIPHER *ci = EVP_CIPHER_fetch(hsm_libctx(), "AES-256-CBC", NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    int ok = ci != NULL && ctx != NULL && EVP_CipherInit_ex2(ctx, ci, key, iv, enc, NULL)
             && EVP_CIPHER_CTX_set_padding(ctx, 0) && EVP_CipherUpdate(ctx, out, &n1, in, (int)len)
             && EVP_CipherFinal_ex(ctx, out + n1, &n2) && (size_t)(n1 + n2) == len;
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(ci);
    return ok;
}

static void put_lv(hsm_bytes *b, const uint8_t *v, size_t n)
{
    hsm_bytes_put_u16(b, (uint16_t)n);
    hsm_bytes_put(b, v, n);
}

static int put_bn_lv(hsm_bytes *b, const BIGNUM *bn, int width)
{
    uint8_t buf[600];
    int n = width > 0 ? width : BN_num_bytes(bn);
    if (n <= 0)
        n = 1;
    if (n > (int)sizeof(buf) || BN_bn2binpad(bn, buf, n) < 0)
        return 0;
    put_lv(b, buf, (size_t)n);
    OPENSSL_cleanse(buf, sizeof(buf));
    return 1;
}

static int put_param_lv(hsm_bytes *b, EVP_PKEY *k, const char *name, int width)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(k, name, &bn))
        return 0;
    int ok = put_bn_lv(b, bn, width);
    BN_clear_free(bn);
    return ok;
}

static int ec_components(EVP_PKEY *k, hsm_bytes *pt, unsigned *bits)
{
    int nid = sim_ec_key_nid(k);
    EC_GROUP *g = EC_GROUP_new_by_curve_name_ex(hsm_libctx(), NULL, nid);
    BN_CTX *bnctx = BN_CTX_new_ex(hsm_libctx());
    BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new();
    uint8_t gq[1 + 2 * 66];
    size_t qlen = 0;
    int ok = g != NULL && bnctx != NULL && p != NULL && a != NULL && b != NULL
             && EC_GROUP_get_curve(g, p, a, b, bnctx);
    if (ok) {
        int fl = BN_num_bytes(p), ol = BN_num_bytes(EC_GROUP_get0_order(g));
        *bits = (unsigned)fl * 8;
        size_t glen = EC_POINT_point2oct(g, EC_GROUP_get0_generator(g), POINT_CONVERSION_UNCOMPRESSED, gq,
                                         sizeof(gq), bnctx);
        hsm_bytes_put_u16(pt, (uint16_t)*bits);
        ok = glen > 0 && put_bn_lv(pt, a, fl) && put_bn_lv(pt, b, fl) && put_bn_lv(pt, p, fl)
             && put_bn_lv(pt, EC_GROUP_get0_order(g), ol);
        if (ok)
            put_lv(pt, gq, glen);
        ok = ok && put_param_lv(pt, k, OSSL_PKEY_PARAM_PRIV_KEY, ol)
             && EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, gq, sizeof(gq), &qlen);
        if (ok)
            put_lv(pt, gq, qlen);
    }
    BN_free(p);
    BN_free(a);
    BN_free(b);
    BN_CTX_free(bnctx);
    EC_GROUP_free(g);
    return ok;
}

static int plaintext(sim_key *k, hsm_bytes *pt)
{
    uint8_t rnd[8];
    if (sim_random(rnd, 8) != HSM_OK)
        return 0;
    hsm_bytes_put(pt, rnd, 8);
    if (k->type == SIM_KEY_AES) {
        hsm_bytes_put_u16(pt, (uint16_t)k->bits);
        put_lv(pt, k->priv.data, k->priv.len);
    } else if (k->type == SIM_KEY_RSA) {
        EVP_PKEY *key = sim_key_pkey(k);
        hsm_bytes_put_u16(pt, (uint16_t)k->bits);
        if (key == NULL || !put_param_lv(pt, key, OSSL_PKEY_PARAM_RSA_EXPONENT1, 0)
            || !put_param_lv(pt, key, OSSL_PKEY_PARAM_RSA_EXPONENT2, 0)
            || !put_param_lv(pt, key, OSSL_PKEY_PARAM_RSA_FACTOR1, 0)
            || !put_param_lv(pt, key, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0)
            || !put_param_lv(pt, key, OSSL_PKEY_PARAM_RSA_FACTOR2, 0)
            || !put_param_lv(pt, key, OSSL_PKEY_PARAM_RSA_N, 0) || !put_param_lv(pt, key, OSSL_PKEY_PARAM_RSA_E, 0))
            return 0;
    } else {
        unsigned bits = 0;
        EVP_PKEY *key = sim_key_pkey(k);
        if (key == NULL || !ec_components(key, pt, &bits))
            return 0;
    }
    if (pt->len % 16 != 0) {
        hsm_bytes_put_u8(pt, 0x80);
        while (pt->len % 16 != 0)
            hsm_bytes_put_u8(pt, 0x00);
    }
    return !pt->oom;
}

static const sim_domain *usable_domain(const sim_card *c, uint8_t dom)
{
    if (dom >= c->ndomains || c->dom[dom].state == SIM_DOM_EMPTY || !c->dom[dom].kek_set)
        return NULL;
    return &c->dom[dom];
}

uint16_t sim_cmd_wrap(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    if (a->p2 != 0x92)
        return SW_BAD_P1P2;
    if (a->lc != 0)
        return SW_WRONG_LENGTH;
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    sim_key *k = sim_key_find(c, a->p1);
    if (k == NULL)
        return SW_NOT_FOUND;
    if (!sim_key_alg_allowed(k, 0x92) || k->id == 0)
        return SW_FUNC_NOT_SUPPORTED;
    const sim_domain *d = usable_domain(c, k->domain);
    if (d == NULL)
        return SW_REF_NOT_FOUND;
    uint16_t sw = SW_INTERNAL;
    uint8_t kenc[32], kmac[32], kcv[8], mac[16];
    hsm_bytes blob = HSM_BYTES_INIT, pt = HSM_BYTES_INIT;
    if (!derive(d->kek, 1, kenc) || !derive(d->kek, 2, kmac) || !plaintext(k, &pt))
        goto done;
    sim_dkek_kcv(d->kek, kcv);
    hsm_bytes_put(&blob, kcv, 8);
    if (k->type == SIM_KEY_AES) {
        hsm_bytes_put_u8(&blob, 0x0F);
        put_lv(&blob, OID_AES, sizeof(OID_AES));
    } else if (k->type == SIM_KEY_RSA) {
        hsm_bytes_put_u8(&blob, 0x06);
        put_lv(&blob, HSM_OID_TA_RSA_V15_SHA256, 10);
    } else {
        hsm_bytes_put_u8(&blob, 0x0C);
        put_lv(&blob, HSM_OID_TA_ECDSA_SHA256, 10);
    }
    put_lv(&blob, k->algs, k->has_algs ? k->nalgs : 0);
    hsm_bytes_put_u16(&blob, 0);   /* access conditions */
    hsm_bytes_put_u16(&blob, 0);   /* key OID */
    if (hsm_bytes_reserve(&blob, pt.len + 16) != HSM_OK
        || !aes256_cbc(kenc, 1, pt.data, pt.len, blob.data + blob.len))
        goto done;
    blob.len += pt.len;
    if (!sim_aes_cmac(kmac, 32, blob.data, blob.len, mac))
        goto done;
    hsm_bytes_put(&blob, mac, 16);
    hsm_bytes_put(out, blob.data, blob.len);
    sw = out->oom ? SW_INTERNAL : SW_OK;
done:
    OPENSSL_cleanse(kenc, sizeof(kenc));
    OPENSSL_cleanse(kmac, sizeof(kmac));
    hsm_bytes_free(&pt);
    hsm_bytes_free(&blob);
    return sw;
}

/* ---- UNWRAP ---- */

typedef struct {
    const uint8_t *p, *end;
} reader;

static int get_lv(reader *r, const uint8_t **v, size_t *n)
{
    if (r->end - r->p < 2)
        return 0;
    size_t len = (size_t)(r->p[0] << 8 | r->p[1]);
    if ((size_t)(r->end - r->p - 2) < len)
        return 0;
    *v = r->p + 2;
    *n = len;
    r->p += 2 + len;
    return 1;
}

static BIGNUM *get_bn(reader *r)
{
    const uint8_t *v;
    size_t n;
    if (!get_lv(r, &v, &n) || n == 0)
        return NULL;
    return BN_bin2bn(v, (int)n, NULL);
}

static EVP_PKEY *fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *k = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(hsm_libctx(), type, NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0
        || EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, params) <= 0)
        k = NULL;
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    if (k != NULL) {
        /* A wrapped key whose parts do not belong together is bad data, not a key. */
        EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), k, NULL);
        if (chk == NULL || EVP_PKEY_pairwise_check(chk) != 1) {
            EVP_PKEY_free(k);
            k = NULL;
        }
        EVP_PKEY_CTX_free(chk);
    }
    return k;
}

/* p from n, e, d (the classic randomised split of k = de - 1), for type 05 blobs. */
static BIGNUM *factor_n(const BIGNUM *n, const BIGNUM *e, const BIGNUM *d, BN_CTX *ctx)
{
    BIGNUM *k = BN_new(), *t = BN_new(), *g = BN_new(), *y = BN_new(), *x = BN_new(), *n1 = BN_new();
    BIGNUM *p = NULL;
    if (k == NULL || t == NULL || g == NULL || y == NULL || x == NULL || n1 == NULL || !BN_mul(k, d, e, ctx)
        || !BN_sub_word(k, 1) || !BN_copy(t, k) || !BN_copy(n1, n) || !BN_sub_word(n1, 1))
        goto done;
    int r = 0;
    while (!BN_is_zero(t) && !BN_is_odd(t)) {
        BN_rshift1(t, t);
        r++;
    }
    for (unsigned long gv = 2; gv < 200 && p == NULL && r > 0; gv++) {
        if (!BN_set_word(g, gv) || !BN_mod_exp(y, g, t, n, ctx))
            goto done;
        if (BN_is_one(y) || BN_cmp(y, n1) == 0)
            continue;
        for (int i = 0; i < r; i++) {
            if (!BN_mod_sqr(x, y, n, ctx))
                goto done;
            if (BN_is_one(x)) {
                p = BN_new();
                if (p != NULL && (!BN_sub_word(y, 1) || !BN_gcd(p, y, n, ctx))) {
                    BN_free(p);
                    p = NULL;
                }
                break;
            }
            if (BN_cmp(x, n1) == 0)
                break;
            BN_copy(y, x);
        }
    }
done:
    BN_clear_free(k);
    BN_clear_free(t);
    BN_free(g);
    BN_clear_free(y);
    BN_clear_free(x);
    BN_free(n1);
    return p;
}

static EVP_PKEY *rsa_from_parts(BIGNUM *n, BIGNUM *e, BIGNUM *d, BIGNUM *p, BIGNUM *q, BN_CTX *ctx)
{
    EVP_PKEY *k = NULL;
    BIGNUM *p1 = BN_new(), *q1 = BN_new(), *dp = BN_new(), *dq = BN_new(), *qi = BN_new(), *phi = BN_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (p1 && q1 && dp && dq && qi && phi && bld && BN_sub(p1, p, BN_value_one()) && BN_sub(q1, q, BN_value_one())) {
        if (d == NULL && BN_mul(phi, p1, q1, ctx))
            d = BN_mod_inverse(BN_secure_new(), e, phi, ctx);
        else if (d != NULL)
            d = BN_dup(d);
        if (d != NULL && BN_mod(dp, d, p1, ctx) && BN_mod(dq, d, q1, ctx) && BN_mod_inverse(qi, q, p, ctx)
            && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
            && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)
            && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d)
            && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p)
            && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q)
            && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp)
            && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq)
            && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qi))
            k = fromdata("RSA", bld);
        BN_clear_free(d);
    }
    OSSL_PARAM_BLD_free(bld);
    BN_free(p1);
    BN_free(q1);
    BN_clear_free(dp);
    BN_clear_free(dq);
    BN_clear_free(qi);
    BN_free(phi);
    return k;
}

static EVP_PKEY *unwrap_rsa(reader *r, int type)
{
    BIGNUM *v[7] = { 0 };
    int nparts = type == 0x05 ? 3 : 7;
    EVP_PKEY *k = NULL;
    BN_CTX *ctx = BN_CTX_new_ex(hsm_libctx());
    for (int i = 0; i < nparts; i++)
        if ((v[i] = get_bn(r)) == NULL)
            goto done;
    if (ctx == NULL)
        goto done;
    if (type == 0x05) {
        /* d, n, e */
        BIGNUM *p = factor_n(v[1], v[2], v[0], ctx), *q = BN_new();
        if (p != NULL && q != NULL && BN_div(q, NULL, v[1], p, ctx))
            k = rsa_from_parts(v[1], v[2], v[0], p, q, ctx);
        BN_clear_free(p);
        BN_clear_free(q);
    } else {
        /* dp, dq, p, qInv, q, n, e: d is recomputed from p, q and e. */
        k = rsa_from_parts(v[5], v[6], NULL, v[2], v[4], ctx);
    }
done:
    for (int i = 0; i < 7; i++)
        BN_clear_free(v[i]);
    BN_CTX_free(ctx);
    return k;
}

static EVP_PKEY *unwrap_ec(reader *r)
{
    const uint8_t *a, *b, *p, *n, *g, *d, *q;
    size_t al, bl, pl, nl, gl, dl, ql;
    if (!get_lv(r, &a, &al) || !get_lv(r, &b, &bl) || !get_lv(r, &p, &pl) || !get_lv(r, &n, &nl)
        || !get_lv(r, &g, &gl) || !get_lv(r, &d, &dl) || !get_lv(r, &q, &ql) || dl == 0)
        return NULL;
    const hsm_curve *cv = hsm_curve_by_nid(hsm_curve_identify(p, pl, a, al));
    if (cv == NULL)
        return NULL;
    EVP_PKEY *k = NULL;
    BIGNUM *bd = BN_secure_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bd != NULL && bld != NULL && BN_bin2bn(d, (int)dl, bd)
        && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, cv->name, 0)
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bd)
        && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, ql))
        k = fromdata("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(bd);
    return k;
}

static uint16_t blob_source(sim_card *c, const hsm_apdu *a, const uint8_t **blob, size_t *len)
{
    if (a->lc > 0) {
        *blob = a->data;
        *len = a->lc;
        return SW_OK;
    }
    /* No data: the host staged the blob in EF 2F10 (OpenSC >= 0.24). */
    sim_file *f = sim_file_find(c, 0x2F10);
    if (f == NULL || f->data.len == 0)
        return SW_BAD_DATA;
    *blob = f->data.data;
    *len = f->data.len;
    return SW_OK;
}

uint16_t sim_cmd_unwrap(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    (void)out;
    if (a->p1 == 0 || a->p2 != 0x93)
        return SW_BAD_P1P2;
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    const uint8_t *blob;
    size_t len;
    uint16_t sw = blob_source(c, a, &blob, &len);
    if (sw != SW_OK)
        return sw;
    /* header: KCV 8, type 1, four length-prefixed fields; then >= 16 ciphertext and 16 MAC */
    if (len < 8 + 1 + 8 + 32)
        return SW_BAD_DATA;
    int dom = -1;
    for (size_t i = 0; i < c->ndomains && dom < 0; i++) {
        uint8_t kcv[8];
        if (usable_domain(c, (uint8_t)i) == NULL)
            continue;
        sim_dkek_kcv(c->dom[i].kek, kcv);
        if (CRYPTO_memcmp(kcv, blob, 8) == 0)
            dom = (int)i;
    }
    if (dom < 0)
        return SW_BAD_DATA;
    reader r = { blob + 9, blob + len - 16 };
    const uint8_t *oid, *algs, *acc, *koid;
    size_t oidl, algsl, accl, koidl;
    uint8_t type = blob[8];
    if (!get_lv(&r, &oid, &oidl) || !get_lv(&r, &algs, &algsl) || !get_lv(&r, &acc, &accl)
        || !get_lv(&r, &koid, &koidl) || algsl > 16)
        return SW_BAD_DATA;
    size_t ctlen = (size_t)(r.end - r.p);
    if (ctlen == 0 || ctlen % 16 != 0)
        return SW_BAD_DATA;
    uint8_t kenc[32], kmac[32], mac[16];
    uint8_t *pt = OPENSSL_secure_malloc(ctlen);
    EVP_PKEY *key = NULL;
    sw = SW_BAD_DATA;
    if (pt == NULL || !derive(c->dom[dom].kek, 1, kenc) || !derive(c->dom[dom].kek, 2, kmac)
        || !sim_aes_cmac(kmac, 32, blob, len - 16, mac)) {
        sw = SW_INTERNAL;
        goto done;
    }
    if (CRYPTO_memcmp(mac, blob + len - 16, 16) != 0 || !aes256_cbc(kenc, 0, r.p, ctlen, pt))
        goto done;
    reader pr = { pt + 10, pt + ctlen };
    if (ctlen < 10)
        goto done;
    unsigned bits = (unsigned)(pt[8] << 8 | pt[9]);
    int ktype;
    hsm_bytes aes = HSM_BYTES_INIT;
    if (type == 0x0F) {
        const uint8_t *kv;
        size_t kl;
        if (!get_lv(&pr, &kv, &kl) || (kl != 16 && kl != 24 && kl != 32))
            goto done;
        hsm_bytes_set(&aes, kv, kl);
        ktype = SIM_KEY_AES;
        bits = (unsigned)kl * 8;
    } else if (type == 0x05 || type == 0x06) {
        if ((key = unwrap_rsa(&pr, type)) == NULL)
            goto done;
        ktype = SIM_KEY_RSA;
        bits = (unsigned)EVP_PKEY_get_bits(key);
    } else if (type == 0x0C) {
        if ((key = unwrap_ec(&pr)) == NULL)
            goto done;
        ktype = SIM_KEY_EC;
        bits = hsm_curve_by_nid(sim_ec_key_nid(key))->bits;
    } else {
        goto done;
    }
    sim_key *old = sim_key_find(c, a->p1);
    size_t freed = old ? sim_key_cost(old->type, old->bits) : 0;
    if (sim_key_cost(ktype, bits) > sim_mem_free(c) + freed) {
        hsm_bytes_free(&aes);
        sw = SW_NO_MEMORY;
        goto done;
    }
    sim_key *k = sim_key_put(c, a->p1);
    if (k == NULL) {
        hsm_bytes_free(&aes);
        sw = SW_INTERNAL;
        goto done;
    }
    if (ktype == SIM_KEY_AES) {
        k->type = SIM_KEY_AES;
        k->bits = bits;
        k->priv = aes;
    } else if (sim_key_store_pkey(k, key) != HSM_OK) {
        key = NULL;
        sim_key_delete(c, a->p1);
        sw = SW_INTERNAL;
        goto done;
    }
    key = NULL;
    k->has_algs = algsl > 0;
    k->nalgs = algsl;
    if (algsl > 0)
        memcpy(k->algs, algs, algsl);
    k->domain = (uint8_t)dom;
    c->dirty |= SIM_CHANGED_PERSISTENT;
    sw = SW_OK;
done:
    EVP_PKEY_free(key);
    if (pt != NULL)
        OPENSSL_secure_clear_free(pt, ctlen);
    OPENSSL_cleanse(kenc, sizeof(kenc));
    OPENSSL_cleanse(kmac, sizeof(kmac));
    return sw;
}
