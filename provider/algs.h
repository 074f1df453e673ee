/* SPDX-License-Identifier: Apache-2.0 */
/* Algorithm tables of the key operations (defined in algs.c) and the dispatch tables behind them. */
#ifndef SCHSM_ALGS_H
#define SCHSM_ALGS_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

extern const OSSL_ALGORITHM schsm_keymgmt_algs[];
extern const OSSL_ALGORITHM schsm_signature_algs[];
extern const OSSL_ALGORITHM schsm_keyexch_algs[];
extern const OSSL_ALGORITHM schsm_asym_cipher_algs[];

extern const OSSL_DISPATCH schsm_ec_keymgmt_functions[];
extern const OSSL_DISPATCH schsm_rsa_keymgmt_functions[];
extern const OSSL_DISPATCH schsm_ecdsa_signature_functions[];
extern const OSSL_DISPATCH schsm_rsa_signature_functions[];
extern const OSSL_DISPATCH schsm_ecdh_keyexch_functions[];
extern const OSSL_DISPATCH schsm_rsa_asym_cipher_functions[];

/* OSSL_FUNC_PROVIDER_GET_CAPABILITIES (caps.c). */
int schsm_get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb, void *arg);

#endif
