/* SPDX-License-Identifier: Apache-2.0 */
/* The PrivateKeyInfo output of a card key is a key reference: a PEM "SCHSM KEY REFERENCE" (or its
 * DER) naming the key by URI. No key material exists outside the card, so none can be written.
 * A host software key (made by gen without a card request) is written as ordinary PKCS#8. */
#include "encoders.h"
#include "encode_int.h"
#include "keyref.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hsm/rv.h"
#include "uri.h"

static int keyref_does_selection(void *provctx, int selection)
{
    /* only asked-for private keys: public selections go to SubjectPublicKeyInfo */
    return selection == 0 || (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
}

/* The URI written to the file: the one the key was found by, plus the card's serial so that the
 * reference can never pick a same-named key on another card. */
static char *reference_uri(schsm_key *k)
{
    schsm_uri u;
    hsm_token_info info;
    char err[256], serial[sizeof(info.serial)];
    char *out = NULL;

    if (k->uri == NULL || !schsm_uri_parse(k->uri, &u, err, sizeof(err))) {
        schsm_raise(k->ctx, SCHSM_R_INTERNAL, "the key has no usable URI%s%s", k->uri ? ": " : "",
                    k->uri ? err : "");
        schsm_uri_clear(&u);
        return NULL;
    }
    if (u.serial == NULL && hsm_token_serial(k->token, serial, sizeof(serial)) == HSM_OK && serial[0] != '\0') {
        u.serial = serial;
        out = schsm_uri_format(&u);
        u.serial = NULL;
    } else {
        out = schsm_uri_format(&u);
    }
    schsm_uri_clear(&u);
    if (out == NULL)
        schsm_raise(k->ctx, SCHSM_R_INTERNAL, "out of memory");
    return out;
}

/* The key reference and the public key (SubjectPublicKeyInfo DER), recorded so that loading the
 * file needs no directory read: the public key then checks every signature on the host. */
static int record_key(schsm_key *k, unsigned char **spki, size_t *spki_len)
{
    EVP_PKEY *pub = schsm_key_public(k);
    int len = pub != NULL ? i2d_PUBKEY(pub, spki) : -1;
    if (len <= 0) {
        if (pub != NULL)
            schsm_raise(k->ctx, SCHSM_R_INTERNAL, "cannot encode the public key of '%s'", k->card.label);
        return 0;
    }
    *spki_len = (size_t)len;
    return 1;
}

static int write_software_key(schsm_provctx *prov, BIO *out, schsm_key *k, int pem)
{
    int ok;
    if (!(k->parts & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) || k->pub == NULL) {
        schsm_raise(prov, SCHSM_R_BAD_ARGS, "a public key has no private part to write");
        return 0;
    }
    ok = pem ? PEM_write_bio_PrivateKey(out, k->pub, NULL, NULL, 0, NULL, NULL)
             : i2d_PKCS8PrivateKey_bio(out, k->pub, NULL, NULL, 0, NULL, NULL);
    if (!ok)
        schsm_raise(prov, SCHSM_R_INTERNAL, "cannot write the software key");
    return ok;
}

static int keyref_encode(void *ctx, OSSL_CORE_BIO *cout, const void *obj, const OSSL_PARAM abstract[],
                         int selection, int pem)
{
    schsm_provctx *prov = ctx;
    schsm_key *k = (schsm_key *)obj;
    hsm_bytes der = HSM_BYTES_INIT;
    char *uri = NULL;
    BIO *out = NULL;
    unsigned char *spki = NULL;
    size_t spki_len = 0;
    int ok = 0;

    if ((out = schsm_enc_open(prov, obj, abstract, cout, NULL)) == NULL)
        return 0;
    if (!schsm_key_is_card(k)) {
        ok = write_software_key(prov, out, k, pem);
        goto done;
    }
    if ((uri = reference_uri(k)) == NULL)
        goto done;
    if (!record_key(k, &spki, &spki_len))
        goto done;
    if (!schsm_keyref_encode_ex(k->type == HSM_KEY_EC ? "EC" : "RSA", uri, k->card.key_ref, spki, spki_len, &der)) {
        schsm_raise(prov, SCHSM_R_INTERNAL, "cannot encode the key reference");
        goto done;
    }
    ok = pem ? PEM_write_bio(out, SCHSM_KEYREF_PEM_NAME, "", der.data, (long)der.len) > 0
             : BIO_write(out, der.data, (int)der.len) == (int)der.len;
    if (!ok)
        schsm_raise(prov, SCHSM_R_INTERNAL, "cannot write the key reference");
done:
    free(uri);
    OPENSSL_free(spki);
    hsm_bytes_free(&der);
    BIO_free(out);
    return ok;
}

static int keyref_der_encode(void *ctx, OSSL_CORE_BIO *cout, const void *obj, const OSSL_PARAM abstract[],
                             int selection, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    return keyref_encode(ctx, cout, obj, abstract, selection, 0);
}

static int keyref_pem_encode(void *ctx, OSSL_CORE_BIO *cout, const void *obj, const OSSL_PARAM abstract[],
                             int selection, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    return keyref_encode(ctx, cout, obj, abstract, selection, 1);
}

const OSSL_DISPATCH schsm_keyref_der_encoder_functions[] = {
    SCHSM_ENCODER_DISPATCH(keyref_does_selection, keyref_der_encode),
};

const OSSL_DISPATCH schsm_keyref_pem_encoder_functions[] = {
    SCHSM_ENCODER_DISPATCH(keyref_does_selection, keyref_pem_encode),
};
