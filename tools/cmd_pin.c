/* SPDX-License-Identifier: Apache-2.0 */
/* PIN management: change-pin, change-so-pin, unblock-pin, verify-pin. Every command that sends
 * a PIN the card will count asks for the retry counter first and refuses to spend the last try
 * unless --force says so. */
#include "tools/util.h"

#include <string.h>

#include <openssl/crypto.h>

#include "hsm/rv.h"
#include "hsm/sw.h"

/* A secret option (wiping argv) or a prompt; usage error when neither is possible. */
static int secret_opt(tool_ctx *ctx, tool_args *a, const char *opt, const char *prompt, int confirm,
                      char **out, size_t *len)
{
    char why[256];
    const char *v = tool_arg(a, opt);
    *out = NULL;
    *len = 0;
    if (v != NULL) {
        if (tool_take_secret(v, out, len) != 0)
            return tool_error(ctx, TOOL_FAIL, "out of memory");
        return TOOL_OK;
    }
    if (!tool_have_tty())
        return tool_usage_error(ctx, "--%s is required (no terminal to ask)", opt);
    int rc = tool_reach(ctx);   /* don't ask for secrets for a card that is not there */
    if (rc != TOOL_OK)
        return rc;
    if (tool_secret_prompt(prompt, confirm, out, len, why, sizeof(why)) != HSM_OK) {
        *out = NULL;
        return tool_usage_error(ctx, "%s", why);
    }
    return TOOL_OK;
}

static int so_pin_opt(tool_ctx *ctx, tool_args *a, const char *opt, const char *prompt, int confirm,
                      uint8_t so[8])
{
    char *s;
    size_t n;
    char why[256];
    int rc = secret_opt(ctx, a, opt, prompt, confirm, &s, &n);
    if (rc != TOOL_OK)
        return rc;
    int rv = tool_parse_so_pin(s, so, why, sizeof(why));
    tool_secret_free(s, n);
    return rv == HSM_OK ? TOOL_OK : tool_usage_error(ctx, "--%s: %s", opt, why);
}

/* Status query of a PIN reference before spending a try on it. */
static int check_tries(tool_ctx *ctx, hsm_card *c, uint8_t ref, int force, int transport_ok)
{
    const char *name = ref == HSM_PIN_SO ? "SO-PIN" : "user PIN";
    uint16_t sw = 0;
    int rv = hsm_card_pin_status(c, ref, &sw);
    if (rv != HSM_OK)
        return tool_card_fail(ctx, c, rv, 0x20, "cannot read the PIN retry counter");
    int tries = hsm_sw_tries(sw);
    if (sw == 0x9000 || tries > 1 || (tries == 1 && force) || (sw == 0x6984 && transport_ok))
        return TOOL_OK;
    if (tries == 1)
        return tool_error(ctx, TOOL_FAIL, "the %s has one try left: a wrong %s now blocks it. Nothing was "
                          "sent. If you are sure, repeat with --force", name, name);
    if ((tries == 0 || sw == 0x6983) && ref == HSM_PIN_SO)
        return tool_error(ctx, TOOL_FAIL, "the SO-PIN is blocked: the user PIN can no longer be unblocked and "
                          "the card no longer be re-initialised");
    if (tries == 0 || sw == 0x6983)
        return tool_error(ctx, TOOL_FAIL, "%s", hsm_sw_message(0x6983, 0x20));
    return tool_error(ctx, TOOL_FAIL, "%s", hsm_sw_message(sw, 0x20));
}

/* Runs fn inside the token lock after the retry-counter check. */
static int with_card(tool_ctx *ctx, uint8_t ref, int force, int transport_ok,
                     int (*fn)(tool_ctx *, hsm_card *, void *), void *arg)
{
    int rc = tool_open(ctx);
    if (rc != TOOL_OK)
        return rc;
    hsm_card *c = hsm_token_lock(ctx->tok);
    if (c == NULL)
        return tool_token_fail(ctx, "cannot reach the card");
    rc = check_tries(ctx, c, ref, force, transport_ok);
    if (rc == TOOL_OK)
        rc = fn(ctx, c, arg);
    hsm_token_unlock(ctx->tok, 1);
    return rc;
}

/* ---- change-pin ---- */

typedef struct {
    char *new_pin;
    size_t new_len;
} change_pin_arg;

static int do_change_pin(tool_ctx *ctx, hsm_card *c, void *arg)
{
    change_pin_arg *p = arg;
    int rv = hsm_card_change_ref(c, HSM_PIN_USER, (const uint8_t *)ctx->pin, ctx->pin_len,
                                 (const uint8_t *)p->new_pin, p->new_len);
    if (rv != HSM_OK)
        return tool_card_fail(ctx, c, rv, 0x24, "the PIN was not changed");
    printf("User PIN changed.\n");
    return TOOL_OK;
}

static int run_change_pin(tool_ctx *ctx, tool_args *a)
{
    change_pin_arg p = { NULL, 0 };
    char why[256];
    int rc = tool_reach(ctx);
    if (rc == TOOL_OK)
        rc = tool_user_pin(ctx, "Current user PIN: ");
    if (rc == TOOL_OK)
        rc = secret_opt(ctx, a, "new-pin", "New user PIN: ", 1, &p.new_pin, &p.new_len);
    if (rc == TOOL_OK && tool_check_pin(p.new_len, "new PIN", why, sizeof(why)) != HSM_OK)
        rc = tool_usage_error(ctx, "%s", why);
    if (rc == TOOL_OK)
        rc = with_card(ctx, HSM_PIN_USER, tool_flag(a, "force"), 1, do_change_pin, &p);
    tool_secret_free(p.new_pin, p.new_len);
    return rc;
}

/* ---- change-so-pin ---- */

typedef struct {
    uint8_t old_so[8], new_so[8];
} change_so_arg;

static int do_change_so(tool_ctx *ctx, hsm_card *c, void *arg)
{
    change_so_arg *p = arg;
    int rv = hsm_card_change_ref(c, HSM_PIN_SO, p->old_so, 8, p->new_so, 8);
    if (rv != HSM_OK)
        return tool_card_fail(ctx, c, rv, 0x24, "the SO-PIN was not changed");
    printf("SO-PIN changed. Keep the new one safe: without it the card cannot be re-initialised "
           "or a blocked PIN unblocked.\n");
    return TOOL_OK;
}

static int run_change_so_pin(tool_ctx *ctx, tool_args *a)
{
    change_so_arg p;
    int rc = so_pin_opt(ctx, a, "so-pin", "Current SO-PIN (16 hex digits): ", 0, p.old_so);
    if (rc == TOOL_OK)
        rc = so_pin_opt(ctx, a, "new-so-pin", "New SO-PIN (16 hex digits): ", 1, p.new_so);
    if (rc == TOOL_OK)
        rc = with_card(ctx, HSM_PIN_SO, tool_flag(a, "force"), 0, do_change_so, &p);
    OPENSSL_cleanse(&p, sizeof(p));
    return rc;
}

/* ---- unblock-pin ---- */

typedef struct {
    uint8_t so[8];
    char *new_pin;
    size_t new_len;
} unblock_arg;

static int do_unblock(tool_ctx *ctx, hsm_card *c, void *arg)
{
    unblock_arg *p = arg;
    int rv = hsm_card_reset_retry(c, p->so, (const uint8_t *)p->new_pin, p->new_len);
    if (rv != HSM_OK)
        return tool_card_fail(ctx, c, rv, 0x2C, "the PIN was not unblocked");
    if (p->new_pin != NULL)
        printf("User PIN set to the new value and its retry counter reset.\n");
    else
        printf("User PIN retry counter reset; the PIN itself is unchanged.\n");
    return TOOL_OK;
}

static int run_unblock_pin(tool_ctx *ctx, tool_args *a)
{
    unblock_arg p;
    memset(&p, 0, sizeof(p));
    char why[256];
    int rc = so_pin_opt(ctx, a, "so-pin", "SO-PIN (16 hex digits): ", 0, p.so);
    if (rc == TOOL_OK && tool_arg(a, "new-pin") != NULL) {
        rc = secret_opt(ctx, a, "new-pin", NULL, 0, &p.new_pin, &p.new_len);
        if (rc == TOOL_OK && tool_check_pin(p.new_len, "new PIN", why, sizeof(why)) != HSM_OK)
            rc = tool_usage_error(ctx, "%s", why);
    }
    if (rc == TOOL_OK)
        rc = with_card(ctx, HSM_PIN_SO, tool_flag(a, "force"), 0, do_unblock, &p);
    tool_secret_free(p.new_pin, p.new_len);
    OPENSSL_cleanse(p.so, sizeof(p.so));
    return rc;
}

/* ---- verify-pin ---- */

static int run_verify_pin(tool_ctx *ctx, tool_args *a)
{
    int rc = tool_reach(ctx);
    if (rc == TOOL_OK)
        rc = tool_user_pin(ctx, "User PIN: ");
    if (rc != TOOL_OK)
        return rc;
    unsigned flags = tool_flag(a, "force") ? HSM_LOGIN_ALLOW_LAST_TRY : 0;
    if (hsm_token_login(ctx->tok, ctx->pin, ctx->pin_len, flags) != HSM_OK)
        return tool_token_fail(ctx, "PIN not verified");
    printf("PIN verified.\n");
    return TOOL_OK;
}

static const tool_opt change_pin_opts[] = {
    { "new-pin", "PIN", "the new user PIN (6..16 characters; asked twice when missing)" },
    { "force", NULL, "send the old PIN even when only one try is left" },
    { NULL, NULL, NULL },
};
static const tool_opt change_so_opts[] = {
    { "so-pin", "HEX16", "current SO-PIN" },
    { "new-so-pin", "HEX16", "new SO-PIN (16 hex digits)" },
    { "force", NULL, "send the SO-PIN even when only one try is left" },
    { NULL, NULL, NULL },
};
static const tool_opt unblock_opts[] = {
    { "so-pin", "HEX16", "the SO-PIN" },
    { "new-pin", "PIN", "also set a new user PIN (else only the retry counter is reset)" },
    { "force", NULL, "send the SO-PIN even when only one try is left" },
    { NULL, NULL, NULL },
};
static const tool_opt verify_opts[] = {
    { "force", NULL, "allow spending the last try (a wrong PIN then blocks the card)" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_change_pin = {
    "change-pin", "[--pin OLD] [--new-pin NEW] [--force]", "change the user PIN",
    "Also the way out of the transport-PIN state.", change_pin_opts, run_change_pin,
};
const tool_cmd tool_cmd_change_so_pin = {
    "change-so-pin", "--so-pin OLD --new-so-pin NEW [--force]", "change the SO-PIN (initialization code)",
    NULL, change_so_opts, run_change_so_pin,
};
const tool_cmd tool_cmd_unblock_pin = {
    "unblock-pin", "--so-pin HEX16 [--new-pin PIN] [--force]",
    "reset the user PIN's retry counter with the SO-PIN, optionally setting a new PIN",
    "Needs a card initialised with reset-retry-counter enabled (schsm-tool init always enables it).",
    unblock_opts, run_unblock_pin,
};
const tool_cmd tool_cmd_verify_pin = {
    "verify-pin", "[--pin PIN | --pin-source SRC] [--force]", "check the user PIN (an explicit login)",
    "Refuses to send the PIN when only one try is left, unless --force.", verify_opts, run_verify_pin,
};
