/* SPDX-License-Identifier: Apache-2.0 */
/* DKEK shares and key backup: create-dkek-share, import-dkek-share, dkek-status, wrap-key,
 * unwrap-key. Share files and wrapped-key files are byte-compatible with OpenSC's sc-hsm-tool
 * (protocol sheet 12.6-12.8); the file crypto and the n-of-m scheme live in hsm/dkek.h. */
#include "tools/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "hsm/crypto.h"
#include "hsm/dkek.h"
#include "hsm/rv.h"
#include "hsm/sw.h"

#define INS_KEYDOMAIN 0x52
#define INS_WRAP 0x72
#define INS_UNWRAP 0x74
#define INS_UPDATE 0xD7
#define FID(prefix, ref) ((uint16_t)((prefix) << 8 | (ref)))
#define PREFIX_REQ_KEEP 0xCB   /* the token keeps a key's CV request here (see hsm/token.h) */
#define MAX_DOMAINS 64
#define WRAPPED_FILE_MAX 65536

static const char KDF_NOTE[] = "deriving key (takes a few seconds)\n";

static void hex_into(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ---- files ---- */

static int read_file(tool_ctx *ctx, const char *path, size_t max, hsm_bytes *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tool_error(ctx, TOOL_FAIL, "cannot open %s: %s", path, strerror(errno));
    uint8_t buf[4096];
    int rc = TOOL_OK;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = tool_error(ctx, TOOL_FAIL, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        if (out->len + (size_t)r > max) {
            rc = tool_error(ctx, TOOL_FAIL, "%s is too large (more than %zu bytes) for this kind of file", path, max);
            break;
        }
        if (hsm_bytes_put(out, buf, (size_t)r) != HSM_OK) {
            rc = tool_error(ctx, TOOL_FAIL, "out of memory");
            break;
        }
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);
    return rc;
}

/* Refuses an existing file unless force: checked before anything costly or card-related. */
static int check_out(tool_ctx *ctx, const char *path, int force)
{
    struct stat st;
    if (!force && stat(path, &st) == 0)
        return tool_error(ctx, TOOL_FAIL, "%s exists: choose another file or pass --force to overwrite it", path);
    return TOOL_OK;
}

/* Writes through a temporary file in the same directory: a crash leaves either no file or the
 * complete one. Without force, link() refuses atomically when the target appeared meanwhile. */
static int write_file(tool_ctx *ctx, const char *path, const uint8_t *data, size_t len, int force)
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
static int get_password(tool_ctx *ctx, tool_args *a, int confirm, char **pw, size_t *len)
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
static int get_pwd_shares(tool_ctx *ctx, tool_args *a, long want, uint8_t secret[HSM_PWD_SECRET_LEN])
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
        rc = read_file(ctx, file, 65536, &text);
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

/* ---- create-dkek-share ---- */

static void print_shares(const hsm_pwd_share *sh, unsigned t, unsigned n)
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

static int run_create(tool_ctx *ctx, tool_args *a)
{
    char why[256];
    const char *out = tool_arg(a, "out");
    const char *ts = tool_arg(a, "pwd-shares-threshold"), *ns = tool_arg(a, "pwd-shares-total");
    long t = 0, n = 0;
    if (out == NULL || *out == '\0')
        return tool_usage_error(ctx, "--out FILE is required (where the encrypted share is written)");
    if ((ts == NULL) != (ns == NULL))
        return tool_usage_error(ctx, "give both --pwd-shares-threshold and --pwd-shares-total, or neither");
    int nofm = ts != NULL;
    if (nofm) {
        if (tool_parse_uint(ts, 0, 100000, &t) != HSM_OK || tool_parse_uint(ns, 0, 100000, &n) != HSM_OK)
            return tool_usage_error(ctx, "--pwd-shares-threshold and --pwd-shares-total must be numbers");
        if (hsm_pwd_check_params(t, n, why, sizeof(why)) != HSM_OK)
            return tool_usage_error(ctx, "%s; no file was written", why);
        if (tool_arg(a, "password-source") != NULL)
            return tool_usage_error(ctx, "--password-source and password shares exclude each other: with shares "
                                    "the password is random");
    }
    int rc = check_out(ctx, out, tool_flag(a, "force"));
    if (rc != TOOL_OK)
        return rc;

    char *pw = NULL;
    size_t pw_len = 0;
    if (!nofm) {
        rc = get_password(ctx, a, 1, &pw, &pw_len);
        if (rc != TOOL_OK)
            return rc;
        if (pw_len < HSM_DKEK_PWD_MIN) {
            tool_secret_free(pw, pw_len);
            return tool_usage_error(ctx, "the share password must have at least %d characters", HSM_DKEK_PWD_MIN);
        }
    }

    /* Card randomness: share, salt, and for n-of-m the secret and the coefficients. */
    size_t coef_len = nofm ? 16 * (size_t)(t - 1) : 0;
    size_t rnd_len = HSM_DKEK_SHARE_LEN + HSM_DKEK_SALT_LEN + (nofm ? HSM_PWD_SECRET_LEN : 0) + coef_len;
    uint8_t *rnd = OPENSSL_secure_zalloc(rnd_len);
    uint8_t *host = coef_len ? OPENSSL_secure_zalloc(coef_len) : NULL;
    hsm_pwd_share *sh = nofm ? calloc((size_t)n, sizeof(*sh)) : NULL;
    uint8_t file[HSM_DKEK_FILE_LEN];
    uint64_t prime = 0;
    if (rnd == NULL || (coef_len && host == NULL) || (nofm && sh == NULL)) {
        rc = tool_error(ctx, TOOL_FAIL, "out of memory");
        goto done;
    }
    rc = tool_reach(ctx);
    if (rc != TOOL_OK)
        goto done;
    hsm_card *c = hsm_token_lock(ctx->tok);
    if (c == NULL) {
        rc = tool_token_fail(ctx, "cannot reach the card");
        goto done;
    }
    int crv = hsm_card_challenge(c, rnd, rnd_len);
    if (crv != HSM_OK)
        rc = tool_card_fail(ctx, c, crv, 0x84, "cannot get random bytes from the card");
    hsm_token_unlock(ctx->tok, 0);
    if (rc != TOOL_OK)
        goto done;

    uint8_t *share = rnd, *salt = rnd + HSM_DKEK_SHARE_LEN;
    if (nofm) {
        uint8_t *secret = salt + HSM_DKEK_SALT_LEN, *coef = secret + HSM_PWD_SECRET_LEN;
        secret[0] &= 0x7F;   /* the secret must stay below every 64-bit prime */
        /* Coefficients mix card and host randomness, so neither alone decides them. */
        if (RAND_priv_bytes_ex(hsm_libctx(), host, coef_len, 0) != 1 || hsm_pwd_prime(&prime) != HSM_OK) {
            rc = tool_error(ctx, TOOL_FAIL, "host random number generator failed");
            goto done;
        }
        for (size_t i = 0; i < coef_len; i++)
            coef[i] ^= host[i];
        if (hsm_pwd_split(secret, prime, (unsigned)t, (unsigned)n, coef, coef_len, sh) != HSM_OK) {
            rc = tool_error(ctx, TOOL_FAIL, "cannot split the password");
            goto done;
        }
        pw = (char *)secret;   /* the password is the 8 raw bytes (sc-hsm-tool does the same) */
        pw_len = HSM_PWD_SECRET_LEN;
    }
    fputs(KDF_NOTE, stderr);
    if (hsm_dkek_share_encrypt(share, (const uint8_t *)pw, pw_len, salt, HSM_DKEK_KDF_COUNT, file) != HSM_OK) {
        rc = tool_error(ctx, TOOL_FAIL, "cannot encrypt the share (host crypto failure)");
        goto done;
    }
    rc = write_file(ctx, out, file, sizeof(file), tool_flag(a, "force"));
    if (rc != TOOL_OK)
        goto done;
    printf("Wrote DKEK share file %s (64 bytes, encrypted).\n", out);
    if (nofm)
        print_shares(sh, (unsigned)t, (unsigned)n);
    if (nofm)
        printf("\nImport it into each card with: schsm-tool import-dkek-share --in %s --pwd-shares %ld\n", out, t);
    else
        printf("\nImport it into each card with: schsm-tool import-dkek-share --in %s\n", out);

done:
    if (nofm)
        pw = NULL;   /* points into rnd, cleansed below */
    tool_secret_free(pw, pw_len);
    OPENSSL_cleanse(file, sizeof(file));
    if (rnd != NULL)
        OPENSSL_secure_clear_free(rnd, rnd_len);
    if (host != NULL)
        OPENSSL_secure_clear_free(host, coef_len);
    if (sh != NULL) {
        OPENSSL_cleanse(sh, (size_t)n * sizeof(*sh));
        free(sh);
    }
    return rc;
}

/* ---- import-dkek-share ---- */

static int parse_domain(tool_ctx *ctx, tool_args *a, uint8_t *dom)
{
    const char *s = tool_arg(a, "key-domain");
    long d = 0;
    if (s != NULL && tool_parse_uint(s, 0, 255, &d) != HSM_OK)
        return tool_usage_error(ctx, "--key-domain must be a number from 0 to 255");
    *dom = (uint8_t)d;
    return TOOL_OK;
}

static int domain_status(tool_ctx *ctx, uint8_t dom, hsm_dkek_status *st)
{
    hsm_card *c = hsm_token_lock(ctx->tok);
    if (c == NULL)
        return tool_token_fail(ctx, "cannot reach the card");
    int rv = hsm_card_key_domain(c, 0, dom, NULL, 0, st);
    int rc = rv == HSM_OK ? TOOL_OK : tool_card_fail(ctx, c, rv, INS_KEYDOMAIN, "cannot read the DKEK status");
    hsm_token_unlock(ctx->tok, 0);
    return rc;
}

static void print_status(uint8_t dom, const hsm_dkek_status *st)
{
    char kcv[17];
    hex_into(kcv, st->kcv, 8);
    if (st->total == 0) {
        /* init --dkek-shares 0: the card made the DKEK itself; no other card can share it */
        printf("Key domain %u: random DKEK made by the card (keys can be restored only into this card)\nKCV: %s\n",
               dom, kcv);
        return;
    }
    printf("Key domain %u: DKEK of %u share%s, %u missing\n", dom, st->total, st->total == 1 ? "" : "s",
           st->missing);
    if (st->missing)
        printf("KCV: (incomplete: import the %u missing share%s)\n", st->missing, st->missing == 1 ? "" : "s");
    else
        printf("KCV: %s\n", kcv);
}

static int run_import(tool_ctx *ctx, tool_args *a)
{
    const char *in = tool_arg(a, "in");
    const char *ps = tool_arg(a, "pwd-shares");
    long want = 0;
    uint8_t dom = 0;
    if (in == NULL || *in == '\0')
        return tool_usage_error(ctx, "--in FILE is required (a DKEK share file from create-dkek-share or "
                                "sc-hsm-tool --create-dkek-share)");
    if (ps != NULL && tool_parse_uint(ps, 2, HSM_PWD_SHARES_MAX, &want) != HSM_OK)
        return tool_usage_error(ctx, "--pwd-shares must be a number from 2 to %d (the threshold)", HSM_PWD_SHARES_MAX);
    int nofm = ps != NULL || tool_arg(a, "shares-file") != NULL;
    if (nofm && tool_arg(a, "password-source") != NULL)
        return tool_usage_error(ctx, "give either --password-source or password shares, not both");
    int rc = parse_domain(ctx, a, &dom);
    if (rc != TOOL_OK)
        return rc;

    hsm_bytes f = HSM_BYTES_INIT;
    rc = read_file(ctx, in, 4096, &f);
    if (rc == TOOL_OK && !hsm_dkek_share_file_ok(f.data, f.len))
        rc = tool_error(ctx, TOOL_FAIL, "%s is not a DKEK share file (expected 64 bytes starting with "
                        "\"Salted__\")", in);
    /* Ask the card first: no point in a password and a slow KDF when it cannot take a share. */
    hsm_dkek_status st;
    memset(&st, 0, sizeof(st));
    if (rc == TOOL_OK)
        rc = tool_reach(ctx);
    if (rc == TOOL_OK)
        rc = domain_status(ctx, dom, &st);
    if (rc == TOOL_OK && st.total == 0xFF)
        rc = tool_error(ctx, TOOL_FAIL, "key domain %u is an XKEK domain: it takes no DKEK shares", dom);
    else if (rc == TOOL_OK && st.missing == 0) {
        char kcv[17];
        hex_into(kcv, st.kcv, 8);
        rc = tool_error(ctx, TOOL_FAIL, "key domain %u already has all %u DKEK share%s (KCV %s): nothing to import; "
                        "re-initialise the card to start over", dom, st.total, st.total == 1 ? "" : "s", kcv);
    }
    uint8_t secret[HSM_PWD_SECRET_LEN], share[HSM_DKEK_SHARE_LEN];
    char *pw = NULL;
    size_t pw_len = 0;
    if (rc == TOOL_OK) {
        if (nofm) {
            rc = get_pwd_shares(ctx, a, want, secret);
        } else {
            rc = get_password(ctx, a, 0, &pw, &pw_len);
        }
    }
    if (rc == TOOL_OK) {
        fputs(KDF_NOTE, stderr);
        int dr = nofm ? hsm_dkek_share_decrypt(f.data, f.len, secret, sizeof(secret), HSM_DKEK_KDF_COUNT, share)
                      : hsm_dkek_share_decrypt(f.data, f.len, (const uint8_t *)pw, pw_len, HSM_DKEK_KDF_COUNT, share);
        if (dr == HSM_E_VERIFY)
            rc = tool_error(ctx, TOOL_FAIL, "wrong password or not a DKEK share file: nothing was sent to the card");
        else if (dr != HSM_OK)
            rc = tool_error(ctx, TOOL_FAIL, "cannot decrypt %s: %s", in, hsm_rv_text(dr));
    }
    tool_secret_free(pw, pw_len);
    OPENSSL_cleanse(secret, sizeof(secret));
    if (rc == TOOL_OK) {
        hsm_card *c = hsm_token_lock(ctx->tok);
        if (c == NULL) {
            rc = tool_token_fail(ctx, "cannot reach the card");
        } else {
            int rv = hsm_card_key_domain(c, 0, dom, share, sizeof(share), &st);
            if (rv != HSM_OK)
                rc = tool_card_fail(ctx, c, rv, INS_KEYDOMAIN, "the card did not take the share");
            hsm_token_unlock(ctx->tok, 0);
        }
    }
    OPENSSL_cleanse(share, sizeof(share));
    hsm_bytes_free(&f);
    if (rc != TOOL_OK)
        return rc;
    printf("Imported the DKEK share from %s.\n", in);
    print_status(dom, &st);
    return TOOL_OK;
}

/* ---- dkek-status ---- */

static int run_status(tool_ctx *ctx, tool_args *a)
{
    int rc = tool_reach(ctx);
    if (rc != TOOL_OK)
        return rc;
    hsm_card *c = hsm_token_lock(ctx->tok);
    if (c == NULL)
        return tool_token_fail(ctx, "cannot reach the card");
    int json = tool_flag(a, "json");
    tool_json j;
    if (json) {
        tool_json_init(&j, stdout);
        tool_json_begin_array(&j);
    }
    size_t shown = 0;
    /* Domains answer P2 = 0, 1, ... until 6A86; a provisioned but empty slot answers 6A88. */
    for (int d = 0; d < MAX_DOMAINS; d++) {
        hsm_dkek_status st;
        memset(&st, 0, sizeof(st));
        int rv = hsm_card_key_domain(c, 0, (uint8_t)d, NULL, 0, &st);
        uint16_t sw = hsm_card_last_sw(c);
        int empty = rv == HSM_E_SW && sw == 0x6A88;
        if (rv != HSM_OK && !empty)
            break;
        if (empty && d == 0) {
            /* Domain 0 without a DKEK: just "no DKEK" unless more domains follow. */
            hsm_dkek_status st1;
            if (hsm_card_key_domain(c, 0, 1, NULL, 0, &st1) != HSM_OK && hsm_card_last_sw(c) != 0x6A88)
                break;
        }
        char kcv[17];
        hex_into(kcv, st.kcv, 8);
        const char *kind = empty ? "empty" : st.total == 0xFF ? "xkek" : "dkek";
        shown++;
        if (json) {
            tool_json_begin_object(&j);
            tool_json_key(&j, "domain");
            tool_json_int(&j, d);
            tool_json_key(&j, "kind");
            tool_json_string(&j, kind);
            if (!empty) {
                tool_json_key(&j, "total");
                tool_json_int(&j, st.total == 0xFF ? -1 : st.total);
                tool_json_key(&j, "missing");
                tool_json_int(&j, st.missing);
                tool_json_key(&j, "kcv");
                tool_json_string(&j, kcv);
                if (st.extra_len > 0) {
                    char *uid = hsm_hex_encode(st.extra, st.extra_len);
                    tool_json_key(&j, "uid");
                    tool_json_string(&j, uid);
                    free(uid);
                }
                tool_json_key(&j, "complete");
                tool_json_bool(&j, st.total == 0xFF ? strcmp(kcv, "0000000000000000") != 0 : st.missing == 0);
            }
            tool_json_end_object(&j);
        } else if (empty) {
            printf("Key domain %d: empty\n", d);
        } else if (st.total == 0xFF) {
            char *uid = hsm_hex_encode(st.extra, st.extra_len);
            printf("Key domain %d: XKEK, KCV %s%s%s\n", d, kcv, uid && *uid ? ", group UID " : "", uid ? uid : "");
            free(uid);
        } else {
            print_status((uint8_t)d, &st);
        }
    }
    hsm_token_unlock(ctx->tok, 0);
    if (json) {
        tool_json_end_array(&j);
        tool_json_finish(&j);
    } else if (shown == 0) {
        printf("No DKEK: the card was initialised without DKEK shares, so keys cannot be exported.\n"
               "Re-initialise it with schsm-tool init --dkek-shares N to set one up (this deletes every key).\n");
    }
    return TOOL_OK;
}

/* ---- wrap-key ---- */

static int read_optional(hsm_card *c, uint16_t fid, hsm_bytes *out, int *have)
{
    int rv = hsm_card_read_file(c, fid, out);
    *have = rv == HSM_OK && out->len > 0;
    return rv == HSM_E_NOT_FOUND ? HSM_OK : rv;
}

/* XKEK (issue 10): a group signer's CBnn holds its request followed by the chain of the card that
 * made it; the wrapped file carries that chain (element E1) so that unwrap-key restores it. */
static int add_origin_chain(tool_ctx *ctx, hsm_bytes *file, const hsm_bytes *keep)
{
    hsm_tlv req;
    const uint8_t *p = keep->data;
    if (keep->len == 0 || keep->data[0] != 0x67 || hsm_tlv_next(&p, keep->data + keep->len, &req) != 1
        || req.rawlen >= keep->len)
        return TOOL_OK;   /* only a kept request: nothing to carry */
    if (hsm_wrapped_file_add_origin(file, keep->data + req.rawlen, keep->len - req.rawlen) != HSM_OK)
        return tool_error(ctx, TOOL_FAIL, "cannot add the key's origin chain to the wrapped file; nothing was written");
    return TOOL_OK;
}

/* The unwrap side of add_origin_chain: CBnn = request || origin chain. */
static int restore_origin_chain(hsm_card *c, uint8_t ref, const hsm_wrapped_file *wf)
{
    if (wf->origin == NULL || wf->cert == NULL || wf->cert[0] != 0x67)
        return HSM_OK;
    hsm_bytes cb = HSM_BYTES_INIT;
    hsm_bytes_put(&cb, wf->cert, wf->cert_len);
    hsm_bytes_put(&cb, wf->origin, wf->origin_len);
    int rv = cb.oom ? HSM_E_MEM : hsm_card_write_file(c, FID(PREFIX_REQ_KEEP, ref), cb.data, cb.len);
    hsm_bytes_free(&cb);
    return rv;
}

static int run_wrap(tool_ctx *ctx, tool_args *a)
{
    const char *out = tool_arg(a, "out");
    if (out == NULL || *out == '\0')
        return tool_usage_error(ctx, "--out FILE is required (where the wrapped key is written)");
    int force = tool_flag(a, "force");
    hsm_key k;
    int rc = tool_find_key(ctx, a, &k);
    if (rc == TOOL_OK)
        rc = check_out(ctx, out, force);
    if (rc == TOOL_OK)
        rc = tool_login(ctx, 0);
    if (rc != TOOL_OK)
        return rc;
    hsm_bytes blob = HSM_BYTES_INIT, prkd = HSM_BYTES_INIT, cert = HSM_BYTES_INIT, file = HSM_BYTES_INIT;
    hsm_bytes keep = HSM_BYTES_INIT;   /* XKEK (issue 10): CBnn, a group signer's request || origin chain */
    int have_prkd = 0, have_cert = 0, have_keep = 0;
    hsm_card *c = hsm_token_lock(ctx->tok);
    if (c == NULL)
        return tool_token_fail(ctx, "cannot reach the card");
    int rv = hsm_card_wrap(c, k.key_ref, &blob);
    if (rv != HSM_OK) {
        rc = tool_card_fail(ctx, c, rv, INS_WRAP, "the card did not wrap the key");
    } else if ((rv = read_optional(c, FID(HSM_PREFIX_PRKD, k.key_ref), &prkd, &have_prkd)) != HSM_OK
               || (rv = read_optional(c, FID(HSM_PREFIX_EE_CERT, k.key_ref), &cert, &have_cert)) != HSM_OK) {
        rc = tool_card_fail(ctx, c, rv, 0xB1, "cannot read the key's description or certificate");
    } else if ((rv = read_optional(c, FID(PREFIX_REQ_KEEP, k.key_ref), &keep, &have_keep)) != HSM_OK) {
        rc = tool_card_fail(ctx, c, rv, 0xB1, "cannot read the key's kept request");
    }
    hsm_token_unlock(ctx->tok, 0);
    hsm_wrapped_hdr hdr;
    if (rc == TOOL_OK && hsm_wrapped_blob_header(blob.data, blob.len, &hdr) != HSM_OK)
        rc = tool_error(ctx, TOOL_FAIL, "the card's wrapped key is malformed (%zu bytes); nothing was written",
                        blob.len);
    if (rc == TOOL_OK && have_cert && !have_prkd) {
        fprintf(stderr, "%s %s: warning: the key has no description (EF C4%02X); its certificate is not saved\n",
                ctx->prog, ctx->cmd->name, k.key_ref);
        have_cert = 0;
    }
    if (rc == TOOL_OK
        && hsm_wrapped_file_build(blob.data, blob.len, have_prkd ? prkd.data : NULL, prkd.len,
                                  have_cert ? cert.data : NULL, cert.len, &file) != HSM_OK)
        rc = tool_error(ctx, TOOL_FAIL, "the key's description or certificate on the card is malformed; "
                        "nothing was written");
    if (rc == TOOL_OK && have_keep && have_cert && have_prkd)
        rc = add_origin_chain(ctx, &file, &keep);
    if (rc == TOOL_OK)
        rc = write_file(ctx, out, file.data, file.len, force);
    if (rc == TOOL_OK) {
        char kcv[17];
        hex_into(kcv, hdr.kcv, 8);
        printf("Wrote wrapped key '%s' (key ref %u) to %s: %zu bytes, DKEK KCV %s%s%s.\n", k.label, k.key_ref, out,
               file.len, kcv, have_prkd ? ", with description" : "", have_cert ? " and certificate" : "");
    }
    hsm_bytes_free(&blob);
    hsm_bytes_free(&prkd);
    hsm_bytes_free(&cert);
    hsm_bytes_free(&file);
    hsm_bytes_free(&keep);
    return rc;
}

/* ---- unwrap-key ---- */

typedef struct {
    uint8_t refs[256];      /* key references of keys that clash by label or ID */
    size_t n;
} clash_list;

/* Keys with the same label or ID as the new key. */
static int find_clashes(tool_ctx *ctx, const hsm_prkd *d, clash_list *cl, int quiet)
{
    hsm_key *keys = NULL;
    size_t nk = 0;
    cl->n = 0;
    if (hsm_token_list_keys(ctx->tok, &keys, &nk) != HSM_OK)
        return tool_token_fail(ctx, "cannot list the keys");
    for (size_t i = 0; i < nk; i++) {
        int same_label = d->label[0] != '\0' && strcmp(keys[i].label, d->label) == 0;
        int same_id = d->id_len > 0 && keys[i].id_len == d->id_len && memcmp(keys[i].id, d->id, d->id_len) == 0;
        if (!same_label && !same_id)
            continue;
        cl->refs[cl->n++] = keys[i].key_ref;
        if (!quiet)
            fprintf(stderr, "%s %s: key ref %u ('%s') has the same %s\n", ctx->prog, ctx->cmd->name,
                    keys[i].key_ref, keys[i].label,
                    same_label && same_id ? "label and ID" : same_label ? "label" : "ID");
    }
    free(keys);
    return TOOL_OK;
}

/* Does one of the card's key domains hold the DKEK the blob was wrapped with? Reports the
 * mismatch itself (nothing is sent to the card then). */
static int check_kcv(tool_ctx *ctx, hsm_card *c, const uint8_t kcv[8])
{
    char want[17], have[4 * 18 + 8] = "";
    hex_into(want, kcv, 8);
    int any = 0;
    for (int d = 0; d < MAX_DOMAINS; d++) {
        hsm_dkek_status st;
        int rv = hsm_card_key_domain(c, 0, (uint8_t)d, NULL, 0, &st);
        if (rv != HSM_OK && !(rv == HSM_E_SW && hsm_card_last_sw(c) == 0x6A88))
            break;
        if (rv != HSM_OK)
            continue;
        if (CRYPTO_memcmp(st.kcv, kcv, 8) == 0 && (st.missing == 0 || st.total == 0xFF))
            return TOOL_OK;
        char k[17];
        hex_into(k, st.kcv, 8);
        if (any < 4) {
            size_t l = strlen(have);
            snprintf(have + l, sizeof(have) - l, "%s%s%s", any ? ", " : "", st.missing ? "incomplete " : "",
                     st.missing ? "" : k);
        }
        any++;
    }
    if (!any)
        return tool_error(ctx, TOOL_FAIL, "this card has no DKEK: initialise it with --dkek-shares N and import the "
                          "shares the key was wrapped with (KCV %s); nothing was changed", want);
    return tool_error(ctx, TOOL_FAIL, "the key was wrapped with a different DKEK (KCV %s; this card has %s): import "
                      "the DKEK shares it was wrapped with (schsm-tool import-dkek-share); nothing was changed",
                      want, have);
}

/* Lowest key reference with none of the key's files, so nothing old is overwritten. */
static int free_ref(hsm_card *c)
{
    hsm_bytes fids = HSM_BYTES_INIT;
    uint8_t used[256] = { 0 };
    if (hsm_card_enumerate(c, &fids) != HSM_OK) {
        hsm_bytes_free(&fids);
        return -1;
    }
    for (size_t i = 0; i + 1 < fids.len; i += 2) {
        uint8_t pre = fids.data[i];
        if (pre == HSM_PREFIX_KEY || pre == HSM_PREFIX_PRKD || pre == HSM_PREFIX_EE_CERT || pre == PREFIX_REQ_KEEP)
            used[fids.data[i + 1]] = 1;
    }
    hsm_bytes_free(&fids);
    for (int r = 1; r <= 255; r++)
        if (!used[r])
            return r;
    return 0;
}

static void delete_key_files(hsm_card *c, uint8_t ref)
{
    static const uint8_t prefixes[] = { HSM_PREFIX_KEY, HSM_PREFIX_PRKD, HSM_PREFIX_EE_CERT, PREFIX_REQ_KEEP };
    for (size_t i = 0; i < sizeof(prefixes); i++) {
        int rv = hsm_card_delete_file(c, FID(prefixes[i], ref));
        (void)rv;   /* best effort; absent files are fine */
    }
}

/* The PRKD to write: the file's own bytes, or re-encoded with the new label / ID. */
static int new_prkd(tool_ctx *ctx, const hsm_wrapped_file *wf, const char *label, const uint8_t *id, size_t id_len,
                    hsm_prkd *d, hsm_bytes *out)
{
    memset(d, 0, sizeof(*d));
    if (wf->prkd == NULL) {
        if (label != NULL || id != NULL)
            return tool_error(ctx, TOOL_FAIL, "the file holds no key description, so --label/--id cannot be applied");
        return TOOL_OK;
    }
    if (hsm_prkd_decode(wf->prkd, wf->prkd_len, d) != HSM_OK)
        return tool_error(ctx, TOOL_FAIL, "the key description in the file is malformed");
    if (label == NULL && id == NULL)
        return hsm_bytes_set(out, wf->prkd, wf->prkd_len) == HSM_OK ? TOOL_OK : tool_error(ctx, TOOL_FAIL, "out of memory");
    if (label != NULL)
        snprintf(d->label, sizeof(d->label), "%s", label);
    if (id != NULL) {
        memcpy(d->id, id, id_len);
        d->id_len = id_len;
    }
    if (hsm_prkd_encode(d, out) != HSM_OK)
        return tool_error(ctx, TOOL_FAIL, "cannot encode the key description");
    return TOOL_OK;
}

static int run_unwrap(tool_ctx *ctx, tool_args *a)
{
    char why[256];
    const char *in = tool_arg(a, "in"), *label = tool_arg(a, "label"), *idhex = tool_arg(a, "id");
    uint8_t id[HSM_ID_MAX];
    size_t id_len = 0;
    int force = tool_flag(a, "force");
    if (in == NULL || *in == '\0')
        return tool_usage_error(ctx, "--in FILE is required (a wrapped key from wrap-key or sc-hsm-tool --wrap-key)");
    if (label != NULL && (*label == '\0' || strlen(label) >= HSM_LABEL_MAX))
        return tool_usage_error(ctx, "--label must have 1 to %d bytes", HSM_LABEL_MAX - 1);
    if (idhex != NULL && tool_parse_id(idhex, id, sizeof(id), &id_len, why, sizeof(why)) != HSM_OK)
        return tool_usage_error(ctx, "%s", why);

    hsm_bytes f = HSM_BYTES_INIT, prkd = HSM_BYTES_INIT;
    hsm_wrapped_file wf;
    hsm_wrapped_hdr hdr;
    hsm_prkd d;
    clash_list cl;
    cl.n = 0;
    int rc = read_file(ctx, in, WRAPPED_FILE_MAX, &f);
    if (rc == TOOL_OK && (hsm_wrapped_file_parse(f.data, f.len, &wf) != HSM_OK
                          || hsm_wrapped_blob_header(wf.blob, wf.blob_len, &hdr) != HSM_OK))
        rc = tool_error(ctx, TOOL_FAIL, "%s is not a wrapped-key file (expected 30 { 04 wrapped key, description, "
                        "certificate } as wrap-key and sc-hsm-tool --wrap-key write it)", in);
    if (rc == TOOL_OK)
        rc = new_prkd(ctx, &wf, label, idhex ? id : NULL, id_len, &d, &prkd);
    if (rc == TOOL_OK)
        rc = tool_login(ctx, 0);
    if (rc == TOOL_OK)
        rc = find_clashes(ctx, &d, &cl, 0);
    if (rc == TOOL_OK && cl.n > 0 && !force)
        rc = tool_error(ctx, TOOL_FAIL, "a key with label '%s' or the same ID is already on the card: unwrap under "
                        "another name (--label L --id HEX), or pass --force to replace that key", d.label);
    if (rc != TOOL_OK)
        goto out;

    hsm_card *c = hsm_token_lock(ctx->tok);
    if (c == NULL) {
        rc = tool_token_fail(ctx, "cannot reach the card");
        goto out;
    }
    int changed = 0;
    rc = check_kcv(ctx, c, hdr.kcv);
    int ref = 0;
    if (rc == TOOL_OK) {
        ref = free_ref(c);
        if (ref < 0)
            rc = tool_error(ctx, TOOL_FAIL, "cannot list the card's files to find a free key reference; retry");
        else if (ref == 0)
            rc = tool_error(ctx, TOOL_FAIL, "no free key reference left (255 keys): delete keys you no longer need");
    }
    if (rc == TOOL_OK) {
        int rv = hsm_card_unwrap(c, (uint8_t)ref, wf.blob, wf.blob_len);
        changed = 1;
        if (rv != HSM_OK) {
            rc = tool_card_fail(ctx, c, rv, INS_UNWRAP, "the card did not unwrap the key");
            delete_key_files(c, (uint8_t)ref);   /* the card should have made nothing; make sure */
        }
    }
    if (rc == TOOL_OK) {
        int rv = HSM_OK;
        if (prkd.len > 0)
            rv = hsm_card_write_file(c, FID(HSM_PREFIX_PRKD, ref), prkd.data, prkd.len);
        if (rv == HSM_OK && wf.cert != NULL)
            rv = hsm_card_write_file(c, FID(HSM_PREFIX_EE_CERT, ref), wf.cert, wf.cert_len);
        if (rv == HSM_OK)
            rv = restore_origin_chain(c, (uint8_t)ref, &wf);
        if (rv != HSM_OK) {
            /* Nothing half-made: a key without its description would be invisible to OpenSC. */
            rc = tool_card_fail(ctx, c, rv, INS_UPDATE, "cannot write the key's description or certificate; the "
                                "unwrapped key was removed again");
            delete_key_files(c, (uint8_t)ref);
        }
    }
    if (rc == TOOL_OK && force) {
        /* Only now that the new key is complete do the keys it replaces go. */
        for (size_t i = 0; i < cl.n; i++)
            delete_key_files(c, cl.refs[i]);
    }
    if (changed) {
        /* As after any change to the key set: other sessions must log in again and re-read
         * their key directory before they use a key (see hsm/token.h). */
        int rv = hsm_card_select(c, NULL);
        (void)rv;
    }
    hsm_token_unlock(ctx->tok, changed);
    if (rc == TOOL_OK) {
        char idh[2 * HSM_ID_MAX + 1];
        hex_into(idh, d.id, d.id_len);
        const char *type = hdr.key_type == 0x0C ? "ec" : hdr.key_type == 0x0F ? "aes" : "rsa";
        printf("Unwrapped key '%s' (id %s, key ref %d, %s%s%s).\n", d.label, idh[0] ? idh : "-", ref, type,
               prkd.len ? "" : ", no description", wf.cert ? ", with certificate" : "");
        if (force && cl.n > 0)
            printf("Replaced %zu key%s with the same label or ID.\n", cl.n, cl.n == 1 ? "" : "s");
    }
out:
    hsm_bytes_free(&f);
    hsm_bytes_free(&prkd);
    return rc;
}

/* ---- command table ---- */

static const tool_opt create_opts[] = {
    { "out", "FILE", "where to write the encrypted share (64 bytes, sc-hsm-tool format)" },
    { "password-source", "SRC", "share password from file:PATH (first line) or env:NAME; default: asked twice "
                                "on the terminal. At least 6 characters" },
    { "pwd-shares-threshold", "T", "instead of a password: a random one split into shares, T of which open the "
                                   "file (T >= 2)" },
    { "pwd-shares-total", "N", "number of password shares to print (N >= 3)" },
    { "force", NULL, "overwrite FILE when it exists" },
    { NULL, NULL, NULL },
};
static const tool_opt import_opts[] = {
    { "in", "FILE", "the DKEK share file" },
    { "password-source", "SRC", "share password from file:PATH or env:NAME; default: asked on the terminal" },
    { "pwd-shares", "N", "the password was split: N shares (the threshold) are asked on the terminal, or read "
                         "from --shares-file" },
    { "shares-file", "FILE", "read the password shares from FILE (the Prime / Share ID / Share value lines "
                             "create-dkek-share printed); all shares in it are used unless --pwd-shares N" },
    { "key-domain", "N", "import into key domain N (default 0)" },
    { NULL, NULL, NULL },
};
static const tool_opt status_opts[] = {
    { "json", NULL, "print a JSON array of {domain, kind: dkek|xkek|empty, total, missing, kcv, complete}" },
    { NULL, NULL, NULL },
};
static const tool_opt wrap_opts[] = {
    TOOL_OPTS_KEY_SELECT,
    { "out", "FILE", "where to write the wrapped key (sc-hsm-tool --wrap-key format)" },
    { "force", NULL, "overwrite FILE when it exists" },
    { NULL, NULL, NULL },
};
static const tool_opt unwrap_opts[] = {
    { "in", "FILE", "the wrapped key (from wrap-key or sc-hsm-tool --wrap-key)" },
    { "label", "L", "store the key under this label instead of the one in the file" },
    { "id", "HEX", "store the key under this ID instead of the one in the file" },
    { "force", NULL, "replace keys with the same label or ID (they are deleted once the new key is complete)" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_create_dkek_share = {
    "create-dkek-share",
    "--out FILE [--password-source SRC | --pwd-shares-threshold T --pwd-shares-total N] [--force]",
    "create a DKEK share file (32 random bytes from the card, password-encrypted)",
    "The file is byte-compatible with sc-hsm-tool --create-dkek-share: OpenSSL \"Salted__\" format,\n"
    "EVP_BytesToKey with MD5 and 10,000,000 iterations, AES-256-CBC. Keep it and its password apart.\n"
    "With --pwd-shares-threshold/--pwd-shares-total the password is 8 random bytes split with\n"
    "Shamir's scheme; the shares are printed once and never stored. No PIN is needed.",
    create_opts, run_create,
};
const tool_cmd tool_cmd_import_dkek_share = {
    "import-dkek-share", "--in FILE [--password-source SRC | --pwd-shares N [--shares-file F]] [--key-domain N]",
    "decrypt a DKEK share file and import the share into the card",
    "Import every share the card was initialised for (init --dkek-shares N); the DKEK is complete when\n"
    "the last one arrives. Two cards with the same shares have the same KCV and can exchange wrapped\n"
    "keys. A wrong password is detected before anything is sent. No PIN is needed.",
    import_opts, run_import,
};
const tool_cmd tool_cmd_dkek_status = {
    "dkek-status", "[--json]", "show the DKEK of each key domain: shares, missing shares, KCV",
    "No PIN is needed. The KCV (first 8 bytes of SHA-256 of the DKEK) is the same on every card\n"
    "holding the same DKEK.",
    status_opts, run_status,
};
const tool_cmd tool_cmd_key_domains = {
    "key-domains", "[--json]", "list the key domains (DKEK and XKEK) with their KCVs",
    "The same listing as dkek-status; XKEK domains also show the group's UID. No PIN is needed.",
    status_opts, run_status,
};
const tool_cmd tool_cmd_wrap_key = {
    "wrap-key", "--label L | --id HEX --out FILE [--force]",
    "export a key encrypted under the DKEK (backup or copy to another card)",
    "Writes sc-hsm-tool's wrapped-key format: the card's wrapped key, the key's description (C4nn)\n"
    "and its certificate or CV request (CEnn). Needs the user PIN, a complete DKEK, and a key whose\n"
    "algorithm list (if any) allows wrapping.",
    wrap_opts, run_wrap,
};
const tool_cmd tool_cmd_unwrap_key = {
    "unwrap-key", "--in FILE [--label L] [--id HEX] [--force]",
    "import a wrapped key into the card (same DKEK required)",
    "Picks a free key reference, unwraps the key, then writes its description and certificate. If\n"
    "anything fails the new key is removed again. A key with the same label or ID is refused unless\n"
    "--force (then it is replaced once the new key is complete). Needs the user PIN.",
    unwrap_opts, run_unwrap,
};
