/* SPDX-License-Identifier: Apache-2.0 */
#include "reader/reader.h"
#include "hsm/rv.h"
#include "sim/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Temporary tokens for the choice by serial/token: each reader is opened by its full name only
 * for the identity reads, then closed again. */
static hsm_token *temp_get(void *arg, const char *reader)
{
    (void)arg;
    hsm_token *t = NULL;
    return hsm_token_new(reader, hsm_pcsc_open, &t) == HSM_OK ? t : NULL;
}

static void temp_put(void *arg, hsm_token *t)
{
    (void)arg;
    hsm_token_free(t);
}

int schsm_reader_open(const char *spec, hsm_transport **out, char *why, size_t why_len)
{
    const char *serial, *token;
    if (spec == NULL || *spec == '\0')
        spec = getenv("SCHSM_READER");
    if (spec != NULL && *spec == '\0')
        spec = NULL;
    if (spec != NULL && strncmp(spec, "sim:", 4) == 0)
        return sim_transport_open(spec + 4, out, why, why_len);
    if (schsm_reader_spec_select(spec, &serial, &token)) {
        const schsm_token_source src = { temp_get, temp_put, NULL };
        char chosen[256], msg[1024];
        int rv = schsm_reader_pick(NULL, NULL, serial, token, &src, chosen, sizeof(chosen), msg, sizeof(msg));
        if (rv != HSM_OK) {
            if (why != NULL && why_len > 0)
                snprintf(why, why_len, "%s", msg);
            return rv;
        }
        return hsm_pcsc_open(chosen, out, why, why_len);
    }
    return hsm_pcsc_open(spec, out, why, why_len);
}
