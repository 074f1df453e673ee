/* SPDX-License-Identifier: Apache-2.0 */
/* Encoders (SubjectPublicKeyInfo DER/PEM, text, key-reference PEM) and the key-reference decoders
 * for schsm EC and RSA keys. Tables are terminated by an all-NULL entry. */
#ifndef SCHSM_ENCODERS_H
#define SCHSM_ENCODERS_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

extern const OSSL_ALGORITHM schsm_encoders[];
extern const OSSL_ALGORITHM schsm_decoders[];

/* PEM label of a key-reference file; the body is DER of
 * KeyReference ::= SEQUENCE { version INTEGER (1), uri UTF8String }. */
#define SCHSM_KEYREF_PEM_NAME "SCHSM KEY REFERENCE"
/* Decoder input structure name for the DER form. */
#define SCHSM_KEYREF_STRUCTURE "SchsmKeyReference"

#endif
