/* SPDX-License-Identifier: Apache-2.0 */
/* Key attestation: the request on the card, the bundle file, the offline check. */
#include "hsm/attest.h"
#include "hsm/crypto.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"

#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#define FID(prefix, ref) ((uint16_t)((prefix) << 8 | (ref)))

int hsm_attest_find_request(hsm_token *t, const hsm_key *k, hsm_bytes *req, uint16_t *where, hsm_bytes *origin)
{
    /* CBnn first when the origin chain is wanted: only CBnn can hold it. */
    static const uint8_t prefixes[2] = { HSM_PREFIX_EE_CERT, HSM_PREFIX_REQ_KEEP };
    for (int i = 0; i < 2; i++) {
        uint16_t fid = FID(prefixes[origin != NULL ? 1 - i : i], k->key_ref);
        hsm_bytes_clear(req);
        req->len = 0;
        int rc = hsm_token_read_file(t, fid, req);
        if (rc == HSM_E_NOT_FOUND)
            continue;
        if (rc != HSM_OK)
            return rc;
        hsm_tlv first;
        const uint8_t *p = req->data;
        if (req->len > 0 && req->data[0] == 0x67 && hsm_tlv_next(&p, req->data + req->len, &first) == 1) {
            /* CBnn of a group signer also holds its origin device chain after the request. */
            if (origin != NULL && first.rawlen < req->len)
                hsm_bytes_set(origin, req->data + first.rawlen, req->len - first.rawlen);
            req->len = first.rawlen;
            if (where != NULL)
                *where = fid;
            return HSM_OK;
        }
    }
    req->len = 0;
    return HSM_E_NOT_FOUND;
}

int hsm_attest_request_with_chain(hsm_token *t, const hsm_key *k, hsm_bytes *out)
{
    hsm_bytes certs = HSM_BYTES_INIT;
    int rc = hsm_attest_find_request(t, k, out, NULL, NULL);
    if (rc == HSM_OK)
        rc = hsm_token_read_file(t, HSM_FID_DEVCERT, &certs);
    if (rc == HSM_OK)
        rc = hsm_bytes_put(out, certs.data, certs.len);
    hsm_bytes_free(&certs);
    return rc;
}

int hsm_attest_bundle_encode(const uint8_t *req, size_t req_len, const uint8_t *devcerts, size_t devcerts_len,
                             EVP_PKEY *pub, hsm_bytes *pem)
{
    unsigned char *spki = NULL;
    int spki_len = i2d_PUBKEY(pub, &spki);
    hsm_bytes der = HSM_BYTES_INIT;
    size_t mark;
    if (spki_len <= 0)
        return HSM_E_CRYPTO;
    hsm_tlv_open(&der, 0x30, &mark);
    hsm_tlv_put_u8(&der, 0x02, 1);
    hsm_bytes_put(&der, req, req_len);
    hsm_bytes_put(&der, devcerts, devcerts_len);
    hsm_bytes_put(&der, spki, (size_t)spki_len);
    hsm_tlv_close(&der, mark);
    OPENSSL_free(spki);
    int rc = der.oom ? HSM_E_MEM : hsm_pem_encode(HSM_ATTEST_PEM_NAME, der.data, der.len, pem);
    hsm_bytes_free(&der);
    return rc;
}

int hsm_attest_bundle_decode(const uint8_t *file, size_t len, hsm_bytes *der, hsm_attest_parts *out)
{
    hsm_tlv seq, t;
    memset(out, 0, sizeof(*out));
    int rc = hsm_pem_decode(HSM_ATTEST_PEM_NAME, file, len, der);
    if (rc != HSM_OK)
        return rc == HSM_E_NOT_FOUND ? HSM_E_PARSE : rc;
    if (hsm_tlv_parse_one(der->data, der->len, &seq) != HSM_OK || seq.tag != 0x30 || seq.raw + seq.rawlen != der->data + der->len)
        return HSM_E_PARSE;
    const uint8_t *p = seq.val, *end = seq.val + seq.len;
    if (hsm_tlv_next(&p, end, &t) != 1 || t.tag != 0x02 || t.len != 1 || t.val[0] != 1)
        return HSM_E_PARSE;
    if (hsm_tlv_next(&p, end, &t) != 1 || t.tag != 0x67)
        return HSM_E_PARSE;
    out->req = t.raw;
    out->req_len = t.rawlen;
    const uint8_t *certs = p;
    for (int i = 0; i < 2; i++)
        if (hsm_tlv_next(&p, end, &t) != 1 || t.tag != 0x7F21)
            return HSM_E_PARSE;
    out->devcerts = certs;
    out->devcerts_len = (size_t)(p - certs);
    if (hsm_tlv_next(&p, end, &t) != 1 || t.tag != 0x30 || p != end)
        return HSM_E_PARSE;
    out->spki = t.raw;
    out->spki_len = t.rawlen;
    return HSM_OK;
}

hsm_attest_parts hsm_attest_parts_of(const hsm_bytes *req, const hsm_bytes *devcerts)
{
    hsm_attest_parts p;
    memset(&p, 0, sizeof(p));
    p.req = req->data;
    p.req_len = req->len;
    p.devcerts = devcerts->data;
    p.devcerts_len = devcerts->len;
    return p;
}

int hsm_same_public_key(EVP_PKEY *a, EVP_PKEY *b)
{
    unsigned char *da = NULL, *db = NULL;
    int la = i2d_PUBKEY(a, &da), lb = i2d_PUBKEY(b, &db);
    int same = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;
    OPENSSL_free(da);
    OPENSSL_free(db);
    return same;
}

static void describe_key(EVP_PKEY *k, char *out, size_t cap)
{
    char group[64];
    size_t gl = 0;
    if (EVP_PKEY_is_a(k, "RSA"))
        snprintf(out, cap, "RSA %d", EVP_PKEY_get_bits(k));
    else if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &gl))
        snprintf(out, cap, "EC %s", group);
    else
        snprintf(out, cap, "EC");
}

int hsm_attest_verify(const hsm_attest_parts *p, unsigned flags, hsm_attestation *out)
{
    hsm_cvc r;
    memset(out, 0, sizeof(*out));
    int rc = hsm_chain_verify(p->devcerts, p->devcerts_len, flags, NULL, &out->chain);
    if (hsm_cvc_parse(p->req, p->req_len, &r, NULL) == HSM_OK)
        hsm_cvc_ref_string(&r.chr, out->key_chr, sizeof(out->key_chr));
    if (out->chain.device_key == NULL) {
        snprintf(out->why, sizeof(out->why), "the device chain does not verify: %s", out->chain.failed);
        return rc != HSM_OK ? rc : HSM_E_VERIFY;
    }
    int rrc = hsm_chain_verify_request(&out->chain, p->req, p->req_len, &out->key, out->why, sizeof(out->why));
    out->request_ok = rrc == HSM_OK;
    if (out->key != NULL)
        describe_key(out->key, out->key_type, sizeof(out->key_type));
    if (out->request_ok && p->spki != NULL) {
        const unsigned char *q = p->spki;
        EVP_PKEY *spki = d2i_PUBKEY_ex(NULL, &q, (long)p->spki_len, hsm_libctx(), NULL);
        out->spki_ok = spki != NULL && hsm_same_public_key(spki, out->key);
        EVP_PKEY_free(spki);
        if (!out->spki_ok)
            snprintf(out->why, sizeof(out->why), "the bundle's public key (SPKI) differs from the key in the request");
    } else if (out->request_ok) {
        out->spki_ok = 1;
    }
    if (rc != HSM_OK) {
        if (out->why[0] == 0 || out->request_ok)
            snprintf(out->why, sizeof(out->why), "the device chain is not trusted: %s", out->chain.failed);
        return rc;
    }
    return out->request_ok && out->spki_ok ? HSM_OK : (rrc != HSM_OK ? rrc : HSM_E_VERIFY);
}

void hsm_attestation_free(hsm_attestation *a)
{
    hsm_chain_free(&a->chain);
    EVP_PKEY_free(a->key);
    a->key = NULL;
}
