/* SPDX-License-Identifier: Apache-2.0 */
/* Attestation of a key generated on the card (protocol sheet 7.2, 14.5): its authenticated CV
 * request (67) carries the key's own signature (proof of possession) and the device key's
 * signature (proof of origin). This module finds the request on the card, packs it with the
 * device chain into a portable bundle, and checks a bundle anywhere, without a card.
 *
 * What an attestation proves: the key pair was generated inside the device named by the chain,
 * and that device held the private key. It does NOT prove usage restrictions (algorithm list),
 * exportability (key domain / DKEK), or that the key still exists. */
#ifndef HSM_ATTEST_H
#define HSM_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "hsm/bytes.h"
#include "hsm/device.h"
#include "hsm/token.h"

#define HSM_ATTEST_PEM_NAME "SMARTCARD-HSM ATTESTATION"

/* The key's request: from CEnn while it holds one, else from CBnn (where schsm keeps it once a
 * certificate replaced it). *where receives the FID. HSM_E_NOT_FOUND: no request is left on the
 * card (a certificate was stored over it by a tool that does not keep it). When CBnn also holds
 * the chain of the device that made the key (a group signer, see hsm/xkek.h) and origin is not
 * NULL, origin receives it (else it is left empty). */
int hsm_attest_find_request(hsm_token *t, const hsm_key *k, hsm_bytes *req, uint16_t *where, hsm_bytes *origin);

/* The key's request followed by this card's device chain (EF 2F02): a group signer's origin
 * file and an XKEK exchange request. */
int hsm_attest_request_with_chain(hsm_token *t, const hsm_key *k, hsm_bytes *out);

/* Bundle = PEM HSM_ATTEST_PEM_NAME around DER SEQUENCE {
 *     INTEGER 1,                       format version
 *     [APPLICATION 7] 67 ...,          the authenticated request, as the card wrote it
 *     7F21 ...,                        device CV certificate
 *     7F21 ...,                        DICA CV certificate
 *     SubjectPublicKeyInfo }           the key's public key (from the request) */
int hsm_attest_bundle_encode(const uint8_t *req, size_t req_len, const uint8_t *devcerts, size_t devcerts_len,
                             EVP_PKEY *pub, hsm_bytes *pem);
/* Splits a bundle; the parts point into der (keep it alive). */
typedef struct {
    const uint8_t *req, *devcerts, *spki;
    size_t req_len, devcerts_len, spki_len;
} hsm_attest_parts;
/* Parts of a request and chain read from the card (no SPKI). */
hsm_attest_parts hsm_attest_parts_of(const hsm_bytes *req, const hsm_bytes *devcerts);
int hsm_attest_bundle_decode(const uint8_t *file, size_t len, hsm_bytes *der, hsm_attest_parts *out);

typedef struct {
    hsm_chain chain;           /* device -> DICA -> root */
    int request_ok;            /* both request signatures verify against the device key */
    int spki_ok;               /* the bundle's SPKI equals the request's key */
    char why[256];             /* first failed check, for people */
    char key_chr[17];          /* CHR inside the request */
    char key_type[80];         /* "EC prime256v1", "RSA 2048" */
    EVP_PKEY *key;             /* the request's public key (when parsed) */
} hsm_attestation;

/* Checks parts (spki may be NULL). HSM_OK only when the chain is trusted, the request verifies
 * and the SPKI matches. Free with hsm_attestation_free. */
int hsm_attest_verify(const hsm_attest_parts *p, unsigned flags, hsm_attestation *out);
void hsm_attestation_free(hsm_attestation *a);
/* Same public key (compares SubjectPublicKeyInfo encodings). */
int hsm_same_public_key(EVP_PKEY *a, EVP_PKEY *b);

#endif
