/* SPDX-License-Identifier: Apache-2.0 */
/* Device certificate chain checks and the portable chain file (protocol sheet 14.3-14.5). */
#include "hsm/device.h"
#include "hsm/crypto.h"
#include "hsm/rv.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void today_digits(uint8_t d[6])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int v[3] = { tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday };
    for (int i = 0; i < 3; i++) {
        d[2 * i] = (uint8_t)(v[i] / 10);
        d[2 * i + 1] = (uint8_t)(v[i] % 10);
    }
}

static int date_ok(const hsm_tlv *t)
{
    if (t->val == NULL || t->len != 6)
        return 0;
    for (size_t i = 0; i < 6; i++)
        if (t->val[i] > 9)
            return 0;
    return 1;
}

static void date_string(const hsm_tlv *t, char out[11])
{
    out[0] = 0;
    if (!date_ok(t))
        return;
    static const char layout[] = "20YY-MM-DD";
    const uint8_t *d = t->val;
    size_t j = 0;
    memcpy(out, layout, sizeof(layout));
    for (size_t i = 2; i < 10; i++)
        if (out[i] != '-')
            out[i] = (char)('0' + d[j++]);
}

/* 1 when today lies within [effective, expiry] (absent dates do not limit). */
static int date_valid(const hsm_cvc *c, const uint8_t today[6])
{
    if (date_ok(&c->effective) && memcmp(today, c->effective.val, 6) < 0)
        return 0;
    if (date_ok(&c->expiry) && memcmp(today, c->expiry.val, 6) > 0)
        return 0;
    return 1;
}

static void summarise(const hsm_cvc *c, EVP_PKEY *key, hsm_cert_summary *s)
{
    hsm_cvc_ref_string(&c->chr, s->chr, sizeof(s->chr));
    hsm_cvc_ref_string(&c->car, s->car, sizeof(s->car));
    date_string(&c->effective, s->valid_from);
    date_string(&c->expiry, s->valid_to);
    if (key != NULL) {
        char group[64];
        size_t gl = 0;
        if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &gl)) {
            int nid = OBJ_sn2nid(group);
            s->curve = nid != NID_undef ? OBJ_nid2sn(nid) : NULL;
        }
        if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, s->point, sizeof(s->point), &s->point_len))
            s->point_len = 0;
    }
}

static int fail(hsm_chain *out, int verdict, const char *what)
{
    out->verdict = verdict;
    snprintf(out->failed, sizeof(out->failed), "%s", what);
    return verdict == HSM_CHAIN_MALFORMED ? HSM_E_PARSE : HSM_E_VERIFY;
}

static int refs_equal(const hsm_tlv *a, const hsm_tlv *b)
{
    return a->val != NULL && b->val != NULL && a->len == b->len && memcmp(a->val, b->val, a->len) == 0;
}

int hsm_chain_verify(const uint8_t *devcerts, size_t len, unsigned flags, const uint8_t *today, hsm_chain *out)
{
    hsm_cvc dev, dica;
    EVP_PKEY *root = NULL, *kdica = NULL, *kdev = NULL;
    uint8_t now[6];
    int rc;
    memset(out, 0, sizeof(*out));
    if (hsm_cvc_split_devcerts(devcerts, len, &dev, &dica) != HSM_OK) {
        /* Some implementations keep only a self-signed request there; its CHR still names the device. */
        if (len > 0 && devcerts[0] == 0x67
            && hsm_cvc_device_chr(devcerts, len, out->device.chr, sizeof(out->device.chr)) == HSM_OK)
            return fail(out, HSM_CHAIN_SELF_SIGNED, "EF 2F02 (a self-signed device request, no DICA certificate)");
        return fail(out, HSM_CHAIN_MALFORMED, "EF 2F02 (not a device certificate followed by a DICA certificate)");
    }
    hsm_cvc_ref_string(&dica.car, out->root, sizeof(out->root));
    summarise(&dev, NULL, &out->device);
    summarise(&dica, NULL, &out->dica);
    out->test_root = strcmp(out->root, HSM_ROOT_TEST) == 0;
    if (strcmp(out->root, HSM_ROOT_PRODUCTION) != 0 && !out->test_root)
        return fail(out, HSM_CHAIN_UNKNOWN_ROOT, "root (the DICA's issuer is not a known SmartCard-HSM root)");
    root = hsm_cvc_root_key(out->root);
    if (root == NULL) {
        rc = fail(out, HSM_CHAIN_MALFORMED, "root key");
        goto done;
    }
    if (hsm_cvc_verify(&dica, root) != HSM_OK) {
        rc = fail(out, HSM_CHAIN_BAD_SIGNATURE, "DICA certificate (signature by the root)");
        goto done;
    }
    if (hsm_cvc_public_key(&dica, NID_brainpoolP256r1, &kdica) != HSM_OK) {
        rc = fail(out, HSM_CHAIN_MALFORMED, "DICA certificate (public key)");
        goto done;
    }
    if (!refs_equal(&dev.car, &dica.chr)) {
        rc = fail(out, HSM_CHAIN_BAD_SIGNATURE, "device certificate (its issuer is not this DICA)");
        goto done;
    }
    if (hsm_cvc_verify(&dev, kdica) != HSM_OK) {
        rc = fail(out, HSM_CHAIN_BAD_SIGNATURE, "device certificate (signature by the DICA)");
        goto done;
    }
    out->nid = hsm_cvc_curve_nid(&dica) ? hsm_cvc_curve_nid(&dica) : NID_brainpoolP256r1;
    if (hsm_cvc_public_key(&dev, out->nid, &kdev) != HSM_OK) {
        rc = fail(out, HSM_CHAIN_MALFORMED, "device certificate (public key)");
        goto done;
    }
    summarise(&dev, kdev, &out->device);
    summarise(&dica, kdica, &out->dica);
    out->device_key = kdev;
    kdev = NULL;
    if (today == NULL) {
        today_digits(now);
        today = now;
    }
    if (!date_valid(&dica, today)) {
        rc = fail(out, HSM_CHAIN_EXPIRED, "DICA certificate (outside its validity period)");
        goto done;
    }
    if (!date_valid(&dev, today)) {
        rc = fail(out, HSM_CHAIN_EXPIRED, "device certificate (outside its validity period)");
        goto done;
    }
    if (out->test_root && !(flags & HSM_TRUST_TEST_ROOT)) {
        rc = fail(out, HSM_CHAIN_TEST_UNTRUSTED, "root (test root, not trusted without --trust-test-root)");
        goto done;
    }
    out->verdict = out->test_root ? HSM_CHAIN_TEST : HSM_CHAIN_GENUINE;
    rc = HSM_OK;
done:
    EVP_PKEY_free(root);
    EVP_PKEY_free(kdica);
    EVP_PKEY_free(kdev);
    return rc;
}

void hsm_chain_free(hsm_chain *c)
{
    if (c != NULL) {
        EVP_PKEY_free(c->device_key);
        c->device_key = NULL;
    }
}

int hsm_chain_trusted(const hsm_chain *c)
{
    return c->verdict == HSM_CHAIN_GENUINE || c->verdict == HSM_CHAIN_TEST;
}

const char *hsm_chain_verdict_name(int verdict)
{
    switch (verdict) {
    case HSM_CHAIN_GENUINE: return "genuine";
    case HSM_CHAIN_TEST: return "test";
    case HSM_CHAIN_TEST_UNTRUSTED: return "test-root-untrusted";
    case HSM_CHAIN_UNKNOWN_ROOT: return "unknown-root";
    case HSM_CHAIN_BAD_SIGNATURE: return "bad-signature";
    case HSM_CHAIN_EXPIRED: return "expired";
    case HSM_CHAIN_SELF_SIGNED: return "self-signed";
    default: return "malformed";
    }
}

const char *hsm_chain_verdict_text(int verdict)
{
    switch (verdict) {
    case HSM_CHAIN_GENUINE:
        return "GENUINE: the chain verifies up to the SmartCard-HSM production root " HSM_ROOT_PRODUCTION;
    case HSM_CHAIN_TEST:
        return "TEST DEVICE: the chain verifies up to the TEST root " HSM_ROOT_TEST
               " (virtual card); it proves nothing about real hardware";
    case HSM_CHAIN_TEST_UNTRUSTED:
        return "NOT TRUSTED: the chain ends at the TEST root " HSM_ROOT_TEST
               " (virtual card); pass --trust-test-root to accept test devices";
    case HSM_CHAIN_UNKNOWN_ROOT:
        return "NOT TRUSTED: the chain ends at a root this host does not know; not a genuine SmartCard-HSM";
    case HSM_CHAIN_BAD_SIGNATURE:
        return "NOT TRUSTED: a signature in the chain does not verify (forged or damaged certificate)";
    case HSM_CHAIN_EXPIRED:
        return "NOT TRUSTED: the signatures verify, but a certificate is expired or not yet valid "
               "(check the system clock)";
    case HSM_CHAIN_SELF_SIGNED:
        return "NO CHAIN: EF 2F02 holds a self-signed device request, as SmartCard-HSM implementations other "
               "than CardContact's do; the device cannot be checked against a SmartCard-HSM root, so it cannot "
               "attest keys or join XKEK key domains";
    default:
        return "NOT TRUSTED: the certificates are damaged or not SmartCard-HSM device certificates";
    }
}

int hsm_chain_verify_request(const hsm_chain *chain, const uint8_t *req, size_t len, EVP_PKEY **key,
                             char *why, size_t why_len)
{
    hsm_cvc r;
    char car[17];
    EVP_PKEY *k = NULL;
    if (key != NULL)
        *key = NULL;
    if (hsm_cvc_parse(req, len, &r, NULL) != HSM_OK || !r.authenticated) {
        snprintf(why, why_len, "the request is not an authenticated CV request (67)");
        return HSM_E_PARSE;
    }
    hsm_cvc_ref_string(&r.outer_car, car, sizeof(car));
    if (chain->device_key == NULL || strcmp(car, chain->device.chr) != 0) {
        snprintf(why, why_len, "the request was attested by device %s, not by this device %s", car, chain->device.chr);
        return HSM_E_VERIFY;
    }
    if (hsm_cvc_verify_outer(&r, chain->device_key) != HSM_OK) {
        snprintf(why, why_len, "the device signature on the request (proof of origin) does not verify");
        return HSM_E_VERIFY;
    }
    if (hsm_cvc_public_key(&r, 0, &k) != HSM_OK) {
        snprintf(why, why_len, "the request's public key cannot be read");
        return HSM_E_PARSE;
    }
    if (hsm_cvc_verify(&r, k) != HSM_OK) {
        EVP_PKEY_free(k);
        snprintf(why, why_len, "the key's own signature on the request (proof of possession) does not verify");
        return HSM_E_VERIFY;
    }
    if (key != NULL)
        *key = k;
    else
        EVP_PKEY_free(k);
    return HSM_OK;
}

int hsm_pem_encode(const char *name, const uint8_t *der, size_t len, hsm_bytes *pem)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    int rc = HSM_E_MEM;
    if (b != NULL && PEM_write_bio(b, name, "", der, (long)len) > 0) {
        long n = BIO_get_mem_data(b, &p);
        rc = n > 0 ? hsm_bytes_set(pem, p, (size_t)n) : HSM_E_MEM;
    }
    BIO_free(b);
    return rc;
}

int hsm_pem_decode(const char *name, const uint8_t *pem, size_t len, hsm_bytes *der)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    char *n = NULL, *h = NULL;
    unsigned char *d = NULL;
    long dl = 0;
    int rc = HSM_E_NOT_FOUND;
    if (b == NULL)
        return HSM_E_MEM;
    while (rc == HSM_E_NOT_FOUND && PEM_read_bio(b, &n, &h, &d, &dl) == 1) {
        if (strcmp(n, name) == 0)
            rc = hsm_bytes_set(der, d, (size_t)dl);
        OPENSSL_free(n);
        OPENSSL_free(h);
        OPENSSL_free(d);
    }
    BIO_free(b);
    return rc;
}

int hsm_read_whole_file(const char *path, size_t max, hsm_bytes *out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return HSM_E_NOT_FOUND;
    uint8_t buf[4096];
    size_t n;
    int rc = HSM_OK;
    while (rc == HSM_OK && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (out->len + n > max)
            rc = HSM_E_ARGS;
        else
            rc = hsm_bytes_put(out, buf, n);
    }
    if (rc == HSM_OK && ferror(f))
        rc = HSM_E_COMM;
    OPENSSL_cleanse(buf, sizeof(buf));   /* password-share files go through here too */
    fclose(f);
    return rc;
}

int hsm_chain_file_encode(const uint8_t *devcerts, size_t len, hsm_bytes *pem)
{
    return hsm_pem_encode(HSM_CHAIN_PEM_NAME, devcerts, len, pem);
}

int hsm_chain_file_decode(const uint8_t *file, size_t len, hsm_bytes *devcerts)
{
    hsm_cvc dev, dica;
    int rc = HSM_OK;
    if (len > 0 && file[0] == 0x7F)
        rc = hsm_bytes_set(devcerts, file, len);
    else
        rc = hsm_pem_decode(HSM_CHAIN_PEM_NAME, file, len, devcerts);
    if (rc != HSM_OK)
        return rc == HSM_E_NOT_FOUND ? HSM_E_PARSE : rc;
    return hsm_cvc_split_devcerts(devcerts->data, devcerts->len, &dev, &dica);
}
