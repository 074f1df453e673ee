/* SPDX-License-Identifier: Apache-2.0 */
/* Writing schsm: URIs for card objects (docs/uri.md), for everyone who prints one: the provider's
 * formatter, schsm-tool list, and the messages that name candidates. Only writing: parsing a URI is
 * the provider's business (provider/uri.c). */
#ifndef HSM_URI_TEXT_H
#define HSM_URI_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/bytes.h"

/* Appends v, percent-encoding everything but RFC 3986 unreserved characters; keep_path also keeps
 * ':' and '/' (reader paths stay readable); all encodes every byte (key IDs). */
void hsm_uri_put_encoded(hsm_bytes *b, const uint8_t *v, size_t n, int keep_path, int all);

/* "schsm:[serial=S;]object=L;id=%..;type=T" (malloc'd, NULL on allocation failure). serial, label
 * and id may be absent (NULL / "" / id_len 0); type NULL for none ("private", "public", "cert"). */
char *hsm_object_uri(const char *serial, const char *label, const uint8_t *id, size_t id_len, const char *type);

#endif
