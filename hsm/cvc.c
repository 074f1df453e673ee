/* SPDX-License-Identifier: Apache-2.0 */
/* Card Verifiable Certificates: parser, builders and signature checks (protocol sheet 7, 14). */
#include "hsm/cvc.h"
#include "hsm/crypto.h"
#include "hsm/curves.h"
#include "hsm/rv.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <string.h>

const uint8_t HSM_OID_TA_RSA_V15_SHA256[10] = { 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01, 0x02 };
const uint8_t HSM_OID_TA_ECDSA_SHA256[10] = { 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03 };

/* id-TA-RSA and id-TA-ECDSA arcs: the last byte selects the hash/padding variant. */
static const uint8_t OID_TA_RSA_ARC[9] = { 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01 };
static const uint8_t OID_TA_ECDSA_ARC[9] = { 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02 };

/* Production root DESRCACC100001 (protocol sheet 14.4). */
static const uint8_t ROOT_PROD_Q[65] = {
    0x04, 0x6D, 0x02, 0x5A, 0x80, 0x26, 0xCD, 0xBA, 0x24, 0x5F, 0x10, 0xDF, 0x1B, 0x72, 0xE9, 0x88,
    0x0F, 0xFF, 0x74, 0x6D, 0xAB, 0x40, 0xA4, 0x3A, 0x3D, 0x5C, 0x6B, 0xEB, 0xF2, 0x77, 0x07, 0xC3,
    0x0F, 0x6D, 0xEA, 0x72, 0x43, 0x0E, 0xE3, 0x28, 0x7B, 0x06, 0x65, 0xC1, 0xEA, 0xA6, 0xEA, 0xA4,
    0xFA, 0x26, 0xC4, 0x63, 0x03, 0x00, 0x19, 0x83, 0xF8, 0x2B, 0xD1, 0xAA, 0x31, 0xE0, 0x3D, 0xA0,
    0x62,
};

/* "UTSRCACC100001" here is OUR test root (private key in sim/certs/, TEST ONLY), not
 * CardContact's real test root, whose point (sheet 14.4, 04 A041FEB2...) differs: we do not have
 * its private key, and the virtual card needs a hierarchy it can issue under. */
static const uint8_t ROOT_TEST_Q[65] = {
#include "hsm/cvc_testroot.inc"
};

static int oid_is(const hsm_tlv *oid, const uint8_t arc[9])
{
    return oid->len == 10 && memcmp(oid->val, arc, 9) == 0;
}

static int parse_body(const hsm_tlv *body, hsm_cvc *out)
{
    const uint8_t *p = body->val, *end = body->val + body->len;
    hsm_tlv t;
    int rc;
    while ((rc = hsm_tlv_next(&p, end, &t)) == 1) {
        switch (t.tag) {
        case 0x42: out->car = t; break;
        case 0x5F20: out->chr = t; break;
        case 0x7F49: out->pubkey = t; break;
        case 0x7F4C: out->chat = t; break;
        case 0x5F25: out->effective = t; break;
        case 0x5F24: out->expiry = t; break;
        case 0x65: out->extensions = t; break;
        default: break;   /* 5F29 and anything newer */
        }
    }
    if (rc < 0 || out->pubkey.val == NULL || out->chr.val == NULL)
        return HSM_E_PARSE;
    if (hsm_tlv_find(out->pubkey.val, out->pubkey.len, 0x06, &out->oid) != 1)
        return HSM_E_PARSE;
    return HSM_OK;
}

static int parse_cert(const hsm_tlv *cert, hsm_cvc *out)
{
    const uint8_t *p = cert->val, *end = cert->val + cert->len;
    hsm_tlv body, sig;
    out->cert = *cert;
    if (hsm_tlv_next(&p, end, &body) != 1 || body.tag != 0x7F4E)
        return HSM_E_PARSE;
    if (hsm_tlv_next(&p, end, &sig) != 1 || sig.tag != 0x5F37 || p != end)
        return HSM_E_PARSE;
    out->body = body;
    out->signature = sig;
    return parse_body(&body, out);
}

int hsm_cvc_parse(const uint8_t *buf, size_t len, hsm_cvc *out, const uint8_t **rest)
{
    if (buf == NULL || out == NULL)
        return HSM_E_ARGS;
    memset(out, 0, sizeof(*out));
    const uint8_t *p = buf, *end = buf + len;
    hsm_tlv top;
    if (hsm_tlv_next(&p, end, &top) != 1)
        return HSM_E_PARSE;
    if (rest != NULL)
        *rest = p;
    else if (p != end)
        return HSM_E_PARSE;
    if (top.tag == 0x7F21)
        return parse_cert(&top, out);
    if (top.tag != 0x67)
        return HSM_E_PARSE;
    const uint8_t *q = top.val, *qend = top.val + top.len;
    hsm_tlv cert, car, sig;
    if (hsm_tlv_next(&q, qend, &cert) != 1 || cert.tag != 0x7F21)
        return HSM_E_PARSE;
    if (hsm_tlv_next(&q, qend, &car) != 1 || car.tag != 0x42)
        return HSM_E_PARSE;
    if (hsm_tlv_next(&q, qend, &sig) != 1 || sig.tag != 0x5F37 || q != qend)
        return HSM_E_PARSE;
    int rc = parse_cert(&cert, out);
    if (rc != HSM_OK)
        return rc;
    out->authenticated = 1;
    out->outer_car = car;
    out->outer_signature = sig;
    return HSM_OK;
}

void hsm_cvc_ref_string(const hsm_tlv *ref, char *out, size_t cap)
{
    if (cap == 0)
        return;
    size_t n = 0;
    if (ref != NULL && ref->val != NULL) {
        for (size_t i = 0; i < ref->len && n + 1 < cap; i++) {
            uint8_t ch = ref->val[i];
            out[n++] = (ch >= 0x20 && ch < 0x7F) ? (char)ch : '?';
        }
    }
    out[n] = 0;
}

int hsm_cvc_curve_nid(const hsm_cvc *c)
{
    if (c->pubkey.val == NULL || !oid_is(&c->oid, OID_TA_ECDSA_ARC))
        return 0;
    hsm_tlv p, a;
    if (hsm_tlv_find(c->pubkey.val, c->pubkey.len, 0x81, &p) != 1
        || hsm_tlv_find(c->pubkey.val, c->pubkey.len, 0x82, &a) != 1)
        return 0;
    return hsm_curve_identify(p.val, p.len, a.val, a.len);
}

static int from_params(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
    int rc = HSM_E_CRYPTO;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(hsm_libctx(), type, NULL);
    *out = NULL;
    if (params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) > 0
        && EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) > 0)
        rc = HSM_OK;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return rc;
}

int hsm_cvc_ec_public_key(int nid, const uint8_t *point, size_t len, EVP_PKEY **out)
{
    const hsm_curve *cv = hsm_curve_by_nid(nid);
    if (cv == NULL)
        return HSM_E_UNSUPPORTED;
    size_t flen = (cv->bits + 7) / 8;
    if (len != 1 + 2 * flen || point[0] != 0x04)
        return HSM_E_PARSE;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL)
        return HSM_E_MEM;
    int rc = HSM_E_CRYPTO;
    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, cv->name, 0)
        && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, len))
        rc = from_params("EC", bld, out);
    OSSL_PARAM_BLD_free(bld);
    /* A point not on the curve makes fromdata fail: report it as bad input. */
    return rc == HSM_E_CRYPTO ? HSM_E_PARSE : rc;
}

int hsm_cvc_public_key(const hsm_cvc *c, int inherited_nid, EVP_PKEY **out)
{
    if (c == NULL || out == NULL || c->pubkey.val == NULL)
        return HSM_E_ARGS;
    *out = NULL;
    const uint8_t *pk = c->pubkey.val;
    size_t pklen = c->pubkey.len;
    if (oid_is(&c->oid, OID_TA_RSA_ARC)) {
        hsm_tlv n, e;
        if (hsm_tlv_find(pk, pklen, 0x81, &n) != 1 || hsm_tlv_find(pk, pklen, 0x82, &e) != 1
            || n.len == 0 || e.len == 0 || n.len > 1024 || e.len > 8)
            return HSM_E_PARSE;
        BIGNUM *bn = BN_bin2bn(n.val, (int)n.len, NULL), *be = BN_bin2bn(e.val, (int)e.len, NULL);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        int rc = HSM_E_MEM;
        if (bn != NULL && be != NULL && bld != NULL) {
            rc = HSM_E_CRYPTO;
            if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn)
                && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
                rc = from_params("RSA", bld, out);
        }
        OSSL_PARAM_BLD_free(bld);
        BN_free(bn);
        BN_free(be);
        return rc;
    }
    if (oid_is(&c->oid, OID_TA_ECDSA_ARC)) {
        hsm_tlv q;
        if (hsm_tlv_find(pk, pklen, 0x86, &q) != 1)
            return HSM_E_PARSE;
        int nid = inherited_nid;
        hsm_tlv p;
        if (hsm_tlv_find(pk, pklen, 0x81, &p) == 1) {
            nid = hsm_cvc_curve_nid(c);
            if (nid == 0)
                return HSM_E_UNSUPPORTED;
        }
        if (nid == 0)
            return HSM_E_UNSUPPORTED;
        return hsm_cvc_ec_public_key(nid, q.val, q.len, out);
    }
    return HSM_E_UNSUPPORTED;
}

/* Bytes per coordinate of an EC key (field size), for plain r||s. */
static size_t ec_field_bytes(EVP_PKEY *key)
{
    char name[64];
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), NULL)) {
        const hsm_curve *cv = hsm_curve_by_nid(OBJ_sn2nid(name));
        if (cv == NULL)
            cv = hsm_curve_by_name(name);
        if (cv != NULL)
            return (cv->bits + 7) / 8;
    }
    return (size_t)(EVP_PKEY_get_bits(key) + 7) / 8;
}

static int verify_sig(EVP_PKEY *key, const uint8_t *data, size_t len, const uint8_t *sig, size_t siglen)
{
    int rc = HSM_E_VERIFY;
    unsigned char *der = NULL;
    int derlen = 0;
    ECDSA_SIG *es = NULL;
    const uint8_t *s = sig;
    size_t slen = siglen;
    if (EVP_PKEY_is_a(key, "EC")) {
        size_t fl = ec_field_bytes(key);
        if (siglen != 2 * fl)
            return HSM_E_VERIFY;
        es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(sig, (int)fl, NULL), *ss = BN_bin2bn(sig + fl, (int)fl, NULL);
        if (es == NULL || r == NULL || ss == NULL || !ECDSA_SIG_set0(es, r, ss)) {
            BN_free(r);
            BN_free(ss);
            ECDSA_SIG_free(es);
            return HSM_E_CRYPTO;
        }
        derlen = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        if (derlen <= 0)
            return HSM_E_CRYPTO;
        s = der;
        slen = (size_t)derlen;
    }
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (mctx != NULL && EVP_DigestVerifyInit_ex(mctx, NULL, "SHA256", hsm_libctx(), NULL, key, NULL) > 0
        && EVP_DigestVerify(mctx, s, slen, data, len) == 1)
        rc = HSM_OK;
    EVP_MD_CTX_free(mctx);
    OPENSSL_free(der);
    return rc;
}

int hsm_cvc_verify(const hsm_cvc *c, EVP_PKEY *signer)
{
    if (c == NULL || signer == NULL || c->body.raw == NULL || c->signature.val == NULL)
        return HSM_E_ARGS;
    return verify_sig(signer, c->body.raw, c->body.rawlen, c->signature.val, c->signature.len);
}

int hsm_cvc_verify_outer(const hsm_cvc *c, EVP_PKEY *device_key)
{
    if (c == NULL || device_key == NULL || !c->authenticated)
        return HSM_E_ARGS;
    hsm_bytes tbs = HSM_BYTES_INIT;
    hsm_bytes_put(&tbs, c->cert.raw, c->cert.rawlen);
    hsm_bytes_put(&tbs, c->outer_car.raw, c->outer_car.rawlen);
    int rc = tbs.oom ? HSM_E_MEM
                     : verify_sig(device_key, tbs.data, tbs.len, c->outer_signature.val, c->outer_signature.len);
    hsm_bytes_free(&tbs);
    return rc;
}

int hsm_cvc_split_devcerts(const uint8_t *buf, size_t len, hsm_cvc *device, hsm_cvc *dica)
{
    const uint8_t *rest = NULL, *rest2 = NULL;
    if (buf == NULL || len == 0)
        return HSM_E_PARSE;
    int rc = hsm_cvc_parse(buf, len, device, &rest);
    if (rc != HSM_OK)
        return rc;
    if (device->authenticated || rest >= buf + len)
        return HSM_E_PARSE;
    rc = hsm_cvc_parse(rest, (size_t)(buf + len - rest), dica, &rest2);
    if (rc != HSM_OK)
        return rc;
    return dica->authenticated ? HSM_E_PARSE : HSM_OK;
}

EVP_PKEY *hsm_cvc_root_key(const char *chr)
{
    EVP_PKEY *k = NULL;
    if (chr == NULL)
        return NULL;
    const uint8_t *q = NULL;
    if (strcmp(chr, "DESRCACC100001") == 0)
        q = ROOT_PROD_Q;
    else if (strcmp(chr, "UTSRCACC100001") == 0)
        q = ROOT_TEST_Q;
    if (q == NULL || hsm_cvc_ec_public_key(NID_brainpoolP256r1, q, 65, &k) != HSM_OK)
        return NULL;
    return k;
}

static int refs_equal(const hsm_tlv *a, const hsm_tlv *b)
{
    return a->val != NULL && b->val != NULL && a->len == b->len && memcmp(a->val, b->val, a->len) == 0;
}

int hsm_cvc_verify_attestation(const uint8_t *devcerts, size_t devcerts_len,
                               const uint8_t *request, size_t request_len,
                               char *device_chr, size_t cap)
{
    hsm_cvc dev, dica, req;
    char car[32];
    EVP_PKEY *root = NULL, *kdica = NULL, *kdev = NULL, *kreq = NULL;
    int rc = hsm_cvc_split_devcerts(devcerts, devcerts_len, &dev, &dica);
    if (rc != HSM_OK)
        return rc;
    if ((rc = hsm_cvc_parse(request, request_len, &req, NULL)) != HSM_OK)
        return rc;
    if (!req.authenticated)
        return HSM_E_PARSE;
    hsm_cvc_ref_string(&dica.car, car, sizeof(car));
    root = hsm_cvc_root_key(car);
    rc = HSM_E_VERIFY;
    if (root == NULL || !refs_equal(&dev.car, &dica.chr) || !refs_equal(&req.outer_car, &dev.chr))
        goto done;
    if ((rc = hsm_cvc_verify(&dica, root)) != HSM_OK)
        goto done;
    if ((rc = hsm_cvc_public_key(&dica, NID_brainpoolP256r1, &kdica)) != HSM_OK)
        goto done;
    if ((rc = hsm_cvc_verify(&dev, kdica)) != HSM_OK)
        goto done;
    if ((rc = hsm_cvc_public_key(&dev, NID_brainpoolP256r1, &kdev)) != HSM_OK)
        goto done;
    if ((rc = hsm_cvc_verify_outer(&req, kdev)) != HSM_OK)
        goto done;
    if ((rc = hsm_cvc_public_key(&req, 0, &kreq)) != HSM_OK)
        goto done;
    if ((rc = hsm_cvc_verify(&req, kreq)) != HSM_OK)
        goto done;
    if (device_chr != NULL)
        hsm_cvc_ref_string(&dev.chr, device_chr, cap);
done:
    EVP_PKEY_free(root);
    EVP_PKEY_free(kdica);
    EVP_PKEY_free(kdev);
    EVP_PKEY_free(kreq);
    return rc;
}

static int put_str(hsm_bytes *out, unsigned tag, const char *s)
{
    return hsm_tlv_put(out, tag, s, strlen(s));
}

int hsm_cvc_build_gakp(const hsm_gakp_params *p, hsm_bytes *out)
{
    if (p == NULL || p->chr == NULL || (p->ec_nid == 0 && p->rsa_bits == 0))
        return HSM_E_ARGS;
    size_t mark;
    hsm_tlv_put_u8(out, 0x5F29, 0x00);
    if (p->car != NULL)
        put_str(out, 0x42, p->car);
    hsm_tlv_open(out, 0x7F49, &mark);
    if (p->ec_nid != 0) {
        hsm_tlv_put(out, 0x06, HSM_OID_TA_ECDSA_SHA256, sizeof(HSM_OID_TA_ECDSA_SHA256));
        int rc = hsm_curve_put_params(p->ec_nid, out);
        if (rc != HSM_OK)
            return rc;
    } else {
        static const uint8_t e[3] = { 0x01, 0x00, 0x01 };
        uint8_t bits[2] = { (uint8_t)(p->rsa_bits >> 8), (uint8_t)p->rsa_bits };
        hsm_tlv_put(out, 0x06, HSM_OID_TA_RSA_V15_SHA256, sizeof(HSM_OID_TA_RSA_V15_SHA256));
        hsm_tlv_put(out, 0x82, e, sizeof(e));
        hsm_tlv_put(out, 0x02, bits, 2);
    }
    hsm_tlv_close(out, mark);
    put_str(out, 0x5F20, p->chr);
    if (p->outer_car != NULL)
        put_str(out, 0x45, p->outer_car);
    if (p->use_counter != 0) {
        uint8_t u[4] = { (uint8_t)(p->use_counter >> 24), (uint8_t)(p->use_counter >> 16),
                         (uint8_t)(p->use_counter >> 8), (uint8_t)p->use_counter };
        hsm_tlv_put(out, 0x90, u, 4);
    }
    if (p->algorithms != NULL && p->algorithms_len > 0)
        hsm_tlv_put(out, 0x91, p->algorithms, p->algorithms_len);
    if (p->key_domain >= 0)
        hsm_tlv_put_u8(out, 0x92, (uint8_t)p->key_domain);
    return out->oom ? HSM_E_MEM : HSM_OK;
}

static int put_param_bn(hsm_bytes *out, unsigned tag, EVP_PKEY *key, const char *name)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(key, name, &bn))
        return HSM_E_CRYPTO;
    int n = BN_num_bytes(bn);
    unsigned char *buf = OPENSSL_malloc(n > 0 ? (size_t)n : 1);
    int rc = HSM_E_MEM;
    if (buf != NULL) {
        BN_bn2bin(bn, buf);
        rc = hsm_tlv_put(out, tag, buf, (size_t)n);
        OPENSSL_free(buf);
    }
    BN_free(bn);
    return rc;
}

int hsm_cvc_put_pubkey(EVP_PKEY *key, const uint8_t *oid, size_t oid_len, int with_params, hsm_bytes *out)
{
    if (key == NULL || oid == NULL)
        return HSM_E_ARGS;
    size_t mark;
    int rc = HSM_OK;
    hsm_tlv_open(out, 0x7F49, &mark);
    hsm_tlv_put(out, 0x06, oid, oid_len);
    if (EVP_PKEY_is_a(key, "RSA")) {
        if ((rc = put_param_bn(out, 0x81, key, OSSL_PKEY_PARAM_RSA_N)) != HSM_OK
            || (rc = put_param_bn(out, 0x82, key, OSSL_PKEY_PARAM_RSA_E)) != HSM_OK)
            return rc;
    } else if (EVP_PKEY_is_a(key, "EC")) {
        unsigned char q[1 + 2 * 66];
        size_t qlen = 0;
        char name[64];
        if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, q, sizeof(q), &qlen)
            || !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), NULL))
            return HSM_E_CRYPTO;
        if (with_params) {
            hsm_bytes params = HSM_BYTES_INIT;
            rc = hsm_curve_put_params(OBJ_sn2nid(name), &params);
            const uint8_t *p = params.data, *end = params.data + params.len;
            hsm_tlv t;
            /* The card orders 81..85, 86 (public point), 87. */
            while (rc == HSM_OK && hsm_tlv_next(&p, end, &t) == 1) {
                if (t.tag == 0x87)
                    hsm_tlv_put(out, 0x86, q, qlen);
                hsm_bytes_put(out, t.raw, t.rawlen);
            }
            hsm_bytes_free(&params);
            if (rc != HSM_OK)
                return rc;
        } else {
            hsm_tlv_put(out, 0x86, q, qlen);
        }
    } else {
        return HSM_E_UNSUPPORTED;
    }
    hsm_tlv_close(out, mark);
    return out->oom ? HSM_E_MEM : HSM_OK;
}

int hsm_cvc_sign(EVP_PKEY *key, const uint8_t *data, size_t len, hsm_bytes *sig)
{
    if (key == NULL || sig == NULL)
        return HSM_E_ARGS;
    int rc = HSM_E_CRYPTO;
    size_t slen = 0;
    unsigned char *buf = NULL;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (mctx == NULL || EVP_DigestSignInit_ex(mctx, NULL, "SHA256", hsm_libctx(), NULL, key, NULL) <= 0
        || EVP_DigestSign(mctx, NULL, &slen, data, len) <= 0 || (buf = OPENSSL_malloc(slen)) == NULL
        || EVP_DigestSign(mctx, buf, &slen, data, len) <= 0)
        goto done;
    if (EVP_PKEY_is_a(key, "EC")) {
        const unsigned char *p = buf;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)slen);
        size_t fl = ec_field_bytes(key);
        unsigned char rs[2 * 66];
        if (es == NULL || fl > 66 || BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, (int)fl) < 0
            || BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + fl, (int)fl) < 0) {
            ECDSA_SIG_free(es);
            goto done;
        }
        ECDSA_SIG_free(es);
        rc = hsm_bytes_put(sig, rs, 2 * fl);
    } else {
        rc = hsm_bytes_put(sig, buf, slen);
    }
done:
    OPENSSL_free(buf);
    EVP_MD_CTX_free(mctx);
    return rc;
}

int hsm_cvc_put_signed(EVP_PKEY *key, unsigned tag, const uint8_t *tbs, size_t len, hsm_bytes *out)
{
    hsm_bytes sig = HSM_BYTES_INIT;
    size_t m;
    int rc = hsm_cvc_sign(key, tbs, len, &sig);
    if (rc == HSM_OK) {
        hsm_tlv_open(out, tag, &m);
        hsm_bytes_put(out, tbs, len);
        hsm_tlv_put(out, 0x5F37, sig.data, sig.len);
        rc = hsm_tlv_close(out, m);
    }
    hsm_bytes_free(&sig);
    return rc;
}

int hsm_cvc_build_cert(const char *car, EVP_PKEY *holder, int with_params, const char *chr,
                       uint8_t role, const uint8_t effective[6], const uint8_t expiry[6],
                       EVP_PKEY *signer, hsm_bytes *out)
{
    static const uint8_t role_oid[11] = { 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x03, 0x01, 0x01 };
    if (car == NULL || holder == NULL || chr == NULL || signer == NULL || out == NULL)
        return HSM_E_ARGS;
    const uint8_t *oid = EVP_PKEY_is_a(holder, "RSA") ? HSM_OID_TA_RSA_V15_SHA256 : HSM_OID_TA_ECDSA_SHA256;
    hsm_bytes body = HSM_BYTES_INIT;
    size_t m_body, m_chat;
    int rc;
    hsm_tlv_open(&body, 0x7F4E, &m_body);
    hsm_tlv_put_u8(&body, 0x5F29, 0x00);
    put_str(&body, 0x42, car);
    if ((rc = hsm_cvc_put_pubkey(holder, oid, 10, with_params, &body)) != HSM_OK)
        goto done;
    put_str(&body, 0x5F20, chr);
    hsm_tlv_open(&body, 0x7F4C, &m_chat);
    hsm_tlv_put(&body, 0x06, role_oid, sizeof(role_oid));
    hsm_tlv_put_u8(&body, 0x53, role);
    hsm_tlv_close(&body, m_chat);
    hsm_tlv_put(&body, 0x5F25, effective, 6);
    hsm_tlv_put(&body, 0x5F24, expiry, 6);
    if ((rc = hsm_tlv_close(&body, m_body)) == HSM_OK)
        rc = hsm_cvc_put_signed(signer, 0x7F21, body.data, body.len, out);
done:
    hsm_bytes_free(&body);
    return rc;
}
