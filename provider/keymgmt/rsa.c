/* SPDX-License-Identifier: Apache-2.0 */
/* RSA key management table. */
#include "keymgmt.h"
#include "algs.h"
#include "hsm/pkcs15.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

static void *rsa_new(void *provctx) { return schsm_km_new(provctx, HSM_KEY_RSA); }
static void *rsa_load(const void *ref, size_t size) { return schsm_km_load(ref, size, HSM_KEY_RSA); }
static void *rsa_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return schsm_km_gen_init(provctx, selection, params, HSM_KEY_RSA);
}

static const OSSL_PARAM rsa_gen_settable[] = {
    OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_BITS, NULL),
    OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_PRIMES, NULL),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
    SCHSM_KM_GEN_SETTABLE_CARD,
    OSSL_PARAM_END,
};
static const OSSL_PARAM *rsa_gen_settable_params(void *genctx, void *provctx) { return rsa_gen_settable; }

static const OSSL_PARAM rsa_gettable[] = {
    SCHSM_KM_GETTABLE_COMMON,
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
    OSSL_PARAM_END,
};
static const OSSL_PARAM *rsa_gettable_params(void *provctx) { return rsa_gettable; }

static const OSSL_PARAM rsa_settable[] = { OSSL_PARAM_END };
static const OSSL_PARAM *rsa_settable_params(void *provctx) { return rsa_settable; }

static const OSSL_PARAM rsa_io_types[] = {
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
    OSSL_PARAM_END,
};
static const OSSL_PARAM *rsa_io_types_fn(int selection) { return rsa_io_types; }

const OSSL_DISPATCH schsm_rsa_keymgmt_functions[] = {
    { OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))rsa_new },
    SCHSM_KM_COMMON_DISPATCH,
    { OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))rsa_load },
    { OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))rsa_io_types_fn },
    { OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))rsa_io_types_fn },
    { OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))rsa_gettable_params },
    { OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, (void (*)(void))rsa_settable_params },
    { OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))rsa_gen_init },
    { OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))rsa_gen_settable_params },
    { 0, NULL },
};
