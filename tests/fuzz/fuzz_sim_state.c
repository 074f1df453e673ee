/* SPDX-License-Identifier: Apache-2.0 */
/* The virtual card's state loader (sim/state.c). The first input byte chooses: odd = the rest is a
 * whole state file as read from disk; even = the rest is the TLV body, wrapped here in the magic,
 * version and SHA-256 the file carries, so that the fuzzer reaches the body parser. A state that
 * loads must save and load to the same bytes, dump, and survive using every key it holds. */
#include "fuzz_sim.h"

#include <openssl/evp.h>

#include "hsm/crypto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void wrap(const uint8_t *body, size_t len, hsm_bytes *out)
{
    uint8_t h[32];
    unsigned int hl = 0;
    if (EVP_Digest(body, len, h, &hl, EVP_sha256(), NULL) != 1)
        abort();
    hsm_bytes_put(out, "SCHSMSIM", 8);
    hsm_bytes_put_u8(out, 1);
    hsm_bytes_put(out, body, len);
    hsm_bytes_put(out, h, 32);
}

static void use_keys(sim_card *c)
{
    static const uint8_t h[32] = { 1, 2, 3, 4 };
    c->selected = 1;
    c->pin_ok = 1;
    for (size_t i = 0; i < c->nkeys && i < 8; i++) {
        uint8_t id = c->keys[i].id;
        hsm_bytes r = HSM_BYTES_INIT;
        static const uint8_t algs[] = { 0x70, 0x20, 0x30 };
        for (size_t j = 0; j < sizeof(algs); j++)
            (void)fuzz_sim_tx(c, 0x80, 0x68, id, algs[j], h, algs[j] == 0x20 ? 0 : sizeof(h), 0);
        hsm_bytes_free(&r);
    }
    (void)fuzz_sim_tx(c, 0x80, 0x58, 0x00, 0x00, NULL, 0, 0);          /* ENUMERATE */
    (void)fuzz_sim_tx(c, 0x80, 0x52, 0x00, 0x00, NULL, 0, 0);          /* DKEK status */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    hsm_bytes file = HSM_BYTES_INIT;
    if (data[0] & 1)
        hsm_bytes_put(&file, data + 1, size - 1);
    else
        wrap(data + 1, size - 1, &file);
    sim_card *c = NULL;
    int rc = sim_card_load(file.data, file.len, &c);
    FUZZ_CHECK(rc == HSM_OK || rc == HSM_E_PARSE || rc == HSM_E_MEM || (rc == HSM_E_ARGS && file.len == 0),
               "load result");
    if (rc == HSM_OK) {
        hsm_bytes s1 = HSM_BYTES_INIT, s2 = HSM_BYTES_INIT, dump = HSM_BYTES_INIT;
        sim_card *back = NULL;
        FUZZ_CHECK(sim_card_save(c, &s1) == HSM_OK, "a loaded state saves");
        FUZZ_CHECK(sim_card_load(s1.data, s1.len, &back) == HSM_OK, "and loads again");
        FUZZ_CHECK(sim_card_save(back, &s2) == HSM_OK && s1.len == s2.len && memcmp(s1.data, s2.data, s1.len) == 0,
                   "save/load round trip");
        (void)sim_card_dump(c, &dump);
        use_keys(c);
        sim_card_free(back);
        hsm_bytes_free(&s1);
        hsm_bytes_free(&s2);
        hsm_bytes_free(&dump);
        sim_card_free(c);
    }
    hsm_bytes_free(&file);
    return 0;
}
