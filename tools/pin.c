/* SPDX-License-Identifier: Apache-2.0 */
/* Reading secrets (PINs, SO-PINs): from a source (file:PATH, env:NAME) or from the terminal
 * without echo. The terminal is /dev/tty, not stdin, so that piped input and redirected output
 * never mix with a secret. Buffers holding secrets are cleansed before they are released. */
#include "tools/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hsm/rv.h"

#define SECRET_MAX 256

void tool_secret_free(char *s, size_t len)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, len + 1);
    free(s);
}

static int dup_secret(const char *s, size_t n, char **out, size_t *len)
{
    char *p = malloc(n + 1);
    if (p == NULL)
        return HSM_E_MEM;
    memcpy(p, s, n);
    p[n] = '\0';
    *out = p;
    *len = n;
    return HSM_OK;
}

/* First line of a file, without its line end. */
static int secret_from_file(const char *path, char **out, size_t *len, char *why, size_t why_len)
{
    char buf[SECRET_MAX + 2];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_len, "cannot open PIN file %s: %s", path, strerror(errno));
        return HSM_E_ARGS;
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, why_len, "cannot read PIN file %s: %s", path, strerror(errno));
            close(fd);
            OPENSSL_cleanse(buf, sizeof(buf));
            return HSM_E_ARGS;
        }
        if (r == 0 || (n += (size_t)r) == sizeof(buf) - 1)
            break;
    }
    close(fd);
    size_t l = 0;
    while (l < n && buf[l] != '\n' && buf[l] != '\r')
        l++;
    int rv;
    if (l > SECRET_MAX) {
        snprintf(why, why_len, "PIN file %s: first line is too long", path);
        rv = HSM_E_ARGS;
    } else {
        rv = dup_secret(buf, l, out, len);
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rv;
}

int tool_secret_from_source(const char *source, char **out, size_t *len, char *why, size_t why_len)
{
    if (strncmp(source, "file:", 5) == 0)
        return secret_from_file(source + 5, out, len, why, why_len);
    if (strncmp(source, "env:", 4) == 0) {
        const char *v = getenv(source + 4);
        if (source[4] == '\0' || v == NULL) {
            snprintf(why, why_len, "environment variable '%s' named by the PIN source is not set",
                     source + 4);
            return HSM_E_ARGS;
        }
        return dup_secret(v, strlen(v), out, len);
    }
    snprintf(why, why_len, "unknown PIN source '%.40s': use file:PATH or env:NAME", source);
    return HSM_E_ARGS;
}

int tool_have_tty(void)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* Reads one line from fd into buf (cap includes the NUL). Returns length or -1. */
static ssize_t read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return n > 0 ? (ssize_t)n : -1;
        if (c == '\n' || c == '\r')
            break;
        if (n + 1 < cap)
            buf[n++] = c;
    }
    buf[n] = '\0';
    return (ssize_t)n;
}

/* One prompt on fd with echo off; the terminal mode is restored whatever happens. */
static ssize_t ask_hidden(int fd, const char *prompt, char *buf, size_t cap)
{
    struct termios old, quiet;
    int have_mode = tcgetattr(fd, &old) == 0;
    if (have_mode) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    ssize_t w = write(fd, prompt, strlen(prompt));
    (void)w;
    ssize_t n = read_line(fd, buf, cap);
    if (have_mode)
        tcsetattr(fd, TCSAFLUSH, &old);
    w = write(fd, "\n", 1);
    (void)w;
    return n;
}

int tool_secret_prompt(const char *prompt, int confirm, char **out, size_t *len, char *why, size_t why_len)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_len, "no PIN given and no terminal to ask: use --pin-source env:NAME or file:PATH");
        return HSM_E_ARGS;
    }
    char a[SECRET_MAX + 1], b[SECRET_MAX + 1];
    int rv = HSM_E_ARGS;
    ssize_t n = ask_hidden(fd, prompt, a, sizeof(a));
    if (n < 0) {
        snprintf(why, why_len, "no input on the terminal");
        goto done;
    }
    if (confirm) {
        ssize_t m = ask_hidden(fd, "Repeat to confirm: ", b, sizeof(b));
        if (m != n || memcmp(a, b, (size_t)n) != 0) {
            snprintf(why, why_len, "the two entries differ: nothing was changed");
            goto done;
        }
    }
    rv = dup_secret(a, (size_t)n, out, len);
done:
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    close(fd);
    return rv;
}

int tool_confirm(const char *question)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[16];
    ssize_t w = write(fd, question, strlen(question));
    (void)w;
    w = write(fd, " [y/N] ", 7);
    (void)w;
    ssize_t n = read_line(fd, buf, sizeof(buf));
    close(fd);
    return n > 0 && (strcmp(buf, "y") == 0 || strcmp(buf, "Y") == 0 || strcmp(buf, "yes") == 0);
}

int tool_take_secret(const char *argv_val, char **out, size_t *len)
{
    size_t n = strlen(argv_val);
    int rv = dup_secret(argv_val, n, out, len);
    OPENSSL_cleanse((char *)argv_val, n);
    return rv == HSM_OK ? 0 : -1;
}
