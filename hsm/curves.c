/* SPDX-License-Identifier: Apache-2.0 */
/* The SmartCard-HSM curve table. Domain parameters come from OpenSSL's own curve definitions
 * (in hsm_libctx), so nothing here can drift from the numbers OpenSSL verifies with. */
#include "hsm/curves.h"
#include "hsm/crypto.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <strings.h>
#include <string.h>

static const hsm_curve curves[] = {
    { NID_X9_62_prime192v1, "prime192v1", "P-192", 192 },
    { NID_secp224r1, "secp224r1", "P-224", 224 },
    { NID_X9_62_prime256v1, "prime256v1", "P-256", 256 },
    { NID_secp384r1, "secp384r1", "P-384", 384 },
    { NID_secp521r1, "secp521r1", "P-521", 521 },
    { NID_brainpoolP192r1, "brainpoolP192r1", NULL, 192 },
    { NID_brainpoolP224r1, "brainpoolP224r1", NULL, 224 },
    { NID_brainpoolP256r1, "brainpoolP256r1", NULL, 256 },
    { NID_brainpoolP320r1, "brainpoolP320r1", NULL, 320 },
    { NID_brainpoolP384r1, "brainpoolP384r1", NULL, 384 },
    { NID_brainpoolP512r1, "brainpoolP512r1", NULL, 512 },
    { NID_brainpoolP192t1, "brainpoolP192t1", NULL, 192 },
    { NID_brainpoolP224t1, "brainpoolP224t1", NULL, 224 },
    { NID_brainpoolP256t1, "brainpoolP256t1", NULL, 256 },
    { NID_brainpoolP320t1, "brainpoolP320t1", NULL, 320 },
    { NID_brainpoolP384t1, "brainpoolP384t1", NULL, 384 },
    { NID_brainpoolP512t1, "brainpoolP512t1", NULL, 512 },
    { NID_secp192k1, "secp192k1", NULL, 192 },
    { NID_secp256k1, "secp256k1", NULL, 256 },
};

#define NCURVES (sizeof(curves) / sizeof(curves[0]))

const hsm_curve *hsm_curve_all(size_t *n)
{
    *n = NCURVES;
    return curves;
}

const hsm_curve *hsm_curve_by_nid(int nid)
{
    for (size_t i = 0; i < NCURVES; i++)
        if (curves[i].nid == nid)
            return &curves[i];
    return NULL;
}

const hsm_curve *hsm_curve_by_name(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < NCURVES; i++) {
        if (strcasecmp(curves[i].name, name) == 0
            || (curves[i].alias != NULL && strcasecmp(curves[i].alias, name) == 0))
            return &curves[i];
    }
    /* OpenSSL also knows P-256 etc. as secp256r1 / secp192r1. */
    if (strcasecmp(name, "secp256r1") == 0)
        return hsm_curve_by_nid(NID_X9_62_prime256v1);
    if (strcasecmp(name, "secp192r1") == 0)
        return hsm_curve_by_nid(NID_X9_62_prime192v1);
    return NULL;
}

/* Appends tag || len || value with the value as a big-endian number of exactly width bytes
 * (width 0 = minimal, at least one byte). */
static int put_bn(hsm_bytes *out, unsigned tag, const BIGNUM *bn, int width)
{
    unsigned char buf[80];
    int n = width > 0 ? width : BN_num_bytes(bn);
    if (n <= 0)
        n = 1;
    if (n > (int)sizeof(buf) || BN_bn2binpad(bn, buf, n) < 0)
        return HSM_E_CRYPTO;
    return hsm_tlv_put(out, tag, buf, (size_t)n);
}

int hsm_curve_put_params(int nid, hsm_bytes *out)
{
    if (hsm_curve_by_nid(nid) == NULL)
        return HSM_E_UNSUPPORTED;
    int rc = HSM_E_CRYPTO;
    BN_CTX *bnctx = BN_CTX_new_ex(hsm_libctx());
    EC_GROUP *g = EC_GROUP_new_by_curve_name_ex(hsm_libctx(), NULL, nid);
    BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new();
    unsigned char gbuf[1 + 2 * 66];
    if (bnctx == NULL || g == NULL || p == NULL || a == NULL || b == NULL)
        goto done;
    if (!EC_GROUP_get_curve(g, p, a, b, bnctx))
        goto done;
    int flen = BN_num_bytes(p);
    size_t glen = EC_POINT_point2oct(g, EC_GROUP_get0_generator(g), POINT_CONVERSION_UNCOMPRESSED,
                                     gbuf, sizeof(gbuf), bnctx);
    if (glen == 0)
        goto done;
    if ((rc = put_bn(out, 0x81, p, flen)) != HSM_OK || (rc = put_bn(out, 0x82, a, flen)) != HSM_OK
        || (rc = put_bn(out, 0x83, b, flen)) != HSM_OK
        || (rc = hsm_tlv_put(out, 0x84, gbuf, glen)) != HSM_OK
        || (rc = put_bn(out, 0x85, EC_GROUP_get0_order(g), 0)) != HSM_OK
        || (rc = put_bn(out, 0x87, EC_GROUP_get0_cofactor(g), 0)) != HSM_OK)
        goto done;
    rc = out->oom ? HSM_E_MEM : HSM_OK;
done:
    BN_free(p);
    BN_free(a);
    BN_free(b);
    EC_GROUP_free(g);
    BN_CTX_free(bnctx);
    return rc;
}

static void strip(const unsigned char **v, size_t *len)
{
    while (*len > 1 && **v == 0) {
        (*v)++;
        (*len)--;
    }
}

int hsm_curve_identify(const unsigned char *p, size_t p_len, const unsigned char *a, size_t a_len)
{
    if (p == NULL || a == NULL || p_len == 0 || a_len == 0 || p_len > 80 || a_len > 80)
        return 0;
    strip(&p, &p_len);
    strip(&a, &a_len);
    int found = 0;
    BN_CTX *bnctx = BN_CTX_new_ex(hsm_libctx());
    BIGNUM *cp = BN_new(), *ca = BN_new(), *cb = BN_new();
    BIGNUM *ip = BN_bin2bn(p, (int)p_len, NULL), *ia = BN_bin2bn(a, (int)a_len, NULL);
    if (bnctx == NULL || cp == NULL || ca == NULL || cb == NULL || ip == NULL || ia == NULL)
        goto done;
    for (size_t i = 0; i < NCURVES && !found; i++) {
        EC_GROUP *g = EC_GROUP_new_by_curve_name_ex(hsm_libctx(), NULL, curves[i].nid);
        if (g == NULL)
            continue;
        if (EC_GROUP_get_curve(g, cp, ca, cb, bnctx) && BN_cmp(cp, ip) == 0 && BN_cmp(ca, ia) == 0)
            found = curves[i].nid;
        EC_GROUP_free(g);
    }
done:
    BN_free(cp);
    BN_free(ca);
    BN_free(cb);
    BN_free(ip);
    BN_free(ia);
    BN_CTX_free(bnctx);
    return found;
}
