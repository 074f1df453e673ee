/* SPDX-License-Identifier: Apache-2.0 */
/* XKEK key domains (protocol sheet 13, 14.5): a group signer admits member cards with key
 * domain memberships (KDM); members make attested exchange keys and derive a shared XKEK by
 * ECDH, so keys wrapped on one member unwrap only on another member.
 *
 * Files (all public; PEM armour around DER/TLV bytes):
 *  - KDM "SMARTCARD-HSM KEY DOMAIN MEMBERSHIP": 30 { 06 1.3.6.1.4.1.24991.4.2.1, 61 { DICA cert },
 *    62 { device cert }, 63 { 67 group signer request }, 54 signature } (sheet 13.3).
 *  - exchange request "SMARTCARD-HSM XKEK EXCHANGE KEY": 67 request || device cert || DICA cert.
 *
 * The group signer keeps the certificates of the device that MADE it: EF CBnn next to the key
 * (nn = its key reference) holds its 67 request followed by that device's certificate and DICA
 * certificate. Memberships are always built from those, so they stay valid after the group
 * signer moved to another card or its card got a new device certificate. */
#ifndef HSM_XKEK_H
#define HSM_XKEK_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "hsm/bytes.h"
#include "hsm/card.h"
#include "hsm/token.h"

#define HSM_KDM_PEM_NAME "SMARTCARD-HSM KEY DOMAIN MEMBERSHIP"
#define HSM_XKEK_REQ_PEM_NAME "SMARTCARD-HSM XKEK EXCHANGE KEY"
#define HSM_XKEK_EXCHANGE_LABEL "xkek-exchange-%d"   /* label of a domain's exchange key */

/* Status of key domain d: HSM_OK with st, HSM_E_NOT_FOUND for an empty slot, HSM_E_ARGS when the
 * card has no such slot. Runs in its own transaction. */
int hsm_domain_status(hsm_token *t, int d, hsm_dkek_status *st);

/* Group signer: an EC P-256 key generated in DKEK domain `domain` (so that wrap-key can back it
 * up), plus its origin file CBnn. Needs the user PIN to be verified. */
int hsm_group_signer_create(hsm_token *t, const char *label, int domain, hsm_key *out, char *why, size_t why_len);

/* The group signer's request and origin chain (EF 2F02 layout). With origin_file (a chain file
 * from `device --out-chain`) the chain comes from there and is stored in CBnn for next time; it
 * must be the chain that attested the group signer's request. */
int hsm_group_signer_origin(hsm_token *t, const hsm_key *gs, const uint8_t *origin_file, size_t origin_len,
                            unsigned flags, hsm_bytes *request, hsm_bytes *devcerts, char *why, size_t why_len);

/* Membership for the member whose chain (EF 2F02 layout) is given, signed by gs on the card. */
int hsm_kdm_issue(hsm_token *t, const hsm_key *gs, const hsm_bytes *request, const hsm_bytes *devcerts,
                  const uint8_t *member, size_t member_len, unsigned flags, hsm_bytes *kdm_pem,
                  char *why, size_t why_len);

typedef struct {
    hsm_bytes der;                 /* the decoded file; the fields point into it */
    hsm_bytes devcerts;            /* device cert || DICA cert (EF 2F02 layout) */
    const uint8_t *request;        /* whole 67 TLV */
    size_t request_len;
    const uint8_t *sig;            /* value of 54 */
    size_t sig_len;
} hsm_kdm;
/* Does sig (plain r||s, value of 54) bind a membership by group_key to the member device key? */
int hsm_kdm_binding_ok(EVP_PKEY *group_key, EVP_PKEY *member_device_key, const uint8_t *sig, size_t sig_len);
int hsm_kdm_parse(const uint8_t *file, size_t len, hsm_kdm *out);
void hsm_kdm_free(hsm_kdm *k);

/* Joins XKEK domain *domain (-1 = the first empty slot; the slot used is written back). The
 * host checks the KDM first (chain, request, binding to this device) and names the failed check;
 * the card checks again. Needs the user PIN. */
int hsm_xkek_create(hsm_token *t, const hsm_kdm *kdm, int *domain, unsigned flags, hsm_dkek_status *st,
                    char *why, size_t why_len);

/* The domain's exchange key (generated on first use, label HSM_XKEK_EXCHANGE_LABEL) and its
 * request file. Needs the user PIN when the key is generated. */
int hsm_xkek_exchange_key(hsm_token *t, int domain, hsm_key *out, hsm_bytes *req_pem, char *why, size_t why_len);

/* Derives the domain's XKEK from a peer's exchange request file. */
int hsm_xkek_derive(hsm_token *t, int domain, const uint8_t *peer, size_t peer_len, unsigned flags,
                    hsm_dkek_status *st, char *why, size_t why_len);

/* Makes the card know the public key of the device whose chain is given (MSE / PSO VERIFY
 * CERTIFICATE, DICA first); nothing is sent for keys the card knows already. Inside a lock. */
int hsm_card_learn_chain(hsm_card *c, const uint8_t *devcerts, size_t len);

#endif
