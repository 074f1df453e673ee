/* SPDX-License-Identifier: Apache-2.0 */
/* Key management shared by the EC and RSA tables (ec.c, rsa.c); type is HSM_KEY_EC/HSM_KEY_RSA. */
#ifndef SCHSM_KEYMGMT_H
#define SCHSM_KEYMGMT_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

void *schsm_km_new(void *provctx, int type);
void schsm_km_free(void *kd);
int schsm_km_has(const void *kd, int selection);
int schsm_km_match(const void *a, const void *b, int selection);
int schsm_km_import(void *kd, int selection, const OSSL_PARAM params[]);
int schsm_km_export(void *kd, int selection, OSSL_CALLBACK *cb, void *cbarg);
void *schsm_km_load(const void *reference, size_t size, int type);
int schsm_km_get_params(void *kd, OSSL_PARAM params[]);
int schsm_km_set_params(void *kd, const OSSL_PARAM params[]);
void *schsm_km_dup(const void *kd, int selection);
int schsm_km_validate(const void *kd, int selection, int checktype);

void *schsm_km_gen_init(void *provctx, int selection, const OSSL_PARAM params[], int type);
int schsm_km_gen_set_template(void *genctx, void *templ);
int schsm_km_gen_set_params(void *genctx, const OSSL_PARAM params[]);
void *schsm_km_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg);
void schsm_km_gen_cleanup(void *genctx);

/* Gen parameters that ask for a key on the card (both key types). */
#define SCHSM_GEN_LABEL "label"
#define SCHSM_GEN_ID "id"
#define SCHSM_GEN_READER "reader"
#define SCHSM_GEN_PIN_SOURCE "pin-source"
#define SCHSM_GEN_PIN_VALUE "pin-value"

/* The tails and heads of the EC and RSA parameter tables that both key types share. */
#define SCHSM_KM_GEN_SETTABLE_CARD                                                                     \
    OSSL_PARAM_utf8_string(SCHSM_GEN_LABEL, NULL, 0), OSSL_PARAM_octet_string(SCHSM_GEN_ID, NULL, 0),  \
        OSSL_PARAM_utf8_string(SCHSM_GEN_READER, NULL, 0),                                             \
        OSSL_PARAM_utf8_string(SCHSM_GEN_PIN_SOURCE, NULL, 0),                                         \
        OSSL_PARAM_utf8_string(SCHSM_GEN_PIN_VALUE, NULL, 0)
#define SCHSM_KM_GETTABLE_COMMON                                                                       \
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL), OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),   \
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),                                                \
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0)

/* The dispatch entries both key types take from keymgmt_common.c and keymgmt_gen.c. */
#define SCHSM_KM_COMMON_DISPATCH                                                                       \
    { OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))schsm_km_free },                                         \
        { OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))schsm_km_has },                                       \
        { OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))schsm_km_match },                                   \
        { OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))schsm_km_import },                                 \
        { OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))schsm_km_export },                                 \
        { OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))schsm_km_get_params },                         \
        { OSSL_FUNC_KEYMGMT_SET_PARAMS, (void (*)(void))schsm_km_set_params },                         \
        { OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))schsm_km_dup },                                       \
        { OSSL_FUNC_KEYMGMT_VALIDATE, (void (*)(void))schsm_km_validate },                             \
        { OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))schsm_km_gen_set_params },                 \
        { OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))schsm_km_gen },                                       \
        { OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))schsm_km_gen_cleanup }

#endif
