/* SPDX-License-Identifier: Apache-2.0 */
/* The virtual card's APDU handler (sim/): a sequence of arbitrary command APDUs (fuzz_take framing)
 * against a prepared card (fuzz_sim.h). Properties: every command gets an answer ending in a status
 * word, within the card's response size; the state after any sequence saves, loads and saves to the
 * same bytes (a state the card wrote always loads). */
#include "fuzz_sim.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sim_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sim_card *c = NULL;
    if (sim_card_load(fuzz_sim_state.data, fuzz_sim_state.len, &c) != HSM_OK)
        abort();
    const uint8_t *p = data, *end = data + size, *cmd;
    size_t len;
    int n = 0;
    while (n++ < 16 && fuzz_take(&p, end, &cmd, &len)) {
        if (fuzz_sim_too_slow(cmd, len))
            continue;
        hsm_bytes r = HSM_BYTES_INIT;
        int rc = sim_card_process(c, cmd, len, &r);
        FUZZ_CHECK(rc >= 0, "no internal error");
        FUZZ_CHECK(r.len >= 2 && r.len <= 65536 + 2, "an answer with a status word");
        uint8_t sw1 = r.data[r.len - 2];
        FUZZ_CHECK(sw1 == 0x90 || sw1 == 0x61 || (sw1 >= 0x62 && sw1 <= 0x6F), "a status word from ISO 7816-4");
        FUZZ_CHECK(sw1 == 0x90 || sw1 == 0x62 || sw1 == 0x61 || r.len == 2, "no data with an error status");
        hsm_bytes_free(&r);
    }
    hsm_bytes s1 = HSM_BYTES_INIT, s2 = HSM_BYTES_INIT;
    sim_card *back = NULL;
    FUZZ_CHECK(sim_card_save(c, &s1) == HSM_OK, "state saves");
    FUZZ_CHECK(sim_card_load(s1.data, s1.len, &back) == HSM_OK, "the saved state loads");
    FUZZ_CHECK(sim_card_save(back, &s2) == HSM_OK && s1.len == s2.len && memcmp(s1.data, s2.data, s1.len) == 0,
               "load and save give the same state");
    sim_card_free(back);
    sim_card_free(c);
    hsm_bytes_free(&s1);
    hsm_bytes_free(&s2);
    return 0;
}
