/* SPDX-License-Identifier: Apache-2.0 */
/* Serialisation of a virtual card: "SCHSMSIM" magic, version byte, a TLV body, and a
 * SHA-256 of the body so that a damaged file is reported instead of silently reset.
 * Body tags (context class, this file's own numbering):
 *   80 initialised  81 options  82 user PIN  83 PIN tries  84 PIN max  85 transport-PIN flag
 *   86 SO-PIN  87 SO tries  88 domain count  89 epoch  8A selected  8B PIN verified  8C current EF
 *   A1 key { 80 id 81 type 82 bits 83 private (DER or raw AES) 84 use counter 85 alg list 86 domain }
 *   A2 EF { 80 fid 81 data }
 *   A3 domain { 80 index 81 state 82 total 83 missing 84 KEK 85 KEK set 86 XKEK UID }
 *   A4 verified public key { 80 CHR 81 curve NID 82 point }  8D CHR selected by MSE
 *   8E profile (enum sim_profile; absent = cardcontact)
 *   8F firmware version (major, minor; absent = SIM_FW_MAJOR.SIM_FW_MINOR) */
#include "sim/sim_int.h"

#include "hsm/crypto.h"
#include "hsm/curves.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "SCHSMSIM"
#define VERSION 1

static void put_u32(hsm_bytes *b, unsigned tag, uint32_t v)
{
    uint8_t t[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    hsm_tlv_put(b, tag, t, 4);
}

static int sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned int len = 0;
    EVP_MD *md = EVP_MD_fetch(hsm_libctx(), "SHA256", NULL);
    int ok = md != NULL && EVP_Digest(p, n, out, &len, md, NULL) == 1;
    EVP_MD_free(md);
    return ok;
}

int sim_card_save(const sim_card *c, hsm_bytes *out)
{
    if (c == NULL || out == NULL)
        return HSM_E_ARGS;
    hsm_bytes b = HSM_BYTES_INIT;
    size_t m, mi;
    hsm_tlv_put_u8(&b, 0x80, (uint8_t)c->initialized);
    if (c->profile != SIM_PROFILE_CARDCONTACT)
        hsm_tlv_put_u8(&b, 0x8E, (uint8_t)c->profile);
    put_u32(&b, 0x81, c->options);
    hsm_tlv_put(&b, 0x82, c->pin, c->pin_len);
    hsm_tlv_put_u8(&b, 0x83, c->pin_tries);
    hsm_tlv_put_u8(&b, 0x84, c->pin_max);
    hsm_tlv_put_u8(&b, 0x85, (uint8_t)c->transport_pin);
    if (c->so_set)
        hsm_tlv_put(&b, 0x86, c->so_pin, 8);
    hsm_tlv_put_u8(&b, 0x87, c->so_tries);
    hsm_tlv_put_u8(&b, 0x88, (uint8_t)c->ndomains);
    put_u32(&b, 0x89, c->epoch);
    hsm_tlv_put_u8(&b, 0x8A, (uint8_t)c->selected);
    hsm_tlv_put_u8(&b, 0x8B, (uint8_t)c->pin_ok);
    put_u32(&b, 0x8C, c->cur_ef);
    uint8_t fw[2] = { c->fw_major, c->fw_minor };
    hsm_tlv_put(&b, 0x8F, fw, 2);
    if (c->mse_chr[0])
        hsm_tlv_put(&b, 0x8D, c->mse_chr, strlen(c->mse_chr));
    for (size_t i = 0; i < c->npubkeys; i++) {
        const sim_pubkey *pk = &c->pubkeys[i];
        hsm_tlv_open(&b, 0xA4, &m);
        hsm_tlv_put(&b, 0x80, pk->chr, strlen(pk->chr));
        put_u32(&b, 0x81, (uint32_t)pk->nid);
        hsm_tlv_put(&b, 0x82, pk->point, pk->point_len);
        hsm_tlv_close(&b, m);
    }
    for (size_t i = 0; i < c->nkeys; i++) {
        const sim_key *k = &c->keys[i];
        hsm_tlv_open(&b, 0xA1, &m);
        hsm_tlv_put_u8(&b, 0x80, k->id);
        hsm_tlv_put_u8(&b, 0x81, (uint8_t)k->type);
        put_u32(&b, 0x82, k->bits);
        hsm_tlv_put(&b, 0x83, k->priv.data, k->priv.len);
        if (k->has_counter)
            put_u32(&b, 0x84, k->counter);
        if (k->has_algs)
            hsm_tlv_put(&b, 0x85, k->algs, k->nalgs);
        hsm_tlv_put_u8(&b, 0x86, k->domain);
        hsm_tlv_close(&b, m);
    }
    for (size_t i = 0; i < c->nfiles; i++) {
        hsm_tlv_open(&b, 0xA2, &m);
        put_u32(&b, 0x80, c->files[i].fid);
        hsm_tlv_put(&b, 0x81, c->files[i].data.data, c->files[i].data.len);
        hsm_tlv_close(&b, m);
    }
    for (size_t i = 0; i < c->ndomains; i++) {
        const sim_domain *d = &c->dom[i];
        hsm_tlv_open(&b, 0xA3, &mi);
        hsm_tlv_put_u8(&b, 0x80, (uint8_t)i);
        hsm_tlv_put_u8(&b, 0x81, (uint8_t)d->state);
        hsm_tlv_put_u8(&b, 0x82, d->total);
        hsm_tlv_put_u8(&b, 0x83, d->missing);
        if (d->kek_set || d->missing < d->total)
            hsm_tlv_put(&b, 0x84, d->kek, 32);
        hsm_tlv_put_u8(&b, 0x85, (uint8_t)d->kek_set);
        if (d->uid_len)
            hsm_tlv_put(&b, 0x86, d->uid, d->uid_len);
        hsm_tlv_close(&b, mi);
    }
    uint8_t h[32];
    int rc = HSM_E_MEM;
    if (!b.oom && sha256(b.data, b.len, h)) {
        hsm_bytes_clear(out);
        hsm_bytes_put(out, MAGIC, 8);
        hsm_bytes_put_u8(out, VERSION);
        hsm_bytes_put(out, b.data, b.len);
        hsm_bytes_put(out, h, 32);
        rc = out->oom ? HSM_E_MEM : HSM_OK;
    }
    hsm_bytes_free(&b);
    return rc;
}

static int get_uint(const hsm_tlv *t, size_t maxlen, uint32_t *v)
{
    if (t->len == 0 || t->len > maxlen)
        return 0;
    *v = 0;
    for (size_t i = 0; i < t->len; i++)
        *v = *v << 8 | t->val[i];
    return 1;
}

/* An EC key's size is the field size of one of the card's curves: signing formats r and s to
 * that length, so a file with any other size (damaged or hand-made) is refused here. */
static int ec_bits_known(unsigned bits)
{
    size_t n = 0;
    const hsm_curve *all = hsm_curve_all(&n);
    for (size_t i = 0; i < n; i++)
        if (all[i].bits == bits)
            return 1;
    return 0;
}

static int load_key(sim_card *c, const hsm_tlv *kt)
{
    const uint8_t *p = kt->val, *end = kt->val + kt->len;
    hsm_tlv t;
    sim_key k;
    int rc, have_id = 0;
    uint32_t v = 0;
    memset(&k, 0, sizeof(k));
    while ((rc = hsm_tlv_next(&p, end, &t)) == 1) {
        switch (t.tag) {
        case 0x80: if (!get_uint(&t, 1, &v)) goto bad; k.id = (uint8_t)v; have_id = 1; break;
        case 0x81: if (!get_uint(&t, 1, &v) || v < 1 || v > 3) goto bad; k.type = (int)v; break;
        case 0x82: if (!get_uint(&t, 4, &v) || v > 8192) goto bad; k.bits = v; break;
        case 0x83: hsm_bytes_set(&k.priv, t.val, t.len); break;
        case 0x84: if (!get_uint(&t, 4, &v)) goto bad; k.has_counter = 1; k.counter = v; break;
        case 0x85:
            if (t.len > sizeof(k.algs))
                goto bad;
            k.has_algs = 1;
            k.nalgs = t.len;
            if (t.len)
                memcpy(k.algs, t.val, t.len);
            break;
        case 0x86: if (!get_uint(&t, 1, &v)) goto bad; k.domain = (uint8_t)v; break;
        default: goto bad;
        }
    }
    if (rc < 0 || !have_id || k.type == 0 || k.priv.len == 0 || sim_key_find(c, k.id) != NULL)
        goto bad;
    /* AES keys are used as raw bytes: their size must be what the bits say. */
    if (k.type == SIM_KEY_AES && ((k.bits != 128 && k.bits != 192 && k.bits != 256) || k.priv.len * 8 != k.bits))
        goto bad;
    if (k.type == SIM_KEY_EC && !ec_bits_known(k.bits))
        goto bad;
    sim_key *slot = sim_key_put(c, k.id);
    if (slot == NULL)
        goto bad;
    *slot = k;
    return 1;
bad:
    hsm_bytes_free(&k.priv);
    return 0;
}

static int load_file(sim_card *c, const hsm_tlv *ft)
{
    hsm_tlv fid, data;
    uint32_t v = 0;
    if (hsm_tlv_find(ft->val, ft->len, 0x80, &fid) != 1 || hsm_tlv_find(ft->val, ft->len, 0x81, &data) != 1
        || !get_uint(&fid, 4, &v) || v == 0 || v > 0xFFFF || data.len > 0xFFFF || sim_file_find(c, (uint16_t)v))
        return 0;
    sim_file *f = sim_file_put(c, (uint16_t)v);
    return f != NULL && hsm_bytes_set(&f->data, data.val, data.len) == HSM_OK;
}

static int load_domain(sim_card *c, const hsm_tlv *dt)
{
    const uint8_t *p = dt->val, *end = dt->val + dt->len;
    hsm_tlv t;
    uint32_t v = 0, idx = SIM_MAX_DOMAINS;
    sim_domain d;
    int rc;
    memset(&d, 0, sizeof(d));
    while ((rc = hsm_tlv_next(&p, end, &t)) == 1) {
        switch (t.tag) {
        case 0x80: if (!get_uint(&t, 1, &idx)) return 0; break;
        case 0x81: if (!get_uint(&t, 1, &v) || v > 2) return 0; d.state = (int)v; break;
        case 0x82: if (!get_uint(&t, 1, &v)) return 0; d.total = (uint8_t)v; break;
        case 0x83: if (!get_uint(&t, 1, &v)) return 0; d.missing = (uint8_t)v; break;
        case 0x84: if (t.len != 32) return 0; memcpy(d.kek, t.val, 32); break;
        case 0x85: if (!get_uint(&t, 1, &v)) return 0; d.kek_set = v != 0; break;
        case 0x86: if (t.len > sizeof(d.uid)) return 0; memcpy(d.uid, t.val, t.len); d.uid_len = t.len; break;
        default: return 0;
        }
    }
    if (rc < 0 || idx >= c->ndomains || d.missing > d.total)
        return 0;
    c->dom[idx] = d;
    OPENSSL_cleanse(&d, sizeof(d));
    return 1;
}

static int load_pubkey(sim_card *c, const hsm_tlv *pt)
{
    hsm_tlv chr, nid, point;
    uint32_t v;
    if (c->npubkeys >= SIM_MAX_PUBKEYS || hsm_tlv_find(pt->val, pt->len, 0x80, &chr) != 1
        || hsm_tlv_find(pt->val, pt->len, 0x81, &nid) != 1 || hsm_tlv_find(pt->val, pt->len, 0x82, &point) != 1
        || chr.len < 1 || chr.len > 16 || !get_uint(&nid, 4, &v) || point.len > sizeof(c->pubkeys[0].point))
        return 0;
    sim_pubkey *pk = &c->pubkeys[c->npubkeys++];
    memset(pk, 0, sizeof(*pk));
    memcpy(pk->chr, chr.val, chr.len);
    pk->nid = (int)v;
    memcpy(pk->point, point.val, point.len);
    pk->point_len = point.len;
    return 1;
}

static int load_body(sim_card *c, const uint8_t *p, const uint8_t *end)
{
    hsm_tlv t;
    int rc;
    uint32_t v = 0;
    while ((rc = hsm_tlv_next(&p, end, &t)) == 1) {
        int ok = 1;
        switch (t.tag) {
        case 0x80: ok = get_uint(&t, 1, &v); c->initialized = v != 0; break;
        case 0x81: ok = get_uint(&t, 4, &v) && v <= 0xFFFF; c->options = (uint16_t)v; break;
        case 0x82:
            ok = t.len <= SIM_PIN_MAX;
            if (ok && t.len) memcpy(c->pin, t.val, t.len);
            c->pin_len = t.len;
            break;
        case 0x83: ok = get_uint(&t, 1, &v); c->pin_tries = (uint8_t)v; break;
        case 0x84: ok = get_uint(&t, 1, &v); c->pin_max = (uint8_t)v; break;
        case 0x85: ok = get_uint(&t, 1, &v); c->transport_pin = v != 0; break;
        case 0x86: ok = t.len == 8; if (ok) memcpy(c->so_pin, t.val, 8); c->so_set = ok; break;
        case 0x87: ok = get_uint(&t, 1, &v); c->so_tries = (uint8_t)v; break;
        case 0x88: ok = get_uint(&t, 1, &v) && v <= SIM_MAX_DOMAINS; c->ndomains = v; break;
        case 0x89: ok = get_uint(&t, 4, &v); c->epoch = v; break;
        case 0x8A: ok = get_uint(&t, 1, &v); c->selected = v != 0; break;
        case 0x8B: ok = get_uint(&t, 1, &v); c->pin_ok = v != 0; break;
        case 0x8C: ok = get_uint(&t, 4, &v) && v <= 0xFFFF; c->cur_ef = (uint16_t)v; break;
        case 0x8E: ok = get_uint(&t, 1, &v) && sim_profile_name((int)v) != NULL; c->profile = (int)v; break;
        case 0xA1: ok = load_key(c, &t); break;
        case 0xA2: ok = load_file(c, &t); break;
        case 0xA3: ok = load_domain(c, &t); break;
        case 0xA4: ok = load_pubkey(c, &t); break;
        case 0x8F:
            ok = t.len == 2;
            if (ok) {
                c->fw_major = t.val[0];
                c->fw_minor = t.val[1];
            }
            break;
        case 0x8D:
            ok = t.len >= 1 && t.len <= 16;
            if (ok)
                memcpy(c->mse_chr, t.val, t.len);
            break;
        default: ok = 0; break;
        }
        if (!ok)
            return HSM_E_PARSE;
    }
    if (rc < 0 || sim_key_find(c, 0) == NULL || sim_file_find(c, 0x2F02) == NULL)
        return HSM_E_PARSE;
    return HSM_OK;
}

int sim_card_load(const uint8_t *buf, size_t len, sim_card **out)
{
    if (buf == NULL || out == NULL)
        return HSM_E_ARGS;
    uint8_t h[32];
    if (len < 8 + 1 + 32 || memcmp(buf, MAGIC, 8) != 0 || buf[8] != VERSION)
        return HSM_E_PARSE;
    const uint8_t *body = buf + 9;
    size_t blen = len - 9 - 32;
    if (!sha256(body, blen, h) || CRYPTO_memcmp(h, body + blen, 32) != 0)
        return HSM_E_PARSE;
    sim_card *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return HSM_E_MEM;
    c->fw_major = SIM_FW_MAJOR;   /* state files older than tag 0x8F */
    c->fw_minor = SIM_FW_MINOR;
    int rc = load_body(c, body, body + blen);
    if (rc != HSM_OK) {
        sim_card_free(c);
        return rc;
    }
    *out = c;
    return HSM_OK;
}
