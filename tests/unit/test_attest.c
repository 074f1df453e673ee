/* SPDX-License-Identifier: Apache-2.0 */
/* Device chain verdicts (hsm/device.h), attestation bundles and requests (hsm/attest.h), KDM
 * parsing (hsm/xkek.h) and the virtual card's firmware update, on virtual cards. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/attest.h"
#include "hsm/device.h"
#include "hsm/rv.h"
#include "hsm/xkek.h"
#include "sim/card.h"
#include "helper_run.h"
#include "helper_token.h"

static void devcerts_of(hsm_token *t, hsm_bytes *out)
{
    ck_assert_int_eq(hsm_token_read_file(t, HSM_FID_DEVCERT, out), HSM_OK);
}

START_TEST(chain_verdicts)
{
    helper_token_card("attest-verdicts");
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_bytes certs = HSM_BYTES_INIT;
    hsm_chain ch;
    devcerts_of(t, &certs);
    ck_assert_int_eq(hsm_chain_verify(certs.data, certs.len, 0, NULL, &ch), HSM_E_VERIFY);
    ck_assert_int_eq(ch.verdict, HSM_CHAIN_TEST_UNTRUSTED);
    ck_assert(ch.test_root && ch.device_key != NULL);
    hsm_chain_free(&ch);
    ck_assert_int_eq(hsm_chain_verify(certs.data, certs.len, HSM_TRUST_TEST_ROOT, NULL, &ch), HSM_OK);
    ck_assert_int_eq(ch.verdict, HSM_CHAIN_TEST);
    ck_assert(hsm_chain_trusted(&ch));
    ck_assert_str_eq(ch.root, HSM_ROOT_TEST);
    ck_assert_str_eq(ch.device.car, ch.dica.chr);
    hsm_chain_free(&ch);
    /* after the certificates' expiry (2044-12-31) and before the DICA's effective date (2024) */
    static const uint8_t late[6] = { 4, 5, 0, 1, 0, 1 }, early[6] = { 2, 0, 0, 1, 0, 1 };
    ck_assert_int_eq(hsm_chain_verify(certs.data, certs.len, HSM_TRUST_TEST_ROOT, late, &ch), HSM_E_VERIFY);
    ck_assert_int_eq(ch.verdict, HSM_CHAIN_EXPIRED);
    ck_assert_ptr_nonnull(strstr(ch.failed, "DICA"));
    hsm_chain_free(&ch);
    ck_assert_int_eq(hsm_chain_verify(certs.data, certs.len, HSM_TRUST_TEST_ROOT, early, &ch), HSM_E_VERIFY);
    ck_assert_int_eq(ch.verdict, HSM_CHAIN_EXPIRED);
    hsm_chain_free(&ch);
    /* every truncation is malformed, never a crash or a trusted verdict */
    for (size_t n = 0; n < certs.len; n++) {
        ck_assert_int_ne(hsm_chain_verify(certs.data, n, HSM_TRUST_TEST_ROOT, NULL, &ch), HSM_OK);
        hsm_chain_free(&ch);
    }
    /* a flipped bit in each certificate's signature */
    certs.data[certs.len - 1] ^= 1;
    hsm_chain_verify(certs.data, certs.len, HSM_TRUST_TEST_ROOT, NULL, &ch);
    ck_assert_int_eq(ch.verdict, HSM_CHAIN_BAD_SIGNATURE);
    hsm_chain_free(&ch);
    hsm_bytes_free(&certs);
    hsm_token_free(t);
}
END_TEST

START_TEST(chain_file_roundtrip)
{
    helper_token_card("attest-chainfile");
    hsm_token *t = helper_token(NULL);
    hsm_bytes certs = HSM_BYTES_INIT, pem = HSM_BYTES_INIT, back = HSM_BYTES_INIT, raw = HSM_BYTES_INIT;
    devcerts_of(t, &certs);
    ck_assert_int_eq(hsm_chain_file_encode(certs.data, certs.len, &pem), HSM_OK);
    ck_assert_ptr_nonnull(strstr((const char *)pem.data, "-----BEGIN SMARTCARD-HSM DEVICE CHAIN-----"));
    ck_assert_int_eq(hsm_chain_file_decode(pem.data, pem.len, &back), HSM_OK);
    ck_assert_uint_eq(back.len, certs.len);
    ck_assert_mem_eq(back.data, certs.data, certs.len);
    ck_assert_int_eq(hsm_chain_file_decode(certs.data, certs.len, &raw), HSM_OK);   /* raw 2F02 bytes */
    ck_assert_int_ne(hsm_chain_file_decode((const uint8_t *)"junk", 4, &raw), HSM_OK);
    hsm_bytes_free(&certs);
    hsm_bytes_free(&pem);
    hsm_bytes_free(&back);
    hsm_bytes_free(&raw);
    hsm_token_free(t);
}
END_TEST

START_TEST(bundle_and_lost_request)
{
    helper_token_card("attest-bundle");
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key k;
    hsm_bytes req = HSM_BYTES_INIT, certs = HSM_BYTES_INIT, pem = HSM_BYTES_INIT, der = HSM_BYTES_INIT;
    hsm_attest_parts parts;
    hsm_attestation at;
    uint16_t where = 0;
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_attest_find_request(t, &k, &req, &where, NULL), HSM_OK);
    ck_assert_uint_eq(where, 0xCE00 | k.key_ref);
    devcerts_of(t, &certs);
    parts = hsm_attest_parts_of(&req, &certs);
    ck_assert_int_eq(hsm_attest_verify(&parts, HSM_TRUST_TEST_ROOT, &at), HSM_OK);
    ck_assert_int_eq(hsm_attest_bundle_encode(req.data, req.len, certs.data, certs.len, at.key, &pem), HSM_OK);
    hsm_attestation_free(&at);
    ck_assert_int_eq(hsm_attest_bundle_decode(pem.data, pem.len, &der, &parts), HSM_OK);
    ck_assert_int_eq(hsm_attest_verify(&parts, HSM_TRUST_TEST_ROOT, &at), HSM_OK);
    ck_assert(at.request_ok && at.spki_ok);
    hsm_attestation_free(&at);
    ck_assert_int_eq(hsm_attest_verify(&parts, 0, &at), HSM_E_VERIFY);   /* test root not trusted */
    ck_assert(at.request_ok);
    hsm_attestation_free(&at);
    /* another tool stores a certificate over CEnn without keeping the request: it is gone */
    hsm_card *c = hsm_token_lock_login(t);
    ck_assert_ptr_nonnull(c);
    static const uint8_t not_a_request[4] = { 0x30, 0x02, 0x05, 0x00 };
    ck_assert_int_eq(hsm_card_delete_file(c, 0xCE00 | k.key_ref), HSM_OK);
    ck_assert_int_eq(hsm_card_write_file(c, 0xCE00 | k.key_ref, not_a_request, sizeof(not_a_request)), HSM_OK);
    hsm_token_unlock(t, 1);
    ck_assert_int_eq(hsm_attest_find_request(t, &k, &req, &where, NULL), HSM_E_NOT_FOUND);
    hsm_bytes_free(&req);
    hsm_bytes_free(&certs);
    hsm_bytes_free(&pem);
    hsm_bytes_free(&der);
    hsm_token_free(t);
}
END_TEST

START_TEST(parsers_refuse_truncation)
{
    /* A real bundle and a real KDM (key "one" acting as group signer for its own card). */
    helper_token_card("attest-kdm");
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key k;
    hsm_bytes req = HSM_BYTES_INIT, certs = HSM_BYTES_INIT, pem = HSM_BYTES_INIT, der = HSM_BYTES_INIT;
    hsm_bytes kpem = HSM_BYTES_INIT, kder = HSM_BYTES_INIT;
    char why[512];
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_attest_find_request(t, &k, &req, NULL, NULL), HSM_OK);
    devcerts_of(t, &certs);
    hsm_attest_parts parts = hsm_attest_parts_of(&req, &certs);
    hsm_attestation at;
    hsm_attest_verify(&parts, HSM_TRUST_TEST_ROOT, &at);
    ck_assert_int_eq(hsm_attest_bundle_encode(req.data, req.len, certs.data, certs.len, at.key, &pem), HSM_OK);
    hsm_attestation_free(&at);
    ck_assert_int_eq(hsm_pem_decode(HSM_ATTEST_PEM_NAME, pem.data, pem.len, &der), HSM_OK);
    ck_assert_int_eq(hsm_kdm_issue(t, &k, &req, &certs, certs.data, certs.len, HSM_TRUST_TEST_ROOT, &kpem, why,
                                   sizeof(why)), HSM_OK);
    hsm_kdm kdm;
    ck_assert_int_eq(hsm_kdm_parse(kpem.data, kpem.len, &kdm), HSM_OK);
    ck_assert_uint_eq(kdm.sig_len, 64);
    ck_assert_uint_eq(kdm.devcerts.len, certs.len);
    hsm_kdm_free(&kdm);
    ck_assert_int_eq(hsm_pem_decode(HSM_KDM_PEM_NAME, kpem.data, kpem.len, &kder), HSM_OK);
    for (size_t n = 1; n < der.len; n++) {
        hsm_bytes cut = HSM_BYTES_INIT, d2 = HSM_BYTES_INIT;
        ck_assert_int_eq(hsm_pem_encode(HSM_ATTEST_PEM_NAME, der.data, n, &cut), HSM_OK);
        ck_assert_int_ne(hsm_attest_bundle_decode(cut.data, cut.len, &d2, &parts), HSM_OK);
        hsm_bytes_free(&cut);
        hsm_bytes_free(&d2);
    }
    for (size_t n = 1; n < kder.len; n++) {
        ck_assert_int_ne(hsm_kdm_parse(kder.data, n, &kdm), HSM_OK);
        hsm_kdm_free(&kdm);
    }
    hsm_bytes_free(&req);
    hsm_bytes_free(&certs);
    hsm_bytes_free(&pem);
    hsm_bytes_free(&der);
    hsm_bytes_free(&kpem);
    hsm_bytes_free(&kder);
    hsm_token_free(t);
}
END_TEST

START_TEST(firmware_update_keeps_serial)
{
    sim_card *c = NULL;
    char before[32], after[32];
    ck_assert_int_eq(sim_card_new(&c), HSM_OK);
    hsm_bytes st = HSM_BYTES_INIT;
    uint8_t fw[2];
    sim_card_firmware_version(c, fw);
    ck_assert_uint_eq(fw[0], 3);
    ck_assert_uint_eq(fw[1], 5);
    ck_assert_int_eq(sim_card_dump(c, &st), HSM_OK);
    ck_assert_int_eq(sscanf((const char *)st.data, "device CHR: %31s", before), 1);
    ck_assert_int_eq(sim_card_firmware_update(c, 4, 1), HSM_OK);
    hsm_bytes_clear(&st);
    st.len = 0;
    ck_assert_int_eq(sim_card_save(c, &st), HSM_OK);
    sim_card_free(c);
    c = NULL;
    ck_assert_int_eq(sim_card_load(st.data, st.len, &c), HSM_OK);   /* version persisted (tag 8F) */
    sim_card_firmware_version(c, fw);
    ck_assert_uint_eq(fw[0], 4);
    ck_assert_uint_eq(fw[1], 1);
    hsm_bytes_clear(&st);
    st.len = 0;
    ck_assert_int_eq(sim_card_dump(c, &st), HSM_OK);
    ck_assert_int_eq(sscanf((const char *)st.data, "device CHR: %31s", after), 1);
    ck_assert_str_ne(before, after);
    ck_assert_int_eq(strncmp(before, after, strlen(before) - 5), 0);   /* same serial */
    ck_assert_str_eq(after + strlen(after) - 5, "00001");
    hsm_bytes_free(&st);
    sim_card_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("attest");
    TCase *tc = tcase_create("attest");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, chain_verdicts);
    tcase_add_test(tc, chain_file_roundtrip);
    tcase_add_test(tc, bundle_and_lost_request);
    tcase_add_test(tc, parsers_refuse_truncation);
    tcase_add_test(tc, firmware_update_keeps_serial);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
