/* SPDX-License-Identifier: Apache-2.0 */
/* Raw-APDU helpers shared by the test_sim_*.c tests (static, header only: not a helper_*.c,
 * so other tests do not link it). */
#ifndef SIM_TEST_H
#define SIM_TEST_H

#include <check.h>
#include <stdarg.h>
#include <string.h>

#include <openssl/evp.h>

#include "hsm/apdu.h"
#include "hsm/bytes.h"
#include "hsm/crypto.h"
#include "hsm/ecsig.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"
#include "sim/card.h"
#include "helper_run.h"

static const uint8_t T_AID[11] = { 0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01 };
static const uint8_t T_PIN[6] = { '6', '4', '8', '2', '1', '9' };
static const uint8_t T_SO[8] = { 0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30 };

/* Sends one command (short form when it fits, extended otherwise); resp gets the data only.
 * Returns the SW. */
static inline uint16_t tx_ex(sim_card *c, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data,
                             size_t lc, size_t le, int extended, hsm_bytes *resp)
{
    hsm_apdu a = { cla, ins, p1, p2, (const uint8_t *)data, lc, le };
    hsm_bytes cmd = HSM_BYTES_INIT, r = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_apdu_encode(&a, extended ? HSM_APDU_EXTENDED : HSM_APDU_AUTO, &cmd), HSM_OK);
    ck_assert_int_ge(sim_card_process(c, cmd.data, cmd.len, &r), 0);
    ck_assert_uint_ge(r.len, 2);
    uint16_t sw = (uint16_t)(r.data[r.len - 2] << 8 | r.data[r.len - 1]);
    if (resp != NULL) {
        hsm_bytes_clear(resp);
        hsm_bytes_put(resp, r.data, r.len - 2);
    }
    hsm_bytes_free(&cmd);
    hsm_bytes_free(&r);
    return sw;
}

static inline uint16_t tx(sim_card *c, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data, size_t lc,
                          size_t le, hsm_bytes *resp)
{
    return tx_ex(c, cla, ins, p1, p2, data, lc, le, 0, resp);
}

static inline uint16_t tx_raw(sim_card *c, const uint8_t *cmd, size_t len)
{
    hsm_bytes r = HSM_BYTES_INIT;
    ck_assert_int_ge(sim_card_process(c, cmd, len, &r), 0);
    ck_assert_uint_ge(r.len, 2);
    uint16_t sw = (uint16_t)(r.data[r.len - 2] << 8 | r.data[r.len - 1]);
    hsm_bytes_free(&r);
    return sw;
}

static inline sim_card *t_fresh(void)
{
    sim_card *c = NULL;
    ck_assert_int_eq(sim_card_new(&c), HSM_OK);
    return c;
}

static inline void t_select(sim_card *c)
{
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x04, 0x0C, T_AID, sizeof(T_AID), 0, NULL), 0x9000);
}

/* INITIALIZE with options, our PIN and SO-PIN, retries, and optional DKEK shares / domains
 * (-1 = omit). */
static inline uint16_t t_init(sim_card *c, uint16_t options, uint8_t retries, int shares, int domains)
{
    hsm_bytes d = HSM_BYTES_INIT;
    uint8_t o[2] = { (uint8_t)(options >> 8), (uint8_t)options };
    hsm_tlv_put(&d, 0x80, o, 2);
    hsm_tlv_put(&d, 0x81, T_PIN, sizeof(T_PIN));
    hsm_tlv_put(&d, 0x82, T_SO, sizeof(T_SO));
    hsm_tlv_put_u8(&d, 0x91, retries);
    if (shares >= 0)
        hsm_tlv_put_u8(&d, 0x92, (uint8_t)shares);
    if (domains >= 0)
        hsm_tlv_put_u8(&d, 0x97, (uint8_t)domains);
    uint16_t sw = tx(c, 0x80, 0x50, 0x00, 0x00, d.data, d.len, 0, NULL);
    hsm_bytes_free(&d);
    return sw;
}

static inline void t_login(sim_card *c)
{
    ck_assert_uint_eq(tx(c, 0x00, 0x20, 0x00, 0x81, T_PIN, sizeof(T_PIN), 0, NULL), 0x9000);
}

/* A selected, initialised (options 0001, 3 tries) and logged-in card. */
static inline sim_card *t_ready(int shares, int domains)
{
    sim_card *c = t_fresh();
    t_select(c);
    ck_assert_uint_eq(t_init(c, 0x0001, 3, shares, domains), 0x9000);
    t_login(c);
    return c;
}

static inline uint16_t t_write(sim_card *c, uint16_t fid, uint16_t off, const void *data, size_t len)
{
    hsm_bytes d = HSM_BYTES_INIT;
    uint8_t o[2] = { (uint8_t)(off >> 8), (uint8_t)off };
    hsm_tlv_put(&d, 0x54, o, 2);
    hsm_tlv_put(&d, 0x53, data, len);
    uint16_t sw = tx_ex(c, 0x00, 0xD7, (uint8_t)(fid >> 8), (uint8_t)fid, d.data, d.len, 0, d.len > 255, NULL);
    hsm_bytes_free(&d);
    return sw;
}

static inline uint16_t t_read(sim_card *c, uint16_t fid, uint16_t off, size_t le, hsm_bytes *out)
{
    uint8_t d[4] = { 0x54, 0x02, (uint8_t)(off >> 8), (uint8_t)off };
    return tx_ex(c, 0x00, 0xB1, (uint8_t)(fid >> 8), (uint8_t)fid, d, 4, le, 1, out);
}

/* Does the card's ECDSA signature (DER, possibly with superfluous 00 bytes in r or s) verify
 * over the SHA-256 hash h with pub? */
static inline int t_ecdsa_ok(EVP_PKEY *pub, const hsm_bytes *sig, const uint8_t h[32])
{
    hsm_bytes der = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_ecdsa_der_normalize(sig->data, sig->len, &der), HSM_OK);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), pub, NULL);
    int ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_verify(ctx, der.data, der.len, h, 32) == 1;
    EVP_PKEY_CTX_free(ctx);
    hsm_bytes_free(&der);
    return ok;
}

#define T_MAIN(name, ...)                                                                                              \
    int main(void)                                                                                                     \
    {                                                                                                                  \
        const TTest *tests[] = { __VA_ARGS__ };                                                                        \
        Suite *s = suite_create(name);                                                                                 \
        TCase *tc = tcase_create(name);                                                                                \
        tcase_set_timeout(tc, 240);                                                                                    \
        for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)                                                  \
            tcase_add_test(tc, tests[i]);                                                                              \
        suite_add_tcase(s, tc);                                                                                        \
        return helper_run_suite(s);                                                                                    \
    }

#endif
