/* SPDX-License-Identifier: Apache-2.0 */
/* CV certificates and requests (hsm/cvc.c): parsing, references, public keys, signature checks and
 * the attestation chain on arbitrary bytes. Input: the first part (fuzz_take framing) is tried as
 * EF 2F02 (device + DICA certificates) and as a single CVC; the rest as a request to attest. */
#include "fuzz.h"

#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "hsm/cvc.h"
#include "hsm/rv.h"

static void one_cvc(const uint8_t *buf, size_t len)
{
    hsm_cvc c;
    const uint8_t *rest = NULL;
    if (hsm_cvc_parse(buf, len, &c, &rest) != HSM_OK)
        return;
    FUZZ_CHECK(rest != NULL && rest >= buf && rest <= buf + len, "rest inside the buffer");
    char ref[40];
    hsm_cvc_ref_string(&c.chr, ref, sizeof(ref));
    FUZZ_CHECK(strlen(ref) < sizeof(ref), "reference string terminated");
    hsm_cvc_ref_string(&c.car, ref, sizeof(ref));
    (void)hsm_cvc_curve_nid(&c);
    EVP_PKEY *k = NULL;
    if (hsm_cvc_public_key(&c, NID_brainpoolP256r1, &k) == HSM_OK) {
        /* A self-signed certificate checks with its own key; others simply fail. */
        int rc = hsm_cvc_verify(&c, k);
        FUZZ_CHECK(rc == HSM_OK || rc == HSM_E_VERIFY || rc == HSM_E_PARSE || rc == HSM_E_UNSUPPORTED
                   || rc == HSM_E_CRYPTO, "verify result");
        if (c.authenticated)
            (void)hsm_cvc_verify_outer(&c, k);
        EVP_PKEY_free(k);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size, *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    one_cvc(data, size);
    if (!fuzz_take(&p, end, &a, &al))
        return 0;
    one_cvc(a, al);
    hsm_cvc dev, dica;
    (void)hsm_cvc_split_devcerts(a, al, &dev, &dica);
    b = p;
    bl = (size_t)(end - p);
    char chr[20];
    (void)hsm_cvc_verify_attestation(a, al, b, bl, chr, sizeof(chr));
    return 0;
}
