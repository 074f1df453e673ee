/* SPDX-License-Identifier: Apache-2.0 */
/* Key backup on the card side: key-domain status, WRAP KEY into sc-hsm-tool's file, and the
 * proof that a key reference holds the private key of a given public key (see keybackup.h). */
#include "hsm/keybackup.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "hsm/crypto.h"
#include "hsm/ecsig.h"
#include "hsm/rv.h"
#include "hsm/sw.h"
#include "hsm/tlv.h"

#define FID(prefix, ref) ((uint16_t)((prefix) << 8 | (ref)))

void hsm_kb_fail(hsm_kb_result *r, int reason, const char *fmt, ...)
{
    va_list ap;
    r->reason = reason;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
}

static void hex16(char out[17], const uint8_t kcv[8])
{
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", kcv[i]);
}

int hsm_kb_domains(hsm_card *c, hsm_kb_domain *doms, size_t cap, size_t *n)
{
    *n = 0;
    for (size_t d = 0; d < cap && d < HSM_KB_MAX_DOMAINS; d++) {
        hsm_kb_domain *k = &doms[d];
        memset(k, 0, sizeof(*k));
        int rv = hsm_card_key_domain(c, 0, (uint8_t)d, NULL, 0, &k->st);
        if (rv == HSM_E_SW && hsm_card_last_sw(c) == 0x6A88) {
            *n = d + 1;   /* provisioned but empty */
            continue;
        }
        if (rv != HSM_OK)
            break;        /* 6A86: no more domains */
        k->present = 1;
        *n = d + 1;
    }
    return HSM_OK;
}

int hsm_kb_domain_for_kcv(const hsm_kb_domain *doms, size_t n, const uint8_t kcv[8], hsm_kb_result *r)
{
    char want[17], have[200] = "", missing[200] = "";
    hex16(want, kcv);
    int any = 0, incomplete = 0;
    for (size_t d = 0; d < n; d++) {
        const hsm_dkek_status *st = &doms[d].st;
        if (!doms[d].present)
            continue;   /* empty slot */
        int xkek = st->total == 0xFF;   /* an XKEK domain's KEK (docs/key-domains.md) wraps as well */
        if ((xkek || st->missing == 0) && CRYPTO_memcmp(st->kcv, kcv, 8) == 0)
            return (int)d;
        size_t l = strlen(have);
        if (xkek || st->missing == 0) {
            char k[17];
            hex16(k, st->kcv);
            snprintf(have + l, sizeof(have) - l, "%sdomain %zu %sKCV %s", any ? ", " : "", d, xkek ? "XKEK " : "", k);
        } else {
            snprintf(have + l, sizeof(have) - l, "%sdomain %zu incomplete", any ? ", " : "", d);
            size_t m = strlen(missing);
            snprintf(missing + m, sizeof(missing) - m, "%sdomain %zu has %u of %u shares, %u missing",
                     incomplete ? "; " : "", d, (unsigned)(st->total - st->missing), st->total, st->missing);
            incomplete++;
        }
        any++;
    }
    if (!any)
        hsm_kb_fail(r, HSM_KB_NO_DKEK, "this card has no DKEK: initialise it with --dkek-shares N and import the "
                    "shares the key was wrapped with (KCV %s); nothing was changed", want);
    else if (incomplete)
        hsm_kb_fail(r, HSM_KB_DKEK_INCOMPLETE, "no complete DKEK on this card has KCV %s: %s; import the missing "
                    "share%s with schsm-tool dkek import-share (the KCV is known only once every share is in); "
                    "nothing was changed", want, missing, incomplete > 1 ? "s of each domain" : "s");
    else
        hsm_kb_fail(r, HSM_KB_WRONG_DKEK, "the key was wrapped with a different DKEK (KCV %s; this card has %s): "
                    "import the DKEK shares it was wrapped with into a new card or key domain; nothing was changed",
                    want, have);
    return -1;
}

int hsm_kb_key_meta_read(hsm_card *c, uint8_t ref, hsm_kb_key_meta *m)
{
    memset(m, 0, sizeof(*m));
    m->domain = -1;
    hsm_bytes resp = HSM_BYTES_INIT;
    int rc = hsm_card_select_file(c, (uint16_t)(HSM_PREFIX_KEY << 8 | ref), &resp);
    hsm_tlv fcp, a5, t;
    if (rc == HSM_OK && hsm_tlv_find(resp.data, resp.len, 0x62, &fcp) == 1
        && hsm_tlv_find(fcp.val, fcp.len, 0xA5, &a5) == 1) {
        m->known = 1;
        if (hsm_tlv_find(a5.val, a5.len, 0x91, &t) == 1 && t.len <= sizeof(m->algs)) {
            m->has_algs = 1;
            m->nalgs = t.len;
            if (t.len)
                memcpy(m->algs, t.val, t.len);
        }
        if (hsm_tlv_find(a5.val, a5.len, 0x92, &t) == 1 && t.len == 1)
            m->domain = t.val[0];
        else
            m->domain = 0;   /* no 92: the key is in the default domain */
    }
    hsm_bytes_free(&resp);
    return rc;
}

void hsm_kb_delete_files(hsm_card *c, uint8_t ref)
{
    /* The description first: no prefix leaves a description of a key that is gone. */
    static const uint8_t prefixes[] = { HSM_PREFIX_PRKD, HSM_PREFIX_KEY, HSM_PREFIX_EE_CERT, HSM_PREFIX_REQ_KEEP };
    for (size_t i = 0; i < sizeof(prefixes); i++) {
        int rv = hsm_card_delete_file(c, FID(prefixes[i], ref));
        (void)rv;   /* best effort; absent files are fine */
    }
}

int hsm_kb_remove_key(hsm_token *t, uint8_t ref)
{
    int rc = hsm_token_ensure_login(t, NULL, NULL);
    if (rc != HSM_OK)
        return rc;
    hsm_card *c = hsm_token_lock(t);
    if (c == NULL)
        return HSM_E_COMM;
    hsm_kb_delete_files(c, ref);
    uint8_t fid[2] = { HSM_PREFIX_KEY, ref };
    hsm_bytes fids = HSM_BYTES_INIT;
    rc = hsm_card_enumerate(c, &fids);
    for (size_t i = 0; rc == HSM_OK && i + 1 < fids.len; i += 2)
        if (memcmp(fids.data + i, fid, 2) == 0)
            rc = HSM_E_BUSY;   /* still there */
    hsm_bytes_free(&fids);
    int sr = hsm_card_select(c, NULL);   /* a change to the key set: see hsm/token.h */
    (void)sr;
    hsm_token_unlock(t, 1);
    return rc;
}

static int read_optional(hsm_card *c, uint16_t fid, hsm_bytes *out, int *have)
{
    int rv = hsm_card_read_file(c, fid, out);
    *have = rv == HSM_OK && out->len > 0;
    return rv == HSM_E_NOT_FOUND ? HSM_OK : rv;
}

static void card_fail(hsm_kb_result *r, hsm_card *c, int rv, uint8_t ins, const char *what)
{
    r->sw = rv == HSM_E_SW ? hsm_card_last_sw(c) : 0;
    hsm_kb_fail(r, HSM_KB_CARD, "%s: %s", what, rv == HSM_E_SW ? hsm_sw_message(r->sw, ins) : hsm_rv_text(rv));
}

/* XKEK (issue 10): a group signer's CBnn holds its request followed by the chain of the card that
 * made it; the wrapped file carries that chain (element E1) so that unwrap restores it. */
static int add_origin_chain(hsm_bytes *file, const hsm_bytes *keep)
{
    hsm_tlv req;
    const uint8_t *p = keep->data;
    if (keep->len == 0 || keep->data[0] != 0x67 || hsm_tlv_next(&p, keep->data + keep->len, &req) != 1
        || req.rawlen >= keep->len)
        return HSM_OK;   /* only a kept request: nothing to carry */
    return hsm_wrapped_file_add_origin(file, keep->data + req.rawlen, keep->len - req.rawlen);
}

int hsm_kb_wrap(hsm_token *t, uint8_t key_ref, hsm_bytes *out, hsm_kb_wrap_info *info, hsm_kb_result *r)
{
    memset(info, 0, sizeof(*info));
    memset(r, 0, sizeof(*r));
    hsm_bytes blob = HSM_BYTES_INIT, prkd = HSM_BYTES_INIT, cert = HSM_BYTES_INIT;
    if (hsm_token_ensure_login(t, NULL, NULL) != HSM_OK) {
        hsm_kb_fail(r, HSM_KB_CARD, "cannot log in: %s", hsm_token_error(t));
        return HSM_E_PIN_REFUSED;
    }
    hsm_card *c = hsm_token_lock(t);
    if (c == NULL) {
        hsm_kb_fail(r, HSM_KB_CARD, "cannot reach the card: %s", hsm_token_error(t));
        return HSM_E_COMM;
    }
    hsm_bytes keep = HSM_BYTES_INIT;   /* XKEK (issue 10): CBnn, a group signer's request || origin chain */
    int have_keep = 0;
    int rc = hsm_card_wrap(c, key_ref, &blob);
    if (rc != HSM_OK)
        card_fail(r, c, rc, 0x72, "the card did not wrap the key");
    else if ((rc = read_optional(c, FID(HSM_PREFIX_PRKD, key_ref), &prkd, &info->have_prkd)) != HSM_OK
             || (rc = read_optional(c, FID(HSM_PREFIX_EE_CERT, key_ref), &cert, &info->have_cert)) != HSM_OK)
        card_fail(r, c, rc, 0xB1, "cannot read the key's description or certificate");
    else if ((rc = read_optional(c, FID(HSM_PREFIX_REQ_KEEP, key_ref), &keep, &have_keep)) != HSM_OK)
        card_fail(r, c, rc, 0xB1, "cannot read the key's kept request");
    hsm_token_unlock(t, 0);
    hsm_wrapped_hdr hdr;
    if (rc == HSM_OK && hsm_wrapped_blob_header(blob.data, blob.len, &hdr) != HSM_OK) {
        hsm_kb_fail(r, HSM_KB_CARD, "the card's wrapped key is malformed (%zu bytes); nothing was written", blob.len);
        rc = HSM_E_PARSE;
    }
    if (rc == HSM_OK && info->have_cert && !info->have_prkd) {
        info->have_cert = 0;   /* sc-hsm-tool's format has no place for a certificate alone */
        info->cert_dropped = 1;
    }
    hsm_wrapped_file wf;
    if (rc == HSM_OK
        && (hsm_wrapped_file_build(blob.data, blob.len, info->have_prkd ? prkd.data : NULL, prkd.len,
                                   info->have_cert ? cert.data : NULL, cert.len, out) != HSM_OK
            || (have_keep && info->have_cert && info->have_prkd && add_origin_chain(out, &keep) != HSM_OK)
            || hsm_wrapped_file_parse(out->data, out->len, &wf) != HSM_OK
            || hsm_wrapped_blob_header(wf.blob, wf.blob_len, &info->hdr) != HSM_OK)) {
        hsm_kb_fail(r, HSM_KB_CARD, "the key's description or certificate on the card is malformed; nothing was "
                    "written");
        rc = HSM_E_PARSE;
    }
    hsm_bytes_free(&blob);
    hsm_bytes_free(&prkd);
    hsm_bytes_free(&cert);
    hsm_bytes_free(&keep);
    return rc;
}

/* ---- proof of possession ---- */

static const EVP_MD *card_hash(uint8_t alg)
{
    switch (alg) {
    case HSM_ALG_ECDSA_SHA1: case HSM_ALG_RSA_PKCS1_SHA1: return EVP_sha1();
    case HSM_ALG_ECDSA_SHA224: return EVP_sha224();
    case HSM_ALG_ECDSA_SHA256: case HSM_ALG_RSA_PKCS1_SHA256: return EVP_sha256();
    case HSM_ALG_ECDSA_SHA384: case HSM_ALG_RSA_PKCS1_SHA384: return EVP_sha384();
    case HSM_ALG_ECDSA_SHA512: case HSM_ALG_RSA_PKCS1_SHA512: return EVP_sha512();
    default: return NULL;
    }
}

/* The algorithm the proof uses: the plain one when the key has no list, else one the list allows. */
static int pick_alg(int ec, const uint8_t *algs, size_t n)
{
    uint8_t plain = ec ? HSM_ALG_ECDSA : HSM_ALG_RSA_RAW;
    if (n == 0)
        return plain;
    for (size_t i = 0; i < n; i++) {
        uint8_t a = algs[i];
        if (a == plain)
            return a;
        if (ec && a >= HSM_ALG_ECDSA_SHA1 && a <= HSM_ALG_ECDSA_SHA512)
            return a;
        if (!ec && (a == HSM_ALG_RSA_PKCS1_SHA1 || (a >= HSM_ALG_RSA_PKCS1_SHA256 && a <= HSM_ALG_RSA_PKCS1_SHA512)))
            return a;
    }
    return -1;
}

static int verify_sig(EVP_PKEY *pub, int ec, uint8_t alg, const uint8_t *msg, size_t len, const hsm_bytes *sig)
{
    hsm_bytes der = HSM_BYTES_INIT;
    const uint8_t *s = sig->data;
    size_t sl = sig->len;
    int ok = 0;
    ERR_set_mark();
    if (ec) {
        if (hsm_ecdsa_der_normalize(sig->data, sig->len, &der) != HSM_OK)
            goto out;
        s = der.data;
        sl = der.len;
    }
    const EVP_MD *md = card_hash(alg);
    if (md != NULL) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pc = NULL;
        ok = m != NULL && EVP_DigestVerifyInit_ex(m, &pc, EVP_MD_get0_name(md), hsm_libctx(), NULL, pub, NULL) == 1
             && (ec || EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1)
             && EVP_DigestVerify(m, s, sl, msg, len) == 1;
        EVP_MD_CTX_free(m);
    } else {
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), pub, NULL);
        if (ec) {
            ok = pc != NULL && EVP_PKEY_verify_init(pc) == 1 && EVP_PKEY_verify(pc, s, sl, msg, len) == 1;
        } else {
            /* Raw RSA: the public operation must give back the block (a card may drop leading zeros). */
            uint8_t *full = calloc(1, len), *back = calloc(1, len);
            size_t bl = len;
            if (full != NULL && back != NULL && sl <= len && sl > 0) {
                memcpy(full + len - sl, s, sl);
                ok = pc != NULL && EVP_PKEY_verify_recover_init(pc) == 1
                     && EVP_PKEY_CTX_set_rsa_padding(pc, RSA_NO_PADDING) == 1
                     && EVP_PKEY_verify_recover(pc, back, &bl, full, len) == 1 && bl == len
                     && memcmp(back, msg, len) == 0;
            }
            free(full);
            free(back);
        }
        EVP_PKEY_CTX_free(pc);
    }
out:
    ERR_pop_to_mark();
    hsm_bytes_free(&der);
    return ok;
}

int hsm_kb_prove_key(hsm_card *c, uint8_t ref, EVP_PKEY *pub, const uint8_t *algs, size_t algs_len)
{
    int ec = EVP_PKEY_is_a(pub, "EC");
    if (!ec && !EVP_PKEY_is_a(pub, "RSA"))
        return HSM_E_UNSUPPORTED;
    int alg = pick_alg(ec, algs, algs_len);
    if (alg < 0)
        return HSM_E_UNSUPPORTED;
    int size = EVP_PKEY_get_size(pub);
    size_t len = alg == HSM_ALG_RSA_RAW ? (size_t)size : 32;
    if (size <= 0 || len > 1024)
        return HSM_E_UNSUPPORTED;
    uint8_t msg[1024];
    if (RAND_bytes_ex(hsm_libctx(), msg, len, 0) != 1)
        return HSM_E_CRYPTO;
    if (alg == HSM_ALG_RSA_RAW)
        msg[0] = 0;   /* below the modulus */
    hsm_bytes sig = HSM_BYTES_INIT;
    int rc = hsm_card_sign(c, ref, (uint8_t)alg, msg, len, &sig);
    if (rc == HSM_OK && !verify_sig(pub, ec, (uint8_t)alg, msg, len, &sig))
        rc = HSM_E_VERIFY;
    hsm_bytes_free(&sig);
    return rc;
}
