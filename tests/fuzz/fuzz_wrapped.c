/* SPDX-License-Identifier: Apache-2.0 */
/* sc-hsm-tool's wrapped-key file and the card's wrapped key blob header (hsm/dkek.c): parsing, and
 * the round trip file -> parts -> file -> the same parts. */
#include "fuzz.h"

#include "hsm/dkek.h"
#include "hsm/rv.h"

static int same(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hsm_wrapped_hdr h;
    if (hsm_wrapped_blob_header(data, size, &h) == HSM_OK) {
        FUZZ_CHECK(h.algs == NULL || (h.algs >= data && h.algs + h.algs_len <= data + size), "algs inside the blob");
        FUZZ_CHECK(h.algs != NULL || h.algs_len == 0, "no algs pointer without length");
    }
    hsm_wrapped_file f, g;
    if (hsm_wrapped_file_parse(data, size, &f) != HSM_OK)
        return 0;
    FUZZ_CHECK(f.blob != NULL && f.blob >= data && f.blob + f.blob_len <= data + size, "blob inside the file");
    FUZZ_CHECK(f.cert == NULL || f.prkd != NULL, "a certificate only after a PRKD");
    (void)hsm_wrapped_blob_header(f.blob, f.blob_len, &h);
    hsm_bytes b = HSM_BYTES_INIT;
    int rc = hsm_wrapped_file_build(f.blob, f.blob_len, f.prkd, f.prkd_len, f.cert, f.cert_len, &b);
    FUZZ_CHECK(rc == HSM_OK, "parts of a parsed file build a file");
    FUZZ_CHECK(hsm_wrapped_file_parse(b.data, b.len, &g) == HSM_OK, "built file parses");
    FUZZ_CHECK(same(f.blob, f.blob_len, g.blob, g.blob_len) && same(f.prkd, f.prkd_len, g.prkd, g.prkd_len)
               && same(f.cert, f.cert_len, g.cert, g.cert_len), "round trip keeps blob, PRKD and certificate");
    FUZZ_CHECK(b.len <= size, "the minimal encoding is never longer");
    hsm_bytes_free(&b);
    return 0;
}
