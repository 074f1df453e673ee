/* SPDX-License-Identifier: Apache-2.0 */
/* The EC curves the SmartCard-HSM knows, and their explicit domain parameters as the card
 * wants them in GAKP data and CV requests (tags 81 p, 82 a, 83 b, 84 G, 85 n, 87 cofactor). */
#ifndef HSM_CURVES_H
#define HSM_CURVES_H

#include <stddef.h>

#include "hsm/bytes.h"

typedef struct {
    int nid;             /* OpenSSL NID */
    const char *name;    /* OpenSSL short name, e.g. "prime256v1" */
    const char *alias;   /* NIST or other common name, e.g. "P-256"; may be NULL */
    unsigned bits;       /* field size in bits */
} hsm_curve;

/* NULL when not supported by the card. Names match short name or alias, case-insensitively. */
const hsm_curve *hsm_curve_by_nid(int nid);
const hsm_curve *hsm_curve_by_name(const char *name);
/* The table, for listings; *n receives the count. */
const hsm_curve *hsm_curve_all(size_t *n);

/* Appends TLVs 81 p, 82 a, 83 b, 84 G (uncompressed), 85 n, 87 cofactor (leading zeros stripped). */
int hsm_curve_put_params(int nid, hsm_bytes *out);
/* Curve from prime p and coefficient a (big endian, leading zeros tolerated); 0 if unknown. */
int hsm_curve_identify(const unsigned char *p, size_t p_len, const unsigned char *a, size_t a_len);

#endif
