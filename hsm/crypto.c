/* SPDX-License-Identifier: Apache-2.0 */
#include "hsm/crypto.h"

#include <openssl/provider.h>
#include <pthread.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static OSSL_LIB_CTX *ctx;

static void make_ctx(void)
{
    OSSL_LIB_CTX *c = OSSL_LIB_CTX_new();
    if (c == NULL)
        return;
    if (OSSL_PROVIDER_load(c, "default") == NULL) {
        OSSL_LIB_CTX_free(c);
        return;
    }
    ctx = c;
}

OSSL_LIB_CTX *hsm_libctx(void)
{
    pthread_once(&once, make_ctx);
    return ctx;
}
