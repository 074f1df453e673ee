/* SPDX-License-Identifier: Apache-2.0 */
/* Key generation. A key is made on the card only when the caller asks for it explicitly with a
 * "label" (and optionally "id") parameter. Everything else - TLS ephemeral keys, parameter
 * generation, a genpkey without label - is a software key in hsm_libctx(), so schsm listed
 * first never puts throwaway keys on the card nor breaks a handshake. */
#include "keymgmt.h"
#include "key.h"
#include "pin.h"
#include "hsm/crypto.h"
#include "hsm/curves.h"
#include "hsm/rv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

typedef struct {
    schsm_provctx *ctx;
    int type;
    int selection;
    char group[64];
    char encoding[32];
    char point_format[32];
    size_t bits;
    size_t primes;
    BIGNUM *e;
    char *label;
    uint8_t id[HSM_ID_MAX];
    size_t id_len;
    char *reader;
    char *pin_source;
    char *pin_value;
} schsm_gen;

void schsm_km_gen_cleanup(void *genctx)
{
    schsm_gen *g = genctx;
    if (g == NULL)
        return;
    BN_free(g->e);
    free(g->label);
    free(g->reader);
    free(g->pin_source);
    if (g->pin_value != NULL) {
        OPENSSL_cleanse(g->pin_value, strlen(g->pin_value));
        free(g->pin_value);
    }
    OPENSSL_cleanse(g, sizeof(*g));
    free(g);
}

void *schsm_km_gen_init(void *provctx, int selection, const OSSL_PARAM params[], int type)
{
    schsm_gen *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->ctx = provctx;
    g->type = type;
    g->selection = selection;
    g->bits = 2048;
    if (!schsm_km_gen_set_params(g, params)) {
        schsm_km_gen_cleanup(g);
        return NULL;
    }
    return g;
}

int schsm_km_gen_set_template(void *genctx, void *templ)
{
    schsm_gen *g = genctx;
    schsm_key *t = templ;
    if (g == NULL || t == NULL || t->type != HSM_KEY_EC)
        return 1;
    EVP_PKEY *pub = t->token != NULL ? schsm_key_public(t) : t->pub;
    if (pub == NULL)
        return 0;
    return EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, g->group, sizeof(g->group), NULL);
}

static int set_str(const OSSL_PARAM *p, char **dst)
{
    char *v = NULL;
    if (!OSSL_PARAM_get_utf8_string(p, &v, 0))
        return 0;
    if (*dst != NULL) {
        OPENSSL_cleanse(*dst, strlen(*dst));
        free(*dst);
    }
    *dst = strdup(v);
    OPENSSL_cleanse(v, strlen(v));
    OPENSSL_free(v);
    return *dst != NULL;
}

static int set_buf(const OSSL_PARAM *p, char *dst, size_t cap)
{
    char *v = dst;
    return OSSL_PARAM_get_utf8_string(p, &v, cap);
}

int schsm_km_gen_set_params(void *genctx, const OSSL_PARAM params[])
{
    schsm_gen *g = genctx;
    const OSSL_PARAM *p;
    if (g == NULL)
        return 0;
    if (params == NULL)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME)) != NULL &&
        !set_buf(p, g->group, sizeof(g->group)))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_EC_ENCODING)) != NULL &&
        !set_buf(p, g->encoding, sizeof(g->encoding)))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT)) != NULL &&
        !set_buf(p, g->point_format, sizeof(g->point_format)))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_BITS)) != NULL &&
        !OSSL_PARAM_get_size_t(p, &g->bits))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_PRIMES)) != NULL &&
        !OSSL_PARAM_get_size_t(p, &g->primes))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_E)) != NULL &&
        !OSSL_PARAM_get_BN(p, &g->e))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, SCHSM_GEN_LABEL)) != NULL && !set_str(p, &g->label))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, SCHSM_GEN_READER)) != NULL && !set_str(p, &g->reader))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, SCHSM_GEN_PIN_SOURCE)) != NULL && !set_str(p, &g->pin_source))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, SCHSM_GEN_PIN_VALUE)) != NULL && !set_str(p, &g->pin_value))
        return 0;
    if ((p = OSSL_PARAM_locate_const(params, SCHSM_GEN_ID)) != NULL) {
        size_t n = 0;
        void *dst = g->id;
        if (!OSSL_PARAM_get_octet_string(p, &dst, sizeof(g->id), &n) || n == 0) {
            schsm_raise(g->ctx, SCHSM_R_BAD_ARGS, "key id must be 1 to %d bytes (use -pkeyopt hexid:HEX)",
                        HSM_ID_MAX);
            return 0;
        }
        g->id_len = n;
    }
    return 1;
}

/* ---- software keys ---- */

static void *gen_host(schsm_gen *g)
{
    const char *name = g->type == HSM_KEY_RSA ? "RSA" : "EC";
    int keypair = (g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(hsm_libctx(), name, NULL);
    EVP_PKEY *pk = NULL;
    OSSL_PARAM ps[8];
    size_t n = 0;
    if (g->type == HSM_KEY_EC) {
        if (g->group[0] == '\0') {
            schsm_raise(g->ctx, SCHSM_R_BAD_ARGS, "no EC group given (-pkeyopt group:P-256)");
            EVP_PKEY_CTX_free(pc);
            return NULL;
        }
        ps[n++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, g->group, 0);
        if (g->encoding[0] != '\0')
            ps[n++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, g->encoding, 0);
        if (g->point_format[0] != '\0')
            ps[n++] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                                       g->point_format, 0);
    } else {
        ps[n++] = OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &g->bits);
        if (g->primes != 0)
            ps[n++] = OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_PRIMES, &g->primes);
    }
    ps[n] = OSSL_PARAM_construct_end();
    int ok = pc != NULL;
    if (ok && keypair)
        ok = EVP_PKEY_keygen_init(pc) == 1 && EVP_PKEY_CTX_set_params(pc, ps) == 1 &&
             (g->e == NULL || EVP_PKEY_CTX_set1_rsa_keygen_pubexp(pc, g->e) == 1) &&
             EVP_PKEY_generate(pc, &pk) == 1;
    else if (ok && g->type == HSM_KEY_EC)
        ok = EVP_PKEY_paramgen_init(pc) == 1 && EVP_PKEY_CTX_set_params(pc, ps) == 1 &&
             EVP_PKEY_generate(pc, &pk) == 1;
    else
        ok = 0;
    EVP_PKEY_CTX_free(pc);
    if (!ok) {
        schsm_raise(g->ctx, SCHSM_R_BAD_ARGS, "%s key generation failed", name);
        return NULL;
    }
    schsm_key *k = schsm_key_new(g->ctx, g->type);
    if (k == NULL) {
        EVP_PKEY_free(pk);
        return NULL;
    }
    k->pub = pk;
    k->parts = OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;
    if (keypair)
        k->parts |= OSSL_KEYMGMT_SELECT_KEYPAIR;
    if (g->type == HSM_KEY_EC)
        k->ec_nid = OBJ_sn2nid(g->group) != NID_undef ? OBJ_sn2nid(g->group) : EC_curve_nist2nid(g->group);
    return k;
}

/* ---- card keys ---- */

static void *gen_card(schsm_gen *g)
{
    hsm_keygen_params kp;
    memset(&kp, 0, sizeof(kp));
    kp.key_domain = -1;
    kp.label = g->label;
    kp.id = g->id_len != 0 ? g->id : NULL;
    kp.id_len = g->id_len;
    if (g->type == HSM_KEY_EC) {
        const hsm_curve *c = hsm_curve_by_name(g->group[0] != '\0' ? g->group : "prime256v1");
        if (c == NULL) {
            schsm_raise(g->ctx, SCHSM_R_UNSUPPORTED, "the SmartCard-HSM does not support EC group %s",
                        g->group);
            return NULL;
        }
        kp.type = HSM_KEY_EC;
        kp.ec_nid = c->nid;
    } else {
        if (g->e != NULL && !BN_is_word(g->e, 65537)) {
            schsm_raise(g->ctx, SCHSM_R_UNSUPPORTED, "card RSA keys use the public exponent 65537");
            return NULL;
        }
        if (g->bits < 1024 || g->bits > 4096 || g->bits % 8 != 0) {
            schsm_raise(g->ctx, SCHSM_R_UNSUPPORTED,
                        "the SmartCard-HSM makes RSA keys of 1024 to 4096 bits in steps of 8 (asked: %zu)",
                        g->bits);
            return NULL;
        }
        kp.type = HSM_KEY_RSA;
        kp.rsa_bits = (unsigned)g->bits;
    }
    hsm_token *t = schsm_token_get(g->ctx, g->reader);
    if (t == NULL)
        return NULL;
    if (!schsm_login_for(g->ctx, t, g->pin_source, g->pin_value, NULL, NULL))
        return NULL;
    hsm_key hk;
    int rv = hsm_token_generate(t, &kp, &hk);
    if (rv != HSM_OK) {
        schsm_raise_token(g->ctx, t, rv);
        return NULL;
    }
    schsm_key *k = schsm_key_new_card(g->ctx, t, &hk, NULL);
    if (k == NULL)
        schsm_raise(g->ctx, SCHSM_R_INTERNAL, "out of memory after generating key %s on the card", hk.label);
    return k;
}

void *schsm_km_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
    schsm_gen *g = genctx;
    if (g == NULL)
        return NULL;
    int card = g->label != NULL || g->id_len != 0;
    if (card && !(g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR)) {
        schsm_raise(g->ctx, SCHSM_R_BAD_ARGS, "a label or id asks for a key on the card; parameters alone cannot be made there");
        return NULL;
    }
    if (card && g->label == NULL) {
        schsm_raise(g->ctx, SCHSM_R_BAD_ARGS, "a card key needs a label (-pkeyopt label:NAME)");
        return NULL;
    }
    return card ? gen_card(g) : gen_host(g);
}
