/* SPDX-License-Identifier: Apache-2.0 */
/* Key directory: ENUMERATE plus one READ BINARY per C4nn. Lookups re-read it (once per snapshot);
 * private-key operations keep using it until anything suggests the card changed. CEnn is read only
 * when a public key or certificate is asked for, or a handle must be re-validated.
 * Some cards list only key files and descriptions (CC, C4, C8, C9) in ENUMERATE: when it lists
 * nothing else, a file it does not list may still exist and is read by its FID when needed
 * (6A82 = absent). */
#include "hsm/token_int.h"
#include "hsm/uri_text.h"
#include "hsm/crypto.h"
#include "hsm/cvc.h"
#include "hsm/rv.h"
#include "hsm/sw.h"
#include "hsm/trace.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tok_has_fid(const hsm_token *t, uint16_t fid)
{
    return hsm_fids_has(&t->fids, fid);
}

/* Does ENUMERATE list files other than keys and their descriptions? Then it lists every file. */
int tok_may_have_fid(const hsm_token *t, uint16_t fid)
{
    uint8_t p = (uint8_t)(fid >> 8);
    if (tok_has_fid(t, fid))
        return 1;
    if (p == HSM_PREFIX_KEY || p == HSM_PREFIX_PRKD || p == HSM_PREFIX_CD || p == HSM_PREFIX_DCOD)
        return 0;
    return !t->dir_lists_all;
}

static void fill_key(hsm_token *t, hsm_key *k, uint8_t ref)
{
    memset(k, 0, sizeof(*k));
    k->key_ref = ref;
    k->has_cert_file = tok_may_have_fid(t, (uint16_t)(HSM_PREFIX_EE_CERT << 8 | ref));
    hsm_bytes b = HSM_BYTES_INIT;
    hsm_prkd d;
    if (tok_has_fid(t, (uint16_t)(HSM_PREFIX_PRKD << 8 | ref)) &&
        hsm_card_read_file(t->card, (uint16_t)(HSM_PREFIX_PRKD << 8 | ref), &b) == HSM_OK &&
        hsm_prkd_decode(b.data, b.len, &d) == HSM_OK) {
        k->type = d.type;
        memcpy(k->label, d.label, sizeof(k->label));
        memcpy(k->id, d.id, d.id_len);
        k->id_len = d.id_len;
        k->bits = d.bits;
    } else {
        /* No usable description: show it anyway, named by its reference. */
        k->id[0] = ref;
        k->id_len = 1;
    }
    hsm_bytes_free(&b);
}

int tok_load_dir(hsm_token *t)
{
    if (t->dir_valid)
        return HSM_OK;
    int rc = HSM_OK;
    for (int round = 0; round < 2; round++) {
        rc = tok_select(t);
        if (rc != HSM_OK)
            return rc;
        rc = hsm_card_enumerate(t->card, &t->fids);
        if (rc != HSM_E_SW)
            break;
        uint16_t sw = hsm_card_last_sw(t->card);
        if (sw != 0x6D00 && sw != 0x6E00)
            break;
        t->selected = 0;   /* someone selected another applet: select ours again */
    }
    if (rc != HSM_OK) {
        if (rc == HSM_E_SW)
            tok_sw_err(t, "cannot list the card's objects", 0x58);
        else
            tok_err(t, "cannot list the card's objects: %s", hsm_rv_text(rc));
        tok_forget_dir(t);
        return rc;
    }
    t->nkeys = 0;
    t->dir_lists_all = hsm_fids_list_every_file(&t->fids);
    for (size_t i = 0; i + 1 < t->fids.len; i += 2) {
        /* Key reference 0 is the device's own key (some cards describe it in C400 too): never a
         * user key. */
        if (t->fids.data[i] != HSM_PREFIX_KEY || t->fids.data[i + 1] == 0)
            continue;
        if (t->nkeys < sizeof(t->keys) / sizeof(t->keys[0]))
            fill_key(t, &t->keys[t->nkeys++], t->fids.data[i + 1]);
    }
    /* Sorted by key reference so listings are stable. */
    for (size_t i = 1; i < t->nkeys; i++)
        for (size_t j = i; j > 0 && t->keys[j - 1].key_ref > t->keys[j].key_ref; j--) {
            hsm_key tmp = t->keys[j];
            t->keys[j] = t->keys[j - 1];
            t->keys[j - 1] = tmp;
        }
    t->dir_valid = 1;
    return HSM_OK;
}

static const hsm_key *by_ref(const hsm_token *t, uint8_t ref)
{
    for (size_t i = 0; i < t->nkeys; i++)
        if (t->keys[i].key_ref == ref)
            return &t->keys[i];
    return NULL;
}

static int same_key(const hsm_key *a, const hsm_key *b)
{
    return a->key_ref == b->key_ref && a->type == b->type && strcmp(a->label, b->label) == 0 &&
           a->id_len == b->id_len && memcmp(a->id, b->id, a->id_len) == 0;
}

int tok_check_key(hsm_token *t, const hsm_key *k)
{
    int rc = tok_load_dir(t);
    if (rc != HSM_OK)
        return rc;
    const hsm_key *cur = by_ref(t, k->key_ref);
    if (cur == NULL || !same_key(cur, k)) {
        tok_err(t, "key changed on the card: key \"%s\" (reference %u) was deleted or replaced since "
                "it was looked up; look it up again", k->label, k->key_ref);
        return HSM_E_NOT_FOUND;
    }
    return HSM_OK;
}

static int same_dir(const hsm_token *t, const hsm_bytes *fids, const hsm_key *keys, size_t n)
{
    /* Two empty directories have no data buffer (NULL): memcmp must not see them. */
    if (fids->len != t->fids.len || n != t->nkeys
        || (fids->len > 0 && memcmp(fids->data, t->fids.data, fids->len) != 0))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!same_key(&keys[i], &t->keys[i]) || keys[i].bits != t->keys[i].bits ||
            keys[i].has_cert_file != t->keys[i].has_cert_file)
            return 0;
    return 1;
}

int tok_lookup_dir(hsm_token *t)
{
    if (t->snapshot > 0 && t->snap_read && t->dir_valid)
        return HSM_OK;
    int had = t->dir_valid;
    hsm_bytes old = HSM_BYTES_INIT;
    hsm_key *keys = NULL;
    size_t n = 0;
    if (had) {
        keys = malloc((t->nkeys ? t->nkeys : 1) * sizeof(*keys));
        if (keys == NULL || hsm_bytes_set(&old, t->fids.data, t->fids.len) != HSM_OK) {
            free(keys);
            hsm_bytes_free(&old);
            tok_err(t, "out of memory");
            return HSM_E_MEM;
        }
        n = t->nkeys;
        memcpy(keys, t->keys, n * sizeof(*keys));
    }
    tok_forget_dir(t);
    int rc = tok_load_dir(t);
    if (rc == HSM_OK && had && !same_dir(t, &old, keys, n)) {
        /* Someone else changed the key set (or re-initialised the card) without us noticing any
         * event: handles looked up before must prove themselves before their next use. */
        hsm_log("the card's key directory changed since it was last read");
        t->idgen++;
    }
    if (rc == HSM_OK && t->snapshot > 0)
        t->snap_read = 1;
    free(keys);
    hsm_bytes_free(&old);
    return rc;
}

int tok_read_ce(hsm_token *t, uint8_t ref, const hsm_bytes **out)
{
    struct tok_ce *ce = &t->ce[ref];
    if (!ce->valid) {
        uint16_t fid = (uint16_t)(HSM_PREFIX_EE_CERT << 8 | ref);
        uint16_t req = (uint16_t)(0xCB00 | ref);
        int rc = HSM_E_NOT_FOUND;
        if (tok_may_have_fid(t, fid))
            rc = hsm_card_read_file(t->card, fid, &ce->data);
        /* A certificate may have been removed with its request kept in CBnn (store_cert). */
        if (rc == HSM_E_NOT_FOUND && tok_may_have_fid(t, req))
            rc = hsm_card_read_file(t->card, req, &ce->data);
        if (rc != HSM_OK) {
            if (rc == HSM_E_NOT_FOUND)
                tok_err(t, "no certificate or public key stored for key reference %u (EF CE%02X "
                        "missing: the card answered 6A82)", ref, ref);
            else if (rc == HSM_E_SW)
                tok_sw_err(t, "cannot read the key's certificate file", 0xB1);
            else
                tok_err(t, "cannot read the key's certificate file: %s", hsm_rv_text(rc));
            return rc;
        }
        ce->valid = 1;
    }
    *out = &ce->data;
    return HSM_OK;
}

static int pub_from_blob(hsm_token *t, const hsm_bytes *b, EVP_PKEY **out);

int tok_ce_pub(hsm_token *t, uint8_t ref, EVP_PKEY **out)
{
    struct tok_ce *ce = &t->ce[ref];
    if (ce->pk == NULL) {
        const hsm_bytes *blob;
        int rc = tok_read_ce(t, ref, &blob);
        if (rc == HSM_OK)
            rc = pub_from_blob(t, blob, &ce->pk);
        if (rc != HSM_OK)
            return rc;
    }
    *out = ce->pk;
    return HSM_OK;
}

int hsm_token_list_keys(hsm_token *t, hsm_key **keys, size_t *n)
{
    if (t == NULL || keys == NULL || n == NULL)
        return HSM_E_ARGS;
    *keys = NULL;
    *n = 0;
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    rc = tok_lookup_dir(t);
    if (rc == HSM_OK && t->nkeys > 0) {
        *keys = malloc(t->nkeys * sizeof(hsm_key));
        if (*keys == NULL) {
            rc = HSM_E_MEM;
        } else {
            memcpy(*keys, t->keys, t->nkeys * sizeof(hsm_key));
            *n = t->nkeys;
            for (size_t i = 0; i < *n; i++)
                (*keys)[i].gen = t->idgen;
        }
    }
    tok_leave(t);
    return rc;
}

static int push_cert(hsm_cert_ref **arr, size_t *n, const hsm_cert_ref *c)
{
    hsm_cert_ref *na = realloc(*arr, (*n + 1) * sizeof(*na));
    if (na == NULL)
        return HSM_E_MEM;
    na[(*n)++] = *c;
    *arr = na;
    return HSM_OK;
}

int hsm_token_list_certs(hsm_token *t, hsm_cert_ref **certs, size_t *n)
{
    if (t == NULL || certs == NULL || n == NULL)
        return HSM_E_ARGS;
    *certs = NULL;
    *n = 0;
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    rc = tok_lookup_dir(t);
    for (size_t i = 0; rc == HSM_OK && i < t->nkeys; i++) {
        const hsm_key *k = &t->keys[i];
        const hsm_bytes *ce;
        if (!k->has_cert_file)
            continue;
        if (tok_read_ce(t, k->key_ref, &ce) != HSM_OK) {
            t->err[0] = '\0';
            continue;
        }
        if (ce->len == 0 || ce->data[0] != 0x30)
            continue;   /* CV request or CVC: not an X.509 certificate */
        hsm_cert_ref c;
        memset(&c, 0, sizeof(c));
        c.fid = (uint16_t)(HSM_PREFIX_EE_CERT << 8 | k->key_ref);
        memcpy(c.label, k->label, sizeof(c.label));
        memcpy(c.id, k->id, k->id_len);
        c.id_len = k->id_len;
        rc = push_cert(certs, n, &c);
    }
    for (size_t i = 0; rc == HSM_OK && i + 1 < t->fids.len; i += 2) {
        uint8_t nn = t->fids.data[i + 1];
        uint16_t ca = (uint16_t)(HSM_PREFIX_CA_CERT << 8 | nn);
        if (t->fids.data[i] == HSM_PREFIX_CD && !tok_has_fid(t, ca) && tok_may_have_fid(t, ca)) {
            /* A card that lists descriptions but not CAnn: the description C8nn says CAnn may be
             * there; one READ tells (6A82 = it is not). */
            hsm_bytes probe = HSM_BYTES_INIT;
            int found = hsm_card_read_file(t->card, ca, &probe) == HSM_OK;
            hsm_bytes_free(&probe);
            if (!found)
                continue;
        } else if (t->fids.data[i] != HSM_PREFIX_CA_CERT) {
            continue;
        }
        hsm_cert_ref c;
        memset(&c, 0, sizeof(c));
        c.fid = (uint16_t)(HSM_PREFIX_CA_CERT << 8 | nn);
        c.id[0] = HSM_PREFIX_CA_CERT;
        c.id[1] = nn;
        c.id_len = 2;
        uint16_t cd = (uint16_t)(HSM_PREFIX_CD << 8 | nn);
        hsm_bytes b = HSM_BYTES_INIT;
        hsm_cd d;
        if (tok_has_fid(t, cd) && hsm_card_read_file(t->card, cd, &b) == HSM_OK &&
            hsm_cd_decode(b.data, b.len, &d) == HSM_OK) {   /* C8nn is listed by every card */
            memcpy(c.label, d.label, sizeof(c.label));
            if (d.id_len > 0) {
                memcpy(c.id, d.id, d.id_len);
                c.id_len = d.id_len;
            }
        }
        hsm_bytes_free(&b);
        rc = push_cert(certs, n, &c);
    }
    if (rc != HSM_OK) {
        free(*certs);
        *certs = NULL;
        *n = 0;
    }
    tok_leave(t);
    return rc;
}

/* A candidate as the user can paste it: its full URI, ID percent-encoded, never cut short. */
static void describe(const hsm_key *k, char *out, size_t cap)
{
    char *uri = hsm_object_uri(NULL, k->label, k->id, k->id_len, "private");
    if (snprintf(out, cap, "'%s'", uri != NULL ? uri : "?") < 0)
        out[0] = '\0';
    free(uri);
}

int hsm_token_find_key(hsm_token *t, const char *label, const uint8_t *id, size_t id_len, hsm_key *out)
{
    if (t == NULL || out == NULL || (id == NULL && id_len > 0))
        return HSM_E_ARGS;
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    rc = tok_lookup_dir(t);
    if (rc != HSM_OK)
        goto out;
    size_t hits = 0;
    const hsm_key *found = NULL;
    char names[1200] = "";
    for (size_t i = 0; i < t->nkeys; i++) {
        const hsm_key *k = &t->keys[i];
        if (label != NULL && strcmp(label, k->label) != 0)
            continue;
        if (id_len > 0 && (k->id_len != id_len || memcmp(k->id, id, id_len) != 0))
            continue;
        char d[400];
        describe(k, d, sizeof(d));
        if (strlen(names) + strlen(d) + 3 < sizeof(names))
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", hits ? ", " : "", d);
        hits++;
        found = k;
    }
    if (hits == 1) {
        *out = *found;
        out->gen = t->idgen;
    } else if (hits == 0) {
        char all[1200] = "";
        for (size_t i = 0; i < t->nkeys; i++) {
            char d[400];
            describe(&t->keys[i], d, sizeof(d));
            if (strlen(all) + strlen(d) + 3 < sizeof(all))
                snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s", i ? ", " : "", d);
        }
        tok_err(t, "no key matches%s%s%s: keys on the card: %s", label ? " label \"" : "", label ? label : "",
                label ? "\"" : "", t->nkeys ? all : "none");
        rc = HSM_E_NOT_FOUND;
    } else {
        tok_err(t, "%zu keys match; name one by its full URI: %s", hits, names);
        rc = HSM_E_AMBIGUOUS;
    }
out:
    tok_leave(t);
    return rc;
}

/* Public key from X.509 DER, a CV request (67) or a CVC (7F21). */
static int pub_from_blob(hsm_token *t, const hsm_bytes *b, EVP_PKEY **out)
{
    if (b->len > 0 && b->data[0] == 0x30) {
        X509 *x = X509_new_ex(hsm_libctx(), NULL);
        const unsigned char *p = b->data;
        if (x == NULL || d2i_X509(&x, &p, (long)b->len) == NULL) {
            X509_free(x);
            tok_err(t, "the certificate stored for the key is not valid X.509");
            return HSM_E_PARSE;
        }
        EVP_PKEY *k = X509_get_pubkey(x);
        X509_free(x);
        if (k == NULL) {
            tok_err(t, "the certificate's public key cannot be decoded");
            return HSM_E_CRYPTO;
        }
        *out = k;
        return HSM_OK;
    }
    hsm_cvc c;
    const uint8_t *rest = NULL;   /* CBnn of a group signer: request || origin device chain */
    int rc = hsm_cvc_parse(b->data, b->len, &c, &rest);
    if (rc == HSM_OK)
        rc = hsm_cvc_public_key(&c, 0, out);
    if (rc != HSM_OK)
        tok_err(t, "the public key stored for the key cannot be decoded (%s)", hsm_rv_text(rc));
    return rc;
}

int hsm_token_public_key(hsm_token *t, const hsm_key *k, EVP_PKEY **out)
{
    if (t == NULL || k == NULL || out == NULL)
        return HSM_E_ARGS;
    *out = NULL;
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    EVP_PKEY *pk = NULL;
    rc = tok_check_handle(t, k, NULL);
    if (rc == HSM_OK)
        rc = tok_ce_pub(t, k->key_ref, &pk);
    if (rc == HSM_OK) {
        *out = pk;
        if (!EVP_PKEY_up_ref(pk)) {
            *out = NULL;
            rc = HSM_E_MEM;
        }
    }
    tok_leave(t);
    return rc;
}

int hsm_token_read_file(hsm_token *t, uint16_t fid, hsm_bytes *out)
{
    if (t == NULL || out == NULL)
        return HSM_E_ARGS;
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    rc = tok_select(t);
    if (rc == HSM_OK && (fid >> 8) == HSM_PREFIX_EE_CERT && t->dir_valid && t->ce[fid & 0xFF].valid) {
        /* Read for the directory already (list: key rows, then certificate rows). */
        const hsm_bytes *ce = &t->ce[fid & 0xFF].data;
        rc = hsm_bytes_set(out, ce->data, ce->len);
    } else if (rc == HSM_OK) {
        rc = hsm_card_read_file(t->card, fid, out);
        if (rc == HSM_E_SW && hsm_card_last_sw(t->card) == 0x6982 && tok_login_held(t, 0) == HSM_OK)
            rc = hsm_card_read_file(t->card, fid, out);   /* private data object: needs the PIN */
        if (rc == HSM_E_NOT_FOUND)
            tok_err(t, "file %04X not found on the card", fid);
        else if (rc == HSM_E_SW)
            tok_sw_err(t, "cannot read the file", 0xB1);
        else if (rc != HSM_OK && t->err[0] == '\0')
            tok_err(t, "cannot read file %04X: %s", fid, hsm_rv_text(rc));
    }
    tok_leave(t);
    return rc;
}

int hsm_token_key_recorded(hsm_token *t, uint8_t key_ref, enum hsm_key_type type, const char *label,
                           const uint8_t *id, size_t id_len, unsigned bits, hsm_key *out)
{
    if (t == NULL || out == NULL || id_len > HSM_ID_MAX || (label != NULL && strlen(label) >= HSM_LABEL_MAX)
        || (type != HSM_KEY_EC && type != HSM_KEY_RSA))
        return HSM_E_ARGS;
    memset(out, 0, sizeof(*out));
    out->key_ref = key_ref;
    out->type = type;
    if (label != NULL)
        memcpy(out->label, label, strlen(label) + 1);
    if (id_len > 0)
        memcpy(out->id, id, id_len);
    out->id_len = id_len;
    out->bits = bits;
    out->recorded = 1;
    pthread_mutex_lock(&t->mu);
    out->gen = t->idgen;
    pthread_mutex_unlock(&t->mu);
    return HSM_OK;
}
