/* Finding card objects named by a schsm: URI; shared by the store and the key-reference decoder. */
#ifndef SCHSM_RESOLVE_H
#define SCHSM_RESOLVE_H

#include <openssl/core_dispatch.h>

#include "key.h"
#include "provider.h"
#include "uri.h"

/* token= and serial= of u against the token (costs the token information reads, so callers
 * invoke it only when one of them is set). 1 = matches; 0 = error raised naming what was found. */
int schsm_resolve_check_token(schsm_provctx *prov, hsm_token *t, const schsm_uri *u);

/* Raises SCHSM_R_NOT_FOUND: "<what> matching '<search>' on token '<label>' (serial S) in reader R". */
void schsm_resolve_not_found(schsm_provctx *prov, hsm_token *t, const schsm_uri *u, const char *label,
                             const char *what);

/* The one private key that uri_text names (object and/or id required), with the PIN handed to
 * the token (URI, config, then cb). key_type: HSM_KEY_EC / HSM_KEY_RSA to insist on, or 0.
 * The key's recorded URI is uri_text. NULL with an error raised. */
schsm_key *schsm_resolve_private_key(schsm_provctx *prov, const char *uri_text, int key_type,
                                     OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg);

/* The same lookup without PIN or key object: 1 when uri_text names exactly one key of key_type
 * on the card, else 0 with the error raised. Repeating it is cheap: the token caches the directory. */
int schsm_resolve_probe(schsm_provctx *prov, const char *uri_text, int key_type);

#endif
