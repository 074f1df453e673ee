/* SPDX-License-Identifier: Apache-2.0 */
/* Card Verifiable Certificates (BSI TR-03110 style): parsing of certificates (7F21) and
 * authenticated requests (67), building of GAKP data and certificate bodies, and signature
 * checks. Used by the host (attestation, public keys from CEnn) and by the virtual card
 * (issuing requests and its device certificate chain). */
#ifndef HSM_CVC_H
#define HSM_CVC_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "hsm/bytes.h"
#include "hsm/tlv.h"

/* OIDs (values of tag 06, without the 06 header) */
extern const uint8_t HSM_OID_TA_RSA_V15_SHA256[10];
extern const uint8_t HSM_OID_TA_ECDSA_SHA256[10];

typedef struct {
    hsm_tlv cert;          /* the whole 7F21 TLV */
    hsm_tlv body;          /* the whole 7F4E TLV (what the inner signature covers) */
    hsm_tlv car;           /* 42 inside the body (may be absent: len 0, val NULL) */
    hsm_tlv chr;           /* 5F20 */
    hsm_tlv pubkey;        /* 7F49 */
    hsm_tlv oid;           /* 06 inside 7F49 */
    hsm_tlv chat;          /* 7F4C, certificates only */
    hsm_tlv effective;     /* 5F25 */
    hsm_tlv expiry;        /* 5F24 */
    hsm_tlv extensions;    /* 65 */
    hsm_tlv signature;     /* 5F37 inside 7F21 */
    int authenticated;     /* parsed from a 67 wrapper */
    hsm_tlv outer_car;     /* 42 after 7F21 inside 67 (whole TLV in raw/rawlen) */
    hsm_tlv outer_signature; /* 5F37 after outer 42 */
} hsm_cvc;

/* Parses a 7F21 certificate/request or a 67 authenticated request; trailing bytes after the
 * first TLV are allowed only when rest != NULL (then *rest points at them). Pointers refer into buf. */
int hsm_cvc_parse(const uint8_t *buf, size_t len, hsm_cvc *out, const uint8_t **rest);

/* Holder/authority reference as a NUL-terminated string (truncated to cap-1). */
void hsm_cvc_ref_string(const hsm_tlv *ref, char *out, size_t cap);

/* Public key of the holder. For EC keys without domain parameters (certificates below a CA)
 * the curve is inherited_nid. Returns HSM_E_PARSE / HSM_E_UNSUPPORTED on odd input. */
int hsm_cvc_public_key(const hsm_cvc *c, int inherited_nid, EVP_PKEY **out);
/* Curve of an EC public key template that carries parameters (0 if none or not EC). */
int hsm_cvc_curve_nid(const hsm_cvc *c);

/* Inner signature (over the 7F4E TLV) checked with signer's key. ECDSA signatures are plain r||s.
 * Returns HSM_OK or HSM_E_VERIFY. */
int hsm_cvc_verify(const hsm_cvc *c, EVP_PKEY *signer);
/* Outer signature of an authenticated request (over 7F21 TLV || outer 42 TLV). */
int hsm_cvc_verify_outer(const hsm_cvc *c, EVP_PKEY *device_key);

/* EF 2F02 = device certificate followed by the DICA certificate. */
int hsm_cvc_split_devcerts(const uint8_t *buf, size_t len, hsm_cvc *device, hsm_cvc *dica);

/* Known root certificates by CHR ("DESRCACC100001" production, "UTSRCACC100001" test).
 * Returns the public key on brainpoolP256r1 or NULL. */
EVP_PKEY *hsm_cvc_root_key(const char *chr);

/* Full chain check of a key's authenticated request against EF 2F02 content:
 * root(by DICA CAR) -> DICA -> device -> request outer signature -> inner signature.
 * On success *device_chr (if not NULL, cap >= 17) receives the device CHR. */
int hsm_cvc_verify_attestation(const uint8_t *devcerts, size_t devcerts_len,
                               const uint8_t *request, size_t request_len,
                               char *device_chr, size_t cap);

typedef struct {
    int ec_nid;                  /* EC curve NID, or 0 for RSA */
    unsigned rsa_bits;           /* RSA modulus size */
    const char *car;             /* inner CAR, e.g. "UTCA00001" (NULL = omit) */
    const char *chr;             /* CHR for the request, e.g. "UTDUMMY00001" */
    const char *outer_car;       /* tag 45 (NULL = omit) */
    const uint8_t *algorithms;   /* tag 91 (NULL = omit) */
    size_t algorithms_len;
    int key_domain;              /* tag 92; -1 = omit */
    uint32_t use_counter;        /* tag 90; 0 = omit */
} hsm_gakp_params;

/* GAKP command data (protocol sheet 7.1). */
int hsm_cvc_build_gakp(const hsm_gakp_params *p, hsm_bytes *out);

/* A 7F49 public key template for key; with_params adds the EC domain parameters. */
int hsm_cvc_put_pubkey(EVP_PKEY *key, const uint8_t *oid, size_t oid_len, int with_params, hsm_bytes *out);

/* Signs data the way the card signs CVCs: SHA-256, ECDSA plain r||s (field length each) or RSA PKCS#1 v1.5. */
int hsm_cvc_sign(EVP_PKEY *key, const uint8_t *data, size_t len, hsm_bytes *sig);

/* Appends tag { tbs, 5F37 signature of tbs by key (hsm_cvc_sign) }: the signed outer layer of
 * a CVC (7F21) and of an authenticated request (67). */
int hsm_cvc_put_signed(EVP_PKEY *key, unsigned tag, const uint8_t *tbs, size_t len, hsm_bytes *out);

/* Additions by the sim engineer (used by sim/ and by sim/certs/mkcerts.c). */

/* EC public key from an uncompressed point on a curve of the table; HSM_E_PARSE when the
 * point has the wrong size or is not on the curve. */
int hsm_cvc_ec_public_key(int nid, const uint8_t *point, size_t len, EVP_PKEY **out);

/* A complete 7F21 certificate: body 5F29 00, 42 car, 7F49 (holder key, SHA-256 OID of its type,
 * domain parameters when with_params), 5F20 chr, 7F4C CHAT (id-SC-HSM role OID, 53 role),
 * 5F25 effective, 5F24 expiry (YYMMDD, one digit per byte), signed by signer (hsm_cvc_sign). */
int hsm_cvc_build_cert(const char *car, EVP_PKEY *holder, int with_params, const char *chr,
                       uint8_t role, const uint8_t effective[6], const uint8_t expiry[6],
                       EVP_PKEY *signer, hsm_bytes *out);

#endif
