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

#endif
