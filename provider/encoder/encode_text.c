/* SPDX-License-Identifier: Apache-2.0 */
/* Text form (openssl pkey -text): where the key lives, then its public parameters. Card keys
 * have no private numbers to print, so even a private-key selection prints the public part. */
#include "encode_int.h"

#include "hsm/algs.h"
#include "hsm/rv.h"

#include <openssl/evp.h>

/* The key's algorithm list (one SELECT of its key file the first time it is shown). */
static int print_algorithms(BIO *out, schsm_key *k)
{
    hsm_alg_list l;
    if (hsm_token_key_algorithms(k->token, &k->card, 1, &l) != HSM_OK || !l.known)
        return BIO_printf(out, "Algorithms: unknown (the card did not say)\n") > 0;
    if (!l.restricted)
        return BIO_printf(out, "Algorithms: any that fits the key (no algorithm list)\n") > 0;
    char names[HSM_ALGS_MAX * 24], hex[HSM_ALGS_MAX * 3 + 1];
    hsm_alg_list_text(l.ids, l.n, names, sizeof(names));
    hsm_alg_list_hex(l.ids, l.n, hex, sizeof(hex));
    return BIO_printf(out, "Algorithms: %s (%s)\n", l.n ? names : "none", hex) > 0;
}

static int text_does_selection(void *provctx, int selection)
{
    return 1;
}

static int text_encode(void *ctx, OSSL_CORE_BIO *cout, const void *obj, const OSSL_PARAM abstract[],
                       int selection, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    schsm_provctx *prov = ctx;
    schsm_key *k = (schsm_key *)obj;
    EVP_PKEY *pub;
    BIO *out = schsm_enc_open(prov, obj, abstract, cout, &pub);
    int ok;

    if (out == NULL)
        return 0;
    if (schsm_key_is_card(k)) {
        ok = BIO_printf(out, "SmartCard-HSM %s key (private part on the card)\n",
                        k->type == HSM_KEY_EC ? "EC" : "RSA") > 0
             && BIO_printf(out, "URI: %s\n", k->uri != NULL ? k->uri : "(unknown)") > 0
             && print_algorithms(out, k)
             && EVP_PKEY_print_public(out, pub, 0, NULL) > 0;
    } else if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && (k->parts & OSSL_KEYMGMT_SELECT_PRIVATE_KEY)) {
        ok = EVP_PKEY_print_private(out, pub, 0, NULL) > 0;   /* a host software key */
    } else {
        ok = EVP_PKEY_print_public(out, pub, 0, NULL) > 0;
    }
    BIO_free(out);
    if (!ok)
        schsm_raise(prov, SCHSM_R_INTERNAL, "cannot print the key");
    return ok;
}

const OSSL_DISPATCH schsm_text_encoder_functions[] = {
    SCHSM_ENCODER_DISPATCH(text_does_selection, text_encode),
};
