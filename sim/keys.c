/* SPDX-License-Identifier: Apache-2.0 */
/* Key generation and private-key storage for the virtual card (libcrypto in hsm_libctx). */
#include "sim/sim_int.h"

#include "hsm/crypto.h"
#include "hsm/curves.h"
#include "hsm/rv.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

int sim_ec_key_nid(EVP_PKEY *pkey)
{
    char name[64];
    if (pkey == NULL || !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), NULL))
        return 0;
    return OBJ_sn2nid(name);
}

int sim_keygen_ec(int nid, EVP_PKEY **out)
{
    const hsm_curve *cv = hsm_curve_by_nid(nid);
    if (cv == NULL)
        return HSM_E_UNSUPPORTED;
    *out = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(hsm_libctx(), "EC", NULL);
    int ok = ctx != NULL && EVP_PKEY_keygen_init(ctx) > 0
             && EVP_PKEY_CTX_set_group_name(ctx, cv->name) > 0 && EVP_PKEY_keygen(ctx, out) > 0;
    EVP_PKEY_CTX_free(ctx);
    return ok ? HSM_OK : HSM_E_CRYPTO;
}

int sim_keygen_rsa(unsigned bits, const uint8_t *e, size_t elen, EVP_PKEY **out)
{
    *out = NULL;
    BIGNUM *be = BN_bin2bn(e, (int)elen, NULL);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(hsm_libctx(), "RSA", NULL);
    int ok = be != NULL && ctx != NULL && EVP_PKEY_keygen_init(ctx) > 0
             && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) > 0
             && EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, be) > 0 && EVP_PKEY_keygen(ctx, out) > 0;
    EVP_PKEY_CTX_free(ctx);
    BN_free(be);
    return ok ? HSM_OK : HSM_E_CRYPTO;
}

int sim_key_store_pkey(sim_key *k, EVP_PKEY *pkey)
{
    unsigned char *der = NULL;
    int n = i2d_PrivateKey(pkey, &der);
    if (n <= 0) {
        EVP_PKEY_free(pkey);
        return HSM_E_CRYPTO;
    }
    hsm_bytes_set(&k->priv, der, (size_t)n);
    OPENSSL_clear_free(der, (size_t)n);
    EVP_PKEY_free(k->pkey);
    k->pkey = pkey;
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        k->type = SIM_KEY_RSA;
        k->bits = (unsigned)EVP_PKEY_get_bits(pkey);
    } else {
        const hsm_curve *cv = hsm_curve_by_nid(sim_ec_key_nid(pkey));
        k->type = SIM_KEY_EC;
        k->bits = cv ? cv->bits : (unsigned)EVP_PKEY_get_bits(pkey);
    }
    return k->priv.oom ? HSM_E_MEM : HSM_OK;
}
