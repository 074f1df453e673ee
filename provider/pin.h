/* SPDX-License-Identifier: Apache-2.0 */
/* Getting a PIN to the token before a private-key operation, from the first source that is set:
 * the URI (pin-value, then pin-source), the provider config pin-source, then OpenSSL's
 * passphrase callback (asked only when the card really needs a PIN right now). */
#ifndef SCHSM_PIN_H
#define SCHSM_PIN_H

#include <openssl/core_dispatch.h>

#include "provider.h"

#define SCHSM_PIN_MAX 64

/* The card's length rule for a PIN of len characters, before any APDU: 1, or 0 with the error
 * raised ("<what> ...; nothing was sent to the card", never the PIN). */
int schsm_pin_len_ok(schsm_provctx *ctx, size_t len, const char *what);

/* Hands the token a PIN for its next login. A PIN from the URI or the config is only handed
 * over (no APDU); the callback is used only when hsm_token_needs_pin() says a login is due.
 * Returns 1 on success or when no PIN is needed/available yet (the operation itself then
 * reports "PIN not verified"), 0 with an error raised when a source is unusable.
 * The caller's strings are not copied beyond the call; the PIN is cleansed before return. */
int schsm_login_for(schsm_provctx *ctx, hsm_token *t, const char *uri_pin_source,
                    const char *uri_pin_value, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg);

/* The same sources, for a private key that is being handed to the application (a key-reference
 * file or a store URI naming a key): logs in now, so that a wrong or missing PIN fails the load
 * (a server then refuses to start instead of failing handshakes later) and a server's master
 * process is logged in before it forks its workers. One PIN-status query and at most one VERIFY;
 * none when this session is logged in already. The callback is asked only when no PIN is held and
 * the card's status allows sending one. Returns 1, or 0 with an error raised. */
int schsm_login_now(schsm_provctx *ctx, hsm_token *t, const char *uri_pin_source,
                    const char *uri_pin_value, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg);

#endif
