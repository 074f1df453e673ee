/* SPDX-License-Identifier: Apache-2.0 */
/* hsm_transport over a state-file virtual card ("sim:PATH").
 * Outside begin()/end() every transmit is its own transaction: lock, reload if another process
 * changed the file, process, save if changed, unlock. Inside begin()/end() the lock is held
 * throughout; changes are still saved after each command, as a card commits each command.
 * A power cycle by another process makes the next begin() return HSM_E_RESET (once), and a
 * transmit outside a transaction return HSM_E_RESET without executing the command, as PC/SC does.
 * SCHSM_SIM_LATENCY_US=N sleeps N microseconds per APDU to model card latency (default 0).
 * Tracing is done by hsm_card_transmit, not here. */
#include "sim/transport.h"
#include "sim/card.h"
#include "sim/store.h"

#include "hsm/rv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    hsm_transport base;
    sim_store *store;
    int in_tx;
    long latency_us;
} sim_tr;

static void model_latency(const sim_tr *t)
{
    if (t->latency_us <= 0)
        return;
    struct timespec ts = { t->latency_us / 1000000, (t->latency_us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int tr_transmit(hsm_transport *base, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t *resp_len)
{
    sim_tr *t = (sim_tr *)base;
    if (cmd == NULL || resp == NULL || resp_len == NULL)
        return HSM_E_ARGS;
    if (t->in_tx && !sim_store_held(t->store))
        t->in_tx = 0;   /* a fork()ed child: the transaction was the parent's */
    if (!t->in_tx) {
        int rc = sim_store_lock(t->store);
        if (rc == HSM_E_RESET) {
            sim_store_unlock(t->store, 0);
            return HSM_E_RESET;
        }
        if (rc != HSM_OK)
            return rc == HSM_E_PARSE ? HSM_E_COMM : rc;
    }
    model_latency(t);
    hsm_bytes r = HSM_BYTES_INIT;
    int changed = sim_card_process(sim_store_card(t->store), cmd, cmd_len, &r);
    int rc = changed < 0 ? HSM_E_COMM : HSM_OK;
    if (t->in_tx) {
        if (changed > 0 && sim_store_save(t->store) != HSM_OK)
            rc = HSM_E_COMM;
    } else if (sim_store_unlock(t->store, changed > 0) != HSM_OK) {
        rc = HSM_E_COMM;
    }
    if (rc == HSM_OK) {
        if (r.len > *resp_len) {
            rc = HSM_E_ARGS;
        } else {
            memcpy(resp, r.data, r.len);
            *resp_len = r.len;
        }
    }
    hsm_bytes_free(&r);
    return rc;
}

static int tr_begin(hsm_transport *base)
{
    sim_tr *t = (sim_tr *)base;
    if (t->in_tx && !sim_store_held(t->store))
        t->in_tx = 0;
    if (t->in_tx)
        return HSM_E_BUSY;
    int rc = sim_store_lock(t->store);
    if (rc == HSM_OK || rc == HSM_E_RESET)
        t->in_tx = 1;
    return rc == HSM_E_PARSE ? HSM_E_COMM : rc;
}

static void tr_end(hsm_transport *base)
{
    sim_tr *t = (sim_tr *)base;
    if (!t->in_tx)
        return;
    if (sim_store_held(t->store))
        sim_store_unlock(t->store, 0);
    t->in_tx = 0;
}

static int tr_reset(hsm_transport *base)
{
    sim_tr *t = (sim_tr *)base;
    return sim_store_power_cycle(t->store);
}

static size_t tr_atr(hsm_transport *base, uint8_t *out, size_t cap)
{
    (void)base;
    return sim_card_atr(out, cap);
}

static void tr_close(hsm_transport *base)
{
    sim_tr *t = (sim_tr *)base;
    if (t == NULL)
        return;
    tr_end(base);
    sim_store_close(t->store);
    free(t);
}

static const struct hsm_transport_ops OPS = {
    tr_transmit, tr_begin, tr_end, tr_reset, tr_atr, tr_close,
};

int sim_transport_open(const char *path, hsm_transport **out, char *why, size_t why_len)
{
    if (path == NULL || *path == 0 || out == NULL) {
        if (why != NULL && why_len > 0)
            snprintf(why, why_len, "sim reader needs a state file path (sim:PATH)");
        return HSM_E_ARGS;
    }
    sim_tr *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return HSM_E_MEM;
    errno = 0;
    int rc = sim_store_open(path, &t->store);
    if (rc != HSM_OK) {
        if (why != NULL && why_len > 0)
            snprintf(why, why_len, "%s: %s%s%s", path,
                     rc == HSM_E_PARSE ? "virtual card state file is damaged or not a schsm-sim state file"
                                       : "cannot open or create the virtual card state file (",
                     rc == HSM_E_PARSE ? "" : strerror(errno), rc == HSM_E_PARSE ? "" : ")");
        free(t);
        return rc == HSM_E_PARSE ? HSM_E_COMM : rc;
    }
    const char *lat = getenv("SCHSM_SIM_LATENCY_US");
    if (lat != NULL && *lat)
        t->latency_us = strtol(lat, NULL, 10);
    t->base.ops = &OPS;
    snprintf(t->base.reader, sizeof(t->base.reader), "sim:%s", path);
    *out = &t->base;
    return HSM_OK;
}
