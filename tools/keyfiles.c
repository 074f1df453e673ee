/* SPDX-License-Identifier: Apache-2.0 */
/* Files and secrets of the DKEK and backup commands: whole-file reads with a size cap, atomic
 * writes that never overwrite by accident, the share password and n-of-m password shares. */
#include "tools/keyfiles.h"


#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hsm/device.h"
#include "hsm/rv.h"

/* ---- files ---- */

int tool_read_file(tool_ctx *ctx, const char *path, size_t max, hsm_bytes *out)
{
    errno = 0;
    int rv = hsm_read_whole_file(path, max, out);
    if (rv == HSM_E_NOT_FOUND)
        return tool_error(ctx, TOOL_FAIL, "cannot open %s: %s", path, strerror(errno));
    if (rv == HSM_E_ARGS)
        return tool_error(ctx, TOOL_FAIL, "%s is too large (more than %zu bytes) for this kind of file", path, max);
    if (rv == HSM_E_MEM)
        return tool_error(ctx, TOOL_FAIL, "out of memory");
    if (rv != HSM_OK)
        return tool_error(ctx, TOOL_FAIL, "cannot read %s: %s", path, strerror(errno));
    return TOOL_OK;
}

/* Refuses an existing file unless force: checked before anything costly or card-related. */
int tool_check_out(tool_ctx *ctx, const char *path, int force)
{
    struct stat st;
    if (!force && stat(path, &st) == 0)
        return tool_error(ctx, TOOL_FAIL, "%s exists: choose another file or pass --force to overwrite it", path);
    return TOOL_OK;
}

/* Writes through a temporary file in the same directory: a crash leaves either no file or the
 * complete one. Without force, link() refuses atomically when the target appeared meanwhile. */
int tool_write_file(tool_ctx *ctx, const char *path, const uint8_t *data, size_t len, int force)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
        return tool_error(ctx, TOOL_FAIL, "file name too long: %s", path);
    int fd = mkstemp(tmp);   /* mode 0600 */
    if (fd < 0)
        return tool_error(ctx, TOOL_FAIL, "cannot create a file next to %s: %s", path, strerror(errno));
    size_t off = 0;
    int err = 0;
    while (off < len && err == 0) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            err = errno ? errno : EIO;
        else
            off += (size_t)w;
    }
    if (err == 0 && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && err == 0)
        err = errno;
    if (err == 0) {
        if (force ? rename(tmp, path) != 0 : link(tmp, path) != 0)
            err = errno;
    }
    unlink(tmp);   /* after rename it is gone already; after link it is the extra name */
    if (err == EEXIST)
        return tool_error(ctx, TOOL_FAIL, "%s exists: choose another file or pass --force to overwrite it", path);
    if (err != 0)
        return tool_error(ctx, TOOL_FAIL, "cannot write %s: %s", path, strerror(err));
    return TOOL_OK;
}

/* ---- secrets ---- */

/* Share password from --password-source or the terminal. */
int tool_share_password(tool_ctx *ctx, tool_args *a, int confirm, char **pw, size_t *len)
{
    char why[256];
    const char *src = tool_arg(a, "password-source");
    int rv;
    if (src != NULL)
        rv = tool_secret_from_source(src, pw, len, why, sizeof(why));
    else
        rv = tool_secret_prompt("DKEK share password: ", confirm, pw, len, why, sizeof(why));
    if (rv != HSM_OK) {
        *pw = NULL;
        *len = 0;
        if (src == NULL && !tool_have_tty())
            return tool_usage_error(ctx, "no share password given and no terminal to ask: use --password-source "
                                    "env:NAME or file:PATH");
        return tool_error(ctx, rv == HSM_E_ARGS ? TOOL_USAGE : TOOL_FAIL, "%s", why);
    }
    return TOOL_OK;
}

/* n-of-m: shares from --shares-file, or asked on the terminal (n of them). */
int tool_share_pwd_shares(tool_ctx *ctx, tool_args *a, long want, uint8_t secret[HSM_PWD_SECRET_LEN])
{
    char why[256];
    hsm_pwd_share *sh = calloc(HSM_PWD_SHARES_MAX, sizeof(*sh));
    hsm_bytes text = HSM_BYTES_INIT;
    size_t n = 0;
    int rc = TOOL_OK;
    if (sh == NULL)
        return tool_error(ctx, TOOL_FAIL, "out of memory");
    const char *file = tool_arg(a, "shares-file");
    if (file != NULL) {
        rc = tool_read_file(ctx, file, 65536, &text);
    } else {
        if (!tool_have_tty()) {
            free(sh);
            return tool_usage_error(ctx, "no terminal to ask for the password shares: use --shares-file FILE");
        }
        for (long i = 1; i <= want && rc == TOOL_OK; i++) {
            static const char *const keys[] = { "Prime", "Share ID", "Share value" };
            for (int k = i == 1 ? 0 : 1; k < 3 && rc == TOOL_OK; k++) {
                char prompt[64], *s = NULL;
                size_t sl = 0;
                snprintf(prompt, sizeof(prompt), "Share %ld %s: ", i, keys[k]);
                if (k == 0)
                    snprintf(prompt, sizeof(prompt), "Prime (same for all shares): ");
                if (tool_secret_prompt(prompt, 0, &s, &sl, why, sizeof(why)) != HSM_OK) {
                    rc = tool_error(ctx, TOOL_FAIL, "%s", why);
                    break;
                }
                hsm_bytes_put(&text, keys[k], strlen(keys[k]));
                hsm_bytes_put(&text, ": ", 2);
                hsm_bytes_put(&text, s, sl);
                hsm_bytes_put_u8(&text, '\n');
                tool_secret_free(s, sl);
            }
        }
    }
    if (rc == TOOL_OK && text.oom)
        rc = tool_error(ctx, TOOL_FAIL, "out of memory");
    if (rc == TOOL_OK
        && hsm_pwd_shares_parse((const char *)text.data, text.len, sh, HSM_PWD_SHARES_MAX, &n, why, sizeof(why))
               != HSM_OK)
        rc = tool_error(ctx, TOOL_FAIL, "%s%s%s", file ? file : "password shares", ": ", why);
    if (rc == TOOL_OK && want > 0 && n < (size_t)want)
        rc = tool_error(ctx, TOOL_FAIL, "%s holds %zu share%s, but --pwd-shares asks for %ld", file, n,
                        n == 1 ? "" : "s", want);
    if (rc == TOOL_OK && want > 0)
        n = (size_t)want;
    if (rc == TOOL_OK && n < 2)
        rc = tool_error(ctx, TOOL_FAIL, "at least 2 password shares are needed (the threshold set when the share "
                        "file was created)");
    if (rc == TOOL_OK) {
        int cr = hsm_pwd_combine(sh, n, secret);
        if (cr == HSM_E_ARGS)
            rc = tool_error(ctx, TOOL_FAIL, "the password shares do not fit together (different primes or the same "
                            "share ID twice): check them");
        else if (cr != HSM_OK)
            rc = tool_error(ctx, TOOL_FAIL, "wrong password shares (or fewer than the threshold): nothing was sent "
                            "to the card");
    }
    OPENSSL_cleanse(sh, HSM_PWD_SHARES_MAX * sizeof(*sh));
    free(sh);
    hsm_bytes_free(&text);
    return rc;
}

void tool_print_pwd_shares(const hsm_pwd_share *sh, unsigned t, unsigned n)
{
    char buf[256];
    printf("\nThe share file's password is split into %u shares; any %u of them open it.\n"
           "Give each share to its custodian and keep the lines of one share together:\n", n, t);
    for (unsigned i = 0; i < n; i++) {
        if (hsm_pwd_share_format(&sh[i], buf, sizeof(buf)) != HSM_OK)
            continue;
        printf("\nShare %u of %u (threshold %u)\n%s", i + 1, n, t, buf);
        OPENSSL_cleanse(buf, sizeof(buf));
    }
}

