/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/rv.h"
#include "hsm/tlv.h"
#include "helper_run.h"

static int next1(const uint8_t *b, size_t n, hsm_tlv *t)
{
    const uint8_t *p = b;
    return hsm_tlv_next(&p, b + n, t);
}

START_TEST(one_byte_tag)
{
    const uint8_t b[] = { 0x80, 0x02, 0x00, 0x01, 0x81, 0x00 };
    const uint8_t *p = b;
    hsm_tlv t;
    ck_assert_int_eq(hsm_tlv_next(&p, b + sizeof(b), &t), 1);
    ck_assert_uint_eq(t.tag, 0x80);
    ck_assert_uint_eq(t.len, 2);
    ck_assert_ptr_eq(t.val, b + 2);
    ck_assert_uint_eq(t.rawlen, 4);
    ck_assert_int_eq(hsm_tlv_next(&p, b + sizeof(b), &t), 1);
    ck_assert_uint_eq(t.tag, 0x81);
    ck_assert_uint_eq(t.len, 0);
    ck_assert_int_eq(hsm_tlv_next(&p, b + sizeof(b), &t), 0);
}
END_TEST

START_TEST(multi_byte_tags)
{
    const uint8_t two[] = { 0x5F, 0x20, 0x01, 0x41 };
    const uint8_t three[] = { 0xDF, 0x81, 0x01, 0x00 };
    const uint8_t four[] = { 0xDF, 0x81, 0x81, 0x01, 0x00 };
    hsm_tlv t;
    ck_assert_int_eq(next1(two, sizeof(two), &t), 1);
    ck_assert_uint_eq(t.tag, 0x5F20);
    ck_assert_uint_eq(t.val[0], 0x41);
    ck_assert_int_eq(next1(three, sizeof(three), &t), 1);
    ck_assert_uint_eq(t.tag, 0xDF8101);
    ck_assert_int_eq(next1(four, sizeof(four), &t), HSM_E_PARSE);
    ck_assert(hsm_tlv_constructed(0x7F21));
    ck_assert(hsm_tlv_constructed(0x30));
    ck_assert(!hsm_tlv_constructed(0x5F20));
    ck_assert(!hsm_tlv_constructed(0x04));
}
END_TEST

START_TEST(long_lengths)
{
    uint8_t *b = calloc(1, 5 + 0x10000);
    hsm_tlv t;
    b[0] = 0x04; b[1] = 0x81; b[2] = 0x80;
    ck_assert_int_eq(next1(b, 3 + 0x80, &t), 1);
    ck_assert_uint_eq(t.len, 0x80);
    b[1] = 0x82; b[2] = 0x01; b[3] = 0x00;
    ck_assert_int_eq(next1(b, 4 + 0x100, &t), 1);
    ck_assert_uint_eq(t.len, 0x100);
    b[1] = 0x83; b[2] = 0x01; b[3] = 0x00; b[4] = 0x00;
    ck_assert_int_eq(next1(b, 5 + 0x10000, &t), 1);
    ck_assert_uint_eq(t.len, 0x10000);
    ck_assert_int_eq(next1(b, 5 + 0xFFFF, &t), HSM_E_PARSE);   /* one byte short */
    free(b);
}
END_TEST

START_TEST(malformed)
{
    hsm_tlv t;
    const uint8_t indefinite[] = { 0x30, 0x80, 0x00, 0x00 };
    const uint8_t len84[] = { 0x04, 0x84, 0, 0, 0, 1, 0 };
    const uint8_t no_len[] = { 0x04 };
    const uint8_t cut_tag[] = { 0x5F };
    const uint8_t cut_lenbytes[] = { 0x04, 0x82, 0x01 };
    const uint8_t cut_value[] = { 0x04, 0x05, 1, 2, 3 };
    ck_assert_int_eq(next1(indefinite, sizeof(indefinite), &t), HSM_E_PARSE);
    ck_assert_int_eq(next1(len84, sizeof(len84), &t), HSM_E_PARSE);
    ck_assert_int_eq(next1(no_len, sizeof(no_len), &t), HSM_E_PARSE);
    ck_assert_int_eq(next1(cut_tag, sizeof(cut_tag), &t), HSM_E_PARSE);
    ck_assert_int_eq(next1(cut_lenbytes, sizeof(cut_lenbytes), &t), HSM_E_PARSE);
    ck_assert_int_eq(next1(cut_value, sizeof(cut_value), &t), HSM_E_PARSE);
    /* every truncation of a good TLV fails */
    const uint8_t good[] = { 0x7F, 0x49, 0x82, 0x00, 0x03, 0x86, 0x01, 0x04 };
    for (size_t n = 1; n < sizeof(good); n++)
        ck_assert_int_eq(next1(good, n, &t), HSM_E_PARSE);
    ck_assert_int_eq(hsm_tlv_parse_one(good, sizeof(good), &t), HSM_OK);
    ck_assert_uint_eq(t.tag, 0x7F49);
}
END_TEST

START_TEST(parse_one_and_find)
{
    const uint8_t b[] = { 0x62, 0x07, 0x82, 0x01, 0x01, 0x85, 0x02, 0x03, 0x05, 0xAA };
    hsm_tlv t, f;
    ck_assert_int_eq(hsm_tlv_parse_one(b, sizeof(b), &t), HSM_E_PARSE);   /* trailing byte */
    ck_assert_int_eq(hsm_tlv_parse_one(b, sizeof(b) - 1, &t), HSM_OK);
    ck_assert_int_eq(hsm_tlv_find(t.val, t.len, 0x85, &f), 1);
    ck_assert_uint_eq(f.len, 2);
    ck_assert_uint_eq(f.val[1], 0x05);
    ck_assert_int_eq(hsm_tlv_find(t.val, t.len, 0x86, &f), 0);
    const uint8_t bad[] = { 0x82, 0x01, 0x01, 0x85, 0x09, 0x00 };
    ck_assert_int_eq(hsm_tlv_find(bad, sizeof(bad), 0x85, &f), HSM_E_PARSE);
}
END_TEST

START_TEST(writers)
{
    hsm_bytes b = HSM_BYTES_INIT;
    size_t sizes[] = { 0, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000 };
    const uint8_t want[][4] = { { 0x00 }, { 0x7F }, { 0x81, 0x80 }, { 0x81, 0xFF }, { 0x82, 0x01, 0x00 },
                                { 0x82, 0xFF, 0xFF }, { 0x83, 0x01, 0x00, 0x00 } };
    for (size_t i = 0; i < 7; i++) {
        hsm_bytes_clear(&b);
        ck_assert_int_eq(hsm_tlv_put_len(&b, sizes[i]), HSM_OK);
        ck_assert_uint_eq(b.len, hsm_tlv_len_size(sizes[i]));
        ck_assert_mem_eq(b.data, want[i], b.len);
    }
    hsm_bytes_clear(&b);
    ck_assert_int_eq(hsm_tlv_put_len(&b, 0x1000000), HSM_E_ARGS);
    hsm_bytes_clear(&b);
    hsm_tlv_put_u8(&b, 0x5F29, 0);
    hsm_tlv_put_tag(&b, 0xDF8101);
    const uint8_t w2[] = { 0x5F, 0x29, 0x01, 0x00, 0xDF, 0x81, 0x01 };
    ck_assert_uint_eq(b.len, sizeof(w2));
    ck_assert_mem_eq(b.data, w2, sizeof(w2));
    hsm_bytes_free(&b);
}
END_TEST

START_TEST(nested)
{
    hsm_bytes b = HSM_BYTES_INIT;
    uint8_t big[300];
    memset(big, 0xAB, sizeof(big));
    size_t outer, inner;
    ck_assert_int_eq(hsm_tlv_open(&b, 0x7F21, &outer), HSM_OK);
    ck_assert_int_eq(hsm_tlv_open(&b, 0x7F4E, &inner), HSM_OK);
    hsm_tlv_put(&b, 0x04, big, 200);
    ck_assert_int_eq(hsm_tlv_close(&b, inner), HSM_OK);
    hsm_tlv_put(&b, 0x5F37, big, 2);
    ck_assert_int_eq(hsm_tlv_close(&b, outer), HSM_OK);
    hsm_tlv t, body, sig;
    ck_assert_int_eq(hsm_tlv_parse_one(b.data, b.len, &t), HSM_OK);
    ck_assert_uint_eq(t.tag, 0x7F21);
    const uint8_t *p = t.val;
    ck_assert_int_eq(hsm_tlv_next(&p, t.val + t.len, &body), 1);
    ck_assert_uint_eq(body.tag, 0x7F4E);
    ck_assert_uint_eq(body.len, 3 + 200);   /* 04 81 C8 + 200 */
    ck_assert_uint_eq(body.raw[2], 0x81);
    ck_assert_int_eq(hsm_tlv_next(&p, t.val + t.len, &sig), 1);
    ck_assert_uint_eq(sig.tag, 0x5F37);
    ck_assert_ptr_eq(p, t.val + t.len);
    ck_assert_uint_eq(b.data[2], 0x81);     /* outer length grew to 81 xx */
    ck_assert_uint_eq(b.data[3], 4 + 203 + 5);   /* 7F4E 81 CB body, 5F37 02 xx xx */
    /* empty and 0x80 boundary */
    hsm_bytes_clear(&b);
    hsm_tlv_open(&b, 0x30, &outer);
    ck_assert_int_eq(hsm_tlv_close(&b, outer), HSM_OK);
    ck_assert_uint_eq(b.len, 2);
    ck_assert_uint_eq(b.data[1], 0);
    hsm_bytes_clear(&b);
    hsm_tlv_open(&b, 0x30, &outer);
    hsm_bytes_put(&b, big, 0x80);
    hsm_tlv_close(&b, outer);
    ck_assert_uint_eq(b.len, 3 + 0x80);
    ck_assert_uint_eq(b.data[1], 0x81);
    ck_assert_uint_eq(b.data[2], 0x80);
    ck_assert_int_eq(hsm_tlv_close(&b, 0), HSM_E_ARGS);
    hsm_bytes_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tlv");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, one_byte_tag);
    tcase_add_test(tc, multi_byte_tags);
    tcase_add_test(tc, long_lengths);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, parse_one_and_find);
    tcase_add_test(tc, writers);
    tcase_add_test(tc, nested);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
