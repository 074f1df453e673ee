/* SPDX-License-Identifier: Apache-2.0 */
/* Pools of cards behind one key (see pool.h). */
#include "pool.h"
#include "pin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>

#include "hsm/rv.h"
#include "hsm/trace.h"
#include "hsm/transport.h"

#define SCHSM_POOL_PROBE_MS 2000
#define SCHSM_POOL_LOCK_DIR "/tmp/schsm-pool"

typedef struct {
    hsm_token *token;      /* owned by the provider context */
    hsm_key card;
    char serial[32];
    int lock_fd;           /* per-card lock file of this process, -1 = none */
    int busy;              /* operations in flight in this process */
    int out;               /* taken out after a failure */
    int pin_failed;        /* its PIN failed: out for good */
    long long out_ms;      /* when it was taken out or last probed */
} pool_member;

struct schsm_pool {
    pthread_mutex_t lock;
    int refs;
    char *name;
    EVP_PKEY *pub;         /* the pool's public key (hsm_libctx) */
    pool_member *m;
    size_t n;
    unsigned next;         /* where the next search starts, so equal cards take turns */
    pid_t pid;             /* lock files are reopened in a forked child */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int schsm_pool_wanted(const schsm_provctx *ctx, const char *uri_pool)
{
    const char *v = uri_pool != NULL ? uri_pool : ctx->cfg_pool;
    return v != NULL && *v != '\0' && strcasecmp(v, "no") != 0 && strcmp(v, "0") != 0
           && strcasecmp(v, "false") != 0;
}

/* The lock file that tells processes of this host which card is busy. It only steers the choice
 * of card: a missing or foreign lock file costs parallelism, never correctness. */
static int open_lock(const char *serial)
{
    const char *dir = getenv("SCHSM_POOL_LOCK_DIR");
    if (dir == NULL || *dir == '\0')
        dir = SCHSM_POOL_LOCK_DIR;
    if (mkdir(dir, 01777) == 0)
        chmod(dir, 01777);   /* the umask must not keep other users' workers out */
    char path[512];
    if (serial[0] == '\0' || strchr(serial, '/') != NULL
        || snprintf(path, sizeof(path), "%s/%s.lock", dir, serial) >= (int)sizeof(path))
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd >= 0)
        fchmod(fd, 0666);    /* fails harmlessly on another user's file */
    return fd;
}

static void reopen_locks(schsm_pool *p)
{
    /* flock() locks belong to the open file description, which a fork shares with the parent:
     * a child must open its own or it would never see its siblings' locks. */
    for (size_t i = 0; i < p->n; i++) {
        if (p->m[i].lock_fd >= 0 && p->pid != 0)
            close(p->m[i].lock_fd);
        p->m[i].lock_fd = open_lock(p->m[i].serial);
        p->m[i].busy = 0;
    }
    p->pid = getpid();
}

void schsm_pool_free(schsm_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    int left = --p->refs;
    pthread_mutex_unlock(&p->lock);
    if (left > 0)
        return;
    for (size_t i = 0; i < p->n; i++)
        if (p->m[i].lock_fd >= 0 && p->pid == getpid())
            close(p->m[i].lock_fd);
    EVP_PKEY_free(p->pub);
    free(p->m);
    free(p->name);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

schsm_pool *schsm_pool_ref(schsm_pool *p)
{
    if (p != NULL) {
        pthread_mutex_lock(&p->lock);
        p->refs++;
        pthread_mutex_unlock(&p->lock);
    }
    return p;
}

/* The config key "pin-source-SERIAL", asked for when the pool is built. */
static char *pin_source_for_serial(const schsm_provctx *ctx, const char *serial)
{
    char key[64], *val = NULL;
    if (ctx->core_get_params == NULL || serial[0] == '\0'
        || snprintf(key, sizeof(key), "pin-source-%s", serial) >= (int)sizeof(key))
        return NULL;
    OSSL_PARAM q[] = { OSSL_PARAM_utf8_ptr(key, &val, 0), OSSL_PARAM_END };
    if (!ctx->core_get_params(ctx->handle, q) || val == NULL || *val == '\0')
        return NULL;
    return strdup(val);
}

/* Gives a member card its PIN without sending anything (the first operation on it logs in,
 * with the usual retry-counter check). */
static void member_pin(schsm_key *k, pool_member *m, const char *uri_pin_source, const char *uri_pin_value)
{
    char *own = pin_source_for_serial(k->ctx, m->serial);
    ERR_set_mark();
    int ok = 0;
    if (own != NULL)
        ok = schsm_login_for(k->ctx, m->token, own, NULL, NULL, NULL);
    else if (uri_pin_value != NULL || uri_pin_source != NULL || k->ctx->cfg_pin_source != NULL)
        ok = schsm_login_for(k->ctx, m->token, uri_pin_source, uri_pin_value, NULL, NULL);
    else
        ok = hsm_token_share_pin(k->token, m->token) == HSM_OK;
    /* A card without a usable PIN stays in the pool: if it is logged in already it serves; if not,
     * its first operation fails, it is taken out, and the operation goes to another card. */
    if (!ok)
        hsm_log("pool: card %s has no PIN of its own; it serves only while logged in", m->serial);
    ERR_pop_to_mark();
    free(own);
}

/* Is reader's card the same card as one already in the pool? */
static int have_serial(const schsm_pool *p, const char *serial)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcasecmp(p->m[i].serial, serial) == 0)
            return 1;
    return 0;
}

static int add_member(schsm_pool *p, hsm_token *t, const hsm_key *hk, const char *serial)
{
    pool_member *nm = realloc(p->m, (p->n + 1) * sizeof(*nm));
    if (nm == NULL)
        return 0;
    p->m = nm;
    pool_member *m = &p->m[p->n++];
    memset(m, 0, sizeof(*m));
    m->token = t;
    m->card = *hk;
    m->lock_fd = -1;
    snprintf(m->serial, sizeof(m->serial), "%s", serial);
    return 1;
}

/* Looks at one reader's card for the pool's key. */
static void probe_reader(schsm_key *k, schsm_pool *p, const char *reader, const char *pin_source,
                         const char *pin_value)
{
    hsm_token *t = schsm_token_get(k->ctx, reader);
    char serial[32];
    hsm_key hk;
    EVP_PKEY *pub = NULL;
    if (t == NULL || hsm_token_identity(t, serial, sizeof(serial), NULL, 0) != HSM_OK || serial[0] == '\0'
        || have_serial(p, serial))
        return;
    int rv = hsm_token_find_key(t, k->card.id_len > 0 ? NULL : k->card.label,
                                k->card.id_len > 0 ? k->card.id : NULL, k->card.id_len, &hk);
    if (rv != HSM_OK || hk.type != k->card.type)
        return;
    if (hsm_token_public_key(t, &hk, &pub) != HSM_OK)
        return;
    /* Same label or ID is not enough: only the same public key makes a card a member. */
    if (EVP_PKEY_eq(pub, p->pub) == 1 && add_member(p, t, &hk, serial)) {
        member_pin(k, &p->m[p->n - 1], pin_source, pin_value);
        hsm_log("pool %s: card %s in reader '%s' joins (key reference %u)", p->name, serial, reader,
                      hk.key_ref);
    } else {
        hsm_log("pool %s: card %s in reader '%s' holds another key under the same name", p->name,
                      serial, reader);
    }
    EVP_PKEY_free(pub);
}

int schsm_pool_attach(schsm_key *k, const char *name, const char *uri_pin_source, const char *uri_pin_value)
{
    EVP_PKEY *pub = schsm_key_public(k);
    char serial[32];
    if (pub == NULL)
        return 0;
    if (hsm_token_identity(k->token, serial, sizeof(serial), NULL, 0) != HSM_OK || serial[0] == '\0') {
        schsm_raise(k->ctx, SCHSM_R_CARD, "pool: the key's card has no readable serial, so it cannot be told "
                    "apart from the other cards of a pool");
        return 0;
    }
    schsm_pool *p = calloc(1, sizeof(*p));
    if (p == NULL || pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return 0;
    }
    p->refs = 1;
    p->name = strdup(name != NULL && strcasecmp(name, "yes") != 0 ? name : k->card.label);
    p->pub = pub;
    EVP_PKEY_up_ref(pub);
    if (p->name == NULL || !add_member(p, k->token, &k->card, serial)) {
        schsm_pool_free(p);
        schsm_raise(k->ctx, SCHSM_R_INTERNAL, "out of memory");
        return 0;
    }
    char *names = NULL;
    if (hsm_pcsc_list(&names) == HSM_OK && names != NULL) {
        for (const char *r = names; *r != '\0'; r += strlen(r) + 1)
            probe_reader(k, p, r, uri_pin_source, uri_pin_value);
    }
    free(names);
    reopen_locks(p);
    hsm_log("pool %s: %zu card(s)", p->name, p->n);
    schsm_pool_free(k->pool);
    k->pool = p;
    return 1;
}

/* Picks a card for one operation: a card no thread of this process uses and no other process has
 * locked; else the card with the fewest operations in flight here. exclude: a card that failed
 * this operation already. -1 when none is usable. *locked: we hold its lock file. */
static int acquire(schsm_pool *p, int exclude, int *locked)
{
    int best = -1;
    *locked = 0;
    pthread_mutex_lock(&p->lock);
    if (p->pid != getpid())
        reopen_locks(p);
    long long now = now_ms();
    unsigned start = p->next++;
    for (int pass = 0; pass < 2 && best < 0; pass++) {
        int fewest = -1;
        for (size_t j = 0; j < p->n; j++) {
            int i = (int)((start + j) % p->n);
            pool_member *m = &p->m[i];
            if (i == exclude || m->pin_failed)
                continue;
            /* An out card is probed now and then; a probe that fails costs a retry, not a failure. */
            if (m->out && now - m->out_ms < SCHSM_POOL_PROBE_MS)
                continue;
            if (pass == 0) {
                if (m->busy == 0 && (m->lock_fd < 0 || flock(m->lock_fd, LOCK_EX | LOCK_NB) == 0)) {
                    *locked = m->lock_fd >= 0;
                    best = i;
                    break;
                }
            } else if (fewest < 0 || m->busy < p->m[fewest].busy) {
                fewest = i;
            }
        }
        if (pass == 1)
            best = fewest;
    }
    if (best >= 0) {
        if (p->m[best].out)
            p->m[best].out_ms = now;   /* one probe per period */
        p->m[best].busy++;
    }
    pthread_mutex_unlock(&p->lock);
    return best;
}

/* Which failures take a card out and send the operation to another card. */
static int card_failed(int rv)
{
    return rv == HSM_E_COMM || rv == HSM_E_NO_CARD || rv == HSM_E_NO_READER || rv == HSM_E_RESET
           || rv == HSM_E_SW || rv == HSM_E_PARSE || rv == HSM_E_NOT_FOUND || rv == HSM_E_PIN_REFUSED
           || rv == HSM_E_VERIFY || rv == HSM_E_CRYPTO || rv == HSM_E_BUSY;
}

static void release(schsm_pool *p, int i, int locked, int rv)
{
    pthread_mutex_lock(&p->lock);
    pool_member *m = &p->m[i];
    if (locked)
        flock(m->lock_fd, LOCK_UN);
    m->busy--;
    if (rv == HSM_OK) {
        if (m->out)
            hsm_log("pool %s: card %s is back", p->name, m->serial);
        m->out = 0;
    } else if (card_failed(rv)) {
        if (!m->out)
            hsm_log("pool %s: card %s taken out (%s)", p->name, m->serial, hsm_rv_text(rv));
        m->out = 1;
        m->out_ms = now_ms();
        /* The token never resends a PIN that failed; the pool never moves it to another card. */
        if (rv == HSM_E_PIN_REFUSED || (rv == HSM_E_SW && hsm_token_pin_failed(m->token)))
            m->pin_failed = 1;
    }
    pthread_mutex_unlock(&p->lock);
}

enum { OP_SIGN, OP_DECIPHER };

/* The operation on k's card, or on a free card of its pool with one retry on another card. Returns
 * the hsm_rv; *who is the token that answered last (NULL: no card of the pool was usable). */
static int run(schsm_key *k, int op, EVP_PKEY *pub, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out,
               hsm_token **who)
{
    schsm_pool *p = k->pool;
    *who = k->token;
    if (p == NULL)
        return op == OP_SIGN ? hsm_token_sign_checked(k->token, &k->card, pub, alg, in, len, out)
                             : hsm_token_decipher(k->token, &k->card, alg, in, len, out);
    int failed = -1, rv = HSM_E_NO_CARD;
    *who = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        int locked;
        int i = acquire(p, failed, &locked);
        if (i < 0)
            break;
        pool_member *m = &p->m[i];
        hsm_bytes_free(out);
        rv = op == OP_SIGN ? hsm_token_sign_checked(m->token, &m->card, pub != NULL ? pub : p->pub, alg, in, len, out)
                           : hsm_token_decipher(m->token, &m->card, alg, in, len, out);
        *who = m->token;
        release(p, i, locked, rv);
        if (rv == HSM_OK || !card_failed(rv))
            break;
        failed = i;
    }
    return rv;
}

static int run_raise(schsm_key *k, int op, EVP_PKEY *pub, uint8_t alg, const uint8_t *in, size_t len,
                     hsm_bytes *out)
{
    hsm_token *who;
    int rv = run(k, op, pub, alg, in, len, out, &who);
    if (rv == HSM_OK)
        return 1;
    if (who != NULL)
        schsm_raise_token(k->ctx, who, rv);
    else
        schsm_raise(k->ctx, SCHSM_R_CARD, "pool %s: no card of the pool is usable now (all %zu are out)",
                    k->pool->name, k->pool->n);
    return 0;
}

int schsm_key_sign_rv(schsm_key *k, EVP_PKEY *pub, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out,
                      hsm_token **who)
{
    int rv = run(k, OP_SIGN, pub, alg, in, len, out, who);
    if (*who == NULL)
        *who = k->token;
    return rv;
}

int schsm_key_sign(schsm_key *k, EVP_PKEY *pub, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out)
{
    return run_raise(k, OP_SIGN, pub, alg, in, len, out);
}

int schsm_key_decipher(schsm_key *k, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out)
{
    return run_raise(k, OP_DECIPHER, NULL, alg, in, len, out);
}
