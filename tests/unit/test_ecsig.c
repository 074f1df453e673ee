/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <openssl/ec.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/ecsig.h"
#include "hsm/rv.h"
#include "helper_run.h"

static void hex(const char *h, hsm_bytes *b)
{
    ck_assert_int_eq(hsm_hex_decode(h, b), HSM_OK);
}

/* OpenSSL's strict parser must accept what we produce and re-encode it identically. */
static void strict_ok(const hsm_bytes *der)
{
    const unsigned char *p = der->data;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)der->len);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_eq(p, der->data + der->len);
    unsigned char *re = NULL;
    int n = i2d_ECDSA_SIG(s, &re);
    ck_assert_int_eq(n, (int)der->len);
    ck_assert_mem_eq(re, der->data, der->len);
    OPENSSL_free(re);
    ECDSA_SIG_free(s);
}

START_TEST(superfluous_zero)
{
    /* r has a needless leading 00 (high bit clear), s keeps its needed 00 */
    hsm_bytes in = HSM_BYTES_INIT, out = HSM_BYTES_INIT, want = HSM_BYTES_INIT;
    hex("3009 0203 00 1234 0202 00 80", &in);
    ck_assert_int_eq(hsm_ecdsa_der_normalize(in.data, in.len, &out), HSM_OK);
    hex("3008 0202 1234 0202 0080", &want);
    ck_assert_uint_eq(out.len, want.len);
    ck_assert_mem_eq(out.data, want.data, want.len);
    hsm_bytes_free(&in);
    hsm_bytes_free(&out);
    hsm_bytes_free(&want);
}
END_TEST

START_TEST(missing_sign_byte_and_long_form)
{
    hsm_bytes in = HSM_BYTES_INIT, out = HSM_BYTES_INIT, want = HSM_BYTES_INIT;
    /* long-form lengths and an INTEGER whose top bit is set (read as unsigned) */
    hex("3081 08 0281 02 F1F2 0201 05", &in);
    ck_assert_int_eq(hsm_ecdsa_der_normalize(in.data, in.len, &out), HSM_OK);
    hex("3008 0203 00F1F2 020105", &want);
    ck_assert_mem_eq(out.data, want.data, want.len);
    ck_assert_uint_eq(out.len, want.len);
    strict_ok(&out);
    hsm_bytes_free(&in);
    hsm_bytes_free(&out);
    hsm_bytes_free(&want);
}
END_TEST

START_TEST(p256_card_style)
{
    /* 32-byte r with top bit set, encoded by the card as 33 bytes; s with two zero bytes in front */
    hsm_bytes in = HSM_BYTES_INIT, out = HSM_BYTES_INIT, plain = HSM_BYTES_INIT, back = HSM_BYTES_INIT;
    hex("3046"
        "0221 00 F0112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"
        "0221 00 0011223344556677889900AABBCCDDEEFF00112233445566778899AABBCCDDEE", &in);
    ck_assert_int_eq(hsm_ecdsa_der_normalize(in.data, in.len, &out), HSM_OK);
    strict_ok(&out);
    ck_assert_uint_eq(out.len, 2 + 35 + 33);
    ck_assert_int_eq(hsm_ecdsa_der_to_plain(in.data, in.len, 32, &plain), HSM_OK);
    ck_assert_uint_eq(plain.len, 64);
    ck_assert_uint_eq(plain.data[0], 0xF0);
    ck_assert_uint_eq(plain.data[32], 0x00);
    ck_assert_uint_eq(plain.data[33], 0x11);
    ck_assert_int_eq(hsm_ecdsa_plain_to_der(plain.data, plain.len, &back), HSM_OK);
    ck_assert_uint_eq(back.len, out.len);
    ck_assert_mem_eq(back.data, out.data, out.len);
    /* does not fit a 31-byte field */
    ck_assert_int_eq(hsm_ecdsa_der_to_plain(in.data, in.len, 31, &plain), HSM_E_PARSE);
    ck_assert_uint_eq(hsm_ecdsa_field_len(521), 66);
    hsm_bytes_free(&in);
    hsm_bytes_free(&out);
    hsm_bytes_free(&plain);
    hsm_bytes_free(&back);
}
END_TEST

START_TEST(rejects)
{
    static const char *bad[] = {
        "3006 020101 020101 00",       /* trailing byte inside */
        "3006 020101 020101",          /* fine... */
        "3003 020101",                 /* one integer */
        "3006 020100 020101",          /* r = 0 */
        "3005 0201 01 0201",           /* truncated */
        "3106 020101 020101",          /* not a SEQUENCE */
        "3006 040101 020101",          /* not an INTEGER */
        "3004 0200 0200",              /* empty integers */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hsm_bytes in = HSM_BYTES_INIT, out = HSM_BYTES_INIT;
        hex(bad[i], &in);
        int rc = hsm_ecdsa_der_normalize(in.data, in.len, &out);
        if (i == 1)
            ck_assert_int_eq(rc, HSM_OK);
        else
            ck_assert_msg(rc == HSM_E_PARSE, "vector %zu accepted", i);
        hsm_bytes_free(&in);
        hsm_bytes_free(&out);
    }
    hsm_bytes in = HSM_BYTES_INIT, out = HSM_BYTES_INIT;
    hex("3006 020101 020101 FF", &in);   /* trailing byte after the SEQUENCE */
    ck_assert_int_eq(hsm_ecdsa_der_normalize(in.data, in.len, &out), HSM_E_PARSE);
    /* 67-byte integers: longer than any curve the card has */
    uint8_t big[3 + 2 * (2 + 67)];
    memset(big, 1, sizeof(big));
    big[0] = 0x30;
    big[1] = 0x81;
    big[2] = 2 * (2 + 67);
    big[3] = 0x02;
    big[4] = 67;
    big[3 + 69] = 0x02;
    big[3 + 70] = 67;
    ck_assert_int_eq(hsm_ecdsa_der_normalize(big, sizeof(big), &out), HSM_E_PARSE);
    ck_assert_int_eq(hsm_ecdsa_plain_to_der((const uint8_t *)"\0\0\1\1", 4, &out), HSM_E_PARSE);
    ck_assert_int_eq(hsm_ecdsa_plain_to_der((const uint8_t *)"\1\1\1", 3, &out), HSM_E_PARSE);
    hsm_bytes_free(&in);
    hsm_bytes_free(&out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ecsig");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, superfluous_zero);
    tcase_add_test(tc, missing_sign_byte_and_long_form);
    tcase_add_test(tc, p256_card_style);
    tcase_add_test(tc, rejects);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
