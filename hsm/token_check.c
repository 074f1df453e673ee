/* SPDX-License-Identifier: Apache-2.0 */
/* Binding key handles to the key on the card.
 *
 * A handle (hsm_key) names a key by reference, label, ID and type, which another card or a
 * re-initialised one can repeat exactly (OpenSC makes a new key under the same label and ID, and
 * the lowest free reference is the same). So a handle also carries the identity generation of its
 * lookup, and a handle from an older generation must prove that the key at its reference is still
 * its key: by its public key when the caller knows it, else by a signature made through a
 * validated handle before the change (the witness), which must verify with the public key now
 * found at that reference. Neither costs an APDU while nothing changes; after a change, one read of
 * CEnn (or CBnn). */
#include "hsm/token_int.h"
#include "hsm/crypto.h"
#include "hsm/ecsig.h"
#include "hsm/rv.h"
#include "hsm/trace.h"

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

static int ecdsa_verifies(EVP_PKEY *pub, const uint8_t *in, size_t len, const uint8_t *sig, size_t sig_len)
{
    hsm_bytes der = HSM_BYTES_INIT;
    if (hsm_ecdsa_der_normalize(sig, sig_len, &der) != HSM_OK)
        return 0;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), pub, NULL);
    int ok = c != NULL && EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_verify(c, der.data, der.len, in, len) == 1;
    EVP_PKEY_CTX_free(c);
    hsm_bytes_free(&der);
    return ok;
}

/* Raw RSA: the public operation on the card's result must give back the block it was given. */
static int rsa_raw_verifies(EVP_PKEY *pub, const uint8_t *in, size_t len, const uint8_t *sig, size_t sig_len)
{
    int size = EVP_PKEY_get_size(pub);
    if (size <= 0 || (size_t)size != len || sig_len == 0 || sig_len > len)
        return 0;
    uint8_t *s = calloc(1, len), *m = calloc(1, len);
    size_t mlen = len;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), pub, NULL);
    int ok = s != NULL && m != NULL && c != NULL;
    if (ok) {
        memcpy(s + len - sig_len, sig, sig_len);   /* a card may drop leading zero bytes */
        ok = EVP_PKEY_verify_recover_init(c) == 1 && EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) == 1 &&
             EVP_PKEY_verify_recover(c, m, &mlen, s, len) == 1 && mlen == len && memcmp(m, in, len) == 0;
    }
    EVP_PKEY_CTX_free(c);
    if (m != NULL)
        OPENSSL_cleanse(m, len);
    free(s);
    free(m);
    return ok;
}

int tok_sig_verifies(EVP_PKEY *pub, uint8_t alg, const uint8_t *in, size_t len, const uint8_t *sig,
                     size_t sig_len)
{
    if (alg != HSM_ALG_ECDSA && alg != HSM_ALG_RSA_RAW)
        return -1;
    if (pub == NULL || in == NULL || sig == NULL)
        return 0;
    ERR_set_mark();
    int ok = alg == HSM_ALG_ECDSA ? ecdsa_verifies(pub, in, len, sig, sig_len)
                                  : rsa_raw_verifies(pub, in, len, sig, sig_len);
    ERR_pop_to_mark();
    return ok;
}

void tok_keep_witness(hsm_token *t, const hsm_key *k, uint8_t alg, const uint8_t *in, size_t len,
                      const hsm_bytes *sig)
{
    struct tok_wit *w = &t->wit[k->key_ref];
    if (alg != HSM_ALG_ECDSA && alg != HSM_ALG_RSA_RAW)
        return;
    w->valid = hsm_bytes_set(&w->in, in, len) == HSM_OK && hsm_bytes_set(&w->sig, sig->data, sig->len) == HSM_OK;
    w->alg = alg;
    w->key = *k;
}

/* The witness was made under the directory entry k has now (else it speaks of another key). */
static int witness_applies(const struct tok_wit *w, const hsm_key *k)
{
    return w->valid && w->key.type == k->type && strcmp(w->key.label, k->label) == 0 &&
           w->key.id_len == k->id_len && memcmp(w->key.id, k->id, k->id_len) == 0;
}

void tok_free_witnesses(hsm_token *t)
{
    for (size_t i = 0; i < 256; i++) {
        hsm_bytes_free(&t->wit[i].in);
        hsm_bytes_free(&t->wit[i].sig);
        t->wit[i].valid = 0;
    }
}

static int changed(hsm_token *t, const hsm_key *k)
{
    tok_err(t, "the key on the card changed (card swapped or key replaced): key \"%s\" (reference %u) is "
            "not the key that was loaded; load it again", k->label, k->key_ref);
    return HSM_E_NOT_FOUND;
}

static int transport_failure(int rc)
{
    return rc == HSM_E_COMM || rc == HSM_E_NO_CARD || rc == HSM_E_RESET || rc == HSM_E_MEM;
}

/* Once per generation and reference, before anything overwrites the witness: is the key at ref
 * the one that made it? No witness for this entry: nothing to go by (1). */
static int check_witness(hsm_token *t, const hsm_key *k)
{
    uint8_t ref = k->key_ref;
    if (t->ref_checked[ref] == t->idgen)
        return HSM_OK;
    int same = 1;
    if (witness_applies(&t->wit[ref], k)) {
        EVP_PKEY *cur = NULL;
        int rc = tok_ce_pub(t, ref, &cur);
        if (rc != HSM_OK && transport_failure(rc))
            return rc;
        const struct tok_wit *w = &t->wit[ref];
        same = rc == HSM_OK && tok_sig_verifies(cur, w->alg, w->in.data, w->in.len, w->sig.data, w->sig.len) == 1;
        t->err[0] = '\0';
        if (!same)
            hsm_log("key reference %u holds another key than before", ref);
    }
    t->ref_checked[ref] = t->idgen;
    t->ref_same[ref] = (unsigned char)same;
    return HSM_OK;
}

int tok_check_handle(hsm_token *t, const hsm_key *k, EVP_PKEY *pub)
{
    int rc = tok_check_key(t, k);
    if (rc == HSM_OK)
        rc = check_witness(t, k);
    if (rc != HSM_OK || k->gen == t->idgen)
        return rc;
    if (pub != NULL) {
        EVP_PKEY *cur = NULL;
        rc = tok_ce_pub(t, k->key_ref, &cur);
        if (rc != HSM_OK)
            return transport_failure(rc) ? rc : changed(t, k);
        ERR_set_mark();
        int eq = EVP_PKEY_eq(pub, cur) == 1;
        ERR_pop_to_mark();
        return eq ? HSM_OK : changed(t, k);
    }
    return t->ref_same[k->key_ref] ? HSM_OK : changed(t, k);
}
