/* SPDX-License-Identifier: Apache-2.0 */
/* BER-TLV as used by ISO 7816-4 and the SmartCard-HSM: tags of one to three bytes
 * (written as they appear, e.g. 0x7F21), definite lengths of up to three bytes.
 * The one TLV helper for hsm/, sim/, the provider and the tool. Every read is bounds-checked. */
#ifndef HSM_TLV_H
#define HSM_TLV_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/bytes.h"

typedef struct {
    unsigned tag;
    const uint8_t *val;   /* points into the parsed buffer */
    size_t len;
    const uint8_t *raw;   /* the whole TLV: tag, length and value */
    size_t rawlen;
} hsm_tlv;

/* Reads one TLV at *p, not past end. Returns 1 and advances *p, 0 at end of input,
 * HSM_E_PARSE on a truncated or malformed TLV (indefinite length, tag > 3 bytes, length > 3 bytes). */
int hsm_tlv_next(const uint8_t **p, const uint8_t *end, hsm_tlv *out);

/* Parses exactly one TLV that must fill buf completely. */
int hsm_tlv_parse_one(const uint8_t *buf, size_t len, hsm_tlv *out);

/* Finds the first TLV with tag among the TLVs of buf (one level, no recursion).
 * Returns 1 found, 0 not found, HSM_E_PARSE when buf is not a clean TLV sequence. */
int hsm_tlv_find(const uint8_t *buf, size_t len, unsigned tag, hsm_tlv *out);

/* Is the tag constructed (bit 6 of its first byte)? */
int hsm_tlv_constructed(unsigned tag);

/* Writers. They append to b and return HSM_OK or HSM_E_MEM. */
int hsm_tlv_put_tag(hsm_bytes *b, unsigned tag);
int hsm_tlv_put_len(hsm_bytes *b, size_t len);
int hsm_tlv_put(hsm_bytes *b, unsigned tag, const void *val, size_t len);
int hsm_tlv_put_u8(hsm_bytes *b, unsigned tag, uint8_t v);

/* Nested writing: hsm_tlv_open() writes the tag and reserves room for the length;
 * hsm_tlv_close() fixes up the length once the content is known. */
int hsm_tlv_open(hsm_bytes *b, unsigned tag, size_t *mark);
int hsm_tlv_close(hsm_bytes *b, size_t mark);

/* Encoded size of a length field. */
size_t hsm_tlv_len_size(size_t len);

#endif
