/* SPDX-License-Identifier: Apache-2.0 */
/* A spinner with the elapsed time on stderr while a long card operation runs (RSA-4096 key
 * generation takes minutes on a real card). Only on a terminal, and only after the first second,
 * so quick operations and scripts see nothing extra. */
#include "tools/util.h"

#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, stop, drawn;
    char what[128];
    struct timespec start;
} pg = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static double elapsed(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - pg.start.tv_sec) + (double)(now.tv_nsec - pg.start.tv_nsec) / 1e9;
}

static void *spin(void *arg)
{
    static const char frames[] = "|/-\\";
    unsigned i = 0;
    (void)arg;
    pthread_mutex_lock(&pg.mu);
    while (!pg.stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&pg.cv, &pg.mu, &until);
        double s = elapsed();
        if (pg.stop || s < 1.0)
            continue;
        fprintf(stderr, "\r%c %s (%.0f s) ", frames[i++ % 4], pg.what, s);
        fflush(stderr);
        pg.drawn = 1;
    }
    pthread_mutex_unlock(&pg.mu);
    return NULL;
}

void tool_progress_begin(const char *what)
{
    if (pg.running || !isatty(STDERR_FILENO))
        return;
    snprintf(pg.what, sizeof(pg.what), "%s", what);
    clock_gettime(CLOCK_MONOTONIC, &pg.start);
    pg.stop = pg.drawn = 0;
    pg.running = pthread_create(&pg.thread, NULL, spin, NULL) == 0;
}

void tool_progress_end(void)
{
    if (!pg.running)
        return;
    pthread_mutex_lock(&pg.mu);
    pg.stop = 1;
    pthread_cond_signal(&pg.cv);
    pthread_mutex_unlock(&pg.mu);
    pthread_join(pg.thread, NULL);
    pg.running = 0;
    if (pg.drawn)
        fprintf(stderr, "\r%*s\r", (int)strlen(pg.what) + 16, "");
}
