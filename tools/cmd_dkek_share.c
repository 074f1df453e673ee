/* SPDX-License-Identifier: Apache-2.0 */
/* DKEK share files: dkek create-share, dkek import-share, dkek reshare. Share files are
 * byte-compatible with OpenSC's sc-hsm-tool (protocol sheet 12.6-12.8); the file crypto and
 * the n-of-m password scheme live in hsm/dkek.h. */
#include "tools/keyfiles.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "hsm/crypto.h"
#include "hsm/dkek.h"
#include "hsm/rv.h"

#define INS_KEYDOMAIN 0x52
#define INS_CHALLENGE 0x84

/* Randomness for share files: the card's (GET CHALLENGE) XOR the host's, so neither alone
 * decides it. Without a card (use_card 0) the host's alone. */
static int get_random(tool_ctx *ctx, int use_card, uint8_t *out, size_t len)
{
    if (RAND_priv_bytes_ex(hsm_libctx(), out, len, 0) != 1)
        return tool_error(ctx, TOOL_FAIL, "host random number generator failed");
    if (!use_card)
        return TOOL_OK;
    uint8_t *card = OPENSSL_secure_zalloc(len);
    if (card == NULL)
        return tool_error(ctx, TOOL_FAIL, "out of memory");
    int rc = tool_reach(ctx);
    hsm_card *c = rc == TOOL_OK ? hsm_token_lock(ctx->tok) : NULL;
    if (rc == TOOL_OK && c == NULL)
        rc = tool_token_fail(ctx, "cannot reach the card");
    if (c != NULL) {
        int crv = hsm_card_challenge(c, card, len);
        if (crv != HSM_OK)
            rc = tool_card_fail(ctx, c, crv, INS_CHALLENGE, "cannot get random bytes from the card");
        hsm_token_unlock(ctx->tok, 0);
    }
    for (size_t i = 0; rc == TOOL_OK && i < len; i++)
        out[i] ^= card[i];
    OPENSSL_secure_clear_free(card, len);
    return rc;
}

/* Encrypts share into out under pw (pw != NULL), or under a random password split t-of-n
 * (printed for the custodians). */
static int seal_share(tool_ctx *ctx, int use_card, const uint8_t share[HSM_DKEK_SHARE_LEN], const char *pw,
                      size_t pw_len, long t, long n, const char *out, int force)
{
    int nofm = pw == NULL;
    size_t coef_len = nofm ? 16 * (size_t)(t - 1) : 0;
    size_t rnd_len = HSM_DKEK_SALT_LEN + (nofm ? HSM_PWD_SECRET_LEN : 0) + coef_len;
    uint8_t *rnd = OPENSSL_secure_zalloc(rnd_len);
    hsm_pwd_share *sh = nofm ? calloc((size_t)n, sizeof(*sh)) : NULL;
    uint8_t file[HSM_DKEK_FILE_LEN];
    uint64_t prime = 0;
    int rc = TOOL_OK;
    if (rnd == NULL || (nofm && sh == NULL)) {
        rc = tool_error(ctx, TOOL_FAIL, "out of memory");
        goto done;
    }
    rc = get_random(ctx, use_card, rnd, rnd_len);
    if (rc != TOOL_OK)
        goto done;
    uint8_t *salt = rnd;
    if (nofm) {
        uint8_t *secret = salt + HSM_DKEK_SALT_LEN, *coef = secret + HSM_PWD_SECRET_LEN;
        secret[0] &= 0x7F;   /* the secret must stay below every 64-bit prime */
        if (hsm_pwd_prime(&prime) != HSM_OK
            || hsm_pwd_split(secret, prime, (unsigned)t, (unsigned)n, coef, coef_len, sh) != HSM_OK) {
            rc = tool_error(ctx, TOOL_FAIL, "cannot split the password (host crypto failure)");
            goto done;
        }
        pw = (const char *)secret;   /* the password is the 8 raw bytes (sc-hsm-tool does the same) */
        pw_len = HSM_PWD_SECRET_LEN;
    }
    fputs(TOOL_KDF_NOTE, stderr);
    if (hsm_dkek_share_encrypt(share, (const uint8_t *)pw, pw_len, salt, HSM_DKEK_KDF_COUNT, file) != HSM_OK) {
        rc = tool_error(ctx, TOOL_FAIL, "cannot encrypt the share (host crypto failure)");
        goto done;
    }
    rc = tool_write_file(ctx, out, file, sizeof(file), force);
    if (rc != TOOL_OK)
        goto done;
    printf("Wrote DKEK share file %s (64 bytes, encrypted).\n", out);
    if (nofm)
        tool_print_pwd_shares(sh, (unsigned)t, (unsigned)n);
done:
    OPENSSL_cleanse(file, sizeof(file));
    if (rnd != NULL)
        OPENSSL_secure_clear_free(rnd, rnd_len);
    if (sh != NULL) {
        OPENSSL_cleanse(sh, (size_t)n * sizeof(*sh));
        free(sh);
    }
    return rc;
}

/* The new password's form: --X-threshold/--X-total (n-of-m) or a typed password. */
static int parse_split(tool_ctx *ctx, tool_args *a, const char *tname, const char *nname, const char *srcname,
                       long *t, long *n, int *nofm)
{
    char why[256];
    const char *ts = tool_arg(a, tname), *ns = tool_arg(a, nname);
    *nofm = ts != NULL || ns != NULL;
    if ((ts == NULL) != (ns == NULL))
        return tool_usage_error(ctx, "give both --%s and --%s, or neither", tname, nname);
    if (!*nofm)
        return TOOL_OK;
    if (tool_parse_uint(ts, 0, 100000, t) != HSM_OK || tool_parse_uint(ns, 0, 100000, n) != HSM_OK)
        return tool_usage_error(ctx, "--%s and --%s must be numbers", tname, nname);
    if (hsm_pwd_check_params(*t, *n, why, sizeof(why)) != HSM_OK)
        return tool_usage_error(ctx, "%s; no file was written", why);
    if (tool_arg(a, srcname) != NULL)
        return tool_usage_error(ctx, "--%s and password shares exclude each other: with shares the password is "
                                "random", srcname);
    return TOOL_OK;
}

/* A typed password (from source option srcname or the terminal), at least HSM_DKEK_PWD_MIN long. */
static int typed_password(tool_ctx *ctx, tool_args *a, const char *srcname, char **pw, size_t *len)
{
    char why[256];
    const char *src = tool_arg(a, srcname);
    int rv = src != NULL ? tool_secret_from_source(src, pw, len, why, sizeof(why))
                         : tool_secret_prompt("New DKEK share password: ", 1, pw, len, why, sizeof(why));
    if (rv != HSM_OK) {
        *pw = NULL;
        *len = 0;
        if (src == NULL && !tool_have_tty())
            return tool_usage_error(ctx, "no share password given and no terminal to ask: use --%s env:NAME or "
                                    "file:PATH", srcname);
        return tool_error(ctx, rv == HSM_E_ARGS ? TOOL_USAGE : TOOL_FAIL, "%s", why);
    }
    if (*len < HSM_DKEK_PWD_MIN) {
        tool_secret_free(*pw, *len);
        *pw = NULL;
        return tool_usage_error(ctx, "the share password must have at least %d characters", HSM_DKEK_PWD_MIN);
    }
    return TOOL_OK;
}

static int run_create(tool_ctx *ctx, tool_args *a)
{
    const char *out = tool_arg(a, "out");
    long t = 0, n = 0;
    int nofm = 0;
    if (out == NULL || *out == '\0')
        return tool_usage_error(ctx, "--out FILE is required (where the encrypted share is written)");
    int rc = parse_split(ctx, a, "pwd-shares-threshold", "pwd-shares-total", "password-source", &t, &n, &nofm);
    if (rc == TOOL_OK)
        rc = tool_check_out(ctx, out, tool_flag(a, "force"));
    char *pw = NULL;
    size_t pw_len = 0;
    if (rc == TOOL_OK && !nofm)
        rc = typed_password(ctx, a, "password-source", &pw, &pw_len);
    if (rc != TOOL_OK)
        return rc;
    uint8_t share[HSM_DKEK_SHARE_LEN];
    rc = tool_reach(ctx);
    hsm_card *c = rc == TOOL_OK ? hsm_token_lock(ctx->tok) : NULL;
    if (rc == TOOL_OK && c == NULL)
        rc = tool_token_fail(ctx, "cannot reach the card");
    if (c != NULL) {
        int crv = hsm_card_challenge(c, share, sizeof(share));
        if (crv != HSM_OK)
            rc = tool_card_fail(ctx, c, crv, INS_CHALLENGE, "cannot get random bytes from the card");
        hsm_token_unlock(ctx->tok, 0);
    }
    if (rc == TOOL_OK)
        rc = seal_share(ctx, 1, share, pw, pw_len, t, n, out, tool_flag(a, "force"));
    OPENSSL_cleanse(share, sizeof(share));
    tool_secret_free(pw, pw_len);
    if (rc == TOOL_OK)
        printf("\nImport it into each card with: schsm-tool dkek import-share --in %s%s%ld\n", out,
               nofm ? " --pwd-shares " : "", nofm ? t : 0L);
    return rc;
}

/* Decrypts a share file with its password or its password shares (options of import/reshare). */
static int open_share(tool_ctx *ctx, tool_args *a, const hsm_bytes *f, const char *in, uint8_t share[HSM_DKEK_SHARE_LEN])
{
    const char *ps = tool_arg(a, "pwd-shares");
    long want = 0;
    if (ps != NULL && tool_parse_uint(ps, 2, HSM_PWD_SHARES_MAX, &want) != HSM_OK)
        return tool_usage_error(ctx, "--pwd-shares must be a number from 2 to %d (the threshold)", HSM_PWD_SHARES_MAX);
    int nofm = ps != NULL || tool_arg(a, "shares-file") != NULL;
    if (nofm && tool_arg(a, "password-source") != NULL)
        return tool_usage_error(ctx, "give either --password-source or password shares, not both");
    uint8_t secret[HSM_PWD_SECRET_LEN];
    char *pw = NULL;
    size_t pw_len = 0;
    int rc = nofm ? tool_share_pwd_shares(ctx, a, want, secret) : tool_share_password(ctx, a, 0, &pw, &pw_len);
    if (rc == TOOL_OK) {
        fputs(TOOL_KDF_NOTE, stderr);
        int dr = nofm ? hsm_dkek_share_decrypt(f->data, f->len, secret, sizeof(secret), HSM_DKEK_KDF_COUNT, share)
                      : hsm_dkek_share_decrypt(f->data, f->len, (const uint8_t *)pw, pw_len, HSM_DKEK_KDF_COUNT, share);
        if (dr == HSM_E_VERIFY)
            rc = tool_error(ctx, TOOL_FAIL, "wrong password or not a DKEK share file: nothing was sent to the card "
                            "and nothing was written");
        else if (dr != HSM_OK)
            rc = tool_error(ctx, TOOL_FAIL, "cannot decrypt %s: %s", in, hsm_rv_text(dr));
    }
    tool_secret_free(pw, pw_len);
    OPENSSL_cleanse(secret, sizeof(secret));
    return rc;
}

static int read_share_file(tool_ctx *ctx, const char *in, hsm_bytes *f)
{
    int rc = tool_read_file(ctx, in, 4096, f);
    if (rc == TOOL_OK && !hsm_dkek_share_file_ok(f->data, f->len))
        rc = tool_error(ctx, TOOL_FAIL, "%s is not a DKEK share file (expected 64 bytes starting with \"Salted__\")",
                        in);
    return rc;
}

static int run_import(tool_ctx *ctx, tool_args *a)
{
    const char *in = tool_arg(a, "in");
    int dom = 0;
    if (in == NULL || *in == '\0')
        return tool_usage_error(ctx, "--in FILE is required (a DKEK share file from dkek create-share or "
                                "sc-hsm-tool --create-dkek-share)");
    int rc = tool_key_domain_opt(ctx, a, &dom);   /* a domain the card does not have: usage error */
    if (rc != TOOL_OK)
        return rc;
    hsm_bytes f = HSM_BYTES_INIT;
    rc = read_share_file(ctx, in, &f);
    /* Ask the card first: no point in a password and a slow KDF when it cannot take a share. */
    hsm_dkek_status st;
    memset(&st, 0, sizeof(st));
    if (rc == TOOL_OK)
        rc = tool_reach(ctx);
    if (rc == TOOL_OK)
        rc = tool_login_for_kcv(ctx);   /* then the status after the import shows the KCV */
    hsm_card *c = rc == TOOL_OK ? hsm_token_lock(ctx->tok) : NULL;
    if (rc == TOOL_OK && c == NULL)
        rc = tool_token_fail(ctx, "cannot reach the card");
    if (c != NULL) {
        int rv = hsm_card_key_domain(c, 0, (uint8_t)dom, NULL, 0, &st);
        if (rv != HSM_OK)
            rc = tool_card_fail(ctx, c, rv, INS_KEYDOMAIN, "cannot read the DKEK status");
        hsm_token_unlock(ctx->tok, 0);
    }
    if (rc == TOOL_OK && st.total == 0xFF)
        rc = tool_error(ctx, TOOL_FAIL, "key domain %d is an XKEK domain: it takes no DKEK shares", dom);
    else if (rc == TOOL_OK && st.missing == 0) {
        char buf[17];
        const char *kcv = tool_kcv_hex(&st, buf);
        rc = tool_error(ctx, TOOL_FAIL, "key domain %d already has all %u DKEK share%s (KCV %s): nothing to import; "
                        "re-initialise the card to start over", dom, st.total, st.total == 1 ? "" : "s",
                        kcv ? kcv : TOOL_KCV_UNKNOWN);
    }
    uint8_t share[HSM_DKEK_SHARE_LEN];
    if (rc == TOOL_OK)
        rc = open_share(ctx, a, &f, in, share);
    if (rc == TOOL_OK) {
        c = hsm_token_lock(ctx->tok);
        if (c == NULL) {
            rc = tool_token_fail(ctx, "cannot reach the card");
        } else {
            int rv = hsm_card_key_domain(c, 0, (uint8_t)dom, share, sizeof(share), &st);
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
    tool_print_domain_status((uint8_t)dom, &st);
    return TOOL_OK;
}

static int run_reshare(tool_ctx *ctx, tool_args *a)
{
    const char *in = tool_arg(a, "in"), *out = tool_arg(a, "out");
    long t = 0, n = 0;
    int nofm = 0;
    if (in == NULL || *in == '\0' || out == NULL || *out == '\0')
        return tool_usage_error(ctx, "--in SHARE and --out NEW are required");
    if (strcmp(in, out) == 0)
        return tool_usage_error(ctx, "--out must differ from --in: keep the old file until the new one is checked");
    int rc = parse_split(ctx, a, "new-pwd-shares-threshold", "new-pwd-shares-total", "new-password-source", &t, &n,
                         &nofm);
    if (rc != TOOL_OK)
        return rc;
    int force = tool_flag(a, "force");
    hsm_bytes f = HSM_BYTES_INIT;
    rc = tool_check_out(ctx, out, force);
    if (rc == TOOL_OK)
        rc = read_share_file(ctx, in, &f);
    char *pw = NULL;
    size_t pw_len = 0;
    if (rc == TOOL_OK && !nofm)
        rc = typed_password(ctx, a, "new-password-source", &pw, &pw_len);
    uint8_t share[HSM_DKEK_SHARE_LEN], kcv[8];
    if (rc == TOOL_OK)
        rc = open_share(ctx, a, &f, in, share);
    if (rc == TOOL_OK)
        rc = seal_share(ctx, !tool_flag(a, "no-card"), share, pw, pw_len, t, n, out, force);
    if (rc == TOOL_OK && hsm_dkek_kcv(share, kcv) == HSM_OK) {
        char k[17];
        tool_hex_into(k, kcv, 8);
        printf("\nThe share is unchanged (share check value %s, the same for %s and %s).\n"
               "Old password shares do not open %s, but they still open %s: destroy every copy of the old file.\n",
               k, in, out, out, in);
    }
    OPENSSL_cleanse(share, sizeof(share));
    tool_secret_free(pw, pw_len);
    hsm_bytes_free(&f);
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
#define OPEN_SHARE_OPTS \
    { "password-source", "SRC", "share password from file:PATH or env:NAME; default: asked on the terminal" }, \
    { "pwd-shares", "N", "the password was split: N shares (the threshold) are asked on the terminal, or read " \
                         "from --shares-file" }, \
    { "shares-file", "FILE", "read the password shares from FILE (the Prime / Share ID / Share value lines " \
                             "dkek create-share printed); all shares in it are used unless --pwd-shares N" }
static const tool_opt import_opts[] = {
    { "in", "FILE", "the DKEK share file" },
    OPEN_SHARE_OPTS,
    { "key-domain", "N", "import into key domain N (default 0)" },
    { NULL, NULL, NULL },
};
static const tool_opt reshare_opts[] = {
    { "in", "FILE", "the DKEK share file as it is now" },
    { "out", "FILE", "where to write the same share under the new password" },
    OPEN_SHARE_OPTS,
    { "new-password-source", "SRC", "the new password from file:PATH or env:NAME (default: asked twice)" },
    { "new-pwd-shares-threshold", "T", "instead: a new random password split into shares, T of which open "
                                       "the new file" },
    { "new-pwd-shares-total", "N", "number of new password shares (the new custodians)" },
    { "no-card", NULL, "do not ask a card for randomness (the host's random generator alone)" },
    { "force", NULL, "overwrite the --out file when it exists" },
    { NULL, NULL, NULL },
};

#define CREATE_SYN "--out FILE [--password-source SRC | --pwd-shares-threshold T --pwd-shares-total N] [--force]"
#define CREATE_SUM "create a DKEK share file (32 random bytes from the card, password-encrypted)"
#define CREATE_DET \
    "The file is byte-compatible with sc-hsm-tool --create-dkek-share: OpenSSL \"Salted__\" format,\n" \
    "EVP_BytesToKey with MD5 and 10,000,000 iterations, AES-256-CBC. Keep it and its password apart.\n" \
    "With --pwd-shares-threshold/--pwd-shares-total the password is 8 random bytes split with\n" \
    "Shamir's scheme; the shares are printed once and never stored. No PIN is needed."
#define IMPORT_SYN "--in FILE [--password-source SRC | --pwd-shares N [--shares-file F]] [--key-domain N]"
#define IMPORT_SUM "decrypt a DKEK share file and import the share into the card"
#define IMPORT_DET \
    "Import every share the card was initialised for (init --dkek-shares N); the DKEK is complete when\n" \
    "the last one arrives. Two cards with the same shares have the same KCV and can exchange wrapped\n" \
    "keys. A wrong password is detected before anything is sent. No PIN is needed."

const tool_cmd tool_cmd_dkek_create = { "dkek create-share", CREATE_SYN, CREATE_SUM, CREATE_DET, create_opts,
                                        run_create };
const tool_cmd tool_cmd_create_dkek_share = { "create-dkek-share", CREATE_SYN, "alias of dkek create-share",
                                              CREATE_DET, create_opts, run_create };
const tool_cmd tool_cmd_dkek_import = { "dkek import-share", IMPORT_SYN, IMPORT_SUM, IMPORT_DET, import_opts,
                                        run_import };
const tool_cmd tool_cmd_import_dkek_share = { "import-dkek-share", IMPORT_SYN, "alias of dkek import-share",
                                              IMPORT_DET, import_opts, run_import };
const tool_cmd tool_cmd_dkek_reshare = {
    "dkek reshare",
    "--in SHARE --out NEW [--password-source SRC | --pwd-shares N --shares-file F] "
    "[--new-password-source SRC | --new-pwd-shares-threshold T --new-pwd-shares-total N] [--no-card]",
    "write the same DKEK share under a new password, or split among new custodians",
    "Opens SHARE with its password or enough of its password shares, and writes the SAME 32-byte\n"
    "share to NEW under a new password (typed, or random and split T-of-N among new custodians).\n"
    "Nothing is sent to the card but GET CHALLENGE for randomness (none with --no-card).\n"
    "What it does not do: the DKEK and every card stay as they are; the old password shares still\n"
    "open the OLD file, so destroy every copy of it; whoever once saw the plain share still knows it.\n"
    "Real rotation is a new key domain (docs/key-domains.md). See docs/key-backup.md.",
    reshare_opts, run_reshare,
};
