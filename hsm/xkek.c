/* SPDX-License-Identifier: Apache-2.0 */
/* XKEK key domains: joining with a KDM, exchange keys, derivation (protocol sheet 13, 14.5). */
#include "hsm/xkek.h"
#include "hsm/attest.h"
#include "hsm/cvc.h"
#include "hsm/device.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"

#include <openssl/obj_mac.h>
#include <stdio.h>
#include <string.h>

#define MAX_DOMAINS 64

/* id-KEY-DOMAIN-UID 1.3.6.1.4.1.24991.3.2.2 */
static const uint8_t OID_KEY_DOMAIN_UID[11] = { 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x03, 0x02, 0x02 };

int hsm_domain_status(hsm_token *t, int d, hsm_dkek_status *st)
{
    if (d < 0 || d > 255)
        return HSM_E_ARGS;
    hsm_card *c = hsm_token_lock(t);
    if (c == NULL)
        return HSM_E_COMM;
    memset(st, 0, sizeof(*st));
    int rc = hsm_card_key_domain(c, 0, (uint8_t)d, NULL, 0, st);
    uint16_t sw = hsm_card_last_sw(c);
    hsm_token_unlock(t, 0);
    if (rc == HSM_E_SW && sw == 0x6A88)
        return HSM_E_NOT_FOUND;
    if (rc == HSM_E_SW && (sw == 0x6A86 || sw == 0x6D00))
        return HSM_E_ARGS;
    return rc;
}

int hsm_card_learn_chain(hsm_card *c, const uint8_t *devcerts, size_t len)
{
    hsm_cvc dev, dica;
    int rc = hsm_cvc_split_devcerts(devcerts, len, &dev, &dica);
    if (rc != HSM_OK)
        return rc;
    if (hsm_card_mse_select_key(c, dev.chr.val, dev.chr.len) == HSM_OK)
        return HSM_OK;   /* known already */
    if (hsm_card_mse_select_key(c, dica.chr.val, dica.chr.len) != HSM_OK) {
        if ((rc = hsm_card_mse_select_key(c, dica.car.val, dica.car.len)) != HSM_OK)
            return rc;
        if ((rc = hsm_card_pso_verify_cert(c, dica.cert.val, dica.cert.len)) != HSM_OK)
            return rc;
    }
    if ((rc = hsm_card_mse_select_key(c, dev.car.val, dev.car.len)) != HSM_OK)
        return rc;
    return hsm_card_pso_verify_cert(c, dev.cert.val, dev.cert.len);
}

static int card_device_key(hsm_token *t, hsm_chain *ch)
{
    hsm_bytes certs = HSM_BYTES_INIT;
    int rc = hsm_token_read_file(t, HSM_FID_DEVCERT, &certs);
    if (rc == HSM_OK)
        hsm_chain_verify(certs.data, certs.len, HSM_TRUST_TEST_ROOT, NULL, ch);   /* only its key is used */
    hsm_bytes_free(&certs);
    return rc == HSM_OK && ch->device_key == NULL ? HSM_E_PARSE : rc;
}

static int first_empty_domain(hsm_token *t)
{
    hsm_dkek_status st;
    for (int d = 0; d < MAX_DOMAINS; d++) {
        int rc = hsm_domain_status(t, d, &st);
        if (rc == HSM_E_NOT_FOUND)
            return d;
        if (rc != HSM_OK)
            break;
    }
    return -1;
}

int hsm_xkek_create(hsm_token *t, const hsm_kdm *kdm, int *domain, unsigned flags, hsm_dkek_status *st,
                    char *why, size_t why_len)
{
    hsm_chain gch, own;
    EVP_PKEY *gkey = NULL;
    hsm_bytes data = HSM_BYTES_INIT;
    char rwhy[256];
    int rc;
    memset(&own, 0, sizeof(own));
    /* 1. the group signer's device, 2. its request, 3. the binding to this device */
    hsm_chain_verify(kdm->devcerts.data, kdm->devcerts.len, flags, NULL, &gch);
    if (!hsm_chain_trusted(&gch)) {
        snprintf(why, why_len, "check 1 failed: the group signer's device chain in the KDM is not trusted: %s (%s)",
                 hsm_chain_verdict_text(gch.verdict), gch.failed);
        rc = HSM_E_VERIFY;
        goto done;
    }
    if (hsm_chain_verify_request(&gch, kdm->request, kdm->request_len, &gkey, rwhy, sizeof(rwhy)) != HSM_OK) {
        snprintf(why, why_len, "check 2 failed: the group signer's request in the KDM does not verify: %s", rwhy);
        rc = HSM_E_VERIFY;
        goto done;
    }
    if ((rc = card_device_key(t, &own)) != HSM_OK) {
        snprintf(why, why_len, "cannot read this card's device certificate: %s", hsm_token_error(t));
        goto done;
    }
    if (!hsm_kdm_binding_ok(gkey, own.device_key, kdm->sig, kdm->sig_len)) {
        snprintf(why, why_len, "check 3 failed: the KDM was not issued for this device (%s) by the group signer it "
                 "names: it is a membership for another card, or its signature was made by another group signer",
                 own.device.chr);
        rc = HSM_E_VERIFY;
        goto done;
    }
    /* 4. the domain slot */
    if (*domain < 0 && (*domain = first_empty_domain(t)) < 0) {
        snprintf(why, why_len, "no empty key domain left: initialise the card with more key domains "
                 "(schsm-tool init --key-domains N)");
        rc = HSM_E_ARGS;
        goto done;
    }
    rc = hsm_domain_status(t, *domain, st);
    if (rc == HSM_OK) {
        if (st->total == 0xFF) {
            hsm_cvc r;
            hsm_tlv q;
            int same = hsm_cvc_parse(kdm->request, kdm->request_len, &r, NULL) == HSM_OK
                       && hsm_tlv_find(r.pubkey.val, r.pubkey.len, 0x86, &q) == 1 && q.len == st->extra_len + 1
                       && memcmp(q.val + 1, st->extra, st->extra_len) == 0;
            snprintf(why, why_len, same ? "key domain %d is already a member of this group"
                                        : "key domain %d already belongs to another group signer: choose an empty "
                                          "domain (--domain N)", *domain);
        } else {
            snprintf(why, why_len, "key domain %d is a DKEK domain: choose an empty domain (--domain N)", *domain);
        }
        rc = HSM_E_ARGS;
        goto done;
    }
    if (rc != HSM_E_NOT_FOUND) {
        snprintf(why, why_len, "the card has no key domain %d (it was initialised with fewer: schsm-tool init "
                 "--key-domains N)", *domain);
        rc = HSM_E_ARGS;
        goto done;
    }
    hsm_tlv req;
    hsm_tlv_parse_one(kdm->request, kdm->request_len, &req);
    hsm_bytes_put(&data, req.val, req.len);
    hsm_tlv_put(&data, 0x54, kdm->sig, kdm->sig_len);
    hsm_card *c = hsm_token_lock_login(t);
    if (c == NULL) {
        snprintf(why, why_len, "%s", hsm_token_error(t));
        rc = HSM_E_COMM;
        goto done;
    }
    rc = hsm_card_learn_chain(c, kdm->devcerts.data, kdm->devcerts.len);
    if (rc != HSM_OK)
        snprintf(why, why_len, "the card refused the group signer's device certificates (SW %04X)",
                 hsm_card_last_sw(c));
    else if ((rc = hsm_card_key_domain(c, 0x02, (uint8_t)*domain, data.data, data.len, st)) != HSM_OK)
        snprintf(why, why_len, "the card refused the membership (SW %04X): %s", hsm_card_last_sw(c),
                 hsm_card_last_sw(c) == 0x6A80 ? "the KDM signature or the group signer's request does not verify"
                 : hsm_card_last_sw(c) == 0x6A88 ? "the group signer's device key is unknown to the card"
                 : hsm_card_last_sw(c) == 0x6A89 ? "the key domain is in use"
                 : hsm_card_last_sw(c) == 0x6982 ? "the user PIN is not verified" : "unexpected status");
    hsm_token_unlock(t, 1);
done:
    hsm_chain_free(&gch);
    hsm_chain_free(&own);
    EVP_PKEY_free(gkey);
    hsm_bytes_free(&data);
    return rc;
}

int hsm_xkek_exchange_key(hsm_token *t, int domain, hsm_key *out, hsm_bytes *req_pem, char *why, size_t why_len)
{
    hsm_dkek_status st;
    char label[32];
    int rc = hsm_domain_status(t, domain, &st);
    if (rc != HSM_OK || st.total != 0xFF) {
        snprintf(why, why_len, "key domain %d is not an XKEK domain: join it first (schsm-tool xkek create --kdm KDM)",
                 domain);
        return HSM_E_ARGS;
    }
    snprintf(label, sizeof(label), HSM_XKEK_EXCHANGE_LABEL, domain);
    rc = hsm_token_find_key(t, label, NULL, 0, out);
    if (rc == HSM_E_NOT_FOUND) {
        static const uint8_t derive_only[1] = { HSM_ALG_ECDH_XKEK };
        hsm_keygen_params p;
        memset(&p, 0, sizeof(p));
        p.type = HSM_KEY_EC;
        p.ec_nid = NID_X9_62_prime256v1;
        p.label = label;
        p.algorithms = derive_only;
        p.algorithms_len = 1;
        p.key_domain = domain;
        rc = hsm_token_generate(t, &p, out);
    }
    if (rc != HSM_OK) {
        snprintf(why, why_len, "cannot make the exchange key: %s", hsm_token_error(t));
        return rc;
    }
    hsm_bytes req = HSM_BYTES_INIT;
    rc = hsm_attest_request_with_chain(t, out, &req);
    if (rc == HSM_OK)
        rc = hsm_pem_encode(HSM_XKEK_REQ_PEM_NAME, req.data, req.len, req_pem);
    if (rc != HSM_OK)
        snprintf(why, why_len, "cannot read the exchange key's request or the device certificates: %s",
                 hsm_token_error(t));
    hsm_bytes_free(&req);
    return rc;
}

/* UID from extension 65 { 73 { 06 id-KEY-DOMAIN-UID, 80 UID } } of a request. */
static int request_uid(const hsm_cvc *cv, hsm_tlv *uid)
{
    const uint8_t *p = cv->extensions.val, *end = p + cv->extensions.len;
    hsm_tlv t, oid;
    if (cv->extensions.val == NULL)
        return 0;
    while (hsm_tlv_next(&p, end, &t) == 1)
        if (t.tag == 0x73 && hsm_tlv_find(t.val, t.len, 0x06, &oid) == 1 && oid.len == sizeof(OID_KEY_DOMAIN_UID)
            && memcmp(oid.val, OID_KEY_DOMAIN_UID, oid.len) == 0 && hsm_tlv_find(t.val, t.len, 0x80, uid) == 1)
            return 1;
    return 0;
}

int hsm_xkek_derive(hsm_token *t, int domain, const uint8_t *peer, size_t peer_len, unsigned flags,
                    hsm_dkek_status *st, char *why, size_t why_len)
{
    hsm_bytes file = HSM_BYTES_INIT;
    hsm_chain ch;
    hsm_cvc r;
    hsm_tlv first, uid;
    hsm_key own;
    char label[32], rwhy[256];
    int rc;
    memset(&ch, 0, sizeof(ch));
    const uint8_t *p = NULL;
    if (hsm_pem_decode(HSM_XKEK_REQ_PEM_NAME, peer, peer_len, &file) != HSM_OK
        || (p = file.data, hsm_tlv_next(&p, file.data + file.len, &first) != 1) || first.tag != 0x67
        || hsm_cvc_parse(first.raw, first.rawlen, &r, NULL) != HSM_OK) {
        snprintf(why, why_len, "the peer file is not an exchange key request (xkek exchange-key --out writes one)");
        rc = HSM_E_PARSE;
        goto done;
    }
    hsm_chain_verify(file.data + first.rawlen, file.len - first.rawlen, flags, NULL, &ch);
    if (!hsm_chain_trusted(&ch)) {
        snprintf(why, why_len, "check 1 failed: the peer's device chain is not trusted: %s (%s)",
                 hsm_chain_verdict_text(ch.verdict), ch.failed);
        rc = HSM_E_VERIFY;
        goto done;
    }
    if (hsm_chain_verify_request(&ch, first.raw, first.rawlen, NULL, rwhy, sizeof(rwhy)) != HSM_OK) {
        snprintf(why, why_len, "check 2 failed: the peer's exchange key request does not verify: %s", rwhy);
        rc = HSM_E_VERIFY;
        goto done;
    }
    rc = hsm_domain_status(t, domain, st);
    if (rc != HSM_OK || st->total != 0xFF) {
        snprintf(why, why_len, "key domain %d is not an XKEK domain on this card", domain);
        rc = HSM_E_ARGS;
        goto done;
    }
    if (!request_uid(&r, &uid) || uid.len != st->extra_len || memcmp(uid.val, st->extra, uid.len) != 0) {
        snprintf(why, why_len, "check 3 failed: the peer's exchange key belongs to another key domain (its domain UID "
                 "differs from domain %d's): the peer was admitted by another group signer", domain);
        rc = HSM_E_VERIFY;
        goto done;
    }
    snprintf(label, sizeof(label), HSM_XKEK_EXCHANGE_LABEL, domain);
    if (hsm_token_find_key(t, label, NULL, 0, &own) != HSM_OK) {
        snprintf(why, why_len, "this card has no exchange key for domain %d: run 'schsm-tool xkek exchange-key "
                 "--domain %d --out REQ' first", domain, domain);
        rc = HSM_E_NOT_FOUND;
        goto done;
    }
    hsm_card *c = hsm_token_lock_login(t);
    if (c == NULL) {
        snprintf(why, why_len, "%s", hsm_token_error(t));
        rc = HSM_E_COMM;
        goto done;
    }
    rc = hsm_card_learn_chain(c, file.data + first.rawlen, file.len - first.rawlen);
    if (rc != HSM_OK)
        snprintf(why, why_len, "the card refused the peer's device certificates (SW %04X)", hsm_card_last_sw(c));
    else if ((rc = hsm_card_xkek_derive(c, own.key_ref, first.val, first.len)) != HSM_OK)
        snprintf(why, why_len, "the card refused to derive the XKEK (SW %04X)%s", hsm_card_last_sw(c),
                 hsm_card_last_sw(c) == 0x6A80 ? ": the peer request's signature, curve or domain UID does not match"
                                               : "");
    if (rc == HSM_OK)
        rc = hsm_card_key_domain(c, 0, (uint8_t)domain, NULL, 0, st);
    hsm_token_unlock(t, 1);
done:
    hsm_chain_free(&ch);
    hsm_bytes_free(&file);
    return rc;
}
