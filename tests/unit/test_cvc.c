/* SPDX-License-Identifier: Apache-2.0 */
/* CVC parser, builders and checks, against the real production root certificate and the GAKP
 * examples of the protocol sheet (sections 7.1 and 14.4). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include "hsm/bytes.h"
#include "hsm/crypto.h"
#include "hsm/cvc.h"
#include "hsm/rv.h"
#include "helper_run.h"

static const char *ROOT_HEX =
    "7F218201B47F4E82016C5F290100420E44455352434143433130303030317F4982011D060A04007F0007"
    "02020202038120A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377822"
    "07D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9832026DC5C6CE94A4B"
    "44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B68441048BD2AEB9CB7E57CB2C4B482FFC81"
    "B7AFB9DE27E1E3BD23C23A4453BD9ACE3262547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E54"
    "5C1D54C72F0469978520A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7"
    "8641046D025A8026CDBA245F10DF1B72E9880FFF746DAB40A43A3D5C6BEBF27707C30F6DEA72430EE328"
    "7B0665C1EAA6EAA4FA26C46303001983F82BD1AA31E03DA0628701015F200E4445535243414343313030"
    "3030317F4C10060B2B0601040181C31F0301015301C05F25060102010100095F24060302010100085F3740"
    "9DBB382B1711D2BAACB0C623D40C6267D0B52BA455C01F56333DC9554810B9B2878DAF9EC3ADA19C7B06"
    "5D780D6C9C3C2ECEDFD78DEB18AF40778ADF89E861CA";

static hsm_bytes root;

static void setup(void)
{
    hsm_bytes z = HSM_BYTES_INIT;
    root = z;
    ck_assert_int_eq(hsm_hex_decode(ROOT_HEX, &root), HSM_OK);
    ck_assert_uint_eq(root.len, 441);
}

static void teardown(void)
{
    hsm_bytes_free(&root);
}

START_TEST(production_root_self_signed)
{
    hsm_cvc c;
    char ref[32];
    ck_assert_int_eq(hsm_cvc_parse(root.data, root.len, &c, NULL), HSM_OK);
    ck_assert_int_eq(c.authenticated, 0);
    hsm_cvc_ref_string(&c.car, ref, sizeof(ref));
    ck_assert_str_eq(ref, "DESRCACC100001");
    hsm_cvc_ref_string(&c.chr, ref, sizeof(ref));
    ck_assert_str_eq(ref, "DESRCACC100001");
    ck_assert_int_eq(hsm_cvc_curve_nid(&c), NID_brainpoolP256r1);
    ck_assert_uint_eq(c.signature.len, 64);
    ck_assert_uint_eq(c.chat.len, 16);
    ck_assert_uint_eq(c.effective.len, 6);
    ck_assert_uint_eq(c.effective.val[0] * 10 + c.effective.val[1], 12);   /* 2012 */
    EVP_PKEY *k = NULL;
    ck_assert_int_eq(hsm_cvc_public_key(&c, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_cvc_verify(&c, k), HSM_OK);
    /* The embedded production root key is the one in the certificate. */
    EVP_PKEY *r = hsm_cvc_root_key("DESRCACC100001");
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(EVP_PKEY_eq(k, r), 1);
    ck_assert_int_eq(hsm_cvc_verify(&c, r), HSM_OK);
    EVP_PKEY_free(k);
    EVP_PKEY_free(r);
}
END_TEST

START_TEST(tampered_root_fails)
{
    hsm_cvc c;
    EVP_PKEY *r = hsm_cvc_root_key("DESRCACC100001");
    root.data[40] ^= 0x01;   /* inside the body */
    ck_assert_int_eq(hsm_cvc_parse(root.data, root.len, &c, NULL), HSM_OK);
    ck_assert_int_eq(hsm_cvc_verify(&c, r), HSM_E_VERIFY);
    root.data[40] ^= 0x01;
    root.data[root.len - 1] ^= 0x80;   /* in the signature */
    ck_assert_int_eq(hsm_cvc_parse(root.data, root.len, &c, NULL), HSM_OK);
    ck_assert_int_eq(hsm_cvc_verify(&c, r), HSM_E_VERIFY);
    /* the test root's key does not verify the production root */
    root.data[root.len - 1] ^= 0x80;
    EVP_PKEY *t = hsm_cvc_root_key("UTSRCACC100001");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(hsm_cvc_verify(&c, t), HSM_E_VERIFY);
    ck_assert_ptr_null(hsm_cvc_root_key("XXSRCACC100001"));
    EVP_PKEY_free(r);
    EVP_PKEY_free(t);
}
END_TEST

START_TEST(truncated_and_malformed)
{
    hsm_cvc c;
    for (size_t n = 0; n < root.len; n++)
        ck_assert_int_ne(hsm_cvc_parse(root.data, n, &c, NULL), HSM_OK);
    /* trailing bytes only with rest */
    hsm_bytes_put_u8(&root, 0x00);
    ck_assert_int_eq(hsm_cvc_parse(root.data, root.len, &c, NULL), HSM_E_PARSE);
    const uint8_t *rest = NULL;
    ck_assert_int_eq(hsm_cvc_parse(root.data, root.len, &c, &rest), HSM_OK);
    ck_assert_ptr_eq(rest, root.data + 441);
    /* wrong outer tag */
    root.data[1] = 0x22;
    ck_assert_int_eq(hsm_cvc_parse(root.data, 441, &c, NULL), HSM_E_PARSE);
    /* 67 wrapper around a certificate without outer CAR and signature */
    hsm_bytes w = HSM_BYTES_INIT;
    root.data[1] = 0x21;
    hsm_tlv_put(&w, 0x67, root.data, 441);
    ck_assert_int_eq(hsm_cvc_parse(w.data, w.len, &c, NULL), HSM_E_PARSE);
    hsm_bytes_free(&w);
    ck_assert_int_eq(hsm_cvc_parse(NULL, 0, &c, NULL), HSM_E_ARGS);
    /* body without 7F49 */
    const uint8_t nopk[] = { 0x7F, 0x21, 0x0C, 0x7F, 0x4E, 0x05, 0x5F, 0x20, 0x02, 0x41, 0x42, 0x5F, 0x37, 0x01, 0x00 };
    ck_assert_int_eq(hsm_cvc_parse(nopk, sizeof(nopk), &c, NULL), HSM_E_PARSE);
}
END_TEST

START_TEST(gakp_matches_sheet_examples)
{
    static const char *EC_HEX =
        "5F290100420955544341303030303" "17F4981DA060A04007F00070202020203"
        "8120FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF"
        "8220FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC"
        "83205AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B"
        "8441046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"
        "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5"
        "8520FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"
        "870101" "5F200C555444554D4D593030303031";
    static const char *RSA_HEX =
        "5F2901004209555443413030303031" "7F4915060A04007F00070202020102820301000102020800"
        "5F200C555444554D4D593030303031";
    hsm_bytes want = HSM_BYTES_INIT, got = HSM_BYTES_INIT;
    hsm_gakp_params p = { NID_X9_62_prime256v1, 0, "UTCA00001", "UTDUMMY00001", NULL, NULL, 0, -1, 0 };
    ck_assert_int_eq(hsm_hex_decode(EC_HEX, &want), HSM_OK);
    ck_assert_uint_eq(want.len, 252);
    ck_assert_int_eq(hsm_cvc_build_gakp(&p, &got), HSM_OK);
    ck_assert_uint_eq(got.len, want.len);
    ck_assert_mem_eq(got.data, want.data, want.len);
    hsm_bytes_clear(&want);
    hsm_bytes_clear(&got);
    hsm_gakp_params r = { 0, 2048, "UTCA00001", "UTDUMMY00001", NULL, NULL, 0, -1, 0 };
    ck_assert_int_eq(hsm_hex_decode(RSA_HEX, &want), HSM_OK);
    ck_assert_uint_eq(want.len, 54);
    ck_assert_int_eq(hsm_cvc_build_gakp(&r, &got), HSM_OK);
    ck_assert_uint_eq(got.len, want.len);
    ck_assert_mem_eq(got.data, want.data, want.len);
    /* meta data tags follow */
    hsm_bytes_clear(&got);
    const uint8_t algs[] = { 0x73, 0x80 };
    hsm_gakp_params m = { NID_secp384r1, 0, NULL, "UTDUMMY00001", NULL, algs, 2, 1, 7 };
    ck_assert_int_eq(hsm_cvc_build_gakp(&m, &got), HSM_OK);
    const uint8_t tail[] = { 0x90, 0x04, 0x00, 0x00, 0x00, 0x07, 0x91, 0x02, 0x73, 0x80, 0x92, 0x01, 0x01 };
    ck_assert_mem_eq(got.data + got.len - sizeof(tail), tail, sizeof(tail));
    hsm_bytes_free(&want);
    hsm_bytes_free(&got);
}
END_TEST

static EVP_PKEY *gen(const char *type, const char *param)
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(hsm_libctx(), type, NULL);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_gt(EVP_PKEY_keygen_init(ctx), 0);
    if (strcmp(type, "EC") == 0)
        ck_assert_int_gt(EVP_PKEY_CTX_set_group_name(ctx, param), 0);
    else
        ck_assert_int_gt(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, atoi(param)), 0);
    ck_assert_int_gt(EVP_PKEY_keygen(ctx, &k), 0);
    EVP_PKEY_CTX_free(ctx);
    return k;
}

START_TEST(build_sign_verify_chain)
{
    static const uint8_t eff[6] = { 2, 4, 0, 1, 0, 1 }, exp[6] = { 3, 4, 0, 1, 0, 1 };
    EVP_PKEY *ca = gen("EC", "brainpoolP256r1"), *holder = gen("EC", "secp521r1"), *rsa = gen("RSA", "1024");
    hsm_bytes cert = HSM_BYTES_INIT;
    hsm_cvc c;
    EVP_PKEY *pub = NULL;
    ck_assert_int_eq(hsm_cvc_build_cert("UTCA00001", holder, 1, "UTHOLDER00001", 0x00, eff, exp, ca, &cert), HSM_OK);
    ck_assert_int_eq(hsm_cvc_parse(cert.data, cert.len, &c, NULL), HSM_OK);
    ck_assert_int_eq(hsm_cvc_curve_nid(&c), NID_secp521r1);
    ck_assert_uint_eq(c.signature.len, 64);   /* signed by the 256-bit CA: r||s */
    ck_assert_int_eq(hsm_cvc_verify(&c, ca), HSM_OK);
    ck_assert_int_eq(hsm_cvc_verify(&c, holder), HSM_E_VERIFY);
    ck_assert_int_eq(hsm_cvc_public_key(&c, 0, &pub), HSM_OK);
    ck_assert_int_eq(EVP_PKEY_eq(pub, holder), 1);
    EVP_PKEY_free(pub);
    /* without domain parameters the curve must be inherited */
    hsm_bytes_clear(&cert);
    ck_assert_int_eq(hsm_cvc_build_cert("UTCA00001", holder, 0, "UTHOLDER00001", 0x00, eff, exp, rsa, &cert), HSM_OK);
    ck_assert_int_eq(hsm_cvc_parse(cert.data, cert.len, &c, NULL), HSM_OK);
    ck_assert_int_eq(hsm_cvc_curve_nid(&c), 0);
    ck_assert_int_eq(hsm_cvc_public_key(&c, 0, &pub), HSM_E_UNSUPPORTED);
    ck_assert_int_eq(hsm_cvc_public_key(&c, NID_brainpoolP256r1, &pub), HSM_E_PARSE);   /* wrong size */
    ck_assert_int_eq(hsm_cvc_public_key(&c, NID_secp521r1, &pub), HSM_OK);
    ck_assert_uint_eq(c.signature.len, 128);   /* RSA-1024 PKCS#1 v1.5 */
    ck_assert_int_eq(hsm_cvc_verify(&c, rsa), HSM_OK);
    EVP_PKEY_free(pub);
    /* RSA holder */
    hsm_bytes_clear(&cert);
    ck_assert_int_eq(hsm_cvc_build_cert("UTCA00001", rsa, 1, "UTRSA00001", 0x00, eff, exp, ca, &cert), HSM_OK);
    ck_assert_int_eq(hsm_cvc_parse(cert.data, cert.len, &c, NULL), HSM_OK);
    ck_assert_int_eq(hsm_cvc_public_key(&c, 0, &pub), HSM_OK);
    ck_assert_int_eq(EVP_PKEY_eq(pub, rsa), 1);
    ck_assert_int_eq(hsm_cvc_verify(&c, ca), HSM_OK);
    EVP_PKEY_free(pub);
    hsm_bytes_free(&cert);
    EVP_PKEY_free(ca);
    EVP_PKEY_free(holder);
    EVP_PKEY_free(rsa);
}
END_TEST

START_TEST(point_not_on_curve_rejected)
{
    uint8_t q[65];
    EVP_PKEY *k = NULL;
    memset(q, 0x11, sizeof(q));
    q[0] = 0x04;
    ck_assert_int_eq(hsm_cvc_ec_public_key(NID_X9_62_prime256v1, q, sizeof(q), &k), HSM_E_PARSE);
    ck_assert_ptr_null(k);
    ck_assert_int_eq(hsm_cvc_ec_public_key(NID_X9_62_prime256v1, q, 33, &k), HSM_E_PARSE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cvc");
    TCase *tc = tcase_create("cvc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, production_root_self_signed);
    tcase_add_test(tc, tampered_root_fails);
    tcase_add_test(tc, truncated_and_malformed);
    tcase_add_test(tc, gakp_matches_sheet_examples);
    tcase_add_test(tc, build_sign_verify_chain);
    tcase_add_test(tc, point_not_on_curve_rejected);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
