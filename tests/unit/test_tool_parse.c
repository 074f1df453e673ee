/* SPDX-License-Identifier: Apache-2.0 */
/* schsm-tool's input validation and JSON writer. The tool's sources are compiled into this test
 * directly: they are not part of a library. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/obj_mac.h>

#include "tools/json.c"
#include "tools/parse.c"
#include "hsm/algs.h"
#include "helper_run.h"

static char why[512];

START_TEST(so_pin)
{
    uint8_t so[8];
    static const uint8_t want[8] = { 0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30 };
    ck_assert_int_eq(tool_parse_so_pin("3537363231383830", so, why, sizeof(why)), HSM_OK);
    ck_assert_mem_eq(so, want, 8);
    ck_assert_int_eq(tool_parse_so_pin("AbCdEf0123456789", so, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(so[0], 0xAB);
    ck_assert_int_eq(tool_parse_so_pin("353736323138383", so, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_so_pin("35373632313838300", so, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_so_pin("353736323138388g", so, why, sizeof(why)), HSM_E_ARGS);
    /* the message describes the shape, never the value */
    ck_assert_ptr_null(strstr(why, "353736323138388g"));
    ck_assert_ptr_nonnull(strstr(why, "16 hex digits"));
}
END_TEST

START_TEST(pin_rules)
{
    ck_assert_int_eq(tool_check_pin(5, "PIN", why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_check_pin(6, "PIN", why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(tool_check_pin(16, "PIN", why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(tool_check_pin(17, "PIN", why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_check_retries(3, 6, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(tool_check_retries(4, 6, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_check_retries(5, 7, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(tool_check_retries(6, 7, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_check_retries(10, 8, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(tool_check_retries(11, 16, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_check_retries(0, 8, why, sizeof(why)), HSM_E_ARGS);
}
END_TEST

START_TEST(numbers)
{
    long v = -1;
    ck_assert_int_eq(tool_parse_uint("3", 1, 10, &v), HSM_OK);
    ck_assert_int_eq(v, 3);
    ck_assert_int_eq(tool_parse_uint("0", 1, 10, &v), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_uint("11", 1, 10, &v), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_uint("-1", 0, 10, &v), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_uint("3x", 0, 10, &v), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_uint("", 0, 10, &v), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_uint(" 3", 0, 10, &v), HSM_E_ARGS);
}
END_TEST

START_TEST(keytypes)
{
    tool_keytype kt;
    ck_assert_int_eq(tool_parse_keytype("ec:prime256v1", &kt, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(kt.type, HSM_KEY_EC);
    ck_assert_int_eq(kt.ec_nid, NID_X9_62_prime256v1);
    ck_assert_int_eq(tool_parse_keytype("ec:P-256", &kt, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(kt.ec_nid, NID_X9_62_prime256v1);
    ck_assert_int_eq(tool_parse_keytype("ec:brainpoolP384r1", &kt, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(kt.ec_nid, NID_brainpoolP384r1);
    ck_assert_int_eq(tool_parse_keytype("ec:secp256k1", &kt, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(tool_parse_keytype("ec:prime999v9", &kt, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_ptr_nonnull(strstr(why, "prime256v1"));
    ck_assert_int_eq(tool_parse_keytype("rsa:2048", &kt, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(kt.type, HSM_KEY_RSA);
    ck_assert_int_eq(kt.rsa_bits, 2048);
    ck_assert_int_eq(tool_parse_keytype("rsa:1536", &kt, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(tool_parse_keytype("rsa:2000", &kt, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_keytype("rsa:8192", &kt, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_keytype("rsa:", &kt, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_keytype("aes:256", &kt, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(kt.type, HSM_KEY_AES);
    ck_assert_int_eq(kt.rsa_bits, 256);
    ck_assert_int_eq(tool_parse_keytype("aes:64", &kt, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_keytype("dsa:2048", &kt, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_keytype("prime256v1", &kt, why, sizeof(why)), HSM_E_ARGS);
}
END_TEST

START_TEST(algorithms)
{
    uint8_t a[16];
    size_t n = 0;
    ck_assert_int_eq(hsm_alg_parse_list("ecdsa,ecdh", HSM_KEY_EC, a, &n, why, sizeof(why)), HSM_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(a[0], 0x70);
    ck_assert_int_eq(a[1], 0x80);
    ck_assert_int_eq(hsm_alg_parse_list(" ecdsa-sha256 , wrap", HSM_KEY_EC, a, &n, why, sizeof(why)), HSM_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(a[0], 0x73);
    ck_assert_int_eq(a[1], 0x92);
    ck_assert_int_eq(hsm_alg_parse_list("70,0x73", HSM_KEY_EC, a, &n, why, sizeof(why)), HSM_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(a[1], 0x73);
    ck_assert_int_eq(hsm_alg_parse_list("2130", HSM_KEY_RSA, a, &n, why, sizeof(why)), HSM_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(a[0], 0x21);
    ck_assert_int_eq(a[1], 0x30);
    ck_assert_int_eq(hsm_alg_parse_list("rsa-pss,rsa-decrypt", HSM_KEY_RSA, a, &n, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(a[0], 0x40);
    ck_assert_int_eq(a[1], 0x21);
    ck_assert_int_eq(hsm_alg_parse_list("rsa-pss", HSM_KEY_EC, a, &n, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(hsm_alg_parse_list("ecdh", HSM_KEY_RSA, a, &n, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(hsm_alg_parse_list("aes-cmac,derive-sym", HSM_KEY_AES, a, &n, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(a[0], 0x18);
    ck_assert_int_eq(a[1], 0x99);
    ck_assert_int_eq(hsm_alg_parse_list("ecdsa", HSM_KEY_AES, a, &n, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(hsm_alg_parse_list("bogus", HSM_KEY_EC, a, &n, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(hsm_alg_parse_list("", HSM_KEY_EC, a, &n, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(hsm_alg_parse_list("ecdsa,,ecdh", HSM_KEY_EC, a, &n, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(hsm_alg_parse_list("7", HSM_KEY_EC, a, &n, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(hsm_alg_parse_list("000102030405060708090a0b0c0d0e0f10", HSM_KEY_EC, a, &n, why,
                                           sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(hsm_alg_parse_list("000102030405060708090a0b0c0d0e0f", HSM_KEY_EC, a, &n, why,
                                           sizeof(why)), HSM_OK);
    ck_assert_uint_eq(n, 16);
    /* duplicates collapse */
    ck_assert_int_eq(hsm_alg_parse_list("ecdsa,70", HSM_KEY_EC, a, &n, why, sizeof(why)), HSM_OK);
    ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(ids)
{
    uint8_t id[4];
    size_t n = 0;
    ck_assert_int_eq(tool_parse_id("01", id, sizeof(id), &n, why, sizeof(why)), HSM_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(id[0], 1);
    ck_assert_int_eq(tool_parse_id("a1:B2", id, sizeof(id), &n, why, sizeof(why)), HSM_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(id[1], 0xB2);
    ck_assert_int_eq(tool_parse_id("zz", id, sizeof(id), &n, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_id("abc", id, sizeof(id), &n, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_id("", id, sizeof(id), &n, why, sizeof(why)), HSM_E_ARGS);
    ck_assert_int_eq(tool_parse_id("0102030405", id, sizeof(id), &n, why, sizeof(why)), HSM_E_ARGS);
}
END_TEST

static char *render(void (*fn)(tool_json *))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    tool_json j;
    tool_json_init(&j, f);
    fn(&j);
    fclose(f);
    return buf;
}

static void doc_nested(tool_json *j)
{
    tool_json_begin_object(j);
    tool_json_key(j, "a");
    tool_json_int(j, -5);
    tool_json_key(j, "s");
    tool_json_string(j, "q\"b\\n\n\x01\x7f\xc3\xa9");
    tool_json_key(j, "arr");
    tool_json_begin_array(j);
    tool_json_bool(j, 1);
    tool_json_null(j);
    tool_json_begin_object(j);
    tool_json_end_object(j);
    tool_json_end_array(j);
    tool_json_key(j, "e");
    tool_json_begin_array(j);
    tool_json_end_array(j);
    tool_json_end_object(j);
    tool_json_finish(j);
}

START_TEST(json_output)
{
    char *s = render(doc_nested);
    const char *want = "{\n"
                       "  \"a\": -5,\n"
                       "  \"s\": \"q\\\"b\\\\n\\n\\u0001\\u007f\xc3\xa9\",\n"
                       "  \"arr\": [\n"
                       "    true,\n"
                       "    null,\n"
                       "    {}\n"
                       "  ],\n"
                       "  \"e\": []\n"
                       "}\n";
    ck_assert_str_eq(s, want);
    free(s);
}
END_TEST

static void doc_array(tool_json *j)
{
    tool_json_begin_array(j);
    tool_json_string(j, NULL);
    tool_json_string_n(j, "ab\0c", 4);
    tool_json_end_array(j);
    tool_json_finish(j);
}

START_TEST(json_array)
{
    char *s = render(doc_array);
    ck_assert_str_eq(s, "[\n  null,\n  \"ab\\u0000c\"\n]\n");
    free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tool_parse");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, so_pin);
    tcase_add_test(tc, pin_rules);
    tcase_add_test(tc, numbers);
    tcase_add_test(tc, keytypes);
    tcase_add_test(tc, algorithms);
    tcase_add_test(tc, ids);
    tcase_add_test(tc, json_output);
    tcase_add_test(tc, json_array);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
