/* SPDX-License-Identifier: Apache-2.0 */
/* Looking up card objects by URI, with errors that say where we looked. */
#include "resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "hsm/bytes.h"
#include "hsm/rv.h"
#include "pin.h"
#include "pool.h"
#include "hsm/crypto.h"

#include <openssl/x509.h>

int schsm_resolve_check_token(schsm_provctx *prov, hsm_token *t, const schsm_uri *u)
{
    char serial[32], label[64];
    int rv;
    if (u->token == NULL && u->serial == NULL)
        return 1;
    /* No PIN-status query: serial= alone (every key-reference file) costs one cached read of EF 2F02. */
    rv = hsm_token_identity(t, serial, sizeof(serial), u->token ? label : NULL, sizeof(label));
    if (rv != HSM_OK) {
        schsm_raise_token(prov, t, rv);
        return 0;
    }
    if ((u->token != NULL && strcmp(u->token, label) != 0)
        || (u->serial != NULL && strcasecmp(u->serial, serial) != 0)) {
        if (u->token == NULL && hsm_token_identity(t, serial, sizeof(serial), label, sizeof(label)) != HSM_OK)
            snprintf(label, sizeof(label), "?");
        hsm_token_info info;
        const char *reader = hsm_token_info_get(t, &info) == HSM_OK ? info.reader : "(default)";
        schsm_raise(prov, SCHSM_R_NOT_FOUND,
                    "no token matching%s%s%s%s in reader '%s' (it holds token '%s', serial %s)",
                    u->token ? " token=" : "", u->token ? u->token : "",
                    u->serial ? " serial=" : "", u->serial ? u->serial : "",
                    reader, label, serial[0] ? serial : "unknown");
        return 0;
    }
    return 1;
}

void schsm_resolve_describe(const schsm_uri *u, const char *label, char *buf, size_t len)
{
    static const char *const t[] = {"", "private", "public", "cert"};
    char hex[3 * HSM_ID_MAX + 1] = "";
    for (size_t i = 0; u->has_id && i < u->id_len; i++)
        snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%%%02X", u->id[i]);
    snprintf(buf, len, "%s%s%s%s%s%s%s", label ? "object=" : "", label ? label : "",
             label && u->has_id ? ";" : "", u->has_id ? "id=" : "", hex,
             u->type != SCHSM_URI_ANY ? ";type=" : "", u->type != SCHSM_URI_ANY ? t[u->type] : "");
}

void schsm_resolve_not_found(schsm_provctx *prov, hsm_token *t, const schsm_uri *u, const char *label,
                             const char *what)
{
    hsm_token_info info;
    char search[300];
    schsm_resolve_describe(u, label, search, sizeof(search));
    if (t != NULL && hsm_token_info_get(t, &info) == HSM_OK)
        schsm_raise(prov, SCHSM_R_NOT_FOUND, "%s matching '%s' on token '%s' (serial %s) in reader '%s'",
                    what, search, info.label, info.serial, info.reader);
    else
        schsm_raise(prov, SCHSM_R_NOT_FOUND, "%s matching '%s' in reader '%s'", what, search,
                    u->reader != NULL ? u->reader : "(default)");
}

/* Parses uri_text and finds its key; fills *u (caller clears), *t and *k. 1 or 0 (raised). */
/* The public key a version-2 key-reference file records, checked against the key type. */
static EVP_PKEY *recorded_public(schsm_provctx *prov, const schsm_keyref *rec, int key_type)
{
    const unsigned char *p = rec->spki;
    EVP_PKEY *pub = d2i_PUBKEY_ex(NULL, &p, (long)rec->spki_len, hsm_libctx(), NULL);
    if (pub == NULL || p != rec->spki + rec->spki_len
        || !EVP_PKEY_is_a(pub, key_type == HSM_KEY_RSA ? "RSA" : "EC")) {
        EVP_PKEY_free(pub);
        schsm_raise(prov, SCHSM_R_BAD_ARGS, "the key-reference file's public key is malformed or not of "
                    "its key type; write the file again (openssl pkey -in 'schsm:...' -out FILE)");
        return NULL;
    }
    return pub;
}

/* The handle a version-2 key-reference file records. No APDU. */
static int find_recorded(schsm_provctx *prov, const schsm_keyref *rec, int key_type, hsm_token *t,
                         const schsm_uri *u, hsm_key *k)
{
    EVP_PKEY *pub = recorded_public(prov, rec, key_type);
    if (pub == NULL)
        return 0;
    int bits = EVP_PKEY_get_bits(pub);
    EVP_PKEY_free(pub);
    if (hsm_token_key_recorded(t, (uint8_t)rec->key_ref, (enum hsm_key_type)key_type, u->object,
                               u->has_id ? u->id : NULL, u->id_len, bits > 0 ? (unsigned)bits : 0, k) != HSM_OK) {
        schsm_raise(prov, SCHSM_R_BAD_ARGS, "the key-reference file's label or ID is too long");
        return 0;
    }
    return 1;
}

static int find(schsm_provctx *prov, const char *uri_text, const schsm_keyref *rec, int key_type, schsm_uri *u,
                hsm_token **t, hsm_key *k)
{
    char err[256];
    int rv;

    if (!schsm_uri_parse(uri_text, u, err, sizeof(err))) {
        schsm_raise(prov, SCHSM_R_BAD_URI, "bad schsm: URI: %s", err);
        return 0;
    }
    if (u->object == NULL && !u->has_id) {
        schsm_raise(prov, SCHSM_R_BAD_URI, "the URI names no key (give object= or id=)");
        return 0;
    }
    if (u->type != SCHSM_URI_ANY && u->type != SCHSM_URI_PRIVATE) {
        schsm_raise(prov, SCHSM_R_BAD_URI, "a key reference must name a private key (type=private)");
        return 0;
    }
    int checked = 0;
    if ((*t = schsm_resolve_token(prov, u, &checked)) == NULL || (!checked && !schsm_resolve_check_token(prov, *t, u)))
        return 0;
    /* Only with the serial checked above: the PIN then goes to no other card. */
    if (rec != NULL && rec->key_ref > 0 && rec->spki != NULL && u->serial != NULL && key_type != 0)
        return find_recorded(prov, rec, key_type, *t, u, k);
    rv = hsm_token_find_key(*t, u->object, u->has_id ? u->id : NULL, u->id_len, k);
    if (rv == HSM_E_NOT_FOUND) {
        schsm_resolve_not_found(prov, *t, u, u->object, "no key");
        return 0;
    }
    if (rv != HSM_OK) {
        schsm_raise_token(prov, *t, rv);
        return 0;
    }
    if (key_type != 0 && (int)k->type != key_type) {
        schsm_raise(prov, SCHSM_R_NOT_FOUND, "the key '%s' on the card is no longer of the type the reference"
                    " names (was it replaced?)", k->label);
        return 0;
    }
    return 1;
}

struct cb_watch {
    OSSL_PASSPHRASE_CALLBACK *cb;
    void *cbarg;
    int empty;              /* the callback answered, with an empty PIN */
    int failed;             /* the callback gave nothing (no terminal, no -passin) */
};

static int watch_cb(char *pass, size_t pass_size, size_t *pass_len, const OSSL_PARAM params[], void *arg)
{
    struct cb_watch *w = arg;
    *pass_len = 0;
    int ok = w->cb(pass, pass_size, pass_len, params, w->cbarg);
    w->empty = ok && *pass_len == 0;
    w->failed = !ok;
    return ok;
}

int schsm_resolve_login(schsm_provctx *prov, hsm_token *t, const char *pin_source, const char *pin_value,
                        OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    struct cb_watch w = { cb, cbarg, 0, 0 };
    ERR_set_mark();
    if (schsm_login_now(prov, t, pin_source, pin_value, cb != NULL ? watch_cb : NULL, &w)) {
        ERR_clear_last_mark();
        return 1;
    }
    if (w.empty) {
        /* An empty PIN (-passin pass:, or Enter at the prompt) says "no login now": reading the
         * public key needs none, so the load goes on and a private-key operation fails at once
         * saying a PIN is needed. A callback that fails (no terminal, a server without its
         * password file) still fails the load, so that a server refuses to start. */
        ERR_pop_to_mark();
        return 1;
    }
    ERR_clear_last_mark();
    return 0;
}

/* A key-reference file is decoded in two steps (a probe, then the key), which are one logical
 * lookup: the key step of the same thread takes the probe's handle instead of reading the
 * directory again. That is safe without any time limit because the handle carries the identity
 * generation of the probe's read: after any change it is re-validated before it is used. */
static __thread struct {
    hsm_token *t;
    int key_type;
    hsm_key k;
    int asked;              /* the probe dealt with the PIN (asked the callback): the key step must not ask again */
    char uri[1024];
} last_probe;

static void probe_forget(void)
{
    last_probe.t = NULL;
    OPENSSL_cleanse(last_probe.uri, sizeof(last_probe.uri));
}

int schsm_resolve_probe(schsm_provctx *prov, const char *uri_text, const schsm_keyref *rec, int key_type,
                        OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    schsm_uri u;
    hsm_token *t = NULL;
    hsm_key k;
    probe_forget();
    int ok = find(prov, uri_text, rec, key_type, &u, &t, &k);
    /* The PIN is settled here, where OpenSSL keeps our error: failing in the key step instead
     * would show only a generic "unsupported", after OpenSSL asked for the PIN a second time. */
    if (ok && cb != NULL) {
        struct cb_watch w = { cb, cbarg, 0, 0 };
        ERR_set_mark();
        if (schsm_resolve_login(prov, t, u.pin_source, u.pin_value, watch_cb, &w)) {
            ERR_clear_last_mark();
        } else if (w.failed) {
            ERR_pop_to_mark();   /* one message, with the ways to give a PIN */
            schsm_raise(prov, SCHSM_R_PIN, "key '%s': the user PIN is needed for this key and none was given: "
                        "give it with -passin (openssl commands, e.g. -passin file:PINFILE), the server's password "
                        "file (nginx ssl_password_file), pin-source = file:PINFILE in schsm's provider section of "
                        "openssl.cnf, or pin-source in the key's URI", k.label);
            ok = 0;
        } else {
            ERR_clear_last_mark();   /* a wrong or refused PIN: the token's message says which */
            ok = 0;
        }
    }
    /* never a URI that carries a PIN */
    if (ok && strlen(uri_text) < sizeof(last_probe.uri) && strstr(uri_text, "pin-value") == NULL) {
        last_probe.t = t;
        last_probe.key_type = key_type;
        last_probe.k = k;
        last_probe.asked = cb != NULL;
        memcpy(last_probe.uri, uri_text, strlen(uri_text) + 1);
    }
    schsm_uri_clear(&u);
    return ok;
}

/* The probe's result for this lookup, if the probe just before was for the same URI. */
static int take_probe(schsm_provctx *prov, const char *uri_text, int key_type, schsm_uri *u, hsm_token **t,
                      hsm_key *k, int *asked)
{
    char err[256];
    int hit = last_probe.t != NULL && last_probe.key_type == key_type && strcmp(last_probe.uri, uri_text) == 0;
    if (hit) {
        *t = last_probe.t;
        *k = last_probe.k;
        *asked = last_probe.asked;
    }
    probe_forget();
    if (!hit)
        return 0;
    if (!schsm_uri_parse(uri_text, u, err, sizeof(err))) {
        schsm_raise(prov, SCHSM_R_BAD_URI, "bad schsm: URI: %s", err);
        return -1;
    }
    return 1;
}

schsm_key *schsm_resolve_private_key(schsm_provctx *prov, const char *uri_text, const schsm_keyref *rec,
                                     int key_type, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    schsm_uri u;
    hsm_token *t = NULL;
    hsm_key k;
    schsm_key *key = NULL;
    int asked = 0;
    int found = take_probe(prov, uri_text, key_type, &u, &t, &k, &asked);
    if (asked)
        cb = NULL;   /* the probe asked already; its answer (a PIN, or none) stands */

    if (found == 0)
        found = find(prov, uri_text, rec, key_type, &u, &t, &k);
    if (found == 1 && schsm_resolve_login(prov, t, u.pin_source, u.pin_value, cb, cbarg)) {
        key = schsm_key_new_card(prov, t, &k, uri_text);
        if (key == NULL) {
            schsm_raise(prov, SCHSM_R_INTERNAL, "out of memory");
        } else if (k.recorded && !schsm_key_set_public(key, recorded_public(prov, rec, key_type))) {
            schsm_key_free(key);
            key = NULL;
        } else if (schsm_pool_wanted(prov, u.pool) && !schsm_pool_attach(key, u.pool, u.pin_source, u.pin_value)) {
            schsm_key_free(key);
            key = NULL;
        }
    }
    schsm_uri_clear(&u);
    return key;
}
