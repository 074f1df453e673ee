/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate chains and XKEK key domains (sheet 13.2-13.4, 14.5).
 *  - MSE SET `00 22 81 B6 83 <CHR>` selects a known public key (the built-in roots, or a key the
 *    card verified earlier); 6A88 when unknown.
 *  - PSO VERIFY CERTIFICATE `00 2A 00 BE <7F4E..5F37..>` checks a certificate with that key and
 *    remembers the holder's key (EC only; domain parameters inherited from the issuer).
 *  - `80 52 02 P2 <7F21..42..5F37..><54 sig>` makes slot P2 an XKEK domain: the group signer's
 *    request must be attested by a known device key, and the 54 signature (plain ECDSA-SHA256
 *    by the group signer key over 54 || X of this device's key, as the open implementation
 *    does) binds the membership to this device. The domain UID is X||Y of the group signer key.
 *  - Keys generated into an XKEK domain carry extension 65 { 73 { 06 id-KEY-DOMAIN-UID, 80 UID } }.
 *  - `80 62 <key> 84 <peer 7F21..42..5F37..>` (or no data: EF 2F10) checks the peer request's
 *    attestation and UID and installs the first 32 bytes of the ECDH X coordinate as the XKEK
 *    (the open implementation's KDF; the reference card's is unconfirmed). */
#include "sim/sim_int.h"

#include "hsm/crypto.h"
#include "hsm/curves.h"
#include "hsm/cvc.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/obj_mac.h>
#include <string.h>

static const uint8_t OID_KEY_DOMAIN_UID[11] = { 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x03, 0x02, 0x02 };

/* Public key known under chr; *nid receives its curve. */
static EVP_PKEY *known_key(const sim_card *c, const char *chr, int *nid)
{
    EVP_PKEY *k = hsm_cvc_root_key(chr);
    if (k != NULL) {
        *nid = NID_brainpoolP256r1;
        return k;
    }
    for (size_t i = 0; i < c->npubkeys; i++) {
        if (strcmp(c->pubkeys[i].chr, chr) == 0
            && hsm_cvc_ec_public_key(c->pubkeys[i].nid, c->pubkeys[i].point, c->pubkeys[i].point_len, &k) == HSM_OK) {
            *nid = c->pubkeys[i].nid;
            return k;
        }
    }
    return NULL;
}

static int ref_string(const hsm_tlv *t, char out[17])
{
    if (t->val == NULL || t->len < 1 || t->len > 16)
        return 0;
    hsm_cvc_ref_string(t, out, 17);
    return 1;
}

uint16_t sim_cmd_mse(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    (void)out;
    if (a->p1 != 0x81 || a->p2 != 0xB6)
        return SW_BAD_P1P2;
    hsm_tlv t;
    char chr[17];
    int nid;
    if (a->lc == 0 || hsm_tlv_parse_one(a->data, a->lc, &t) != HSM_OK || t.tag != 0x83 || !ref_string(&t, chr))
        return SW_BAD_DATA;
    EVP_PKEY *k = known_key(c, chr, &nid);
    if (k == NULL)
        return SW_REF_NOT_FOUND;
    EVP_PKEY_free(k);
    if (strcmp(c->mse_chr, chr) != 0) {
        memcpy(c->mse_chr, chr, sizeof(c->mse_chr));
        c->dirty |= SIM_CHANGED_VOLATILE;
    }
    return SW_OK;
}

/* Wraps value in a TLV with tag so that hsm_cvc_parse can read it. */
static int wrap(unsigned tag, const uint8_t *v, size_t len, hsm_bytes *out)
{
    hsm_bytes_clear(out);
    return hsm_tlv_put(out, tag, v, len);
}

uint16_t sim_cmd_pso_verify(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    (void)out;
    if (a->p1 != 0x00 || a->p2 != 0xBE)
        return SW_BAD_P1P2;
    if (a->lc == 0)
        return SW_BAD_DATA;
    if (c->mse_chr[0] == 0)
        return SW_CONDITIONS;
    hsm_bytes buf = HSM_BYTES_INIT;
    hsm_cvc cv;
    char car[17], chr[17];
    int nid = 0;
    uint16_t sw = SW_BAD_DATA;
    EVP_PKEY *signer = NULL, *holder = NULL;
    if (wrap(0x7F21, a->data, a->lc, &buf) != HSM_OK || hsm_cvc_parse(buf.data, buf.len, &cv, NULL) != HSM_OK
        || !ref_string(&cv.car, car) || !ref_string(&cv.chr, chr) || strcmp(car, c->mse_chr) != 0)
        goto done;
    if ((signer = known_key(c, car, &nid)) == NULL || hsm_cvc_verify(&cv, signer) != HSM_OK)
        goto done;
    if (hsm_cvc_public_key(&cv, nid, &holder) != HSM_OK || !EVP_PKEY_is_a(holder, "EC"))
        goto done;
    int hnid = hsm_cvc_curve_nid(&cv);
    sim_pubkey pk;
    memset(&pk, 0, sizeof(pk));
    memcpy(pk.chr, chr, sizeof(pk.chr));
    pk.nid = hnid ? hnid : nid;
    if (!EVP_PKEY_get_octet_string_param(holder, OSSL_PKEY_PARAM_PUB_KEY, pk.point, sizeof(pk.point), &pk.point_len))
        goto done;
    size_t i = 0;
    while (i < c->npubkeys && strcmp(c->pubkeys[i].chr, chr) != 0)
        i++;
    if (i == SIM_MAX_PUBKEYS) {
        sw = SW_NO_MEMORY;
        goto done;
    }
    c->pubkeys[i] = pk;
    if (i == c->npubkeys)
        c->npubkeys++;
    c->dirty |= SIM_CHANGED_PERSISTENT;
    sw = SW_OK;
done:
    EVP_PKEY_free(signer);
    EVP_PKEY_free(holder);
    hsm_bytes_free(&buf);
    return sw;
}

/* Parses the value of a 67 request and checks both signatures: the outer one with a known
 * device key, the inner one with the key in the request. *key receives that key. */
static uint16_t attested_request(const sim_card *c, const uint8_t *v, size_t len, hsm_bytes *buf, hsm_cvc *cv,
                                 EVP_PKEY **key)
{
    char car[17];
    int nid;
    *key = NULL;
    if (wrap(0x67, v, len, buf) != HSM_OK || hsm_cvc_parse(buf->data, buf->len, cv, NULL) != HSM_OK
        || !ref_string(&cv->outer_car, car))
        return SW_BAD_DATA;
    EVP_PKEY *dev = known_key(c, car, &nid);
    if (dev == NULL)
        return SW_REF_NOT_FOUND;
    int ok = hsm_cvc_verify_outer(cv, dev) == HSM_OK && hsm_cvc_public_key(cv, 0, key) == HSM_OK
             && hsm_cvc_verify(cv, *key) == HSM_OK;
    EVP_PKEY_free(dev);
    if (!ok) {
        EVP_PKEY_free(*key);
        *key = NULL;
        return SW_BAD_DATA;
    }
    return SW_OK;
}

uint16_t sim_xkek_create(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    sim_domain *d = &c->dom[a->p2];
    if (d->state != SIM_DOM_EMPTY)
        return SW_EXISTS;
    const uint8_t *p = a->data, *end = a->data + a->lc;
    hsm_tlv t[4];
    static const unsigned tags[4] = { 0x7F21, 0x42, 0x5F37, 0x54 };
    if (a->lc == 0)
        return SW_BAD_DATA;
    for (int i = 0; i < 4; i++)
        if (hsm_tlv_next(&p, end, &t[i]) != 1 || t[i].tag != tags[i])
            return SW_BAD_DATA;
    if (p != end)
        return SW_BAD_DATA;
    hsm_bytes buf = HSM_BYTES_INIT, msg = HSM_BYTES_INIT;
    hsm_cvc cv, sig;
    EVP_PKEY *group = NULL;
    uint16_t sw = attested_request(c, a->data, (size_t)(t[3].raw - a->data), &buf, &cv, &group);
    if (sw != SW_OK)
        goto done;
    /* 54 = signature of the group signer over 54 || X of this device's key */
    sim_key *dev = sim_key_find(c, 0);
    uint8_t q[1 + 2 * 66], gq[1 + 2 * 66];
    size_t ql = 0, gql = 0;
    sw = SW_INTERNAL;
    if (dev == NULL || sim_key_pkey(dev) == NULL
        || !EVP_PKEY_get_octet_string_param(sim_key_pkey(dev), OSSL_PKEY_PARAM_PUB_KEY, q, sizeof(q), &ql)
        || !EVP_PKEY_get_octet_string_param(group, OSSL_PKEY_PARAM_PUB_KEY, gq, sizeof(gq), &gql) || gql < 3)
        goto done;
    hsm_bytes_put_u8(&msg, 0x54);
    hsm_bytes_put(&msg, q + 1, (ql - 1) / 2);
    memset(&sig, 0, sizeof(sig));
    sig.body.raw = msg.data;
    sig.body.rawlen = msg.len;
    sig.signature = t[3];
    sw = SW_BAD_DATA;
    if (msg.oom || hsm_cvc_verify(&sig, group) != HSM_OK)
        goto done;
    memset(d, 0, sizeof(*d));
    d->state = SIM_DOM_XKEK;
    memcpy(d->uid, gq + 1, gql - 1);
    d->uid_len = gql - 1;
    c->dirty |= SIM_CHANGED_PERSISTENT;
    hsm_bytes_put_u8(out, 0xFF);
    hsm_bytes_put_u8(out, 0x00);
    for (int i = 0; i < 8; i++)
        hsm_bytes_put_u8(out, 0x00);
    hsm_bytes_put(out, d->uid, d->uid_len);
    sw = SW_OK;
done:
    EVP_PKEY_free(group);
    hsm_bytes_free(&buf);
    hsm_bytes_free(&msg);
    return sw;
}

void sim_xkek_put_extension(const sim_card *c, uint8_t dom, hsm_bytes *body)
{
    if (dom >= c->ndomains || c->dom[dom].state != SIM_DOM_XKEK)
        return;
    size_t m65, m73;
    hsm_tlv_open(body, 0x65, &m65);
    hsm_tlv_open(body, 0x73, &m73);
    hsm_tlv_put(body, 0x06, OID_KEY_DOMAIN_UID, sizeof(OID_KEY_DOMAIN_UID));
    hsm_tlv_put(body, 0x80, c->dom[dom].uid, c->dom[dom].uid_len);
    hsm_tlv_close(body, m73);
    hsm_tlv_close(body, m65);
}

/* UID from the request's extension 65 { 73 { 06 id-KEY-DOMAIN-UID, 80 UID } }. */
static int request_uid(const hsm_cvc *cv, hsm_tlv *uid)
{
    const uint8_t *p = cv->extensions.val, *end = p + cv->extensions.len;
    hsm_tlv t, oid;
    if (cv->extensions.val == NULL)
        return 0;
    while (hsm_tlv_next(&p, end, &t) == 1) {
        if (t.tag == 0x73 && hsm_tlv_find(t.val, t.len, 0x06, &oid) == 1 && oid.len == sizeof(OID_KEY_DOMAIN_UID)
            && memcmp(oid.val, OID_KEY_DOMAIN_UID, oid.len) == 0 && hsm_tlv_find(t.val, t.len, 0x80, uid) == 1)
            return 1;
    }
    return 0;
}

uint16_t sim_xkek_derive(sim_card *c, sim_key *k, const uint8_t *req, size_t len)
{
    if (k->domain >= c->ndomains || c->dom[k->domain].state != SIM_DOM_XKEK)
        return SW_CONDITIONS;
    sim_domain *d = &c->dom[k->domain];
    hsm_bytes buf = HSM_BYTES_INIT, shared = HSM_BYTES_INIT;
    hsm_cvc cv;
    hsm_tlv uid, q;
    EVP_PKEY *peer = NULL;
    uint16_t sw = attested_request(c, req, len, &buf, &cv, &peer);
    if (sw != SW_OK)
        goto done;
    sw = SW_BAD_DATA;
    if (!request_uid(&cv, &uid) || uid.len != d->uid_len || memcmp(uid.val, d->uid, uid.len) != 0
        || hsm_cvc_curve_nid(&cv) != sim_ec_key_nid(sim_key_pkey(k))
        || hsm_tlv_find(cv.pubkey.val, cv.pubkey.len, 0x86, &q) != 1)
        goto done;
    sw = sim_ecdh_point(k, q.val, q.len, &shared);
    if (sw != SW_OK)
        goto done;
    if ((shared.len - 1) / 2 < 32) {
        sw = SW_BAD_DATA;
        goto done;
    }
    memcpy(d->kek, shared.data + 1, 32);
    d->kek_set = 1;
    c->dirty |= SIM_CHANGED_PERSISTENT;
done:
    EVP_PKEY_free(peer);
    hsm_bytes_free(&buf);
    hsm_bytes_free(&shared);
    return sw;
}
