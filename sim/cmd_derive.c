/* SPDX-License-Identifier: Apache-2.0 */
/* DERIVE EC KEY `80 76 P1 P2 Lc 98 <scalar>` (sheet 11.2): a new EC key in P2 on the curve of
 * key P1 with private value (d + scalar) mod n. The arithmetic is the open implementation's
 * (the reference card's is unconfirmed). The source key's algorithm list must allow 98; the
 * new key gets the source's key domain and no list. No response data. */
#include "sim/sim_int.h"

#include "hsm/crypto.h"
#include "hsm/curves.h"
#include "hsm/rv.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <string.h>

static EVP_PKEY *derive(EVP_PKEY *src, const uint8_t *scalar, size_t len)
{
    int nid = sim_ec_key_nid(src);
    const hsm_curve *cv = hsm_curve_by_nid(nid);
    EVP_PKEY *out = NULL;
    BN_CTX *bnctx = BN_CTX_new_ex(hsm_libctx());
    EC_GROUP *g = EC_GROUP_new_by_curve_name_ex(hsm_libctx(), NULL, nid);
    EC_POINT *q = g ? EC_POINT_new(g) : NULL;
    BIGNUM *d = NULL, *t = BN_bin2bn(scalar, (int)len, NULL), *nd = BN_secure_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    uint8_t pub[1 + 2 * 66];
    size_t publen;
    if (cv == NULL || bnctx == NULL || q == NULL || t == NULL || nd == NULL || bld == NULL
        || !EVP_PKEY_get_bn_param(src, OSSL_PKEY_PARAM_PRIV_KEY, &d)
        || !BN_mod_add(nd, d, t, EC_GROUP_get0_order(g), bnctx) || BN_is_zero(nd)
        || !EC_POINT_mul(g, q, nd, NULL, NULL, bnctx)
        || (publen = EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub), bnctx)) == 0)
        goto done;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, cv->name, 0)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, nd)
        || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen)
        || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL
        || (ctx = EVP_PKEY_CTX_new_from_name(hsm_libctx(), "EC", NULL)) == NULL
        || EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, &out, EVP_PKEY_KEYPAIR, params) <= 0)
        out = NULL;
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    BN_clear_free(t);
    BN_clear_free(nd);
    EC_POINT_free(q);
    EC_GROUP_free(g);
    BN_CTX_free(bnctx);
    return out;
}

uint16_t sim_cmd_derive_ec(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    (void)out;
    if (a->p1 == 0 || a->p2 == 0 || a->p1 == a->p2)
        return SW_BAD_P1P2;
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    sim_key *src = sim_key_find(c, a->p1);
    if (src == NULL)
        return SW_NOT_FOUND;
    if (src->type != SIM_KEY_EC || !sim_key_alg_allowed(src, 0x98))
        return SW_FUNC_NOT_SUPPORTED;
    if (src->has_counter && src->counter == 0)
        return SW_REF_UNUSABLE;
    if (a->lc < 2 || a->data[0] != 0x98 || a->lc - 1 > 66)
        return SW_BAD_DATA;
    EVP_PKEY *sk = sim_key_pkey(src);
    if (sk == NULL)
        return SW_INTERNAL;
    EVP_PKEY *nk = derive(sk, a->data + 1, a->lc - 1);
    if (nk == NULL)
        return SW_BAD_DATA;
    sim_key *old = sim_key_find(c, a->p2);
    size_t freed = old ? sim_key_cost(old->type, old->bits) : 0;
    if (sim_key_cost(SIM_KEY_EC, src->bits) > sim_mem_free(c) + freed) {
        EVP_PKEY_free(nk);
        return SW_NO_MEMORY;
    }
    uint8_t domain = src->domain;
    if (src->has_counter) {
        src->counter--;
    }
    /* src may move when the key array grows: nothing of it is used after this point */
    sim_key *k = sim_key_put(c, a->p2);
    if (k == NULL) {
        EVP_PKEY_free(nk);
        return SW_INTERNAL;
    }
    if (sim_key_store_pkey(k, nk) != HSM_OK) {
        sim_key_delete(c, a->p2);
        return SW_INTERNAL;
    }
    k->domain = domain;
    c->dirty |= SIM_CHANGED_PERSISTENT;
    return SW_OK;
}
