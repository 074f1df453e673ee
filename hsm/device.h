/* SPDX-License-Identifier: Apache-2.0 */
/* Device identity: the card's certificate chain (EF 2F02 = device certificate || DICA
 * certificate) checked up to a root the host knows (protocol sheet 14.3-14.5), and the
 * portable chain file that `schsm-tool device --out-chain` writes and other machines verify.
 *
 * Roots: the production root DESRCACC100001 is always trusted. The virtual card's test root
 * UTSRCACC100001 is trusted only with HSM_TRUST_TEST_ROOT, and a chain that ends there is
 * reported as TEST (verdict HSM_CHAIN_TEST), never as genuine. */
#ifndef HSM_DEVICE_H
#define HSM_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "hsm/bytes.h"
#include "hsm/cvc.h"

#define HSM_ROOT_PRODUCTION "DESRCACC100001"
#define HSM_ROOT_TEST "UTSRCACC100001"

enum { HSM_TRUST_TEST_ROOT = 1 };

/* What a chain check found. Only HSM_CHAIN_GENUINE and HSM_CHAIN_TEST are trusted. */
enum hsm_chain_verdict {
    HSM_CHAIN_GENUINE = 0,     /* production root, every signature and date good */
    HSM_CHAIN_TEST,            /* ends at the test root and the caller trusts it: TEST device */
    HSM_CHAIN_TEST_UNTRUSTED,  /* ends at the test root, not trusted (no HSM_TRUST_TEST_ROOT) */
    HSM_CHAIN_UNKNOWN_ROOT,    /* the DICA was issued by a root the host does not know */
    HSM_CHAIN_BAD_SIGNATURE,   /* a certificate's signature does not verify, or CAR/CHR differ */
    HSM_CHAIN_EXPIRED,         /* signatures good, but a certificate is expired / not yet valid */
    HSM_CHAIN_MALFORMED,       /* not two CV certificates */
};

typedef struct {
    char chr[17], car[17];
    char valid_from[11], valid_to[11];   /* YYYY-MM-DD, "" when absent */
    uint8_t point[133];                  /* uncompressed public point */
    size_t point_len;
    const char *curve;                   /* e.g. "brainpoolP256r1" */
} hsm_cert_summary;

typedef struct {
    int verdict;                  /* enum hsm_chain_verdict */
    char failed[96];              /* which link failed, e.g. "DICA certificate (signature by the root)" */
    hsm_cert_summary device, dica;
    char root[17];                /* CAR of the DICA */
    int test_root;                /* the chain names the test root */
    EVP_PKEY *device_key;         /* set when the signatures verified (verdict GENUINE/TEST/EXPIRED) */
    int nid;                      /* curve of the device key */
} hsm_chain;

/* Checks devcerts (content of EF 2F02) against the built-in roots. Always fills *out (free it
 * with hsm_chain_free); returns HSM_OK when the verdict is trusted, HSM_E_VERIFY otherwise,
 * HSM_E_PARSE for MALFORMED. today = "YYMMDD" digits, NULL = the current UTC date. */
int hsm_chain_verify(const uint8_t *devcerts, size_t len, unsigned flags, const uint8_t *today, hsm_chain *out);
void hsm_chain_free(hsm_chain *c);
int hsm_chain_trusted(const hsm_chain *c);
/* Short machine name ("genuine", "test", "test-root-untrusted", "unknown-root",
 * "bad-signature", "expired", "malformed") and a sentence for people. */
const char *hsm_chain_verdict_name(int verdict);
const char *hsm_chain_verdict_text(int verdict);

/* Authenticated request (67) of a key checked against a verified chain: outer CAR equals the
 * device CHR, outer signature by the device key, inner signature by the key in the request.
 * *key (optional) receives the request's public key. why names the failed check. */
int hsm_chain_verify_request(const hsm_chain *chain, const uint8_t *req, size_t len, EVP_PKEY **key,
                             char *why, size_t why_len);

/* The chain file: PEM armour "SMARTCARD-HSM DEVICE CHAIN" around the bytes of EF 2F02. */
#define HSM_CHAIN_PEM_NAME "SMARTCARD-HSM DEVICE CHAIN"
int hsm_chain_file_encode(const uint8_t *devcerts, size_t len, hsm_bytes *pem);
/* Accepts the PEM form or the raw EF 2F02 bytes; checks it splits into two certificates. */
int hsm_chain_file_decode(const uint8_t *file, size_t len, hsm_bytes *devcerts);

/* PEM helpers shared by the device, attestation and XKEK files: one block named name. */
int hsm_pem_encode(const char *name, const uint8_t *der, size_t len, hsm_bytes *pem);
/* The first block named name; HSM_E_NOT_FOUND when there is none, HSM_E_PARSE on damage. */
int hsm_pem_decode(const char *name, const uint8_t *pem, size_t len, hsm_bytes *der);
/* A whole file (at most max bytes). */
int hsm_read_whole_file(const char *path, size_t max, hsm_bytes *out);

#endif
