/* SPDX-License-Identifier: Apache-2.0 */
/* The key-reference file body (docs/key-reference-files.md):
 *   SchsmKeyReference ::= SEQUENCE { version INTEGER (1), keyType UTF8String ("EC"|"RSA"),
 *                                    uri UTF8String }
 * It names a card key; it never holds key material or a PIN. */
#ifndef SCHSM_KEYREF_H
#define SCHSM_KEYREF_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/bytes.h"

#define SCHSM_KEYREF_VERSION 1
#define SCHSM_KEYREF_URI_MAX 4096

int schsm_keyref_encode(const char *key_type, const char *uri, hsm_bytes *out);
/* 1 and *uri (malloc'd) when buf is exactly one well-formed key reference; 0 otherwise. */
int schsm_keyref_decode(const uint8_t *buf, size_t len, char key_type[8], char **uri);

#endif
