/* SPDX-License-Identifier: Apache-2.0 */
/* schsm: URIs (RFC 7512 style, see docs/uri.md):
 *   schsm:[attr=value[;attr=value...]][?qattr=value[&qattr=value...]]
 * path attributes reader, token, serial, object, id, type, pool; query attributes pin-source, pin-value.
 * Values are percent-decoded; unknown or repeated attributes are errors. */
#ifndef SCHSM_URI_H
#define SCHSM_URI_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/pkcs15.h"

enum schsm_uri_type {
    SCHSM_URI_ANY = 0,      /* no type attribute: keys, public keys and certificates */
    SCHSM_URI_PRIVATE,
    SCHSM_URI_PUBLIC,
    SCHSM_URI_CERT,
};

typedef struct {
    char *reader;           /* each NULL when absent; decoded, NUL-free */
    char *token;
    char *serial;
    char *object;
    uint8_t id[HSM_ID_MAX];
    size_t id_len;
    int has_id;
    int type;               /* enum schsm_uri_type */
    char *pool;             /* "yes", "no" or a pool name (see provider/pool.h) */
    char *pin_source;       /* "file:PATH" or "env:NAME" */
    char *pin_value;        /* secret: cleansed by schsm_uri_clear(), never formatted */
} schsm_uri;

/* Parses text into *u (which it zeroes first). Returns 1, or 0 with a message for people in err
 * (never containing the PIN). *u needs schsm_uri_clear() either way. */
int schsm_uri_parse(const char *text, schsm_uri *u, char *err, size_t err_len);
void schsm_uri_clear(schsm_uri *u);

/* Canonical text of u (attributes in a fixed order, values percent-encoded). pin-value is never
 * written; pin-source is. Returns a malloc'd string or NULL on allocation failure. */
char *schsm_uri_format(const schsm_uri *u);

/* URI naming a card key: serial and reader may be NULL; label may be NULL or "". */
char *schsm_uri_for_key(const char *reader, const char *serial, const char *label,
                        const uint8_t *id, size_t id_len);

/* Does the text start with the schsm: scheme? */
int schsm_uri_is_schsm(const char *text);

#endif
