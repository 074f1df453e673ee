/* SPDX-License-Identifier: Apache-2.0 */
/* Virtual card: DKEK shares, key domains, WRAP / UNWRAP (sheet 12, 13), AES keys (8.1, 11.1).
 * Blobs are built and opened here with OpenSSL straight from the sheet's layout (12.5), not
 * with the simulator's code. */
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "hsm/crypto.h"
#include "hsm/cvc.h"
#include "sim_test.h"

static void sha256(const void *in, size_t len, uint8_t out[32])
{
    unsigned int n;
    ck_assert_int_eq(EVP_Digest(in, len, out, &n, EVP_sha256(), NULL), 1);
}

static void derive(const uint8_t kek[32], uint8_t i, uint8_t out[32])
{
    uint8_t b[36];
    memcpy(b, kek, 32);
    b[32] = b[33] = b[34] = 0;
    b[35] = i;
    sha256(b, 36, out);
}

static void cmac(const uint8_t key[32], const uint8_t *in, size_t len, uint8_t mac[16])
{
    EVP_MAC *m = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(m);
    OSSL_PARAM p[2] = { OSSL_PARAM_construct_utf8_string("cipher", (char *)"AES-256-CBC", 0), OSSL_PARAM_construct_end() };
    size_t n = 0;
    ck_assert_int_eq(EVP_MAC_init(ctx, key, 32, p), 1);
    ck_assert_int_eq(EVP_MAC_update(ctx, in, len), 1);
    ck_assert_int_eq(EVP_MAC_final(ctx, mac, &n, 16), 1);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
}

static void aes_cbc(const char *name, const uint8_t *key, int enc, const uint8_t *in, size_t len, uint8_t *out)
{
    static const uint8_t iv[16];
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    ck_assert_int_eq(EVP_CipherInit_ex(ctx, EVP_get_cipherbyname(name), NULL, key, iv, enc), 1);
    EVP_CIPHER_CTX_set_padding(ctx, 0);
    ck_assert_int_eq(EVP_CipherUpdate(ctx, out, &n1, in, (int)len), 1);
    ck_assert_int_eq(EVP_CipherFinal_ex(ctx, out + n1, &n2), 1);
    ck_assert_uint_eq((size_t)(n1 + n2), len);
    EVP_CIPHER_CTX_free(ctx);
}

static void lv(hsm_bytes *b, const uint8_t *v, size_t n)
{
    hsm_bytes_put_u16(b, (uint16_t)n);
    hsm_bytes_put(b, v, n);
}

static void lv_bn(hsm_bytes *b, const BIGNUM *bn, int width)
{
    uint8_t buf[600];
    int n = width ? width : BN_num_bytes(bn);
    ck_assert_int_ge(BN_bn2binpad(bn, buf, n), 0);
    lv(b, buf, (size_t)n);
}

/* Blob = header || AES-256-CBC(Kenc, pt padded per 12.5) || CMAC(Kmac). */
static void make_blob(const uint8_t kek[32], uint8_t type, const uint8_t *oid, size_t oidl, const uint8_t *algs,
                      size_t algsl, const hsm_bytes *pt_in, hsm_bytes *blob)
{
    uint8_t kcv[32], kenc[32], kmac[32], mac[16];
    sha256(kek, 32, kcv);
    derive(kek, 1, kenc);
    derive(kek, 2, kmac);
    hsm_bytes pt = HSM_BYTES_INIT;
    hsm_bytes_put(&pt, pt_in->data, pt_in->len);
    if (pt.len % 16) {
        hsm_bytes_put_u8(&pt, 0x80);
        while (pt.len % 16)
            hsm_bytes_put_u8(&pt, 0);
    }
    hsm_bytes_clear(blob);
    hsm_bytes_put(blob, kcv, 8);
    hsm_bytes_put_u8(blob, type);
    lv(blob, oid, oidl);
    lv(blob, algs, algsl);
    hsm_bytes_put_u16(blob, 0);
    hsm_bytes_put_u16(blob, 0);
    size_t hl = blob->len;
    hsm_bytes_reserve(blob, pt.len);
    aes_cbc("AES-256-CBC", kenc, 1, pt.data, pt.len, blob->data + hl);
    blob->len += pt.len;
    cmac(kmac, blob->data, blob->len, mac);
    hsm_bytes_put(blob, mac, 16);
    hsm_bytes_free(&pt);
}

/* Checks the CMAC and decrypts; pt receives the plaintext; returns the header length. */
static size_t open_blob(const uint8_t kek[32], const hsm_bytes *blob, hsm_bytes *pt)
{
    uint8_t kcv[32], kenc[32], kmac[32], mac[16];
    sha256(kek, 32, kcv);
    derive(kek, 1, kenc);
    derive(kek, 2, kmac);
    ck_assert_mem_eq(blob->data, kcv, 8);
    cmac(kmac, blob->data, blob->len - 16, mac);
    ck_assert_mem_eq(mac, blob->data + blob->len - 16, 16);
    size_t off = 9;
    for (int i = 0; i < 4; i++)
        off += 2 + (size_t)(blob->data[off] << 8 | blob->data[off + 1]);
    size_t ctl = blob->len - 16 - off;
    ck_assert_uint_eq(ctl % 16, 0);
    hsm_bytes_clear(pt);
    hsm_bytes_reserve(pt, ctl);
    aes_cbc("AES-256-CBC", kenc, 0, blob->data + off, ctl, pt->data);
    pt->len = ctl;
    return off;
}

static uint16_t share(sim_card *c, uint8_t dom, const uint8_t s[32], hsm_bytes *st)
{
    return tx(c, 0x80, 0x52, 0x00, dom, s, 32, 256, st);
}

START_TEST(dkek_shares_and_kcv)
{
    sim_card *c = t_fresh();
    hsm_bytes st = HSM_BYTES_INIT;
    t_select(c);
    ck_assert_uint_eq(t_init(c, 0x0001, 3, 2, -1), 0x9000);
    /* no PIN needed for status and import */
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x00, 0x00, NULL, 0, 256, &st), 0x9000);
    const uint8_t s0[10] = { 2, 2, 0, 0, 0, 0, 0, 0, 0, 0 };
    ck_assert_uint_eq(st.len, 10);
    ck_assert_mem_eq(st.data, s0, 10);
    uint8_t sh[32];
    memset(sh, 0xA5, 32);
    ck_assert_uint_eq(share(c, 0, sh, &st), 0x9000);
    const uint8_t s1[10] = { 2, 1, 0, 0, 0, 0, 0, 0, 0, 0 };
    ck_assert_mem_eq(st.data, s1, 10);
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x00, 0x00, sh, 31, 256, &st), 0x6A80);
    ck_assert_uint_eq(share(c, 0, sh, &st), 0x9000);
    /* two identical shares: DKEK = 0, KCV = SHA-256(32 x 00)[0..8] */
    uint8_t zero[32] = { 0 }, h[32];
    sha256(zero, 32, h);
    ck_assert_uint_eq(st.data[0], 2);
    ck_assert_uint_eq(st.data[1], 0);
    ck_assert_mem_eq(st.data + 2, h, 8);
    ck_assert_uint_eq(share(c, 0, sh, &st), 0x6985);   /* complete */
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x00, 0x01, NULL, 0, 256, &st), 0x6A86);
    /* no tag 92: slot 0 exists but is empty */
    ck_assert_uint_eq(t_init(c, 0x0001, 3, -1, -1), 0x9000);
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x00, 0x00, NULL, 0, 256, &st), 0x6A88);
    ck_assert_uint_eq(share(c, 0, sh, &st), 0x6A88);
    /* tag 92 = 0: the card makes a random DKEK */
    ck_assert_uint_eq(t_init(c, 0x0001, 3, 0, -1), 0x9000);
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x00, 0x00, NULL, 0, 256, &st), 0x9000);
    ck_assert_uint_eq(st.data[0], 0);
    ck_assert_uint_eq(st.data[1], 0);
    ck_assert_mem_ne(st.data + 2, zero, 8);
    hsm_bytes_free(&st);
    sim_card_free(c);
}
END_TEST

START_TEST(key_domains)
{
    sim_card *c = t_ready(-1, 3);
    hsm_bytes st = HSM_BYTES_INIT;
    for (uint8_t d = 0; d < 3; d++)
        ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x00, d, NULL, 0, 256, &st), 0x6A88);
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x00, 3, NULL, 0, 256, &st), 0x6A86);
    uint8_t n = 2;
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x01, 1, &n, 1, 256, &st), 0x9000);
    const uint8_t s0[10] = { 2, 2, 0, 0, 0, 0, 0, 0, 0, 0 };
    ck_assert_mem_eq(st.data, s0, 10);
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x01, 1, &n, 1, 256, &st), 0x6A89);
    uint8_t sh[32];
    memset(sh, 7, 32);
    ck_assert_uint_eq(share(c, 1, sh, &st), 0x9000);
    ck_assert_uint_eq(st.data[1], 1);
    /* P1 04 forgets the key material and wants all shares again */
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x04, 1, NULL, 0, 256, &st), 0x9000);
    ck_assert_mem_eq(st.data, s0, 10);
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x03, 1, NULL, 0, 256, &st), 0x9000);
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x00, 1, NULL, 0, 256, &st), 0x6A88);
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x03, 1, NULL, 0, 256, &st), 0x6A88);
    /* a domain with keys cannot be deleted */
    n = 0;
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x01, 2, &n, 1, 256, &st), 0x9000);
    hsm_gakp_params p = { NID_X9_62_prime256v1, 0, NULL, "UTDUMMY00001", NULL, NULL, 0, 2, 0 };
    hsm_bytes d = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_cvc_build_gakp(&p, &d), HSM_OK);
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x46, 0x04, 0x00, d.data, d.len, 65536, 1, &st), 0x9000);
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x03, 2, NULL, 0, 256, &st), 0x6A89);
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x02, 2, "x", 1, 256, &st), 0x6A89);   /* XKEK into a used slot */
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x02, 1, "x", 1, 256, &st), 0x6A80);   /* not a membership */
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x05, 2, NULL, 0, 256, &st), 0x6A86);
    /* managing domains needs the PIN */
    t_select(c);
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x01, 1, &n, 1, 256, &st), 0x6982);
    hsm_bytes_free(&d);
    hsm_bytes_free(&st);
    sim_card_free(c);
}
END_TEST

static sim_card *card_with_dkek(uint8_t kek[32])
{
    sim_card *c = t_ready(1, -1);
    hsm_bytes st = HSM_BYTES_INIT;
    ck_assert_int_eq(RAND_bytes(kek, 32), 1);
    ck_assert_uint_eq(share(c, 0, kek, &st), 0x9000);
    hsm_bytes_free(&st);
    return c;
}

START_TEST(unwrap_independent_ec_blob_and_wrap_back)
{
    uint8_t kek[32];
    sim_card *c = card_with_dkek(kek);
    hsm_bytes blob = HSM_BYTES_INIT, pt = HSM_BYTES_INIT, r = HSM_BYTES_INIT, pt2 = HSM_BYTES_INIT;
    /* an EC key made by OpenSSL, wrapped here per sheet 12.5 */
    EVP_PKEY *k = EVP_EC_gen("prime256v1");
    ck_assert_ptr_nonnull(k);
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    BIGNUM *bp = BN_new(), *ba = BN_new(), *bb = BN_new(), *d = NULL;
    EC_GROUP_get_curve(g, bp, ba, bb, NULL);
    uint8_t gq[65], q[65];
    size_t ql = 0;
    EC_POINT_point2oct(g, EC_GROUP_get0_generator(g), POINT_CONVERSION_UNCOMPRESSED, gq, 65, NULL);
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d);
    EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, q, 65, &ql);
    uint8_t rnd[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    hsm_bytes_put(&pt, rnd, 8);
    hsm_bytes_put_u16(&pt, 256);
    lv_bn(&pt, ba, 32);
    lv_bn(&pt, bb, 32);
    lv_bn(&pt, bp, 32);
    lv_bn(&pt, EC_GROUP_get0_order(g), 32);
    lv(&pt, gq, 65);
    lv_bn(&pt, d, 32);
    lv(&pt, q, 65);
    const uint8_t algs[] = { 0x70, 0x73, 0x92 };
    make_blob(kek, 0x0C, HSM_OID_TA_ECDSA_SHA256, 10, algs, sizeof(algs), &pt, &blob);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x74, 0x05, 0x93, blob.data, blob.len, 0, 1, NULL), 0x9000);
    /* the card signs with the imported key */
    uint8_t h[32] = { 9, 9, 9 };
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x68, 0x05, 0x70, h, 32, 65536, 1, &r), 0x9000);
    ck_assert(t_ecdsa_ok(k, &r, h));
    /* and its algorithm list came from the blob */
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x62, 0x05, 0x80, q, 65, 65536, 1, &r), 0x6A81);
    /* WRAP gives back the same header and the same plaintext after the 8 random bytes */
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x72, 0x05, 0x92, NULL, 0, 65536, 1, &r), 0x9000);
    size_t hl = open_blob(kek, &r, &pt2);
    ck_assert_uint_eq(hl, 9 + 12 + 5 + 4);
    ck_assert_mem_eq(r.data, blob.data, hl);
    ck_assert_uint_eq(pt2.len, (pt.len + 1 + 15) / 16 * 16);
    ck_assert_mem_eq(pt2.data + 8, pt.data + 8, pt.len - 8);
    ck_assert_uint_eq(pt2.data[pt.len], 0x80);
    /* errors: KCV, CMAC, ciphertext, structure; the card stays unchanged */
    blob.data[0] ^= 1;
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x74, 0x06, 0x93, blob.data, blob.len, 0, 1, NULL), 0x6A80);
    blob.data[0] ^= 1;
    blob.data[blob.len - 1] ^= 1;
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x74, 0x06, 0x93, blob.data, blob.len, 0, 1, NULL), 0x6A80);
    blob.data[blob.len - 1] ^= 1;
    blob.data[blob.len - 20] ^= 1;
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x74, 0x06, 0x93, blob.data, blob.len, 0, 1, NULL), 0x6A80);
    blob.data[blob.len - 20] ^= 1;
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x74, 0x06, 0x93, blob.data, 40, 0, 1, NULL), 0x6A80);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x74, 0x06, 0x92, blob.data, blob.len, 0, 1, NULL), 0x6A86);
    ck_assert_uint_eq(t_read(c, 0xCC06, 0, 16, &r), 0x6A82);
    /* a plaintext whose d does not match Q is bad data */
    hsm_bytes bad = HSM_BYTES_INIT;
    hsm_bytes_put(&bad, pt.data, pt.len);
    bad.data[bad.len - 65 - 2 - 1] ^= 1;   /* last byte of d */
    make_blob(kek, 0x0C, HSM_OID_TA_ECDSA_SHA256, 10, algs, sizeof(algs), &bad, &blob);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x74, 0x06, 0x93, blob.data, blob.len, 0, 1, NULL), 0x6A80);
    /* no PIN */
    t_select(c);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x72, 0x05, 0x92, NULL, 0, 65536, 1, &r), 0x6982);
    hsm_bytes_free(&bad);
    EC_GROUP_free(g);
    BN_free(bp);
    BN_free(ba);
    BN_free(bb);
    BN_free(d);
    EVP_PKEY_free(k);
    hsm_bytes_free(&blob);
    hsm_bytes_free(&pt);
    hsm_bytes_free(&pt2);
    hsm_bytes_free(&r);
    sim_card_free(c);
}
END_TEST

START_TEST(wrap_unwrap_generated_keys_via_2f10)
{
    uint8_t kek[32];
    sim_card *c = card_with_dkek(kek);
    hsm_bytes d = HSM_BYTES_INIT, req = HSM_BYTES_INIT, blob = HSM_BYTES_INIT, r = HSM_BYTES_INIT, r2 = HSM_BYTES_INIT;
    hsm_gakp_params p = { 0, 1024, NULL, "UTDUMMY00001", NULL, NULL, 0, -1, 0 };
    ck_assert_int_eq(hsm_cvc_build_gakp(&p, &d), HSM_OK);
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x46, 0x01, 0x00, d.data, d.len, 65536, 1, &req), 0x9000);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x72, 0x01, 0x92, NULL, 0, 65536, 1, &blob), 0x9000);
    ck_assert_uint_eq(blob.data[8], 0x06);   /* RSA-CRT */
    hsm_bytes pt = HSM_BYTES_INIT;
    open_blob(kek, &blob, &pt);
    ck_assert_uint_eq(pt.data[8] << 8 | pt.data[9], 1024);
    /* stage in 2F10 in chunks, then UNWRAP without data */
    for (size_t off = 0; off < blob.len; off += 200) {
        size_t n = blob.len - off < 200 ? blob.len - off : 200;
        ck_assert_uint_eq(t_write(c, 0x2F10, (uint16_t)off, blob.data + off, n), 0x9000);
    }
    ck_assert_uint_eq(tx(c, 0x80, 0x74, 0x02, 0x93, NULL, 0, 0, NULL), 0x9000);
    /* both keys make the same deterministic PKCS#1 v1.5 signature */
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x68, 0x01, 0x33, "abc", 3, 65536, 1, &r), 0x9000);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x68, 0x02, 0x33, "abc", 3, 65536, 1, &r2), 0x9000);
    ck_assert_uint_eq(r.len, 128);
    ck_assert_mem_eq(r.data, r2.data, 128);
    /* an RSA type 05 blob (d, n, e) made here from the public parts of the first key */
    hsm_cvc cv;
    EVP_PKEY *pub = NULL;
    ck_assert_int_eq(hsm_cvc_parse(req.data, req.len, &cv, NULL), HSM_OK);
    ck_assert_int_eq(hsm_cvc_public_key(&cv, 0, &pub), HSM_OK);
    EVP_PKEY *k = EVP_RSA_gen(1024);
    BIGNUM *n = NULL, *e = NULL, *dd = NULL;
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e);
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_D, &dd);
    hsm_bytes_clear(&pt);
    hsm_bytes_put(&pt, "RANDOM!!", 8);
    hsm_bytes_put_u16(&pt, 1024);
    lv_bn(&pt, dd, 0);
    lv_bn(&pt, n, 0);
    lv_bn(&pt, e, 0);
    make_blob(kek, 0x05, HSM_OID_TA_RSA_V15_SHA256, 10, NULL, 0, &pt, &blob);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x74, 0x03, 0x93, blob.data, blob.len, 0, 1, NULL), 0x9000);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x68, 0x03, 0x33, "abc", 3, 65536, 1, &r), 0x9000);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    ck_assert_int_eq(EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, k), 1);
    ck_assert_int_eq(EVP_DigestVerify(m, r.data, r.len, (const uint8_t *)"abc", 3), 1);
    EVP_MD_CTX_free(m);
    /* wrapping needs 92 in a present algorithm list, and a complete DKEK */
    const uint8_t algs[] = { 0x73 };
    hsm_gakp_params p2 = { NID_X9_62_prime256v1, 0, NULL, "UTDUMMY00001", NULL, algs, 1, -1, 0 };
    hsm_bytes_clear(&d);
    ck_assert_int_eq(hsm_cvc_build_gakp(&p2, &d), HSM_OK);
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x46, 0x04, 0x00, d.data, d.len, 65536, 1, &req), 0x9000);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x72, 0x04, 0x92, NULL, 0, 65536, 1, &r), 0x6A81);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x72, 0x09, 0x92, NULL, 0, 65536, 1, &r), 0x6A82);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x72, 0x00, 0x92, NULL, 0, 65536, 1, &r), 0x6A81);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x72, 0x01, 0x93, NULL, 0, 65536, 1, &r), 0x6A86);
    sim_card *e2 = t_ready(2, -1);
    hsm_gakp_params p3 = { NID_X9_62_prime256v1, 0, NULL, "UTDUMMY00001", NULL, NULL, 0, -1, 0 };
    hsm_bytes_clear(&d);
    ck_assert_int_eq(hsm_cvc_build_gakp(&p3, &d), HSM_OK);
    ck_assert_uint_eq(tx_ex(e2, 0x00, 0x46, 0x01, 0x00, d.data, d.len, 65536, 1, &req), 0x9000);
    ck_assert_uint_eq(tx_ex(e2, 0x80, 0x72, 0x01, 0x92, NULL, 0, 65536, 1, &r), 0x6A88);
    ck_assert_uint_eq(tx_ex(e2, 0x80, 0x74, 0x02, 0x93, blob.data, blob.len, 0, 1, NULL), 0x6A80);
    sim_card_free(e2);
    BN_free(n);
    BN_free(e);
    BN_free(dd);
    EVP_PKEY_free(k);
    EVP_PKEY_free(pub);
    hsm_bytes_free(&pt);
    hsm_bytes_free(&d);
    hsm_bytes_free(&req);
    hsm_bytes_free(&blob);
    hsm_bytes_free(&r);
    hsm_bytes_free(&r2);
    sim_card_free(c);
}
END_TEST

START_TEST(aes_keys)
{
    uint8_t kek[32];
    sim_card *c = card_with_dkek(kek);
    hsm_bytes r = HSM_BYTES_INIT, pt = HSM_BYTES_INIT;
    const uint8_t meta[] = { 0x91, 0x04, 0x10, 0x11, 0x18, 0x92 };
    ck_assert_uint_eq(tx(c, 0x00, 0x48, 0x0A, 0xB2, meta, sizeof(meta), 0, NULL), 0x9000);
    ck_assert_uint_eq(tx(c, 0x00, 0x48, 0x0A, 0xB3, meta, sizeof(meta), 0, NULL), 0x6A86);
    /* learn the key through WRAP, then compare the card's cipher and CMAC with OpenSSL's */
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x72, 0x0A, 0x92, NULL, 0, 65536, 1, &r), 0x9000);
    ck_assert_uint_eq(r.data[8], 0x0F);
    open_blob(kek, &r, &pt);
    ck_assert_uint_eq(pt.data[8] << 8 | pt.data[9], 256);
    ck_assert_uint_eq(pt.data[10] << 8 | pt.data[11], 32);
    uint8_t key[32];
    memcpy(key, pt.data + 12, 32);
    uint8_t msg[48], want[48], mac[16];
    memset(msg, 0x3C, sizeof(msg));
    aes_cbc("AES-256-CBC", key, 1, msg, 48, want);
    ck_assert_uint_eq(tx(c, 0x80, 0x78, 0x0A, 0x10, msg, 48, 256, &r), 0x9000);
    ck_assert_uint_eq(r.len, 48);
    ck_assert_mem_eq(r.data, want, 48);
    ck_assert_uint_eq(tx(c, 0x80, 0x78, 0x0A, 0x11, want, 48, 256, &r), 0x9000);
    ck_assert_mem_eq(r.data, msg, 48);
    cmac(key, msg, 45, mac);
    ck_assert_uint_eq(tx(c, 0x80, 0x78, 0x0A, 0x18, msg, 45, 256, &r), 0x9000);
    ck_assert_uint_eq(r.len, 16);
    ck_assert_mem_eq(r.data, mac, 16);
    ck_assert_uint_eq(tx(c, 0x80, 0x78, 0x0A, 0x10, msg, 45, 256, &r), 0x6A80);
    ck_assert_uint_eq(tx(c, 0x80, 0x78, 0x0A, 0x30, msg, 48, 256, &r), 0x6A86);
    /* AES-128 without a list: everything but what the list would forbid */
    ck_assert_uint_eq(tx(c, 0x00, 0x48, 0x0B, 0xB0, NULL, 0, 0, NULL), 0x9000);
    ck_assert_uint_eq(tx(c, 0x80, 0x78, 0x0B, 0x10, msg, 16, 256, &r), 0x9000);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x68, 0x0B, 0x70, msg, 32, 65536, 1, &r), 0x6A81);
    /* AES list without 10 */
    const uint8_t meta2[] = { 0x91, 0x01, 0x18 };
    ck_assert_uint_eq(tx(c, 0x00, 0x48, 0x0C, 0xB1, meta2, sizeof(meta2), 0, NULL), 0x9000);
    ck_assert_uint_eq(tx(c, 0x80, 0x78, 0x0C, 0x10, msg, 16, 256, &r), 0x6A81);
    hsm_bytes_free(&r);
    hsm_bytes_free(&pt);
    sim_card_free(c);
}
END_TEST

T_MAIN("sim_dkek", dkek_shares_and_kcv, key_domains, unwrap_independent_ec_blob_and_wrap_back,
       wrap_unwrap_generated_keys_via_2f10, aes_keys)
