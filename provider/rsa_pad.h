/* SPDX-License-Identifier: Apache-2.0 */
/* The RSA padding-mode parameter, shared by the signature and asymmetric-cipher operations:
 * OpenSSL passes it either as an integer (RSA_*_PADDING) or as a name ("pkcs1", "pss", ...). */
#ifndef SCHSM_RSA_PAD_H
#define SCHSM_RSA_PAD_H

#include <openssl/core.h>

/* Reads p into *pad (-1 for a name we don't know). Returns 0 only when p is malformed. */
int schsm_rsa_pad_get(const OSSL_PARAM *p, int *pad);
/* Writes pad into p in the form p asks for. */
int schsm_rsa_pad_set(OSSL_PARAM *p, int pad);

#endif
