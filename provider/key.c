/* SPDX-License-Identifier: Apache-2.0 */
/* The key object: card references and host (public or software) keys. */
#include "key.h"
#include "pool.h"
#include "uri.h"
#include "hsm/rv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>

schsm_key *schsm_key_new(schsm_provctx *ctx, int type)
{
    schsm_key *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return NULL;
    if (pthread_mutex_init(&k->lock, NULL) != 0) {
        free(k);
        return NULL;
    }
    k->ctx = ctx;
    k->type = type;
    k->refs = 1;
    return k;
}

schsm_key *schsm_key_new_card(schsm_provctx *ctx, hsm_token *token, const hsm_key *hk, const char *uri)
{
    schsm_key *k = schsm_key_new(ctx, hk->type);
    if (k == NULL)
        return NULL;
    k->token = token;
    k->card = *hk;
    k->parts = OSSL_KEYMGMT_SELECT_ALL;
    if (uri != NULL) {
        k->uri = strdup(uri);
    } else {
        /* Serial rather than reader: a key-reference file stays valid when the card moves to
         * another reader or port. */
        char buf[32];
        const char *serial = NULL;
        if (hsm_token_serial(token, buf, sizeof(buf)) == HSM_OK && buf[0] != '\0')
            serial = buf;
        k->uri = schsm_uri_for_key(NULL, serial, hk->label, hk->id, hk->id_len);
    }
    if (k->uri == NULL) {
        schsm_key_free(k);
        return NULL;
    }
    return k;
}

schsm_key *schsm_key_ref(schsm_key *k)
{
    if (k == NULL)
        return NULL;
    pthread_mutex_lock(&k->lock);
    k->refs++;
    pthread_mutex_unlock(&k->lock);
    return k;
}

void schsm_key_free(schsm_key *k)
{
    if (k == NULL)
        return;
    pthread_mutex_lock(&k->lock);
    int left = --k->refs;
    pthread_mutex_unlock(&k->lock);
    if (left > 0)
        return;
    EVP_PKEY_free(k->pub);
    schsm_pool_free(k->pool);
    free(k->uri);
    pthread_mutex_destroy(&k->lock);
    OPENSSL_cleanse(k, sizeof(*k));
    free(k);
}

static int nid_of(EVP_PKEY *pub)
{
    char name[64];
    if (EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), NULL))
        return OBJ_sn2nid(name);
    return 0;
}

EVP_PKEY *schsm_key_public(schsm_key *k)
{
    pthread_mutex_lock(&k->lock);
    EVP_PKEY *pub = k->pub;
    if (pub == NULL && k->token != NULL) {
        int rv = hsm_token_public_key(k->token, &k->card, &pub);
        if (rv != HSM_OK) {
            pub = NULL;
            schsm_raise_token(k->ctx, k->token, rv);
        } else {
            k->pub = pub;
            if (k->type == HSM_KEY_EC)
                k->ec_nid = nid_of(pub);
        }
    } else if (pub == NULL) {
        schsm_raise(k->ctx, SCHSM_R_BAD_ARGS, "key has no public part");
    }
    pthread_mutex_unlock(&k->lock);
    return pub;
}

EVP_PKEY *schsm_key_loaded_public(schsm_key *k)
{
    pthread_mutex_lock(&k->lock);
    EVP_PKEY *pub = k->pub;
    if (pub != NULL && !EVP_PKEY_up_ref(pub))
        pub = NULL;
    pthread_mutex_unlock(&k->lock);
    return pub;
}

int schsm_key_set_public(schsm_key *k, EVP_PKEY *pub)
{
    if (pub == NULL)
        return 0;
    pthread_mutex_lock(&k->lock);
    EVP_PKEY_free(k->pub);
    k->pub = pub;
    if (k->type == HSM_KEY_EC)
        k->ec_nid = nid_of(pub);
    pthread_mutex_unlock(&k->lock);
    return 1;
}
