/* SPDX-License-Identifier: Apache-2.0 */
/* TLS-GROUP capabilities for the EC groups. libssl keeps a group only when the "EC" keymgmt it
 * fetches belongs to a provider that declares the group; with schsm listed first that keymgmt is
 * ours, so without these declarations every ECDHE group would vanish from the handshake. The
 * ephemeral keys are software keys (keymgmt_gen.c), never card keys. */
#include "algs.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/prov_ssl.h>

typedef struct {
    const char *name;         /* IANA name */
    const char *internal;     /* OpenSSL curve name */
    unsigned int id;          /* TLS NamedGroup */
    unsigned int secbits;
    int maxtls;               /* 0 = no maximum */
} tls_group;

static const tls_group groups[] = {
    { "secp192r1", "prime192v1", 19, 80, TLS1_2_VERSION },
    { "secp224r1", "secp224r1", 21, 112, TLS1_2_VERSION },
    { "secp256r1", "prime256v1", 23, 128, 0 },
    { "P-256", "prime256v1", 23, 128, 0 },        /* alias names, as the default provider has */
    { "secp384r1", "secp384r1", 24, 192, 0 },
    { "P-384", "secp384r1", 24, 192, 0 },
    { "secp521r1", "secp521r1", 25, 256, 0 },
    { "P-521", "secp521r1", 25, 256, 0 },
    { "brainpoolP256r1", "brainpoolP256r1", 26, 128, TLS1_2_VERSION },
    { "brainpoolP384r1", "brainpoolP384r1", 27, 192, TLS1_2_VERSION },
    { "brainpoolP512r1", "brainpoolP512r1", 28, 256, TLS1_2_VERSION },
};

int schsm_get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb, void *arg)
{
    if (strcmp(capability, "TLS-GROUP") != 0)
        return 0;
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        const tls_group *g = &groups[i];
        unsigned int id = g->id, secbits = g->secbits;
        int mintls = TLS1_VERSION, maxtls = g->maxtls, mindtls = DTLS1_VERSION;
        int maxdtls = g->maxtls != 0 ? DTLS1_2_VERSION : 0;
        OSSL_PARAM p[] = {
            OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME, (char *)g->name, strlen(g->name)),
            OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL, (char *)g->internal,
                                   strlen(g->internal)),
            OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_ALG, "EC", 2),
            OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_ID, &id),
            OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS, &secbits),
            OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, &mintls),
            OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, &maxtls),
            OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS, &mindtls),
            OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS, &maxdtls),
            OSSL_PARAM_END,
        };
        if (!cb(p, arg))
            return 0;
    }
    return 1;
}
