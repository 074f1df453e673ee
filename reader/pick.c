/* SPDX-License-Identifier: Apache-2.0 */
/* Choosing a card by serial and/or token label when several readers hold one. The provider's
 * store (serial=/token= in a URI or the config) and the opener (SCHSM_READER=serial=..., --reader
 * token=...) both come here, so both choose, and fail, the same way. Each reader is asked only for
 * its identity (EF 2F02, and EF 2F03 for a label): no PIN query. One card must remain: none or
 * several is an error listing the cards seen, so a key is never taken from the wrong card. */
#include "reader/reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "hsm/rv.h"

#define MAX_CARDS 32

typedef struct {
    const char *reader;
    hsm_token *token;
    char serial[32];
    char label[64];
    int have_label;
} card_seen;

int schsm_reader_spec_select(const char *spec, const char **serial, const char **token)
{
    *serial = *token = NULL;
    if (spec == NULL)
        return 0;
    if (strncmp(spec, "serial=", 7) == 0 && spec[7] != '\0')
        *serial = spec + 7;
    else if (strncmp(spec, "token=", 6) == 0 && spec[6] != '\0')
        *token = spec + 6;
    return *serial != NULL || *token != NULL;
}

static int matches(const card_seen *c, const char *serial, const char *token)
{
    return (serial == NULL || strcasecmp(serial, c->serial) == 0) &&
           (token == NULL || (c->have_label && strcmp(token, c->label) == 0));
}

/* "reader 'R' (serial S, token 'L'), ..." for the cards in cs that match (all when !only), labels
 * read as needed. */
static void list_cards(card_seen *cs, size_t n, int only, const char *serial, const char *token,
                       char *out, size_t cap)
{
    size_t len = 0;
    int first = 1;
    out[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++) {
        if (only && !matches(&cs[i], serial, token))
            continue;
        if (!cs[i].have_label) {
            char s[32];
            ERR_set_mark();
            cs[i].have_label = hsm_token_identity(cs[i].token, s, sizeof(s), cs[i].label,
                                                  sizeof(cs[i].label)) == HSM_OK;
            ERR_pop_to_mark();
        }
        int w = snprintf(out + len, cap - len, "%sreader '%s' (serial %s, token '%s')", first ? "" : ", ",
                         cs[i].reader, cs[i].serial[0] ? cs[i].serial : "unknown",
                         cs[i].have_label ? cs[i].label : "?");
        if (w < 0)
            break;
        len += (size_t)w;
        first = 0;
    }
    if (first)
        snprintf(out, cap, "none");
}

static int choose(const char *names, const char *filter, const char *serial, const char *token,
                  const schsm_token_source *src, char *chosen, size_t chosen_cap, char *why, size_t why_len)
{
    card_seen cs[MAX_CARDS];
    size_t n = 0, hits = 0, hit = 0;
    for (const char *s = names; *s != '\0' && n < MAX_CARDS; s += strlen(s) + 1) {
        if (filter != NULL && !hsm_reader_matches(s, filter))
            continue;
        card_seen *c = &cs[n];
        memset(c, 0, sizeof(*c));
        c->reader = s;
        ERR_set_mark();
        c->token = src->get(src->arg, s);
        int rv = c->token == NULL ? HSM_E_NO_READER
                 : hsm_token_identity(c->token, c->serial, sizeof(c->serial), token ? c->label : NULL,
                                      sizeof(c->label));
        ERR_pop_to_mark();
        if (rv != HSM_OK) {   /* empty reader, or another kind of card */
            if (c->token != NULL && src->put != NULL)
                src->put(src->arg, c->token);
            continue;
        }
        c->have_label = token != NULL;
        if (matches(c, serial, token)) {
            hits++;
            hit = n;
        }
        n++;
    }

    int rc = HSM_OK;
    if (hits == 1) {
        snprintf(chosen, chosen_cap, "%s", cs[hit].reader);
    } else {
        char want[300], seen[1500];
        snprintf(want, sizeof(want), "%s%s%s%s%s%s%s", filter ? " reader \"" : "", filter ? filter : "",
                 filter ? "\"" : "", serial ? " serial=" : "", serial ? serial : "", token ? " token=" : "",
                 token ? token : "");
        list_cards(cs, n, hits > 1, serial, token, seen, sizeof(seen));
        if (hits == 0) {
            snprintf(why, why_len, "no SmartCard-HSM matches%s; cards seen: %s", want, seen);
            rc = HSM_E_NOT_FOUND;
        } else {
            snprintf(why, why_len, "%zu SmartCard-HSMs match%s: %s; name one by reader, serial or token",
                     hits, want, seen);
            rc = HSM_E_AMBIGUOUS;
        }
    }
    for (size_t i = 0; src->put != NULL && i < n; i++)
        src->put(src->arg, cs[i].token);
    return rc;
}

int schsm_reader_pick(const char *names, const char *filter, const char *serial, const char *token,
                      const schsm_token_source *src, char *chosen, size_t chosen_cap,
                      char *why, size_t why_len)
{
    if (src == NULL || src->get == NULL || chosen == NULL || chosen_cap == 0 || why == NULL || why_len == 0)
        return HSM_E_ARGS;
    why[0] = '\0';
    char *own = NULL;
    if (names == NULL) {
        int rv = hsm_pcsc_list(&own);
        if (rv != HSM_OK || own == NULL) {
            free(own);
            snprintf(why, why_len, "cannot list the PC/SC readers: %s", hsm_rv_text(rv));
            return rv != HSM_OK ? rv : HSM_E_NO_READER;
        }
        names = own;
    }
    int rc = choose(names, filter, serial, token, src, chosen, chosen_cap, why, why_len);
    free(own);
    return rc;
}
