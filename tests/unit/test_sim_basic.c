/* SPDX-License-Identifier: Apache-2.0 */
/* Virtual card: selection, dispatch errors, FCPs, ENUMERATE, device info, GET CHALLENGE, ATR. */
#include <stdlib.h>

#include "sim_test.h"

START_TEST(atr_is_nitrokey_hsm2)
{
    static const uint8_t want[] = { 0x3B, 0xDE, 0x18, 0xFF, 0x81, 0x91, 0xFE, 0x1F, 0xC3, 0x80, 0x31, 0x81,
                                    0x54, 0x48, 0x53, 0x4D, 0x31, 0x73, 0x80, 0x21, 0x40, 0x81, 0x07, 0x1C };
    uint8_t atr[40];
    ck_assert_uint_eq(sim_card_atr(atr, sizeof(atr)), sizeof(want));
    ck_assert_mem_eq(atr, want, sizeof(want));
    ck_assert_uint_eq(sim_card_atr(atr, 5), 0);
}
END_TEST

START_TEST(before_select_only_select_works)
{
    sim_card *c = t_fresh();
    ck_assert_uint_eq(tx(c, 0x00, 0x20, 0x00, 0x81, NULL, 0, 0, NULL), 0x6D00);
    ck_assert_uint_eq(tx(c, 0x80, 0x58, 0x00, 0x00, NULL, 0, 256, NULL), 0x6D00);
    ck_assert_uint_eq(tx(c, 0x84, 0x20, 0x00, 0x81, NULL, 0, 0, NULL), 0x6E00);
    uint8_t fid[2] = { 0x2F, 0x02 };
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x02, 0x04, fid, 2, 256, NULL), 0x6A82);
    uint8_t other[11];
    memcpy(other, T_AID, 11);
    other[10] ^= 1;
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x04, 0x04, other, 11, 256, NULL), 0x6A82);
    ck_assert_uint_eq(tx(c, 0x00, 0x20, 0x00, 0x81, NULL, 0, 0, NULL), 0x6D00);
    /* after a reset the applet must be selected again */
    t_select(c);
    ck_assert_uint_eq(tx(c, 0x00, 0x20, 0x00, 0x81, NULL, 0, 0, NULL), 0x6A88);
    sim_card_reset(c);
    ck_assert_uint_eq(tx(c, 0x00, 0x20, 0x00, 0x81, NULL, 0, 0, NULL), 0x6D00);
    sim_card_free(c);
}
END_TEST

START_TEST(select_fcp)
{
    sim_card *c = t_fresh();
    hsm_bytes r = HSM_BYTES_INIT;
    hsm_tlv fcp, t85;
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x04, 0x04, T_AID, 11, 256, &r), 0x9000);
    ck_assert_int_eq(hsm_tlv_parse_one(r.data, r.len, &fcp), HSM_OK);
    ck_assert_uint_eq(fcp.tag, 0x62);
    ck_assert_int_eq(hsm_tlv_find(fcp.val, fcp.len, 0x85, &t85), 1);
    const uint8_t v[5] = { 0x00, 0x00, 0x00, 0x03, 0x05 };
    ck_assert_uint_eq(t85.len, 5);
    ck_assert_mem_eq(t85.val, v, 5);
    /* options show up after INITIALIZE */
    ck_assert_uint_eq(t_init(c, 0x0001, 3, -1, -1), 0x9000);
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x04, 0x04, T_AID, 11, 256, &r), 0x9000);
    ck_assert_int_eq(hsm_tlv_parse_one(r.data, r.len, &fcp), HSM_OK);
    ck_assert_int_eq(hsm_tlv_find(fcp.val, fcp.len, 0x85, &t85), 1);
    ck_assert_uint_eq(t85.val[1], 0x01);
    /* P2 0C: no data */
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x04, 0x0C, T_AID, 11, 0, &r), 0x9000);
    ck_assert_uint_eq(r.len, 0);
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x04, 0x07, T_AID, 11, 0, &r), 0x6A86);
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x09, 0x04, T_AID, 11, 0, &r), 0x6A86);
    /* EF: FCP with size */
    uint8_t fid[2] = { 0x2F, 0x02 };
    hsm_tlv sz;
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x02, 0x04, fid, 2, 256, &r), 0x9000);
    ck_assert_int_eq(hsm_tlv_parse_one(r.data, r.len, &fcp), HSM_OK);
    ck_assert_int_eq(hsm_tlv_find(fcp.val, fcp.len, 0x80, &sz), 1);
    ck_assert_uint_gt((size_t)(sz.val[0] << 8 | sz.val[1]), 400);
    fid[1] = 0x03;
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x02, 0x04, fid, 2, 256, &r), 0x6A82);
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x02, 0x04, fid, 1, 256, &r), 0x6700);
    /* key file CC00: FCP with key information */
    uint8_t cc00[2] = { 0xCC, 0x00 };
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x00, 0x04, cc00, 2, 256, &r), 0x9000);
    ck_assert_int_eq(hsm_tlv_parse_one(r.data, r.len, &fcp), HSM_OK);
    ck_assert_int_eq(hsm_tlv_find(fcp.val, fcp.len, 0xA5, &sz), 1);
    hsm_bytes_free(&r);
    sim_card_free(c);
}
END_TEST

START_TEST(dispatch_errors)
{
    sim_card *c = t_fresh();
    t_select(c);
    ck_assert_uint_eq(tx(c, 0x00, 0x12, 0x00, 0x00, NULL, 0, 0, NULL), 0x6D00);   /* unknown INS */
    ck_assert_uint_eq(tx(c, 0x80, 0x20, 0x00, 0x81, NULL, 0, 0, NULL), 0x6E00);   /* VERIFY is CLA 00 */
    ck_assert_uint_eq(tx(c, 0x00, 0x58, 0x00, 0x00, NULL, 0, 256, NULL), 0x6E00); /* ENUMERATE is CLA 80 */
    ck_assert_uint_eq(tx(c, 0xA0, 0x20, 0x00, 0x81, NULL, 0, 0, NULL), 0x6E00);
    ck_assert_uint_eq(tx(c, 0x0C, 0x20, 0x00, 0x81, NULL, 0, 0, NULL), 0x6E00);   /* no secure messaging */
    ck_assert_uint_eq(tx(c, 0x80, 0x58, 0x01, 0x00, NULL, 0, 256, NULL), 0x6A86);
    ck_assert_uint_eq(tx(c, 0x00, 0x20, 0x01, 0x81, NULL, 0, 0, NULL), 0x6A86);
    ck_assert_uint_eq(tx(c, 0x00, 0x20, 0x00, 0x82, NULL, 0, 0, NULL), 0x6A86);
    /* malformed length fields and APDUs beyond 1232 bytes */
    const uint8_t bad1[] = { 0x00, 0x20, 0x00, 0x81, 0x05, 0x31, 0x32 };
    ck_assert_uint_eq(tx_raw(c, bad1, sizeof(bad1)), 0x6700);
    const uint8_t bad2[] = { 0x00, 0x20 };
    ck_assert_uint_eq(tx_raw(c, bad2, sizeof(bad2)), 0x6700);
    uint8_t big[1300];
    memset(big, 0, sizeof(big));
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x68, 0x01, 0x70, big, 1226, 0, 1, NULL), 0x6700);   /* 1233 bytes */
    ck_assert_uint_ne(tx_ex(c, 0x80, 0x68, 0x01, 0x70, big, 1225, 0, 1, NULL), 0x6700); /* 1232: not a length error */
    sim_card_free(c);
}
END_TEST

START_TEST(enumerate_and_device_info)
{
    sim_card *c = t_fresh();
    hsm_bytes r = HSM_BYTES_INIT;
    t_select(c);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x58, 0x00, 0x00, NULL, 0, 65536, 1, &r), 0x9000);
    const uint8_t want[] = { 0xCC, 0x00, 0x2F, 0x02 };
    ck_assert_uint_eq(r.len, 4);
    ck_assert_mem_eq(r.data, want, 4);
    ck_assert_uint_eq(tx(c, 0x80, 0x58, 0x00, 0x00, "x", 1, 256, &r), 0x6700);
    /* short Le smaller than the answer: 6Cxx with the right length */
    ck_assert_uint_eq(tx(c, 0x80, 0x58, 0x00, 0x00, NULL, 0, 2, &r), 0x6C04);
    /* INITIALIZE without data: [free 4][00][major][minor] */
    ck_assert_uint_eq(tx(c, 0x80, 0x50, 0x00, 0x00, NULL, 0, 256, &r), 0x9000);
    ck_assert_uint_eq(r.len, 7);
    ck_assert_uint_eq(r.data[5], 3);
    ck_assert_uint_eq(r.data[6], 5);
    uint32_t free1 = (uint32_t)r.data[0] << 24 | (uint32_t)r.data[1] << 16 | (uint32_t)r.data[2] << 8 | r.data[3];
    ck_assert_uint_gt(free1, 70000);
    ck_assert_uint_eq(t_init(c, 0x0001, 3, -1, -1), 0x9000);
    t_login(c);
    uint8_t blob[1000];
    memset(blob, 0x5A, sizeof(blob));
    ck_assert_uint_eq(t_write(c, 0xCF01, 0, blob, sizeof(blob)), 0x9000);
    ck_assert_uint_eq(tx(c, 0x80, 0x50, 0x00, 0x00, NULL, 0, 256, &r), 0x9000);
    uint32_t free2 = (uint32_t)r.data[0] << 24 | (uint32_t)r.data[1] << 16 | (uint32_t)r.data[2] << 8 | r.data[3];
    ck_assert_uint_ge(free1 - free2, 1000);
    ck_assert_uint_lt(free1 - free2, 1100);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x58, 0x00, 0x00, NULL, 0, 65536, 1, &r), 0x9000);
    const uint8_t want2[] = { 0xCC, 0x00, 0x2F, 0x02, 0xCF, 0x01 };
    ck_assert_uint_eq(r.len, 6);
    ck_assert_mem_eq(r.data, want2, 6);
    hsm_bytes_free(&r);
    sim_card_free(c);
}
END_TEST

START_TEST(get_challenge)
{
    sim_card *c = t_fresh();
    hsm_bytes a = HSM_BYTES_INIT, b = HSM_BYTES_INIT;
    t_select(c);
    ck_assert_uint_eq(tx(c, 0x00, 0x84, 0x00, 0x00, NULL, 0, 8, &a), 0x9000);
    ck_assert_uint_eq(a.len, 8);
    ck_assert_uint_eq(tx(c, 0x00, 0x84, 0x00, 0x00, NULL, 0, 8, &b), 0x9000);
    ck_assert_mem_ne(a.data, b.data, 8);
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x84, 0x00, 0x00, NULL, 0, 1024, 1, &a), 0x9000);
    ck_assert_uint_eq(a.len, 1024);
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x84, 0x00, 0x00, NULL, 0, 1025, 1, &a), 0x6700);
    ck_assert_uint_eq(tx(c, 0x00, 0x84, 0x00, 0x00, NULL, 0, 0, &a), 0x6700);
    ck_assert_uint_eq(tx(c, 0x00, 0x84, 0x01, 0x00, NULL, 0, 8, &a), 0x6A86);
    hsm_bytes_free(&a);
    hsm_bytes_free(&b);
    sim_card_free(c);
}
END_TEST

START_TEST(save_load_round_trip)
{
    sim_card *c = t_ready(2, 3), *d = NULL;
    hsm_bytes s1 = HSM_BYTES_INIT, s2 = HSM_BYTES_INIT;
    ck_assert_uint_eq(t_write(c, 0xC901, 0, "hello", 5), 0x9000);
    ck_assert_int_eq(sim_card_save(c, &s1), HSM_OK);
    ck_assert_int_eq(sim_card_load(s1.data, s1.len, &d), HSM_OK);
    ck_assert_int_eq(sim_card_save(d, &s2), HSM_OK);
    ck_assert_uint_eq(s1.len, s2.len);
    ck_assert_mem_eq(s1.data, s2.data, s1.len);
    /* the loaded card keeps the login (volatile state is shared through the file) */
    ck_assert_uint_eq(tx(d, 0x00, 0x20, 0x00, 0x81, NULL, 0, 0, NULL), 0x9000);
    /* every single-byte corruption and every truncation is reported */
    sim_card *e = NULL;
    for (size_t i = 0; i < s1.len; i += 7) {
        s1.data[i] ^= 0x40;
        ck_assert_int_eq(sim_card_load(s1.data, s1.len, &e), HSM_E_PARSE);
        s1.data[i] ^= 0x40;
    }
    for (size_t n = 0; n < s1.len; n += 13)
        ck_assert_int_eq(sim_card_load(s1.data, n, &e), HSM_E_PARSE);
    hsm_bytes_free(&s1);
    hsm_bytes_free(&s2);
    sim_card_free(c);
    sim_card_free(d);
}
END_TEST

START_TEST(dump_names_things)
{
    sim_card *c = t_ready(1, -1);
    hsm_bytes out = HSM_BYTES_INIT;
    ck_assert_int_eq(sim_card_dump(c, &out), HSM_OK);
    hsm_bytes_put_u8(&out, 0);
    const char *s = (const char *)out.data;
    ck_assert_ptr_nonnull(strstr(s, "initialised:     yes"));
    ck_assert_ptr_nonnull(strstr(s, "3 of 3 tries"));
    ck_assert_ptr_nonnull(strstr(s, "DESM"));
    ck_assert_ptr_nonnull(strstr(s, "CC00"));
    ck_assert_ptr_nonnull(strstr(s, "1 missing"));
    ck_assert_ptr_null(strstr(s, "648219"));
    hsm_bytes_free(&out);
    sim_card_free(c);
}
END_TEST

T_MAIN("sim_basic", atr_is_nitrokey_hsm2, before_select_only_select_works, select_fcp, dispatch_errors,
       enumerate_and_device_info, get_challenge, save_load_round_trip, dump_names_things)
