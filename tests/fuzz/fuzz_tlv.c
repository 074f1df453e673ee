/* SPDX-License-Identifier: Apache-2.0 */
/* BER-TLV parser (hsm/tlv.c) and the FCP algorithm list (hsm/algs.c): every TLV read is in bounds, nested constructed TLVs parse to the end
 * or fail, and what parses writes back to a TLV that parses to the same tag and value. */
#include "fuzz.h"

#include "hsm/algs.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"

static void walk(const uint8_t *buf, size_t len, int depth)
{
    const uint8_t *p = buf, *end = buf + len;
    hsm_tlv t;
    int rc;
    while ((rc = hsm_tlv_next(&p, end, &t)) == 1) {
        FUZZ_CHECK(t.val >= buf && t.val + t.len <= end, "value inside the buffer");
        FUZZ_CHECK(t.raw >= buf && t.raw + t.rawlen <= end && t.raw + t.rawlen == t.val + t.len, "raw TLV consistent");
        hsm_bytes b = HSM_BYTES_INIT;
        if (hsm_tlv_put(&b, t.tag, t.val, t.len) == HSM_OK) {
            hsm_tlv u;
            FUZZ_CHECK(hsm_tlv_parse_one(b.data, b.len, &u) == HSM_OK, "written TLV parses");
            FUZZ_CHECK(u.tag == t.tag && u.len == t.len && (t.len == 0 || memcmp(u.val, t.val, t.len) == 0),
                       "round trip keeps tag and value");
            FUZZ_CHECK(b.len <= t.rawlen, "minimal encoding is never longer");
        }
        hsm_bytes_free(&b);
        if (hsm_tlv_constructed(t.tag) && depth < 16)
            walk(t.val, t.len, depth + 1);
    }
    FUZZ_CHECK(rc == 0 || rc == HSM_E_PARSE, "next returns 1, 0 or a parse error");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hsm_tlv t;
    walk(data, size, 0);
    if (hsm_tlv_parse_one(data, size, &t) == HSM_OK)
        FUZZ_CHECK(t.rawlen == size, "parse_one covers the whole buffer");
    /* The algorithm list in a key file's FCP (hsm/algs.c): a TLV reader of its own. */
    hsm_alg_list l;
    if (hsm_alg_list_from_fcp(data, size, &l) == HSM_OK)
        FUZZ_CHECK(l.n <= HSM_ALGS_MAX && (l.restricted || l.n == 0), "algorithm list in bounds");
    if (size > 0) {
        unsigned tag = data[0];
        (void)hsm_tlv_find(data + 1, size - 1, tag, &t);
    }
    return 0;
}
