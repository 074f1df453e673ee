/* SPDX-License-Identifier: Apache-2.0 */
#include "hsm/tlv.h"
#include "hsm/rv.h"

#include <string.h>

int hsm_tlv_constructed(unsigned tag)
{
    unsigned first = tag;
    while (first > 0xFF)
        first >>= 8;
    return (first & 0x20) != 0;
}

int hsm_tlv_next(const uint8_t **p, const uint8_t *end, hsm_tlv *out)
{
    const uint8_t *s = *p;
    if (s >= end)
        return 0;
    const uint8_t *start = s;
    unsigned tag = *s++;
    if ((tag & 0x1F) == 0x1F) {
        /* Multi-byte tag: continuation bytes have bit 8 set; we allow three bytes in all. */
        int n = 0;
        do {
            if (s >= end || ++n > 2)
                return HSM_E_PARSE;
            tag = (tag << 8) | *s;
        } while (*s++ & 0x80);
    }
    if (s >= end)
        return HSM_E_PARSE;
    size_t len = *s++;
    if (len & 0x80) {
        size_t nbytes = len & 0x7F;
        if (nbytes == 0 || nbytes > 3 || (size_t)(end - s) < nbytes)
            return HSM_E_PARSE;
        len = 0;
        for (size_t i = 0; i < nbytes; i++)
            len = (len << 8) | *s++;
    }
    if ((size_t)(end - s) < len)
        return HSM_E_PARSE;
    out->tag = tag;
    out->val = s;
    out->len = len;
    out->raw = start;
    out->rawlen = (size_t)(s - start) + len;
    *p = s + len;
    return 1;
}

int hsm_tlv_parse_one(const uint8_t *buf, size_t len, hsm_tlv *out)
{
    /* Empty input (a bare 9000 has no data buffer at all, buf == NULL): no TLV, and no
     * arithmetic on a null pointer. */
    if (buf == NULL || len == 0)
        return HSM_E_PARSE;
    const uint8_t *p = buf;
    int rc = hsm_tlv_next(&p, buf + len, out);
    if (rc != 1)
        return HSM_E_PARSE;
    return p == buf + len ? HSM_OK : HSM_E_PARSE;
}

int hsm_tlv_find(const uint8_t *buf, size_t len, unsigned tag, hsm_tlv *out)
{
    if (buf == NULL || len == 0)
        return 0;   /* an empty sequence holds nothing; buf may be NULL */
    const uint8_t *p = buf, *end = buf + len;
    hsm_tlv t;
    int rc;
    while ((rc = hsm_tlv_next(&p, end, &t)) == 1) {
        if (t.tag == tag) {
            *out = t;
            return 1;
        }
    }
    return rc;
}

int hsm_tlv_put_tag(hsm_bytes *b, unsigned tag)
{
    if (tag > 0xFFFF)
        hsm_bytes_put_u8(b, (uint8_t)(tag >> 16));
    if (tag > 0xFF)
        hsm_bytes_put_u8(b, (uint8_t)(tag >> 8));
    return hsm_bytes_put_u8(b, (uint8_t)tag);
}

size_t hsm_tlv_len_size(size_t len)
{
    return len < 0x80 ? 1 : len <= 0xFF ? 2 : len <= 0xFFFF ? 3 : 4;
}

int hsm_tlv_put_len(hsm_bytes *b, size_t len)
{
    if (len > 0xFFFFFF)
        return HSM_E_ARGS;
    if (len < 0x80)
        return hsm_bytes_put_u8(b, (uint8_t)len);
    if (len <= 0xFF) {
        hsm_bytes_put_u8(b, 0x81);
        return hsm_bytes_put_u8(b, (uint8_t)len);
    }
    if (len <= 0xFFFF) {
        hsm_bytes_put_u8(b, 0x82);
        return hsm_bytes_put_u16(b, (uint16_t)len);
    }
    hsm_bytes_put_u8(b, 0x83);
    hsm_bytes_put_u8(b, (uint8_t)(len >> 16));
    return hsm_bytes_put_u16(b, (uint16_t)len);
}

int hsm_tlv_put(hsm_bytes *b, unsigned tag, const void *val, size_t len)
{
    hsm_tlv_put_tag(b, tag);
    int rc = hsm_tlv_put_len(b, len);
    if (rc != HSM_OK)
        return rc;
    return hsm_bytes_put(b, val, len);
}

int hsm_tlv_put_u8(hsm_bytes *b, unsigned tag, uint8_t v)
{
    return hsm_tlv_put(b, tag, &v, 1);
}

int hsm_tlv_open(hsm_bytes *b, unsigned tag, size_t *mark)
{
    hsm_tlv_put_tag(b, tag);
    int rc = hsm_bytes_put_u8(b, 0);   /* placeholder, widened on close if needed */
    *mark = b->len;
    return rc;
}

int hsm_tlv_close(hsm_bytes *b, size_t mark)
{
    if (b->oom)
        return HSM_E_MEM;
    if (mark == 0 || mark > b->len)
        return HSM_E_ARGS;
    size_t len = b->len - mark;
    size_t lsize = hsm_tlv_len_size(len);
    if (len > 0xFFFFFF)
        return HSM_E_ARGS;
    if (lsize > 1) {
        if (hsm_bytes_reserve(b, lsize - 1) != HSM_OK)
            return HSM_E_MEM;
        memmove(b->data + mark + lsize - 1, b->data + mark, len);
        b->len += lsize - 1;
    }
    uint8_t *l = b->data + mark - 1;
    if (lsize == 1) {
        l[0] = (uint8_t)len;
    } else {
        l[0] = (uint8_t)(0x80 | (lsize - 1));
        for (size_t i = 1; i < lsize; i++)
            l[i] = (uint8_t)(len >> (8 * (lsize - 1 - i)));
    }
    return HSM_OK;
}
