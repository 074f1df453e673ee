/* SPDX-License-Identifier: Apache-2.0 */
/* Private-key operations: SIGN (sheet 9), DECIPHER / ECDH / DERIVE XKEK (10, 13.4), AES cipher
 * and CMAC (11.1). 80 78 P2 99 (symmetric derivation, KDF unknown) and 80 62 P2 83 answer 6A81.
 * Checks run in the reference card's order of concern: P2, PIN, key, algorithm list, use
 * counter, input. The use counter is only spent by an operation that succeeded. */
#include "sim/sim_int.h"

#include "hsm/crypto.h"
#include "hsm/curves.h"
#include "hsm/rv.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <string.h>

static const char *md_for_alg(uint8_t alg)
{
    switch (alg & 0x0F) {
    case 0x1: return "SHA1";
    case 0x2: return "SHA224";
    case 0x3: return "SHA256";
    case 0x4: return "SHA384";
    case 0x5: return "SHA512";
    default: return NULL;
    }
}

static const char *md_for_len(size_t len)
{
    switch (len) {
    case 20: return "SHA1";
    case 32: return "SHA256";
    case 48: return "SHA384";
    case 64: return "SHA512";
    default: return NULL;
    }
}

/* Common prologue: returns the key or NULL with *sw set. */
static sim_key *usable_key(sim_card *c, const hsm_apdu *a, int type, uint16_t *sw)
{
    if (!c->pin_ok) {
        *sw = SW_SEC_STATUS;
        return NULL;
    }
    sim_key *k = sim_key_find(c, a->p1);
    if (k == NULL) {
        *sw = SW_NOT_FOUND;
        return NULL;
    }
    if (k->type != type || !sim_key_alg_allowed(k, a->p2)) {
        *sw = SW_FUNC_NOT_SUPPORTED;
        return NULL;
    }
    if (k->has_counter && k->counter == 0) {
        *sw = SW_REF_UNUSABLE;
        return NULL;
    }
    if (a->lc == 0) {
        *sw = SW_BAD_DATA;
        return NULL;
    }
    *sw = SW_OK;
    return k;
}

static void spend(sim_card *c, sim_key *k)
{
    if (k->has_counter) {
        k->counter--;
        c->dirty |= SIM_CHANGED_PERSISTENT;
    }
}

static int digest(const char *md, const uint8_t *in, size_t len, uint8_t *out, size_t *outlen)
{
    unsigned int n = 0;
    EVP_MD *m = EVP_MD_fetch(hsm_libctx(), md, NULL);
    int ok = m != NULL && EVP_Digest(in, len, out, &n, m, NULL) == 1;
    EVP_MD_free(m);
    *outlen = n;
    return ok;
}

/* One EVP_PKEY_sign/decrypt with the options the card's algorithm implies. */
static int pkey_op(EVP_PKEY *key, int decrypt, int pad, const char *md, const uint8_t *in, size_t len,
                   hsm_bytes *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), key, NULL);
    size_t n = 0;
    int ok = ctx != NULL && (decrypt ? EVP_PKEY_decrypt_init(ctx) : EVP_PKEY_sign_init(ctx)) > 0;
    if (ok && pad != 0)
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, pad) > 0;
    if (ok && md != NULL) {
        EVP_MD *m = EVP_MD_fetch(hsm_libctx(), md, NULL);
        ok = m != NULL && EVP_PKEY_CTX_set_signature_md(ctx, m) > 0;
        if (ok && pad == RSA_PKCS1_PSS_PADDING)
            ok = EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, m) > 0
                 && EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) > 0;
        EVP_MD_free(m);
    }
    if (ok)
        ok = (decrypt ? EVP_PKEY_decrypt(ctx, NULL, &n, in, len) : EVP_PKEY_sign(ctx, NULL, &n, in, len)) > 0;
    if (ok)
        ok = hsm_bytes_reserve(out, n) == HSM_OK;
    if (ok)
        ok = (decrypt ? EVP_PKEY_decrypt(ctx, out->data + out->len, &n, in, len)
                      : EVP_PKEY_sign(ctx, out->data + out->len, &n, in, len)) > 0;
    if (ok)
        out->len += n;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* The card's ECDSA output: DER SEQUENCE of two INTEGERs, each exactly the field size long,
 * with a 00 in front when the top bit is set (so not always minimal DER). */
static int ecdsa_card_der(const uint8_t *der, size_t len, size_t flen, hsm_bytes *out)
{
    const unsigned char *p = der;
    uint8_t v[2][67];
    size_t vl[2];
    /* The field length comes from the key's stored size: check it before anything is allocated. */
    if (flen == 0 || flen > 66)
        return 0;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (es == NULL)
        return 0;
    const BIGNUM *bn[2] = { ECDSA_SIG_get0_r(es), ECDSA_SIG_get0_s(es) };
    for (int i = 0; i < 2; i++) {
        if (BN_bn2binpad(bn[i], v[i] + 1, (int)flen) < 0) {
            ECDSA_SIG_free(es);
            return 0;
        }
        v[i][0] = 0;
        vl[i] = (v[i][1] & 0x80) ? flen + 1 : flen;
    }
    ECDSA_SIG_free(es);
    size_t inner = 0;
    for (int i = 0; i < 2; i++)
        inner += 1 + (vl[i] < 0x80 ? 1 : 2) + vl[i];
    hsm_bytes_put_u8(out, 0x30);
    if (inner >= 0x80)
        hsm_bytes_put_u8(out, 0x81);
    hsm_bytes_put_u8(out, (uint8_t)inner);
    for (int i = 0; i < 2; i++) {
        hsm_bytes_put_u8(out, 0x02);
        if (vl[i] >= 0x80)
            hsm_bytes_put_u8(out, 0x81);
        hsm_bytes_put_u8(out, (uint8_t)vl[i]);
        hsm_bytes_put(out, vl[i] > flen ? v[i] : v[i] + 1, vl[i]);
    }
    return !out->oom;
}

static uint16_t sign_ec(sim_key *k, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out)
{
    uint8_t h[64];
    size_t hl = len;
    const uint8_t *tbs = in;
    if (alg == 0x70) {
        if (len > 64)
            return SW_BAD_DATA;
    } else {
        if (!digest(md_for_alg(alg), in, len, h, &hl))
            return SW_INTERNAL;
        tbs = h;
    }
    hsm_bytes der = HSM_BYTES_INIT;
    EVP_PKEY *key = sim_key_pkey(k);
    if (key == NULL || !pkey_op(key, 0, 0, NULL, tbs, hl, &der)) {
        hsm_bytes_free(&der);
        return SW_BAD_DATA;
    }
    int ok = ecdsa_card_der(der.data, der.len, (k->bits + 7) / 8, out);
    hsm_bytes_free(&der);
    return ok ? SW_OK : SW_INTERNAL;
}

static uint16_t sign_rsa(sim_key *k, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out)
{
    EVP_PKEY *key = sim_key_pkey(k);
    size_t klen = (k->bits + 7) / 8;
    uint8_t h[64];
    size_t hl = 0;
    if (key == NULL)
        return SW_INTERNAL;
    switch (alg) {
    case 0x20:
        if (len != klen)
            return SW_BAD_DATA;
        return pkey_op(key, 1, RSA_NO_PADDING, NULL, in, len, out) ? SW_OK : SW_BAD_DATA;
    case 0x30:
        return pkey_op(key, 0, RSA_PKCS1_PADDING, NULL, in, len, out) ? SW_OK : SW_BAD_DATA;
    case 0x31: case 0x33: case 0x34: case 0x35:
        if (!digest(md_for_alg(alg), in, len, h, &hl))
            return SW_INTERNAL;
        return pkey_op(key, 0, RSA_PKCS1_PADDING, md_for_alg(alg), h, hl, out) ? SW_OK : SW_BAD_DATA;
    case 0x40:
        if (md_for_len(len) == NULL)
            return SW_BAD_DATA;
        return pkey_op(key, 0, RSA_PKCS1_PSS_PADDING, md_for_len(len), in, len, out) ? SW_OK : SW_BAD_DATA;
    default: /* 41, 43, 44, 45 */
        if (!digest(md_for_alg(alg), in, len, h, &hl))
            return SW_INTERNAL;
        return pkey_op(key, 0, RSA_PKCS1_PSS_PADDING, md_for_alg(alg), h, hl, out) ? SW_OK : SW_BAD_DATA;
    }
}

uint16_t sim_cmd_sign(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    int type;
    switch (a->p2) {
    case 0x20: case 0x30: case 0x31: case 0x33: case 0x34: case 0x35:
    case 0x40: case 0x41: case 0x43: case 0x44: case 0x45:
        type = SIM_KEY_RSA;
        break;
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75:
        type = SIM_KEY_EC;
        break;
    default:
        return SW_BAD_P1P2;
    }
    uint16_t sw;
    sim_key *k = usable_key(c, a, type, &sw);
    if (k == NULL)
        return sw;
    sw = type == SIM_KEY_EC ? sign_ec(k, a->p2, a->data, a->lc, out) : sign_rsa(k, a->p2, a->data, a->lc, out);
    if (sw == SW_OK)
        spend(c, k);
    return sw;
}

/* Shared point of ECDH as 04||X||Y (the reference card returns the whole point). */
uint16_t sim_ecdh_point(sim_key *k, const uint8_t *in, size_t len, hsm_bytes *out)
{
    EVP_PKEY *key = sim_key_pkey(k);
    int nid = sim_ec_key_nid(key);
    const hsm_curve *cv = hsm_curve_by_nid(nid);
    if (key == NULL || cv == NULL)
        return SW_INTERNAL;
    size_t flen = (cv->bits + 7) / 8;
    if (len != 1 + 2 * flen || in[0] != 0x04)
        return SW_BAD_DATA;
    uint16_t sw = SW_BAD_DATA;
    BN_CTX *bnctx = BN_CTX_new_ex(hsm_libctx());
    EC_GROUP *g = EC_GROUP_new_by_curve_name_ex(hsm_libctx(), NULL, nid);
    EC_POINT *peer = g ? EC_POINT_new(g) : NULL, *r = g ? EC_POINT_new(g) : NULL;
    BIGNUM *d = NULL;
    uint8_t buf[1 + 2 * 66];
    if (bnctx == NULL || peer == NULL || r == NULL || !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d)) {
        sw = SW_INTERNAL;
        goto done;
    }
    /* oct2point rejects points that are not on the curve. */
    if (!EC_POINT_oct2point(g, peer, in, len, bnctx) || EC_POINT_is_at_infinity(g, peer))
        goto done;
    if (!EC_POINT_mul(g, r, NULL, peer, d, bnctx) || EC_POINT_is_at_infinity(g, r))
        goto done;
    size_t n = EC_POINT_point2oct(g, r, POINT_CONVERSION_UNCOMPRESSED, buf, sizeof(buf), bnctx);
    if (n != len)
        goto done;
    hsm_bytes_put(out, buf, n);
    OPENSSL_cleanse(buf, sizeof(buf));
    sw = SW_OK;
done:
    BN_clear_free(d);
    EC_POINT_free(peer);
    EC_POINT_clear_free(r);
    EC_GROUP_free(g);
    BN_CTX_free(bnctx);
    return sw;
}

/* DERIVE XKEK: the peer's request comes in the data or, without data, from EF 2F10. */
static uint16_t xkek(sim_card *c, const hsm_apdu *a)
{
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    sim_key *k = sim_key_find(c, a->p1);
    if (k == NULL)
        return SW_NOT_FOUND;
    if (k->type != SIM_KEY_EC || !sim_key_alg_allowed(k, 0x84) || k->id == 0)
        return SW_FUNC_NOT_SUPPORTED;
    if (k->has_counter && k->counter == 0)
        return SW_REF_UNUSABLE;
    const uint8_t *req = a->data;
    size_t len = a->lc;
    if (len == 0) {
        sim_file *f = sim_file_find(c, 0x2F10);
        if (f == NULL || f->data.len == 0)
            return SW_BAD_DATA;
        req = f->data.data;
        len = f->data.len;
    }
    uint16_t sw = sim_xkek_derive(c, k, req, len);
    if (sw == SW_OK)
        spend(c, k);
    return sw;
}

uint16_t sim_cmd_decipher(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    int type;
    if (a->p2 == 0x21)
        type = SIM_KEY_RSA;
    else if (a->p2 == 0x80)
        type = SIM_KEY_EC;
    else if (a->p2 == 0x84)
        return xkek(c, a);
    else if (a->p2 == 0x83)
        return SW_FUNC_NOT_SUPPORTED;   /* ECDH with authenticated peer key: format unknown */
    else
        return SW_BAD_P1P2;
    uint16_t sw;
    sim_key *k = usable_key(c, a, type, &sw);
    if (k == NULL)
        return sw;
    if (type == SIM_KEY_EC) {
        sw = sim_ecdh_point(k, a->data, a->lc, out);
    } else {
        size_t klen = (k->bits + 7) / 8;
        EVP_PKEY *key = sim_key_pkey(k);
        if (a->lc > klen)
            return SW_BAD_DATA;
        uint8_t buf[512];
        memset(buf, 0, klen - a->lc);
        memcpy(buf + klen - a->lc, a->data, a->lc);
        sw = key != NULL && pkey_op(key, 1, RSA_NO_PADDING, NULL, buf, klen, out) ? SW_OK : SW_BAD_DATA;
        OPENSSL_cleanse(buf, sizeof(buf));
    }
    if (sw == SW_OK)
        spend(c, k);
    return sw;
}

static uint16_t aes_cbc(const sim_key *k, int enc, const uint8_t *in, size_t len, hsm_bytes *out)
{
    static const uint8_t iv[16];
    char name[16];
    if (len == 0 || len % 16 != 0)
        return SW_BAD_DATA;
    snprintf(name, sizeof(name), "AES-%u-CBC", k->bits);
    EVP_CIPHER *ci = EVP_CIPHER_fetch(hsm_libctx(), name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    int ok = ci != NULL && ctx != NULL && EVP_CipherInit_ex2(ctx, ci, k->priv.data, iv, enc, NULL)
             && EVP_CIPHER_CTX_set_padding(ctx, 0) && hsm_bytes_reserve(out, len + 16) == HSM_OK
             && EVP_CipherUpdate(ctx, out->data + out->len, &n1, in, (int)len)
             && EVP_CipherFinal_ex(ctx, out->data + out->len + n1, &n2);
    if (ok)
        out->len += (size_t)(n1 + n2);
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(ci);
    return ok ? SW_OK : SW_BAD_DATA;
}

int sim_aes_cmac(const uint8_t *key, size_t keylen, const uint8_t *in, size_t len, uint8_t mac[16])
{
    char name[16];
    snprintf(name, sizeof(name), "AES-%zu-CBC", keylen * 8);
    OSSL_PARAM params[2] = { OSSL_PARAM_construct_utf8_string("cipher", name, 0), OSSL_PARAM_construct_end() };
    EVP_MAC *m = EVP_MAC_fetch(hsm_libctx(), "CMAC", NULL);
    EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
    size_t n = 0;
    int ok = ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) && EVP_MAC_update(ctx, in, len)
             && EVP_MAC_final(ctx, mac, &n, 16) && n == 16;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
    return ok;
}

uint16_t sim_cmd_cipher(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    if (a->p2 == 0x99)
        return SW_FUNC_NOT_SUPPORTED;   /* symmetric derivation: KDF unknown, not simulated */
    if (a->p2 != 0x10 && a->p2 != 0x11 && a->p2 != 0x18)
        return SW_BAD_P1P2;
    uint16_t sw;
    sim_key *k = usable_key(c, a, SIM_KEY_AES, &sw);
    if (k == NULL)
        return sw;
    if (a->p2 == 0x18) {
        uint8_t mac[16];
        if (!sim_aes_cmac(k->priv.data, k->priv.len, a->data, a->lc, mac))
            return SW_INTERNAL;
        hsm_bytes_put(out, mac, 16);
    } else {
        sw = aes_cbc(k, a->p2 == 0x10, a->data, a->lc, out);
        if (sw != SW_OK)
            return sw;
    }
    spend(c, k);
    return SW_OK;
}
