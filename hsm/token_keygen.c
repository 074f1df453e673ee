/* SPDX-License-Identifier: Apache-2.0 */
/* Changing the key set: generate, delete, store a certificate. Every change leaves either the
 * complete new state or nothing, and ends with a re-SELECT so other sessions notice it. */
#include "hsm/token_int.h"
#include "hsm/crypto.h"
#include "hsm/curves.h"
#include "hsm/cvc.h"
#include "hsm/rv.h"
#include "hsm/sw.h"
#include "hsm/tlv.h"
#include "hsm/trace.h"

#include <stdio.h>
#include <string.h>

#define FID(prefix, ref) ((uint16_t)((prefix) << 8 | (ref)))

/* Deletes a file; a missing file is fine. Repeats once after a new login when another program
 * logged us out since our login (6982, see tok_relogin_once). */
static int del(hsm_token *t, uint16_t fid, int *retried)
{
    int rc;
    do {
        rc = hsm_card_delete_file(t->card, fid);
        if (rc == HSM_E_NOT_FOUND)
            rc = HSM_OK;
    } while (tok_relogin_once(t, &rc, retried));
    return rc;
}

static int write_ef(hsm_token *t, uint16_t fid, const uint8_t *data, size_t len, int *retried)
{
    int rc;
    do
        rc = hsm_card_write_file(t->card, fid, data, len);
    while (tok_relogin_once(t, &rc, retried));
    return rc;
}

/* Every file of key reference ref, in the order that keeps each prefix recognisable: the
 * description first (a key without one shows as incomplete, and a description never outlives
 * its key to describe a later key at the same reference), then the key, then its public files. */
static const uint8_t KEY_FILE_ORDER[] = { HSM_PREFIX_PRKD, HSM_PREFIX_KEY, HSM_PREFIX_EE_CERT, HSM_PREFIX_REQ_KEEP };

static int remove_key_files(hsm_token *t, uint8_t ref, int *retried)
{
    int rc = HSM_OK;
    for (size_t i = 0; i < sizeof(KEY_FILE_ORDER); i++) {
        int r = del(t, FID(KEY_FILE_ORDER[i], ref), retried);
        rc = rc != HSM_OK ? rc : r;
    }
    return rc;
}

/* Selects the applet and logs in again with the PIN the card confirmed: after a reset or removal
 * in the middle of a change, to finish or take back what was started. */
static int resume_session(hsm_token *t)
{
    t->selected = 0;
    t->logged_in = 0;
    int rc = tok_select(t);
    return rc == HSM_OK ? tok_login_held(t, 1) : rc;
}

/* After a failed generate: nothing lost, nothing half-made. A reset or removal in the middle
 * dropped the selection and the login; take them up again (with the PIN the card confirmed) to
 * take the key back. Failing that, the next run of the same command removes it (own_leftovers). */
static void take_back(hsm_token *t, uint8_t ref, int *retried)
{
    char keep[sizeof(t->err)];
    memcpy(keep, t->err, sizeof(keep));
    if (remove_key_files(t, ref, retried) != HSM_OK && resume_session(t) == HSM_OK)
        remove_key_files(t, ref, retried);
    memcpy(t->err, keep, sizeof(keep));
}

/* The holder reference keygen writes into the key's CV request: "UTK", 8 hex digits of SHA-256
 * over the label, "00001". Until its description is written (last) a new key shows as incomplete;
 * this marker lets the same command, run again, recognise such a key as its own leftover. */
static void leftover_marker(const char *label, char out[17])
{
    uint8_t md[32];
    size_t mdlen = 0;
    if (EVP_Q_digest(hsm_libctx(), "SHA256", NULL, label, strlen(label), md, &mdlen) != 1)
        memset(md, 0, sizeof(md));
    snprintf(out, 17, "UTK%02X%02X%02X%02X00001", md[0], md[1], md[2], md[3]);
}

/* Does the CV request in fid carry label's marker? */
static int carries_marker(hsm_token *t, uint16_t fid, const char *marker)
{
    hsm_bytes b = HSM_BYTES_INIT;
    hsm_cvc c;
    int hit = hsm_card_read_file(t->card, fid, &b) == HSM_OK && b.len > 0 && b.data[0] != 0x30 &&
              hsm_cvc_parse(b.data, b.len, &c, NULL) == HSM_OK && c.chr.len == strlen(marker) &&
              memcmp(c.chr.val, marker, c.chr.len) == 0;
    hsm_bytes_free(&b);
    return hit;
}

/* Key references left over by an interrupted keygen (or delete) of label: no description, and
 * the key's request in CEnn/CBnn carries label's marker. Counts them; removes them unless dry. */
static int own_leftovers(hsm_token *t, const char *label, int dry, size_t *found, int *retried)
{
    char marker[17];
    leftover_marker(label, marker);
    *found = 0;
    int rc = tok_load_dir(t);
    for (int r = 1; rc == HSM_OK && r <= 255; r++) {
        if (tok_has_fid(t, FID(HSM_PREFIX_PRKD, r)))
            continue;
        /* On cards that do not list CE/CB files, only a key without description is worth the reads. */
        int probe = tok_has_fid(t, FID(HSM_PREFIX_KEY, r));
        if (!((tok_has_fid(t, FID(HSM_PREFIX_EE_CERT, r)) || (probe && tok_may_have_fid(t, FID(HSM_PREFIX_EE_CERT, r))))
              && carries_marker(t, FID(HSM_PREFIX_EE_CERT, r), marker)) &&
            !((tok_has_fid(t, FID(HSM_PREFIX_REQ_KEEP, r)) || (probe && tok_may_have_fid(t, FID(HSM_PREFIX_REQ_KEEP, r))))
              && carries_marker(t, FID(HSM_PREFIX_REQ_KEEP, r), marker)))
            continue;
        (*found)++;
        hsm_log("key reference %d is a leftover of an interrupted operation on key \"%s\"%s", r, label,
                dry ? "" : ": removing it");
        for (size_t i = 0; !dry && rc == HSM_OK && i < sizeof(KEY_FILE_ORDER); i++)
            rc = del(t, FID(KEY_FILE_ORDER[i], r), retried);
    }
    if (rc != HSM_OK && t->err[0] == '\0')
        tok_err(t, "cannot remove the leftovers of key \"%s\": %s", label, hsm_rv_text(rc));
    if (!dry && *found > 0)
        tok_forget_dir(t);
    return rc;
}

int hsm_token_remove_leftovers(hsm_token *t, const char *label, int dry_run, size_t *found)
{
    if (t == NULL || label == NULL || *label == '\0' || found == NULL)
        return HSM_E_ARGS;
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    int retried = 0;
    rc = own_leftovers(t, label, 1, found, &retried);
    if (rc == HSM_OK && *found > 0 && !dry_run) {
        rc = tok_login_held(t, 0);
        if (rc == HSM_OK)
            rc = own_leftovers(t, label, 0, found, &retried);
        tok_forget_dir(t);
        tok_logout_others(t);
    }
    tok_leave(t);
    return rc;
}

static int lowest_free_ref(const hsm_token *t)
{
    for (int r = 1; r <= 255; r++)
        if (!tok_has_fid(t, FID(HSM_PREFIX_KEY, r)) && !tok_has_fid(t, FID(HSM_PREFIX_PRKD, r)) &&
            !tok_has_fid(t, FID(HSM_PREFIX_EE_CERT, r)) && !tok_has_fid(t, FID(HSM_PREFIX_REQ_KEEP, r)))
            return r;
    return -1;
}

int hsm_token_clear_public_files(hsm_token *t, uint8_t ref, int *retried)
{
    static const uint8_t public_files[] = { HSM_PREFIX_EE_CERT, HSM_PREFIX_REQ_KEEP };
    int rc = HSM_OK;
    for (size_t i = 0; i < sizeof(public_files) && rc == HSM_OK; i++)
        rc = del(t, FID(public_files[i], ref), retried);
    if (rc == HSM_E_SW && t->err[0] == '\0')
        tok_sw_err(t, "cannot clear an old public-key file of the free key reference", 0xE4);
    else if (rc != HSM_OK && t->err[0] == '\0')
        tok_err(t, "cannot clear an old public-key file of the free key reference: %s", hsm_rv_text(rc));
    return rc;
}

static int check_unique(hsm_token *t, const char *label, const uint8_t *id, size_t id_len)
{
    for (size_t i = 0; i < t->nkeys; i++) {
        const hsm_key *k = &t->keys[i];
        if (label != NULL && strcmp(k->label, label) == 0) {
            tok_err(t, "a key labelled \"%s\" already exists (reference %u): choose another label or "
                    "delete that key first", label, k->key_ref);
            return HSM_E_ARGS;
        }
        if (id != NULL && id_len > 0 && k->id_len == id_len && memcmp(k->id, id, id_len) == 0) {
            tok_err(t, "a key with this ID already exists (\"%s\", reference %u): choose another ID "
                    "or delete that key first", k->label, k->key_ref);
            return HSM_E_ARGS;
        }
    }
    return HSM_OK;
}

static int gen_asym(hsm_token *t, const hsm_keygen_params *p, uint8_t ref, hsm_prkd *d, int *retried)
{
    hsm_gakp_params g;
    memset(&g, 0, sizeof(g));
    g.car = "UTCA00001";
    char marker[17];
    leftover_marker(p->label, marker);
    g.chr = marker;
    g.algorithms = p->algorithms;
    g.algorithms_len = p->algorithms_len;
    g.key_domain = p->key_domain;
    if (p->type == HSM_KEY_EC) {
        const hsm_curve *c = hsm_curve_by_nid(p->ec_nid);
        if (c == NULL) {
            tok_err(t, "this EC curve is not supported by the SmartCard-HSM");
            return HSM_E_UNSUPPORTED;
        }
        g.ec_nid = p->ec_nid;
        d->bits = c->bits;
    } else {
        if (p->rsa_bits < 1024 || p->rsa_bits > 4096 || p->rsa_bits % 512 != 0) {
            tok_err(t, "RSA key size %u not supported: use 1024, 1536, 2048, 3072 or 4096", p->rsa_bits);
            return HSM_E_ARGS;
        }
        g.rsa_bits = p->rsa_bits;
        d->bits = p->rsa_bits;
    }
    hsm_bytes data = HSM_BYTES_INIT, req = HSM_BYTES_INIT;
    EVP_PKEY *pub = NULL;
    int rc = hsm_cvc_build_gakp(&g, &data);
    if (rc != HSM_OK) {
        tok_err(t, "cannot build the key generation request: %s", hsm_rv_text(rc));
        goto out;
    }
    do
        rc = hsm_card_generate_asym(t->card, ref, data.data, data.len, &req);
    while (tok_relogin_once(t, &rc, retried));
    if (rc != HSM_OK) {
        if (t->err[0] != '\0')
            ;   /* a failed new login has said why */
        else if (rc == HSM_E_SW || rc == HSM_E_NOT_FOUND)
            tok_sw_err(t, "key generation failed", 0x46);
        else
            tok_err(t, "key generation failed: %s", hsm_rv_text(rc));
        goto out;
    }
    hsm_cvc cvc;
    rc = hsm_cvc_parse(req.data, req.len, &cvc, NULL);
    if (rc == HSM_OK)
        rc = hsm_cvc_public_key(&cvc, 0, &pub);
    if (rc != HSM_OK) {
        tok_err(t, "the card's answer to key generation is malformed (%s)", hsm_rv_text(rc));
        goto out;
    }
    if (p->id != NULL && p->id_len > 0) {
        memcpy(d->id, p->id, p->id_len);
        d->id_len = p->id_len;
    } else {
        rc = hsm_pkcs15_key_id(pub, d->id);
        d->id_len = 20;
        if (rc != HSM_OK) {
            tok_err(t, "cannot compute the key ID: %s", hsm_rv_text(rc));
            goto out;
        }
        rc = check_unique(t, NULL, d->id, d->id_len);
    }
out:
    EVP_PKEY_free(pub);
    hsm_bytes_free(&data);
    hsm_bytes_free(&req);
    return rc;
}

static int gen_aes(hsm_token *t, const hsm_keygen_params *p, uint8_t ref, hsm_prkd *d, int *retried)
{
    uint8_t p2;
    switch (p->rsa_bits) {
    case 128: p2 = 0xB0; break;
    case 192: p2 = 0xB1; break;
    case 256: p2 = 0xB2; break;
    default:
        tok_err(t, "AES key size %u not supported: use 128, 192 or 256", p->rsa_bits);
        return HSM_E_ARGS;
    }
    hsm_bytes data = HSM_BYTES_INIT;
    if (p->algorithms != NULL && p->algorithms_len > 0)
        hsm_tlv_put(&data, 0x91, p->algorithms, p->algorithms_len);
    if (p->key_domain >= 0)
        hsm_tlv_put_u8(&data, 0x92, (uint8_t)p->key_domain);
    int rc = HSM_E_MEM;
    if (!data.oom) {
        do
            rc = hsm_card_generate_sym(t->card, ref, p2, data.data, data.len);
        while (tok_relogin_once(t, &rc, retried));
    }
    hsm_bytes_free(&data);
    if (rc != HSM_OK) {
        if (t->err[0] != '\0')
            ;   /* a failed new login has said why */
        else if (rc == HSM_E_SW || rc == HSM_E_NOT_FOUND)
            tok_sw_err(t, "AES key generation failed", 0x48);
        else
            tok_err(t, "AES key generation failed: %s", hsm_rv_text(rc));
        return rc;
    }
    d->bits = p->rsa_bits;
    if (p->id != NULL && p->id_len > 0) {
        memcpy(d->id, p->id, p->id_len);
        d->id_len = p->id_len;
    } else {
        d->id[0] = ref;   /* nothing public to hash: the key reference, as scsh does */
        d->id_len = 1;
    }
    return HSM_OK;
}

int hsm_token_generate(hsm_token *t, const hsm_keygen_params *p, hsm_key *out)
{
    if (t == NULL || p == NULL || p->label == NULL || p->label[0] == '\0' ||
        strlen(p->label) >= HSM_LABEL_MAX || p->id_len > HSM_ID_MAX || (p->id == NULL && p->id_len > 0) ||
        (p->type != HSM_KEY_EC && p->type != HSM_KEY_RSA && p->type != HSM_KEY_AES))
        return HSM_E_ARGS;
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    rc = tok_load_dir(t);
    if (rc == HSM_OK)
        rc = check_unique(t, p->label, p->id, p->id_len);
    if (rc == HSM_OK)
        rc = tok_login_held(t, 0);
    int retried = 0;
    size_t leftovers = 0;
    if (rc == HSM_OK)
        rc = own_leftovers(t, p->label, 0, &leftovers, &retried);   /* an earlier run of this command */
    if (rc == HSM_OK && leftovers > 0)
        rc = tok_load_dir(t);
    if (rc != HSM_OK)
        goto out;
    int ref = lowest_free_ref(t);
    if (ref < 0) {
        tok_err(t, "no free key reference left (255 keys): delete keys you no longer need");
        rc = HSM_E_UNSUPPORTED;
        goto out;
    }
    /* Listed files are seen (lowest_free_ref chose a reference without them); unlisted ones may
     * be there: see hsm_token_clear_public_files. */
    if (!t->dir_lists_all && (rc = hsm_token_clear_public_files(t, (uint8_t)ref, &retried)) != HSM_OK)
        goto out;
    hsm_prkd d;
    memset(&d, 0, sizeof(d));
    d.type = p->type;
    d.key_ref = (unsigned)ref;
    snprintf(d.label, sizeof(d.label), "%s", p->label);
    rc = p->type == HSM_KEY_AES ? gen_aes(t, p, (uint8_t)ref, &d, &retried)
                                : gen_asym(t, p, (uint8_t)ref, &d, &retried);
    if (rc == HSM_OK) {
        hsm_bytes enc = HSM_BYTES_INIT;
        rc = hsm_prkd_encode(&d, &enc);
        if (rc == HSM_OK) {
            /* The description last: until it is written the key shows as incomplete. */
            rc = write_ef(t, FID(HSM_PREFIX_PRKD, ref), enc.data, enc.len, &retried);
            if (rc == HSM_E_SW && t->err[0] == '\0')
                tok_sw_err(t, "cannot write the key description", 0xD7);
            else if (rc != HSM_OK && t->err[0] == '\0')
                tok_err(t, "cannot write the key description: %s", hsm_rv_text(rc));
        }
        hsm_bytes_free(&enc);
    }
    if (rc != HSM_OK) {
        take_back(t, (uint8_t)ref, &retried);
    } else if (out != NULL) {
        memset(out, 0, sizeof(*out));
        out->key_ref = (uint8_t)ref;
        out->type = d.type;
        memcpy(out->label, d.label, sizeof(out->label));
        memcpy(out->id, d.id, d.id_len);
        out->id_len = d.id_len;
        out->bits = d.bits;
        out->has_cert_file = p->type != HSM_KEY_AES;
        out->gen = t->idgen;   /* we just wrote its entry: current, no re-check needed */
    }
    tok_forget_dir(t);
    if (rc == HSM_OK)
        tok_logout_others(t);
out:
    tok_leave(t);
    return rc;
}

/* Enters t to change key k: k must still be the key on the card, and the held PIN is verified.
 * On failure t is left again. */
static int enter_for_key(hsm_token *t, const hsm_key *k)
{
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    rc = tok_check_key(t, k);
    if (rc == HSM_OK)
        rc = tok_login_held(t, 0);
    if (rc != HSM_OK)
        tok_leave(t);
    return rc;
}

int hsm_token_delete_key(hsm_token *t, const hsm_key *k)
{
    if (t == NULL || k == NULL || k->key_ref == 0)
        return HSM_E_ARGS;
    int rc = enter_for_key(t, k);
    if (rc != HSM_OK)
        return rc;
    int retried = 0, resumed = 0;
    for (size_t i = 0; i < sizeof(KEY_FILE_ORDER) && rc == HSM_OK; i++) {
        rc = del(t, FID(KEY_FILE_ORDER[i], k->key_ref), &retried);
        if (rc != HSM_OK && !resumed && i > 0) {
            /* Half deleted: finish the job if the card can be reached again. */
            resumed = 1;
            char keep[sizeof(t->err)];
            memcpy(keep, t->err, sizeof(keep));
            if (resume_session(t) == HSM_OK)
                rc = del(t, FID(KEY_FILE_ORDER[i], k->key_ref), &retried);
            if (rc != HSM_OK)
                memcpy(t->err, keep, sizeof(keep));
        }
        if (rc == HSM_OK || t->err[0] != '\0')
            continue;   /* a failed new login has said why */
        if (rc == HSM_E_SW)
            tok_sw_err(t, "cannot delete the key", 0xE4);
        else
            tok_err(t, "cannot delete the key: %s", hsm_rv_text(rc));
    }
    tok_forget_dir(t);
    tok_logout_others(t);
    tok_leave(t);
    return rc;
}

int hsm_token_store_cert(hsm_token *t, const hsm_key *k, const uint8_t *der, size_t len)
{
    if (t == NULL || k == NULL || der == NULL || len == 0 || len > 0xFFFF)
        return HSM_E_ARGS;
    int rc = enter_for_key(t, k);
    if (rc != HSM_OK)
        return rc;
    int retried = 0;
    uint16_t ce = FID(HSM_PREFIX_EE_CERT, k->key_ref), keep = FID(HSM_PREFIX_REQ_KEEP, k->key_ref);
    if (tok_may_have_fid(t, ce) && !tok_has_fid(t, keep)) {
        /* The 67 request is the key's attestation: keep it in CBnn before it is replaced. (On a
         * card that does not list CE/CB files, CBnn may already hold it: then CEnn no longer
         * holds a request and nothing is written.) */
        const hsm_bytes *old;
        rc = tok_read_ce(t, k->key_ref, &old);
        if (rc == HSM_E_NOT_FOUND) {
            rc = HSM_OK;   /* no CEnn yet: nothing to keep */
            t->err[0] = '\0';
            old = NULL;
        }
        if (rc == HSM_OK && old != NULL && old->len > 0 && old->data[0] == 0x67) {
            rc = write_ef(t, keep, old->data, old->len, &retried);
            if (rc != HSM_OK && t->err[0] == '\0')
                tok_sw_err(t, "cannot preserve the key's attestation request; certificate not stored", 0xD7);
        }
        if (rc != HSM_OK)
            goto done;
    }
    /* Delete first: the card may keep trailing bytes of a longer old file on overwrite. */
    rc = del(t, ce, &retried);
    if (rc == HSM_OK)
        rc = write_ef(t, ce, der, len, &retried);
    if (rc == HSM_OK || t->err[0] != '\0')
        ;   /* done, or a failed new login has said why */
    else if (rc == HSM_E_SW || rc == HSM_E_NOT_FOUND)
        tok_sw_err(t, "cannot store the certificate", 0xD7);
    else if (rc != HSM_OK)
        tok_err(t, "cannot store the certificate: %s", hsm_rv_text(rc));
done:
    tok_forget_dir(t);
    tok_leave(t);
    return rc;
}

int hsm_token_delete_cert(hsm_token *t, const hsm_key *k)
{
    if (t == NULL || k == NULL || k->key_ref == 0)
        return HSM_E_ARGS;
    int rc = enter_for_key(t, k);
    if (rc != HSM_OK)
        return rc;
    uint16_t ce = FID(HSM_PREFIX_EE_CERT, k->key_ref), keep = FID(HSM_PREFIX_REQ_KEEP, k->key_ref);
    const hsm_bytes *cur = NULL;
    hsm_bytes req = HSM_BYTES_INIT;
    if (!tok_may_have_fid(t, ce) || tok_read_ce(t, k->key_ref, &cur) != HSM_OK || cur->len == 0 || cur->data[0] != 0x30) {
        tok_err(t, "key \"%s\" has no X.509 certificate on the card", k->label);
        rc = HSM_E_NOT_FOUND;
        goto done;
    }
    /* CEnn also serves the key's public key: put the kept CV request back there (the state right
     * after key generation), and only then drop the copy, so that every prefix of this change
     * still has the public key. Without a kept request the certificate is the only copy. */
    if (!tok_may_have_fid(t, keep) || hsm_card_read_file(t->card, keep, &req) != HSM_OK || req.len == 0) {
        tok_err(t, "the certificate of \"%s\" is the card's only copy of the key's public key; it was "
                "kept: replace it with import-cert instead", k->label);
        rc = HSM_E_ARGS;
        goto done;
    }
    int retried = 0;
    rc = del(t, ce, &retried);
    if (rc == HSM_OK)
        rc = write_ef(t, ce, req.data, req.len, &retried);
    if (rc == HSM_OK)
        rc = del(t, keep, &retried);
    if (rc == HSM_E_SW)
        tok_sw_err(t, "cannot delete the certificate", 0xE4);
    else if (rc != HSM_OK)
        tok_err(t, "cannot delete the certificate: %s", hsm_rv_text(rc));
done:
    hsm_bytes_free(&req);
    tok_forget_dir(t);
    tok_leave(t);
    return rc;
}

int hsm_token_rename_key(hsm_token *t, const hsm_key *k, const char *label, const uint8_t *id, size_t id_len)
{
    if (t == NULL || k == NULL || k->key_ref == 0 || (label == NULL && id == NULL) || id_len > HSM_ID_MAX
        || (label != NULL && (*label == '\0' || strlen(label) >= HSM_LABEL_MAX)))
        return HSM_E_ARGS;
    int rc = enter_for_key(t, k);
    if (rc != HSM_OK)
        return rc;
    uint16_t fid = FID(HSM_PREFIX_PRKD, k->key_ref);
    hsm_bytes old = HSM_BYTES_INIT, enc = HSM_BYTES_INIT;
    hsm_prkd d;
    /* Another key may not carry the new label or ID; the key itself may keep its own. */
    int same_label = label == NULL || strcmp(label, k->label) == 0;
    int same_id = id == NULL || (id_len == k->id_len && memcmp(id, k->id, id_len) == 0);
    rc = check_unique(t, same_label ? NULL : label, same_id ? NULL : id, same_id ? 0 : id_len);
    if (rc != HSM_OK)
        goto done;
    rc = hsm_card_read_file(t->card, fid, &old);
    if (rc == HSM_OK)
        rc = hsm_prkd_decode(old.data, old.len, &d);
    if (rc != HSM_OK) {
        tok_err(t, "cannot read the description of \"%s\" (C4%02X): %s", k->label, k->key_ref, hsm_rv_text(rc));
        goto done;
    }
    if (label != NULL)
        snprintf(d.label, sizeof(d.label), "%s", label);
    if (id != NULL) {
        memcpy(d.id, id, id_len);
        d.id_len = id_len;
    }
    rc = hsm_prkd_encode(&d, &enc);
    /* The card may keep trailing bytes of a longer old file on overwrite: delete, then write. */
    int retried = 0;
    if (rc == HSM_OK)
        rc = del(t, fid, &retried);
    if (rc == HSM_OK)
        rc = write_ef(t, fid, enc.data, enc.len, &retried);
    if (rc == HSM_E_SW)
        tok_sw_err(t, "cannot rewrite the key's description", 0xD7);
    else if (rc != HSM_OK)
        tok_err(t, "cannot rewrite the key's description: %s", hsm_rv_text(rc));
done:
    hsm_bytes_free(&old);
    hsm_bytes_free(&enc);
    tok_forget_dir(t);
    tok_logout_others(t);
    tok_leave(t);
    return rc;
}
