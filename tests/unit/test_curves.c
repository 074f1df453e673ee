/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/obj_mac.h>

#include "hsm/curves.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"
#include "helper_run.h"

START_TEST(lookup)
{
    ck_assert_ptr_eq(hsm_curve_by_name("P-256"), hsm_curve_by_nid(NID_X9_62_prime256v1));
    ck_assert_ptr_eq(hsm_curve_by_name("prime256v1"), hsm_curve_by_nid(NID_X9_62_prime256v1));
    ck_assert_ptr_eq(hsm_curve_by_name("SECP256R1"), hsm_curve_by_nid(NID_X9_62_prime256v1));
    ck_assert_uint_eq(hsm_curve_by_name("p-521")->bits, 521);
    ck_assert_uint_eq(hsm_curve_by_name("brainpoolP512r1")->bits, 512);
    ck_assert_ptr_nonnull(hsm_curve_by_name("secp256k1"));
    ck_assert_ptr_null(hsm_curve_by_name("X25519"));
    ck_assert_ptr_null(hsm_curve_by_name(NULL));
    ck_assert_ptr_null(hsm_curve_by_nid(NID_X25519));
    size_t n = 0;
    const hsm_curve *all = hsm_curve_all(&n);
    ck_assert_uint_ge(n, 7);
    for (size_t i = 0; i < n; i++)
        ck_assert_ptr_eq(hsm_curve_by_nid(all[i].nid), &all[i]);
}
END_TEST

/* Every curve: params are 81..85, 87 with field-length p/a/b, an uncompressed G, and the
 * curve is found again from p and a (also with a leading zero). */
START_TEST(params_round_trip)
{
    size_t n = 0;
    const hsm_curve *all = hsm_curve_all(&n);
    for (size_t i = 0; i < n; i++) {
        hsm_bytes b = HSM_BYTES_INIT;
        ck_assert_int_eq(hsm_curve_put_params(all[i].nid, &b), HSM_OK);
        hsm_tlv p, a, bb, g, o, f;
        size_t fl = (all[i].bits + 7) / 8;
        ck_assert_int_eq(hsm_tlv_find(b.data, b.len, 0x81, &p), 1);
        ck_assert_int_eq(hsm_tlv_find(b.data, b.len, 0x82, &a), 1);
        ck_assert_int_eq(hsm_tlv_find(b.data, b.len, 0x83, &bb), 1);
        ck_assert_int_eq(hsm_tlv_find(b.data, b.len, 0x84, &g), 1);
        ck_assert_int_eq(hsm_tlv_find(b.data, b.len, 0x85, &o), 1);
        ck_assert_int_eq(hsm_tlv_find(b.data, b.len, 0x87, &f), 1);
        ck_assert_uint_eq(p.len, fl);
        ck_assert_uint_eq(a.len, fl);
        ck_assert_uint_eq(bb.len, fl);
        ck_assert_uint_eq(g.len, 1 + 2 * fl);
        ck_assert_uint_eq(g.val[0], 0x04);
        ck_assert_uint_eq(f.len, 1);
        ck_assert_uint_eq(f.val[0], 1);
        ck_assert_int_eq(hsm_curve_identify(p.val, p.len, a.val, a.len), all[i].nid);
        uint8_t zp[80];
        zp[0] = 0;
        memcpy(zp + 1, p.val, p.len);
        ck_assert_int_eq(hsm_curve_identify(zp, p.len + 1, a.val, a.len), all[i].nid);
        hsm_bytes_free(&b);
    }
}
END_TEST

START_TEST(p256_values_and_unknown)
{
    hsm_bytes b = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_curve_put_params(NID_X9_62_prime256v1, &b), HSM_OK);
    static const uint8_t p256[] = { 0x81, 0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01 };
    ck_assert_mem_eq(b.data, p256, sizeof(p256));
    hsm_tlv p, a;
    ck_assert_int_eq(hsm_tlv_find(b.data, b.len, 0x81, &p), 1);
    ck_assert_int_eq(hsm_tlv_find(b.data, b.len, 0x82, &a), 1);
    uint8_t a2[32];
    memcpy(a2, a.val, 32);
    a2[31] ^= 1;
    ck_assert_int_eq(hsm_curve_identify(p.val, p.len, a2, 32), 0);
    ck_assert_int_eq(hsm_curve_identify(p.val, 0, a.val, a.len), 0);
    ck_assert_int_eq(hsm_curve_put_params(NID_X25519, &b), HSM_E_UNSUPPORTED);
    hsm_bytes_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("curves");
    TCase *tc = tcase_create("curves");
    tcase_add_test(tc, lookup);
    tcase_add_test(tc, params_round_trip);
    tcase_add_test(tc, p256_values_and_unknown);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
