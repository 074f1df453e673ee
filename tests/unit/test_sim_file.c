/* SPDX-License-Identifier: Apache-2.0 */
/* Virtual card: EFs (sheet 6): UPDATE/READ BINARY, DELETE FILE, access rules, memory limit. */
#include <stdlib.h>

#include "sim_test.h"

START_TEST(write_read_delete)
{
    sim_card *c = t_ready(-1, -1);
    hsm_bytes r = HSM_BYTES_INIT;
    uint8_t data[3000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 1);
    /* create empty (as OpenSC does), then write in chunks with offsets */
    ck_assert_uint_eq(t_write(c, 0xC401, 0, NULL, 0), 0x9000);
    ck_assert_uint_eq(t_read(c, 0xC401, 0, 65536, &r), 0x6282);
    ck_assert_uint_eq(r.len, 0);
    for (size_t off = 0; off < sizeof(data); off += 1000)
        ck_assert_uint_eq(t_write(c, 0xC401, (uint16_t)off, data + off, 1000), 0x9000);
    /* READ BINARY delivers at most 1230 bytes per response; 6282 only at the end */
    ck_assert_uint_eq(t_read(c, 0xC401, 0, 65536, &r), 0x9000);
    ck_assert_uint_eq(r.len, 1230);
    ck_assert_mem_eq(r.data, data, 1230);
    ck_assert_uint_eq(t_read(c, 0xC401, 2460, 65536, &r), 0x6282);
    ck_assert_uint_eq(r.len, 540);
    ck_assert_mem_eq(r.data, data + 2460, 540);
    ck_assert_uint_eq(t_read(c, 0xC401, 2900, 100, &r), 0x9000);   /* exactly Le up to the end */
    ck_assert_uint_eq(r.len, 100);
    ck_assert_uint_eq(t_read(c, 0xC401, 3000, 100, &r), 0x6282);
    ck_assert_uint_eq(r.len, 0);
    ck_assert_uint_eq(t_read(c, 0xC401, 3001, 100, &r), 0x6B00);
    /* offset-0 write over a longer file keeps the tail */
    ck_assert_uint_eq(t_write(c, 0xC401, 0, "AB", 2), 0x9000);
    ck_assert_uint_eq(t_read(c, 0xC401, 0, 4, &r), 0x9000);
    ck_assert_uint_eq(r.data[0], 'A');
    ck_assert_uint_eq(r.data[2], data[2]);
    /* writes beyond the end extend; a gap is refused */
    ck_assert_uint_eq(t_write(c, 0xC401, 3000, "Z", 1), 0x9000);
    ck_assert_uint_eq(t_write(c, 0xC401, 3002, "Z", 1), 0x6B00);
    /* P1P2 = 0000 reads and writes the current EF; even-INS READ BINARY too */
    uint8_t fid[2] = { 0xC4, 0x01 };
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x02, 0x0C, fid, 2, 0, NULL), 0x9000);
    ck_assert_uint_eq(t_read(c, 0x0000, 3000, 16, &r), 0x6282);
    ck_assert_uint_eq(r.len, 1);
    ck_assert_uint_eq(r.data[0], 'Z');
    ck_assert_uint_eq(tx(c, 0x00, 0xB0, 0x00, 0x01, NULL, 0, 3, &r), 0x9000);
    ck_assert_uint_eq(r.data[0], 'B');
    /* delete */
    uint8_t del[2] = { 0xC4, 0x01 };
    ck_assert_uint_eq(tx(c, 0x00, 0xE4, 0x02, 0x00, del, 2, 0, NULL), 0x9000);
    ck_assert_uint_eq(tx(c, 0x00, 0xE4, 0x02, 0x00, del, 2, 0, NULL), 0x6A82);
    ck_assert_uint_eq(t_read(c, 0xC401, 0, 16, &r), 0x6A82);
    ck_assert_uint_eq(tx(c, 0x00, 0xB0, 0x00, 0x00, NULL, 0, 3, &r), 0x6986);   /* no current EF any more */
    ck_assert_uint_eq(tx(c, 0x00, 0xE4, 0x01, 0x00, del, 2, 0, NULL), 0x6A86);
    ck_assert_uint_eq(tx(c, 0x00, 0xE4, 0x02, 0x00, del, 1, 0, NULL), 0x6700);
    hsm_bytes_free(&r);
    sim_card_free(c);
}
END_TEST

START_TEST(access_rules)
{
    sim_card *c = t_ready(-1, -1);
    hsm_bytes r = HSM_BYTES_INIT;
    ck_assert_uint_eq(t_write(c, 0xCD01, 0, "secret", 6), 0x9000);
    ck_assert_uint_eq(t_write(c, 0xCF01, 0, "public", 6), 0x9000);
    /* device certificate and keys are not writable; keys are never readable */
    ck_assert_uint_eq(t_write(c, 0x2F02, 0, "x", 1), 0x6982);
    ck_assert_uint_eq(t_write(c, 0xCC01, 0, "x", 1), 0x6982);
    ck_assert_uint_eq(t_read(c, 0xCC00, 0, 16, &r), 0x6982);
    ck_assert_uint_eq(t_read(c, 0xCC05, 0, 16, &r), 0x6A82);
    uint8_t cc00[2] = { 0xCC, 0x00 }, devc[2] = { 0x2F, 0x02 };
    ck_assert_uint_eq(tx(c, 0x00, 0xE4, 0x02, 0x00, cc00, 2, 0, NULL), 0x6982);
    ck_assert_uint_eq(tx(c, 0x00, 0xE4, 0x02, 0x00, devc, 2, 0, NULL), 0x6982);
    ck_assert_uint_eq(t_read(c, 0xCD01, 0, 16, &r), 0x6282);
    ck_assert_uint_eq(r.len, 6);
    /* logged out: CD needs the PIN, CF and 2F02 do not; writing and deleting need it */
    t_select(c);
    ck_assert_uint_eq(t_read(c, 0xCD01, 0, 16, &r), 0x6982);
    ck_assert_uint_eq(t_read(c, 0xCF01, 0, 16, &r), 0x6282);
    ck_assert_mem_eq(r.data, "public", 6);
    ck_assert_uint_eq(t_read(c, 0x2F02, 0, 65536, &r), 0x6282);
    ck_assert_uint_eq(t_write(c, 0xCF01, 0, "x", 1), 0x6982);
    uint8_t cf[2] = { 0xCF, 0x01 };
    ck_assert_uint_eq(tx(c, 0x00, 0xE4, 0x02, 0x00, cf, 2, 0, NULL), 0x6982);
    /* bad TLV in UPDATE/READ BINARY */
    t_login(c);
    const uint8_t bad1[] = { 0x54, 0x02, 0x00, 0x00, 0x53, 0x05, 0x01 };
    ck_assert_uint_eq(tx(c, 0x00, 0xD7, 0xCF, 0x01, bad1, sizeof(bad1), 0, NULL), 0x6A80);
    const uint8_t bad2[] = { 0x53, 0x01, 0x00 };
    ck_assert_uint_eq(tx(c, 0x00, 0xD7, 0xCF, 0x01, bad2, sizeof(bad2), 0, NULL), 0x6A80);
    const uint8_t bad3[] = { 0x54, 0x01, 0x00 };
    ck_assert_uint_eq(tx(c, 0x00, 0xB1, 0xCF, 0x01, bad3, sizeof(bad3), 16, NULL), 0x6A80);
    ck_assert_uint_eq(tx(c, 0x00, 0xD7, 0xCF, 0x01, bad1, 4, 0, NULL), 0x6A80);
    ck_assert_uint_eq(tx(c, 0x00, 0xD7, 0x00, 0x00, bad1, 4, 0, NULL), 0x6982);   /* current EF is 2F02 */
    hsm_bytes_free(&r);
    sim_card_free(c);
}
END_TEST

START_TEST(memory_full)
{
    sim_card *c = t_ready(-1, -1);
    uint8_t big[1100];
    memset(big, 0xEE, sizeof(big));
    int n = 0;
    uint16_t sw;
    /* ~76 KB: about 70 files of 1100 bytes fit, and then 6A84 */
    while ((sw = t_write(c, (uint16_t)(0xCF00 | n), 0, big, sizeof(big))) == 0x9000)
        n++;
    ck_assert_uint_eq(sw, 0x6A84);
    ck_assert_int_ge(n, 65);
    ck_assert_int_le(n, 71);
    /* the failed write left nothing behind */
    hsm_bytes r = HSM_BYTES_INIT;
    ck_assert_uint_eq(t_read(c, (uint16_t)(0xCF00 | n), 0, 16, &r), 0x6A82);
    /* deleting one makes room again */
    uint8_t del[2] = { 0xCF, 0x00 };
    ck_assert_uint_eq(tx(c, 0x00, 0xE4, 0x02, 0x00, del, 2, 0, NULL), 0x9000);
    ck_assert_uint_eq(t_write(c, 0xCF00, 0, big, sizeof(big)), 0x9000);
    hsm_bytes_free(&r);
    sim_card_free(c);
}
END_TEST

T_MAIN("sim_file", write_read_delete, access_rules, memory_full)
