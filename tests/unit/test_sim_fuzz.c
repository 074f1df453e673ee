/* SPDX-License-Identifier: Apache-2.0 */
/* Virtual card robustness: thousands of random and mutated APDUs (seeded, so reproducible)
 * never crash the card, always get a status word, and leave a state that saves and loads.
 * Most useful under -DSCHSM_SANITIZE=ON. */
#include <stdlib.h>

#include <openssl/obj_mac.h>

#include "hsm/cvc.h"
#include "sim_test.h"

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

/* Mostly plausible P1/P2 so that the deep paths run, not only the P1/P2 checks. */
static void good_p1p2(uint8_t ins, uint8_t *p1, uint8_t *p2)
{
    static const uint8_t sign_algs[] = { 0x20, 0x30, 0x33, 0x40, 0x43, 0x70, 0x73, 0x75 };
    static const uint8_t fids[][2] = { { 0xCF, 0x01 }, { 0x2F, 0x10 }, { 0xCE, 0x01 }, { 0x2F, 0x02 }, { 0xCC, 0x01 } };
    const uint8_t *f = fids[rnd() % 5];
    switch (ins) {
    case 0x20: case 0x24: *p1 = 0; *p2 = rnd() % 2 ? 0x81 : 0x88; break;
    case 0x2C: *p1 = (uint8_t)(rnd() % 2); *p2 = 0x81; break;
    case 0x46: case 0x68: case 0x62: case 0x78: *p1 = (uint8_t)(1 + rnd() % 3); break;
    default: break;
    }
    switch (ins) {
    case 0x46: *p2 = 0; break;
    case 0x48: *p1 = (uint8_t)(1 + rnd() % 3); *p2 = (uint8_t)(0xB0 + rnd() % 3); break;
    case 0x52: *p1 = (uint8_t)(rnd() % 5); *p2 = (uint8_t)(rnd() % 3); break;
    case 0x58: case 0x84: *p1 = *p2 = 0; break;
    case 0x62: *p2 = rnd() % 2 ? 0x21 : 0x80; break;
    case 0x68: *p2 = sign_algs[rnd() % sizeof(sign_algs)]; break;
    case 0x72: *p1 = 1; *p2 = 0x92; break;
    case 0x74: *p1 = 2; *p2 = 0x93; break;
    case 0x78: *p2 = (uint8_t[]){ 0x10, 0x11, 0x18 }[rnd() % 3]; break;
    case 0xA4: *p1 = rnd() % 2 ? 0x04 : 0x02; *p2 = rnd() % 2 ? 0x0C : 0x04; break;
    case 0xB0: *p1 = 0; break;
    case 0xB1: case 0xD7: *p1 = f[0]; *p2 = f[1]; break;
    case 0xE4: *p1 = 2; *p2 = 0; break;
    default: break;
    }
}

START_TEST(random_apdus)
{
    static const uint8_t ins[] = { 0xA4, 0x20, 0x24, 0x2C, 0x50, 0x52, 0x58, 0x46, 0x48, 0x62, 0x68,
                                   0x72, 0x74, 0x76, 0x78, 0x84, 0xB0, 0xB1, 0xD7, 0xE4, 0x22, 0x2A, 0x54 };
    static const uint8_t p2s[] = { 0x00, 0x04, 0x0C, 0x81, 0x88, 0x21, 0x80, 0x70, 0x73, 0x33, 0x40, 0x92, 0x93, 0x10,
                                   0x18, 0xB0 };
    sim_card *c = t_ready(1, 2);
    hsm_bytes r = HSM_BYTES_INIT, req = HSM_BYTES_INIT, d = HSM_BYTES_INIT, cmd = HSM_BYTES_INIT;
    uint8_t share[32] = { 1 };
    ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x00, 0x00, share, 32, 256, &r), 0x9000);
    hsm_gakp_params p = { NID_X9_62_prime256v1, 0, "UTCA00001", "UTDUMMY00001", NULL, NULL, 0, -1, 0 };
    ck_assert_int_eq(hsm_cvc_build_gakp(&p, &d), HSM_OK);
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x46, 0x01, 0x00, d.data, d.len, 65536, 1, &req), 0x9000);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x72, 0x01, 0x92, NULL, 0, 65536, 1, &r), 0x9000);
    ck_assert_uint_eq(tx(c, 0x00, 0x48, 0x02, 0xB1, NULL, 0, 0, NULL), 0x9000);
    hsm_gakp_params rp = { 0, 1024, NULL, "UTDUMMY00003", NULL, NULL, 0, -1, 0 };
    hsm_bytes_clear(&r);
    ck_assert_int_eq(hsm_cvc_build_gakp(&rp, &r), HSM_OK);
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x46, 0x03, 0x00, r.data, r.len, 65536, 1, NULL), 0x9000);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x72, 0x01, 0x92, NULL, 0, 65536, 1, &r), 0x9000);
    hsm_bytes blob = HSM_BYTES_INIT;
    hsm_bytes_put(&blob, r.data, r.len);
    for (int i = 0; i < 20000; i++) {
        uint8_t data[600];
        size_t lc = rnd() % 3 == 0 ? 0 : rnd() % sizeof(data);
        int kind = (int)(rnd() % 4);
        const hsm_bytes *src = kind == 1 ? &d : kind == 2 ? &blob : kind == 3 ? &req : NULL;
        if (src != NULL) {
            /* mutate a valid input: flip bytes, cut it */
            lc = src->len < sizeof(data) ? src->len : sizeof(data);
            memcpy(data, src->data, lc);
            for (int k = (int)(rnd() % 4); k > 0; k--)
                data[rnd() % lc] ^= (uint8_t)(1u << (rnd() % 8));
            if (rnd() % 2)
                lc = rnd() % (lc + 1);
        } else {
            for (size_t k = 0; k < lc; k++)
                data[k] = (uint8_t)rnd();
        }
        uint8_t in = ins[rnd() % sizeof(ins)];
        uint8_t cla = (in == 0x50 || in == 0x52 || in == 0x58 || in == 0x62 || in == 0x68 || in == 0x72
                       || in == 0x74 || in == 0x76 || in == 0x78 || in == 0x54) ? 0x80 : 0x00;
        if (in == 0x50 && lc > 0)
            continue;   /* a random INITIALIZE would only wipe the card */
        if (in == 0x46 && src != &d)
            continue;
        uint8_t p1 = (uint8_t)(rnd() % 4 == 0 ? rnd() : rnd() % 4);
        uint8_t p2 = p2s[rnd() % sizeof(p2s)];
        if (rnd() % 5 != 0)
            good_p1p2(in, &p1, &p2);
        hsm_apdu a = { cla, in, p1, p2, data, lc, rnd() % 2 ? 0 : (size_t)(rnd() % 65536 + 1) };
        ck_assert_int_eq(hsm_apdu_encode(&a, rnd() % 2 ? HSM_APDU_EXTENDED : HSM_APDU_AUTO, &cmd), HSM_OK);
        if (rnd() % 16 == 0)
            cmd.len = rnd() % (cmd.len + 1);   /* broken framing */
        int rc = sim_card_process(c, cmd.data, cmd.len, &r);
        ck_assert_int_ge(rc, 0);
        ck_assert_uint_ge(r.len, 2);
        if (rnd() % 50 == 0) {
            t_select(c);
            t_login(c);
        }
    }
    /* the state is still consistent */
    hsm_bytes s = HSM_BYTES_INIT;
    sim_card *e = NULL;
    ck_assert_int_eq(sim_card_save(c, &s), HSM_OK);
    ck_assert_int_eq(sim_card_load(s.data, s.len, &e), HSM_OK);
    hsm_bytes_free(&s);
    hsm_bytes_free(&blob);
    hsm_bytes_free(&r);
    hsm_bytes_free(&req);
    hsm_bytes_free(&d);
    hsm_bytes_free(&cmd);
    sim_card_free(c);
    sim_card_free(e);
}
END_TEST

START_TEST(change_flags)
{
    sim_card *c = t_fresh();
    hsm_bytes r = HSM_BYTES_INIT;
    const uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x0C, 0x0B, 0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01 };
    ck_assert_int_eq(sim_card_process(c, sel, sizeof(sel), &r), 1);
    ck_assert_int_eq(sim_card_last_persistent(c), 0);
    ck_assert_int_eq(sim_card_process(c, sel, sizeof(sel), &r), 0);   /* nothing changed */
    ck_assert_uint_eq(t_init(c, 0x0001, 3, -1, -1), 0x9000);
    ck_assert_int_eq(sim_card_last_persistent(c), 1);
    const uint8_t bad_pin[] = { 0x00, 0x20, 0x00, 0x81, 0x06, '0', '0', '0', '0', '0', '0' };
    ck_assert_int_eq(sim_card_process(c, bad_pin, sizeof(bad_pin), &r), 1);
    ck_assert_int_eq(sim_card_last_persistent(c), 1);
    const uint8_t status[] = { 0x00, 0x20, 0x00, 0x81 };
    ck_assert_int_eq(sim_card_process(c, status, sizeof(status), &r), 0);
    hsm_bytes_free(&r);
    sim_card_free(c);
}
END_TEST

T_MAIN("sim_fuzz", random_apdus, change_flags)
