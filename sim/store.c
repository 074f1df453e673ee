/* SPDX-License-Identifier: Apache-2.0 */
/* The state file of a virtual card. Every access runs under flock() on PATH.lock (opened anew
 * for each lock, so that a fork()ed child never shares the parent's lock). Writes go to a
 * temporary file in the same directory, are fsync()ed and renamed over PATH, and the directory
 * is fsync()ed, so the file is always either the old or the new state. */
#include "sim/store.h"
#include "sim/sim_int.h"

#include "hsm/rv.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct sim_store {
    char *path;
    char *lockpath;
    int lockfd;              /* -1 when not locked */
    sim_card *card;
    int have_seen;
    struct stat seen;        /* the file as we last read or wrote it */
    int have_epoch;
    uint32_t epoch_seen;
    int pending;             /* state changed while locked, to be saved on unlock */
    sim_store *next;         /* all stores of the process, for the fork handler */
};

/* flock() belongs to the open file description, which a fork()ed child shares: a child that
 * kept its copy of a held lock descriptor would keep the card locked after the parent ends its
 * transaction. So the child closes every lock descriptor it inherited (the lock stays the
 * parent's) and its stores count as unlocked. */
static pthread_mutex_t stores_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static sim_store *stores;

static void fork_prepare(void)
{
    pthread_mutex_lock(&stores_mu);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&stores_mu);
}

static void fork_child(void)
{
    for (sim_store *s = stores; s != NULL; s = s->next) {
        if (s->lockfd >= 0) {
            close(s->lockfd);
            s->lockfd = -1;
        }
    }
    pthread_mutex_unlock(&stores_mu);
}

static void register_atfork(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void stores_add(sim_store *s)
{
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&stores_mu);
    s->next = stores;
    stores = s;
    pthread_mutex_unlock(&stores_mu);
}

static void stores_remove(sim_store *s)
{
    pthread_mutex_lock(&stores_mu);
    for (sim_store **pp = &stores; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&stores_mu);
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
           && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int fsync_dir(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return HSM_E_MEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return HSM_E_COMM;
    int rc = fsync(fd) == 0 ? HSM_OK : HSM_E_COMM;
    close(fd);
    return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

static int save(sim_store *s, int durable)
{
    hsm_bytes b = HSM_BYTES_INIT;
    int rc = sim_card_save(s->card, &b);
    if (rc != HSM_OK) {
        hsm_bytes_free(&b);
        return rc;
    }
    size_t tl = strlen(s->path) + 16;
    char *tmp = malloc(tl);
    if (tmp == NULL) {
        hsm_bytes_free(&b);
        return HSM_E_MEM;
    }
    snprintf(tmp, tl, "%s.tmpXXXXXX", s->path);
    int fd = mkstemp(tmp);
    rc = HSM_E_COMM;
    if (fd >= 0) {
        int ok = write_all(fd, b.data, b.len) && (!durable || fsync(fd) == 0);
        ok = close(fd) == 0 && ok;
        if (ok && rename(tmp, s->path) == 0) {
            rc = durable ? fsync_dir(s->path) : HSM_OK;
            if (rc == HSM_OK && stat(s->path, &s->seen) == 0)
                s->have_seen = 1;
        } else {
            unlink(tmp);
        }
    }
    free(tmp);
    hsm_bytes_free(&b);
    return rc;
}

/* Reads the file when it differs from what we hold; creates a factory-fresh card when absent. */
static int refresh(sim_store *s)
{
    struct stat st;
    if (stat(s->path, &st) != 0) {
        if (errno != ENOENT)
            return HSM_E_COMM;
        sim_card *c;
        int rc = sim_card_new(&c);
        if (rc != HSM_OK)
            return rc;
        sim_card_free(s->card);
        s->card = c;
        return save(s, 1);
    }
    if (s->card != NULL && s->have_seen && same_file(&st, &s->seen))
        return HSM_OK;
    FILE *f = fopen(s->path, "rb");
    if (f == NULL)
        return HSM_E_COMM;
    hsm_bytes b = HSM_BYTES_INIT;
    uint8_t buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        hsm_bytes_put(&b, buf, n);
    int err = ferror(f);
    fclose(f);
    if (err || b.oom) {
        hsm_bytes_free(&b);
        return HSM_E_COMM;
    }
    sim_card *c = NULL;
    int rc = sim_card_load(b.data, b.len, &c);
    hsm_bytes_free(&b);
    if (rc != HSM_OK)
        return rc;
    sim_card_free(s->card);
    s->card = c;
    s->seen = st;
    s->have_seen = 1;
    return HSM_OK;
}

int sim_store_lock(sim_store *s)
{
    if (s == NULL)
        return HSM_E_ARGS;
    if (s->lockfd >= 0)
        return HSM_E_BUSY;   /* already held by us: flock on a second descriptor would deadlock */
    int fd = open(s->lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return HSM_E_COMM;
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(fd);
            return HSM_E_BUSY;
        }
    }
    s->lockfd = fd;
    s->pending = 0;
    int rc = refresh(s);
    if (rc != HSM_OK) {
        close(fd);
        s->lockfd = -1;
        return rc;
    }
    uint32_t ep = sim_store_card(s)->epoch;
    if (s->have_epoch && ep != s->epoch_seen)
        rc = HSM_E_RESET;
    s->epoch_seen = ep;
    s->have_epoch = 1;
    return rc;
}

int sim_store_unlock(sim_store *s, int dirty)
{
    if (s == NULL || s->lockfd < 0)
        return HSM_E_ARGS;
    int rc = HSM_OK;
    if (dirty || s->pending)
        rc = save(s, sim_card_last_persistent(s->card));
    s->pending = 0;
    close(s->lockfd);
    s->lockfd = -1;
    return rc;
}

sim_card *sim_store_card(sim_store *s)
{
    return s->card;
}

int sim_store_power_cycle(sim_store *s)
{
    if (s == NULL)
        return HSM_E_ARGS;
    int held = s->lockfd >= 0;
    if (!held) {
        int rc = sim_store_lock(s);
        if (rc != HSM_OK && rc != HSM_E_RESET)
            return rc;
    }
    sim_card_reset(s->card);
    /* Whoever power-cycles knows it; only the other stores see HSM_E_RESET. */
    s->epoch_seen = s->card->epoch;
    if (held)
        return save(s, 0);
    return sim_store_unlock(s, 1);
}

int sim_store_open(const char *path, sim_store **out)
{
    if (path == NULL || *path == 0 || out == NULL)
        return HSM_E_ARGS;
    sim_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return HSM_E_MEM;
    s->lockfd = -1;
    s->path = strdup(path);
    s->lockpath = malloc(strlen(path) + 6);
    if (s->path == NULL || s->lockpath == NULL) {
        sim_store_close(s);
        return HSM_E_MEM;
    }
    sprintf(s->lockpath, "%s.lock", path);
    stores_add(s);
    int rc = sim_store_lock(s);
    if (rc == HSM_OK || rc == HSM_E_RESET)
        rc = sim_store_unlock(s, 0);
    if (rc != HSM_OK) {
        sim_store_close(s);
        return rc;
    }
    *out = s;
    return HSM_OK;
}

void sim_store_close(sim_store *s)
{
    if (s == NULL)
        return;
    if (s->lockfd >= 0)
        sim_store_unlock(s, 0);
    stores_remove(s);
    sim_card_free(s->card);
    free(s->path);
    free(s->lockpath);
    free(s);
}

int sim_store_save(sim_store *s)
{
    if (s == NULL || s->lockfd < 0)
        return HSM_E_ARGS;
    s->pending = 0;
    return save(s, sim_card_last_persistent(s->card));
}

int sim_store_held(const sim_store *s)
{
    return s != NULL && s->lockfd >= 0;
}
