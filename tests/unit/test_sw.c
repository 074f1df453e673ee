/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/sw.h"
#include "helper_run.h"

/* Every SW of protocol sheet section 19. */
static const uint16_t sheet[] = { 0x9000, 0x6282, 0x6700, 0x6900, 0x6985, 0x6986, 0x6982, 0x6983,
                                  0x6984, 0x6A80, 0x6A81, 0x6A82, 0x6A84, 0x6A86, 0x6A88, 0x6A89,
                                  0x6D00, 0x6E00, 0x6F00 };
static const uint8_t inss[] = { 0, 0x20, 0x24, 0x2C, 0x46, 0x48, 0x50, 0x52, 0x58, 0x62, 0x68, 0x72,
                                0x74, 0xA4, 0xB1, 0xD7, 0xE4 };

static int has(const char *s, const char *sub)
{
    return strstr(s, sub) != NULL;
}

START_TEST(every_sw_known)
{
    for (size_t i = 0; i < sizeof(sheet) / sizeof(sheet[0]); i++)
        for (size_t j = 0; j < sizeof(inss); j++) {
            const char *m = hsm_sw_message(sheet[i], inss[j]);
            ck_assert_ptr_nonnull(m);
            ck_assert_msg(!has(m, "does not know"), "SW %04X ins %02X is generic", sheet[i], inss[j]);
            ck_assert_uint_gt(strlen(m), 6);
        }
    for (int x = 0; x < 16; x++) {
        const char *m = hsm_sw_message((uint16_t)(0x63C0 | x), 0x20);
        ck_assert(!has(m, "does not know"));
    }
}
END_TEST

START_TEST(advice)
{
    ck_assert(has(hsm_sw_message(0x6983, 0x20), "PIN blocked"));
    ck_assert(has(hsm_sw_message(0x6983, 0x20), "schsm-tool unblock-pin"));
    ck_assert(has(hsm_sw_message(0x6983, 0x00), "unblock"));
    ck_assert(has(hsm_sw_message(0x6A88, 0x20), "card not initialised: run schsm-tool init"));
    ck_assert(has(hsm_sw_message(0x6982, 0x68), "PIN not verified"));
    ck_assert(has(hsm_sw_message(0x6A84, 0x46), "card memory full: delete keys"));
    ck_assert(has(hsm_sw_message(0x6A81, 0x68), "algorithm not allowed for this key"));
    ck_assert(has(hsm_sw_message(0x6984, 0x20), "transport PIN"));
    ck_assert(has(hsm_sw_message(0x6984, 0x68), "use counter"));
    ck_assert(has(hsm_sw_message(0x6A82, 0x68), "key not found"));
    ck_assert(has(hsm_sw_message(0x6A80, 0x74), "DKEK"));
    ck_assert(has(hsm_sw_message(0x63C2, 0x20), "2 tries left"));
    ck_assert(has(hsm_sw_message(0x63C1, 0x20), "1 try left"));
    ck_assert(has(hsm_sw_message(0x63C0, 0x20), "blocked"));
    ck_assert(has(hsm_sw_message(0x63C3, 0x2C), "SO-PIN"));
    /* specific texts differ from the generic one where it matters */
    ck_assert_str_ne(hsm_sw_message(0x6A88, 0x20), hsm_sw_message(0x6A88, 0x72));
}
END_TEST

START_TEST(unknown_sw)
{
    const char *m = hsm_sw_message(0x6B42, 0);
    ck_assert(has(m, "6B42"));
}
END_TEST

START_TEST(tries)
{
    ck_assert_int_eq(hsm_sw_tries(0x63C3), 3);
    ck_assert_int_eq(hsm_sw_tries(0x63C0), 0);
    ck_assert_int_eq(hsm_sw_tries(0x63CF), 15);
    ck_assert_int_eq(hsm_sw_tries(0x9000), -1);
    ck_assert_int_eq(hsm_sw_tries(0x6983), -1);
    ck_assert_int_eq(hsm_sw_tries(0x6300), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sw");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, every_sw_known);
    tcase_add_test(tc, advice);
    tcase_add_test(tc, unknown_sw);
    tcase_add_test(tc, tries);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
