/* SPDX-License-Identifier: Apache-2.0 */
/* Regression tests for what the fuzzers found (issue 9, item 6, and tests/fuzz/ runs): empty card
 * answers (no data buffer at all) reaching the TLV parser and the directory comparison, and a
 * virtual-card key whose stored size is no curve's field size. Run them under ASan/UBSan
 * (scripts/test.sh --sanitize) to see the original faults; without sanitizers they check the results. */
#include <stdlib.h>

#include <openssl/obj_mac.h>

#include "hsm/cvc.h"
#include "hsm/token.h"
#include "reader/reader.h"
#include "sim/sim_int.h"
#include "helper_token.h"
#include "sim_test.h"

START_TEST(tlv_empty_input)
{
    hsm_tlv t;
    const uint8_t one[] = { 0x04, 0x00 };
    ck_assert_int_eq(hsm_tlv_parse_one(NULL, 0, &t), HSM_E_PARSE);
    ck_assert_int_eq(hsm_tlv_parse_one(one, 0, &t), HSM_E_PARSE);
    ck_assert_int_eq(hsm_tlv_find(NULL, 0, 0x85, &t), 0);
    ck_assert_int_eq(hsm_tlv_find(one, 0, 0x04, &t), 0);
    ck_assert_int_eq(hsm_tlv_parse_one(one, sizeof(one), &t), HSM_OK);
    ck_assert_uint_eq(t.len, 0);
}
END_TEST

/* A transport around the real "sim:PATH" one that changes answers as a faulty card or reader
 * would: a bare 9000 for instruction blank_ins; for VERIFY with a PIN, the answer 6C01
 * (verify_6c) or no answer at all after the card ran it (verify_lost). Counts VERIFYs with a PIN. */
static uint8_t blank_ins;
static int verify_6c, verify_lost, verifies_sent;
static hsm_transport *inner;

static int blank_transmit(hsm_transport *t, const uint8_t *cmd, size_t len, uint8_t *resp, size_t *rl)
{
    (void)t;
    int with_pin = len > 5 && cmd[1] == 0x20 && cmd[3] == 0x81;
    verifies_sent += with_pin;
    int rc = inner->ops->transmit(inner, cmd, len, resp, rl);
    if (rc == HSM_OK && len >= 2 && cmd[1] == blank_ins && *rl >= 2 && resp[*rl - 2] == 0x90) {
        resp[0] = 0x90;
        resp[1] = 0x00;
        *rl = 2;
    }
    if (rc == HSM_OK && with_pin && verify_6c) {
        resp[0] = 0x6C;
        resp[1] = 0x01;
        *rl = 2;
    }
    if (rc == HSM_OK && with_pin && verify_lost)
        return HSM_E_COMM;
    return rc;
}
static int blank_begin(hsm_transport *t) { (void)t; return inner->ops->begin(inner); }
static void blank_end(hsm_transport *t) { (void)t; inner->ops->end(inner); }
static int blank_reset(hsm_transport *t) { (void)t; return inner->ops->reset(inner); }
static size_t blank_atr(hsm_transport *t, uint8_t *out, size_t cap) { (void)t; return inner->ops->atr(inner, out, cap); }
static void blank_close(hsm_transport *t)
{
    inner->ops->close(inner);
    inner = NULL;
    free(t);
}
static const struct hsm_transport_ops blank_ops = { blank_transmit, blank_begin, blank_end, blank_reset,
                                                    blank_atr, blank_close };

static int blank_open(const char *spec, hsm_transport **out, char *why, size_t why_len)
{
    int rc = schsm_reader_open(spec, &inner, why, why_len);
    if (rc != HSM_OK)
        return rc;
    hsm_transport *t = calloc(1, sizeof(*t));
    ck_assert_ptr_nonnull(t);
    t->ops = &blank_ops;
    snprintf(t->reader, sizeof(t->reader), "%s", inner->reader);
    *out = t;
    return HSM_OK;
}

/* A fresh initialised card reached through the tampering transport, and a token on it. */
static hsm_token *tampered_token(const char *name)
{
    hsm_card *c = helper_card_fresh(name);
    helper_card_begin(c);
    helper_card_init(c, -1);
    hsm_card_end(c);
    hsm_card_free(c);
    blank_ins = 0;
    verifies_sent = 0;
    hsm_token *t = NULL;
    ck_assert_int_eq(hsm_token_new(helper_spec, blank_open, &t), HSM_OK);
    return t;
}

START_TEST(select_answered_by_bare_9000)
{
    hsm_card *c = helper_card_fresh("bare-select");
    hsm_card_free(c);
    hsm_transport *t = NULL;
    char why[256];
    blank_ins = 0xA4;
    ck_assert_int_eq(blank_open(helper_spec, &t, why, sizeof(why)), HSM_OK);
    ck_assert_int_eq(hsm_card_new(t, &c), HSM_OK);
    helper_card_begin(c);
    hsm_fcp fcp;
    ck_assert_int_eq(hsm_card_select(c, &fcp), HSM_E_PARSE);
    hsm_card_end(c);
    hsm_card_free(c);
}
END_TEST

START_TEST(enumerate_without_data_twice)
{
    hsm_token *t = tampered_token("bare-enum");
    blank_ins = 0x58;
    hsm_key *keys = NULL;
    size_t n = 1;
    /* The second read compares the new (empty) directory with the old (empty) one. */
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(hsm_token_list_keys(t, &keys, &n) == HSM_OK, "list: %s", hsm_token_error(t));
        ck_assert_uint_eq(n, 0);
        free(keys);
        keys = NULL;
    }
    hsm_token_free(t);
}
END_TEST

/* fuzz_host: a VERIFY answered 6Cxx ("wrong Le", meaningless for a command without Le) was
 * re-issued by hsm_card_transmit, sending the PIN a second time. */
START_TEST(verify_answered_6cxx_sent_once)
{
    hsm_token *t = tampered_token("verify-6c");
    verify_6c = 1;
    ck_assert_int_eq(hsm_token_login(t, HELPER_PIN, strlen(HELPER_PIN), 0), HSM_E_SW);
    ck_assert_int_eq(verifies_sent, 1);
    /* the outcome is unknown, so this session does not send that PIN again */
    ck_assert_int_eq(hsm_token_login(t, HELPER_PIN, strlen(HELPER_PIN), 0), HSM_E_PIN_REFUSED);
    ck_assert_int_eq(verifies_sent, 1);
    verify_6c = 0;
    hsm_token_free(t);
}
END_TEST

/* fuzz_host: a wrong PIN whose VERIFY answer was lost (the card counted the try) was sent again on
 * the next login, costing a second try. */
START_TEST(lost_verify_answer_costs_one_try)
{
    hsm_token *t = tampered_token("verify-lost");
    verify_lost = 1;
    ck_assert_int_eq(hsm_token_login(t, "999999", 6, 0), HSM_E_COMM);
    ck_assert_ptr_nonnull(strstr(hsm_token_error(t), "will not send that PIN again"));
    ck_assert_int_eq(hsm_token_login(t, "999999", 6, 0), HSM_E_PIN_REFUSED);
    ck_assert_int_eq(verifies_sent, 1);
    verify_lost = 0;
    /* exactly one try gone (3 - 1), and the right PIN still works in this session */
    hsm_token_info info;
    ck_assert_int_eq(hsm_token_info_get(t, &info), HSM_OK);
    ck_assert_int_eq(info.pin_tries, 2);
    ck_assert_msg(hsm_token_login(t, HELPER_PIN, strlen(HELPER_PIN), 0) == HSM_OK, "%s", hsm_token_error(t));
    hsm_token_free(t);
}
END_TEST

/* fuzz_sim_apdu: a command without data reached the handlers with data == NULL, and UPDATE
 * BINARY, GENERATE ASYMMETRIC KEY PAIR and XKEK creation computed data + lc on it. (INITIALIZE
 * without data is the device-information query: it never parses.) */
START_TEST(command_without_data)
{
    static const uint8_t update[] = { 0x00, 0xD7, 0xCF, 0x01 };
    hsm_apdu a;
    int ext = 1;
    ck_assert_int_eq(hsm_apdu_parse(update, sizeof(update), &a, &ext), HSM_OK);
    ck_assert_uint_eq(a.lc, 0);
    ck_assert_ptr_nonnull(a.data);
    sim_card *c = t_ready(-1, 2);
    ck_assert_uint_eq(tx_raw(c, update, sizeof(update)), 0x6A80);
    static const uint8_t gakp[] = { 0x00, 0x46, 0x05, 0x00 };
    ck_assert_uint_ne(tx_raw(c, gakp, sizeof(gakp)), 0x9000);
    static const uint8_t xkek[] = { 0x80, 0x52, 0x02, 0x01 };
    ck_assert_uint_ne(tx_raw(c, xkek, sizeof(xkek)), 0x9000);
    sim_card_free(c);
    sim_card *fresh = t_fresh();
    t_select(fresh);
    static const uint8_t init[] = { 0x80, 0x50, 0x00, 0x00 };
    ck_assert_uint_eq(tx_raw(fresh, init, sizeof(init)), 0x9000);   /* device information */
    sim_card_free(fresh);
}
END_TEST

START_TEST(dump_of_empty_prkd)
{
    sim_card *c = t_fresh();
    ck_assert_ptr_nonnull(sim_file_put(c, 0xC401));   /* exists, holds nothing */
    hsm_bytes out = HSM_BYTES_INIT;
    ck_assert_int_eq(sim_card_dump(c, &out), HSM_OK);
    ck_assert_uint_gt(out.len, 0);
    hsm_bytes_free(&out);
    sim_card_free(c);
}
END_TEST

/* A key whose stored size is no field size: SIGN fails cleanly (no leak under ASan), and a
 * state file holding such a key is refused when loaded. */
START_TEST(ec_key_with_bad_field_size)
{
    sim_card *c = t_ready(-1, -1);
    hsm_gakp_params p = { NID_X9_62_prime256v1, 0, "UTCA00001", "UTDUMMY00001", NULL, NULL, 0, -1, 0 };
    hsm_bytes d = HSM_BYTES_INIT, out = HSM_BYTES_INIT, saved = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_cvc_build_gakp(&p, &d), HSM_OK);
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x46, 1, 0x00, d.data, d.len, 65536, 1, &out), 0x9000);
    uint8_t h[32] = { 1, 2, 3 };
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x68, 1, 0x70, h, sizeof(h), 65536, 1, &out), 0x9000);

    sim_key *k = sim_key_find(c, 1);
    ck_assert_ptr_nonnull(k);
    k->bits = 1000;   /* 125-byte field: larger than any curve's */
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x68, 1, 0x70, h, sizeof(h), 65536, 1, &out), 0x6F00);

    ck_assert_int_eq(sim_card_save(c, &saved), HSM_OK);
    sim_card *back = NULL;
    ck_assert_int_eq(sim_card_load(saved.data, saved.len, &back), HSM_E_PARSE);
    ck_assert_ptr_null(back);
    k->bits = 256;    /* the same card with the right size loads */
    ck_assert_int_eq(sim_card_save(c, &saved), HSM_OK);
    ck_assert_int_eq(sim_card_load(saved.data, saved.len, &back), HSM_OK);
    sim_card_free(back);

    hsm_bytes_free(&d);
    hsm_bytes_free(&out);
    hsm_bytes_free(&saved);
    sim_card_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fuzz_findings");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, tlv_empty_input);
    tcase_add_test(tc, select_answered_by_bare_9000);
    tcase_add_test(tc, enumerate_without_data_twice);
    tcase_add_test(tc, verify_answered_6cxx_sent_once);
    tcase_add_test(tc, lost_verify_answer_costs_one_try);
    tcase_add_test(tc, command_without_data);
    tcase_add_test(tc, dump_of_empty_prkd);
    tcase_add_test(tc, ec_key_with_bad_field_size);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
