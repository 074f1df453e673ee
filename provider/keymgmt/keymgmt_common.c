/* SPDX-License-Identifier: Apache-2.0 */
/* Key management for card keys and host keys. Host keys are public keys OpenSSL imports (peers,
 * certificates) and software keys generated without an explicit card request; all their host
 * crypto runs in hsm_libctx(). Card keys never leave the card: export gives public parts only. */
#include "keymgmt.h"
#include "pool.h"
#include "key.h"
#include "pin.h"
#include "hsm/crypto.h"
#include "hsm/curves.h"
#include "hsm/rv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/params.h>

static const char *type_name(int type)
{
    return type == HSM_KEY_RSA ? "RSA" : "EC";
}

void *schsm_km_new(void *provctx, int type)
{
    return schsm_key_new(provctx, type);
}

void schsm_km_free(void *kd)
{
    schsm_key_free(kd);
}

/* Bits of the selection that matter for has/match/export. */
static int key_sel(int selection)
{
    return selection & (OSSL_KEYMGMT_SELECT_PRIVATE_KEY | OSSL_KEYMGMT_SELECT_PUBLIC_KEY |
                        OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS);
}

int schsm_km_has(const void *kd, int selection)
{
    const schsm_key *k = kd;
    if (k == NULL)
        return 0;
    int want = key_sel(selection);
    if (k->type == HSM_KEY_RSA)
        want &= ~OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS;
    /* Card keys have all parts (the public one is read on demand); no APDU here. */
    return (k->parts & want) == want;
}

int schsm_km_match(const void *a, const void *b, int selection)
{
    schsm_key *k1 = (schsm_key *)a, *k2 = (schsm_key *)b;
    if (k1->type != k2->type)
        return 0;
    if (k1->token != NULL && k1->token == k2->token && k1->card.key_ref == k2->card.key_ref)
        return 1;
    EVP_PKEY *p1 = schsm_key_public(k1), *p2 = schsm_key_public(k2);
    if (p1 == NULL || p2 == NULL)
        return 0;
    if (key_sel(selection) & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_PRIVATE_KEY)) {
        if (!(k1->parts & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) || !(k2->parts & OSSL_KEYMGMT_SELECT_PUBLIC_KEY))
            return 0;
        return EVP_PKEY_eq(p1, p2) == 1;
    }
    return EVP_PKEY_parameters_eq(p1, p2) == 1;
}

static int has_private_material(const OSSL_PARAM params[])
{
    static const char *const names[] = {
        OSSL_PKEY_PARAM_PRIV_KEY, OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
        OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (OSSL_PARAM_locate_const(params, names[i]) != NULL)
            return 1;
    return 0;
}

/* A keymgmt selection as EVP_PKEY_fromdata()/todata() selection bits (0 = nothing asked). */
static int evp_selection(int selection)
{
    int sel = 0;
    if (selection & OSSL_KEYMGMT_SELECT_ALL_PARAMETERS)
        sel |= EVP_PKEY_KEY_PARAMETERS;
    if (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY)
        sel |= EVP_PKEY_PUBLIC_KEY;
    if (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY)
        sel |= EVP_PKEY_KEYPAIR;
    return sel;
}

int schsm_km_import(void *kd, int selection, const OSSL_PARAM params[])
{
    schsm_key *k = kd;
    if (k == NULL || k->token != NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && has_private_material(params)) {
        schsm_raise(k->ctx, SCHSM_R_UNSUPPORTED,
                    "schsm does not import private key material: to bring an existing key onto the "
                    "card, wrap it with the card's DKEK and use schsm-tool unwrap-key "
                    "(or use the key with the default provider)");
        return 0;
    }
    int sel = evp_selection(selection & ~OSSL_KEYMGMT_SELECT_PRIVATE_KEY);
    if (sel == 0)
        return 0;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(hsm_libctx(), type_name(k->type), NULL);
    EVP_PKEY *pk = NULL;
    int ok = pc != NULL && EVP_PKEY_fromdata_init(pc) == 1 && EVP_PKEY_fromdata(pc, &pk, sel, (OSSL_PARAM *)params) == 1;
    EVP_PKEY_CTX_free(pc);
    if (!ok) {
        schsm_raise(k->ctx, SCHSM_R_BAD_ARGS, "cannot import %s public key", type_name(k->type));
        return 0;
    }
    EVP_PKEY_free(k->pub);
    k->pub = pk;
    k->parts = OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;
    if (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY)
        k->parts |= OSSL_KEYMGMT_SELECT_PUBLIC_KEY;
    if (k->type == HSM_KEY_EC) {
        char g[64];
        if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, g, sizeof(g), NULL))
            k->ec_nid = OBJ_sn2nid(g);
    }
    return 1;
}

int schsm_km_export(void *kd, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    schsm_key *k = kd;
    if (k == NULL)
        return 0;
    /* Card keys: refusing a private selection (rather than exporting the public half) makes
     * OpenSSL run the operation in schsm instead of in another provider with a public-only copy. */
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) &&
        (k->token != NULL || !(k->parts & OSSL_KEYMGMT_SELECT_PRIVATE_KEY)))
        return 0;
    EVP_PKEY *pub = schsm_key_public(k);
    if (pub == NULL)
        return 0;
    int sel = evp_selection(selection);
    if (sel == 0)
        return 0;
    OSSL_PARAM *params = NULL;
    if (EVP_PKEY_todata(pub, sel, &params) != 1)
        return 0;
    int ok = cb(params, cbarg);
    /* OSSL_PARAM_clear_free is 3.2+; software keys' private parts must not linger in heap. */
    for (OSSL_PARAM *p = params; p->key != NULL; p++)
        if (p->data != NULL)
            OPENSSL_cleanse(p->data, p->data_size);
    OSSL_PARAM_free(params);
    return ok;
}

void *schsm_km_load(const void *reference, size_t size, int type)
{
    if (reference == NULL || size != sizeof(schsm_key *))
        return NULL;
    schsm_key *k = *(schsm_key *const *)reference;
    if (k == NULL)
        return NULL;
    if (k->type != type) {
        schsm_key_free(k);
        return NULL;
    }
    return k;
}

/* ---- parameters ---- */

static int ec_security_bits(unsigned bits)
{
    if (bits >= 512) return 256;
    if (bits >= 384) return 192;
    if (bits >= 256) return 128;
    if (bits >= 224) return 112;
    if (bits >= 160) return 80;
    return (int)bits / 2;
}

/* Largest DER ECDSA-Sig-Value for an order of `bits` bits. */
static int ecdsa_max_size(unsigned bits)
{
    int ob = (int)(bits + 7) / 8;
    int ilen = ob + 1;                           /* leading zero when the top bit is set */
    int itlv = 1 + (ilen < 128 ? 1 : 2) + ilen;
    int seq = 2 * itlv;
    return 1 + (seq < 128 ? 1 : 2) + seq;
}

int schsm_km_get_params(void *kd, OSSL_PARAM params[])
{
    schsm_key *k = kd;
    if (k == NULL)
        return 0;
    if (k->token == NULL) {
        if (k->pub == NULL)
            return 1;
        /* Host key: OpenSSL's own answers, unchanged. */
        return EVP_PKEY_get_params(k->pub, params);
    }
    /* Card key: size and digest from the key directory, so that loading a key for signing
     * costs no read of its public key; anything else needs the public key. */
    unsigned bits = k->card.bits;
    int need_pub = 0;
    for (OSSL_PARAM *p = params; p->key != NULL; p++) {
        int ok = 1;
        if (strcmp(p->key, OSSL_PKEY_PARAM_BITS) == 0)
            ok = OSSL_PARAM_set_int(p, (int)bits);
        else if (strcmp(p->key, OSSL_PKEY_PARAM_SECURITY_BITS) == 0)
            ok = OSSL_PARAM_set_int(p, k->type == HSM_KEY_RSA ? BN_security_bits((int)bits, -1)
                                                              : ec_security_bits(bits));
        else if (strcmp(p->key, OSSL_PKEY_PARAM_MAX_SIZE) == 0)
            ok = OSSL_PARAM_set_int(p, k->type == HSM_KEY_RSA ? (int)(bits + 7) / 8 : ecdsa_max_size(bits));
        else if (strcmp(p->key, OSSL_PKEY_PARAM_DEFAULT_DIGEST) == 0)
            ok = OSSL_PARAM_set_utf8_string(p, "SHA256");
        else if (strcmp(p->key, OSSL_PKEY_PARAM_PRIV_KEY) == 0 || strcmp(p->key, OSSL_PKEY_PARAM_RSA_D) == 0)
            ok = 1;     /* never available */
        else
            need_pub = 1;
        if (!ok)
            return 0;
    }
    if (!need_pub)
        return 1;
    EVP_PKEY *pub = schsm_key_public(k);
    if (pub == NULL)
        return 0;
    /* Only the parameters not answered above go to OpenSSL, so the card's bits stay authoritative. */
    size_t n = 0;
    while (params[n].key != NULL)
        n++;
    OSSL_PARAM *sub = calloc(n + 1, sizeof(*sub));
    size_t *map = calloc(n + 1, sizeof(*map));
    if (sub == NULL || map == NULL) {
        free(sub);
        free(map);
        return 0;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key = params[i].key;
        if (strcmp(key, OSSL_PKEY_PARAM_BITS) == 0 || strcmp(key, OSSL_PKEY_PARAM_SECURITY_BITS) == 0 ||
            strcmp(key, OSSL_PKEY_PARAM_MAX_SIZE) == 0 || strcmp(key, OSSL_PKEY_PARAM_DEFAULT_DIGEST) == 0 ||
            strcmp(key, OSSL_PKEY_PARAM_PRIV_KEY) == 0 || strcmp(key, OSSL_PKEY_PARAM_RSA_D) == 0)
            continue;
        map[m] = i;
        sub[m++] = params[i];
    }
    sub[m] = OSSL_PARAM_construct_end();
    int ok = EVP_PKEY_get_params(pub, sub);
    for (size_t j = 0; j < m; j++)
        params[map[j]].return_size = sub[j].return_size;
    free(sub);
    free(map);
    return ok;
}

int schsm_km_set_params(void *kd, const OSSL_PARAM params[])
{
    schsm_key *k = kd;
    if (k == NULL)
        return 0;
    if (params == NULL || params[0].key == NULL)
        return 1;
    if (k->token != NULL) {
        /* Nothing about a card key can be changed through OpenSSL. */
        if (OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY) != NULL) {
            schsm_raise(k->ctx, SCHSM_R_UNSUPPORTED, "the public key of a card key cannot be replaced");
            return 0;
        }
        return 1;
    }
    if (k->pub == NULL) {
        schsm_raise(k->ctx, SCHSM_R_BAD_ARGS, "key has no parameters to set the public key against");
        return 0;
    }
    if (EVP_PKEY_set_params(k->pub, (OSSL_PARAM *)params) != 1)
        return 0;
    if (OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY) != NULL)
        k->parts |= OSSL_KEYMGMT_SELECT_PUBLIC_KEY;
    return 1;
}

void *schsm_km_dup(const void *kd, int selection)
{
    const schsm_key *k = kd;
    if (k == NULL)
        return NULL;
    schsm_key *d;
    if (k->token != NULL) {
        d = schsm_key_new_card(k->ctx, k->token, &k->card, k->uri);
        if (d == NULL)
            return NULL;
        pthread_mutex_lock((pthread_mutex_t *)&k->lock);
        if (k->pub != NULL && EVP_PKEY_up_ref(k->pub))
            d->pub = k->pub;
        d->ec_nid = k->ec_nid;
        d->pool = schsm_pool_ref(k->pool);
        pthread_mutex_unlock((pthread_mutex_t *)&k->lock);
        return d;
    }
    d = schsm_key_new(k->ctx, k->type);
    if (d == NULL)
        return NULL;
    d->ec_nid = k->ec_nid;
    if (k->pub != NULL) {
        d->pub = EVP_PKEY_dup(k->pub);
        if (d->pub == NULL) {
            schsm_key_free(d);
            return NULL;
        }
    }
    d->parts = k->parts & (key_sel(selection) | OSSL_KEYMGMT_SELECT_OTHER_PARAMETERS);
    if (d->parts & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_PRIVATE_KEY))
        d->parts |= k->parts & OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;
    return d;
}

int schsm_km_validate(const void *kd, int selection, int checktype)
{
    const schsm_key *k = kd;
    if (k == NULL)
        return 0;
    if (k->token != NULL)
        return 1;   /* the card made it and keeps it */
    if (!schsm_km_has(kd, selection))
        return 0;
    if (k->pub == NULL || !(selection & OSSL_KEYMGMT_SELECT_KEYPAIR))
        return 1;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), k->pub, NULL);
    int ok;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && (k->parts & OSSL_KEYMGMT_SELECT_PRIVATE_KEY))
        ok = pc != NULL && EVP_PKEY_pairwise_check(pc) == 1;
    else
        ok = pc != NULL && EVP_PKEY_public_check(pc) == 1;
    EVP_PKEY_CTX_free(pc);
    return ok;
}
