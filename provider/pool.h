/* SPDX-License-Identifier: Apache-2.0 */
/* Pools: one key held by several cards. A SmartCard-HSM signs one thing at a time, so a busy
 * server spreads a key's private-key operations over every card of this host that holds a private
 * key with the same public key (filled by wrap-key/unwrap-key or an XKEK key domain).
 *  - Turned on by the URI path attribute pool=yes (or pool=NAME) or the provider config
 *    "pool = yes"; pool=no in a URI turns it off for that key.
 *  - Members are found when the key is loaded: every PC/SC reader holding a SmartCard-HSM is asked
 *    for a key with the loaded key's ID (else its label), and only a key whose public key equals
 *    the loaded one joins. Every signature is still checked on the host with that public key.
 *  - An operation goes to a free card: within a process by counting operations in flight, across
 *    processes (nginx workers) by a non-blocking lock on a per-card lock file, so that workers
 *    spread over the cards instead of queueing on one.
 *  - A card that fails is taken out and the operation is retried once on another card; an out card
 *    is probed again at most every SCHSM_POOL_PROBE_MS (2 s) and is back after one success. A card
 *    whose PIN failed stays out: its PIN is never sent again and never tried on the others. */
#ifndef SCHSM_POOL_H
#define SCHSM_POOL_H

#include <openssl/evp.h>

#include "key.h"

typedef struct schsm_pool schsm_pool;

/* Is pooling asked for, by the URI's pool attribute (may be NULL) or else the config? */
int schsm_pool_wanted(const schsm_provctx *ctx, const char *uri_pool);

/* Builds the pool of k (a card key whose token is logged in or holds a PIN). The PIN for the other
 * cards comes from, in order: the config key "pin-source-SERIAL", the URI's pin-value or pin-source,
 * the config "pin-source", and last the PIN the key's own card verified. Attaches the pool to k
 * (k->pool). A pool of one card is kept too: cards added later are not searched for. 1, or 0 with
 * an error raised. */
int schsm_pool_attach(schsm_key *k, const char *name, const char *uri_pin_source, const char *uri_pin_value);
schsm_pool *schsm_pool_ref(schsm_pool *p);
void schsm_pool_free(schsm_pool *p);

/* Private-key operations of card keys, pooled or not. They raise the error and return 0 on failure.
 * pub may be NULL (then the pool's public key is used when the key has a pool). */
int schsm_key_sign(schsm_key *k, EVP_PKEY *pub, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out);
/* schsm_key_sign without raising: the hsm_rv, and in *who the token that answered last (for
 * schsm_raise_token; k->token when none was tried). For callers that react to a refusal. */
int schsm_key_sign_rv(schsm_key *k, EVP_PKEY *pub, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out,
                      hsm_token **who);
int schsm_key_decipher(schsm_key *k, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out);

#endif
