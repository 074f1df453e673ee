/* ECDSA with card keys: the host hashes, the card signs the hash (algorithm 0x70), and its DER
 * (possibly non-minimal) is re-encoded strictly before OpenSSL sees it. */
#include "sig.h"
#include "pool.h"
#include "algs.h"
#include "hsm/card.h"
#include "hsm/ecsig.h"
#include "hsm/rv.h"

#include <string.h>

#include <openssl/core_dispatch.h>

static int ecdsa_max_sig(unsigned bits)
{
    int ilen = (int)(bits + 7) / 8 + 1;
    int itlv = 1 + (ilen < 128 ? 1 : 2) + ilen;
    return 1 + (2 * itlv < 128 ? 1 : 2) + 2 * itlv;
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
    int ok = schsm_key_sign(k, pub, HSM_ALG_ECDSA, tbs, n, &raw);
    EVP_PKEY_free(pub);
    if (!ok) {
        hsm_bytes_free(&raw);
        return 0;
    }
    int rv = hsm_ecdsa_der_normalize(raw.data, raw.len, &der);
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
