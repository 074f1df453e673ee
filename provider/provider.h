/* SPDX-License-Identifier: Apache-2.0 */
/* Provider-wide context shared by every operation file. */
#ifndef SCHSM_PROVIDER_H
#define SCHSM_PROVIDER_H

#include <stddef.h>
#include <pthread.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

#include "hsm/token.h"

typedef struct schsm_provctx {
    const OSSL_CORE_HANDLE *handle;
    OSSL_LIB_CTX *libctx;           /* child library context of the application */
    char *cfg_reader;               /* openssl.cnf "reader" */
    char *cfg_pin_source;           /* openssl.cnf "pin-source" */
    char *cfg_serial;               /* openssl.cnf "serial" */
    char *cfg_token;                /* openssl.cnf "token" */
    char *cfg_pool;                 /* openssl.cnf "pool" (yes/no/name, see pool.h) */
    char *cfg_select;               /* "serial=V" / "token=L" from them: the reader spec when no
                                     * "reader" is configured */
    pthread_mutex_t lock;           /* guards the token list */
    struct schsm_token_slot *tokens;/* open tokens, one per reader spec, reopened after fork */
    /* config lookups after init (pool.c asks for "pin-source-SERIAL") */
    OSSL_FUNC_core_get_params_fn *core_get_params;
    /* core error functions, looked up at init */
    OSSL_FUNC_core_new_error_fn *core_new_error;
    OSSL_FUNC_core_set_error_debug_fn *core_set_error_debug;
    OSSL_FUNC_core_vset_error_fn *core_vset_error;
} schsm_provctx;

/* Reason codes (see provider.c for the strings). */
enum {
    SCHSM_R_CARD = 1,          /* card or reader error; message says which */
    SCHSM_R_PIN,               /* PIN missing, refused or wrong */
    SCHSM_R_NOT_FOUND,
    SCHSM_R_AMBIGUOUS,
    SCHSM_R_BAD_URI,
    SCHSM_R_UNSUPPORTED,       /* e.g. importing private key material */
    SCHSM_R_BAD_ARGS,
    SCHSM_R_INTERNAL,
};

/* Raises an OpenSSL error with our reason and a formatted message (never a secret). */
void schsm_raise(const schsm_provctx *ctx, int reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Raises the token's last error (hsm_token_error) with a reason derived from rv. */
void schsm_raise_token(const schsm_provctx *ctx, hsm_token *t, int rv);

/* The token for a reader spec (NULL = config "reader", then config "serial"/"token", then
 * SCHSM_READER, then the first SmartCard-HSM). Tokens live as long as the provider; after fork() the child gets fresh ones. */
hsm_token *schsm_token_get(schsm_provctx *ctx, const char *reader_spec);

/* Reads a PIN from "file:PATH" or "env:NAME". Returns 1 and the length, 0 on error (raised). */
int schsm_pin_from_source(const schsm_provctx *ctx, const char *source, char *buf, size_t cap, size_t *len);

#endif
