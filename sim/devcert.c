/* SPDX-License-Identifier: Apache-2.0 */
/* Production of a virtual card: a fresh brainpoolP256r1 device key (CC00) and EF 2F02 =
 * device CV certificate || DICA certificate, issued under the in-tree TEST hierarchy
 * (sim/certs/: root UTSRCACC100001 -> DICA UTDICA0100001; TEST ONLY).
 * Device CHR = "DESM" + 7 random digits + "00000" (16 characters), so the serial that hosts
 * derive (CHR minus its last 5 characters) looks like a Nitrokey's: e.g. DESM0412345. */
#include "sim/sim_int.h"

#include "hsm/crypto.h"
#include "hsm/cvc.h"
#include "hsm/rv.h"

#include <openssl/obj_mac.h>
#include <string.h>
#include <time.h>

static const uint8_t DICA_CERT[] = {
#include "sim/dica_cert.inc"
};

static const uint8_t DICA_KEY[] = {
#include "sim/dica_key.inc"
};

static const uint8_t DICA_EXPIRY[6] = { 4, 4, 1, 2, 3, 1 };   /* 2044-12-31, as the DICA */

static void today(uint8_t d[6])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int y = tm.tm_year % 100, m = tm.tm_mon + 1, day = tm.tm_mday;
    d[0] = (uint8_t)(y / 10);
    d[1] = (uint8_t)(y % 10);
    d[2] = (uint8_t)(m / 10);
    d[3] = (uint8_t)(m % 10);
    d[4] = (uint8_t)(day / 10);
    d[5] = (uint8_t)(day % 10);
}

int sim_devcert_create(sim_card *c)
{
    return sim_devcert_issue(c, NULL);
}

int sim_devcert_issue(sim_card *c, const char *device_chr)
{
    EVP_PKEY *dev = NULL, *dica = NULL;
    hsm_bytes cert = HSM_BYTES_INIT;
    uint8_t rnd[7], eff[6];
    char chr[17];
    int rc = sim_keygen_ec(NID_brainpoolP256r1, &dev);
    if (rc != HSM_OK)
        return rc;
    const unsigned char *p = DICA_KEY;
    dica = d2i_AutoPrivateKey_ex(NULL, &p, (long)sizeof(DICA_KEY), hsm_libctx(), NULL);
    if (dica == NULL || sim_random(rnd, sizeof(rnd)) != HSM_OK) {
        rc = HSM_E_CRYPTO;
        goto done;
    }
    if (device_chr != NULL && strlen(device_chr) < sizeof(chr)) {
        memcpy(chr, device_chr, strlen(device_chr) + 1);
    } else {
        memcpy(chr, "DESM", 4);
        for (int i = 0; i < 7; i++)
            chr[4 + i] = (char)('0' + rnd[i] % 10);
        memcpy(chr + 11, "00000", 6);
    }
    today(eff);
    rc = hsm_cvc_build_cert("UTDICA0100001", dev, 0, chr, 0x00, eff, DICA_EXPIRY, dica, &cert);
    if (rc != HSM_OK)
        goto done;
    hsm_bytes_put(&cert, DICA_CERT, sizeof(DICA_CERT));
    sim_file *f = sim_file_put(c, 0x2F02);
    sim_key *k = sim_key_put(c, 0x00);
    if (f == NULL || k == NULL) {
        rc = HSM_E_MEM;
        goto done;
    }
    hsm_bytes_set(&f->data, cert.data, cert.len);
    rc = sim_key_store_pkey(k, dev);
    dev = NULL;
    /* The device key only ever signs attestations: no application algorithm may use it. */
    k->has_algs = 1;
    k->nalgs = 0;
done:
    EVP_PKEY_free(dev);
    EVP_PKEY_free(dica);
    hsm_bytes_free(&cert);
    return rc;
}

void sim_device_chr(sim_card *c, char *out, size_t cap)
{
    hsm_cvc dev, dica;
    sim_file *f = sim_file_find(c, 0x2F02);
    if (cap > 0)
        out[0] = 0;
    if (f == NULL || hsm_cvc_split_devcerts(f->data.data, f->data.len, &dev, &dica) != HSM_OK)
        return;
    hsm_cvc_ref_string(&dev.chr, out, cap);
}
