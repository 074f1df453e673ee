/* SPDX-License-Identifier: Apache-2.0 */
#include "hsm/ecsig.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"

#include <string.h>

#define EC_INT_MAX 66   /* P-521 */

/* One unsigned integer value, leading zeros removed. */
typedef struct {
    const uint8_t *p;
    size_t n;
} uint_view;

static int parse_int(const hsm_tlv *t, uint_view *v)
{
    if (t->tag != 0x02 || t->len == 0)
        return HSM_E_PARSE;
    const uint8_t *p = t->val;
    size_t n = t->len;
    while (n > 0 && *p == 0) {
        p++;
        n--;
    }
    if (n == 0 || n > EC_INT_MAX)
        return HSM_E_PARSE;
    v->p = p;
    v->n = n;
    return HSM_OK;
}

static int parse_sig(const uint8_t *in, size_t len, uint_view *r, uint_view *s)
{
    hsm_tlv seq, ti;
    if (in == NULL || hsm_tlv_parse_one(in, len, &seq) != HSM_OK || seq.tag != 0x30)
        return HSM_E_PARSE;
    const uint8_t *p = seq.val, *end = seq.val + seq.len;
    if (hsm_tlv_next(&p, end, &ti) != 1 || parse_int(&ti, r) != HSM_OK)
        return HSM_E_PARSE;
    if (hsm_tlv_next(&p, end, &ti) != 1 || parse_int(&ti, s) != HSM_OK)
        return HSM_E_PARSE;
    return p == end ? HSM_OK : HSM_E_PARSE;
}

static void put_int(hsm_bytes *b, const uint_view *v)
{
    hsm_tlv_put_tag(b, 0x02);
    int pad = (v->p[0] & 0x80) != 0;
    hsm_tlv_put_len(b, v->n + (size_t)pad);
    if (pad)
        hsm_bytes_put_u8(b, 0);
    hsm_bytes_put(b, v->p, v->n);
}

static int encode(const uint_view *r, const uint_view *s, hsm_bytes *out)
{
    size_t mark;
    hsm_bytes_clear(out);
    hsm_tlv_open(out, 0x30, &mark);
    put_int(out, r);
    put_int(out, s);
    return hsm_tlv_close(out, mark);
}

int hsm_ecdsa_der_normalize(const uint8_t *in, size_t len, hsm_bytes *der_out)
{
    uint_view r, s;
    if (parse_sig(in, len, &r, &s) != HSM_OK)
        return HSM_E_PARSE;
    return encode(&r, &s, der_out);
}

int hsm_ecdsa_der_to_plain(const uint8_t *in, size_t len, size_t field_len, hsm_bytes *out)
{
    uint_view r, s;
    if (parse_sig(in, len, &r, &s) != HSM_OK || field_len == 0 || r.n > field_len || s.n > field_len)
        return HSM_E_PARSE;
    hsm_bytes_clear(out);
    if (hsm_bytes_reserve(out, 2 * field_len) != HSM_OK)
        return HSM_E_MEM;
    memset(out->data, 0, 2 * field_len);
    memcpy(out->data + field_len - r.n, r.p, r.n);
    memcpy(out->data + 2 * field_len - s.n, s.p, s.n);
    out->len = 2 * field_len;
    return HSM_OK;
}

int hsm_ecdsa_plain_to_der(const uint8_t *in, size_t len, hsm_bytes *out)
{
    if (in == NULL || len == 0 || (len & 1) || len / 2 > EC_INT_MAX)
        return HSM_E_PARSE;
    size_t h = len / 2;
    uint_view r = { in, h }, s = { in + h, h };
    while (r.n > 0 && *r.p == 0) {
        r.p++;
        r.n--;
    }
    while (s.n > 0 && *s.p == 0) {
        s.p++;
        s.n--;
    }
    if (r.n == 0 || s.n == 0)
        return HSM_E_PARSE;
    return encode(&r, &s, out);
}

size_t hsm_ecdsa_field_len(unsigned bits)
{
    return (bits + 7) / 8;
}
