/* SPDX-License-Identifier: Apache-2.0 */
/* DKEK share files and wrapped-key files (sheet 12.5-12.7). The n-of-m part is in dkek_pwd.c. */
#include "hsm/dkek.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hsm/crypto.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"

static const char SALTED[8] = { 'S', 'a', 'l', 't', 'e', 'd', '_', '_' };

int hsm_dkek_kcv(const uint8_t key[HSM_DKEK_SHARE_LEN], uint8_t kcv[8])
{
    uint8_t h[32];
    unsigned int n = 0;
    EVP_MD *md = EVP_MD_fetch(hsm_libctx(), "SHA256", NULL);
    int ok = md != NULL && EVP_Digest(key, HSM_DKEK_SHARE_LEN, h, &n, md, NULL) == 1 && n == 32;
    EVP_MD_free(md);
    if (ok)
        memcpy(kcv, h, 8);
    OPENSSL_cleanse(h, sizeof(h));
    return ok ? HSM_OK : HSM_E_CRYPTO;
}

/* AES-256-CBC over whole blocks with a key and IV from EVP_BytesToKey(MD5, count). Padding is
 * handled by the callers, so that decryption can check all 16 padding bytes itself. */
static int share_cipher(int enc, const uint8_t *pwd, size_t pwd_len, const uint8_t salt[8], int count,
                        const uint8_t *in, uint8_t *out, size_t len)
{
    uint8_t key[32], iv[16];
    int n1 = 0, n2 = 0, ok = 0;
    if (pwd_len > 0x7FFFFFFF || count < 1)
        return HSM_E_ARGS;
    EVP_MD *md = EVP_MD_fetch(hsm_libctx(), "MD5", NULL);
    EVP_CIPHER *ci = EVP_CIPHER_fetch(hsm_libctx(), "AES-256-CBC", NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (md != NULL && ci != NULL && ctx != NULL
        && EVP_BytesToKey(ci, md, salt, pwd, (int)pwd_len, count, key, iv) == 32
        && EVP_CipherInit_ex2(ctx, ci, key, iv, enc, NULL) == 1 && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1
        && EVP_CipherUpdate(ctx, out, &n1, in, (int)len) == 1 && EVP_CipherFinal_ex(ctx, out + n1, &n2) == 1
        && (size_t)(n1 + n2) == len)
        ok = 1;
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(iv, sizeof(iv));
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(ci);
    EVP_MD_free(md);
    return ok ? HSM_OK : HSM_E_CRYPTO;
}

int hsm_dkek_share_encrypt(const uint8_t share[HSM_DKEK_SHARE_LEN], const uint8_t *pwd, size_t pwd_len,
                           const uint8_t salt[HSM_DKEK_SALT_LEN], int count, uint8_t out[HSM_DKEK_FILE_LEN])
{
    if (share == NULL || (pwd == NULL && pwd_len > 0) || salt == NULL || out == NULL)
        return HSM_E_ARGS;
    uint8_t pt[48];
    memcpy(pt, share, 32);
    memset(pt + 32, 16, 16);   /* PKCS#7: a full block of 10 */
    memcpy(out, SALTED, 8);
    memcpy(out + 8, salt, 8);
    int rc = share_cipher(1, pwd, pwd_len, salt, count, pt, out + 16, sizeof(pt));
    OPENSSL_cleanse(pt, sizeof(pt));
    if (rc != HSM_OK)
        OPENSSL_cleanse(out, HSM_DKEK_FILE_LEN);
    return rc;
}

int hsm_dkek_share_file_ok(const uint8_t *file, size_t len)
{
    return file != NULL && len == HSM_DKEK_FILE_LEN && memcmp(file, SALTED, 8) == 0;
}

int hsm_dkek_share_decrypt(const uint8_t *file, size_t len, const uint8_t *pwd, size_t pwd_len, int count,
                           uint8_t share[HSM_DKEK_SHARE_LEN])
{
    if (share == NULL || (pwd == NULL && pwd_len > 0))
        return HSM_E_ARGS;
    memset(share, 0, HSM_DKEK_SHARE_LEN);
    if (!hsm_dkek_share_file_ok(file, len))
        return HSM_E_PARSE;
    uint8_t pt[48];
    int rc = share_cipher(0, pwd, pwd_len, file + 8, count, file + 16, pt, sizeof(pt));
    if (rc == HSM_OK) {
        /* The plaintext is always exactly 32 bytes, so the last block must be 16 x 10: checking
         * all of it (not just "valid PKCS#7") makes a wrong password pass with odds 2^-128. */
        uint8_t bad = 0;
        for (size_t i = 32; i < 48; i++)
            bad |= (uint8_t)(pt[i] ^ 16);
        if (bad != 0)
            rc = HSM_E_VERIFY;
        else
            memcpy(share, pt, 32);
    }
    OPENSSL_cleanse(pt, sizeof(pt));
    return rc;
}

/* ---- wrapped key blob and file ---- */

static int get_lv(const uint8_t **p, const uint8_t *end, const uint8_t **v, size_t *n)
{
    if (end - *p < 2)
        return 0;
    size_t len = (size_t)((*p)[0] << 8 | (*p)[1]);
    if ((size_t)(end - *p - 2) < len)
        return 0;
    *v = *p + 2;
    *n = len;
    *p += 2 + len;
    return 1;
}

int hsm_wrapped_blob_header(const uint8_t *blob, size_t len, hsm_wrapped_hdr *out)
{
    if (blob == NULL || out == NULL)
        return HSM_E_ARGS;
    memset(out, 0, sizeof(*out));
    /* KCV, type, four length-prefixed fields, at least one cipher block and the CMAC */
    if (len < 8 + 1 + 8 + 16 + 16)
        return HSM_E_PARSE;
    const uint8_t *p = blob + 9, *end = blob + len - 16;
    const uint8_t *oid, *algs, *acc, *koid;
    size_t oidl, algsl, accl, koidl;
    if (!get_lv(&p, end, &oid, &oidl) || !get_lv(&p, end, &algs, &algsl) || !get_lv(&p, end, &acc, &accl)
        || !get_lv(&p, end, &koid, &koidl))
        return HSM_E_PARSE;
    size_t ct = (size_t)(end - p);
    if (ct == 0 || ct % 16 != 0)
        return HSM_E_PARSE;
    memcpy(out->kcv, blob, 8);
    out->key_type = blob[8];
    out->algs = algsl > 0 ? algs : NULL;
    out->algs_len = algsl;
    return HSM_OK;
}

int hsm_wrapped_file_parse(const uint8_t *buf, size_t len, hsm_wrapped_file *out)
{
    if (buf == NULL || out == NULL)
        return HSM_E_ARGS;
    memset(out, 0, sizeof(*out));
    hsm_tlv outer, t;
    if (hsm_tlv_parse_one(buf, len, &outer) != HSM_OK || outer.tag != 0x30)
        return HSM_E_PARSE;
    const uint8_t *p = outer.val, *end = outer.val + outer.len;
    if (hsm_tlv_next(&p, end, &t) != 1 || t.tag != 0x04 || t.len == 0)
        return HSM_E_PARSE;
    out->blob = t.val;
    out->blob_len = t.len;
    /* sc-hsm-tool places the PRKD first and the certificate second; the tags cannot tell them
     * apart (an RSA PRKD and an X.509 certificate both start with 30), only the order does. */
    int r = hsm_tlv_next(&p, end, &t);
    if (r < 0)
        return HSM_E_PARSE;
    if (r == 1) {
        out->prkd = t.raw;
        out->prkd_len = t.rawlen;
        r = hsm_tlv_next(&p, end, &t);
        if (r < 0)
            return HSM_E_PARSE;
        if (r == 1) {
            out->cert = t.raw;
            out->cert_len = t.rawlen;
            r = hsm_tlv_next(&p, end, &t);
            if (r < 0 || (r == 1 && t.tag != HSM_WRAPPED_ORIGIN_TAG))
                return HSM_E_PARSE;
            if (r == 1) {
                out->origin = t.val;
                out->origin_len = t.len;
            }
        }
    }
    if (p != end)
        return HSM_E_PARSE;
    return HSM_OK;
}

static int one_tlv(const uint8_t *p, size_t n)
{
    hsm_tlv t;
    return p == NULL || (n > 0 && hsm_tlv_parse_one(p, n, &t) == HSM_OK);
}

int hsm_wrapped_file_build(const uint8_t *blob, size_t blob_len, const uint8_t *prkd, size_t prkd_len,
                           const uint8_t *cert, size_t cert_len, hsm_bytes *out)
{
    if (blob == NULL || blob_len == 0 || out == NULL || !one_tlv(prkd, prkd_len) || !one_tlv(cert, cert_len))
        return HSM_E_ARGS;
    if (cert != NULL && prkd == NULL)
        return HSM_E_ARGS;   /* position decides the meaning: a lone certificate would read as a PRKD */
    size_t mark;
    hsm_bytes_clear(out);
    if (hsm_tlv_open(out, 0x30, &mark) != HSM_OK || hsm_tlv_put(out, 0x04, blob, blob_len) != HSM_OK)
        return HSM_E_MEM;
    if (prkd != NULL)
        hsm_bytes_put(out, prkd, prkd_len);
    if (cert != NULL)
        hsm_bytes_put(out, cert, cert_len);
    if (out->oom || hsm_tlv_close(out, mark) != HSM_OK)
        return HSM_E_MEM;
    return HSM_OK;
}

int hsm_wrapped_file_add_origin(hsm_bytes *file, const uint8_t *chain, size_t len)
{
    hsm_wrapped_file wf;
    if (file == NULL || chain == NULL || len == 0 || hsm_wrapped_file_parse(file->data, file->len, &wf) != HSM_OK
        || wf.cert == NULL || wf.origin != NULL)
        return HSM_E_ARGS;
    hsm_tlv outer;
    hsm_tlv_parse_one(file->data, file->len, &outer);
    hsm_bytes out = HSM_BYTES_INIT;
    size_t mark;
    hsm_tlv_open(&out, 0x30, &mark);
    hsm_bytes_put(&out, outer.val, outer.len);
    hsm_tlv_put(&out, HSM_WRAPPED_ORIGIN_TAG, chain, len);
    hsm_tlv_close(&out, mark);
    int rc = out.oom ? HSM_E_MEM : hsm_bytes_set(file, out.data, out.len);
    hsm_bytes_free(&out);
    return rc;
}
