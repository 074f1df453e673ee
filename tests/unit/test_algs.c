/* SPDX-License-Identifier: Apache-2.0 */
/* Algorithm-list names (hsm/algs.c): aliases, display, and the list in a key file's FCP. */
#include <check.h>
#include <string.h>

#include "hsm/algs.h"
#include "hsm/bytes.h"
#include "hsm/rv.h"
#include "helper_run.h"

START_TEST(aliases)
{
    uint8_t a[HSM_ALGS_MAX];
    size_t n = 0;
    char why[256];
    ck_assert_int_eq(hsm_alg_parse_list("decrypt,rsa-decrypt-pkcs1,rsa-oaep,rsa-pkcs1-sha256,rsa-pss-sha512,wrap",
                                        HSM_KEY_RSA, a, &n, why, sizeof(why)), HSM_OK);
    ck_assert_uint_eq(n, 6);
    static const uint8_t want[] = { 0x21, 0x22, 0x23, 0x33, 0x45, 0x92 };
    ck_assert_mem_eq(a, want, sizeof(want));
    ck_assert_int_eq(hsm_alg_parse_list("ECDSA-SHA1,ecdh,ecdsa-sha512", HSM_KEY_EC, a, &n, why, sizeof(why)), HSM_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(a[0], 0x71);
    ck_assert_uint_eq(a[2], 0x75);
    ck_assert_int_eq(hsm_alg_parse_list("rsa-oaep", HSM_KEY_EC, a, &n, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_ptr_nonnull(strstr(why, "does not fit an EC key"));
    ck_assert_int_eq(hsm_alg_parse_list("ecdsa256", HSM_KEY_EC, a, &n, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_ptr_nonnull(strstr(why, "unknown algorithm 'ecdsa256'"));
}
END_TEST

START_TEST(display)
{
    static const uint8_t ids[] = { 0x73, 0x80, 0x21, 0x5A };
    char buf[128];
    hsm_alg_list_text(ids, sizeof(ids), buf, sizeof(buf));
    ck_assert_str_eq(buf, "ecdsa-sha256, ecdh, rsa-decrypt, 5a");
    hsm_alg_list_hex(ids, sizeof(ids), buf, sizeof(buf));
    ck_assert_str_eq(buf, "73 80 21 5A");
    hsm_alg_list_text(ids, 0, buf, sizeof(buf));
    ck_assert_str_eq(buf, "");
    /* a short buffer is cut, never overrun */
    hsm_alg_list_text(ids, sizeof(ids), buf, 8);
    ck_assert_uint_lt(strlen(buf), 8);
    ck_assert_str_eq(hsm_alg_name(0x92), "wrap");
    ck_assert_ptr_null(hsm_alg_name(0x01));
}
END_TEST

START_TEST(from_fcp)
{
    hsm_alg_list l;
    hsm_bytes b = HSM_BYTES_INIT;
    /* 62 { 82 01 01, 83 02 CC01, A5 { 91 02 73 92, 92 01 00 } } */
    ck_assert_int_eq(hsm_hex_decode("6210 820101 8302CC01 A507 91027392 920100", &b), HSM_OK);
    ck_assert_int_eq(hsm_alg_list_from_fcp(b.data, b.len, &l), HSM_OK);
    ck_assert(l.known && l.restricted);
    ck_assert_uint_eq(l.n, 2);
    ck_assert(hsm_alg_list_allows(&l, 0x73));
    ck_assert(!hsm_alg_list_allows(&l, 0x70));
    /* no 91: every algorithm */
    ck_assert_int_eq(hsm_hex_decode("620C 820101 8302CC01 A503 920100", &b), HSM_OK);
    ck_assert_int_eq(hsm_alg_list_from_fcp(b.data, b.len, &l), HSM_OK);
    ck_assert(l.known && !l.restricted);
    ck_assert(hsm_alg_list_allows(&l, 0x70));
    /* not an FCP, or cut short */
    ck_assert_int_ne(hsm_alg_list_from_fcp(b.data, 5, &l), HSM_OK);
    ck_assert_int_ne(hsm_alg_list_from_fcp((const uint8_t *)"\x6F\x00", 2, &l), HSM_OK);
    ck_assert(hsm_alg_list_allows(NULL, 0x70));
    hsm_bytes_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("algs");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, aliases);
    tcase_add_test(tc, display);
    tcase_add_test(tc, from_fcp);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
