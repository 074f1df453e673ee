/* SPDX-License-Identifier: Apache-2.0 */
/* The unwrap transaction (keybackup.h): a wrapped-key file goes into the card completely and
 * proven, or not at all. Order: host checks first (file, the request's self-signature, same key
 * present, label/ID clashes, the card's KCVs), then UNWRAP into a free reference, a signature by
 * the new key verified with the request's public key, then description and certificate. */
#include "hsm/keybackup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "hsm/crypto.h"
#include "hsm/cvc.h"
#include "hsm/rv.h"
#include "hsm/sw.h"

#define FID(prefix, ref) ((uint16_t)((prefix) << 8 | (ref)))
#define INS_UPDATE 0xD7

/* Public key of the file's certificate (X.509) or CV request (7F21 / 67), the request's
 * self-signature checked. */
static int request_key(const uint8_t *p, size_t len, EVP_PKEY **pub, hsm_kb_result *r)
{
    if (len > 0 && p[0] == 0x30) {
        const uint8_t *q = p;
        X509 *x = d2i_X509(NULL, &q, (long)len);
        *pub = x != NULL ? X509_get_pubkey(x) : NULL;
        X509_free(x);
        if (*pub == NULL) {
            hsm_kb_fail(r, HSM_KB_BAD_FILE, "the certificate in the file cannot be decoded");
            return HSM_E_PARSE;
        }
        return HSM_OK;
    }
    hsm_cvc cvc;
    int rc = hsm_cvc_parse(p, len, &cvc, NULL);
    if (rc == HSM_OK)
        rc = hsm_cvc_public_key(&cvc, 0, pub);
    if (rc != HSM_OK) {
        hsm_kb_fail(r, HSM_KB_BAD_FILE, "the key's request in the file cannot be decoded (%s)", hsm_rv_text(rc));
        return HSM_E_PARSE;
    }
    if (hsm_cvc_verify(&cvc, *pub) != HSM_OK) {
        EVP_PKEY_free(*pub);
        *pub = NULL;
        hsm_kb_fail(r, HSM_KB_BAD_REQUEST, "the key's request in the file does not verify with its own public key: "
                    "the file was changed or damaged; use an intact copy of the backup (nothing was sent to the "
                    "card)");
        return HSM_E_VERIFY;
    }
    return HSM_OK;
}

int hsm_kb_file_open(const uint8_t *file, size_t len, hsm_wrapped_file *wf, hsm_wrapped_hdr *hdr,
                     hsm_prkd *prkd, int *have_prkd, EVP_PKEY **pub, hsm_kb_result *r)
{
    *pub = NULL;
    *have_prkd = 0;
    memset(prkd, 0, sizeof(*prkd));
    if (hsm_wrapped_file_parse(file, len, wf) != HSM_OK || hsm_wrapped_blob_header(wf->blob, wf->blob_len, hdr) != HSM_OK) {
        hsm_kb_fail(r, HSM_KB_BAD_FILE, "not a wrapped-key file (expected 30 { 04 wrapped key, description, "
                    "certificate } as wrap-key and sc-hsm-tool --wrap-key write it)");
        return HSM_E_PARSE;
    }
    if (wf->prkd != NULL) {
        if (hsm_prkd_decode(wf->prkd, wf->prkd_len, prkd) != HSM_OK) {
            hsm_kb_fail(r, HSM_KB_BAD_FILE, "the key description in the file is malformed");
            return HSM_E_PARSE;
        }
        *have_prkd = 1;
    }
    if (wf->cert != NULL)
        return request_key(wf->cert, wf->cert_len, pub, r);
    return HSM_OK;
}

int hsm_kb_find_same_key(hsm_token *t, EVP_PKEY *pub, uint8_t *ref)
{
    hsm_key *keys = NULL;
    size_t n = 0;
    *ref = 0;
    int rc = hsm_token_list_keys(t, &keys, &n);
    for (size_t i = 0; rc == HSM_OK && i < n && *ref == 0; i++) {
        EVP_PKEY *pk = NULL;
        /* A key without description is an interrupted unwrap's leftover, not a key present: the
         * unwrap resumes it (free_ref). */
        if (keys[i].type == HSM_KEY_NONE)
            continue;
        if (hsm_token_public_key(t, &keys[i], &pk) == HSM_OK && EVP_PKEY_eq(pk, pub) == 1)
            *ref = keys[i].key_ref;
        EVP_PKEY_free(pk);
    }
    free(keys);
    return rc;
}

/* Keys with the same label or ID as d. */
static int find_clashes(hsm_token *t, const hsm_prkd *d, hsm_kb_unwrap_info *info, hsm_kb_result *r)
{
    hsm_key *keys = NULL;
    size_t nk = 0;
    if (hsm_token_list_keys(t, &keys, &nk) != HSM_OK) {
        hsm_kb_fail(r, HSM_KB_CARD, "cannot list the keys: %s", hsm_token_error(t));
        return HSM_E_COMM;
    }
    for (size_t i = 0; i < nk && info->nclash < sizeof(info->clash_refs); i++) {
        int same_label = d->label[0] != '\0' && strcmp(keys[i].label, d->label) == 0;
        int same_id = d->id_len > 0 && keys[i].id_len == d->id_len && memcmp(keys[i].id, d->id, d->id_len) == 0;
        if (!same_label && !same_id)
            continue;
        if (info->nclash < 4)
            snprintf(info->clash_labels[info->nclash], HSM_LABEL_MAX, "%s", keys[i].label);
        info->clash_refs[info->nclash++] = keys[i].key_ref;
    }
    free(keys);
    return HSM_OK;
}

/* Lowest key reference with none of the key's files, so nothing old is overwritten; or the one an
 * interrupted unwrap of this same file left: no description yet, and CEnn holds the file's
 * certificate byte for byte (it is written first). There the unwrap resumes (*resumed), skipping
 * UNWRAP when the key is there already (*has_key). */
static int free_ref(hsm_card *c, const uint8_t *cert, size_t cert_len, int *resumed, int *has_key, int *lists_all)
{
    hsm_bytes fids = HSM_BYTES_INIT;
    uint8_t used[256] = { 0 }, desc[256] = { 0 }, pub[256] = { 0 }, key[256] = { 0 };
    *resumed = *has_key = 0;
    *lists_all = 1;
    if (hsm_card_enumerate(c, &fids) != HSM_OK) {
        hsm_bytes_free(&fids);
        return -1;
    }
    for (size_t i = 0; i + 1 < fids.len; i += 2) {
        uint8_t pre = fids.data[i], r = fids.data[i + 1];
        if (pre == HSM_PREFIX_KEY || pre == HSM_PREFIX_PRKD || pre == HSM_PREFIX_EE_CERT || pre == HSM_PREFIX_REQ_KEEP)
            used[r] = 1;
        desc[r] |= pre == HSM_PREFIX_PRKD;
        pub[r] |= pre == HSM_PREFIX_EE_CERT;
        key[r] |= pre == HSM_PREFIX_KEY;
    }
    /* Some cards list only CC/C4/C8/C9: there a key without description is worth reading its CEnn. */
    *lists_all = hsm_fids_list_every_file(&fids);
    hsm_bytes_free(&fids);
    for (int r = 1; cert != NULL && r <= 255; r++) {
        if (!(pub[r] || (!*lists_all && key[r])) || desc[r])
            continue;
        hsm_bytes ce = HSM_BYTES_INIT;
        int same = hsm_card_read_file(c, FID(HSM_PREFIX_EE_CERT, r), &ce) == HSM_OK && ce.len == cert_len &&
                   memcmp(ce.data, cert, cert_len) == 0;
        hsm_bytes_free(&ce);
        if (same) {
            *resumed = 1;
            *has_key = key[r];
            return r;
        }
    }
    for (int ref = 1; ref <= 255; ref++)
        if (!used[ref])
            return ref;
    return 0;
}

/* The description to write: the file's own bytes, or re-encoded with the new label / ID. */
static int new_prkd(const hsm_wrapped_file *wf, const hsm_kb_unwrap_opts *o, hsm_prkd *d, hsm_bytes *out,
                    hsm_kb_result *r)
{
    if (wf->prkd == NULL) {
        if (o->label != NULL || o->id != NULL) {
            hsm_kb_fail(r, HSM_KB_BAD_FILE, "the file holds no key description, so a new label or ID cannot be "
                        "applied");
            return HSM_E_ARGS;
        }
        return HSM_OK;
    }
    if (o->label == NULL && o->id == NULL)
        return hsm_bytes_set(out, wf->prkd, wf->prkd_len);
    if (o->label != NULL)
        snprintf(d->label, sizeof(d->label), "%s", o->label);
    if (o->id != NULL) {
        if (o->id_len > sizeof(d->id))
            return HSM_E_ARGS;
        memcpy(d->id, o->id, o->id_len);
        d->id_len = o->id_len;
    }
    if (hsm_prkd_encode(d, out) != HSM_OK) {
        hsm_kb_fail(r, HSM_KB_CARD, "cannot encode the key description");
        return HSM_E_MEM;
    }
    return HSM_OK;
}

/* The unwrap side of the origin chain (keybackup.c): CBnn = request || origin chain. */
static int restore_origin_chain(hsm_card *c, uint8_t ref, const hsm_wrapped_file *wf)
{
    if (wf->origin == NULL || wf->cert == NULL || wf->cert[0] != 0x67)
        return HSM_OK;
    hsm_bytes cb = HSM_BYTES_INIT;
    hsm_bytes_put(&cb, wf->cert, wf->cert_len);
    hsm_bytes_put(&cb, wf->origin, wf->origin_len);
    int rv = cb.oom ? HSM_E_MEM : hsm_card_write_file(c, FID(HSM_PREFIX_REQ_KEEP, ref), cb.data, cb.len);
    hsm_bytes_free(&cb);
    return rv;
}

static void refused(hsm_token *t, const hsm_wrapped_hdr *hdr, uint16_t sw, hsm_kb_result *r)
{
    char kcv[17];
    for (int i = 0; i < 8; i++)
        snprintf(kcv + 2 * i, 3, "%02x", hdr->kcv[i]);
    hsm_token_info ti;
    r->sw = sw;
    /* Firmware 3.1 answered 6F00 to UNWRAP of every key exported with an algorithm list. */
    if (sw == 0x6F00 && hdr->algs_len > 0 && hsm_token_info_get(t, &ti) == HSM_OK && ti.fw_major == 3
        && ti.fw_minor == 1) {
        hsm_kb_fail(r, HSM_KB_FW_BUG, "the card refused UNWRAP KEY (80 74) with 6F00: this card runs firmware "
                    "%u.%u, which has a known bug: it cannot unwrap keys that were exported with an algorithm list "
                    "(this key has one). Update the card's firmware to 3.2 or later, or restore the key into "
                    "another card; keys generated without an algorithm list are not affected. Nothing was changed",
                    ti.fw_major, ti.fw_minor);
        return;
    }
    hsm_kb_fail(r, HSM_KB_REFUSED, "the card refused UNWRAP KEY (80 74) with %04X although it holds the DKEK the "
                "key was wrapped with (KCV %s): the wrapped key is damaged, or in an encoding this card does not "
                "accept (another card's or tool's key format); nothing was changed", sw, kcv);
}

int hsm_kb_unwrap(hsm_token *t, const uint8_t *file, size_t len, const hsm_kb_unwrap_opts *o,
                  hsm_kb_unwrap_info *info, hsm_kb_result *r)
{
    memset(info, 0, sizeof(*info));
    memset(r, 0, sizeof(*r));
    hsm_wrapped_file wf;
    hsm_bytes prkd = HSM_BYTES_INIT;
    EVP_PKEY *pub = NULL;
    int rc = hsm_kb_file_open(file, len, &wf, &info->hdr, &info->prkd, &info->have_prkd, &pub, r);
    if (rc == HSM_OK)
        rc = new_prkd(&wf, o, &info->prkd, &prkd, r);
    if (rc == HSM_OK && o->skip_present && pub != NULL) {
        rc = hsm_kb_find_same_key(t, pub, &info->present_ref);
        if (rc != HSM_OK)
            hsm_kb_fail(r, HSM_KB_CARD, "cannot list the keys: %s", hsm_token_error(t));
        else if (info->present_ref != 0) {
            hsm_kb_fail(r, HSM_KB_PRESENT, "the same key is on the card already (key reference %u)",
                        info->present_ref);
            rc = HSM_E_AMBIGUOUS;
        }
    }
    if (rc == HSM_OK)
        rc = find_clashes(t, &info->prkd, info, r);
    if (rc == HSM_OK && info->nclash > 0 && !o->replace) {
        hsm_kb_fail(r, HSM_KB_CLASH, "a key with label '%s' or the same ID is on the card already (key reference "
                    "%u, '%s')", info->prkd.label, info->clash_refs[0], info->clash_labels[0]);
        rc = HSM_E_AMBIGUOUS;
    }
    if (rc != HSM_OK || o->dry_run)
        goto out;
    /* The re-SELECT after an earlier change to the key set dropped the login: log in again with
     * the PIN the session holds (no APDU while the login stands). */
    rc = hsm_token_ensure_login(t, NULL, NULL);
    if (rc != HSM_OK) {
        hsm_kb_fail(r, HSM_KB_CARD, "cannot log in: %s", hsm_token_error(t));
        goto out;
    }

    hsm_card *c = hsm_token_lock(t);
    if (c == NULL) {
        hsm_kb_fail(r, HSM_KB_CARD, "cannot reach the card: %s", hsm_token_error(t));
        rc = HSM_E_COMM;
        goto out;
    }
    int changed = 0, ref = 0, resumed = 0, has_key = 0, retried = 0, lists_all = 1;
    uint16_t unwrap_sw = 0;
    hsm_kb_domain doms[HSM_KB_MAX_DOMAINS];
    size_t nd = 0;
    hsm_kb_domains(c, doms, HSM_KB_MAX_DOMAINS, &nd);
    if (hsm_kb_domain_for_kcv(doms, nd, info->hdr.kcv, r) < 0)
        rc = HSM_E_VERIFY;
    if (rc == HSM_OK) {
        ref = free_ref(c, wf.cert, wf.cert_len, &resumed, &has_key, &lists_all);
        if (ref <= 0) {
            hsm_kb_fail(r, HSM_KB_NO_SLOT, ref < 0 ? "cannot list the card's files to find a free key reference; "
                        "retry" : "no free key reference left (255 keys): delete keys you no longer need");
            rc = HSM_E_NOT_FOUND;
        }
    }
    /* A new key must not inherit what an interrupted delete left unseen at a free reference. */
    if (rc == HSM_OK && !lists_all && !resumed &&
        (rc = hsm_token_clear_public_files(t, (uint8_t)ref, &retried)) != HSM_OK) {
        r->sw = rc == HSM_E_SW ? hsm_card_last_sw(c) : 0;
        hsm_kb_fail(r, HSM_KB_CARD, "%s; nothing was unwrapped", hsm_token_error(t));
    }
    /* Order: certificate, key, origin chain, description. Each prefix an interruption can leave is
     * recognisable: a certificate alone (an orphan file for check --repair, and where a rerun
     * resumes), a key with it but no description (completed by a rerun, or described by check
     * --repair), never a description of a key that is not there. */
    if (rc == HSM_OK && wf.cert != NULL && !resumed) {
        changed = 1;
        do
            rc = hsm_card_write_file(c, FID(HSM_PREFIX_EE_CERT, ref), wf.cert, wf.cert_len);
        while (hsm_token_relogin_once(t, rc, &retried));
        if (rc != HSM_OK) {
            r->sw = rc == HSM_E_SW ? hsm_card_last_sw(c) : 0;
            hsm_kb_fail(r, HSM_KB_CARD, "cannot write the key's certificate (%s); nothing was unwrapped",
                        rc == HSM_E_SW ? hsm_sw_message(r->sw, INS_UPDATE) : hsm_rv_text(rc));
        }
    }
    if (rc == HSM_OK && !has_key) {
        do
            rc = hsm_card_unwrap(c, (uint8_t)ref, wf.blob, wf.blob_len);
        while (hsm_token_relogin_once(t, rc, &retried));
        changed = 1;
        if (rc == HSM_E_SW)
            unwrap_sw = hsm_card_last_sw(c);
        else if (rc != HSM_OK)
            hsm_kb_fail(r, HSM_KB_CARD, "UNWRAP KEY failed: %s", hsm_rv_text(rc));
    }
    if (rc == HSM_OK && pub != NULL) {
        int pr = hsm_kb_prove_key(c, (uint8_t)ref, pub, info->hdr.algs, info->hdr.algs_len);
        if (pr == HSM_OK) {
            info->checked = 1;
        } else if (pr == HSM_E_VERIFY) {
            hsm_kb_fail(r, HSM_KB_MISMATCH, "the key the card unwrapped is not the key of the public key in the "
                        "file's request (a signature by it did not verify): the file's parts do not belong "
                        "together; the unwrapped key was removed again and nothing was changed");
            rc = pr;
        } else if (pr != HSM_E_UNSUPPORTED) {
            r->sw = pr == HSM_E_SW ? hsm_card_last_sw(c) : 0;
            hsm_kb_fail(r, HSM_KB_CARD, "cannot check the unwrapped key with a signature: %s; the key was removed "
                        "again", pr == HSM_E_SW ? hsm_sw_message(r->sw, 0x68) : hsm_rv_text(pr));
            rc = pr;
        }
    }
    if (rc == HSM_OK) {
        int rv = restore_origin_chain(c, (uint8_t)ref, &wf);
        if (rv == HSM_OK && prkd.len > 0)
            rv = hsm_card_write_file(c, FID(HSM_PREFIX_PRKD, ref), prkd.data, prkd.len);
        if (rv != HSM_OK) {
            /* Nothing half-made: a key without its description would be invisible to OpenSC. */
            r->sw = rv == HSM_E_SW ? hsm_card_last_sw(c) : 0;
            hsm_kb_fail(r, HSM_KB_CARD, "cannot write the key's description or certificate (%s); the unwrapped "
                        "key was removed again", rv == HSM_E_SW ? hsm_sw_message(r->sw, INS_UPDATE) : hsm_rv_text(rv));
            rc = rv;
        }
    }
    if (rc != HSM_OK && changed)
        hsm_kb_delete_files(c, (uint8_t)ref);
    if (rc == HSM_OK && o->replace) {
        /* Only now that the new key is complete do the keys it replaces go. */
        for (size_t i = 0; i < info->nclash; i++)
            hsm_kb_delete_files(c, info->clash_refs[i]);
        info->replaced = info->nclash;
    }
    if (changed) {
        /* As after any change to the key set: other sessions must log in again and re-read
         * their key directory before they use a key (see hsm/token.h). */
        int rv = hsm_card_select(c, NULL);
        (void)rv;
    }
    hsm_token_unlock(t, changed);
    if (unwrap_sw != 0)
        refused(t, &info->hdr, unwrap_sw, r);
    info->key_ref = (uint8_t)ref;
    info->have_cert = wf.cert != NULL;
out:
    EVP_PKEY_free(pub);
    hsm_bytes_free(&prkd);
    return rc;
}
