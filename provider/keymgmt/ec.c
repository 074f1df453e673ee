/* SPDX-License-Identifier: Apache-2.0 */
/* EC key management table. */
#include "keymgmt.h"
#include "algs.h"
#include "hsm/pkcs15.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

static void *ec_new(void *provctx) { return schsm_km_new(provctx, HSM_KEY_EC); }
static void *ec_load(const void *ref, size_t size) { return schsm_km_load(ref, size, HSM_KEY_EC); }
static void *ec_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return schsm_km_gen_init(provctx, selection, params, HSM_KEY_EC);
}

static const char *ec_query_operation_name(int operation_id)
{
    switch (operation_id) {
    case OSSL_OP_SIGNATURE: return "ECDSA";
    case OSSL_OP_KEYEXCH: return "ECDH";
    default: return NULL;
    }
}

static const OSSL_PARAM ec_gen_settable[] = {
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
    SCHSM_KM_GEN_SETTABLE_CARD,
    OSSL_PARAM_END,
};
static const OSSL_PARAM *ec_gen_settable_params(void *genctx, void *provctx) { return ec_gen_settable; }

static const OSSL_PARAM ec_gettable[] = {
    SCHSM_KM_GETTABLE_COMMON,
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_X, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_Y, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_FIELD_TYPE, NULL, 0),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_EC_DECODED_FROM_EXPLICIT_PARAMS, NULL),
    OSSL_PARAM_END,
};
static const OSSL_PARAM *ec_gettable_params(void *provctx) { return ec_gettable; }

static const OSSL_PARAM ec_settable[] = {
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
    OSSL_PARAM_END,
};
static const OSSL_PARAM *ec_settable_params(void *provctx) { return ec_settable; }

static const OSSL_PARAM ec_io_types[] = {
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_END,
};
static const OSSL_PARAM *ec_io_types_fn(int selection) { return ec_io_types; }

const OSSL_DISPATCH schsm_ec_keymgmt_functions[] = {
    { OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))ec_new },
    SCHSM_KM_COMMON_DISPATCH,
    { OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))ec_load },
    { OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))ec_io_types_fn },
    { OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))ec_io_types_fn },
    { OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))ec_gettable_params },
    { OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, (void (*)(void))ec_settable_params },
    { OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))ec_gen_init },
    { OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE, (void (*)(void))schsm_km_gen_set_template },
    { OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))ec_gen_settable_params },
    { OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))ec_query_operation_name },
    { 0, NULL },
};
