/* SPDX-License-Identifier: Apache-2.0 */
/* A key's algorithm list, read from the FCP of its key file only when someone needs it: to show
 * it, or to explain (and route around) an operation the card refused. Signing never reads it on
 * the way, so the cold-sign APDU budget stays as it is. */
#include "hsm/token_int.h"
#include "hsm/rv.h"
#include "hsm/trace.h"

#include <string.h>

#define FID_KEY(ref) ((uint16_t)(0xCC00 | (ref)))

int tok_read_algs(hsm_token *t, uint8_t ref, hsm_alg_list *out)
{
    hsm_alg_list *l = &t->algs[ref];
    if (l->known) {
        *out = *l;
        return HSM_OK;
    }
    int rc = tok_select(t);
    if (rc != HSM_OK)
        return rc;
    hsm_bytes fcp = HSM_BYTES_INIT;
    hsm_alg_list read = *l;
    rc = hsm_card_select_file(t->card, FID_KEY(ref), &fcp);
    if (rc == HSM_OK && hsm_alg_list_from_fcp(fcp.data, fcp.len, &read) != HSM_OK) {
        /* A card that answers no FCP for key files: say "unknown", never "unrestricted". */
        hsm_log("key reference %u: SELECT answered no FCP; algorithm list unknown", ref);
        memset(&read, 0, sizeof(read));
    }
    hsm_bytes_free(&fcp);
    if (rc == HSM_OK) {
        pthread_mutex_lock(&t->algs_mu);
        *l = read;
        pthread_mutex_unlock(&t->algs_mu);
    }
    if (rc == HSM_E_NOT_FOUND)
        tok_err(t, "key reference %u is no longer on the card: list the keys again", ref);
    else if (rc == HSM_E_SW)
        tok_sw_err(t, "reading the key's algorithm list (SELECT of its key file) failed", 0xA4);
    *out = *l;
    return rc;
}

int hsm_token_key_algorithms(hsm_token *t, const hsm_key *k, int read, hsm_alg_list *out)
{
    if (t == NULL || k == NULL || out == NULL)
        return HSM_E_ARGS;
    memset(out, 0, sizeof(*out));
    if (!read) {
        pthread_mutex_lock(&t->algs_mu);
        *out = t->algs[k->key_ref];
        pthread_mutex_unlock(&t->algs_mu);
        return HSM_OK;
    }
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    rc = tok_read_algs(t, k->key_ref, out);
    tok_leave(t);
    return rc;
}
