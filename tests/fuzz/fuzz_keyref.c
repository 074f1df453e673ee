/* SPDX-License-Identifier: Apache-2.0 */
/* Key-reference file body (provider/encoder/keyref.c): decoding arbitrary DER, and the round trip
 * decode -> encode -> decode; the URI inside goes through the URI parser as the decoder's caller
 * does. */
#include "fuzz.h"

#include "encoder/keyref.h"
#include "hsm/rv.h"
#include "uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char kt[8], kt2[8];
    char *uri = NULL, *uri2 = NULL;
    if (!schsm_keyref_decode(data, size, kt, &uri)) {
        FUZZ_CHECK(uri == NULL, "no URI on failure");
        return 0;
    }
    FUZZ_CHECK(uri != NULL && strlen(kt) < 8, "decoded fields");
    hsm_bytes b = HSM_BYTES_INIT;
    FUZZ_CHECK(schsm_keyref_encode(kt, uri, &b) && !b.oom, "a decoded reference encodes");
    FUZZ_CHECK(schsm_keyref_decode(b.data, b.len, kt2, &uri2), "the encoding decodes");
    FUZZ_CHECK(strcmp(kt, kt2) == 0 && strcmp(uri, uri2) == 0, "round trip keeps key type and URI");
    FUZZ_CHECK(b.len <= size, "the minimal encoding is never longer");
    schsm_uri u;
    char err[256];
    (void)schsm_uri_parse(uri, &u, err, sizeof(err));
    schsm_uri_clear(&u);
    hsm_bytes_free(&b);
    free(uri);
    free(uri2);
    return 0;
}
