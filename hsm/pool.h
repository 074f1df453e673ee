/* SPDX-License-Identifier: Apache-2.0 */
/* Which cards of this host share which keys: the survey behind `schsm-tool pool status`. A key is
 * pooled when two or more cards hold a private key with the same public key (its SHA-256 SPKI
 * fingerprint); the provider then spreads that key's operations over them (provider/pool.h).
 * Cards that share at least one key form a group; within a group, a pooled key that some card of
 * the group lacks is reported as missing there (fill it with wrap-key/unwrap-key). */
#ifndef HSM_POOL_H
#define HSM_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/token.h"

typedef struct {
    hsm_token *token;          /* the caller's, opened on reader */
    const char *reader;        /* the caller's */
    int ok;                    /* the card answered; else why says what happened */
    char why[256];
    char serial[32];
    char label[64];
    hsm_key *keys;
    size_t nkeys;
    uint8_t (*fp)[32];         /* per key: SHA-256 of its SubjectPublicKeyInfo */
    int *fp_ok;                /* per key: the public key could be read */
} hsm_pool_card;

/* Reads c->token's identity, key directory and public keys (no PIN needed). HSM_OK, or an error
 * with c->ok = 0 and c->why set; the survey goes on with the other cards either way. */
int hsm_pool_survey_card(hsm_pool_card *c);
void hsm_pool_card_clear(hsm_pool_card *c);

typedef struct {
    uint8_t fp[32];
    enum hsm_key_type type;
    unsigned bits;
    char label[HSM_LABEL_MAX];     /* as the first card holding it names it */
    uint8_t id[HSM_ID_MAX];
    size_t id_len;
    size_t *holders;               /* indices into the cards; with the key's reference there */
    uint8_t *key_refs;
    size_t nholders;
    size_t *missing;               /* cards of the same group that lack it */
    size_t nmissing;
} hsm_pool_key;

/* The pooled keys (held by two or more cards), in the order first seen. */
int hsm_pool_group(const hsm_pool_card *cards, size_t ncards, hsm_pool_key **keys, size_t *nkeys);
void hsm_pool_keys_free(hsm_pool_key *keys, size_t nkeys);

#endif
