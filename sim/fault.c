/* SPDX-License-Identifier: Apache-2.0 */
/* SCHSM_SIM_FAULT (sim/fault.h): parsing, counting and firing of injected faults. */
#include "sim/fault.h"
#include "sim/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_RULES 16

enum event { EV_APDU, EV_WRITE, EV_FSYNC };

typedef struct {
    enum event ev;
    unsigned long n;       /* 0: random with probability p */
    double p;
    int fired;
    sim_fault f;
} rule;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int loaded;
static rule rules[MAX_RULES];
static size_t nrules;
static unsigned long count[3];
static unsigned long long rng;

static int set_why(char *why, size_t cap, const char *what, const char *r)
{
    if (why != NULL && cap > 0)
        snprintf(why, cap, "SCHSM_SIM_FAULT rule \"%s\": %s", r, what);
    return -1;
}

/* One rule "apdu=N:ACTION" (or p=P in place of N) into r. */
static int parse_rule(const char *s, rule *r, char *why, size_t cap)
{
    memset(r, 0, sizeof(*r));
    const char *eq = strchr(s, '='), *colon = strchr(s, ':');
    if (eq == NULL || colon == NULL || colon < eq)
        return set_why(why, cap, "expected EVENT=N:ACTION (EVENT apdu, write or fsync)", s);
    size_t evlen = (size_t)(eq - s);
    if (evlen == 4 && strncmp(s, "apdu", 4) == 0)
        r->ev = EV_APDU;
    else if (evlen == 5 && strncmp(s, "write", 5) == 0)
        r->ev = EV_WRITE;
    else if (evlen == 5 && strncmp(s, "fsync", 5) == 0)
        r->ev = EV_FSYNC;
    else
        return set_why(why, cap, "the event must be apdu, write or fsync", s);
    const char *num = eq + 1;
    char *end = NULL;
    if (strncmp(num, "p=", 2) == 0) {
        errno = 0;
        r->p = strtod(num + 2, &end);
        if (errno || end != colon || !(r->p > 0.0 && r->p <= 1.0))
            return set_why(why, cap, "p= needs a probability in (0, 1]", s);
    } else {
        errno = 0;
        r->n = strtoul(num, &end, 10);
        if (errno || end != colon || r->n == 0 || *num == '-')
            return set_why(why, cap, "N must be a number from 1 (the events count from 1)", s);
    }
    const char *act = colon + 1;
    if (r->ev == EV_WRITE) {
        if (strcmp(act, "enospc") == 0)
            r->f.kind = SIM_FAULT_ENOSPC;
        else if (strcmp(act, "eio") == 0)
            r->f.kind = SIM_FAULT_EIO;
        else
            return set_why(why, cap, "a write fault is enospc or eio", s);
        return 0;
    }
    if (r->ev == EV_FSYNC) {
        if (strcmp(act, "fail") != 0)
            return set_why(why, cap, "an fsync fault is fail", s);
        r->f.kind = SIM_FAULT_FSYNC;
        return 0;
    }
    if (strncmp(act, "sw=", 3) == 0) {
        unsigned long sw = strtoul(act + 3, &end, 16);
        if (strlen(act + 3) != 4 || *end != '\0' || sw > 0xFFFF)
            return set_why(why, cap, "sw= needs 4 hex digits", s);
        r->f.kind = SIM_FAULT_SW;
        r->f.sw = (uint16_t)sw;
    } else if (strncmp(act, "delay=", 6) == 0) {
        unsigned long ms = strtoul(act + 6, &end, 10);
        if (act[6] == '\0' || *end != '\0' || ms > 600000)
            return set_why(why, cap, "delay= needs milliseconds (at most 600000)", s);
        r->f.kind = SIM_FAULT_DELAY;
        r->f.delay_ms = (unsigned)ms;
    } else if (strcmp(act, "truncate") == 0) {
        r->f.kind = SIM_FAULT_TRUNCATE;
    } else if (strcmp(act, "garbage") == 0) {
        r->f.kind = SIM_FAULT_GARBAGE;
    } else if (strcmp(act, "remove") == 0) {
        r->f.kind = SIM_FAULT_REMOVE;
    } else if (strcmp(act, "reset") == 0) {
        r->f.kind = SIM_FAULT_RESET;
    } else {
        return set_why(why, cap, "an apdu fault is sw=XXXX, truncate, garbage, remove, reset or delay=MS", s);
    }
    return 0;
}

static int parse_all(const char *spec, rule *out, size_t *n, char *why, size_t cap)
{
    char buf[1024];
    if (strlen(spec) >= sizeof(buf))
        return set_why(why, cap, "too long", "...");
    snprintf(buf, sizeof(buf), "%s", spec);
    *n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        if (*n == MAX_RULES)
            return set_why(why, cap, "at most 16 rules", tok);
        if (parse_rule(tok, &out[*n], why, cap) != 0)
            return -1;
        (*n)++;
    }
    return 0;
}

int sim_fault_parse_check(const char *spec, char *why, size_t why_len)
{
    rule tmp[MAX_RULES];
    size_t n;
    return parse_all(spec, tmp, &n, why, why_len);
}

static void load(void)
{
    if (loaded)
        return;
    loaded = 1;
    const char *spec = getenv("SCHSM_SIM_FAULT");
    if (spec == NULL || *spec == '\0')
        return;
    char why[256];
    if (parse_all(spec, rules, &nrules, why, sizeof(why)) != 0) {
        /* A test that asked for faults must not silently run without them. */
        fprintf(stderr, "schsm-sim: %s\n", why);
        exit(2);
    }
    const char *seed = getenv("SCHSM_SIM_FAULT_SEED");
    rng = seed != NULL && *seed ? strtoull(seed, NULL, 10) : (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 20);
    rng |= 1;
}

static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static const char *const EV_NAMES[] = { "APDU", "state write", "state fsync" };

static sim_fault next(enum event ev)
{
    sim_fault f = { SIM_FAULT_NONE, 0, 0 };
    pthread_mutex_lock(&mu);
    load();
    unsigned long c = ++count[ev];
    for (size_t i = 0; i < nrules; i++) {
        rule *r = &rules[i];
        if (r->ev != ev)
            continue;
        if (r->n != 0 ? (!r->fired && r->n == c) : uniform() < r->p) {
            r->fired = 1;
            f = r->f;
            fprintf(stderr, "schsm-sim: fault injected at %s %lu\n", EV_NAMES[ev], c);
            break;
        }
    }
    pthread_mutex_unlock(&mu);
    return f;
}

sim_fault sim_fault_next_apdu(void)
{
    return next(EV_APDU);
}

int sim_fault_next_write(void)
{
    sim_fault f = next(EV_WRITE);
    return f.kind == SIM_FAULT_ENOSPC ? ENOSPC : f.kind == SIM_FAULT_EIO ? EIO : 0;
}

int sim_fault_next_fsync(void)
{
    return next(EV_FSYNC).kind == SIM_FAULT_FSYNC ? EIO : 0;
}

void sim_fault_restart(void)
{
    pthread_mutex_lock(&mu);
    load();
    memset(count, 0, sizeof(count));
    for (size_t i = 0; i < nrules; i++)
        rules[i].fired = 0;
    pthread_mutex_unlock(&mu);
}

void sim_fault_mangle(const sim_fault *f, uint8_t *resp, size_t *len)
{
    if (f->kind == SIM_FAULT_TRUNCATE) {
        *len /= 2;
    } else if (f->kind == SIM_FAULT_GARBAGE) {
        pthread_mutex_lock(&mu);
        for (size_t i = 0; i < *len; i++)
            resp[i] = (uint8_t)(uniform() * 256.0);
        pthread_mutex_unlock(&mu);
        /* Garbage, not a valid success: never 9000 or 61xx by chance. */
        if (*len >= 2 && (resp[*len - 2] == 0x90 || resp[*len - 2] == 0x61))
            resp[*len - 2] = 0x6F;
    }
}

int sim_fault_before(const sim_fault *f, struct sim_store *store, hsm_bytes *resp)
{
    if (f->kind == SIM_FAULT_DELAY) {
        struct timespec ts = { f->delay_ms / 1000, (long)(f->delay_ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    if (f->kind == SIM_FAULT_RESET || f->kind == SIM_FAULT_REMOVE)
        sim_store_power_cycle(store);
    if (f->kind == SIM_FAULT_SW)
        hsm_bytes_put_u16(resp, f->sw);
    return f->kind == SIM_FAULT_SW || f->kind == SIM_FAULT_REMOVE;
}
