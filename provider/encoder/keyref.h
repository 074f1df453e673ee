/* SPDX-License-Identifier: Apache-2.0 */
/* The key-reference file body (docs/key-reference-files.md):
 *   SchsmKeyReference ::= SEQUENCE { version INTEGER (1 | 2), keyType UTF8String ("EC"|"RSA"),
 *                                    uri UTF8String,
 *                                    keyRef [0] IMPLICIT INTEGER (1..255) OPTIONAL,    -- version 2
 *                                    publicKey [1] EXPLICIT SubjectPublicKeyInfo OPTIONAL }
 * It names a card key; it never holds key material or a PIN. Version 2 also records where the key
 * lives and its public key, so that loading it needs no directory read (the public key checks every
 * signature on the host instead). */
#ifndef SCHSM_KEYREF_H
#define SCHSM_KEYREF_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/bytes.h"

#define SCHSM_KEYREF_VERSION 1
#define SCHSM_KEYREF_VERSION_RECORDED 2
#define SCHSM_KEYREF_URI_MAX 4096
#define SCHSM_KEYREF_SPKI_MAX 2048

typedef struct {
    char key_type[8];
    char *uri;                 /* malloc'd */
    int key_ref;               /* -1: not recorded (version 1) */
    uint8_t *spki;             /* malloc'd DER, NULL when not recorded */
    size_t spki_len;
} schsm_keyref;

/* Version 1 when key_ref < 0 or spki is NULL, else version 2. */
int schsm_keyref_encode_ex(const char *key_type, const char *uri, int key_ref, const uint8_t *spki,
                           size_t spki_len, hsm_bytes *out);
int schsm_keyref_encode(const char *key_type, const char *uri, hsm_bytes *out);
/* 1 and *r filled (free with schsm_keyref_clear) when buf is exactly one well-formed key
 * reference of version 1 or 2; 0 otherwise. */
int schsm_keyref_decode_ex(const uint8_t *buf, size_t len, schsm_keyref *r);
void schsm_keyref_clear(schsm_keyref *r);
/* The version 1 view: key type and URI only. */
int schsm_keyref_decode(const uint8_t *buf, size_t len, char key_type[8], char **uri);

#endif
