/* SPDX-License-Identifier: Apache-2.0 */
/* hsm/dkek.h: DKEK share files (sheet 12.7), n-of-m password shares (12.8), wrapped-key files
 * (12.6) and the blob header (12.5). Expected share files come from independent paths: a vector
 * computed once with Python's hashlib MD5 loop and `openssl enc -K -iv`, and an in-test MD5 loop
 * that does not use EVP_BytesToKey. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "helper_sim.h"
#include "hsm/card.h"
#include "hsm/crypto.h"
#include "hsm/dkek.h"
#include "hsm/rv.h"
#include "hsm/sw.h"
#include "helper_run.h"

/* Password "dkek-test-pw", salt 01..08, share 00..1f, 10 000 000 iterations; computed with
 * hashlib (D1 = MD5^c(pw||salt), D2 = MD5^c(D1||pw||salt), D3 = MD5^c(D2||pw||salt)) and
 * openssl enc -aes-256-cbc -K D1||D2 -iv D3. */
static const char VECTOR_HEX[] =
    "53616c7465645f5f010203040506070892f6951d2ce84fe59229fbc19d815e31"
    "6c40435dfb4a93f4ab86927138b31046d606313353c79adbf692567d114555e6";
static const char VEC_PW[] = "dkek-test-pw";

static void vec_inputs(uint8_t share[32], uint8_t salt[8])
{
    for (int i = 0; i < 32; i++)
        share[i] = (uint8_t)i;
    for (int i = 0; i < 8; i++)
        salt[i] = (uint8_t)(i + 1);
}

static void vector(uint8_t out[64])
{
    hsm_bytes b = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_hex_decode(VECTOR_HEX, &b), HSM_OK);
    ck_assert_uint_eq(b.len, 64);
    memcpy(out, b.data, 64);
    hsm_bytes_free(&b);
}

START_TEST(share_file_known_vector)
{
    uint8_t share[32], salt[8], file[64], want[64], back[32];
    vec_inputs(share, salt);
    vector(want);
    ck_assert_int_eq(hsm_dkek_share_encrypt(share, (const uint8_t *)VEC_PW, strlen(VEC_PW), salt,
                                            HSM_DKEK_KDF_COUNT, file), HSM_OK);
    ck_assert_mem_eq(file, want, 64);
    ck_assert_int_eq(hsm_dkek_share_decrypt(want, 64, (const uint8_t *)VEC_PW, strlen(VEC_PW), HSM_DKEK_KDF_COUNT,
                                            back), HSM_OK);
    ck_assert_mem_eq(back, share, 32);
    /* One character off: detected by the padding, and nothing of the share comes back. */
    memset(back, 0xAA, sizeof(back));
    ck_assert_int_eq(hsm_dkek_share_decrypt(want, 64, (const uint8_t *)"dkek-test-pX", 12, HSM_DKEK_KDF_COUNT,
                                            back), HSM_E_VERIFY);
    static const uint8_t zero[32];
    ck_assert_mem_eq(back, zero, 32);
}
END_TEST

/* MD5^c as the sheet defines it, with one-shot digests (independent of EVP_BytesToKey). */
static void md5c(const uint8_t *in, size_t len, int count, uint8_t out[16])
{
    unsigned int n = 0;
    EVP_MD *md = EVP_MD_fetch(hsm_libctx(), "MD5", NULL);
    ck_assert_ptr_nonnull(md);
    ck_assert_int_eq(EVP_Digest(in, len, out, &n, md, NULL), 1);
    for (int i = 1; i < count; i++)
        ck_assert_int_eq(EVP_Digest(out, 16, out, &n, md, NULL), 1);
    EVP_MD_free(md);
}

static void independent_file(const uint8_t share[32], const char *pw, const uint8_t salt[8], int count,
                             uint8_t out[64])
{
    uint8_t buf[16 + 64 + 8], d[48];
    size_t pl = strlen(pw);
    memcpy(buf, pw, pl);
    memcpy(buf + pl, salt, 8);
    md5c(buf, pl + 8, count, d);
    for (int i = 1; i < 3; i++) {
        memcpy(buf, d + 16 * (i - 1), 16);
        memcpy(buf + 16, pw, pl);
        memcpy(buf + 16 + pl, salt, 8);
        md5c(buf, 16 + pl + 8, count, d + 16 * i);
    }
    /* AES-256-CBC with OpenSSL's own PKCS#7 padding */
    EVP_CIPHER *ci = EVP_CIPHER_fetch(hsm_libctx(), "AES-256-CBC", NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    ck_assert_int_eq(EVP_EncryptInit_ex2(ctx, ci, d, d + 32, NULL), 1);
    ck_assert_int_eq(EVP_EncryptUpdate(ctx, out + 16, &n1, share, 32), 1);
    ck_assert_int_eq(EVP_EncryptFinal_ex(ctx, out + 16 + n1, &n2), 1);
    ck_assert_int_eq(n1 + n2, 48);
    memcpy(out, "Salted__", 8);
    memcpy(out + 8, salt, 8);
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(ci);
}

START_TEST(share_file_independent_kdf)
{
    static const int counts[] = { 1, 2, 1000 };
    static const char *const pws[] = { "123456", "a much longer password with spaces", "\x01\x02\x03\x04\x05\x06" };
    for (size_t k = 0; k < 3; k++) {
        uint8_t share[32], salt[8], got[64], want[64], back[32];
        for (int i = 0; i < 32; i++)
            share[i] = (uint8_t)(0xF0 ^ (i * 7 + (int)k));
        for (int i = 0; i < 8; i++)
            salt[i] = (uint8_t)(0x30 + i + (int)k);
        independent_file(share, pws[k], salt, counts[k], want);
        ck_assert_int_eq(hsm_dkek_share_encrypt(share, (const uint8_t *)pws[k], strlen(pws[k]), salt, counts[k], got),
                         HSM_OK);
        ck_assert_mem_eq(got, want, 64);
        ck_assert_int_eq(hsm_dkek_share_decrypt(got, 64, (const uint8_t *)pws[k], strlen(pws[k]), counts[k], back),
                         HSM_OK);
        ck_assert_mem_eq(back, share, 32);
        /* the same password with another iteration count is a different key */
        ck_assert_int_eq(hsm_dkek_share_decrypt(got, 64, (const uint8_t *)pws[k], strlen(pws[k]), counts[k] + 1,
                                                back), HSM_E_VERIFY);
    }
}
END_TEST

START_TEST(share_file_rejects_other_files)
{
    uint8_t share[32], salt[8], file[64], back[32];
    vec_inputs(share, salt);
    ck_assert_int_eq(hsm_dkek_share_encrypt(share, (const uint8_t *)"pw1234", 6, salt, 3, file), HSM_OK);
    ck_assert(hsm_dkek_share_file_ok(file, 64));
    ck_assert(!hsm_dkek_share_file_ok(file, 63));
    ck_assert_int_eq(hsm_dkek_share_decrypt(file, 48, (const uint8_t *)"pw1234", 6, 3, back), HSM_E_PARSE);
    ck_assert_int_eq(hsm_dkek_share_decrypt(NULL, 64, (const uint8_t *)"pw1234", 6, 3, back), HSM_E_PARSE);
    file[0] = 's';
    ck_assert(!hsm_dkek_share_file_ok(file, 64));
    ck_assert_int_eq(hsm_dkek_share_decrypt(file, 64, (const uint8_t *)"pw1234", 6, 3, back), HSM_E_PARSE);
    file[0] = 'S';
    /* a flipped ciphertext bit in the last block breaks the padding */
    file[63] ^= 1;
    ck_assert_int_eq(hsm_dkek_share_decrypt(file, 64, (const uint8_t *)"pw1234", 6, 3, back), HSM_E_VERIFY);
}
END_TEST

START_TEST(kcv_known)
{
    static const uint8_t zero[32];
    static const uint8_t want[8] = { 0x66, 0x68, 0x7a, 0xad, 0xf8, 0x62, 0xbd, 0x77 };   /* SHA-256(32 x 00) */
    uint8_t kcv[8];
    ck_assert_int_eq(hsm_dkek_kcv(zero, kcv), HSM_OK);
    ck_assert_mem_eq(kcv, want, 8);
}
END_TEST

/* ---- n-of-m ---- */

static void rnd_fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 31 + (i >> 3) * 17);
}

START_TEST(pwd_prime_is_safe_prime)
{
    uint64_t p = 0;
    ck_assert_int_eq(hsm_pwd_prime(&p), HSM_OK);
    ck_assert(p >> 63);   /* 64 bits: above every secret */
    BIGNUM *b = BN_new(), *q = BN_new();
    BN_CTX *ctx = BN_CTX_new();
    ck_assert_int_eq(BN_set_word(b, p), 1);
    ck_assert_int_eq(BN_check_prime(b, ctx, NULL), 1);
    ck_assert_int_eq(BN_set_word(q, (p - 1) / 2), 1);
    ck_assert_int_eq(BN_check_prime(q, ctx, NULL), 1);
    BN_free(b);
    BN_free(q);
    BN_CTX_free(ctx);
}
END_TEST

static void split_combine_all_subsets(const uint8_t secret[8], uint64_t prime, unsigned t, unsigned n)
{
    hsm_pwd_share sh[8], pick[8];
    uint8_t rnd[16 * 8], back[8];
    rnd_fill(rnd, sizeof(rnd), (uint8_t)(t * 13 + n));
    ck_assert_int_eq(hsm_pwd_split(secret, prime, t, n, rnd, 16 * (t - 1), sh), HSM_OK);
    for (unsigned i = 0; i < n; i++) {
        ck_assert_uint_eq(sh[i].id, i + 1);
        ck_assert(sh[i].prime == prime);
        ck_assert(sh[i].value < prime);
    }
    for (unsigned mask = 0; mask < (1u << n); mask++) {
        unsigned k = 0;
        for (unsigned i = 0; i < n; i++)
            if (mask & (1u << i))
                pick[k++] = sh[i];
        if (k < 2)
            continue;
        memset(back, 0xEE, sizeof(back));
        int rv = hsm_pwd_combine(pick, k, back);
        if (k >= t) {
            ck_assert_int_eq(rv, HSM_OK);
            ck_assert_mem_eq(back, secret, 8);
        } else {
            /* too few shares: never the secret */
            ck_assert(rv != HSM_OK || memcmp(back, secret, 8) != 0);
        }
    }
}

START_TEST(pwd_split_combine)
{
    uint64_t prime = 0;
    ck_assert_int_eq(hsm_pwd_prime(&prime), HSM_OK);
    static const uint8_t s1[8] = { 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t s2[8] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0 };
    split_combine_all_subsets(s1, prime, 2, 3);
    split_combine_all_subsets(s2, prime, 3, 5);
    split_combine_all_subsets(s2, prime, 5, 5);
    /* the sheet's pitfall: a secret starting with 00 (and even 00 00) must come back as 8 bytes */
    static const uint8_t z1[8] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 };
    static const uint8_t z2[8] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05 };
    split_combine_all_subsets(z1, prime, 2, 4);
    split_combine_all_subsets(z2, prime, 3, 4);
}
END_TEST

START_TEST(pwd_split_combine_fixed_prime)
{
    /* 2^64 - 59 is prime: the largest modulus exercises the 128-bit products */
    const uint64_t p = 0xFFFFFFFFFFFFFFC5ull;
    static const uint8_t s[8] = { 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 };
    split_combine_all_subsets(s, p, 4, 6);
}
END_TEST

START_TEST(pwd_bad_inputs)
{
    char why[256];
    ck_assert_int_eq(hsm_pwd_check_params(2, 3, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(hsm_pwd_check_params(3, 3, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(hsm_pwd_check_params(1, 3, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(hsm_pwd_check_params(2, 2, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(hsm_pwd_check_params(4, 3, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(hsm_pwd_check_params(2, 256, why, sizeof(why)), HSM_E_ARGS);

    const uint64_t p = 0xFFFFFFFFFFFFFFC5ull;
    static const uint8_t s[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    static const uint8_t big[8] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    uint8_t rnd[64], back[8];
    hsm_pwd_share sh[4];
    rnd_fill(rnd, sizeof(rnd), 3);
    ck_assert_int_eq(hsm_pwd_split(s, p, 3, 4, rnd, 31, sh), HSM_E_ARGS);   /* too little randomness */
    ck_assert_int_eq(hsm_pwd_split(big, p, 2, 4, rnd, 32, sh), HSM_E_ARGS); /* secret >= prime */
    ck_assert_int_eq(hsm_pwd_split(s, p, 1, 4, rnd, 32, sh), HSM_E_ARGS);
    ck_assert_int_eq(hsm_pwd_split(s, p, 3, 4, rnd, 32, sh), HSM_OK);
    hsm_pwd_share two[2] = { sh[0], sh[0] };
    ck_assert_int_eq(hsm_pwd_combine(two, 2, back), HSM_E_ARGS);            /* same id twice */
    two[1] = sh[1];
    two[1].prime = 0xFFFFFFFFFFFFFFA3ull;
    ck_assert_int_eq(hsm_pwd_combine(two, 2, back), HSM_E_ARGS);            /* mixed primes */
    two[1] = sh[1];
    two[1].id = 0;
    ck_assert_int_eq(hsm_pwd_combine(two, 2, back), HSM_E_ARGS);            /* x = 0 is the secret itself */
    ck_assert_int_eq(hsm_pwd_combine(sh, 1, back), HSM_E_ARGS);
}
END_TEST

START_TEST(pwd_share_text_round_trip)
{
    const uint64_t p = 0xFFFFFFFFFFFFFFC5ull;
    static const uint8_t s[8] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 };
    uint8_t rnd[32], back[8];
    hsm_pwd_share sh[3], got[8];
    rnd_fill(rnd, sizeof(rnd), 9);
    ck_assert_int_eq(hsm_pwd_split(s, p, 2, 3, rnd, 16, sh), HSM_OK);
    char text[1024] = "some heading the tool prints\n";
    for (int i = 0; i < 3; i++) {
        char one[256];
        ck_assert_int_eq(hsm_pwd_share_format(&sh[i], one, sizeof(one)), HSM_OK);
        strcat(text, "\nShare x of 3\n");
        strcat(text, one);
    }
    ck_assert_ptr_nonnull(strstr(text, "Prime:       ff:ff:ff:ff:ff:ff:ff:c5\n"));
    size_t n = 0;
    char why[256];
    ck_assert_int_eq(hsm_pwd_shares_parse(text, strlen(text), got, 8, &n, why, sizeof(why)), HSM_OK);
    ck_assert_uint_eq(n, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert(got[i].prime == sh[i].prime);
        ck_assert_uint_eq(got[i].id, sh[i].id);
        ck_assert(got[i].value == sh[i].value);
    }
    ck_assert_int_eq(hsm_pwd_combine(&got[1], 2, back), HSM_OK);
    ck_assert_mem_eq(back, s, 8);

    /* hand-typed: other case, no separators, CRLF, prime once for all */
    const char *typed = "prime: FFFFFFFFFFFFFFC5\r\nshare id: 2\r\nshare value: 1\r\nSHARE ID:3\r\nShare Value: 02\r\n";
    ck_assert_int_eq(hsm_pwd_shares_parse(typed, strlen(typed), got, 8, &n, why, sizeof(why)), HSM_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(got[1].id, 3);
    ck_assert(got[1].value == 2 && got[1].prime == p);

    const char *bad[] = {
        "Share value: 01\n",                                        /* no prime, no id */
        "Prime: ff\nShare value: 01\n",                             /* no id */
        "Prime: ff\nShare ID: 0\nShare value: 01\n",                /* id 0 */
        "Prime: ff\nShare ID: 1\nShare value: 010203040506070809\n",/* 9 bytes */
        "Prime: zz\nShare ID: 1\nShare value: 01\n",                /* not hex */
        "nothing here\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        ck_assert_int_eq(hsm_pwd_shares_parse(bad[i], strlen(bad[i]), got, 8, &n, why, sizeof(why)), HSM_E_PARSE);
        ck_assert_uint_eq(n, 0);
        ck_assert(why[0] != '\0');
    }
}
END_TEST

/* ---- wrapped keys ---- */

static void fake_blob(hsm_bytes *b, const uint8_t *algs, size_t algs_len, size_t ct_blocks)
{
    static const uint8_t kcv[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    static const uint8_t oid[10] = { 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03 };
    hsm_bytes_put(b, kcv, 8);
    hsm_bytes_put_u8(b, 0x0C);
    hsm_bytes_put_u16(b, sizeof(oid));
    hsm_bytes_put(b, oid, sizeof(oid));
    hsm_bytes_put_u16(b, (uint16_t)algs_len);
    hsm_bytes_put(b, algs, algs_len);
    hsm_bytes_put_u16(b, 0);
    hsm_bytes_put_u16(b, 0);
    for (size_t i = 0; i < 16 * ct_blocks + 16; i++)
        hsm_bytes_put_u8(b, (uint8_t)i);
}

START_TEST(wrapped_blob_header)
{
    static const uint8_t algs[2] = { 0x70, 0x92 };
    hsm_bytes b = HSM_BYTES_INIT;
    hsm_wrapped_hdr h;
    fake_blob(&b, algs, 2, 3);
    ck_assert_int_eq(hsm_wrapped_blob_header(b.data, b.len, &h), HSM_OK);
    ck_assert_uint_eq(h.key_type, 0x0C);
    ck_assert_uint_eq(h.algs_len, 2);
    ck_assert_mem_eq(h.algs, algs, 2);
    ck_assert_uint_eq(h.kcv[7], 8);
    /* every truncation is refused (ciphertext must stay whole blocks) */
    for (size_t l = 0; l < b.len; l++)
        ck_assert_int_eq(hsm_wrapped_blob_header(b.data, l, &h), l + 16 == b.len || l + 32 == b.len ? HSM_OK : HSM_E_PARSE);
    hsm_bytes_clear(&b);
    fake_blob(&b, NULL, 0, 1);
    ck_assert_int_eq(hsm_wrapped_blob_header(b.data, b.len, &h), HSM_OK);
    ck_assert_uint_eq(h.algs_len, 0);
    ck_assert_ptr_null(h.algs);
    b.data[9 + 2 + 10] = 0xFF;   /* algorithm list length far past the end */
    ck_assert_int_eq(hsm_wrapped_blob_header(b.data, b.len, &h), HSM_E_PARSE);
    hsm_bytes_free(&b);
}
END_TEST

START_TEST(wrapped_file_round_trip)
{
    /* RSA PRKD (starts with 30, as an X.509 certificate does: only the position tells them apart) */
    hsm_bytes prkd = HSM_BYTES_INIT, cert = HSM_BYTES_INIT, blob = HSM_BYTES_INIT, f = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_hex_decode("301E30070C054D794B6579300704010103020274A10A30083002040002020800", &prkd), HSM_OK);
    uint8_t certval[300];
    memset(certval, 0x5A, sizeof(certval));
    hsm_bytes_put_u8(&cert, 0x30);
    hsm_bytes_put_u8(&cert, 0x82);
    hsm_bytes_put_u16(&cert, sizeof(certval));
    hsm_bytes_put(&cert, certval, sizeof(certval));
    fake_blob(&blob, NULL, 0, 40);   /* > 255 bytes: long-form lengths */
    hsm_wrapped_file w;

    ck_assert_int_eq(hsm_wrapped_file_build(blob.data, blob.len, prkd.data, prkd.len, cert.data, cert.len, &f), HSM_OK);
    ck_assert_uint_eq(f.data[0], 0x30);
    ck_assert_int_eq(hsm_wrapped_file_parse(f.data, f.len, &w), HSM_OK);
    ck_assert_uint_eq(w.blob_len, blob.len);
    ck_assert_mem_eq(w.blob, blob.data, blob.len);
    ck_assert_uint_eq(w.prkd_len, prkd.len);
    ck_assert_mem_eq(w.prkd, prkd.data, prkd.len);
    ck_assert_uint_eq(w.cert_len, cert.len);
    ck_assert_mem_eq(w.cert, cert.data, cert.len);

    /* byte-exact layout: 30 82 LL LL 04 82 LL LL blob prkd cert */
    size_t inner = 4 + blob.len + prkd.len + cert.len;
    ck_assert_uint_eq(f.len, 4 + inner);
    ck_assert_uint_eq(f.data[1], 0x82);
    ck_assert_uint_eq((size_t)(f.data[2] << 8 | f.data[3]), inner);
    ck_assert_uint_eq(f.data[4], 0x04);

    /* without certificate, and blob only */
    ck_assert_int_eq(hsm_wrapped_file_build(blob.data, blob.len, prkd.data, prkd.len, NULL, 0, &f), HSM_OK);
    ck_assert_int_eq(hsm_wrapped_file_parse(f.data, f.len, &w), HSM_OK);
    ck_assert_ptr_nonnull(w.prkd);
    ck_assert_ptr_null(w.cert);
    ck_assert_int_eq(hsm_wrapped_file_build(blob.data, blob.len, NULL, 0, NULL, 0, &f), HSM_OK);
    ck_assert_int_eq(hsm_wrapped_file_parse(f.data, f.len, &w), HSM_OK);
    ck_assert_ptr_null(w.prkd);
    /* a certificate without a description cannot be placed */
    ck_assert_int_eq(hsm_wrapped_file_build(blob.data, blob.len, NULL, 0, cert.data, cert.len, &f), HSM_E_ARGS);
    /* prkd that is not one TLV */
    ck_assert_int_eq(hsm_wrapped_file_build(blob.data, blob.len, prkd.data, prkd.len - 1, NULL, 0, &f), HSM_E_ARGS);

    /* malformed files */
    ck_assert_int_eq(hsm_wrapped_file_build(blob.data, blob.len, prkd.data, prkd.len, cert.data, cert.len, &f), HSM_OK);
    for (size_t l = 0; l < f.len; l += 7)
        ck_assert_int_eq(hsm_wrapped_file_parse(f.data, l, &w), HSM_E_PARSE);
    hsm_bytes_put_u8(&f, 0x00);   /* trailing byte after the 30 */
    ck_assert_int_eq(hsm_wrapped_file_parse(f.data, f.len, &w), HSM_E_PARSE);
    static const uint8_t not04[] = { 0x30, 0x04, 0x05, 0x02, 0x00, 0x00 };
    ck_assert_int_eq(hsm_wrapped_file_parse(not04, sizeof(not04), &w), HSM_E_PARSE);
    static const uint8_t four[] = { 0x30, 0x0B, 0x04, 0x01, 0xAA, 0x30, 0x00, 0x30, 0x00, 0x30, 0x00, 0x30, 0x00 };
    ck_assert_int_eq(hsm_wrapped_file_parse(four, sizeof(four), &w), HSM_E_PARSE);   /* 2 elements too many */
    ck_assert_int_eq(hsm_wrapped_file_parse(four, 9, &w), HSM_E_PARSE);              /* length past the end */
    hsm_bytes_free(&prkd);
    hsm_bytes_free(&cert);
    hsm_bytes_free(&blob);
    hsm_bytes_free(&f);
}
END_TEST

/* ---- against the virtual card ---- */

START_TEST(card_kcv_is_xor_of_shares)
{
    static const uint8_t so[8] = { 0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30 };
    hsm_card *c = helper_sim_card("dkek");
    ck_assert_ptr_nonnull(c);
    int rc = hsm_card_begin(c);
    ck_assert(rc == HSM_OK || rc == HSM_E_RESET);
    hsm_init_params p = { .options = 1, .pin = (const uint8_t *)"648219", .pin_len = 6, .so_pin = so,
                          .pin_retries = 3, .dkek_shares = 2 };
    ck_assert_int_eq(hsm_card_select(c, NULL), HSM_OK);
    ck_assert_int_eq(hsm_card_initialize(c, &p), HSM_OK);
    uint8_t s1[32], s2[32], x[32], kcv[8];
    ck_assert_int_eq(hsm_card_challenge(c, s1, 32), HSM_OK);
    ck_assert_int_eq(hsm_card_challenge(c, s2, 32), HSM_OK);
    ck_assert(memcmp(s1, s2, 32) != 0);
    /* shares survive the file round trip and then build the expected DKEK */
    uint8_t salt[8] = { 9, 8, 7, 6, 5, 4, 3, 2 }, file[64], back[32];
    ck_assert_int_eq(hsm_dkek_share_encrypt(s1, (const uint8_t *)"custodian1", 10, salt, 5, file), HSM_OK);
    ck_assert_int_eq(hsm_dkek_share_decrypt(file, 64, (const uint8_t *)"custodian1", 10, 5, back), HSM_OK);
    hsm_dkek_status st;
    ck_assert_int_eq(hsm_card_key_domain(c, 0, 0, back, 32, &st), HSM_OK);
    ck_assert_uint_eq(st.total, 2);
    ck_assert_uint_eq(st.missing, 1);
    ck_assert_int_eq(hsm_card_key_domain(c, 0, 0, s2, 32, &st), HSM_OK);
    ck_assert_uint_eq(st.missing, 0);
    for (int i = 0; i < 32; i++)
        x[i] = s1[i] ^ s2[i];
    ck_assert_int_eq(hsm_dkek_kcv(x, kcv), HSM_OK);
    ck_assert_mem_eq(st.kcv, kcv, 8);
    hsm_card_end(c);
    hsm_card_free(c);
}
END_TEST

START_TEST(unwrap_6f00_message)
{
    const char *m = hsm_sw_message(0x6F00, 0x74);
    ck_assert_str_eq(m, "the card's firmware (3.1) cannot import keys with an algorithm list; wrap the key again "
                        "without an algorithm list or update the firmware");
    ck_assert_ptr_null(strstr(hsm_sw_message(0x6F00, 0x68), "firmware (3.1)"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dkek");
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, share_file_known_vector);
    tcase_add_test(tc, share_file_independent_kdf);
    tcase_add_test(tc, share_file_rejects_other_files);
    tcase_add_test(tc, kcv_known);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("nofm");
    tcase_set_timeout(tp, 60);
    tcase_add_test(tp, pwd_prime_is_safe_prime);
    tcase_add_test(tp, pwd_split_combine);
    tcase_add_test(tp, pwd_split_combine_fixed_prime);
    tcase_add_test(tp, pwd_bad_inputs);
    tcase_add_test(tp, pwd_share_text_round_trip);
    suite_add_tcase(s, tp);
    TCase *tw = tcase_create("wrapped");
    tcase_set_timeout(tw, 60);
    tcase_add_test(tw, wrapped_blob_header);
    tcase_add_test(tw, wrapped_file_round_trip);
    tcase_add_test(tw, card_kcv_is_xor_of_shares);
    tcase_add_test(tw, unwrap_6f00_message);
    suite_add_tcase(s, tw);
    return helper_run_suite(s);
}
