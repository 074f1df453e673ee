/* SPDX-License-Identifier: Apache-2.0 */
/* PKCS#15 object descriptions the way OpenSC and CardContact tools write them:
 * private key descriptions (PRKD, EF C4nn) and certificate descriptions (CD, EF C8nn). */
#ifndef HSM_PKCS15_H
#define HSM_PKCS15_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "hsm/bytes.h"

enum hsm_key_type {
    HSM_KEY_NONE = 0,
    HSM_KEY_EC = 1,
    HSM_KEY_RSA = 2,
    HSM_KEY_AES = 3,
};

#define HSM_LABEL_MAX 128
#define HSM_ID_MAX 64

/* PKCS#15 KeyUsageFlags bit numbers (bit 0 = MSB of the first byte) */
enum {
    HSM_USAGE_ENCRYPT = 1u << 0, HSM_USAGE_DECRYPT = 1u << 1, HSM_USAGE_SIGN = 1u << 2,
    HSM_USAGE_SIGN_RECOVER = 1u << 3, HSM_USAGE_WRAP = 1u << 4, HSM_USAGE_UNWRAP = 1u << 5,
    HSM_USAGE_VERIFY = 1u << 6, HSM_USAGE_VERIFY_RECOVER = 1u << 7, HSM_USAGE_DERIVE = 1u << 8,
    HSM_USAGE_NON_REPUDIATION = 1u << 9,
};

typedef struct {
    enum hsm_key_type type;
    char label[HSM_LABEL_MAX];     /* UTF-8, NUL-terminated */
    uint8_t id[HSM_ID_MAX];
    size_t id_len;
    unsigned bits;                 /* RSA modulus length or EC field size (521, not 528) */
    unsigned usage;                /* HSM_USAGE_* */
    unsigned key_ref;              /* keyReference on the card (1..255); 0 = not given */
} hsm_prkd;

/* Decodes any PRKD/SKD OpenSC, CardContact tools or we wrote; unknown fields are skipped. */
int hsm_prkd_decode(const uint8_t *buf, size_t len, hsm_prkd *out);
/* EC and RSA: the bytes OpenSC 0.23 writes for a key pkcs11-tool generates (flags private and
 * modifiable, authId 01 = user PIN, keyReference when key_ref != 0). AES: the CardContact form.
 * usage 0 = the default for the type, as OpenSC writes it (RSA: decrypt|sign|signRecover,
 * EC: sign|signRecover|derive). */
int hsm_prkd_encode(const hsm_prkd *p, hsm_bytes *out);

typedef struct {
    char label[HSM_LABEL_MAX];
    uint8_t id[HSM_ID_MAX];
    size_t id_len;
    uint16_t path_fid;             /* CAnn FID from the path */
    int cvc;                       /* A5 = CV certificate instead of X.509 */
} hsm_cd;

int hsm_cd_decode(const uint8_t *buf, size_t len, hsm_cd *out);
int hsm_cd_encode(const hsm_cd *c, hsm_bytes *out);

/* OpenSC's "mozilla" key ID: SHA-1 over the RSA modulus or the EC X coordinate (20 bytes). */
int hsm_pkcs15_key_id(EVP_PKEY *pub, uint8_t out[20]);

#endif
