/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the libFuzzer targets: a property check that aborts (libFuzzer records the input as a
 * crash), and splitting one input into parts. Header only: each target is one executable. */
#ifndef SCHSM_FUZZ_H
#define SCHSM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, what)                                                                      \
    do {                                                                                            \
        if (!(cond)) {                                                                              \
            /* fd 2 itself: stderr may be redirected (fuzz_host captures the library's log) */     \
            dprintf(2, "fuzz property violated at %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
            abort();                                                                                \
        }                                                                                           \
    } while (0)

/* Takes the next part of the input: a 2-byte big-endian length then that many bytes (cut short
 * at the end of the input). Returns 0 when nothing is left. */
static inline int fuzz_take(const uint8_t **p, const uint8_t *end, const uint8_t **part, size_t *len)
{
    if (end - *p < 2)
        return 0;
    size_t n = (size_t)((*p)[0] << 8 | (*p)[1]);
    *p += 2;
    if ((size_t)(end - *p) < n)
        n = (size_t)(end - *p);
    *part = *p;
    *len = n;
    *p += n;
    return 1;
}

/* Does hay contain needle? */
static inline int fuzz_contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; m > 0 && i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

/* A NUL-terminated copy of data (malloc'd; aborts on no memory). */
static inline char *fuzz_strndup(const uint8_t *data, size_t len)
{
    char *s = malloc(len + 1);
    if (s == NULL)
        abort();
    if (len)
        memcpy(s, data, len);
    s[len] = '\0';
    return s;
}

/* Silences the code under test's messages on stderr (stdio only: the sanitizers and libFuzzer
 * write to file descriptor 2 directly and are still seen). */
static inline void fuzz_quiet_stdio(void)
{
    FILE *null = fopen("/dev/null", "w");
    if (null != NULL) {
        stderr = null;
        stdout = null;
    }
}

#endif
