/* SPDX-License-Identifier: Apache-2.0 */
/* GENERATE ASYMMETRIC KEY PAIR (sheet 7) and GENERATE SYMMETRIC KEY (8.1). Nothing is
 * written unless the whole operation succeeded. */
#include "sim/sim_int.h"

#include "hsm/curves.h"
#include "hsm/cvc.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"

#include <string.h>

static const uint8_t TA_RSA_ARC[9] = { 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01 };
static const uint8_t TA_ECDSA_ARC[9] = { 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02 };

typedef struct {
    hsm_tlv car, chr, outer_car, oid;
    int ec_nid;
    unsigned rsa_bits;
    const uint8_t *e;
    size_t elen;
} gakp_req;

static uint16_t parse_pubkey_template(const hsm_tlv *pk, gakp_req *r)
{
    if (hsm_tlv_find(pk->val, pk->len, 0x06, &r->oid) != 1 || r->oid.len != 10)
        return SW_BAD_DATA;
    if (memcmp(r->oid.val, TA_RSA_ARC, 9) == 0) {
        static const uint8_t f4[3] = { 0x01, 0x00, 0x01 };
        hsm_tlv e, bits;
        r->e = f4;
        r->elen = 3;
        if (hsm_tlv_find(pk->val, pk->len, 0x82, &e) == 1) {
            if (e.len < 1 || e.len > 4 || !(e.val[e.len - 1] & 1) || (e.len == 1 && e.val[0] < 3))
                return SW_BAD_DATA;
            r->e = e.val;
            r->elen = e.len;
        }
        if (hsm_tlv_find(pk->val, pk->len, 0x02, &bits) != 1 || bits.len != 2)
            return SW_BAD_DATA;
        r->rsa_bits = (unsigned)(bits.val[0] << 8 | bits.val[1]);
        if (r->rsa_bits != 1024 && r->rsa_bits != 1536 && r->rsa_bits != 2048 && r->rsa_bits != 3072
            && r->rsa_bits != 4096)
            return SW_BAD_DATA;
        return SW_OK;
    }
    if (memcmp(r->oid.val, TA_ECDSA_ARC, 9) == 0) {
        hsm_tlv p, a;
        if (hsm_tlv_find(pk->val, pk->len, 0x81, &p) != 1 || hsm_tlv_find(pk->val, pk->len, 0x82, &a) != 1)
            return SW_BAD_DATA;
        r->ec_nid = hsm_curve_identify(p.val, p.len, a.val, a.len);
        return r->ec_nid ? SW_OK : SW_BAD_DATA;
    }
    return SW_BAD_DATA;
}

static uint16_t parse_gakp(const hsm_apdu *a, gakp_req *r)
{
    memset(r, 0, sizeof(*r));
    const uint8_t *p = a->data, *end = a->data + a->lc;
    hsm_tlv t, pk = { 0 };
    int rc;
    while ((rc = hsm_tlv_next(&p, end, &t)) == 1) {
        switch (t.tag) {
        case 0x42: r->car = t; break;
        case 0x5F20: r->chr = t; break;
        case 0x45: r->outer_car = t; break;
        case 0x7F49: pk = t; break;
        default: break;
        }
    }
    if (rc < 0 || pk.val == NULL)
        return SW_BAD_DATA;
    if ((r->car.val && (r->car.len < 1 || r->car.len > 16)) || (r->chr.val && (r->chr.len < 1 || r->chr.len > 16))
        || (r->outer_car.val && (r->outer_car.len < 1 || r->outer_car.len > 16)))
        return SW_BAD_DATA;
    return parse_pubkey_template(&pk, r);
}

/* 67 { 7F21 { 7F4E {...} 5F37 inner } 42 outer CAR 5F37 outer } */
static int build_request(sim_card *c, const gakp_req *r, EVP_PKEY *key, uint8_t domain, hsm_bytes *req)
{
    hsm_bytes body = HSM_BYTES_INIT, tbs = HSM_BYTES_INIT;
    size_t m;
    char devchr[17];
    int rc;
    sim_key *dev = sim_key_find(c, 0);
    EVP_PKEY *devkey = dev ? sim_key_pkey(dev) : NULL;
    if (devkey == NULL)
        return HSM_E_CRYPTO;
    hsm_tlv_open(&body, 0x7F4E, &m);
    hsm_tlv_put_u8(&body, 0x5F29, 0x00);
    if (r->car.val)
        hsm_bytes_put(&body, r->car.raw, r->car.rawlen);
    if ((rc = hsm_cvc_put_pubkey(key, r->oid.val, r->oid.len, 1, &body)) != HSM_OK)
        goto done;
    if (r->chr.val)
        hsm_bytes_put(&body, r->chr.raw, r->chr.rawlen);
    else
        hsm_tlv_put(&body, 0x5F20, "UTDUMMY00001", 12);
    sim_xkek_put_extension(c, domain, &body);
    if ((rc = hsm_tlv_close(&body, m)) != HSM_OK ||
        (rc = hsm_cvc_put_signed(key, 0x7F21, body.data, body.len, &tbs)) != HSM_OK)
        goto done;
    if (r->outer_car.val) {
        hsm_tlv_put(&tbs, 0x42, r->outer_car.val, r->outer_car.len);
    } else {
        sim_device_chr(c, devchr, sizeof(devchr));
        hsm_tlv_put(&tbs, 0x42, devchr, strlen(devchr));
    }
    rc = hsm_cvc_put_signed(devkey, 0x67, tbs.data, tbs.len, req);
done:
    hsm_bytes_free(&body);
    hsm_bytes_free(&tbs);
    return rc;
}

/* Memory the card would hold after replacing key id (and its CE file) by new objects. */
static int fits(sim_card *c, uint8_t id, size_t key_cost, size_t ce_len)
{
    size_t freed = 0;
    sim_key *old = sim_key_find(c, id);
    if (old != NULL)
        freed += sim_key_cost(old->type, old->bits);
    if (ce_len > 0) {
        sim_file *ce = sim_file_find(c, (uint16_t)(0xCE00 | id));
        if (ce != NULL)
            freed += SIM_FILE_OVERHEAD + ce->data.len;
        key_cost += SIM_FILE_OVERHEAD + ce_len;
    }
    return key_cost <= sim_mem_free(c) + freed;
}

uint16_t sim_cmd_gakp(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    if (a->p1 == 0 || a->p2 != 0)
        return SW_BAD_P1P2;
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    if (a->lc == 0)
        return SW_BAD_DATA;
    gakp_req r;
    sim_key meta;
    memset(&meta, 0, sizeof(meta));
    uint16_t sw = parse_gakp(a, &r);
    if (sw == SW_OK)
        sw = sim_parse_meta(c, a->data, a->lc, &meta);
    if (sw != SW_OK)
        return sw;
    int type = r.ec_nid ? SIM_KEY_EC : SIM_KEY_RSA;
    unsigned bits = r.ec_nid ? hsm_curve_by_nid(r.ec_nid)->bits : r.rsa_bits;
    if (!fits(c, a->p1, sim_key_cost(type, bits), 0))
        return SW_NO_MEMORY;
    EVP_PKEY *key = NULL;
    int rc = r.ec_nid ? sim_keygen_ec(r.ec_nid, &key) : sim_keygen_rsa(r.rsa_bits, r.e, r.elen, &key);
    if (rc != HSM_OK)
        return SW_INTERNAL;
    hsm_bytes req = HSM_BYTES_INIT;
    if (build_request(c, &r, key, meta.domain, &req) != HSM_OK) {
        EVP_PKEY_free(key);
        hsm_bytes_free(&req);
        return SW_INTERNAL;
    }
    if (!fits(c, a->p1, sim_key_cost(type, bits), req.len)) {
        EVP_PKEY_free(key);
        hsm_bytes_free(&req);
        return SW_NO_MEMORY;
    }
    sim_key *k = sim_key_put(c, a->p1);
    sim_file *ce = sim_file_put(c, (uint16_t)(0xCE00 | a->p1));
    if (k == NULL || ce == NULL || sim_key_store_pkey(k, key) != HSM_OK) {
        if (k != NULL)
            sim_key_delete(c, a->p1);
        hsm_bytes_free(&req);
        return SW_INTERNAL;
    }
    k->has_counter = meta.has_counter;
    k->counter = meta.counter;
    k->has_algs = meta.has_algs;
    memcpy(k->algs, meta.algs, sizeof(k->algs));
    k->nalgs = meta.nalgs;
    k->domain = meta.domain;
    hsm_bytes_set(&ce->data, req.data, req.len);
    hsm_bytes_put(out, req.data, req.len);
    hsm_bytes_free(&req);
    c->dirty |= SIM_CHANGED_PERSISTENT;
    return SW_OK;
}

uint16_t sim_cmd_gsk(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    (void)out;
    if (a->p1 == 0 || a->p2 < 0xB0 || a->p2 > 0xB2)
        return SW_BAD_P1P2;
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    sim_key meta;
    memset(&meta, 0, sizeof(meta));
    uint16_t sw = a->lc ? sim_parse_meta(c, a->data, a->lc, &meta) : SW_OK;
    if (sw != SW_OK)
        return sw;
    unsigned bits = 128u + 64u * (unsigned)(a->p2 - 0xB0);
    if (!fits(c, a->p1, sim_key_cost(SIM_KEY_AES, bits), 0))
        return SW_NO_MEMORY;
    uint8_t raw[32];
    if (sim_random(raw, bits / 8) != HSM_OK)
        return SW_INTERNAL;
    sim_key *k = sim_key_put(c, a->p1);
    if (k == NULL)
        return SW_INTERNAL;
    meta.id = a->p1;
    *k = meta;
    k->type = SIM_KEY_AES;
    k->bits = bits;
    hsm_bytes_set(&k->priv, raw, bits / 8);
    OPENSSL_cleanse(raw, sizeof(raw));
    c->dirty |= SIM_CHANGED_PERSISTENT;
    return SW_OK;
}
