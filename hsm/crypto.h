/* SPDX-License-Identifier: Apache-2.0 */
/* Host-side crypto for hsm/ and sim/ runs in a private library context that holds only
 * OpenSSL's default provider. Whatever providers the application configured (schsm among
 * them, maybe first), nothing done here can loop back into schsm. */
#ifndef HSM_CRYPTO_H
#define HSM_CRYPTO_H

#include <openssl/crypto.h>

/* Created once per process; NULL only when OpenSSL itself fails. */
OSSL_LIB_CTX *hsm_libctx(void);

#endif
