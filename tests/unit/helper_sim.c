/* SPDX-License-Identifier: Apache-2.0 */
#include "helper_sim.h"

#include "sim/transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdirs(const char *dir)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

const char *helper_tmpdir(void)
{
    const char *dir = getenv("SCHSM_TEST_TMP");
    if (dir == NULL || *dir == 0)
        dir = "/tmp/schsm-test";
    return mkdirs(dir) == 0 ? dir : NULL;
}

char *helper_sim_path(const char *name)
{
    static unsigned counter;
    const char *dir = helper_tmpdir();
    if (dir == NULL)
        return NULL;
    size_t n = strlen(dir) + strlen(name) + 64;
    char *p = malloc(n);
    if (p == NULL)
        return NULL;
    for (;;) {
        snprintf(p, n, "%s/%s-%ld-%u.state", dir, name, (long)getpid(), counter++);
        if (access(p, F_OK) != 0)
            return p;
    }
}

hsm_card *helper_sim_card(const char *name)
{
    char *path = helper_sim_path(name);
    hsm_transport *t = NULL;
    hsm_card *c = NULL;
    char why[256];
    if (path == NULL || sim_transport_open(path, &t, why, sizeof(why)) != 0) {
        free(path);
        return NULL;
    }
    free(path);
    if (hsm_card_new(t, &c) != 0) {
        t->ops->close(t);
        return NULL;
    }
    return c;
}
