/* Choosing the card a URI names when several readers hold one.
 *
 * The reader comes from the URI, the provider config, or SCHSM_READER (the first that is set). When
 * none is set, serial= and token= select the card: every PC/SC reader holding a SmartCard-HSM is
 * asked for its serial (EF 2F02) and, when token= is given, its label (EF 2F03), without any PIN
 * query. A reader spec that matches several readers by substring is narrowed the same way to the
 * readers holding a SmartCard-HSM (and matching serial=/token=). One card must remain: none or
 * several is an error that lists the cards seen, so a key is never taken from the wrong card.
 * The identity reads are cached by each reader's token until a reset, removal or foreign use. */
#include "resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "hsm/rv.h"
#include "hsm/transport.h"

#define MAX_CARDS 32

typedef struct {
    const char *reader;
    hsm_token *token;
    char serial[32];
    char label[64];
    int have_label;
} card_seen;

/* Readers whose name contains filter (all when NULL): 0 none, 1 exactly one or an exact match
 * (*one set), 2 several. */
static int count_matches(const char *names, const char *filter, const char **one)
{
    int hits = 0;
    *one = NULL;
    for (const char *s = names; *s != '\0'; s += strlen(s) + 1) {
        if (filter != NULL && strcasecmp(s, filter) == 0) {
            *one = s;
            return 1;
        }
        if (filter == NULL || hsm_reader_matches(s, filter)) {
            hits++;
            *one = s;
        }
    }
    return hits > 1 ? 2 : hits;
}

static int matches(const card_seen *c, const schsm_uri *u)
{
    return (u->serial == NULL || strcasecmp(u->serial, c->serial) == 0) &&
           (u->token == NULL || (c->have_label && strcmp(u->token, c->label) == 0));
}

/* "reader 'R' (serial S, token 'L'), ..." for the cards in cs, labels read as needed. */
static void list_cards(card_seen *cs, size_t n, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!cs[i].have_label) {
            char serial[32];
            ERR_set_mark();
            cs[i].have_label = hsm_token_identity(cs[i].token, serial, sizeof(serial), cs[i].label,
                                                  sizeof(cs[i].label)) == HSM_OK;
            ERR_pop_to_mark();
        }
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%sreader '%s' (serial %s, token '%s')", i ? ", " : "", cs[i].reader,
                 cs[i].serial[0] ? cs[i].serial : "unknown", cs[i].have_label ? cs[i].label : "?");
    }
}

static void describe_wanted(const schsm_uri *u, const char *filter, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s%s%s%s%s", filter ? "reader \"" : "", filter ? filter : "", filter ? "\"" : "",
             u->serial ? " serial=" : "", u->serial ? u->serial : "", u->token ? " token=" : "",
             u->token ? u->token : "");
}

/* Among the readers matching filter (NULL = all), the one SmartCard-HSM matching u. */
static hsm_token *pick(schsm_provctx *prov, const char *names, const char *filter, const schsm_uri *u)
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
        c->token = schsm_token_get(prov, s);
        int rv = c->token == NULL ? HSM_E_NO_READER
                 : hsm_token_identity(c->token, c->serial, sizeof(c->serial), u->token ? c->label : NULL,
                                      sizeof(c->label));
        ERR_pop_to_mark();
        if (rv != HSM_OK)
            continue;   /* empty reader, or another kind of card */
        c->have_label = u->token != NULL;
        if (matches(c, u)) {
            hits++;
            hit = n;
        }
        n++;
    }
    if (hits == 1)
        return cs[hit].token;
    char want[300], seen[1500];
    describe_wanted(u, filter, want, sizeof(want));
    if (hits == 0) {
        list_cards(cs, n, seen, sizeof(seen));
        schsm_raise(prov, SCHSM_R_NOT_FOUND, "no SmartCard-HSM matches%s; cards seen: %s", want,
                    n ? seen : "none");
        return NULL;
    }
    card_seen amb[MAX_CARDS];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (matches(&cs[i], u))
            amb[m++] = cs[i];
    list_cards(amb, m, seen, sizeof(seen));
    schsm_raise(prov, SCHSM_R_AMBIGUOUS, "%zu SmartCard-HSMs match%s: %s; name one by reader, serial or token",
                m, want, seen);
    return NULL;
}

hsm_token *schsm_resolve_token(schsm_provctx *prov, const schsm_uri *u, int *checked)
{
    const char *spec = u->reader;
    if (spec == NULL || *spec == '\0')
        spec = prov->cfg_reader;
    if (spec == NULL || *spec == '\0')
        spec = getenv("SCHSM_READER");
    if (spec != NULL && *spec == '\0')
        spec = NULL;
    *checked = 0;
    if (spec != NULL && strncmp(spec, "sim:", 4) == 0)
        return schsm_token_get(prov, u->reader);
    if (spec == NULL && u->serial == NULL && u->token == NULL)
        return schsm_token_get(prov, NULL);   /* the first reader with a SmartCard-HSM */

    char *names = NULL;
    if (hsm_pcsc_list(&names) != HSM_OK || names == NULL) {
        free(names);
        return schsm_token_get(prov, u->reader);   /* opening it reports what is wrong */
    }
    hsm_token *t = NULL;
    const char *one = NULL;
    if (spec != NULL && count_matches(names, spec, &one) < 2) {
        /* The reader is named unambiguously (or not at all: opening it says so). */
        t = schsm_token_get(prov, u->reader);
    } else {
        t = pick(prov, names, spec, u);
        *checked = t != NULL;
    }
    free(names);
    return t;
}
