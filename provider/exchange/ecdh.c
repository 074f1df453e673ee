/* SPDX-License-Identifier: Apache-2.0 */
/* ECDH with a card key: the card multiplies the peer's uncompressed point (DECIPHER 0x80) and the
 * shared secret is the X coordinate: the field-length bytes after the answer's first byte.
 * Software keys (see keymgmt_gen.c) derive on the host. */
#include "algs.h"
#include "key.h"
#include "pool.h"
#include "hsm/card.h"
#include "hsm/crypto.h"
#include "hsm/ecsig.h"
#include "hsm/rv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/params.h>

typedef struct {
    schsm_provctx *pctx;
    schsm_key *key;
    schsm_key *peer;
} ecdh_ctx;

static void *ecdh_newctx(void *provctx)
{
    ecdh_ctx *c = calloc(1, sizeof(*c));
    if (c != NULL)
        c->pctx = provctx;
    return c;
}

static void ecdh_freectx(void *vc)
{
    ecdh_ctx *c = vc;
    if (c == NULL)
        return;
    schsm_key_free(c->key);
    schsm_key_free(c->peer);
    free(c);
}

static void *ecdh_dupctx(void *vc)
{
    ecdh_ctx *c = vc, *d = malloc(sizeof(*d));
    if (d == NULL)
        return NULL;
    *d = *c;
    schsm_key_ref(d->key);
    schsm_key_ref(d->peer);
    return d;
}

static int ecdh_init(void *vc, void *vkey, const OSSL_PARAM params[])
{
    ecdh_ctx *c = vc;
    schsm_key *k = vkey;
    if (k == NULL || k->type != HSM_KEY_EC ||
        (k->token == NULL && !(k->parts & OSSL_KEYMGMT_SELECT_PRIVATE_KEY))) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "ECDH needs an EC private key");
        return 0;
    }
    schsm_key_free(c->key);
    c->key = schsm_key_ref(k);
    return 1;
}

static int ecdh_set_peer(void *vc, void *vpeer)
{
    ecdh_ctx *c = vc;
    schsm_key *p = vpeer;
    if (p == NULL || p->type != HSM_KEY_EC) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "ECDH peer must be an EC public key");
        return 0;
    }
    schsm_key_free(c->peer);
    c->peer = schsm_key_ref(p);
    return 1;
}

/* Peer point uncompressed (the card takes only 04||X||Y), checked to be on our curve. */
static int peer_point(ecdh_ctx *c, EVP_PKEY *mine, EVP_PKEY *peer, hsm_bytes *out)
{
    char g1[64], g2[64];
    unsigned char buf[160];
    size_t len = 0;
    if (!EVP_PKEY_get_utf8_string_param(mine, OSSL_PKEY_PARAM_GROUP_NAME, g1, sizeof(g1), NULL) ||
        !EVP_PKEY_get_utf8_string_param(peer, OSSL_PKEY_PARAM_GROUP_NAME, g2, sizeof(g2), NULL) ||
        strcmp(g1, g2) != 0) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "ECDH peer key is on a different curve");
        return 0;
    }
    if (!EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf), &len) || len == 0)
        return 0;
    EC_GROUP *grp = EC_GROUP_new_by_curve_name_ex(hsm_libctx(), NULL, OBJ_sn2nid(g1));
    EC_POINT *pt = grp != NULL ? EC_POINT_new(grp) : NULL;
    int ok = pt != NULL && EC_POINT_oct2point(grp, pt, buf, len, NULL) == 1 &&
             EC_POINT_is_on_curve(grp, pt, NULL) == 1;
    if (ok) {
        len = EC_POINT_point2oct(grp, pt, POINT_CONVERSION_UNCOMPRESSED, buf, sizeof(buf), NULL);
        ok = len > 0 && hsm_bytes_set(out, buf, len) == HSM_OK;
    }
    EC_POINT_free(pt);
    EC_GROUP_free(grp);
    if (!ok)
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "ECDH peer point is not valid");
    return ok;
}

static int ecdh_derive(void *vc, unsigned char *secret, size_t *secretlen, size_t outlen)
{
    ecdh_ctx *c = vc;
    if (c->key == NULL || c->peer == NULL) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "ECDH needs a key and a peer");
        return 0;
    }
    EVP_PKEY *peer = schsm_key_public(c->peer);
    if (peer == NULL)
        return 0;
    if (c->key->token == NULL) {
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), c->key->pub, NULL);
        size_t len = outlen;
        int ok = pc != NULL && EVP_PKEY_derive_init(pc) == 1 && EVP_PKEY_derive_set_peer(pc, peer) == 1 &&
                 EVP_PKEY_derive(pc, secret, secret != NULL ? &len : secretlen) == 1;
        if (ok && secret != NULL)
            *secretlen = len;
        EVP_PKEY_CTX_free(pc);
        return ok;
    }
    size_t flen = hsm_ecdsa_field_len(c->key->card.bits);
    if (secret == NULL) {
        *secretlen = flen;
        return 1;
    }
    if (outlen < flen) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "ECDH output buffer too small");
        return 0;
    }
    EVP_PKEY *mine = schsm_key_public(c->key);
    if (mine == NULL)
        return 0;
    hsm_bytes pt = HSM_BYTES_INIT, out = HSM_BYTES_INIT;
    int ok = peer_point(c, mine, peer, &pt);
    if (ok) {
        if (!schsm_key_decipher(c->key, HSM_ALG_ECDH, pt.data, pt.len, &out)) {
            ok = 0;
        } else if (out.len < 1 + flen) {
            schsm_raise(c->pctx, SCHSM_R_CARD, "the card's ECDH answer is too short (%zu bytes)", out.len);
            ok = 0;
        } else {
            memcpy(secret, out.data + 1, flen);
            *secretlen = flen;
        }
    }
    hsm_bytes_free(&pt);
    hsm_bytes_free(&out);
    return ok;
}

static int ecdh_set_ctx_params(void *vc, const OSSL_PARAM params[])
{
    ecdh_ctx *c = vc;
    const OSSL_PARAM *p;
    if (params == NULL)
        return 1;
    /* Only the plain X coordinate is offered; a KDF or cofactor mode must go elsewhere. */
    if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_TYPE)) != NULL) {
        const char *s = NULL;
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &s) || (*s != '\0' && strcmp(s, "") != 0)) {
            schsm_raise(c->pctx, SCHSM_R_UNSUPPORTED, "ECDH with a KDF is not supported");
            return 0;
        }
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE)) != NULL) {
        int mode = 0;
        if (!OSSL_PARAM_get_int(p, &mode) || mode > 0) {
            schsm_raise(c->pctx, SCHSM_R_UNSUPPORTED, "ECDH cofactor mode is not supported");
            return 0;
        }
    }
    return 1;
}

static const OSSL_PARAM ecdh_settable[] = {
    OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, NULL),
    OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, NULL, 0),
    OSSL_PARAM_END,
};
static const OSSL_PARAM *ecdh_settable_ctx_params(void *vc, void *provctx) { return ecdh_settable; }

static int ecdh_get_ctx_params(void *vc, OSSL_PARAM params[]) { return 1; }
static const OSSL_PARAM ecdh_gettable[] = { OSSL_PARAM_END };
static const OSSL_PARAM *ecdh_gettable_ctx_params(void *vc, void *provctx) { return ecdh_gettable; }

const OSSL_DISPATCH schsm_ecdh_keyexch_functions[] = {
    { OSSL_FUNC_KEYEXCH_NEWCTX, (void (*)(void))ecdh_newctx },
    { OSSL_FUNC_KEYEXCH_INIT, (void (*)(void))ecdh_init },
    { OSSL_FUNC_KEYEXCH_SET_PEER, (void (*)(void))ecdh_set_peer },
    { OSSL_FUNC_KEYEXCH_DERIVE, (void (*)(void))ecdh_derive },
    { OSSL_FUNC_KEYEXCH_FREECTX, (void (*)(void))ecdh_freectx },
    { OSSL_FUNC_KEYEXCH_DUPCTX, (void (*)(void))ecdh_dupctx },
    { OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, (void (*)(void))ecdh_set_ctx_params },
    { OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS, (void (*)(void))ecdh_settable_ctx_params },
    { OSSL_FUNC_KEYEXCH_GET_CTX_PARAMS, (void (*)(void))ecdh_get_ctx_params },
    { OSSL_FUNC_KEYEXCH_GETTABLE_CTX_PARAMS, (void (*)(void))ecdh_gettable_ctx_params },
    { 0, NULL },
};
