/* SPDX-License-Identifier: Apache-2.0 */
/* ECDSA with card keys: the host hashes, the card signs the hash (algorithm 0x70), and its DER
 * (possibly non-minimal) is re-encoded strictly before OpenSSL sees it. A key whose algorithm
 * list leaves out 0x70 but allows the card to hash (ecdsa-sha256 ...) gets the whole message
 * with that algorithm instead; the list is read only after the card refused 0x70 once. */
#include "sig.h"
#include "pool.h"
#include "algs.h"
#include "hsm/card.h"
#include "hsm/ecsig.h"
#include "hsm/rv.h"
#include "hsm/algs.h"
#include "hsm/crypto.h"

#include <stdio.h>

#include <string.h>

#include <openssl/core_dispatch.h>

static int ecdsa_max_sig(unsigned bits)
{
    int ilen = (int)(bits + 7) / 8 + 1;
    int itlv = 1 + (ilen < 128 ? 1 : 2) + ilen;
    return 1 + (2 * itlv < 128 ? 1 : 2) + 2 * itlv;
}

/* The list excludes 0x70: sign with the card-hashing algorithm of the digest when the list has it
 * and the whole message is at hand, verifying the result on the host. Returns an HSM_* code, or
 * -1 after raising an error that shows the list. */
static int sign_card_hashed(schsm_sigctx *c, const hsm_alg_list *l, EVP_PKEY *pub, const unsigned char *tbs,
                            size_t tbslen, hsm_bytes *raw)
{
    schsm_key *k = c->key;
    char names[HSM_ALGS_MAX * 24];
    hsm_alg_list_text(l->ids, l->n, names, sizeof(names));
    int nib = schsm_sig_card_hash_nibble(c->md);
    uint8_t alg = nib ? (uint8_t)(HSM_ALG_ECDSA | nib) : 0, hashing = 0;
    for (size_t i = 0; i < l->n && hashing == 0; i++)
        if (l->ids[i] >= HSM_ALG_ECDSA_SHA1 && l->ids[i] <= HSM_ALG_ECDSA_SHA512)
            hashing = l->ids[i];
    if (hashing == 0) {
        schsm_raise(c->pctx, SCHSM_R_UNSUPPORTED, "key \"%s\" may not make ECDSA signatures: its algorithm list "
                    "allows only %s", k->card.label, l->n ? names : "nothing");
        return -1;
    }
    if (alg == 0 || !hsm_alg_list_allows(l, alg) || !c->msg_whole) {
        /* ecdsa-sha1 .. -sha512 are 71..75: the digest is the one of that name */
        static const char *const md[] = { "sha1", "sha224", "sha256", "sha384", "sha512" };
        schsm_raise(c->pctx, SCHSM_R_UNSUPPORTED,
                    "key \"%s\" allows only %s: the card hashes, so it needs the message itself (at most %d "
                    "bytes) with that digest, not %s; sign with openssl dgst -%s -sign (EVP_DigestSign)",
                    k->card.label, names, SCHSM_SIG_MSG_MAX,
                    !c->msg_whole ? (c->md != NULL && c->msg_over ? "a longer message" : "a digest")
                                  : EVP_MD_get0_name(c->md),
                    md[hashing - HSM_ALG_ECDSA_SHA1]);
        return -1;
    }
    int rv = hsm_token_sign(k->token, &k->card, alg, c->msg.data, c->msg.len, raw);
    if (rv != HSM_OK)
        return rv;
    /* The token checks 0x70 signatures itself; this one is checked here, over the digest. */
    EVP_PKEY *check = pub != NULL ? pub : schsm_key_public(k);
    hsm_bytes der = HSM_BYTES_INIT;
    int ok = check != NULL && hsm_ecdsa_der_normalize(raw->data, raw->len, &der) == HSM_OK;
    if (ok) {
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), check, NULL);
        ok = pc != NULL && EVP_PKEY_verify_init(pc) == 1 &&
             EVP_PKEY_verify(pc, der.data, der.len, tbs, tbslen) == 1;
        EVP_PKEY_CTX_free(pc);
    }
    hsm_bytes_free(&der);
    if (!ok) {
        hsm_bytes_clear(raw);
        schsm_raise(c->pctx, SCHSM_R_CARD, "the card's %s signature with key \"%s\" does not verify with its "
                    "public key: check the card", hsm_alg_name(alg), k->card.label);
        return -1;
    }
    return HSM_OK;
}

static int ecdsa_card_sign(schsm_sigctx *c, unsigned char *sig, size_t *siglen, size_t sigsize,
                           const unsigned char *tbs, size_t tbslen)
{
    schsm_key *k = c->key;
    size_t max = (size_t)ecdsa_max_sig(k->card.bits);
    if (sig == NULL) {
        *siglen = max;
        return 1;
    }
    /* The card takes at most the field length of hash bytes: truncating the leftmost bytes is
     * the ECDSA rule for the card's curves, whose order is as long as the field. */
    size_t flen = hsm_ecdsa_field_len(k->card.bits);
    size_t n = tbslen < flen ? tbslen : flen;
    hsm_bytes raw = HSM_BYTES_INIT, der = HSM_BYTES_INIT;
    EVP_PKEY *pub = schsm_key_loaded_public(k);
    hsm_alg_list l;
    hsm_token_key_algorithms(k->token, &k->card, 0, &l);   /* what is known; no APDU */
    hsm_token *who = k->token;
    int rv;
    if (hsm_alg_list_allows(&l, HSM_ALG_ECDSA)) {
        rv = schsm_key_sign_rv(k, pub, HSM_ALG_ECDSA, tbs, n, &raw, &who);
        if (rv == HSM_E_SW)   /* a refusal read the list: maybe the card may hash instead */
            hsm_token_key_algorithms(k->token, &k->card, 0, &l);
    } else {
        rv = HSM_E_SW;
    }
    if (rv == HSM_E_SW && !hsm_alg_list_allows(&l, HSM_ALG_ECDSA)) {
        rv = sign_card_hashed(c, &l, pub, tbs, tbslen, &raw);
        if (rv < 0) {   /* message raised */
            EVP_PKEY_free(pub);
            hsm_bytes_free(&raw);
            return 0;
        }
        who = k->token;
    }
    EVP_PKEY_free(pub);
    if (rv != HSM_OK) {
        schsm_raise_token(c->pctx, who, rv);
        hsm_bytes_free(&raw);
        return 0;
    }
    rv = hsm_ecdsa_der_normalize(raw.data, raw.len, &der);
    hsm_bytes_free(&raw);
    if (rv != HSM_OK) {
        schsm_raise(c->pctx, SCHSM_R_CARD, "the card returned a malformed ECDSA signature");
        hsm_bytes_free(&der);
        return 0;
    }
    if (der.len > sigsize) {
        schsm_raise(c->pctx, SCHSM_R_BAD_ARGS, "signature buffer too small (%zu < %zu)", sigsize, der.len);
        hsm_bytes_free(&der);
        return 0;
    }
    memcpy(sig, der.data, der.len);
    *siglen = der.len;
    hsm_bytes_free(&der);
    return 1;
}

static void *ecdsa_newctx(void *provctx, const char *propq)
{
    return schsm_sig_newctx(provctx, HSM_KEY_EC, ecdsa_card_sign);
}

static const OSSL_PARAM *ecdsa_gettable(void *vc, void *provctx) { return schsm_sig_gettable(HSM_KEY_EC); }
static const OSSL_PARAM *ecdsa_settable(void *vc, void *provctx) { return schsm_sig_settable(HSM_KEY_EC); }

const OSSL_DISPATCH schsm_ecdsa_signature_functions[] = {
    { OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))ecdsa_newctx },
    SCHSM_SIG_COMMON_DISPATCH,
    { OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))ecdsa_gettable },
    { OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))ecdsa_settable },
    { 0, NULL },
};
