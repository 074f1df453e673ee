/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/apdu.h"
#include "hsm/rv.h"
#include "helper_run.h"

static uint8_t data[70000];

static void enc(const hsm_apdu *a, enum hsm_apdu_form f, const uint8_t *want_head, size_t head_len,
                size_t total, const uint8_t *want_tail, size_t tail_len)
{
    hsm_bytes b = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_apdu_encode(a, f, &b), HSM_OK);
    ck_assert_uint_eq(b.len, total);
    ck_assert_mem_eq(b.data, want_head, head_len);
    if (tail_len)
        ck_assert_mem_eq(b.data + b.len - tail_len, want_tail, tail_len);
    /* round trip through the card-side parser */
    hsm_apdu p;
    int ext = -1;
    ck_assert_int_eq(hsm_apdu_parse(b.data, b.len, &p, &ext), HSM_OK);
    ck_assert_uint_eq(p.cla, a->cla);
    ck_assert_uint_eq(p.ins, a->ins);
    ck_assert_uint_eq(p.lc, a->lc);
    ck_assert_uint_eq(p.le, a->le);
    if (a->lc)
        ck_assert_mem_eq(p.data, a->data, a->lc);
    hsm_bytes_free(&b);
}

START_TEST(short_cases)
{
    const uint8_t c1[] = { 0x00, 0x20, 0x00, 0x81 };
    hsm_apdu a1 = { 0x00, 0x20, 0x00, 0x81, NULL, 0, 0 };
    enc(&a1, HSM_APDU_AUTO, c1, 4, 4, NULL, 0);
    const uint8_t c2[] = { 0x00, 0x84, 0x00, 0x00, 0x00 };
    hsm_apdu a2 = { 0x00, 0x84, 0x00, 0x00, NULL, 0, 256 };
    enc(&a2, HSM_APDU_AUTO, c2, 5, 5, NULL, 0);
    const uint8_t c2b[] = { 0x00, 0x84, 0x00, 0x00, 0x08 };
    hsm_apdu a2b = { 0x00, 0x84, 0x00, 0x00, NULL, 0, 8 };
    enc(&a2b, HSM_APDU_AUTO, c2b, 5, 5, NULL, 0);
    const uint8_t c3[] = { 0x00, 0x20, 0x00, 0x81, 0x06, 0x31 };
    hsm_apdu a3 = { 0x00, 0x20, 0x00, 0x81, (const uint8_t *)"123456", 6, 0 };
    enc(&a3, HSM_APDU_AUTO, c3, 6, 11, NULL, 0);
    const uint8_t c4[] = { 0x00, 0xA4, 0x04, 0x04, 0xFF };
    const uint8_t t4[] = { 0x00 };
    hsm_apdu a4 = { 0x00, 0xA4, 0x04, 0x04, data, 255, 256 };
    enc(&a4, HSM_APDU_AUTO, c4, 5, 4 + 1 + 255 + 1, t4, 1);
}
END_TEST

START_TEST(extended_cases)
{
    const uint8_t c2[] = { 0x80, 0x58, 0x00, 0x00, 0x00, 0x00, 0x00 };
    hsm_apdu a2 = { 0x80, 0x58, 0x00, 0x00, NULL, 0, HSM_LE_MAX };
    enc(&a2, HSM_APDU_AUTO, c2, 7, 7, NULL, 0);
    const uint8_t c2b[] = { 0x00, 0x84, 0x00, 0x00, 0x00, 0x01, 0x2C };
    hsm_apdu a2b = { 0x00, 0x84, 0x00, 0x00, NULL, 0, 300 };
    enc(&a2b, HSM_APDU_AUTO, c2b, 7, 7, NULL, 0);
    const uint8_t c3[] = { 0x00, 0xD7, 0xC4, 0x01, 0x00, 0x01, 0x00 };
    hsm_apdu a3 = { 0x00, 0xD7, 0xC4, 0x01, data, 256, 0 };
    enc(&a3, HSM_APDU_AUTO, c3, 7, 7 + 256, NULL, 0);
    const uint8_t c4[] = { 0x80, 0x68, 0x01, 0x20, 0x00, 0xFF, 0xFF };
    const uint8_t t4[] = { 0x00, 0x00 };
    hsm_apdu a4 = { 0x80, 0x68, 0x01, 0x20, data, 65535, HSM_LE_MAX };
    enc(&a4, HSM_APDU_AUTO, c4, 7, 7 + 65535 + 2, t4, 2);
    /* forced extended for small values */
    const uint8_t f4[] = { 0x80, 0x68, 0x01, 0x70, 0x00, 0x00, 0x20 };
    const uint8_t ft4[] = { 0x00, 0x40 };
    hsm_apdu a5 = { 0x80, 0x68, 0x01, 0x70, data, 32, 64 };
    enc(&a5, HSM_APDU_EXTENDED, f4, 7, 7 + 32 + 2, ft4, 2);
    /* case 1 stays case 1 even when extended is asked for */
    const uint8_t c1[] = { 0x00, 0x20, 0x00, 0x81 };
    hsm_apdu a1 = { 0x00, 0x20, 0x00, 0x81, NULL, 0, 0 };
    enc(&a1, HSM_APDU_EXTENDED, c1, 4, 4, NULL, 0);
}
END_TEST

START_TEST(bad_args)
{
    hsm_bytes b = HSM_BYTES_INIT;
    hsm_apdu a = { 0, 0xD7, 0, 0, data, 65536, 0 };
    ck_assert_int_eq(hsm_apdu_encode(&a, HSM_APDU_AUTO, &b), HSM_E_ARGS);
    hsm_apdu c = { 0, 0xB1, 0, 0, NULL, 0, 65537 };
    ck_assert_int_eq(hsm_apdu_encode(&c, HSM_APDU_AUTO, &b), HSM_E_ARGS);
    hsm_apdu d = { 0, 0xD7, 0, 0, NULL, 5, 0 };
    ck_assert_int_eq(hsm_apdu_encode(&d, HSM_APDU_AUTO, &b), HSM_E_ARGS);
    hsm_bytes_free(&b);
}
END_TEST

START_TEST(parse_malformed)
{
    hsm_apdu p;
    int ext;
    const uint8_t short3[] = { 0x00, 0xA4, 0x04 };
    ck_assert_int_eq(hsm_apdu_parse(short3, sizeof(short3), &p, &ext), HSM_E_PARSE);
    const uint8_t lc_too_big[] = { 0x00, 0x20, 0x00, 0x81, 0x06, 0x31, 0x32 };
    ck_assert_int_eq(hsm_apdu_parse(lc_too_big, sizeof(lc_too_big), &p, &ext), HSM_E_PARSE);
    const uint8_t lc_extra[] = { 0x00, 0x20, 0x00, 0x81, 0x01, 0x31, 0x32, 0x33 };
    ck_assert_int_eq(hsm_apdu_parse(lc_extra, sizeof(lc_extra), &p, &ext), HSM_E_PARSE);
    const uint8_t ext_lc0[] = { 0x00, 0xD7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 };
    ck_assert_int_eq(hsm_apdu_parse(ext_lc0, sizeof(ext_lc0), &p, &ext), HSM_E_PARSE);
    const uint8_t ext_cut[] = { 0x00, 0xD7, 0x00, 0x00, 0x00, 0x00, 0x05, 0x01, 0x02 };
    ck_assert_int_eq(hsm_apdu_parse(ext_cut, sizeof(ext_cut), &p, &ext), HSM_E_PARSE);
    const uint8_t ext_two[] = { 0x00, 0xB1, 0x00, 0x00, 0x00, 0x00 };
    ck_assert_int_eq(hsm_apdu_parse(ext_two, sizeof(ext_two), &p, &ext), HSM_E_PARSE);
    const uint8_t ok_ext_le[] = { 0x00, 0xB1, 0x00, 0x00, 0x00, 0x00, 0x00 };
    ck_assert_int_eq(hsm_apdu_parse(ok_ext_le, sizeof(ok_ext_le), &p, &ext), HSM_OK);
    ck_assert_int_eq(ext, 1);
    ck_assert_uint_eq(p.le, HSM_LE_MAX);
    const uint8_t ok_short_le[] = { 0x00, 0xB0, 0x00, 0x00, 0x00 };
    ck_assert_int_eq(hsm_apdu_parse(ok_short_le, sizeof(ok_short_le), &p, &ext), HSM_OK);
    ck_assert_int_eq(ext, 0);
    ck_assert_uint_eq(p.le, 256);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("apdu");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, short_cases);
    tcase_add_test(tc, extended_cases);
    tcase_add_test(tc, bad_args);
    tcase_add_test(tc, parse_malformed);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
