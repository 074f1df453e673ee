/* SPDX-License-Identifier: Apache-2.0 */
/* Changing the key set: generate, delete, store a certificate. Every change leaves either the
 * complete new state or nothing, and ends with a re-SELECT so other sessions notice it. */
#include "hsm/token_int.h"
#include "hsm/curves.h"
#include "hsm/cvc.h"
#include "hsm/rv.h"
#include "hsm/sw.h"
#include "hsm/tlv.h"

#include <stdio.h>
#include <string.h>

#define FID(prefix, ref) ((uint16_t)((prefix) << 8 | (ref)))

/* Deletes a file; a missing file is fine. */
static int del(hsm_token *t, uint16_t fid)
{
    int rc = hsm_card_delete_file(t->card, fid);
    return rc == HSM_E_NOT_FOUND ? HSM_OK : rc;
}

static void remove_key_files(hsm_token *t, uint8_t ref)
{
    del(t, FID(HSM_PREFIX_KEY, ref));
    del(t, FID(HSM_PREFIX_PRKD, ref));
    del(t, FID(HSM_PREFIX_EE_CERT, ref));
}

static int lowest_free_ref(const hsm_token *t)
{
    for (int r = 1; r <= 255; r++)
        if (!tok_has_fid(t, FID(HSM_PREFIX_KEY, r)) && !tok_has_fid(t, FID(HSM_PREFIX_PRKD, r)) &&
            !tok_has_fid(t, FID(HSM_PREFIX_EE_CERT, r)) && !tok_has_fid(t, FID(HSM_PREFIX_REQ_KEEP, r)))
            return r;
    return -1;
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

static int gen_asym(hsm_token *t, const hsm_keygen_params *p, uint8_t ref, hsm_prkd *d)
{
    hsm_gakp_params g;
    memset(&g, 0, sizeof(g));
    g.car = "UTCA00001";
    g.chr = "UTDUMMY00001";
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
    rc = hsm_card_generate_asym(t->card, ref, data.data, data.len, &req);
    if (rc != HSM_OK) {
        if (rc == HSM_E_SW || rc == HSM_E_NOT_FOUND)
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

static int gen_aes(hsm_token *t, const hsm_keygen_params *p, uint8_t ref, hsm_prkd *d)
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
    int rc = data.oom ? HSM_E_MEM : hsm_card_generate_sym(t->card, ref, p2, data.data, data.len);
    hsm_bytes_free(&data);
    if (rc != HSM_OK) {
        if (rc == HSM_E_SW || rc == HSM_E_NOT_FOUND)
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
    if (rc != HSM_OK)
        goto out;
    int ref = lowest_free_ref(t);
    if (ref < 0) {
        tok_err(t, "no free key reference left (255 keys): delete keys you no longer need");
        rc = HSM_E_UNSUPPORTED;
        goto out;
    }
    hsm_prkd d;
    memset(&d, 0, sizeof(d));
    d.type = p->type;
    d.key_ref = (unsigned)ref;
    snprintf(d.label, sizeof(d.label), "%s", p->label);
    rc = p->type == HSM_KEY_AES ? gen_aes(t, p, (uint8_t)ref, &d) : gen_asym(t, p, (uint8_t)ref, &d);
    if (rc == HSM_OK) {
        hsm_bytes enc = HSM_BYTES_INIT;
        rc = hsm_prkd_encode(&d, &enc);
        if (rc == HSM_OK) {
            rc = hsm_card_write_file(t->card, FID(HSM_PREFIX_PRKD, ref), enc.data, enc.len);
            if (rc != HSM_OK)
                tok_sw_err(t, "cannot write the key description", 0xD7);
        }
        hsm_bytes_free(&enc);
    }
    if (rc != HSM_OK) {
        /* Nothing lost, nothing half-made: take back whatever the card created. */
        char keep[sizeof(t->err)];
        memcpy(keep, t->err, sizeof(keep));
        remove_key_files(t, (uint8_t)ref);
        memcpy(t->err, keep, sizeof(keep));
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
    static const uint8_t prefixes[] = { HSM_PREFIX_KEY, HSM_PREFIX_PRKD, HSM_PREFIX_EE_CERT, HSM_PREFIX_REQ_KEEP };
    for (size_t i = 0; i < sizeof(prefixes) && rc == HSM_OK; i++) {
        rc = del(t, FID(prefixes[i], k->key_ref));
        if (rc == HSM_E_SW)
            tok_sw_err(t, "cannot delete the key", 0xE4);
        else if (rc != HSM_OK)
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
    uint16_t ce = FID(HSM_PREFIX_EE_CERT, k->key_ref), keep = FID(HSM_PREFIX_REQ_KEEP, k->key_ref);
    if (tok_has_fid(t, ce) && !tok_has_fid(t, keep)) {
        /* The 67 request is the key's attestation: keep it in CBnn before it is replaced. */
        const hsm_bytes *old;
        rc = tok_read_ce(t, k->key_ref, &old);
        if (rc == HSM_OK && old->len > 0 && old->data[0] == 0x67) {
            rc = hsm_card_write_file(t->card, keep, old->data, old->len);
            if (rc != HSM_OK)
                tok_sw_err(t, "cannot preserve the key's attestation request; certificate not stored", 0xD7);
        }
        if (rc != HSM_OK)
            goto done;
    }
    /* Delete first: the card may keep trailing bytes of a longer old file on overwrite. */
    rc = del(t, ce);
    if (rc == HSM_OK)
        rc = hsm_card_write_file(t->card, ce, der, len);
    if (rc == HSM_E_SW || rc == HSM_E_NOT_FOUND)
        tok_sw_err(t, "cannot store the certificate", 0xD7);
    else if (rc != HSM_OK)
        tok_err(t, "cannot store the certificate: %s", hsm_rv_text(rc));
done:
    tok_forget_dir(t);
    tok_leave(t);
    return rc;
}
