/* SPDX-License-Identifier: Apache-2.0 */
/* The card check (hsm/check.h): scan and repair of the files around each key reference. */
#include "hsm/check.h"
#include "hsm/card.h"
#include "hsm/crypto.h"
#include "hsm/cvc.h"
#include "hsm/rv.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FID(prefix, ref) ((uint16_t)((prefix) << 8 | (ref)))
#define PREFIX_REQ_KEEP 0xCB   /* the key's CV request, kept when a certificate replaced it */

static const struct {
    unsigned bit;
    const char *name;
} FINDING_NAMES[] = {
    { HSM_CHECK_ORPHAN, "orphan-files" },
    { HSM_CHECK_NO_DESC, "no-description" },
    { HSM_CHECK_BAD_DESC, "bad-description" },
    { HSM_CHECK_ID_MISMATCH, "id-mismatch" },
    { HSM_CHECK_CERT_MISMATCH, "certificate-mismatch" },
    { HSM_CHECK_PUB_MISSING, "public-key-file-missing" },
    { HSM_CHECK_BAD_PUB, "bad-public-key-file" },
};

const char *hsm_check_finding_name(unsigned finding)
{
    for (size_t i = 0; i < sizeof(FINDING_NAMES) / sizeof(FINDING_NAMES[0]); i++)
        if (FINDING_NAMES[i].bit == finding)
            return FINDING_NAMES[i].name;
    return "unknown";
}

/* Public key from X.509 DER or a CV request/certificate; NULL when neither decodes. */
static EVP_PKEY *blob_pub(const hsm_bytes *b, int *is_cert)
{
    EVP_PKEY *pk = NULL;
    *is_cert = b->len > 0 && b->data[0] == 0x30;
    ERR_set_mark();
    if (*is_cert) {
        const unsigned char *p = b->data;
        X509 *x = d2i_X509(NULL, &p, (long)b->len);
        if (x != NULL)
            pk = X509_get_pubkey(x);
        X509_free(x);
    } else {
        hsm_cvc c;
        if (hsm_cvc_parse(b->data, b->len, &c, NULL) != HSM_OK || hsm_cvc_public_key(&c, 0, &pk) != HSM_OK)
            pk = NULL;
    }
    ERR_pop_to_mark();
    return pk;
}

/* Is an unlisted file there? (6A82: no.) */
static int probe(hsm_card *c, uint16_t fid)
{
    hsm_bytes b = HSM_BYTES_INIT;
    int there = hsm_card_read_file(c, fid, &b) == HSM_OK;
    hsm_bytes_free(&b);
    return there;
}

/* Every file of the key references: ENUMERATE, and on a card that lists only keys and
 * descriptions also the CEnn/CBnn it hides, found by reading them (6A82: absent) and added to the
 * list as if listed. Without this the files an interrupted delete leaves at a reference without a
 * key would stay unseen for ever. It costs 2 APDUs per reference (510), so only the full check
 * and its repair do it. */
static int list_files(hsm_card *c, hsm_bytes *fids)
{
    int rc = hsm_card_enumerate(c, fids);
    if (rc != HSM_OK || hsm_fids_list_every_file(fids))
        return rc;
    static const uint8_t public_files[] = { HSM_PREFIX_EE_CERT, PREFIX_REQ_KEEP };
    for (int ref = 1; rc == HSM_OK && ref < 256; ref++)
        for (size_t i = 0; rc == HSM_OK && i < sizeof(public_files); i++)
            if (probe(c, FID(public_files[i], ref)))
                rc = hsm_bytes_put_u16(fids, FID(public_files[i], ref));
    return rc;
}

/* Free memory from INITIALIZE without data (device information, firmware 2.4 and later):
 * the first 4 bytes, big endian. -1 when the card does not say. */
static long free_memory(hsm_card *c)
{
    hsm_apdu a = { 0x80, 0x50, 0x00, 0x00, NULL, 0, 256 };
    hsm_bytes r = HSM_BYTES_INIT;
    uint16_t sw = 0;
    long mem = -1;
    if (hsm_card_transmit(c, &a, &r, &sw) == HSM_OK && sw == 0x9000 && r.len >= 6)
        mem = (long)((uint32_t)r.data[0] << 24 | (uint32_t)r.data[1] << 16 | (uint32_t)r.data[2] << 8 | r.data[3]);
    hsm_bytes_free(&r);
    return mem;
}

static void note_pub(hsm_check_entry *e, EVP_PKEY *pk)
{
    e->have_pub_id = hsm_pkcs15_key_id(pk, e->pub_id) == HSM_OK;
    e->pub_type = EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA ? HSM_KEY_RSA : HSM_KEY_EC;
    e->pub_bits = (unsigned)EVP_PKEY_get_bits(pk);
}

/* Reads and judges the files of one key reference. */
static int scan_ref(hsm_card *c, const hsm_bytes *fids, hsm_check_entry *e, int deep)
{
    uint8_t ref = e->ref;
    hsm_bytes b = HSM_BYTES_INIT;
    EVP_PKEY *ce_pk = NULL, *cb_pk = NULL;
    int rc = HSM_OK;
    if (hsm_fids_has(fids, FID(HSM_PREFIX_KEY, ref)))
        e->files |= HSM_CHECK_KEY;
    if (hsm_fids_has(fids, FID(HSM_PREFIX_PRKD, ref)))
        e->files |= HSM_CHECK_DESC;
    if (hsm_fids_has(fids, FID(HSM_PREFIX_EE_CERT, ref)))
        e->files |= HSM_CHECK_PUB;
    if (hsm_fids_has(fids, FID(PREFIX_REQ_KEEP, ref)))
        e->files |= HSM_CHECK_REQ;
    if (!(e->files & HSM_CHECK_KEY)) {
        e->findings |= HSM_CHECK_ORPHAN;
        return HSM_OK;   /* nothing else matters about files that go */
    }
    if (!deep) {
        if (!(e->files & HSM_CHECK_DESC))
            e->findings |= HSM_CHECK_NO_DESC;
        return HSM_OK;
    }
    if (e->files & HSM_CHECK_DESC) {
        rc = hsm_card_read_file(c, FID(HSM_PREFIX_PRKD, ref), &b);
        if (rc == HSM_OK)
            e->have_desc = hsm_prkd_decode(b.data, b.len, &e->desc) == HSM_OK;
        if (rc == HSM_OK && !e->have_desc)
            e->findings |= HSM_CHECK_BAD_DESC;
    } else {
        e->findings |= HSM_CHECK_NO_DESC;
    }
    int cert = 0;
    if (rc == HSM_OK && (e->files & HSM_CHECK_PUB) && (rc = hsm_card_read_file(c, FID(HSM_PREFIX_EE_CERT, ref), &b)) == HSM_OK) {
        ce_pk = blob_pub(&b, &cert);
        e->pub_is_cert = cert;
        if (ce_pk == NULL)
            e->findings |= HSM_CHECK_BAD_PUB;
    }
    if (rc == HSM_OK && (e->files & HSM_CHECK_REQ) && (rc = hsm_card_read_file(c, FID(PREFIX_REQ_KEEP, ref), &b)) == HSM_OK) {
        cb_pk = blob_pub(&b, &cert);
        if (cb_pk == NULL)
            e->findings |= HSM_CHECK_BAD_PUB;
    }
    if (rc != HSM_OK)
        goto out;
    if ((e->files & HSM_CHECK_REQ) && !(e->files & HSM_CHECK_PUB) && cb_pk != NULL)
        e->findings |= HSM_CHECK_PUB_MISSING;
    /* The key's own public key: the request the card made at generation (CBnn when a certificate
     * took CEnn), else what CEnn holds. */
    EVP_PKEY *key_pk = cb_pk != NULL ? cb_pk : ce_pk;
    if (key_pk != NULL) {
        note_pub(e, key_pk);
        if (ce_pk != NULL && cb_pk != NULL) {
            ERR_set_mark();
            if (EVP_PKEY_eq(ce_pk, cb_pk) != 1)
                e->findings |= HSM_CHECK_CERT_MISMATCH;
            ERR_pop_to_mark();
        }
        if (e->have_desc && e->have_pub_id &&
            (e->desc.id_len != 20 || memcmp(e->desc.id, e->pub_id, 20) != 0))
            e->findings |= HSM_CHECK_ID_MISMATCH;
    }
out:
    EVP_PKEY_free(ce_pk);
    EVP_PKEY_free(cb_pk);
    hsm_bytes_free(&b);
    return rc;
}

static int scan(hsm_token *t, hsm_check_report *r, int deep)
{
    if (t == NULL || r == NULL)
        return HSM_E_ARGS;
    memset(r, 0, sizeof(*r));
    r->free_memory = -1;
    hsm_bytes fids = HSM_BYTES_INIT;
    hsm_card *c = NULL;
    int rc;
    if (deep) {
        if ((c = hsm_token_lock(t)) == NULL)
            return HSM_E_COMM;
        rc = list_files(c, &fids);
    } else {
        rc = hsm_token_file_ids(t, &fids);   /* no APDU inside list's snapshot */
    }
    unsigned char seen[256] = { 0 };
    for (size_t i = 0; rc == HSM_OK && i + 1 < fids.len; i += 2) {
        uint8_t p = fids.data[i], ref = fids.data[i + 1];
        if (ref != 0 && (p == HSM_PREFIX_KEY || p == HSM_PREFIX_PRKD || p == HSM_PREFIX_EE_CERT || p == PREFIX_REQ_KEEP))
            seen[ref] = 1;
    }
    size_t n = 0;
    for (int ref = 1; ref < 256; ref++)
        n += seen[ref];
    if (rc == HSM_OK && n > 0 && (r->entries = calloc(n, sizeof(*r->entries))) == NULL)
        rc = HSM_E_MEM;
    for (int ref = 1; rc == HSM_OK && ref < 256; ref++) {
        if (!seen[ref])
            continue;
        hsm_check_entry *e = &r->entries[r->n++];
        e->ref = (uint8_t)ref;
        rc = scan_ref(c, &fids, e, deep);
        if (e->findings & ~(unsigned)HSM_CHECK_ID_MISMATCH)
            r->problems++;
        else if (e->findings)
            r->warnings++;
    }
    if (rc == HSM_OK && deep)
        r->free_memory = free_memory(c);
    hsm_bytes_free(&fids);
    if (c != NULL)
        hsm_token_unlock(t, 0);
    if (rc != HSM_OK)
        hsm_check_report_free(r);
    return rc;
}

int hsm_check_scan(hsm_token *t, hsm_check_report *r)
{
    return scan(t, r, 1);
}

int hsm_check_scan_files(hsm_token *t, hsm_check_report *r)
{
    return scan(t, r, 0);
}

void hsm_check_report_free(hsm_check_report *r)
{
    if (r == NULL)
        return;
    free(r->entries);
    r->entries = NULL;
    r->n = 0;
}

int hsm_check_repairable(const hsm_check_entry *e)
{
    return (e->findings & (HSM_CHECK_ORPHAN | HSM_CHECK_PUB_MISSING)) ||
           ((e->findings & HSM_CHECK_NO_DESC) && e->have_pub_id);
}

/* One change with the one new login a 6982 allows (another program logged us out). */
static int change(hsm_token *t, hsm_card *c, uint16_t fid, const hsm_bytes *data, int *retried)
{
    int rc;
    do {
        rc = data != NULL ? hsm_card_write_file(c, fid, data->data, data->len) : hsm_card_delete_file(c, fid);
        if (rc == HSM_E_NOT_FOUND && data == NULL)
            rc = HSM_OK;
    } while (hsm_token_relogin_once(t, rc, retried));
    return rc;
}

static void step(hsm_check_step_fn cb, void *arg, uint8_t ref, const char *what, int rc, int *failed)
{
    if (rc != HSM_OK)
        (*failed)++;
    if (cb != NULL)
        cb(arg, ref, what, rc);
}

static void repair_ref(hsm_token *t, hsm_card *c, const hsm_check_entry *e, int *retried, hsm_check_step_fn cb,
                       void *arg, int *failed)
{
    uint8_t ref = e->ref;
    char what[HSM_LABEL_MAX + 96];
    if (e->findings & HSM_CHECK_ORPHAN) {
        /* The description first, so that no prefix leaves a description of nothing. */
        static const uint8_t order[] = { HSM_PREFIX_PRKD, HSM_PREFIX_EE_CERT, PREFIX_REQ_KEEP };
        static const unsigned bits[] = { HSM_CHECK_DESC, HSM_CHECK_PUB, HSM_CHECK_REQ };
        for (size_t i = 0; i < sizeof(order); i++) {
            if (!(e->files & bits[i]))
                continue;
            snprintf(what, sizeof(what), "removed orphan file %04X", FID(order[i], ref));
            step(cb, arg, ref, what, change(t, c, FID(order[i], ref), NULL, retried), failed);
        }
        return;
    }
    if (e->findings & HSM_CHECK_PUB_MISSING) {
        hsm_bytes b = HSM_BYTES_INIT;
        int rc = hsm_card_read_file(c, FID(PREFIX_REQ_KEEP, ref), &b);
        if (rc == HSM_OK)
            rc = change(t, c, FID(HSM_PREFIX_EE_CERT, ref), &b, retried);
        snprintf(what, sizeof(what), "restored %04X from the kept request %04X", FID(HSM_PREFIX_EE_CERT, ref),
                 FID(PREFIX_REQ_KEEP, ref));
        step(cb, arg, ref, what, rc, failed);
        hsm_bytes_free(&b);
    }
    if ((e->findings & HSM_CHECK_NO_DESC) && e->have_pub_id) {
        hsm_prkd d;
        memset(&d, 0, sizeof(d));
        d.type = e->pub_type;
        d.bits = e->pub_bits;
        snprintf(d.label, sizeof(d.label), "recovered-key-%u", ref);
        memcpy(d.id, e->pub_id, 20);
        d.id_len = 20;
        hsm_bytes enc = HSM_BYTES_INIT;
        int rc = hsm_prkd_encode(&d, &enc);
        if (rc == HSM_OK)
            rc = change(t, c, FID(HSM_PREFIX_PRKD, ref), &enc, retried);
        snprintf(what, sizeof(what), "described the key as \"%s\" (%04X)", d.label, FID(HSM_PREFIX_PRKD, ref));
        step(cb, arg, ref, what, rc, failed);
        hsm_bytes_free(&enc);
    }
}

int hsm_check_repair(hsm_token *t, const hsm_check_report *r, hsm_check_step_fn cb, void *arg)
{
    if (t == NULL || r == NULL)
        return HSM_E_ARGS;
    hsm_card *c = hsm_token_lock(t);
    if (c == NULL)
        return HSM_E_COMM;
    /* The files must still be the ones scanned: another program may have changed the card. */
    hsm_bytes fids = HSM_BYTES_INIT;
    int rc = list_files(c, &fids);
    int failed = 0, retried = 0, changed = 0;
    for (size_t i = 0; rc == HSM_OK && i < r->n; i++) {
        const hsm_check_entry *e = &r->entries[i];
        if (!hsm_check_repairable(e))
            continue;
        hsm_check_entry now;
        memset(&now, 0, sizeof(now));
        now.ref = e->ref;
        rc = scan_ref(c, &fids, &now, 1);
        if (rc != HSM_OK)
            break;
        if (now.files != e->files || now.findings != e->findings) {
            step(cb, arg, e->ref, "skipped: the files changed since the check; run the check again", HSM_E_BUSY,
                 &failed);
            continue;
        }
        changed = 1;
        repair_ref(t, c, e, &retried, cb, arg, &failed);
    }
    if (changed) {
        /* As after any change to the key set: others re-read their directory (hsm/token.h). */
        int src = hsm_card_select(c, NULL);
        (void)src;
    }
    hsm_bytes_free(&fids);
    hsm_token_unlock(t, 1);
    return rc != HSM_OK ? rc : failed;
}
