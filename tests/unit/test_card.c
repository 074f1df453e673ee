/* SPDX-License-Identifier: Apache-2.0 */
/* Every card command host-against-sim, through the real "sim:PATH" transport. */
#include <check.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "helper_token.h"
#include "hsm/card.h"
#include "hsm/crypto.h"
#include "hsm/curves.h"
#include "hsm/cvc.h"
#include "hsm/ecsig.h"
#include "hsm/rv.h"
#include "helper_run.h"

static int has_fid(const hsm_bytes *fids, uint16_t fid)
{
    for (size_t i = 0; i + 1 < fids->len; i += 2)
        if ((fids->data[i] << 8 | fids->data[i + 1]) == fid)
            return 1;
    return 0;
}

START_TEST(select_and_pin_lifecycle)
{
    hsm_card *c = helper_card_fresh("card-pin");
    helper_card_begin(c);
    hsm_fcp fcp;
    ck_assert_int_eq(hsm_card_select(c, &fcp), HSM_OK);
    ck_assert_uint_gt(fcp.major, 0);
    uint16_t sw = 0;
    ck_assert_int_eq(hsm_card_pin_status(c, HSM_PIN_USER, &sw), HSM_OK);
    ck_assert_uint_eq(sw, 0x6A88);   /* factory fresh */
    helper_card_init(c, -1);
    ck_assert_int_eq(hsm_card_select(c, &fcp), HSM_OK);
    ck_assert_uint_eq(fcp.options & 1, 1);
    ck_assert_int_eq(hsm_card_pin_status(c, HSM_PIN_USER, &sw), HSM_OK);
    ck_assert_uint_eq(sw, 0x63C3);
    ck_assert_int_eq(hsm_card_verify(c, HSM_PIN_USER, (const uint8_t *)"000000", 6), HSM_E_SW);
    ck_assert_uint_eq(hsm_card_last_sw(c), 0x63C2);
    helper_card_login(c);
    ck_assert_int_eq(hsm_card_pin_status(c, HSM_PIN_USER, &sw), HSM_OK);
    ck_assert_uint_eq(sw, 0x9000);
    /* SELECT logs out */
    ck_assert_int_eq(hsm_card_select(c, NULL), HSM_OK);
    ck_assert_int_eq(hsm_card_pin_status(c, HSM_PIN_USER, &sw), HSM_OK);
    ck_assert_uint_eq(sw, 0x63C3);
    /* change PIN, block it, unblock and reset with the SO-PIN */
    ck_assert_int_eq(hsm_card_change_ref(c, HSM_PIN_USER, (const uint8_t *)"648219", 6,
                                         (const uint8_t *)"1234567", 7), HSM_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(hsm_card_verify(c, HSM_PIN_USER, (const uint8_t *)"999999", 6), HSM_E_SW);
    ck_assert_int_eq(hsm_card_pin_status(c, HSM_PIN_USER, &sw), HSM_OK);
    ck_assert(sw == 0x6983 || sw == 0x63C0);
    ck_assert_int_eq(hsm_card_reset_retry(c, HELPER_SO_PIN, NULL, 0), HSM_OK);
    ck_assert_int_eq(hsm_card_verify(c, HSM_PIN_USER, (const uint8_t *)"1234567", 7), HSM_OK);
    ck_assert_int_eq(hsm_card_reset_retry(c, HELPER_SO_PIN, (const uint8_t *)"648219", 6), HSM_OK);
    ck_assert_int_eq(hsm_card_select(c, NULL), HSM_OK);
    helper_card_login(c);
    uint8_t bad_so[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    ck_assert_int_eq(hsm_card_reset_retry(c, bad_so, NULL, 0), HSM_E_SW);
    ck_assert_int_eq(hsm_card_pin_status(c, HSM_PIN_SO, &sw), HSM_OK);
    ck_assert_uint_eq(sw & 0xFFF0, 0x63C0);
    hsm_card_end(c);
    hsm_card_free(c);
}
END_TEST

START_TEST(files)
{
    hsm_card *c = helper_card_fresh("card-files");
    helper_card_begin(c);
    helper_card_init(c, -1);
    /* writing needs the PIN */
    ck_assert_int_eq(hsm_card_write_file(c, 0xCF01, (const uint8_t *)"x", 1), HSM_E_SW);
    ck_assert_uint_eq(hsm_card_last_sw(c), 0x6982);
    helper_card_login(c);
    helper_trace_on("card");
    size_t n = 3000;
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    ck_assert_int_eq(hsm_card_write_file(c, 0xCF01, data, n), HSM_OK);
    ck_assert_int_eq(helper_trace_count("apdu> 00 D7 CF 01"), 3);   /* 1217 + 1217 + 566 */
    hsm_bytes out = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_card_read_file(c, 0xCF01, &out), HSM_OK);
    ck_assert_uint_eq(out.len, n);
    ck_assert_mem_eq(out.data, data, n);
    /* a small file reads in one command */
    ck_assert_int_eq(hsm_card_write_file(c, 0xCF02, data, 10), HSM_OK);
    int before = helper_trace_count("apdu> 00 B1");
    ck_assert_int_eq(hsm_card_read_file(c, 0xCF02, &out), HSM_OK);
    ck_assert_int_eq(helper_trace_count("apdu> 00 B1") - before, 1);
    ck_assert_uint_eq(out.len, 10);
    /* empty write creates an empty EF */
    ck_assert_int_eq(hsm_card_write_file(c, 0xCF03, NULL, 0), HSM_OK);
    ck_assert_int_eq(hsm_card_read_file(c, 0xCF03, &out), HSM_OK);
    ck_assert_uint_eq(out.len, 0);
    hsm_bytes fids = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_card_enumerate(c, &fids), HSM_OK);
    ck_assert(has_fid(&fids, 0xCF01));
    ck_assert(has_fid(&fids, 0xCF03));
    ck_assert_int_eq(hsm_card_delete_file(c, 0xCF01), HSM_OK);
    ck_assert_int_eq(hsm_card_read_file(c, 0xCF01, &out), HSM_E_NOT_FOUND);
    ck_assert_int_eq(hsm_card_delete_file(c, 0xCF01), HSM_E_NOT_FOUND);
    ck_assert_int_eq(hsm_card_enumerate(c, &fids), HSM_OK);
    ck_assert(!has_fid(&fids, 0xCF01));
    /* the device certificates are readable without PIN */
    ck_assert_int_eq(hsm_card_read_file(c, HSM_FID_DEVCERT, &out), HSM_OK);
    ck_assert_uint_gt(out.len, 200);
    ck_assert_uint_eq(out.data[0], 0x7F);
    /* tracing never shows data bytes: the line has only header and Lc */
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 0);
    helper_card_login(c);
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 1);
    hsm_bytes_free(&out);
    hsm_bytes_free(&fids);
    free(data);
    hsm_card_end(c);
    hsm_card_free(c);
}
END_TEST

/* GENERATE ASYMMETRIC KEY PAIR into ref; returns the public key from the request it answers. */
static EVP_PKEY *gen_key(hsm_card *c, uint8_t ref, const hsm_gakp_params *g)
{
    hsm_bytes data = HSM_BYTES_INIT, req = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_cvc_build_gakp(g, &data), HSM_OK);
    ck_assert_int_eq(hsm_card_generate_asym(c, ref, data.data, data.len, &req), HSM_OK);
    ck_assert_uint_eq(req.data[0], 0x67);
    hsm_cvc cvc;
    EVP_PKEY *pub = NULL;
    ck_assert_int_eq(hsm_cvc_parse(req.data, req.len, &cvc, NULL), HSM_OK);
    ck_assert_int_eq(hsm_cvc_public_key(&cvc, 0, &pub), HSM_OK);
    hsm_bytes_free(&data);
    hsm_bytes_free(&req);
    return pub;
}

static EVP_PKEY *gen_ec(hsm_card *c, uint8_t ref, int nid)
{
    hsm_gakp_params g = { .ec_nid = nid, .car = "UTCA00001", .chr = "UTDUMMY00001", .key_domain = -1 };
    return gen_key(c, ref, &g);
}

static EVP_PKEY *gen_rsa(hsm_card *c, uint8_t ref, unsigned bits)
{
    hsm_gakp_params g = { .rsa_bits = bits, .car = "UTCA00001", .chr = "UTDUMMY00001", .key_domain = -1 };
    return gen_key(c, ref, &g);
}

static int verify_sig(EVP_PKEY *pub, const char *md, const uint8_t *msg, size_t len, const uint8_t *sig, size_t slen)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit_ex(m, NULL, md, hsm_libctx(), NULL, pub, NULL) == 1 &&
             EVP_DigestVerify(m, sig, slen, msg, len) == 1;
    EVP_MD_CTX_free(m);
    return ok;
}

START_TEST(ec_keygen_sign)
{
    hsm_card *c = helper_card_fresh("card-ec");
    helper_card_begin(c);
    helper_card_init(c, -1);
    /* GAKP needs the PIN */
    hsm_gakp_params g = { .ec_nid = NID_X9_62_prime256v1, .car = "UTCA00001", .chr = "UTDUMMY00001", .key_domain = -1 };
    hsm_bytes data = HSM_BYTES_INIT, out = HSM_BYTES_INIT, der = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_cvc_build_gakp(&g, &data), HSM_OK);
    ck_assert_int_eq(hsm_card_generate_asym(c, 1, data.data, data.len, &out), HSM_E_SW);
    ck_assert_uint_eq(hsm_card_last_sw(c), 0x6982);
    helper_card_login(c);
    EVP_PKEY *pub = gen_ec(c, 1, NID_X9_62_prime256v1);
    hsm_bytes fids = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_card_enumerate(c, &fids), HSM_OK);
    ck_assert(has_fid(&fids, 0xCC01));
    ck_assert(has_fid(&fids, 0xCE01));
    const uint8_t msg[] = "hello card";
    uint8_t hash[32];
    unsigned int hl = 0;
    ck_assert(EVP_Digest(msg, sizeof(msg), hash, &hl, EVP_sha256(), NULL));
    ck_assert_int_eq(hsm_card_sign(c, 1, HSM_ALG_ECDSA, hash, 32, &out), HSM_OK);
    ck_assert_int_eq(hsm_ecdsa_der_normalize(out.data, out.len, &der), HSM_OK);
    ck_assert(verify_sig(pub, "SHA256", msg, sizeof(msg), der.data, der.len));
    /* card-side hashing */
    ck_assert_int_eq(hsm_card_sign(c, 1, HSM_ALG_ECDSA_SHA256, msg, sizeof(msg), &out), HSM_OK);
    ck_assert_int_eq(hsm_ecdsa_der_normalize(out.data, out.len, &der), HSM_OK);
    ck_assert(verify_sig(pub, "SHA256", msg, sizeof(msg), der.data, der.len));
    /* missing key */
    ck_assert_int_eq(hsm_card_sign(c, 9, HSM_ALG_ECDSA, hash, 32, &out), HSM_E_NOT_FOUND);
    /* ECDH returns 04||X||Y: X agrees with the host's computation */
    EVP_PKEY *peer = EVP_PKEY_Q_keygen(hsm_libctx(), NULL, "EC", "P-256");
    uint8_t pt[65];
    size_t ptl = 0;
    ck_assert(EVP_PKEY_get_octet_string_param(peer, "encoded-pub-key", pt, sizeof(pt), &ptl));
    ck_assert_int_eq(hsm_card_decipher(c, 1, HSM_ALG_ECDH, pt, ptl, &out), HSM_OK);
    EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), peer, NULL);
    uint8_t secret[32];
    size_t sl = sizeof(secret);
    ck_assert(EVP_PKEY_derive_init(dc) == 1 && EVP_PKEY_derive_set_peer(dc, pub) == 1 &&
              EVP_PKEY_derive(dc, secret, &sl) == 1);
    ck_assert_uint_ge(out.len, 33);
    ck_assert_mem_eq(out.data + 1, secret, 32);
    EVP_PKEY_CTX_free(dc);
    EVP_PKEY_free(peer);
    /* delete the key */
    ck_assert_int_eq(hsm_card_delete_file(c, 0xCC01), HSM_OK);
    ck_assert_int_eq(hsm_card_sign(c, 1, HSM_ALG_ECDSA, hash, 32, &out), HSM_E_NOT_FOUND);
    EVP_PKEY_free(pub);
    hsm_bytes_free(&data);
    hsm_bytes_free(&out);
    hsm_bytes_free(&der);
    hsm_bytes_free(&fids);
    hsm_card_end(c);
    hsm_card_free(c);
}
END_TEST

START_TEST(rsa_sign_decipher)
{
    hsm_card *c = helper_card_ready("card-rsa");
    helper_trace_on("card");
    EVP_PKEY *pub = gen_rsa(c, 2, 2048);
    ck_assert_int_eq(helper_trace_count("apdu> 00 46 02 00"), 1);
    const uint8_t msg[] = "rsa message";
    hsm_bytes out = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_card_sign(c, 2, HSM_ALG_RSA_PKCS1_SHA256, msg, sizeof(msg), &out), HSM_OK);
    ck_assert_uint_eq(out.len, 256);
    ck_assert(verify_sig(pub, "SHA256", msg, sizeof(msg), out.data, out.len));
    /* raw decryption of a PKCS#1 v1.5 cryptogram: padding comes back */
    EVP_PKEY_CTX *ec = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), pub, NULL);
    uint8_t ct[256];
    size_t cl = sizeof(ct);
    ck_assert(EVP_PKEY_encrypt_init(ec) == 1 && EVP_PKEY_encrypt(ec, ct, &cl, (const uint8_t *)"secret", 6) == 1);
    ck_assert_int_eq(hsm_card_decipher(c, 2, HSM_ALG_RSA_DECRYPT_RAW, ct, cl, &out), HSM_OK);
    ck_assert_uint_eq(out.len, 256);
    ck_assert_uint_eq(out.data[0], 0);
    ck_assert_uint_eq(out.data[1], 2);
    ck_assert_mem_eq(out.data + 250, "secret", 6);
    EVP_PKEY_CTX_free(ec);
    EVP_PKEY_free(pub);
    hsm_bytes_free(&out);
    hsm_card_end(c);
    hsm_card_free(c);
}
END_TEST

START_TEST(sym_challenge)
{
    hsm_card *c = helper_card_ready("card-sym");
    const uint8_t algs[] = { 0x91, 0x01, 0x99 };
    ck_assert_int_eq(hsm_card_generate_sym(c, 3, 0xB2, algs, sizeof(algs)), HSM_OK);
    hsm_bytes fids = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_card_enumerate(c, &fids), HSM_OK);
    ck_assert(has_fid(&fids, 0xCC03));
    uint8_t r1[2000], r2[2000];
    memset(r1, 0, sizeof(r1));
    memset(r2, 0, sizeof(r2));
    ck_assert_int_eq(hsm_card_challenge(c, r1, sizeof(r1)), HSM_OK);
    ck_assert_int_eq(hsm_card_challenge(c, r2, sizeof(r2)), HSM_OK);
    ck_assert(memcmp(r1, r2, sizeof(r1)) != 0);
    ck_assert(memcmp(r1 + 1500, r2 + 1500, 32) != 0);
    hsm_bytes_free(&fids);
    hsm_card_end(c);
    hsm_card_free(c);
}
END_TEST

START_TEST(dkek_wrap_unwrap)
{
    hsm_card *c = helper_card_fresh("card-wrap");
    helper_card_begin(c);
    helper_card_init(c, 1);
    hsm_dkek_status st;
    ck_assert_int_eq(hsm_card_key_domain(c, 0, 0, NULL, 0, &st), HSM_OK);
    ck_assert_uint_eq(st.total, 1);
    ck_assert_uint_eq(st.missing, 1);
    uint8_t share[32];
    memset(share, 0x5A, sizeof(share));
    ck_assert_int_eq(hsm_card_key_domain(c, 0, 0, share, sizeof(share), &st), HSM_OK);
    ck_assert_uint_eq(st.missing, 0);
    uint8_t zero[8] = { 0 };
    ck_assert(memcmp(st.kcv, zero, 8) != 0);
    helper_card_login(c);
    EVP_PKEY *pub = gen_rsa(c, 1, 2048);
    hsm_bytes blob = HSM_BYTES_INIT, out = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_card_wrap(c, 1, &blob), HSM_OK);
    ck_assert_uint_gt(blob.len, 600);
    ck_assert_mem_eq(blob.data, st.kcv, 8);
    /* restore under another reference, through EF 2F10 staging (blob > max APDU) */
    hsm_card_set_max_apdu(c, 400);
    helper_trace_on("card");
    ck_assert_int_eq(hsm_card_unwrap(c, 5, blob.data, blob.len), HSM_OK);
    ck_assert_int_ge(helper_trace_count("apdu> 00 D7 2F 10"), 2);
    ck_assert_int_eq(helper_trace_count("apdu> 80 74 05 93 Lc=0"), 1);
    hsm_card_set_max_apdu(c, 1232);
    const uint8_t msg[] = "unwrapped";
    ck_assert_int_eq(hsm_card_sign(c, 5, HSM_ALG_RSA_PKCS1_SHA256, msg, sizeof(msg), &out), HSM_OK);
    ck_assert(verify_sig(pub, "SHA256", msg, sizeof(msg), out.data, out.len));
    /* and directly in the data field when it fits */
    ck_assert_int_eq(hsm_card_unwrap(c, 6, blob.data, blob.len), HSM_OK);
    ck_assert_int_eq(helper_trace_count("apdu> 80 74 06 93 Lc=0"), 0);
    ck_assert_int_eq(hsm_card_sign(c, 6, HSM_ALG_RSA_PKCS1_SHA256, msg, sizeof(msg), &out), HSM_OK);
    ck_assert(verify_sig(pub, "SHA256", msg, sizeof(msg), out.data, out.len));
    EVP_PKEY_free(pub);
    hsm_bytes_free(&blob);
    hsm_bytes_free(&out);
    hsm_card_end(c);
    hsm_card_free(c);
}
END_TEST

/* A scripted transport: answers 61xx chains and 6Cxx the way T=0 cards do. */
static int fake_step;
static int fake_transmit(hsm_transport *t, const uint8_t *cmd, size_t len, uint8_t *resp, size_t *rl)
{
    (void)t;
    (void)len;
    uint8_t ins = cmd[1];
    size_t n = 0;
    uint16_t sw;
    if (ins == 0x84 && cmd[4] != 0x10) {             /* wrong Le: say 6C10 */
        sw = 0x6C10;
    } else if (ins == 0x84) {                         /* right Le: 16 bytes, then 300 more waiting */
        memset(resp, 0xAA, 16);
        n = 16;
        sw = 0x6100;
    } else if (ins == 0xC0 && fake_step++ == 0) {
        memset(resp, 0xBB, 256);
        n = 256;
        sw = 0x612C;
    } else if (ins == 0xC0) {
        memset(resp, 0xCC, 44);
        n = 44;
        sw = 0x9000;
    } else {
        sw = 0x6D00;
    }
    resp[n] = (uint8_t)(sw >> 8);
    resp[n + 1] = (uint8_t)sw;
    *rl = n + 2;
    return HSM_OK;
}
static int fake_begin(hsm_transport *t) { (void)t; return HSM_OK; }
static void fake_end(hsm_transport *t) { (void)t; }
static void fake_close(hsm_transport *t) { (void)t; }
static const struct hsm_transport_ops fake_ops = { .transmit = fake_transmit, .begin = fake_begin,
                                                   .end = fake_end, .close = fake_close };

START_TEST(get_response_and_wrong_le)
{
    static hsm_transport ft = { .ops = &fake_ops, .reader = "fake" };
    hsm_card *c = NULL;
    ck_assert_int_eq(hsm_card_new(&ft, &c), HSM_OK);
    helper_trace_on("card");
    fake_step = 0;
    hsm_apdu a = { 0x00, 0x84, 0x00, 0x00, NULL, 0, 8 };
    hsm_bytes r = HSM_BYTES_INIT;
    uint16_t sw = 0;
    ck_assert_int_eq(hsm_card_transmit(c, &a, &r, &sw), HSM_OK);
    ck_assert_uint_eq(sw, 0x9000);
    ck_assert_uint_eq(r.len, 16 + 256 + 44);
    ck_assert_uint_eq(r.data[0], 0xAA);
    ck_assert_uint_eq(r.data[16], 0xBB);
    ck_assert_uint_eq(r.data[r.len - 1], 0xCC);
    ck_assert_int_eq(helper_trace_count("apdu> 00 84"), 2);        /* first try and the re-issue */
    ck_assert_int_eq(helper_trace_count("apdu> 00 C0"), 2);        /* both GET RESPONSEs traced */
    ck_assert_int_eq(helper_trace_count("apdu<"), 4);
    hsm_bytes_free(&r);
    hsm_card_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("card");
    TCase *tc = tcase_create("sim");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, select_and_pin_lifecycle);
    tcase_add_test(tc, files);
    tcase_add_test(tc, ec_keygen_sign);
    tcase_add_test(tc, rsa_sign_decipher);
    tcase_add_test(tc, sym_challenge);
    tcase_add_test(tc, dkek_wrap_unwrap);
    tcase_add_test(tc, get_response_and_wrong_le);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
