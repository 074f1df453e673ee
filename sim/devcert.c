/* SPDX-License-Identifier: Apache-2.0 */
/* Production of a virtual card: a fresh brainpoolP256r1 device key (CC00) and EF 2F02 =
 * device CV certificate || DICA certificate, issued under the in-tree TEST hierarchy
 * (sim/certs/: root UTSRCACC100001 -> DICA UTDICA0100001; TEST ONLY).
 * Device CHR = "DESM" + 7 random digits + "00000" (16 characters), so the serial that hosts
 * derive (CHR minus its last 5 characters) looks like a Nitrokey's: e.g. DESM0412345.
 * The variant profile instead keeps in 2F02 an authenticated request (67) around a device
 * certificate the device key signed itself, CHR "ES" + 8 random hex digits + "00001", and
 * describes its device key in C400 with an all-zero 20-byte ID. */
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

/* C400 of the variant card: an EC key description (A0) labelled "Device key", ID 20 zero bytes,
 * 256-bit key, as that card keeps for its device key. */
static const uint8_t VARIANT_DEVKEY_PRKD[] = {
    0xA0, 0x36,
    0x30, 0x0C, 0x0C, 0x0A, 'D', 'e', 'v', 'i', 'c', 'e', ' ', 'k', 'e', 'y',
    0x30, 0x1A, 0x04, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0x03, 0x02, 0x07, 0x80,
    0xA1, 0x0A, 0x30, 0x08, 0x30, 0x02, 0x04, 0x00, 0x02, 0x02, 0x01, 0x00,
};

/* 67 { self-signed 7F21 of the device key, 42 CHR, 5F37 outer signature by the device key }. */
static int variant_devcert(EVP_PKEY *dev, const uint8_t eff[6], hsm_bytes *out)
{
    static const char HEX[] = "0123456789ABCDEF";
    uint8_t rnd[8];
    char chr[17];
    hsm_bytes tbs = HSM_BYTES_INIT;
    if (sim_random(rnd, sizeof(rnd)) != HSM_OK)
        return HSM_E_CRYPTO;
    memcpy(chr, "ES", 2);
    for (int i = 0; i < 8; i++)
        chr[2 + i] = HEX[rnd[i] & 15];
    memcpy(chr + 10, "00001", 6);
    int rc = hsm_cvc_build_cert(chr, dev, 1, chr, 0x00, eff, DICA_EXPIRY, dev, &tbs);
    if (rc == HSM_OK)
        rc = hsm_tlv_put(&tbs, 0x42, chr, strlen(chr));
    if (rc == HSM_OK)
        rc = hsm_cvc_put_signed(dev, 0x67, tbs.data, tbs.len, out);
    hsm_bytes_free(&tbs);
    return rc;
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
    if (sim_is_variant(c)) {
        rc = variant_devcert(dev, eff, &cert);
        sim_file *d = rc == HSM_OK ? sim_file_put(c, 0xC400) : NULL;
        if (d != NULL)
            rc = hsm_bytes_set(&d->data, VARIANT_DEVKEY_PRKD, sizeof(VARIANT_DEVKEY_PRKD));
        else if (rc == HSM_OK)
            rc = HSM_E_MEM;
    } else {
        rc = hsm_cvc_build_cert("UTDICA0100001", dev, 0, chr, 0x00, eff, DICA_EXPIRY, dica, &cert);
        hsm_bytes_put(&cert, DICA_CERT, sizeof(DICA_CERT));
    }
    if (rc != HSM_OK || cert.oom)
        goto done;
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
    sim_file *f = sim_file_find(c, 0x2F02);
    if (cap > 0)
        out[0] = 0;
    if (f != NULL && hsm_cvc_device_chr(f->data.data, f->data.len, out, cap) != HSM_OK && cap > 0)
        out[0] = 0;
}
