/* SPDX-License-Identifier: Apache-2.0 */
/* The key object behind every schsm EVP_PKEY: either a reference to a key on the card (with its
 * public part loaded only when OpenSSL asks for it) or a public-only key imported for
 * verification / as an ECDH peer. */
#ifndef SCHSM_KEY_H
#define SCHSM_KEY_H

#include <openssl/evp.h>

#include "provider.h"
#include "hsm/token.h"

typedef struct schsm_key {
    schsm_provctx *ctx;
    hsm_token *token;      /* NULL for public-only keys; owned by ctx */
    hsm_key card;          /* valid when token != NULL */
    char *uri;             /* canonical schsm: URI of the card key (key-reference files) */
    EVP_PKEY *pub;         /* public key in hsm_libctx(); loaded lazily for card keys */
    struct schsm_pool *pool; /* the cards that share this key (pool.h); NULL = only token */
    int type;              /* HSM_KEY_EC or HSM_KEY_RSA */
    int ec_nid;            /* curve, 0 = not known yet (card keys before the public key is read) */
    int refs;
    pthread_mutex_t lock;
    /* Host keys (token == NULL): which parts pub holds (OSSL_KEYMGMT_SELECT_* bits). A host key
     * with a private part is a software key made by gen without an explicit card request (TLS
     * ephemeral keys when schsm is listed first); it is used with host crypto and exportable. */
    int parts;
} schsm_key;

/* Is this a key on the card? */
#define schsm_key_is_card(k) ((k)->token != NULL)

schsm_key *schsm_key_new(schsm_provctx *ctx, int type);
/* A card key; uri may be NULL (then built from reader, serial and ID). */
schsm_key *schsm_key_new_card(schsm_provctx *ctx, hsm_token *token, const hsm_key *k, const char *uri);
schsm_key *schsm_key_ref(schsm_key *k);
void schsm_key_free(schsm_key *k);
/* Loads the public key from the card if needed. Returns pub (owned by k) or NULL with an error raised. */
EVP_PKEY *schsm_key_public(schsm_key *k);
/* The public key when it is loaded already (no card access): a new reference the caller frees,
 * or NULL. Signing passes it to the token, which then checks every card signature with it. */
EVP_PKEY *schsm_key_loaded_public(schsm_key *k);
/* Gives k its public key (in hsm_libctx(), ownership taken) without reading the card: from a
 * key-reference file that records it. 0 when pub is NULL. */
int schsm_key_set_public(schsm_key *k, EVP_PKEY *pub);

/* Store and decoders hand keys to keymgmt as OSSL_OBJECT_PARAM_REFERENCE: the reference is
 * the pointer to a schsm_key with one reference given to the receiver. */

#endif
