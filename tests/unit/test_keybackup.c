/* SPDX-License-Identifier: Apache-2.0 */
/* hsm/keybackup.h without a card: which key domain a wrapped key needs, and what the messages
 * say when there is none (issue 8: incomplete DKEK names the missing shares). sim/firmware.c:
 * the firmware-version setting survives the state file. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helper_run.h"
#include "hsm/keybackup.h"
#include "hsm/rv.h"
#include "sim/card.h"
#include "sim/sim_int.h"

static const uint8_t KCV_A[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t KCV_B[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };

static void dkek(hsm_kb_domain *d, uint8_t total, uint8_t missing, const uint8_t *kcv)
{
    memset(d, 0, sizeof(*d));
    d->present = 1;
    d->st.total = total;
    d->st.missing = missing;
    if (kcv != NULL && missing == 0)
        memcpy(d->st.kcv, kcv, 8);
}

START_TEST(domain_found_by_kcv)
{
    hsm_kb_domain d[3];
    hsm_kb_result r;
    memset(&r, 0, sizeof(r));
    dkek(&d[0], 2, 0, KCV_B);
    memset(&d[1], 0, sizeof(d[1]));   /* empty slot */
    dkek(&d[2], 1, 0, KCV_A);
    ck_assert_int_eq(hsm_kb_domain_for_kcv(d, 3, KCV_A, &r), 2);
    ck_assert_int_eq(hsm_kb_domain_for_kcv(d, 3, KCV_B, &r), 0);
}
END_TEST

START_TEST(incomplete_dkek_names_missing_shares)
{
    hsm_kb_domain d[2];
    hsm_kb_result r;
    memset(&r, 0, sizeof(r));
    dkek(&d[0], 3, 2, NULL);
    dkek(&d[1], 1, 0, KCV_B);
    ck_assert_int_eq(hsm_kb_domain_for_kcv(d, 2, KCV_A, &r), -1);
    ck_assert_int_eq(r.reason, HSM_KB_DKEK_INCOMPLETE);
    ck_assert_ptr_nonnull(strstr(r.why, "domain 0 has 1 of 3 shares, 2 missing"));
    ck_assert_ptr_nonnull(strstr(r.why, "0102030405060708"));
    ck_assert_ptr_null(strstr(r.why, "incomplete )"));
}
END_TEST

START_TEST(wrong_and_no_dkek)
{
    hsm_kb_domain d[1];
    hsm_kb_result r;
    memset(&r, 0, sizeof(r));
    dkek(&d[0], 1, 0, KCV_B);
    ck_assert_int_eq(hsm_kb_domain_for_kcv(d, 1, KCV_A, &r), -1);
    ck_assert_int_eq(r.reason, HSM_KB_WRONG_DKEK);
    ck_assert_ptr_nonnull(strstr(r.why, "domain 0 KCV 0909090909090909"));
    ck_assert_int_eq(hsm_kb_domain_for_kcv(d, 0, KCV_A, &r), -1);
    ck_assert_int_eq(r.reason, HSM_KB_NO_DKEK);
    /* An XKEK domain's KEK wraps too: its KCV is matched like a DKEK's. */
    d[0].st.total = 0xFF;
    memcpy(d[0].st.kcv, KCV_A, 8);
    ck_assert_int_eq(hsm_kb_domain_for_kcv(d, 1, KCV_A, &r), 0);
    ck_assert_int_eq(hsm_kb_domain_for_kcv(d, 1, KCV_B, &r), -1);
    ck_assert_ptr_nonnull(strstr(r.why, "domain 0 XKEK KCV 0102030405060708"));
}
END_TEST

START_TEST(firmware_setting_round_trip)
{
    uint8_t ma = 0, mi = 0;
    ck_assert(sim_fw_parse("3.1", &ma, &mi) && ma == 3 && mi == 1);
    ck_assert(!sim_fw_parse("3", &ma, &mi));
    ck_assert(!sim_fw_parse("3.1x", &ma, &mi));
    ck_assert(!sim_fw_parse("256.0", &ma, &mi));
    sim_card *c = NULL, *back = NULL;
    ck_assert_int_eq(sim_card_new(&c), HSM_OK);
    ck_assert(c->fw_major == SIM_FW_MAJOR && c->fw_minor == SIM_FW_MINOR);
    ck_assert(!sim_fw_refuses_unwrap_with_algs(c, 3));
    hsm_bytes s = HSM_BYTES_INIT;
    c->fw_major = 3;
    c->fw_minor = 1;
    ck_assert(sim_fw_refuses_unwrap_with_algs(c, 3));
    ck_assert(!sim_fw_refuses_unwrap_with_algs(c, 0));
    ck_assert_int_eq(sim_card_save(c, &s), HSM_OK);
    ck_assert_int_eq(sim_card_load(s.data, s.len, &back), HSM_OK);
    ck_assert(back->fw_major == 3 && back->fw_minor == 1);
    sim_card_free(back);
    sim_card_free(c);
    hsm_bytes_free(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("keybackup");
    TCase *t = tcase_create("keybackup");
    tcase_add_test(t, domain_found_by_kcv);
    tcase_add_test(t, incomplete_dkek_names_missing_shares);
    tcase_add_test(t, wrong_and_no_dkek);
    tcase_add_test(t, firmware_setting_round_trip);
    suite_add_tcase(s, t);
    return helper_run_suite(s);
}
