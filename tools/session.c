/* SPDX-License-Identifier: Apache-2.0 */
/* The token session of one schsm-tool run: opening the reader, getting the user PIN only when
 * the card needs it, error reporting, and picking a key by --label / --id. */
#include "tools/util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hsm/rv.h"
#include "hsm/sw.h"
#include "reader/reader.h"

/* --wait: polls the reader until it opens (the card is there), with the spinner on a terminal.
 * Opening and closing a transport is all it does: no APDU beyond the SmartCard-HSM probe. */
static void wait_for_card(tool_ctx *ctx)
{
    hsm_transport *tr = NULL;
    char why[512];
    int shown = 0;
    tool_progress_begin("waiting for the card");
    while (schsm_reader_open(ctx->reader, &tr, why, sizeof(why)) != HSM_OK) {
        if (!shown && !isatty(STDERR_FILENO)) {
            fprintf(stderr, "%s: waiting for the card (%s)\n", ctx->prog, why);
            shown = 1;
        }
        struct timespec ts = { 0, 250 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    tool_progress_end();
    tr->ops->close(tr);
}

int tool_open(tool_ctx *ctx)
{
    if (ctx->tok != NULL)
        return TOOL_OK;
    if (ctx->wait)
        wait_for_card(ctx);
    int rv = hsm_token_new(ctx->reader, schsm_reader_open, &ctx->tok);
    if (rv != HSM_OK) {
        ctx->tok = NULL;
        return tool_error(ctx, TOOL_FAIL, "cannot start a session: %s", hsm_rv_text(rv));
    }
    return TOOL_OK;
}

int tool_token_fail(tool_ctx *ctx, const char *what)
{
    const char *msg = ctx->tok != NULL ? hsm_token_error(ctx->tok) : NULL;
    if (msg == NULL || *msg == '\0')
        msg = "unknown error";
    return tool_error(ctx, TOOL_FAIL, "%s: %s", what, msg);
}

int tool_card_fail(tool_ctx *ctx, hsm_card *c, int rv, uint8_t ins, const char *what)
{
    if (rv == HSM_E_SW && c != NULL)
        return tool_error(ctx, TOOL_FAIL, "%s: %s", what, hsm_sw_message(hsm_card_last_sw(c), ins));
    return tool_error(ctx, TOOL_FAIL, "%s: %s", what, hsm_rv_text(rv));
}

int tool_user_pin(tool_ctx *ctx, const char *prompt)
{
    char why[256];
    int rv;
    if (ctx->pin == NULL) {
        if (ctx->pin_source != NULL)
            rv = tool_secret_from_source(ctx->pin_source, &ctx->pin, &ctx->pin_len, why, sizeof(why));
        else
            rv = tool_secret_prompt(prompt, 0, &ctx->pin, &ctx->pin_len, why, sizeof(why));
        if (rv != HSM_OK) {
            ctx->pin = NULL;
            ctx->pin_len = 0;
            return tool_error(ctx, rv == HSM_E_ARGS ? TOOL_USAGE : TOOL_FAIL, "%s", why);
        }
    }
    /* The card's length rule, before any APDU: a PIN it cannot hold is a usage error. */
    if (tool_check_pin(ctx->pin_len, "user PIN", why, sizeof(why)) != HSM_OK)
        return tool_usage_error(ctx, "%s; nothing was sent to the card", why);
    return TOOL_OK;
}

int tool_reach(tool_ctx *ctx)
{
    int rc = tool_open(ctx);
    if (rc != TOOL_OK)
        return rc;
    /* Opens and selects (or finds the selection still valid), so a missing reader is reported
     * as such before anybody is asked for a PIN. */
    if (hsm_token_lock(ctx->tok) == NULL)
        return tool_token_fail(ctx, "cannot reach the card");
    hsm_token_unlock(ctx->tok, 0);
    return TOOL_OK;
}

int tool_login(tool_ctx *ctx, unsigned flags)
{
    int rc = tool_reach(ctx);
    if (rc != TOOL_OK)
        return rc;
    int need = hsm_token_needs_pin(ctx->tok);
    if (need < 0)
        return tool_token_fail(ctx, "cannot query the PIN status");
    if (need == 0) {
        /* Logged in by another program: hold the PIN we were given anyway (nothing is sent), so
         * that when that program's next SELECT logs everyone out, our management commands can
         * log in again (hsm_token_relogin_once) instead of failing with 6982. */
        if ((ctx->pin != NULL || ctx->pin_source != NULL) && tool_user_pin(ctx, NULL) == TOOL_OK)
            hsm_token_set_pin(ctx->tok, ctx->pin, ctx->pin_len);
        return TOOL_OK;
    }
    rc = tool_user_pin(ctx, "User PIN: ");
    if (rc != TOOL_OK)
        return rc;
    if (hsm_token_login(ctx->tok, ctx->pin, ctx->pin_len, flags) != HSM_OK)
        return tool_token_fail(ctx, "login failed");
    return TOOL_OK;
}

int tool_login_for_kcv(tool_ctx *ctx)
{
    if (ctx->pin == NULL && ctx->pin_source == NULL)
        return TOOL_OK;
    return tool_login(ctx, 0);
}

const char *tool_kcv_hex(const hsm_dkek_status *st, char buf[17])
{
    static const char digits[] = "0123456789abcdef";
    if (st->kcv_unknown)
        return NULL;
    for (int i = 0; i < 8; i++) {
        buf[2 * i] = digits[st->kcv[i] >> 4];
        buf[2 * i + 1] = digits[st->kcv[i] & 15];
    }
    buf[16] = '\0';
    return buf;
}

int tool_find_key(tool_ctx *ctx, tool_args *a, hsm_key *out)
{
    const char *label = tool_arg(a, "label");
    const char *idhex = tool_arg(a, "id");
    uint8_t id[HSM_ID_MAX];
    size_t id_len = 0;
    char why[256];
    if (label == NULL && idhex == NULL)
        return tool_usage_error(ctx, "say which key: --label L or --id HEX");
    if (label != NULL && *label == '\0')
        return tool_usage_error(ctx, "--label must not be empty");
    if (idhex != NULL && tool_parse_id(idhex, id, sizeof(id), &id_len, why, sizeof(why)) != HSM_OK)
        return tool_usage_error(ctx, "%s", why);
    int rc = tool_open(ctx);
    if (rc != TOOL_OK)
        return rc;
    if (hsm_token_find_key(ctx->tok, label, idhex ? id : NULL, id_len, out) != HSM_OK)
        return tool_token_fail(ctx, "no such key");
    return TOOL_OK;
}

int tool_confirm_change(tool_ctx *ctx, int yes, const char *question, const char *what, const char *unchanged)
{
    if (yes)
        return TOOL_OK;
    if (!tool_have_tty())
        return tool_usage_error(ctx, "%s: pass --yes to confirm", what);
    if (!tool_confirm(question))
        return tool_error(ctx, TOOL_FAIL, "not confirmed: %s", unchanged);
    return TOOL_OK;
}

/* Highest domain number the card answers for, by MANAGE KEY DOMAIN queries (no state change):
 * an out-of-range index answers 6A86, a provisioned empty slot 6A88. */
static int count_domains(hsm_card *c)
{
    int n = 0;
    for (int d = 0; d < 256; d++) {
        hsm_dkek_status st;
        int rv = hsm_card_key_domain(c, 0, (uint8_t)d, NULL, 0, &st);
        if (rv != HSM_OK && !(rv == HSM_E_SW && hsm_card_last_sw(c) == 0x6A88))
            break;
        n = d + 1;
    }
    return n;
}

int tool_key_domain_opt(tool_ctx *ctx, tool_args *a, int *domain)
{
    const char *s = tool_arg(a, "key-domain"), *alias = tool_arg(a, "domain");
    long d = 0;
    *domain = 0;
    if (s != NULL && alias != NULL)
        return tool_usage_error(ctx, "give --domain or --key-domain, not both (they are the same)");
    if (s == NULL)
        s = alias;
    if (s == NULL)
        return TOOL_OK;
    if (tool_parse_uint(s, 0, 255, &d) != HSM_OK)
        return tool_usage_error(ctx, "--key-domain must be a number from 0 to 255");
    *domain = (int)d;
    int rc = tool_reach(ctx);
    if (rc != TOOL_OK)
        return rc;
    hsm_card *c = hsm_token_lock(ctx->tok);
    if (c == NULL)
        return tool_token_fail(ctx, "cannot reach the card");
    hsm_dkek_status st;
    int rv = hsm_card_key_domain(c, 0, (uint8_t)d, NULL, 0, &st);
    int out_of_range = rv == HSM_E_SW && (hsm_card_last_sw(c) == 0x6A86 || hsm_card_last_sw(c) == 0x6D00);
    int n = out_of_range ? count_domains(c) : 0;
    hsm_token_unlock(ctx->tok, 0);
    if (!out_of_range)
        return TOOL_OK;
    if (n == 0)
        return tool_usage_error(ctx, "--key-domain %ld: this card has no key domains (initialise it with "
                                "'schsm-tool init --key-domains N' or 'init --dkek-shares N')", d);
    if (n == 1)
        return tool_usage_error(ctx, "--key-domain %ld: this card has only key domain 0; see "
                                "'schsm-tool key-domains'", d);
    return tool_usage_error(ctx, "--key-domain %ld: this card has %d key domains (0 to %d); see "
                            "'schsm-tool key-domains'", d, n, n - 1);
}
