/* SPDX-License-Identifier: Apache-2.0 */
#include "hsm/pkcs15.h"
#include "hsm/crypto.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <string.h>

/* The vendor's AES usage bytes (07 C0 10) carry a bit past the declared unused bits;
 * we keep the bits as written so the vendor form survives a decode/encode round trip. */
#define AES_DEFAULT_USAGE (HSM_USAGE_ENCRYPT | HSM_USAGE_DECRYPT | (1u << 11))
/* What OpenSC 0.23 writes for keys pkcs11-tool generates on this card (checked against its
 * output through pcscd: RSA 03 02 04 70, EC 03 03 07 30 80). */
#define RSA_DEFAULT_USAGE (HSM_USAGE_DECRYPT | HSM_USAGE_SIGN | HSM_USAGE_SIGN_RECOVER)
#define EC_DEFAULT_USAGE (HSM_USAGE_SIGN | HSM_USAGE_SIGN_RECOVER | HSM_USAGE_DERIVE)
/* CommonObjectAttributes flags: private | modifiable (03 02 06 C0), authId 01 = the user PIN. */
static const uint8_t OBJ_FLAGS_PRIVATE_MODIFIABLE[] = { 0x06, 0xC0 };
static const uint8_t AUTH_ID_USER_PIN = 0x01;

/* ---- decoding helpers ---- */

static int get_uint(const hsm_tlv *t, unsigned *out)
{
    if (t->tag != 0x02 || t->len == 0 || t->len > 4 || (t->val[0] & 0x80))
        return HSM_E_PARSE;
    unsigned v = 0;
    for (size_t i = 0; i < t->len; i++)
        v = v << 8 | t->val[i];
    *out = v;
    return HSM_OK;
}

static void get_label(const hsm_tlv *t, char *out)
{
    size_t n = t->len < HSM_LABEL_MAX - 1 ? t->len : HSM_LABEL_MAX - 1;
    memcpy(out, t->val, n);
    out[n] = '\0';
}

static unsigned get_bits(const hsm_tlv *t)
{
    unsigned u = 0;
    if (t->len < 1)
        return 0;
    for (size_t i = 1; i < t->len && i <= 4; i++)
        for (int b = 0; b < 8; b++)
            if (t->val[i] & (0x80 >> b))
                u |= 1u << ((i - 1) * 8 + (size_t)b);
    return u;
}

/* CommonObjectAttributes: label (0C) among optional flags/authId. */
static int decode_common_obj(const hsm_tlv *seq, char *label)
{
    if (seq->tag != 0x30)
        return HSM_E_PARSE;
    hsm_tlv t;
    label[0] = '\0';
    int rc = hsm_tlv_find(seq->val, seq->len, 0x0C, &t);
    if (rc < 0)
        return rc;
    if (rc == 1)
        get_label(&t, label);
    return HSM_OK;
}

/* CommonKeyAttributes / CommonCertificateAttributes: iD (04), usage (03) and keyReference (02);
 * the rest is skipped. */
static int decode_common_key(const hsm_tlv *seq, uint8_t *id, size_t *id_len, unsigned *usage, unsigned *key_ref)
{
    if (seq->tag != 0x30)
        return HSM_E_PARSE;
    const uint8_t *p = seq->val, *end = seq->val + seq->len;
    hsm_tlv t;
    int rc, have_usage = 0;
    *id_len = 0;
    while ((rc = hsm_tlv_next(&p, end, &t)) == 1) {
        if (t.tag == 0x04 && *id_len == 0) {
            if (t.len > HSM_ID_MAX)
                return HSM_E_PARSE;
            memcpy(id, t.val, t.len);
            *id_len = t.len;
        } else if (t.tag == 0x03 && !have_usage && usage != NULL) {
            *usage = get_bits(&t);
            have_usage = 1;
        } else if (t.tag == 0x02 && key_ref != NULL) {
            unsigned v = 0;
            if (get_uint(&t, &v) == HSM_OK && v <= 0xFF)
                *key_ref = v;   /* lenient: an odd keyReference is ignored, the FID is what counts */
        }
    }
    return rc;
}

/* First INTEGER directly inside the first SEQUENCE of a [n] wrapper: the size attribute. */
static int decode_size(const hsm_tlv *wrap, unsigned *bits)
{
    hsm_tlv seq, t;
    const uint8_t *p = wrap->val, *end = wrap->val + wrap->len;
    if (hsm_tlv_next(&p, end, &seq) != 1 || seq.tag != 0x30)
        return HSM_E_PARSE;
    p = seq.val;
    end = seq.val + seq.len;
    int rc;
    while ((rc = hsm_tlv_next(&p, end, &t)) == 1)
        if (t.tag == 0x02)
            return get_uint(&t, bits);
    return rc < 0 ? rc : HSM_OK;   /* size is optional in PKCS#15 */
}

int hsm_prkd_decode(const uint8_t *buf, size_t len, hsm_prkd *out)
{
    hsm_tlv top, t;
    if (buf == NULL || out == NULL || hsm_tlv_parse_one(buf, len, &top) != HSM_OK)
        return HSM_E_PARSE;
    memset(out, 0, sizeof(*out));
    switch (top.tag) {
    case 0x30: out->type = HSM_KEY_RSA; break;
    case 0xA0: out->type = HSM_KEY_EC; break;
    case 0xA8: out->type = HSM_KEY_AES; break;
    default: return HSM_E_UNSUPPORTED;
    }
    const uint8_t *p = top.val, *end = top.val + top.len;
    int rc;
    if (hsm_tlv_next(&p, end, &t) != 1 || decode_common_obj(&t, out->label) != HSM_OK)
        return HSM_E_PARSE;
    if (hsm_tlv_next(&p, end, &t) != 1 ||
        decode_common_key(&t, out->id, &out->id_len, &out->usage, &out->key_ref) != HSM_OK)
        return HSM_E_PARSE;
    while ((rc = hsm_tlv_next(&p, end, &t)) == 1) {
        /* Secret keys carry their length in the [0] subclass attributes, private keys in [1]. */
        if ((t.tag == 0xA0 && out->type == HSM_KEY_AES) || (t.tag == 0xA1 && out->type != HSM_KEY_AES))
            if (decode_size(&t, &out->bits) != HSM_OK)
                return HSM_E_PARSE;
    }
    if (rc < 0)
        return HSM_E_PARSE;
    if (out->type == HSM_KEY_EC && out->bits == 528)
        out->bits = 521;   /* 8 * byte length of the P-521 prime, as some writers store it */
    return HSM_OK;
}

/* ---- encoding helpers ---- */

static void put_uint(hsm_bytes *b, unsigned v)
{
    uint8_t tmp[5];
    size_t n = 0;
    for (int i = 3; i >= 0; i--) {
        uint8_t c = (uint8_t)(v >> (8 * i));
        if (n == 0 && c == 0 && i > 0)
            continue;
        if (n == 0 && (c & 0x80))
            tmp[n++] = 0;
        tmp[n++] = c;
    }
    hsm_tlv_put(b, 0x02, tmp, n);
}

static void put_usage(hsm_bytes *b, enum hsm_key_type type, unsigned usage)
{
    if (type == HSM_KEY_AES && usage == AES_DEFAULT_USAGE) {
        static const uint8_t vendor[] = { 0x07, 0xC0, 0x10 };
        hsm_tlv_put(b, 0x03, vendor, sizeof(vendor));
        return;
    }
    uint8_t v[5] = { 0 };
    size_t nbytes = 0;
    for (unsigned i = 0; i < 32; i++)
        if (usage & (1u << i)) {
            v[1 + i / 8] |= (uint8_t)(0x80 >> (i % 8));
            nbytes = i / 8 + 1;
        }
    unsigned unused = 0;
    if (nbytes > 0)
        while (unused < 7 && !(v[nbytes] & (1u << unused)))
            unused++;
    v[0] = (uint8_t)unused;
    hsm_tlv_put(b, 0x03, v, nbytes + 1);
}

static void put_empty_path(hsm_bytes *b)
{
    static const uint8_t path[] = { 0x30, 0x02, 0x04, 0x00 };
    hsm_bytes_put(b, path, sizeof(path));
}

int hsm_prkd_encode(const hsm_prkd *p, hsm_bytes *out)
{
    if (p == NULL || out == NULL || p->id_len > HSM_ID_MAX)
        return HSM_E_ARGS;
    unsigned top_tag, usage = p->usage;
    switch (p->type) {
    case HSM_KEY_RSA: top_tag = 0x30; if (!usage) usage = RSA_DEFAULT_USAGE; break;
    case HSM_KEY_EC: top_tag = 0xA0; if (!usage) usage = EC_DEFAULT_USAGE; break;
    case HSM_KEY_AES: top_tag = 0xA8; if (!usage) usage = AES_DEFAULT_USAGE; break;
    default: return HSM_E_ARGS;
    }
    size_t m0, m1, m2;
    hsm_bytes_clear(out);
    hsm_tlv_open(out, top_tag, &m0);

    int opensc_form = p->type != HSM_KEY_AES;   /* OpenSC writes no secret keys on this card */
    hsm_tlv_open(out, 0x30, &m1);
    hsm_tlv_put(out, 0x0C, p->label, strnlen(p->label, HSM_LABEL_MAX - 1));
    if (opensc_form) {
        hsm_tlv_put(out, 0x03, OBJ_FLAGS_PRIVATE_MODIFIABLE, sizeof(OBJ_FLAGS_PRIVATE_MODIFIABLE));
        hsm_tlv_put(out, 0x04, &AUTH_ID_USER_PIN, 1);
    }
    hsm_tlv_close(out, m1);

    hsm_tlv_open(out, 0x30, &m1);
    hsm_tlv_put(out, 0x04, p->id, p->id_len);
    put_usage(out, p->type, usage);
    if (opensc_form && p->key_ref != 0)
        put_uint(out, p->key_ref);
    hsm_tlv_close(out, m1);

    if (p->type == HSM_KEY_AES) {
        hsm_tlv_open(out, 0xA0, &m1);
        hsm_tlv_open(out, 0x30, &m2);
        put_uint(out, p->bits);
        hsm_tlv_close(out, m2);
        hsm_tlv_close(out, m1);
        hsm_tlv_open(out, 0xA1, &m1);
        hsm_tlv_open(out, 0x30, &m2);
        put_empty_path(out);
        hsm_tlv_close(out, m2);
        hsm_tlv_close(out, m1);
    } else {
        hsm_tlv_open(out, 0xA1, &m1);
        hsm_tlv_open(out, 0x30, &m2);
        put_empty_path(out);
        put_uint(out, p->bits);
        hsm_tlv_close(out, m2);
        hsm_tlv_close(out, m1);
    }
    return hsm_tlv_close(out, m0);
}

/* ---- certificate descriptions ---- */

int hsm_cd_decode(const uint8_t *buf, size_t len, hsm_cd *out)
{
    hsm_tlv top, t, a, b;
    if (buf == NULL || out == NULL || hsm_tlv_parse_one(buf, len, &top) != HSM_OK)
        return HSM_E_PARSE;
    if (top.tag != 0x30 && top.tag != 0xA5)
        return HSM_E_UNSUPPORTED;
    memset(out, 0, sizeof(*out));
    out->cvc = top.tag == 0xA5;
    const uint8_t *p = top.val, *end = top.val + top.len;
    if (hsm_tlv_next(&p, end, &t) != 1 || decode_common_obj(&t, out->label) != HSM_OK)
        return HSM_E_PARSE;
    if (hsm_tlv_next(&p, end, &t) != 1 || decode_common_key(&t, out->id, &out->id_len, NULL, NULL) != HSM_OK)
        return HSM_E_PARSE;
    int rc;
    while ((rc = hsm_tlv_next(&p, end, &t)) == 1) {
        if (t.tag != 0xA1)
            continue;
        /* [1] { SEQUENCE { Path SEQUENCE { OCTET STRING path ... } } } */
        if (hsm_tlv_next(&(const uint8_t *){ t.val }, t.val + t.len, &a) != 1 || a.tag != 0x30)
            return HSM_E_PARSE;
        if (hsm_tlv_next(&(const uint8_t *){ a.val }, a.val + a.len, &b) != 1 || b.tag != 0x30)
            return HSM_E_PARSE;
        if (hsm_tlv_find(b.val, b.len, 0x04, &a) != 1 || a.len < 2)
            return HSM_E_PARSE;
        out->path_fid = (uint16_t)(a.val[a.len - 2] << 8 | a.val[a.len - 1]);
    }
    return rc < 0 ? HSM_E_PARSE : HSM_OK;
}

int hsm_cd_encode(const hsm_cd *c, hsm_bytes *out)
{
    if (c == NULL || out == NULL || c->id_len > HSM_ID_MAX)
        return HSM_E_ARGS;
    size_t m0, m1, m2, m3;
    hsm_bytes_clear(out);
    hsm_tlv_open(out, c->cvc ? 0xA5 : 0x30, &m0);
    hsm_tlv_open(out, 0x30, &m1);
    hsm_tlv_put(out, 0x0C, c->label, strnlen(c->label, HSM_LABEL_MAX - 1));
    hsm_tlv_close(out, m1);
    hsm_tlv_open(out, 0x30, &m1);
    hsm_tlv_put(out, 0x04, c->id, c->id_len);
    hsm_tlv_close(out, m1);
    hsm_tlv_open(out, 0xA1, &m1);
    hsm_tlv_open(out, 0x30, &m2);
    hsm_tlv_open(out, 0x30, &m3);
    uint8_t fid[2] = { (uint8_t)(c->path_fid >> 8), (uint8_t)c->path_fid };
    hsm_tlv_put(out, 0x04, fid, 2);
    hsm_tlv_close(out, m3);
    hsm_tlv_close(out, m2);
    hsm_tlv_close(out, m1);
    return hsm_tlv_close(out, m0);
}

/* ---- OpenSC's key ID ---- */

static int bn_param(EVP_PKEY *k, const char *name, size_t pad_to, uint8_t *buf, size_t cap, size_t *n)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(k, name, &bn) || bn == NULL)
        return HSM_E_CRYPTO;
    int len = BN_num_bytes(bn);
    size_t want = pad_to > (size_t)len ? pad_to : (size_t)len;
    int rc = HSM_E_CRYPTO;
    if (want <= cap && BN_bn2binpad(bn, buf, (int)want) == (int)want) {
        *n = want;
        rc = HSM_OK;
    }
    BN_free(bn);
    return rc;
}

/* X exactly as the card's 86 point holds it (field length), when the key exports 04||X||Y. */
static int ec_x_from_point(EVP_PKEY *k, uint8_t *buf, size_t cap, size_t *n)
{
    uint8_t pt[1 + 2 * 66];
    size_t len = 0;
    if (!EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len))
        return HSM_E_CRYPTO;
    if (len < 3 || pt[0] != 0x04 || (len & 1) == 0 || (len - 1) / 2 > cap)
        return HSM_E_PARSE;
    *n = (len - 1) / 2;
    memcpy(buf, pt + 1, *n);
    return HSM_OK;
}

int hsm_pkcs15_key_id(EVP_PKEY *pub, uint8_t out[20])
{
    if (pub == NULL || out == NULL)
        return HSM_E_ARGS;
    uint8_t buf[1024];   /* RSA-8192 modulus at most */
    size_t n = 0;
    int rc;
    if (EVP_PKEY_is_a(pub, "RSA") || EVP_PKEY_is_a(pub, "RSA-PSS"))
        rc = bn_param(pub, OSSL_PKEY_PARAM_RSA_N, 0, buf, sizeof(buf), &n);
    else if (EVP_PKEY_is_a(pub, "EC") && ec_x_from_point(pub, buf, sizeof(buf), &n) == HSM_OK)
        rc = HSM_OK;
    else if (EVP_PKEY_is_a(pub, "EC"))
        rc = bn_param(pub, OSSL_PKEY_PARAM_EC_PUB_X, ((size_t)EVP_PKEY_get_bits(pub) + 7) / 8,
                      buf, sizeof(buf), &n);
    else
        return HSM_E_UNSUPPORTED;
    if (rc != HSM_OK)
        return rc;
    EVP_MD *md = EVP_MD_fetch(hsm_libctx(), "SHA1", NULL);
    unsigned int olen = 0;
    rc = md != NULL && EVP_Digest(buf, n, out, &olen, md, NULL) && olen == 20 ? HSM_OK : HSM_E_CRYPTO;
    EVP_MD_free(md);
    return rc;
}
