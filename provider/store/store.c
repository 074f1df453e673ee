/* SPDX-License-Identifier: Apache-2.0 */
/* The "schsm:" OSSL_STORE loader.
 *
 * Private keys leave as references (a schsm_key, see key.h) so the key stays on the card;
 * public keys leave as DER SubjectPublicKeyInfo so that OpenSSL's own decoders make ordinary
 * public keys of them (storeutl -public, pkey -pubin); certificates leave as DER.
 * The card is touched on the first load, not at open: only then do we know what OpenSSL expects,
 * and a store that reads only what is needed keeps a cold signature within its APDU budget. */
#include "store.h"
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "hsm/bytes.h"
#include "hsm/rv.h"
#include "hsm/token.h"
#include "key.h"
#include "pin.h"
#include "provider.h"
#include "resolve.h"
#include "uri.h"

enum item_kind { ITEM_PRIVATE, ITEM_PUBLIC, ITEM_CERT, ITEM_NAME_KEY, ITEM_NAME_CERT };

typedef struct {
    int kind;
    hsm_key key;            /* ITEM_PRIVATE / ITEM_PUBLIC */
    hsm_cert_ref cert;      /* ITEM_CERT */
} store_item;

typedef struct {
    schsm_provctx *prov;
    schsm_uri uri;
    char *alias;            /* OSSL_STORE_find() by alias: a label */
    int expect;             /* OSSL_STORE_INFO_* or 0 */
    hsm_token *token;
    store_item *items;
    size_t n_items, next;
    int started;
    int pin_handled;
    int failed;             /* a load failed: eof() turns true after it was seen once */
    int failed_seen;
} store_ctx;

static OSSL_FUNC_store_open_fn store_open;
static OSSL_FUNC_store_settable_ctx_params_fn store_settable_ctx_params;
static OSSL_FUNC_store_set_ctx_params_fn store_set_ctx_params;
static OSSL_FUNC_store_load_fn store_load;
static OSSL_FUNC_store_eof_fn store_eof;
static OSSL_FUNC_store_close_fn store_close;
static OSSL_FUNC_store_export_object_fn store_export_object;

static void *store_open(void *provctx, const char *uri)
{
    schsm_provctx *prov = provctx;
    char err[256];
    store_ctx *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        schsm_raise(prov, SCHSM_R_INTERNAL, "out of memory");
        return NULL;
    }
    s->prov = prov;
    if (!schsm_uri_parse(uri, &s->uri, err, sizeof(err))) {
        /* the URI may carry a PIN, so only the parser's message is shown */
        schsm_raise(prov, SCHSM_R_BAD_URI, "bad schsm: URI: %s", err);
        schsm_uri_clear(&s->uri);
        free(s);
        return NULL;
    }
    if (s->uri.pin_value != NULL && !schsm_pin_len_ok(prov, strlen(s->uri.pin_value), "pin-value")) {
        schsm_uri_clear(&s->uri);
        free(s);
        return NULL;
    }
    return s;
}

static const OSSL_PARAM *store_settable_ctx_params(void *provctx)
{
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
        OSSL_PARAM_utf8_string(OSSL_STORE_PARAM_ALIAS, NULL, 0),
        OSSL_PARAM_END,
    };
    return settable;
}

static int store_set_ctx_params(void *loaderctx, const OSSL_PARAM params[])
{
    store_ctx *s = loaderctx;
    const OSSL_PARAM *p;

    if (params == NULL)
        return 1;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT)) != NULL) {
        int e;
        if (!OSSL_PARAM_get_int(p, &e))
            return 0;
        s->expect = e;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_ALIAS)) != NULL) {
        char *a = NULL;
        if (!OSSL_PARAM_get_utf8_string(p, &a, 0))
            return 0;
        OPENSSL_free(s->alias);
        s->alias = a;
    }
    return 1;
}

/* The label the search is for: the URI's object, or the alias; both must agree when both are set. */
static const char *wanted_label(const store_ctx *s, int *conflict)
{
    *conflict = s->uri.object != NULL && s->alias != NULL && strcmp(s->uri.object, s->alias) != 0;
    return s->uri.object != NULL ? s->uri.object : s->alias;
}

static int wants(const store_ctx *s, int kind)
{
    static const int uri_type[] = {SCHSM_URI_PRIVATE, SCHSM_URI_PUBLIC, SCHSM_URI_CERT};
    static const int info_type[] = {OSSL_STORE_INFO_PKEY, OSSL_STORE_INFO_PUBKEY, OSSL_STORE_INFO_CERT};
    if (s->uri.type != SCHSM_URI_ANY && s->uri.type != uri_type[kind])
        return 0;
    return s->expect == 0 || s->expect == info_type[kind];
}

/* A listing (storeutl 'schsm:' or by serial/token: nothing named, no type expected) gives each key
 * and certificate a NAME object first: its full URI and a description with its label, so that
 * storeutl shows what each object is and a URI to copy. Searches for one object stay as they were. */
static int wants_names(const store_ctx *s)
{
    int conflict;
    return s->expect == 0 && s->uri.type == SCHSM_URI_ANY && wanted_label(s, &conflict) == NULL
           && !s->uri.has_id;
}

static int add_item(store_ctx *s, const store_item *it)
{
    store_item *n = realloc(s->items, (s->n_items + 1) * sizeof(*n));
    if (n == NULL)
        return 0;
    s->items = n;
    s->items[s->n_items++] = *it;
    return 1;
}

static int collect_keys(store_ctx *s, const char *label)
{
    int want_priv = wants(s, ITEM_PRIVATE), want_pub = wants(s, ITEM_PUBLIC);
    hsm_key *keys = NULL;
    size_t n = 0;
    int rv;

    if (!want_priv && !want_pub)
        return 1;
    if (label != NULL || s->uri.has_id) {
        hsm_key k;
        rv = hsm_token_find_key(s->token, label, s->uri.has_id ? s->uri.id : NULL, s->uri.id_len, &k);
        if (rv == HSM_E_NOT_FOUND)
            return 1;
        if (rv != HSM_OK) {
            schsm_raise_token(s->prov, s->token, rv);
            return 0;
        }
        if ((keys = malloc(sizeof(*keys))) == NULL)
            return 0;
        keys[0] = k;
        n = 1;
    } else if ((rv = hsm_token_list_keys(s->token, &keys, &n)) != HSM_OK) {
        schsm_raise_token(s->prov, s->token, rv);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        store_item it;
        if (keys[i].type != HSM_KEY_EC && keys[i].type != HSM_KEY_RSA)
            continue;   /* AES keys are no business of OSSL_STORE */
        memset(&it, 0, sizeof(it));
        it.key = keys[i];
        int ok = 1;
        if (wants_names(s)) {
            it.kind = ITEM_NAME_KEY;
            ok = add_item(s, &it);
        }
        if (ok && want_priv) {
            it.kind = ITEM_PRIVATE;
            ok = add_item(s, &it);
        }
        if (ok && want_pub) {
            it.kind = ITEM_PUBLIC;
            ok = add_item(s, &it);
        }
        if (!ok) {
            free(keys);
            schsm_raise(s->prov, SCHSM_R_INTERNAL, "out of memory");
            return 0;
        }
    }
    free(keys);
    return 1;
}

static int collect_certs(store_ctx *s, const char *label)
{
    hsm_cert_ref *certs = NULL;
    size_t n = 0;
    int rv;

    if (!wants(s, ITEM_CERT))
        return 1;
    if ((rv = hsm_token_list_certs(s->token, &certs, &n)) != HSM_OK) {
        schsm_raise_token(s->prov, s->token, rv);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (label != NULL && strcmp(label, certs[i].label) != 0)
            continue;
        if (s->uri.has_id && (certs[i].id_len != s->uri.id_len || memcmp(certs[i].id, s->uri.id, s->uri.id_len) != 0))
            continue;
        store_item it;
        memset(&it, 0, sizeof(it));
        it.cert = certs[i];
        it.kind = ITEM_NAME_CERT;
        int ok = !wants_names(s) || add_item(s, &it);
        it.kind = ITEM_CERT;
        if (!ok || !add_item(s, &it)) {
            free(certs);
            schsm_raise(s->prov, SCHSM_R_INTERNAL, "out of memory");
            return 0;
        }
    }
    free(certs);
    return 1;
}

/* Nothing matched what the application expects (OSSL_STORE_PARAM_EXPECT). When an object of
 * another kind matches the URI, say which and what to change, instead of "no key matching":
 * `openssl pkey -in 'schsm:...;type=public'` without -pubin asks for a private key. Raises and
 * returns 1 when it explained; 0 when nothing matches at all (or on error, raised). */
static int explain_kind_mismatch(store_ctx *s, const char *label)
{
    static const char *const kind_name[] = {"a private key", "a public key", "a certificate"};
    int saved = s->expect, ok;
    s->expect = 0;
    ok = collect_keys(s, label) && collect_certs(s, label);
    s->expect = saved;
    if (!ok || s->n_items == 0)
        return 0;
    int found = s->items[0].kind;
    free(s->items);
    s->items = NULL;
    s->n_items = 0;
    const char *asked = saved == OSSL_STORE_INFO_PKEY ? "a private key"
                        : saved == OSSL_STORE_INFO_PUBKEY ? "a public key"
                        : saved == OSSL_STORE_INFO_CERT ? "a certificate" : "another kind of object";
    const char *hint = "";
    if (found == ITEM_PUBLIC && saved == OSSL_STORE_INFO_PKEY)
        hint = ": to read the public key give -pubin (openssl pkey -pubin -in URI -pubout), or name the "
               "private key with type=private";
    else if (found == ITEM_PRIVATE && saved == OSSL_STORE_INFO_PUBKEY)
        hint = ": name the public key with type=public (the private key stays on the card)";
    else if (found == ITEM_CERT)
        hint = ": use type=private or type=public for the key, or a command that reads certificates";
    char search[300];
    schsm_resolve_describe(&s->uri, label, search, sizeof(search));
    schsm_raise(s->prov, SCHSM_R_NOT_FOUND, "%s matches '%s', but the application asked for %s%s",
                kind_name[found], search, asked, hint);
    return 1;
}

static int enumerate(store_ctx *s)
{
    int conflict;
    const char *label = wanted_label(s, &conflict);

    int checked = 0;
    s->token = schsm_resolve_token(s->prov, &s->uri, &checked);
    if (s->token == NULL)
        return 0;   /* raised */
    if (!checked && !schsm_resolve_check_token(s->prov, s->token, &s->uri))
        return 0;
    if (conflict)
        return 1;   /* object= and the alias name different objects: nothing matches */
    /* Keys and certificates from one fresh read of the directory. */
    hsm_token_snapshot_begin(s->token);
    int ok = collect_keys(s, label) && collect_certs(s, label);
    int named = label != NULL || s->uri.has_id;
    if (ok && s->n_items == 0 && named && s->expect != 0 && explain_kind_mismatch(s, label))
        ok = 0;   /* explained */
    hsm_token_snapshot_end(s->token);
    if (!ok)
        return 0;
    if (s->n_items == 0 && (label != NULL || s->uri.has_id)) {
        schsm_resolve_not_found(s->prov, s->token, &s->uri, label, s->uri.type == SCHSM_URI_CERT ? "no certificate"
                           : s->uri.type == SCHSM_URI_ANY ? "no key or certificate" : "no key");
        return 0;
    }
    return 1;
}

/* The PIN goes to the token before the first private key leaves the store, because only now is
 * OpenSSL's passphrase callback at hand. A listing asks nobody: it passes URI or config PINs only.
 * A listing is a search that is not for a private key alone: no object/id named, or neither
 * type=private in the URI nor a caller that expects only a private key (dgst -sign, pkeyutl).
 * storeutl 'schsm:object=web' and storeutl -alias web 'schsm:' thus need no PIN. */
static int handle_pin(store_ctx *s, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    int conflict;
    int named = wanted_label(s, &conflict) != NULL || s->uri.has_id;
    int for_use = s->uri.type == SCHSM_URI_PRIVATE || s->expect == OSSL_STORE_INFO_PKEY;
    if (s->pin_handled)
        return 1;
    s->pin_handled = 1;
    if (!named || !for_use)
        return schsm_login_for(s->prov, s->token, s->uri.pin_source, s->uri.pin_value, NULL, NULL);
    return schsm_resolve_login(s->prov, s->token, s->uri.pin_source, s->uri.pin_value, pw_cb, pw_cbarg);
}

static const char *key_type_name(const hsm_key *k)
{
    return k->type == HSM_KEY_EC ? "EC" : "RSA";
}

/* URI recorded in the key object (and written to key-reference files): how this key was found,
 * without the PIN. */
static char *key_uri(const store_ctx *s, const hsm_key *k)
{
    schsm_uri u;
    memset(&u, 0, sizeof(u));
    u.reader = s->uri.reader;
    u.token = s->uri.token;
    u.serial = s->uri.serial;
    u.object = k->label[0] != '\0' ? (char *)k->label : NULL;
    if (k->id_len > 0 && k->id_len <= HSM_ID_MAX) {
        memcpy(u.id, k->id, k->id_len);
        u.id_len = k->id_len;
        u.has_id = 1;
    }
    u.type = SCHSM_URI_PRIVATE;
    u.pool = s->uri.pool;
    u.pin_source = s->uri.pin_source;
    return schsm_uri_format(&u);
}

/* The NAME object of a listed key or certificate: its URI (copy-pasteable, percent-encoded) and
 * "EC key 'web'" / "certificate 'web'" as the description. */
static int load_name(store_ctx *s, const store_item *it, OSSL_CALLBACK *cb, void *cbarg)
{
    int objtype = OSSL_OBJECT_NAME;
    OSSL_PARAM params[4];
    schsm_uri u;
    char desc[HSM_LABEL_MAX + 64];
    char *uri;
    int ok;

    if (it->kind == ITEM_NAME_KEY) {
        uri = key_uri(s, &it->key);
        snprintf(desc, sizeof(desc), "%s key '%s'", key_type_name(&it->key), it->key.label);
    } else {
        memset(&u, 0, sizeof(u));
        u.reader = s->uri.reader;
        u.token = s->uri.token;
        u.serial = s->uri.serial;
        u.object = it->cert.label[0] != '\0' ? (char *)it->cert.label : NULL;
        if (it->cert.id_len > 0 && it->cert.id_len <= HSM_ID_MAX) {
            memcpy(u.id, it->cert.id, it->cert.id_len);
            u.id_len = it->cert.id_len;
            u.has_id = 1;
        }
        u.type = SCHSM_URI_CERT;
        uri = schsm_uri_format(&u);
        snprintf(desc, sizeof(desc), "certificate '%s'", it->cert.label);
    }
    if (uri == NULL) {
        schsm_raise(s->prov, SCHSM_R_INTERNAL, "out of memory");
        return 0;
    }
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &objtype);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA, uri, 0);
    params[2] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DESC, desc, 0);
    params[3] = OSSL_PARAM_construct_end();
    ok = cb(params, cbarg);
    free(uri);
    return ok;
}

static int load_private(store_ctx *s, const store_item *it, OSSL_CALLBACK *cb, void *cbarg,
                        OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    int objtype = OSSL_OBJECT_PKEY;
    OSSL_PARAM params[4];
    schsm_key *key;
    char *uri;

    if (!handle_pin(s, pw_cb, pw_cbarg))
        return 0;
    if ((uri = key_uri(s, &it->key)) == NULL) {
        schsm_raise(s->prov, SCHSM_R_INTERNAL, "out of memory");
        return 0;
    }
    key = schsm_key_new_card(s->prov, s->token, &it->key, uri);
    free(uri);
    if (key == NULL)
        return 0;
    if (schsm_pool_wanted(s->prov, s->uri.pool)
        && !schsm_pool_attach(key, s->uri.pool, s->uri.pin_source, s->uri.pin_value)) {
        schsm_key_free(key);
        return 0;
    }
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &objtype);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, (char *)key_type_name(&it->key), 0);
    /* one reference travels with the object; keymgmt load() takes it over */
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &key, sizeof(key));
    params[3] = OSSL_PARAM_construct_end();
    return cb(params, cbarg);
}

static int load_public(store_ctx *s, const store_item *it, OSSL_CALLBACK *cb, void *cbarg)
{
    int objtype = OSSL_OBJECT_PKEY;
    OSSL_PARAM params[5];
    EVP_PKEY *pub = NULL;
    unsigned char *der = NULL;
    int len, rv, ok;

    if ((rv = hsm_token_public_key(s->token, &it->key, &pub)) != HSM_OK) {
        schsm_raise_token(s->prov, s->token, rv);
        return 0;
    }
    len = i2d_PUBKEY(pub, &der);
    EVP_PKEY_free(pub);
    if (len <= 0) {
        schsm_raise(s->prov, SCHSM_R_INTERNAL, "cannot encode the public key of '%s'", it->key.label);
        return 0;
    }
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &objtype);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE, (char *)key_type_name(&it->key), 0);
    params[2] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE, "SubjectPublicKeyInfo", 0);
    params[3] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der, (size_t)len);
    params[4] = OSSL_PARAM_construct_end();
    ok = cb(params, cbarg);
    OPENSSL_free(der);
    return ok;
}

static int load_cert(store_ctx *s, const store_item *it, OSSL_CALLBACK *cb, void *cbarg)
{
    int objtype = OSSL_OBJECT_CERT;
    OSSL_PARAM params[3];
    hsm_bytes der = HSM_BYTES_INIT;
    int rv, ok;

    if ((rv = hsm_token_read_file(s->token, it->cert.fid, &der)) != HSM_OK) {
        schsm_raise_token(s->prov, s->token, rv);
        hsm_bytes_free(&der);
        return 0;
    }
    if (der.len == 0 || der.data[0] != 0x30) {
        hsm_bytes_free(&der);
        return -1;  /* not X.509 (a CV certificate): skip it */
    }
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &objtype);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der.data, der.len);
    params[2] = OSSL_PARAM_construct_end();
    ok = cb(params, cbarg);
    hsm_bytes_free(&der);
    return ok;
}

static int store_load(void *loaderctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
                      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    store_ctx *s = loaderctx;

    if (s->failed)
        return 0;
    if (!s->started) {
        s->started = 1;
        if (!enumerate(s)) {
            s->failed = 1;
            return 0;
        }
    }
    while (s->next < s->n_items) {
        const store_item *it = &s->items[s->next++];
        int r = it->kind == ITEM_PRIVATE ? load_private(s, it, object_cb, object_cbarg, pw_cb, pw_cbarg)
                : it->kind == ITEM_PUBLIC ? load_public(s, it, object_cb, object_cbarg)
                : it->kind == ITEM_CERT ? load_cert(s, it, object_cb, object_cbarg)
                : load_name(s, it, object_cb, object_cbarg);
        if (r < 0)
            continue;
        if (r == 0)
            s->failed = 1;   /* the error reaches the caller's exit status (see store_eof) */
        return r;
    }
    return 1;   /* nothing more: eof() now says so */
}

static int store_eof(void *loaderctx)
{
    store_ctx *s = loaderctx;
    if (s->failed) {
        /* The first call after a failure answers "not yet" so that OSSL_STORE's callers count
         * the error (storeutl stops counting once eof is true); later calls end the loop. */
        return s->failed_seen++ > 0;
    }
    return s->started && s->next >= s->n_items;
}

static int store_close(void *loaderctx)
{
    store_ctx *s = loaderctx;
    if (s == NULL)
        return 1;
    schsm_uri_clear(&s->uri);
    OPENSSL_free(s->alias);
    free(s->items);
    free(s);   /* the token belongs to the provider */
    return 1;
}

/* Hands a key's public parts to another provider's keymgmt. Card keys refuse: a public-only
 * copy would look like the key but could not sign, and OSSL_STORE then falls back to our own
 * keymgmt, which loads the reference. Public-only schsm keys export their public part. */
static int store_export_object(void *loaderctx, const void *objref, size_t objref_sz,
                               OSSL_CALLBACK *export_cb, void *export_cbarg)
{
    schsm_key *k;
    OSSL_PARAM *params = NULL;
    int ok;

    if (objref_sz != sizeof(k))
        return 0;
    memcpy(&k, objref, sizeof(k));
    if (k == NULL || k->token != NULL || k->pub == NULL)
        return 0;
    if (!EVP_PKEY_todata(k->pub, EVP_PKEY_PUBLIC_KEY, &params))
        return 0;
    ok = export_cb(params, export_cbarg);
    OSSL_PARAM_free(params);
    return ok;
}

const OSSL_DISPATCH schsm_store_functions[] = {
    {OSSL_FUNC_STORE_OPEN, (void (*)(void))store_open},
    {OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, (void (*)(void))store_settable_ctx_params},
    {OSSL_FUNC_STORE_SET_CTX_PARAMS, (void (*)(void))store_set_ctx_params},
    {OSSL_FUNC_STORE_LOAD, (void (*)(void))store_load},
    {OSSL_FUNC_STORE_EOF, (void (*)(void))store_eof},
    {OSSL_FUNC_STORE_CLOSE, (void (*)(void))store_close},
    {OSSL_FUNC_STORE_EXPORT_OBJECT, (void (*)(void))store_export_object},
    {0, NULL},
};
