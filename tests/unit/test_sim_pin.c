/* SPDX-License-Identifier: Apache-2.0 */
/* Virtual card: PIN model and INITIALIZE (sheet 4, 5). */
#include <stdlib.h>

#include "sim_test.h"

static uint16_t verify(sim_card *c, const void *pin, size_t len)
{
    return tx(c, 0x00, 0x20, 0x00, 0x81, pin, len, 0, NULL);
}

static uint16_t status(sim_card *c, uint8_t ref)
{
    return tx(c, 0x00, 0x20, 0x00, ref, NULL, 0, 0, NULL);
}

START_TEST(uninitialised_card)
{
    sim_card *c = t_fresh();
    t_select(c);
    ck_assert_uint_eq(status(c, 0x81), 0x6A88);
    ck_assert_uint_eq(status(c, 0x88), 0x6A88);
    ck_assert_uint_eq(verify(c, T_PIN, 6), 0x6A88);
    ck_assert_uint_eq(status(c, 0x85), 0x6A88);
    ck_assert_uint_eq(status(c, 0x86), 0x6A88);
    uint8_t fid[2] = { 0xC4, 0x01 };
    ck_assert_uint_eq(t_write(c, 0xC401, 0, fid, 2), 0x6982);
    sim_card_free(c);
}
END_TEST

START_TEST(verify_counts_down_and_blocks)
{
    sim_card *c = t_fresh();
    t_select(c);
    ck_assert_uint_eq(t_init(c, 0x0001, 3, -1, -1), 0x9000);
    ck_assert_uint_eq(status(c, 0x81), 0x63C3);
    ck_assert_uint_eq(status(c, 0x88), 0x63CF);
    /* VERIFY status with Le (as hosts send it under SM) */
    ck_assert_uint_eq(tx(c, 0x00, 0x20, 0x00, 0x81, NULL, 0, 256, NULL), 0x63C3);
    ck_assert_uint_eq(verify(c, "000000", 6), 0x63C2);
    ck_assert_uint_eq(status(c, 0x81), 0x63C2);
    /* a good PIN resets the counter */
    ck_assert_uint_eq(verify(c, T_PIN, 6), 0x9000);
    ck_assert_uint_eq(status(c, 0x81), 0x9000);
    /* the wrong PIN drops the login */
    ck_assert_uint_eq(verify(c, "000000", 6), 0x63C2);
    ck_assert_uint_eq(status(c, 0x81), 0x63C2);
    ck_assert_uint_eq(verify(c, "000000", 6), 0x63C1);
    /* the exhausting attempt answers 63C0, later ones 6983 */
    ck_assert_uint_eq(verify(c, "000000", 6), 0x63C0);
    ck_assert_uint_eq(verify(c, T_PIN, 6), 0x6983);
    ck_assert_uint_eq(status(c, 0x81), 0x6983);
    /* PIN length out of range: 6A80 and no count */
    sim_card *d = t_fresh();
    t_select(d);
    ck_assert_uint_eq(t_init(d, 0x0000, 5, -1, -1), 0x9000);
    ck_assert_uint_eq(verify(d, "12345", 5), 0x6A80);
    ck_assert_uint_eq(verify(d, "12345678901234567", 17), 0x6A80);
    ck_assert_uint_eq(status(d, 0x81), 0x63C5);
    sim_card_free(c);
    sim_card_free(d);
}
END_TEST

START_TEST(select_logs_out)
{
    sim_card *c = t_ready(-1, -1);
    ck_assert_uint_eq(status(c, 0x81), 0x9000);
    t_select(c);
    ck_assert_uint_eq(status(c, 0x81), 0x63C3);
    t_login(c);
    uint8_t fid[2] = { 0x2F, 0x02 };
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x02, 0x0C, fid, 2, 0, NULL), 0x9000);   /* EF select keeps login */
    ck_assert_uint_eq(status(c, 0x81), 0x9000);
    sim_card_reset(c);
    t_select(c);
    ck_assert_uint_eq(status(c, 0x81), 0x63C3);
    sim_card_free(c);
}
END_TEST

START_TEST(change_pin)
{
    sim_card *c = t_fresh();
    t_select(c);
    ck_assert_uint_eq(t_init(c, 0x0001, 3, -1, -1), 0x9000);
    ck_assert_uint_eq(tx(c, 0x00, 0x24, 0x00, 0x81, "000000" "1234567", 13, 0, NULL), 0x63C2);
    ck_assert_uint_eq(tx(c, 0x00, 0x24, 0x00, 0x81, "648219" "12345", 11, 0, NULL), 0x6A80);   /* new too short */
    ck_assert_uint_eq(tx(c, 0x00, 0x24, 0x00, 0x81, "648219" "1234567", 13, 0, NULL), 0x9000);
    t_select(c);
    ck_assert_uint_eq(status(c, 0x81), 0x63C3);
    ck_assert_uint_eq(verify(c, T_PIN, 6), 0x63C2);
    ck_assert_uint_eq(verify(c, "1234567", 7), 0x9000);
    /* SO-PIN change */
    uint8_t so[16];
    memcpy(so, T_SO, 8);
    memcpy(so + 8, "ABCDEFGH", 8);
    ck_assert_uint_eq(tx(c, 0x00, 0x24, 0x00, 0x88, so, 15, 0, NULL), 0x6A80);
    ck_assert_uint_eq(tx(c, 0x00, 0x24, 0x00, 0x88, so, 16, 0, NULL), 0x9000);
    ck_assert_uint_eq(tx(c, 0x00, 0x24, 0x00, 0x88, so, 16, 0, NULL), 0x63CE);   /* old one is gone */
    sim_card_free(c);
}
END_TEST

START_TEST(transport_pin)
{
    sim_card *c = t_fresh();
    t_select(c);
    ck_assert_uint_eq(t_init(c, 0x0003, 3, -1, -1), 0x9000);
    ck_assert_uint_eq(status(c, 0x81), 0x6984);
    ck_assert_uint_eq(verify(c, T_PIN, 6), 0x6984);
    ck_assert_uint_eq(tx(c, 0x00, 0x24, 0x00, 0x81, "648219" "987654", 12, 0, NULL), 0x9000);
    t_select(c);
    ck_assert_uint_eq(status(c, 0x81), 0x63C3);
    ck_assert_uint_eq(verify(c, "987654", 6), 0x9000);
    sim_card_free(c);
}
END_TEST

START_TEST(reset_retry_counter)
{
    sim_card *c = t_fresh();
    uint8_t d[8 + 7];
    t_select(c);
    ck_assert_uint_eq(t_init(c, 0x0001, 3, -1, -1), 0x9000);
    for (int i = 0; i < 3; i++)
        verify(c, "000000", 6);
    ck_assert_uint_eq(status(c, 0x81), 0x6983);
    /* wrong SO-PIN counts the SO-PIN down */
    memset(d, 0x30, 8);
    ck_assert_uint_eq(tx(c, 0x00, 0x2C, 0x01, 0x81, d, 8, 0, NULL), 0x63CE);
    ck_assert_uint_eq(status(c, 0x88), 0x63CE);
    ck_assert_uint_eq(tx(c, 0x00, 0x2C, 0x01, 0x81, T_SO, 7, 0, NULL), 0x6A80);
    ck_assert_uint_eq(tx(c, 0x00, 0x2C, 0x02, 0x81, T_SO, 8, 0, NULL), 0x6A86);
    /* unblock only */
    ck_assert_uint_eq(tx(c, 0x00, 0x2C, 0x01, 0x81, T_SO, 8, 0, NULL), 0x9000);
    ck_assert_uint_eq(status(c, 0x88), 0x63CF);
    ck_assert_uint_eq(status(c, 0x81), 0x63C3);
    ck_assert_uint_eq(verify(c, T_PIN, 6), 0x9000);
    /* new PIN */
    memcpy(d, T_SO, 8);
    memcpy(d + 8, "7654321", 7);
    ck_assert_uint_eq(tx(c, 0x00, 0x2C, 0x00, 0x81, d, 15, 0, NULL), 0x9000);
    ck_assert_uint_eq(verify(c, T_PIN, 6), 0x63C2);
    ck_assert_uint_eq(verify(c, "7654321", 7), 0x9000);
    /* without option 0001: refused with 6985 */
    sim_card *e = t_fresh();
    t_select(e);
    ck_assert_uint_eq(t_init(e, 0x0000, 3, -1, -1), 0x9000);
    ck_assert_uint_eq(tx(e, 0x00, 0x2C, 0x01, 0x81, T_SO, 8, 0, NULL), 0x6985);
    sim_card_free(c);
    sim_card_free(e);
}
END_TEST

START_TEST(so_pin_blocks)
{
    sim_card *c = t_fresh();
    uint8_t wrong[8];
    memset(wrong, 0x31, 8);
    t_select(c);
    ck_assert_uint_eq(t_init(c, 0x0001, 3, -1, -1), 0x9000);
    for (int left = 14; left >= 0; left--)
        ck_assert_uint_eq(tx(c, 0x00, 0x20, 0x00, 0x88, wrong, 8, 0, NULL), 0x63C0 | left);
    ck_assert_uint_eq(tx(c, 0x00, 0x20, 0x00, 0x88, T_SO, 8, 0, NULL), 0x6983);
    ck_assert_uint_eq(tx(c, 0x00, 0x2C, 0x01, 0x81, T_SO, 8, 0, NULL), 0x6983);
    ck_assert_uint_eq(t_init(c, 0x0001, 3, -1, -1), 0x6983);
    sim_card_free(c);
}
END_TEST

START_TEST(initialize_checks_code_and_wipes)
{
    sim_card *c = t_ready(-1, -1);
    hsm_bytes r = HSM_BYTES_INIT, d = HSM_BYTES_INIT;
    ck_assert_uint_eq(t_write(c, 0xC901, 0, "data", 4), 0x9000);
    ck_assert_uint_eq(t_write(c, 0x2F03, 0, "label", 5), 0x9000);
    /* wrong initialization code: 6985, SO-PIN counted down */
    hsm_tlv_put(&d, 0x81, T_PIN, 6);
    hsm_tlv_put(&d, 0x82, "XXXXXXXX", 8);
    ck_assert_uint_eq(tx(c, 0x80, 0x50, 0x00, 0x00, d.data, d.len, 0, NULL), 0x6985);
    ck_assert_uint_eq(status(c, 0x88), 0x63CE);
    ck_assert_uint_eq(t_write(c, 0xC902, 0, "x", 1), 0x9000);   /* still logged in, nothing wiped */
    /* malformed data */
    hsm_bytes_clear(&d);
    hsm_tlv_put(&d, 0x81, T_PIN, 6);
    ck_assert_uint_eq(tx(c, 0x80, 0x50, 0x00, 0x00, d.data, d.len, 0, NULL), 0x6A80);   /* no SO-PIN */
    const uint8_t trunc[] = { 0x81, 0x06, 0x31 };
    ck_assert_uint_eq(tx(c, 0x80, 0x50, 0x00, 0x00, trunc, sizeof(trunc), 0, NULL), 0x6A80);
    ck_assert_uint_eq(tx(c, 0x80, 0x50, 0x01, 0x00, trunc, sizeof(trunc), 0, NULL), 0x6A86);
    /* the right code wipes everything but CC00 and 2F02 and logs out */
    ck_assert_uint_eq(t_init(c, 0x0001, 5, -1, -1), 0x9000);
    ck_assert_uint_eq(status(c, 0x88), 0x63CF);
    ck_assert_uint_eq(status(c, 0x81), 0x63C5);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x58, 0x00, 0x00, NULL, 0, 65536, 1, &r), 0x9000);
    const uint8_t want[] = { 0xCC, 0x00, 0x2F, 0x02 };
    ck_assert_uint_eq(r.len, 4);
    ck_assert_mem_eq(r.data, want, 4);
    /* wrong code until blocked: 6985 then 6983 */
    hsm_bytes_clear(&d);
    hsm_tlv_put(&d, 0x81, T_PIN, 6);
    hsm_tlv_put(&d, 0x82, "XXXXXXXX", 8);
    for (int i = 0; i < 15; i++)
        ck_assert_uint_eq(tx(c, 0x80, 0x50, 0x00, 0x00, d.data, d.len, 0, NULL), 0x6985);
    ck_assert_uint_eq(tx(c, 0x80, 0x50, 0x00, 0x00, d.data, d.len, 0, NULL), 0x6983);
    ck_assert_uint_eq(t_init(c, 0x0001, 3, -1, -1), 0x6983);
    hsm_bytes_free(&r);
    hsm_bytes_free(&d);
    sim_card_free(c);
}
END_TEST

T_MAIN("sim_pin", uninitialised_card, verify_counts_down_and_blocks, select_logs_out, change_pin, transport_pin,
       reset_retry_counter, so_pin_blocks, initialize_checks_code_and_wipes)
