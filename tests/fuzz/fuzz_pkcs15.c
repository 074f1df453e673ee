/* SPDX-License-Identifier: Apache-2.0 */
/* PKCS#15 descriptions (hsm/pkcs15.c): PRKD/SKD and CD decoding, and the round trip: what decodes
 * encodes to something that decodes to the same description. */
#include "fuzz.h"

#include "hsm/pkcs15.h"
#include "hsm/rv.h"

static void prkd(const uint8_t *data, size_t size)
{
    hsm_prkd d, e;
    if (hsm_prkd_decode(data, size, &d) != HSM_OK)
        return;
    FUZZ_CHECK(memchr(d.label, 0, sizeof(d.label)) != NULL, "label terminated");
    FUZZ_CHECK(d.id_len <= sizeof(d.id), "id length in bounds");
    hsm_bytes b = HSM_BYTES_INIT;
    if (d.type != HSM_KEY_NONE && hsm_prkd_encode(&d, &b) == HSM_OK) {
        FUZZ_CHECK(hsm_prkd_decode(b.data, b.len, &e) == HSM_OK, "encoded PRKD decodes");
        FUZZ_CHECK(e.type == d.type && strcmp(e.label, d.label) == 0 && e.id_len == d.id_len
                   && memcmp(e.id, d.id, d.id_len) == 0, "PRKD round trip keeps type, label and ID");
    }
    hsm_bytes_free(&b);
}

static void cd(const uint8_t *data, size_t size)
{
    hsm_cd d, e;
    if (hsm_cd_decode(data, size, &d) != HSM_OK)
        return;
    FUZZ_CHECK(memchr(d.label, 0, sizeof(d.label)) != NULL, "label terminated");
    FUZZ_CHECK(d.id_len <= sizeof(d.id), "id length in bounds");
    hsm_bytes b = HSM_BYTES_INIT;
    if (hsm_cd_encode(&d, &b) == HSM_OK) {
        FUZZ_CHECK(hsm_cd_decode(b.data, b.len, &e) == HSM_OK, "encoded CD decodes");
        FUZZ_CHECK(strcmp(e.label, d.label) == 0 && e.id_len == d.id_len && memcmp(e.id, d.id, d.id_len) == 0
                   && e.path_fid == d.path_fid && e.cvc == d.cvc, "CD round trip");
    }
    hsm_bytes_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prkd(data, size);
    cd(data, size);
    return 0;
}
