/* SPDX-License-Identifier: Apache-2.0 */
/* Command APDUs in short and extended form (ISO 7816-3/4 cases 1 to 4). */
#ifndef HSM_APDU_H
#define HSM_APDU_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/bytes.h"

#define HSM_LE_MAX 65536   /* extended Le 00 00 means "up to 65536 bytes" */
#define HSM_APDU_MAX (4 + 3 + 65535 + 3)

typedef struct {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data;   /* command data, lc bytes */
    size_t lc;             /* 0..65535 */
    size_t le;             /* 0 = no Le field; 1..65536 = expected length */
} hsm_apdu;

enum hsm_apdu_form {
    HSM_APDU_AUTO = 0,     /* short when it fits, extended otherwise */
    HSM_APDU_EXTENDED = 1, /* always extended (when there is an Lc or Le at all) */
};

/* Encodes into out; returns HSM_OK or HSM_E_ARGS when lc/le are out of range. */
int hsm_apdu_encode(const hsm_apdu *a, enum hsm_apdu_form form, hsm_bytes *out);

/* Parses a command APDU (the card side). data points into buf (at its end when there is no data:
 * never NULL, so data + lc is always defined). Sets *extended.
 * Returns HSM_OK, or HSM_E_PARSE when the length fields contradict the size (the card answers 6700). */
int hsm_apdu_parse(const uint8_t *buf, size_t len, hsm_apdu *out, int *extended);

#endif
