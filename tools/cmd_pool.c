/* SPDX-License-Identifier: Apache-2.0 */
/* pool status: which cards of this host share which keys (hsm/pool.h does the survey). */
#include "tools/util.h"

#include <stdlib.h>
#include <string.h>

#include "hsm/pool.h"
#include "hsm/rv.h"
#include "hsm/transport.h"
#include "reader/reader.h"

#define POOL_MAX_CARDS 32

static void hex(const uint8_t *b, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 <= cap; i++, o += 2)
        snprintf(out + o, cap - o, "%02x", b[i]);
    out[o < cap ? o : cap - 1] = '\0';
}

/* The readers to look at: --cards SPEC,SPEC... or every PC/SC reader. names owns the strings. */
static size_t reader_specs(const char *cards, char **names, const char **specs, size_t cap)
{
    size_t n = 0;
    if (cards != NULL) {
        *names = strdup(cards);
        for (char *save = NULL, *s = *names ? strtok_r(*names, ",", &save) : NULL; s != NULL && n < cap;
             s = strtok_r(NULL, ",", &save))
            specs[n++] = s;
        return n;
    }
    if (hsm_pcsc_list(names) != HSM_OK || *names == NULL)
        return 0;
    for (const char *r = *names; *r != '\0' && n < cap; r += strlen(r) + 1)
        specs[n++] = r;
    return n;
}

static void print_text(const hsm_pool_card *cards, size_t ncards, const hsm_pool_key *keys, size_t nkeys)
{
    printf("Cards:\n");
    for (size_t i = 0; i < ncards; i++) {
        if (cards[i].ok)
            printf("  [%zu] reader '%s'  serial %s  token '%s'  %zu key(s)\n", i, cards[i].reader,
                   cards[i].serial[0] ? cards[i].serial : "unknown", cards[i].label, cards[i].nkeys);
        else
            printf("  [%zu] reader '%s'  not surveyed: %s\n", i, cards[i].reader, cards[i].why);
    }
    if (nkeys == 0) {
        printf("No key is held by more than one card: there is no pool.\n");
        return;
    }
    printf("Pooled keys (the same public key on two or more cards):\n");
    for (size_t e = 0; e < nkeys; e++) {
        char id[2 * HSM_ID_MAX + 1], fp[65];
        hex(keys[e].id, keys[e].id_len, id, sizeof(id));
        hex(keys[e].fp, 16, fp, sizeof(fp));
        printf("  '%s'  %s %u bits  id %s  SHA-256 %s...  on %zu cards:", keys[e].label,
               tool_key_type_name(keys[e].type), keys[e].bits, id[0] ? id : "-", fp, keys[e].nholders);
        for (size_t h = 0; h < keys[e].nholders; h++)
            printf(" [%zu] %s (key ref %u)%s", keys[e].holders[h], cards[keys[e].holders[h]].serial,
                   keys[e].key_refs[h], h + 1 < keys[e].nholders ? "," : "");
        printf("\n");
        for (size_t m = 0; m < keys[e].nmissing; m++)
            printf("      missing on [%zu] %s in reader '%s' (copy it there with wrap-key/unwrap-key)\n",
                   keys[e].missing[m], cards[keys[e].missing[m]].serial, cards[keys[e].missing[m]].reader);
    }
}

static void print_json(const hsm_pool_card *cards, size_t ncards, const hsm_pool_key *keys, size_t nkeys)
{
    tool_json j;
    tool_json_init(&j, stdout);
    tool_json_begin_object(&j);
    tool_json_key(&j, "cards");
    tool_json_begin_array(&j);
    for (size_t i = 0; i < ncards; i++) {
        tool_json_begin_object(&j);
        tool_json_key(&j, "reader");
        tool_json_string(&j, cards[i].reader);
        tool_json_key(&j, "ok");
        tool_json_bool(&j, cards[i].ok);
        if (cards[i].ok) {
            tool_json_key(&j, "serial");
            tool_json_string(&j, cards[i].serial);
            tool_json_key(&j, "token");
            tool_json_string(&j, cards[i].label);
            tool_json_key(&j, "keys");
            tool_json_int(&j, (long long)cards[i].nkeys);
        } else {
            tool_json_key(&j, "error");
            tool_json_string(&j, cards[i].why);
        }
        tool_json_end_object(&j);
    }
    tool_json_end_array(&j);
    tool_json_key(&j, "pools");
    tool_json_begin_array(&j);
    for (size_t e = 0; e < nkeys; e++) {
        char id[2 * HSM_ID_MAX + 1], fp[65];
        hex(keys[e].id, keys[e].id_len, id, sizeof(id));
        hex(keys[e].fp, 32, fp, sizeof(fp));
        tool_json_begin_object(&j);
        tool_json_key(&j, "label");
        tool_json_string(&j, keys[e].label);
        tool_json_key(&j, "id");
        tool_json_string(&j, id);
        tool_json_key(&j, "type");
        tool_json_string(&j, tool_key_type_name(keys[e].type));
        tool_json_key(&j, "bits");
        tool_json_int(&j, keys[e].bits);
        tool_json_key(&j, "spki_sha256");
        tool_json_string(&j, fp);
        tool_json_key(&j, "cards");
        tool_json_begin_array(&j);
        for (size_t h = 0; h < keys[e].nholders; h++) {
            tool_json_begin_object(&j);
            tool_json_key(&j, "serial");
            tool_json_string(&j, cards[keys[e].holders[h]].serial);
            tool_json_key(&j, "reader");
            tool_json_string(&j, cards[keys[e].holders[h]].reader);
            tool_json_key(&j, "key_ref");
            tool_json_int(&j, keys[e].key_refs[h]);
            tool_json_end_object(&j);
        }
        tool_json_end_array(&j);
        tool_json_key(&j, "missing");
        tool_json_begin_array(&j);
        for (size_t m = 0; m < keys[e].nmissing; m++) {
            tool_json_begin_object(&j);
            tool_json_key(&j, "serial");
            tool_json_string(&j, cards[keys[e].missing[m]].serial);
            tool_json_key(&j, "reader");
            tool_json_string(&j, cards[keys[e].missing[m]].reader);
            tool_json_end_object(&j);
        }
        tool_json_end_array(&j);
        tool_json_end_object(&j);
    }
    tool_json_end_array(&j);
    tool_json_end_object(&j);
    tool_json_finish(&j);
}

static int run_pool_status(tool_ctx *ctx, tool_args *a)
{
    const char *specs[POOL_MAX_CARDS];
    char *names = NULL;
    hsm_pool_card cards[POOL_MAX_CARDS];
    size_t n = reader_specs(tool_arg(a, "cards"), &names, specs, POOL_MAX_CARDS), nkeys = 0;
    hsm_pool_key *keys = NULL;
    int rc = TOOL_OK;
    if (tool_arg(a, "cards") != NULL && n == 0) {
        free(names);
        return tool_usage_error(ctx, "--cards needs a comma-separated list of readers (e.g. sim:a.state,sim:b.state)");
    }
    if (n == 0) {
        free(names);
        return tool_error(ctx, TOOL_FAIL, "no PC/SC reader found: is pcscd running and a reader attached? "
                          "(virtual cards: --cards sim:PATH,sim:PATH)");
    }
    memset(cards, 0, sizeof(cards));
    for (size_t i = 0; i < n; i++) {
        cards[i].reader = specs[i];
        if (hsm_token_new(specs[i], schsm_reader_open, &cards[i].token) != HSM_OK) {
            snprintf(cards[i].why, sizeof(cards[i].why), "cannot start a session");
            continue;
        }
        hsm_pool_survey_card(&cards[i]);
    }
    if (hsm_pool_group(cards, n, &keys, &nkeys) != HSM_OK) {
        rc = tool_error(ctx, TOOL_FAIL, "out of memory");
    } else if (tool_flag(a, "json")) {
        print_json(cards, n, keys, nkeys);
    } else {
        print_text(cards, n, keys, nkeys);
    }
    hsm_pool_keys_free(keys, nkeys);
    for (size_t i = 0; i < n; i++) {
        hsm_pool_card_clear(&cards[i]);
        hsm_token_free(cards[i].token);
    }
    free(names);
    return rc;
}

static const tool_opt pool_status_opts[] = {
    { "json", NULL, "print JSON: {cards: [{reader, ok, serial, token, keys | error}], pools: [{label, id, type, "
                    "bits, spki_sha256, cards: [{serial, reader, key_ref}], missing: [{serial, reader}]}]}" },
    { "cards", "LIST", "comma-separated readers to survey (sim:PATH or PC/SC names); default: every PC/SC reader" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_pool_status = {
    "pool status", "[--json] [--cards LIST]",
    "list the pools this host can see: cards that hold the same key, and cards missing one",
    "A pool is every card that holds a private key with the same public key; the provider spreads that\n"
    "key's signatures and decryptions over them when the URI or openssl.cnf says pool=yes (docs/pools.md).\n"
    "No PIN is needed: only the key directories and public keys are read. Cards that share at least one key\n"
    "form a group; a pooled key that a card of its group lacks is listed as missing there.",
    pool_status_opts, run_pool_status,
};
