/* SPDX-License-Identifier: Apache-2.0 */
/* The pool survey (see pool.h). */
#include "hsm/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hsm/crypto.h"
#include "hsm/rv.h"

static int spki_sha256(EVP_PKEY *pub, uint8_t out[32])
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(pub, &der);
    unsigned int n = 0;
    EVP_MD *md = EVP_MD_fetch(hsm_libctx(), "SHA256", NULL);
    int ok = len > 0 && md != NULL && EVP_Digest(der, (size_t)len, out, &n, md, NULL) == 1 && n == 32;
    EVP_MD_free(md);
    OPENSSL_free(der);
    return ok;
}

int hsm_pool_survey_card(hsm_pool_card *c)
{
    c->ok = 0;
    int rv = hsm_token_identity(c->token, c->serial, sizeof(c->serial), c->label, sizeof(c->label));
    if (rv == HSM_OK)
        rv = hsm_token_list_keys(c->token, &c->keys, &c->nkeys);
    if (rv != HSM_OK) {
        snprintf(c->why, sizeof(c->why), "%s", hsm_token_error(c->token));
        return rv;
    }
    c->fp = calloc(c->nkeys ? c->nkeys : 1, sizeof(*c->fp));
    c->fp_ok = calloc(c->nkeys ? c->nkeys : 1, sizeof(*c->fp_ok));
    if (c->fp == NULL || c->fp_ok == NULL) {
        snprintf(c->why, sizeof(c->why), "out of memory");
        return HSM_E_MEM;
    }
    for (size_t i = 0; i < c->nkeys; i++) {
        EVP_PKEY *pub = NULL;
        if (c->keys[i].type == HSM_KEY_AES || hsm_token_public_key(c->token, &c->keys[i], &pub) != HSM_OK)
            continue;
        c->fp_ok[i] = spki_sha256(pub, c->fp[i]);
        EVP_PKEY_free(pub);
    }
    c->ok = 1;
    return HSM_OK;
}

void hsm_pool_card_clear(hsm_pool_card *c)
{
    free(c->keys);
    free(c->fp);
    free(c->fp_ok);
    c->keys = NULL;
    c->fp = NULL;
    c->fp_ok = NULL;
    c->nkeys = 0;
}

/* Does card hold the key with fingerprint fp? Its key index, or -1. */
static long find_fp(const hsm_pool_card *card, const uint8_t fp[32])
{
    for (size_t i = 0; card->ok && i < card->nkeys; i++)
        if (card->fp_ok[i] && memcmp(card->fp[i], fp, 32) == 0)
            return (long)i;
    return -1;
}

static size_t root(size_t *parent, size_t i)
{
    while (parent[i] != i)
        i = parent[i] = parent[parent[i]];
    return i;
}

int hsm_pool_group(const hsm_pool_card *cards, size_t ncards, hsm_pool_key **keys, size_t *nkeys)
{
    hsm_pool_key *out = NULL;
    size_t n = 0;
    size_t *parent = calloc(ncards ? ncards : 1, sizeof(*parent));
    if (parent == NULL)
        return HSM_E_MEM;
    for (size_t i = 0; i < ncards; i++)
        parent[i] = i;
    /* Each distinct fingerprint once, from the first card that holds it. */
    for (size_t ci = 0; ci < ncards; ci++) {
        for (size_t ki = 0; cards[ci].ok && ki < cards[ci].nkeys; ki++) {
            const uint8_t *fp = cards[ci].fp[ki];
            int seen = !cards[ci].fp_ok[ki];
            for (size_t e = 0; e < n && !seen; e++)
                seen = memcmp(out[e].fp, fp, 32) == 0;
            for (size_t cj = 0; cj < ci && !seen; cj++)
                seen = find_fp(&cards[cj], fp) >= 0;
            if (seen)
                continue;
            size_t holders = 0;
            for (size_t cj = ci; cj < ncards; cj++)
                holders += find_fp(&cards[cj], fp) >= 0;
            if (holders < 2)
                continue;
            hsm_pool_key *grown = realloc(out, (n + 1) * sizeof(*out));
            if (grown == NULL)
                goto oom;
            out = grown;
            hsm_pool_key *pk = &out[n++];
            memset(pk, 0, sizeof(*pk));
            const hsm_key *k = &cards[ci].keys[ki];
            memcpy(pk->fp, fp, 32);
            pk->type = k->type;
            pk->bits = k->bits;
            memcpy(pk->label, k->label, sizeof(pk->label));
            memcpy(pk->id, k->id, k->id_len);
            pk->id_len = k->id_len;
            pk->holders = calloc(holders, sizeof(size_t));
            pk->key_refs = calloc(holders, 1);
            pk->missing = calloc(ncards, sizeof(size_t));
            if (pk->holders == NULL || pk->key_refs == NULL || pk->missing == NULL)
                goto oom;
            for (size_t cj = ci; cj < ncards; cj++) {
                long at = find_fp(&cards[cj], fp);
                if (at < 0)
                    continue;
                pk->holders[pk->nholders] = cj;
                pk->key_refs[pk->nholders++] = cards[cj].keys[at].key_ref;
                parent[root(parent, cj)] = root(parent, ci);
            }
        }
    }
    /* Missing: cards of the same group (linked by any shared key) that lack the key. */
    for (size_t e = 0; e < n; e++) {
        size_t g = root(parent, out[e].holders[0]);
        for (size_t cj = 0; cj < ncards; cj++)
            if (cards[cj].ok && root(parent, cj) == g && find_fp(&cards[cj], out[e].fp) < 0)
                out[e].missing[out[e].nmissing++] = cj;
    }
    free(parent);
    *keys = out;
    *nkeys = n;
    return HSM_OK;
oom:
    free(parent);
    hsm_pool_keys_free(out, n);
    return HSM_E_MEM;
}

void hsm_pool_keys_free(hsm_pool_key *keys, size_t nkeys)
{
    for (size_t i = 0; i < nkeys; i++) {
        free(keys[i].holders);
        free(keys[i].key_refs);
        free(keys[i].missing);
    }
    free(keys);
}
