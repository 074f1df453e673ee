/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: initialised virtual cards reached through the real "sim:PATH" reader, APDU trace
 * counting, and token sessions on them. For tests that count APDUs or go through hsm_token. */
#ifndef HELPER_TOKEN_H
#define HELPER_TOKEN_H

#include <stdint.h>

#include "hsm/card.h"
#include "hsm/token.h"

#define HELPER_PIN "648219"
extern const uint8_t HELPER_SO_PIN[8];

/* The reader spec ("sim:PATH") of the last card made by helper_card_fresh(); PATH is spec + 4. */
extern char helper_spec[600];

/* A factory-fresh virtual card in a new state file, opened through schsm_reader_open(). */
hsm_card *helper_card_fresh(const char *name);
/* hsm_card_begin(), accepting a reset as the first event. */
void helper_card_begin(hsm_card *c);
/* SELECT and INITIALIZE (options 0001, HELPER_PIN, HELPER_SO_PIN, 3 tries; dkek_shares -1 = none). */
void helper_card_init(hsm_card *c, int dkek_shares);
void helper_card_login(hsm_card *c);
/* Fresh, begun, initialised without DKEK and logged in. */
hsm_card *helper_card_ready(const char *name);

/* Sends the APDU trace to "$SCHSM_TEST_TMP/trace-<name>-<pid>.log" (emptied first). */
void helper_trace_on(const char *name);
void helper_trace_off(void);
/* Empties the trace. */
void helper_trace_reset(void);
/* Number of trace lines starting with prefix (e.g. "apdu> 00 D7"). */
int helper_trace_count(const char *prefix);

/* A token on helper_spec, holding pin unless it is NULL. */
hsm_token *helper_token(const char *pin);
/* Generates a P-256 key with that label. */
void helper_token_gen_ec(hsm_token *t, const char *label, hsm_key *k);
/* A fresh initialised card with two EC keys "one" and "two" (helper_spec names it). */
void helper_token_card(const char *name);
/* Power-cycles the card behind helper_spec, as a reader reset does. */
void helper_card_reset(void);

#endif
