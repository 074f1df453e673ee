/* SPDX-License-Identifier: Apache-2.0 */
/* SmartCard-HSM card commands (protocol sheet sections 1-13, 17). One function per command;
 * no policy here (PIN safety and caching live in token.h). All functions return an hsm_rv;
 * when the card answered with an unexpected status word they return HSM_E_SW and the word
 * is available from hsm_card_last_sw(). 6A82 on file/key commands gives HSM_E_NOT_FOUND. */
#ifndef HSM_CARD_H
#define HSM_CARD_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/apdu.h"
#include "hsm/bytes.h"
#include "hsm/transport.h"

#define HSM_AID_LEN 11
extern const uint8_t HSM_AID[HSM_AID_LEN];

/* PIN references */
#define HSM_PIN_USER 0x81
#define HSM_PIN_SO 0x88

/* File prefixes */
#define HSM_PREFIX_KEY 0xCC
#define HSM_PREFIX_PRKD 0xC4
#define HSM_PREFIX_EE_CERT 0xCE
#define HSM_PREFIX_CA_CERT 0xCA
#define HSM_PREFIX_CD 0xC8
#define HSM_PREFIX_DCOD 0xC9
#define HSM_PREFIX_PRIV_DATA 0xCD
#define HSM_PREFIX_DATA 0xCF
#define HSM_PREFIX_REQ_KEEP 0xCB   /* schsm keeps a key's CV request here once a certificate replaced it */
#define HSM_FID_DEVCERT 0x2F02
#define HSM_FID_TOKENINFO 0x2F03
#define HSM_FID_STAGING 0x2F10

/* Algorithm identifiers (P2 of SIGN / DECIPHER, entries of algorithm lists) */
enum {
    HSM_ALG_RSA_RAW = 0x20,
    HSM_ALG_RSA_DECRYPT_RAW = 0x21,
    HSM_ALG_RSA_PKCS1_DI = 0x30,
    HSM_ALG_RSA_PKCS1_SHA1 = 0x31,
    HSM_ALG_RSA_PKCS1_SHA256 = 0x33,
    HSM_ALG_RSA_PKCS1_SHA384 = 0x34,
    HSM_ALG_RSA_PKCS1_SHA512 = 0x35,
    HSM_ALG_RSA_PSS = 0x40,
    HSM_ALG_RSA_PSS_SHA1 = 0x41,
    HSM_ALG_RSA_PSS_SHA256 = 0x43,
    HSM_ALG_RSA_PSS_SHA384 = 0x44,
    HSM_ALG_RSA_PSS_SHA512 = 0x45,
    HSM_ALG_ECDSA = 0x70,
    HSM_ALG_ECDSA_SHA1 = 0x71,
    HSM_ALG_ECDSA_SHA224 = 0x72,
    HSM_ALG_ECDSA_SHA256 = 0x73,
    HSM_ALG_ECDSA_SHA384 = 0x74,
    HSM_ALG_ECDSA_SHA512 = 0x75,
    HSM_ALG_ECDH = 0x80,
    HSM_ALG_ECDH_AUTPUK = 0x83,
    HSM_ALG_ECDH_XKEK = 0x84,
    HSM_ALG_WRAP = 0x92,
    HSM_ALG_UNWRAP = 0x93,
    HSM_ALG_DERIVE_EC = 0x98,
    HSM_ALG_DERIVE_SYM = 0x99,
};

typedef struct hsm_card hsm_card;

/* Takes ownership of t (closed by hsm_card_free). */
int hsm_card_new(hsm_transport *t, hsm_card **out);
void hsm_card_free(hsm_card *c);
hsm_transport *hsm_card_transport(hsm_card *c);
uint16_t hsm_card_last_sw(const hsm_card *c);

/* Largest complete command APDU the card takes (default 1232, JCOP 3). Longer writes are chunked. */
void hsm_card_set_max_apdu(hsm_card *c, size_t max);

/* Transaction around one logical operation: see hsm_transport_ops.begin (HSM_E_RESET means
 * the card was reset or swapped: the caller must forget login state and cached directories). */
int hsm_card_begin(hsm_card *c);
void hsm_card_end(hsm_card *c);

/* Sends one command; handles 61xx (GET RESPONSE) and 6Cxx (re-issue with the right Le);
 * traces per SCHSM_DEBUG. Returns HSM_OK when a status word arrived (any SW, in *sw). */
int hsm_card_transmit(hsm_card *c, const hsm_apdu *a, hsm_bytes *resp, uint16_t *sw);

typedef struct {
    uint16_t options;     /* device options word (INITIALIZE tag 80) */
    uint8_t applet_type;
    uint8_t major, minor; /* firmware version */
} hsm_fcp;

int hsm_card_select(hsm_card *c, hsm_fcp *fcp);                  /* SELECT AID, P2=04 */
/* VERIFY without data: HSM_OK with the raw status word in *sw (9000, 63Cx, 6983, 6984, 6A88). */
int hsm_card_pin_status(hsm_card *c, uint8_t ref, uint16_t *sw);
int hsm_card_verify(hsm_card *c, uint8_t ref, const uint8_t *pin, size_t len);
int hsm_card_change_ref(hsm_card *c, uint8_t ref, const uint8_t *old, size_t old_len,
                        const uint8_t *new_pin, size_t new_len);
/* RESET RETRY COUNTER: new_pin NULL = unblock only (P1=01), else set new PIN (P1=00). */
int hsm_card_reset_retry(hsm_card *c, const uint8_t so_pin[8], const uint8_t *new_pin, size_t new_len);

typedef struct {
    uint16_t options;         /* tag 80; 0x0001 = RESET RETRY COUNTER allowed */
    const uint8_t *pin;       /* tag 81 */
    size_t pin_len;
    const uint8_t *so_pin;    /* tag 82, 8 bytes */
    uint8_t pin_retries;      /* tag 91; 0 = omit */
    int dkek_shares;          /* tag 92; -1 = omit (no DKEK), 0 = card makes a random DKEK */
    uint8_t key_domains;      /* tag 97; 0 = omit */
} hsm_init_params;

int hsm_card_initialize(hsm_card *c, const hsm_init_params *p);

/* ENUMERATE OBJECTS: fids receives 2 bytes per object. */
int hsm_card_enumerate(hsm_card *c, hsm_bytes *fids);
/* Does an ENUMERATE answer list every file? CardContact cards do; other implementations list only
 * keys and descriptions (CC, C4, C8, C9) and their CEnn/CBnn are found by reading the FID (6A82:
 * absent). 1 when fids holds any other prefix. */
int hsm_fids_list_every_file(const hsm_bytes *fids);
/* Is fid in an ENUMERATE answer? */
int hsm_fids_has(const hsm_bytes *fids, uint16_t fid);
/* Whole EF in as few READ BINARY commands as the card allows. */
int hsm_card_read_file(hsm_card *c, uint16_t fid, hsm_bytes *out);
/* Creates or overwrites the EF, chunked by the APDU limit. */
int hsm_card_write_file(hsm_card *c, uint16_t fid, const uint8_t *data, size_t len);
int hsm_card_delete_file(hsm_card *c, uint16_t fid);
/* SELECT EF by FID (P1 00, P2 04): fcp receives the FCP (for a key file CCnn: its meta data in A5,
 * e.g. the algorithm list). HSM_E_NOT_FOUND on 6A82. */
int hsm_card_select_file(hsm_card *c, uint16_t fid, hsm_bytes *fcp);

/* GENERATE ASYMMETRIC KEY PAIR; data = GAKP command data (cvc.h builds it); request = the 67 answer. */
int hsm_card_generate_asym(hsm_card *c, uint8_t key_id, const uint8_t *data, size_t len, hsm_bytes *request);
/* GENERATE SYMMETRIC KEY; p2 = 0xB0/B1/B2; data = meta data TLVs (may be empty). */
int hsm_card_generate_sym(hsm_card *c, uint8_t key_id, uint8_t p2, const uint8_t *data, size_t len);

int hsm_card_sign(hsm_card *c, uint8_t key_id, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out);
int hsm_card_decipher(hsm_card *c, uint8_t key_id, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out);

typedef struct {
    uint8_t total;      /* shares configured; 0xFF = XKEK domain */
    uint8_t missing;    /* shares still missing */
    uint8_t kcv[8];     /* all zero while incomplete */
    uint8_t extra[128]; /* anything after the 10 bytes (XKEK domain UID) */
    size_t extra_len;
    /* A complete DKEK whose KCV read all zero: some cards show the KCV only after the user
     * PIN was verified in the card session. Then kcv is not the KCV: verify and ask again. */
    int kcv_unknown;
} hsm_dkek_status;

/* MANAGE KEY DOMAIN / IMPORT DKEK SHARE (80 52 P1 P2): p1 0 with a 32-byte share imports it,
 * p1 0 without data queries. */
int hsm_card_key_domain(hsm_card *c, uint8_t p1, uint8_t domain, const uint8_t *data, size_t len,
                        hsm_dkek_status *st);
int hsm_card_wrap(hsm_card *c, uint8_t key_id, hsm_bytes *blob);
/* UNWRAP KEY; blobs longer than one APDU are staged through EF 2F10. */
int hsm_card_unwrap(hsm_card *c, uint8_t key_id, const uint8_t *blob, size_t len);
int hsm_card_challenge(hsm_card *c, uint8_t *out, size_t len);

/* Certificates and XKEK (protocol sheet 13.4, 14.5). MSE SET `00 22 81 B6 83 <ref>`: selects the
 * public key known under ref (HSM_E_SW with 6A88 when the card does not know it). */
int hsm_card_mse_select_key(hsm_card *c, const uint8_t *ref, size_t len);
/* PSO VERIFY CERTIFICATE `00 2A 00 BE <7F4E..5F37..>` (the value of a 7F21, without its header),
 * checked with the key MSE selected; the card then knows the holder's key under its CHR. */
int hsm_card_pso_verify_cert(hsm_card *c, const uint8_t *cert_value, size_t len);
/* `80 62 <key> 84 <7F21..42..5F37..>` (the value of the peer's 67 request): derive the XKEK. */
int hsm_card_xkek_derive(hsm_card *c, uint8_t key_id, const uint8_t *req_value, size_t len);

#endif
