/* SPDX-License-Identifier: Apache-2.0 */
/* Group signer and key domain memberships (protocol sheet 13.3). */
#include "hsm/xkek.h"
#include "hsm/attest.h"
#include "hsm/crypto.h"
#include "hsm/cvc.h"
#include "hsm/device.h"
#include "hsm/ecsig.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <stdio.h>
#include <string.h>

#define FID(prefix, ref) ((uint16_t)((prefix) << 8 | (ref)))

/* id-KDM, CardContact format OID 1.3.6.1.4.1.24991.4.2.1 */
static const uint8_t OID_KDM[11] = { 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x04, 0x02, 0x01 };

int hsm_group_signer_create(hsm_token *t, const char *label, int domain, hsm_key *out, char *why, size_t why_len)
{
    hsm_dkek_status st;
    int rc = hsm_domain_status(t, domain, &st);
    if (rc == HSM_E_NOT_FOUND || rc == HSM_E_ARGS) {
        snprintf(why, why_len, "key domain %d has no DKEK: the group signer must live in a DKEK domain so that "
                 "wrap-key can back it up (schsm-tool init --dkek-shares N, then import the shares)", domain);
        return HSM_E_ARGS;
    }
    if (rc != HSM_OK) {
        snprintf(why, why_len, "cannot query key domain %d: %s", domain, hsm_token_error(t));
        return rc;
    }
    if (st.total == 0xFF) {
        snprintf(why, why_len, "key domain %d is an XKEK domain; the group signer needs a DKEK domain", domain);
        return HSM_E_ARGS;
    }
    hsm_keygen_params p;
    memset(&p, 0, sizeof(p));
    p.type = HSM_KEY_EC;
    p.ec_nid = NID_X9_62_prime256v1;
    p.label = label;
    p.key_domain = domain;
    if ((rc = hsm_token_generate(t, &p, out)) != HSM_OK) {
        snprintf(why, why_len, "the card did not generate the group signer: %s", hsm_token_error(t));
        return rc;
    }
    /* Origin file: the request followed by the chain of the device that made the key. */
    hsm_bytes req = HSM_BYTES_INIT;
    rc = hsm_attest_request_with_chain(t, out, &req);
    hsm_card *c = rc == HSM_OK ? hsm_token_lock_login(t) : NULL;
    if (c != NULL) {
        rc = hsm_card_write_file(c, FID(HSM_PREFIX_REQ_KEEP, out->key_ref), req.data, req.len);
        hsm_token_unlock(t, 1);
    } else if (rc == HSM_OK) {
        rc = HSM_E_COMM;
    }
    if (rc != HSM_OK)
        snprintf(why, why_len, "the group signer was generated (key ref %u) but its origin file CB%02X could not "
                 "be written (%s): delete it and try again", out->key_ref, out->key_ref, hsm_rv_text(rc));
    hsm_bytes_free(&req);
    return rc;
}

int hsm_group_signer_origin(hsm_token *t, const hsm_key *gs, const uint8_t *origin_file, size_t origin_len,
                            unsigned flags, hsm_bytes *request, hsm_bytes *devcerts, char *why, size_t why_len)
{
    hsm_bytes stored = HSM_BYTES_INIT;
    int rc = hsm_attest_find_request(t, gs, request, NULL, &stored);
    if (rc != HSM_OK) {
        snprintf(why, why_len, "the group signer '%s' has no CV request on this card (EF CE%02X/CB%02X): it was not "
                 "made by group-signer create, or its request was overwritten; memberships name the group "
                 "signer by that request, so they cannot be built", gs->label, gs->key_ref, gs->key_ref);
        hsm_bytes_free(&stored);
        return HSM_E_NOT_FOUND;
    }
    int from_file = origin_file != NULL;
    if (from_file) {
        hsm_bytes_clear(&stored);
        stored.len = 0;
        if (hsm_chain_file_decode(origin_file, origin_len, &stored) != HSM_OK) {
            snprintf(why, why_len, "the --origin-chain file is not a device chain file (device --out-chain writes one)");
            hsm_bytes_free(&stored);
            return HSM_E_PARSE;
        }
    } else if (stored.len == 0) {
        snprintf(why, why_len, "the group signer '%s' carries no origin chain (EF CB%02X holds only its request): it "
                 "was restored without the certificates of the card that made it (e.g. wrapped by another tool). "
                 "A membership must carry that card's device and DICA certificates. Pass --origin-chain FILE, "
                 "the chain that 'schsm-tool device --out-chain' saved on the group signer's original card "
                 "before it moved or got a firmware update", gs->label, gs->key_ref);
        hsm_bytes_free(&stored);
        return HSM_E_NOT_FOUND;
    }
    hsm_chain ch;
    char rwhy[256];
    hsm_chain_verify(stored.data, stored.len, flags, NULL, &ch);
    rc = HSM_OK;
    if (!hsm_chain_trusted(&ch)) {
        snprintf(why, why_len, "the group signer's origin chain is not trusted: %s (%s)",
                 hsm_chain_verdict_text(ch.verdict), ch.failed);
        rc = HSM_E_VERIFY;
    } else if (hsm_chain_verify_request(&ch, request->data, request->len, NULL, rwhy, sizeof(rwhy)) != HSM_OK) {
        snprintf(why, why_len, "the origin chain does not belong to this group signer: %s", rwhy);
        rc = HSM_E_VERIFY;
    }
    hsm_chain_free(&ch);
    if (rc == HSM_OK)
        rc = hsm_bytes_set(devcerts, stored.data, stored.len);
    if (rc == HSM_OK && from_file) {
        /* Repair: keep the chain next to the key, so the next membership needs no file. */
        hsm_bytes cb = HSM_BYTES_INIT;
        hsm_bytes_put(&cb, request->data, request->len);
        hsm_bytes_put(&cb, stored.data, stored.len);
        hsm_card *c = hsm_token_lock_login(t);
        if (c != NULL) {
            int wrc = hsm_card_delete_file(c, FID(HSM_PREFIX_REQ_KEEP, gs->key_ref));
            (void)wrc;   /* absent is fine */
            wrc = hsm_card_write_file(c, FID(HSM_PREFIX_REQ_KEEP, gs->key_ref), cb.data, cb.len);
            (void)wrc;   /* best effort: the membership does not depend on it */
            hsm_token_unlock(t, 1);
        }
        hsm_bytes_free(&cb);
    }
    hsm_bytes_free(&stored);
    return rc;
}

/* 54 || X of the device key (the membership binds to it; sheet 13.3, open implementation). */
static int binding_message(EVP_PKEY *device_key, hsm_bytes *msg)
{
    uint8_t q[133];
    size_t ql = 0;
    if (!EVP_PKEY_get_octet_string_param(device_key, OSSL_PKEY_PARAM_PUB_KEY, q, sizeof(q), &ql) || ql < 3)
        return HSM_E_CRYPTO;
    hsm_bytes_put_u8(msg, 0x54);
    return hsm_bytes_put(msg, q + 1, (ql - 1) / 2);
}

/* Plain r||s signature by key over msg (SHA-256)? */
static int plain_sig_ok(EVP_PKEY *key, const hsm_bytes *msg, const uint8_t *sig, size_t sig_len)
{
    hsm_cvc fake;
    memset(&fake, 0, sizeof(fake));
    fake.body.raw = msg->data;
    fake.body.rawlen = msg->len;
    fake.signature.val = sig;
    fake.signature.len = sig_len;
    return hsm_cvc_verify(&fake, key) == HSM_OK;
}

int hsm_kdm_binding_ok(EVP_PKEY *group_key, EVP_PKEY *member_device_key, const uint8_t *sig, size_t sig_len)
{
    hsm_bytes msg = HSM_BYTES_INIT;
    int ok = binding_message(member_device_key, &msg) == HSM_OK && plain_sig_ok(group_key, &msg, sig, sig_len);
    hsm_bytes_free(&msg);
    return ok;
}

int hsm_kdm_issue(hsm_token *t, const hsm_key *gs, const hsm_bytes *request, const hsm_bytes *devcerts,
                  const uint8_t *member, size_t member_len, unsigned flags, hsm_bytes *kdm_pem,
                  char *why, size_t why_len)
{
    hsm_bytes mcerts = HSM_BYTES_INIT, msg = HSM_BYTES_INIT, der = HSM_BYTES_INIT, plain = HSM_BYTES_INIT,
              kdm = HSM_BYTES_INIT;
    hsm_chain mch, gch;
    hsm_cvc dev, dica;
    EVP_PKEY *gkey = NULL;
    int rc;
    memset(&mch, 0, sizeof(mch));
    memset(&gch, 0, sizeof(gch));
    if (hsm_chain_file_decode(member, member_len, &mcerts) != HSM_OK) {
        snprintf(why, why_len, "the member file is not a device chain file (run 'schsm-tool device --out-chain FILE' "
                 "on the member card)");
        rc = HSM_E_PARSE;
        goto done;
    }
    if (hsm_chain_verify(mcerts.data, mcerts.len, flags, NULL, &mch) != HSM_OK) {
        snprintf(why, why_len, "the member's device chain is not trusted: %s (%s)", hsm_chain_verdict_text(mch.verdict),
                 mch.failed);
        rc = HSM_E_VERIFY;
        goto done;
    }
    hsm_chain_verify(devcerts->data, devcerts->len, flags, NULL, &gch);
    if ((rc = hsm_chain_verify_request(&gch, request->data, request->len, &gkey, why, why_len)) != HSM_OK)
        goto done;
    if ((rc = binding_message(mch.device_key, &msg)) != HSM_OK)
        goto done;
    rc = hsm_token_sign(t, gs, HSM_ALG_ECDSA_SHA256, msg.data, msg.len, &der);
    if (rc != HSM_OK) {
        snprintf(why, why_len, "the group signer did not sign the membership: %s", hsm_token_error(t));
        goto done;
    }
    if ((rc = hsm_ecdsa_der_to_plain(der.data, der.len, hsm_ecdsa_field_len(gs->bits), &plain)) != HSM_OK) {
        snprintf(why, why_len, "the card's signature is malformed");
        goto done;
    }
    if (!plain_sig_ok(gkey, &msg, plain.data, plain.len)) {
        snprintf(why, why_len, "the group signer's signature does not verify with the key in its origin request: "
                 "the origin file (EF CB%02X) belongs to another key", gs->key_ref);
        rc = HSM_E_VERIFY;
        goto done;
    }
    hsm_cvc_split_devcerts(devcerts->data, devcerts->len, &dev, &dica);
    size_t m;
    hsm_tlv_open(&kdm, 0x30, &m);
    hsm_tlv_put(&kdm, 0x06, OID_KDM, sizeof(OID_KDM));
    hsm_tlv_put(&kdm, 0x61, dica.cert.raw, dica.cert.rawlen);
    hsm_tlv_put(&kdm, 0x62, dev.cert.raw, dev.cert.rawlen);
    hsm_tlv_put(&kdm, 0x63, request->data, request->len);
    hsm_tlv_put(&kdm, 0x54, plain.data, plain.len);
    hsm_tlv_close(&kdm, m);
    rc = kdm.oom ? HSM_E_MEM : hsm_pem_encode(HSM_KDM_PEM_NAME, kdm.data, kdm.len, kdm_pem);
done:
    hsm_chain_free(&mch);
    hsm_chain_free(&gch);
    EVP_PKEY_free(gkey);
    hsm_bytes_free(&mcerts);
    hsm_bytes_free(&msg);
    hsm_bytes_free(&der);
    hsm_bytes_free(&plain);
    hsm_bytes_free(&kdm);
    return rc;
}

int hsm_kdm_parse(const uint8_t *file, size_t len, hsm_kdm *out)
{
    hsm_tlv seq, t;
    memset(out, 0, sizeof(*out));
    int rc = hsm_pem_decode(HSM_KDM_PEM_NAME, file, len, &out->der);
    if (rc == HSM_E_NOT_FOUND && len > 0 && file[0] == 0x30)
        rc = hsm_bytes_set(&out->der, file, len);   /* DER as other tools write it */
    if (rc != HSM_OK)
        return HSM_E_PARSE;
    if (hsm_tlv_parse_one(out->der.data, out->der.len, &seq) != HSM_OK || seq.tag != 0x30)
        return HSM_E_PARSE;
    const uint8_t *p = seq.val, *end = seq.val + seq.len;
    hsm_tlv dica, dev, req;
    if (hsm_tlv_next(&p, end, &t) != 1 || t.tag != 0x06 || t.len != sizeof(OID_KDM) || memcmp(t.val, OID_KDM, t.len) != 0)
        return HSM_E_PARSE;
    if (hsm_tlv_next(&p, end, &t) != 1 || t.tag != 0x61 || hsm_tlv_parse_one(t.val, t.len, &dica) != HSM_OK)
        return HSM_E_PARSE;
    if (hsm_tlv_next(&p, end, &t) != 1 || t.tag != 0x62 || hsm_tlv_parse_one(t.val, t.len, &dev) != HSM_OK)
        return HSM_E_PARSE;
    if (hsm_tlv_next(&p, end, &t) != 1 || t.tag != 0x63 || hsm_tlv_parse_one(t.val, t.len, &req) != HSM_OK
        || req.tag != 0x67)
        return HSM_E_PARSE;
    out->request = req.raw;
    out->request_len = req.rawlen;
    if (hsm_tlv_next(&p, end, &t) != 1 || t.tag != 0x54 || t.len == 0 || p != end)
        return HSM_E_PARSE;
    out->sig = t.val;
    out->sig_len = t.len;
    hsm_bytes_put(&out->devcerts, dev.raw, dev.rawlen);
    hsm_bytes_put(&out->devcerts, dica.raw, dica.rawlen);
    hsm_cvc a, b;
    return out->devcerts.oom ? HSM_E_MEM : hsm_cvc_split_devcerts(out->devcerts.data, out->devcerts.len, &a, &b);
}

void hsm_kdm_free(hsm_kdm *k)
{
    hsm_bytes_free(&k->der);
    hsm_bytes_free(&k->devcerts);
}
