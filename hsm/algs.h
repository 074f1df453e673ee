/* SPDX-License-Identifier: Apache-2.0 */
/* A key's algorithm list (meta data tag 91): the names people use for the card's algorithm ids,
 * shared by schsm-tool (keygen --algorithms, list) and the provider (pkey -text, refusals). */
#ifndef HSM_ALGS_H
#define HSM_ALGS_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/pkcs15.h"

#define HSM_ALGS_MAX 16   /* tag 91 holds at most 16 ids */

typedef struct {
    int known;                 /* the list was read (SELECT of the key file) */
    int restricted;            /* tag 91 present: only ids[] are allowed */
    uint8_t ids[HSM_ALGS_MAX];
    size_t n;
} hsm_alg_list;

/* The name shown for an algorithm id ("ecdsa-sha256"), NULL when the id has none. */
const char *hsm_alg_name(uint8_t id);
/* Parses "ecdsa,ecdh,0x92" (names, aliases, hex bytes) into ids for a key of type (HSM_KEY_NONE:
 * no type check). Duplicates are dropped. why says what is wrong. */
int hsm_alg_parse_list(const char *list, enum hsm_key_type type, uint8_t out[HSM_ALGS_MAX], size_t *n,
                       char *why, size_t why_len);
/* "ecdsa-sha256, ecdh" (unknown ids as hex, e.g. "5a"); "" for an empty list. */
void hsm_alg_list_text(const uint8_t *ids, size_t n, char *buf, size_t cap);
/* "73 80": the raw bytes as hex separated by spaces. */
void hsm_alg_list_hex(const uint8_t *ids, size_t n, char *buf, size_t cap);
/* Does the list allow id? (An unrestricted or unknown list allows everything.) */
int hsm_alg_list_allows(const hsm_alg_list *l, uint8_t id);
/* The algorithm list in the FCP a SELECT of a key file (CCnn) answers: tag 91 inside the
 * proprietary A5 (or, leniently, directly in 62). No 91 = unrestricted. */
int hsm_alg_list_from_fcp(const uint8_t *fcp, size_t len, hsm_alg_list *out);

#endif
