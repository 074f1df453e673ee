/* SPDX-License-Identifier: Apache-2.0 */
#include "hsm/trace.h"
#include "hsm/apdu.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static int trace_loaded;
static unsigned trace_bits;

static unsigned parse_spec(const char *s)
{
    unsigned f = 0;
    if (s == NULL)
        return 0;
    if (strstr(s, "apdu") != NULL)
        f |= HSM_TRACE_APDU;
    if (strstr(s, "all") != NULL || strcmp(s, "1") == 0)
        f |= HSM_TRACE_APDU | HSM_TRACE_LOG;
    if (strstr(s, "log") != NULL)
        f |= HSM_TRACE_LOG;
    return f;
}

unsigned hsm_trace_flags(void)
{
    pthread_mutex_lock(&trace_lock);
    if (!trace_loaded) {
        trace_bits = parse_spec(getenv("SCHSM_DEBUG"));
        trace_loaded = 1;
    }
    unsigned f = trace_bits;
    pthread_mutex_unlock(&trace_lock);
    return f;
}

void hsm_trace_set(const char *spec)
{
    pthread_mutex_lock(&trace_lock);
    /* The environment wins over configuration, so a user can always turn tracing on. */
    trace_bits = parse_spec(getenv("SCHSM_DEBUG")) | parse_spec(spec);
    trace_loaded = 1;
    pthread_mutex_unlock(&trace_lock);
}

/* Opened per line: a long-running server may rotate the file, and the fd must not leak into
 * forked children without us knowing. Tracing is for diagnosis, not speed. */
static void emit(const char *line)
{
    const char *path = getenv("SCHSM_DEBUG_FILE");
    FILE *f = NULL;
    if (path != NULL && *path != '\0')
        f = fopen(path, "ae");
    if (f != NULL) {
        fputs(line, f);
        fclose(f);
    } else {
        fputs(line, stderr);
    }
}

void hsm_trace_command(const uint8_t *cmd, size_t len)
{
    if (!(hsm_trace_flags() & HSM_TRACE_APDU))
        return;
    hsm_apdu a;
    int ext;
    char line[96];
    if (hsm_apdu_parse(cmd, len, &a, &ext) == 0)
        snprintf(line, sizeof(line), "apdu> %02X %02X %02X %02X Lc=%zu\n", a.cla, a.ins, a.p1, a.p2, a.lc);
    else
        snprintf(line, sizeof(line), "apdu> malformed (%zu bytes)\n", len);
    emit(line);
}

void hsm_trace_response(size_t data_len, uint16_t sw)
{
    if (!(hsm_trace_flags() & HSM_TRACE_APDU))
        return;
    char line[64];
    snprintf(line, sizeof(line), "apdu< %zu bytes SW=%04X\n", data_len, sw);
    emit(line);
}

void hsm_log(const char *fmt, ...)
{
    if (!(hsm_trace_flags() & HSM_TRACE_LOG))
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t l = strlen(line);
    if (l == 0 || line[l - 1] != '\n') {
        line[l] = '\n';
        line[l + 1] = '\0';
    }
    char out[530];
    snprintf(out, sizeof(out), "schsm: %s", line);
    emit(out);
}
