/* SPDX-License-Identifier: Apache-2.0 */
#include "helper_token.h"

#include <check.h>
#include <openssl/obj_mac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper_sim.h"
#include "hsm/rv.h"
#include "hsm/trace.h"
#include "reader/reader.h"
#include "sim/store.h"

const uint8_t HELPER_SO_PIN[8] = { '5', '7', '6', '2', '1', '8', '8', '0' };
char helper_spec[600];
static char trace_path[512];

hsm_card *helper_card_fresh(const char *name)
{
    char *path = helper_sim_path(name);
    ck_assert_ptr_nonnull(path);
    ck_assert_int_lt(snprintf(helper_spec, sizeof(helper_spec), "sim:%s", path), (int)sizeof(helper_spec));
    free(path);
    hsm_transport *t = NULL;
    char why[256] = "";
    ck_assert_msg(schsm_reader_open(helper_spec, &t, why, sizeof(why)) == HSM_OK, "open: %s", why);
    hsm_card *c = NULL;
    ck_assert_int_eq(hsm_card_new(t, &c), HSM_OK);
    return c;
}

void helper_card_begin(hsm_card *c)
{
    int rc = hsm_card_begin(c);
    ck_assert(rc == HSM_OK || rc == HSM_E_RESET);
}

void helper_card_init(hsm_card *c, int dkek_shares)
{
    hsm_init_params p = { .options = 1, .pin = (const uint8_t *)HELPER_PIN, .pin_len = 6,
                          .so_pin = HELPER_SO_PIN, .pin_retries = 3, .dkek_shares = dkek_shares };
    ck_assert_int_eq(hsm_card_select(c, NULL), HSM_OK);
    ck_assert_int_eq(hsm_card_initialize(c, &p), HSM_OK);
}

void helper_card_login(hsm_card *c)
{
    ck_assert_int_eq(hsm_card_verify(c, HSM_PIN_USER, (const uint8_t *)HELPER_PIN, 6), HSM_OK);
}

hsm_card *helper_card_ready(const char *name)
{
    hsm_card *c = helper_card_fresh(name);
    helper_card_begin(c);
    helper_card_init(c, -1);
    helper_card_login(c);
    return c;
}

void helper_trace_on(const char *name)
{
    const char *dir = helper_tmpdir();
    ck_assert_ptr_nonnull(dir);
    snprintf(trace_path, sizeof(trace_path), "%s/trace-%s-%d.log", dir, name, (int)getpid());
    unlink(trace_path);
    setenv("SCHSM_DEBUG", "apdu", 1);
    setenv("SCHSM_DEBUG_FILE", trace_path, 1);
    hsm_trace_set("apdu");
}

void helper_trace_off(void)
{
    unsetenv("SCHSM_DEBUG");
    hsm_trace_set("0");
}

void helper_trace_reset(void)
{
    unlink(trace_path);
}

int helper_trace_count(const char *prefix)
{
    FILE *f = fopen(trace_path, "r");
    if (f == NULL)
        return 0;
    char line[256];
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        n += strncmp(line, prefix, strlen(prefix)) == 0;
    fclose(f);
    return n;
}

hsm_token *helper_token(const char *pin)
{
    hsm_token *t = NULL;
    ck_assert_int_eq(hsm_token_new(helper_spec, schsm_reader_open, &t), HSM_OK);
    if (pin != NULL)
        ck_assert_int_eq(hsm_token_set_pin(t, pin, strlen(pin)), HSM_OK);
    return t;
}

void helper_token_gen_ec(hsm_token *t, const char *label, hsm_key *k)
{
    hsm_keygen_params p = { .type = HSM_KEY_EC, .ec_nid = NID_X9_62_prime256v1, .label = label, .key_domain = -1 };
    ck_assert_msg(hsm_token_generate(t, &p, k) == HSM_OK, "generate: %s", hsm_token_error(t));
}

void helper_token_card(const char *name)
{
    hsm_card *c = helper_card_fresh(name);
    helper_card_begin(c);
    helper_card_init(c, -1);
    hsm_card_end(c);
    hsm_card_free(c);
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key k;
    helper_token_gen_ec(t, "one", &k);
    helper_token_gen_ec(t, "two", &k);
    hsm_token_free(t);
}

void helper_card_reset(void)
{
    sim_store *st = NULL;
    ck_assert_int_eq(sim_store_open(helper_spec + 4, &st), HSM_OK);
    ck_assert_int_eq(sim_store_power_cycle(st), HSM_OK);
    sim_store_close(st);
}
