/* SPDX-License-Identifier: Apache-2.0 */
/* Finding card objects named by a schsm: URI; shared by the store and the key-reference decoder. */
#ifndef SCHSM_RESOLVE_H
#define SCHSM_RESOLVE_H

#include <openssl/core_dispatch.h>

#include "key.h"
#include "provider.h"
#include "uri.h"
#include "encoder/keyref.h"

/* The token u names (select.c): its reader from the URI, the provider config or SCHSM_READER, else
 * the one card whose serial=/token= match among all readers; a reader substring matching several
 * readers is narrowed to those holding a SmartCard-HSM. NULL with an error raised (naming the
 * cards seen when none or several match). *checked = 1 when serial=/token= were checked already. */
hsm_token *schsm_resolve_token(schsm_provctx *prov, const schsm_uri *u, int *checked);

/* token= and serial= of u against the token (costs the token information reads, so callers
 * invoke it only when one of them is set). 1 = matches; 0 = error raised naming what was found. */
int schsm_resolve_check_token(schsm_provctx *prov, hsm_token *t, const schsm_uri *u);

/* Raises SCHSM_R_NOT_FOUND: "<what> matching '<search>' on token '<label>' (serial S) in reader R". */
/* The search as people wrote it: "object=k1;id=%01;type=public". */
void schsm_resolve_describe(const schsm_uri *u, const char *label, char *buf, size_t len);
void schsm_resolve_not_found(schsm_provctx *prov, hsm_token *t, const schsm_uri *u, const char *label,
                             const char *what);

/* The one private key that uri_text names (object and/or id required), with the PIN handed to
 * the token (URI, config, then cb; when cb answers with an empty PIN, the login is left to the first
 * private-key operation, which then fails at once saying a PIN is needed). key_type: HSM_KEY_EC / HSM_KEY_RSA to insist on, or 0.
 * The key's recorded URI is uri_text. NULL with an error raised. */
/* rec: what a version-2 key-reference file records (key reference and public key), or NULL. With it
 * and a serial in the URI, the key is taken from the record without reading the directory: the card
 * is confirmed by its serial before any PIN is sent, the key by the host check of its signatures. */
schsm_key *schsm_resolve_private_key(schsm_provctx *prov, const char *uri_text, const schsm_keyref *rec,
                                     int key_type, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg);

/* schsm_login_now(), except that a passphrase callback answering with an empty PIN is not an
 * error: the login is left to the first private-key operation. 1 or 0 (raised). */
int schsm_resolve_login(schsm_provctx *prov, hsm_token *t, const char *pin_source, const char *pin_value,
                        OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg);

/* The same lookup without a key object: 1 when uri_text names exactly one key of key_type on the
 * card, else 0 with the error raised. Repeating it is cheap: the token caches the directory. With
 * cb the PIN is settled here as in schsm_resolve_private_key (which then does not ask again); a
 * callback that gives nothing fails with a message that says how to give a PIN. */
int schsm_resolve_probe(schsm_provctx *prov, const char *uri_text, const schsm_keyref *rec, int key_type,
                        OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg);

#endif
