/* SPDX-License-Identifier: Apache-2.0 */
/* Choosing the card a URI names when several readers hold one.
 *
 * What names the card, first that names anything: the URI (reader, serial, token), the provider
 * config (reader, serial, token), SCHSM_READER; else the first reader holding a SmartCard-HSM.
 * A reader spec of the form serial=V / token=L (config reader, SCHSM_READER) selects like the
 * URI's serial=/token=. The choice by serial/token among readers is schsm_reader_pick (reader/),
 * the same code the opener uses for SCHSM_READER=serial=...; here it gets the provider's cached
 * tokens, so the identity reads are kept until a reset, removal or foreign use. A reader spec that
 * matches several readers by substring is narrowed the same way to the readers holding a
 * SmartCard-HSM (and matching serial/token). */
#include "resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hsm/rv.h"
#include "hsm/transport.h"
#include "reader/reader.h"

/* Readers whose name contains filter: 0 none, 1 exactly one or an exact match, 2 several. */
static int count_matches(const char *names, const char *filter)
{
    int hits = 0;
    for (const char *s = names; *s != '\0'; s += strlen(s) + 1) {
        if (strcasecmp(s, filter) == 0)
            return 1;
        if (hsm_reader_matches(s, filter))
            hits++;
    }
    return hits > 1 ? 2 : hits;
}

static hsm_token *prov_get(void *arg, const char *reader)
{
    return schsm_token_get(arg, reader);
}

static const char *nonempty(const char *s)
{
    return s != NULL && *s != '\0' ? s : NULL;
}

/* The token, then serial/token checked against it (a contradiction is an error, never another card). */
static hsm_token *checked_token(schsm_provctx *prov, const schsm_uri *u, const char *reader,
                                const char *serial, const char *token)
{
    hsm_token *t = schsm_token_get(prov, reader);
    if (t == NULL || (serial == NULL && token == NULL))
        return t;
    schsm_uri eff = *u;   /* shallow: only read */
    eff.serial = (char *)serial;
    eff.token = (char *)token;
    return schsm_resolve_check_token(prov, t, &eff) ? t : NULL;
}

hsm_token *schsm_resolve_token(schsm_provctx *prov, const schsm_uri *u, int *checked)
{
    const char *filter = nonempty(u->reader), *serial = u->serial, *token = u->token;
    *checked = 1;   /* every path below checks serial/token itself */
    if (filter == NULL && serial == NULL && token == NULL) {
        serial = prov->cfg_serial;
        token = prov->cfg_token;
    }
    if (filter == NULL) {
        const char *spec = prov->cfg_reader, *s, *l;
        if (spec == NULL && prov->cfg_select == NULL)
            spec = nonempty(getenv("SCHSM_READER"));
        if (schsm_reader_spec_select(spec, &s, &l)) {
            if (serial == NULL && token == NULL) {
                serial = s;
                token = l;
            }
        } else {
            filter = spec;
        }
    }
    /* schsm_token_get(u->reader) below: a NULL reader there resolves to the same filter. */
    if (filter != NULL && strncmp(filter, "sim:", 4) == 0)
        return checked_token(prov, u, u->reader, serial, token);
    if (filter == NULL && serial == NULL && token == NULL)
        return schsm_token_get(prov, NULL);   /* the first reader with a SmartCard-HSM */

    char *names = NULL;
    if (hsm_pcsc_list(&names) != HSM_OK || names == NULL) {
        free(names);
        return checked_token(prov, u, u->reader, serial, token);   /* opening it reports what is wrong */
    }
    hsm_token *t = NULL;
    if (filter != NULL && count_matches(names, filter) < 2) {
        /* The reader is named unambiguously (or not at all: opening it says so). */
        t = checked_token(prov, u, u->reader, serial, token);
    } else {
        const schsm_token_source src = { prov_get, NULL, prov };
        char chosen[256], why[2048];
        int rv = schsm_reader_pick(names, filter, serial, token, &src, chosen, sizeof(chosen), why, sizeof(why));
        if (rv == HSM_OK)
            t = schsm_token_get(prov, chosen);
        else
            schsm_raise(prov, rv == HSM_E_AMBIGUOUS ? SCHSM_R_AMBIGUOUS
                              : rv == HSM_E_NOT_FOUND ? SCHSM_R_NOT_FOUND : SCHSM_R_CARD, "%s", why);
    }
    free(names);
    return t;
}
