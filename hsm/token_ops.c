/* SPDX-License-Identifier: Apache-2.0 */
/* Private-key operations. The warm path is exactly one APDU; anything that suggests the card
 * changed (6982 although we logged in, applet deselected, a signature that does not verify with
 * the handle's public key) makes us re-read the directory, check that the key is still the same
 * key (token_check.c), log in again with the PIN held, and retry once. */
#include "hsm/token_int.h"
#include "hsm/rv.h"
#include "hsm/sw.h"
#include "hsm/trace.h"

#include <stdio.h>
#include <string.h>

typedef int (*card_op)(hsm_card *, uint8_t, uint8_t, const uint8_t *, size_t, hsm_bytes *);

static int foreign_use(uint16_t sw)
{
    return sw == 0x6982 || sw == 0x6D00 || sw == 0x6E00;
}

/* 6A81 (CardContact) or 6985 (other implementations): the key's algorithm list may exclude alg.
 * Reads the list (one SELECT) and, when it does, says so with the list. */
static int refused_by_list(hsm_token *t, const hsm_key *k, uint8_t alg, uint16_t sw, const char *what)
{
    if (sw != 0x6A81 && sw != 0x6985)
        return 0;
    hsm_alg_list l;
    char err[sizeof(t->err)];
    memcpy(err, t->err, sizeof(err));
    if (tok_read_algs(t, k->key_ref, &l) != HSM_OK || hsm_alg_list_allows(&l, alg)) {
        memcpy(t->err, err, sizeof(err));
        return 0;
    }
    char names[HSM_ALGS_MAX * 24], hex[HSM_ALGS_MAX * 3 + 1];
    const char *name = hsm_alg_name(alg);
    hsm_alg_list_text(l.ids, l.n, names, sizeof(names));
    hsm_alg_list_hex(l.ids, l.n, hex, sizeof(hex));
    tok_err(t, "%s with key \"%s\" refused by the card: the key's algorithm list allows only %s (%s), "
            "not %s (%02X); use an operation the list allows or another key [SW %04X]",
            what, k->label, l.n ? names : "nothing", hex, name != NULL ? name : "this algorithm", alg, sw);
    return 1;
}

static int private_op(hsm_token *t, const hsm_key *k, EVP_PKEY *pub, uint8_t alg, const uint8_t *in,
                      size_t len, hsm_bytes *out, card_op op, uint8_t ins, const char *what)
{
    if (t == NULL || k == NULL || in == NULL || len == 0 || out == NULL)
        return HSM_E_ARGS;
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    int is_sign = op == hsm_card_sign;
    for (int attempt = 0; attempt < 2; attempt++) {
        int was_logged_in = t->logged_in;
        /* A recorded handle's first signature is vouched for by the host check below alone. */
        rc = attempt == 0 && is_sign && pub != NULL && k->recorded ? HSM_OK
                                                               : tok_check_handle(t, k, pub);   /* free while nothing changed */
        if (rc == HSM_OK)
            rc = tok_login_held(t, attempt > 0);
        if (rc != HSM_OK)
            break;
        rc = op(t->card, k->key_ref, alg, in, len, out);
        if (rc == HSM_OK && is_sign && pub != NULL &&
            tok_sig_verifies(pub, alg, in, len, out->data, out->len) == 0) {
            /* Never hand out a signature its public key does not confirm: the card in the reader,
             * or the key at this reference, is not the one the handle was made for. */
            hsm_bytes_clear(out);
            hsm_log("%s: the card's signature does not verify with the key's public key; re-checking", what);
            if (attempt == 0) {
                tok_forget(t);
                continue;
            }
            tok_err(t, "%s with key \"%s\": the card's signature does not verify with the key's public key "
                    "although the key seems unchanged; check the card", what, k->label);
            rc = HSM_E_VERIFY;
            break;
        }
        if (rc == HSM_OK) {
            if (is_sign)
                tok_keep_witness(t, k, alg, in, len, out);
            break;
        }
        uint16_t sw = hsm_card_last_sw(t->card);
        if (rc == HSM_E_SW && foreign_use(sw) && attempt == 0 && (was_logged_in || sw != 0x6982)) {
            /* Someone else selected the applet (and maybe changed keys): start over. */
            hsm_log("%s: card answered %04X after our login; re-checking the key", what, sw);
            tok_forget(t);
            continue;
        }
        if (rc == HSM_E_NOT_FOUND) {
            tok_forget_dir(t);
            tok_err(t, "key \"%s\" (reference %u) is no longer on the card: it was deleted; look it "
                    "up again", k->label, k->key_ref);
        } else if (rc == HSM_E_SW && refused_by_list(t, k, alg, sw, what)) {
            /* the error names the list */
        } else if (rc == HSM_E_SW) {
            if (sw == 0x6982)
                t->logged_in = 0;
            char ctx[160];
            snprintf(ctx, sizeof(ctx), "%s with key \"%s\" failed", what, k->label);
            tok_sw_err(t, ctx, ins);
        } else {
            tok_forget(t);
            tok_err(t, "%s with key \"%s\" failed: %s", what, k->label, hsm_rv_text(rc));
        }
        break;
    }
    if (rc != HSM_OK)
        hsm_bytes_clear(out);
    tok_leave(t);
    return rc;
}

int hsm_token_sign(hsm_token *t, const hsm_key *k, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out)
{
    return private_op(t, k, NULL, alg, in, len, out, hsm_card_sign, 0x68, "signing");
}

int hsm_token_sign_checked(hsm_token *t, const hsm_key *k, EVP_PKEY *pub, uint8_t alg, const uint8_t *in,
                           size_t len, hsm_bytes *out)
{
    return private_op(t, k, pub, alg, in, len, out, hsm_card_sign, 0x68, "signing");
}

int hsm_token_decipher(hsm_token *t, const hsm_key *k, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out)
{
    int derive = alg == HSM_ALG_ECDH || alg == HSM_ALG_ECDH_AUTPUK || alg == HSM_ALG_ECDH_XKEK;
    return private_op(t, k, NULL, alg, in, len, out, hsm_card_decipher, 0x62, derive ? "key derivation" : "decryption");
}
