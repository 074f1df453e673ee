/* SPDX-License-Identifier: Apache-2.0 */
/* The virtual card the sim fuzz targets start from: initialised, logged in, with an EC key (1), an
 * RSA key (2), an AES key (3), a data file and DKEK shares configured; made once, kept as its
 * saved state, and loaded fresh for every input. */
#ifndef SCHSM_FUZZ_SIM_H
#define SCHSM_FUZZ_SIM_H

#include "fuzz.h"

#include <openssl/obj_mac.h>

#include "hsm/apdu.h"
#include "hsm/cvc.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"
#include "sim/sim_int.h"

static hsm_bytes fuzz_sim_state = HSM_BYTES_INIT;

static inline uint16_t fuzz_sim_tx(sim_card *c, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data,
                            size_t lc, size_t le)
{
    hsm_apdu a = { cla, ins, p1, p2, (const uint8_t *)data, lc, le };
    hsm_bytes cmd = HSM_BYTES_INIT, r = HSM_BYTES_INIT;
    uint16_t sw = 0;
    if (hsm_apdu_encode(&a, HSM_APDU_AUTO, &cmd) == HSM_OK && sim_card_process(c, cmd.data, cmd.len, &r) >= 0
        && r.len >= 2)
        sw = (uint16_t)(r.data[r.len - 2] << 8 | r.data[r.len - 1]);
    hsm_bytes_free(&cmd);
    hsm_bytes_free(&r);
    return sw;
}

static inline void fuzz_sim_need(uint16_t sw, const char *what)
{
    if (sw != 0x9000) {
        fprintf(stderr, "fuzz setup: %s answered %04X\n", what, sw);
        abort();
    }
}

static const uint8_t FUZZ_AID[11] = { 0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01 };
static const uint8_t FUZZ_PIN[6] = { '6', '4', '8', '2', '1', '9' };

static inline void fuzz_sim_gakp(sim_card *c, uint8_t id, int nid, unsigned rsa_bits)
{
    hsm_gakp_params p = { nid, rsa_bits, "UTCA00001", "UTDUMMY00001", NULL, NULL, 0, -1, 0 };
    hsm_bytes d = HSM_BYTES_INIT;
    if (hsm_cvc_build_gakp(&p, &d) != HSM_OK)
        abort();
    hsm_apdu a = { 0x00, 0x46, id, 0x00, d.data, d.len, 65536 };
    hsm_bytes cmd = HSM_BYTES_INIT, r = HSM_BYTES_INIT;
    if (hsm_apdu_encode(&a, HSM_APDU_EXTENDED, &cmd) != HSM_OK || sim_card_process(c, cmd.data, cmd.len, &r) < 0
        || r.len < 2 || r.data[r.len - 2] != 0x90)
        abort();
    hsm_bytes_free(&cmd);
    hsm_bytes_free(&r);
    hsm_bytes_free(&d);
}

static inline void fuzz_sim_setup(void)
{
    sim_card *c = NULL;
    if (sim_card_new(&c) != HSM_OK)
        abort();
    fuzz_sim_need(fuzz_sim_tx(c, 0x00, 0xA4, 0x04, 0x0C, FUZZ_AID, sizeof(FUZZ_AID), 0), "SELECT");
    static const uint8_t init[] = { 0x80, 0x02, 0x00, 0x01, 0x81, 0x06, '6', '4', '8', '2', '1', '9',
                                    0x82, 0x08, '5', '7', '6', '2', '1', '8', '8', '0', 0x91, 0x01, 0x03,
                                    0x92, 0x01, 0x01 };
    fuzz_sim_need(fuzz_sim_tx(c, 0x80, 0x50, 0x00, 0x00, init, sizeof(init), 0), "INITIALIZE");
    fuzz_sim_need(fuzz_sim_tx(c, 0x00, 0x20, 0x00, 0x81, FUZZ_PIN, sizeof(FUZZ_PIN), 0), "VERIFY");
    fuzz_sim_gakp(c, 1, NID_X9_62_prime256v1, 0);
    fuzz_sim_gakp(c, 2, 0, 1024);
    fuzz_sim_need(fuzz_sim_tx(c, 0x00, 0x48, 0x03, 0xB0, NULL, 0, 0), "GENERATE AES");
    static const uint8_t file[] = { 0x54, 0x02, 0x00, 0x00, 0x53, 0x03, 'a', 'b', 'c' };
    fuzz_sim_need(fuzz_sim_tx(c, 0x00, 0xD7, 0xCF, 0x01, file, sizeof(file), 0), "UPDATE BINARY");
    if (sim_card_save(c, &fuzz_sim_state) != HSM_OK)
        abort();
    sim_card_free(c);
}

/* Commands too slow for fuzzing: generating an RSA key (up to 4096 bits) takes seconds. */
static inline int fuzz_sim_too_slow(const uint8_t *cmd, size_t len)
{
    static const uint8_t rsa_arc[9] = { 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x01 };
    return len >= 2 && cmd[1] == 0x46 && fuzz_contains(cmd, len, rsa_arc, sizeof(rsa_arc));
}

#endif
