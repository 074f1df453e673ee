/* SPDX-License-Identifier: Apache-2.0 */
/* The token session of one schsm-tool run: opening the reader, getting the user PIN only when
 * the card needs it, error reporting, and picking a key by --label / --id. */
#include "tools/util.h"

#include <string.h>

#include "hsm/rv.h"
#include "hsm/sw.h"
#include "reader/reader.h"

int tool_open(tool_ctx *ctx)
{
    if (ctx->tok != NULL)
        return TOOL_OK;
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
    if (ctx->pin != NULL)
        return TOOL_OK;
    char why[256];
    int rv;
    if (ctx->pin_source != NULL)
        rv = tool_secret_from_source(ctx->pin_source, &ctx->pin, &ctx->pin_len, why, sizeof(why));
    else
        rv = tool_secret_prompt(prompt, 0, &ctx->pin, &ctx->pin_len, why, sizeof(why));
    if (rv != HSM_OK) {
        ctx->pin = NULL;
        ctx->pin_len = 0;
        return tool_error(ctx, rv == HSM_E_ARGS ? TOOL_USAGE : TOOL_FAIL, "%s", why);
    }
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
    if (need == 0)
        return TOOL_OK;
    rc = tool_user_pin(ctx, "User PIN: ");
    if (rc != TOOL_OK)
        return rc;
    if (hsm_token_login(ctx->tok, ctx->pin, ctx->pin_len, flags) != HSM_OK)
        return tool_token_fail(ctx, "login failed");
    return TOOL_OK;
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
