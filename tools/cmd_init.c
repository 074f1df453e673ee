/* SPDX-License-Identifier: Apache-2.0 */
/* init: INITIALIZE DEVICE with a new user PIN and the SO-PIN, then the token label in EF 2F03. */
#include "tools/util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsm/rv.h"
#include "hsm/tlv.h"

#define LABEL_MAX 32   /* PKCS#11 token labels are 32 bytes; longer ones would be cut by OpenSC */

/* PKCS#15 TokenInfo (protocol sheet 18.6): version 0, label [0], tokenflags = prnGeneration.
 * tokenflags is mandatory in PKCS#15, so OpenSC refuses a TokenInfo without it. */
static int encode_tokeninfo(const char *label, hsm_bytes *out)
{
    static const uint8_t version[] = { 0x00 };
    static const uint8_t flags[] = { 0x05, 0x20 };  /* bit 2 set, 5 unused bits */
    size_t mark;
    hsm_tlv_open(out, 0x30, &mark);
    hsm_tlv_put(out, 0x02, version, sizeof(version));
    hsm_tlv_put(out, 0x80, label, strlen(label));
    hsm_tlv_put(out, 0x03, flags, sizeof(flags));
    hsm_tlv_close(out, mark);
    return out->oom ? HSM_E_MEM : HSM_OK;
}

/* Re-initialising wipes every key: ask on a terminal, else insist on --yes. */
static int confirm_wipe(tool_ctx *ctx, tool_args *a, const hsm_token_info *ti)
{
    if (!ti->initialized || tool_flag(a, "yes"))
        return TOOL_OK;
    hsm_key *keys = NULL;
    size_t n = 0;
    int known = hsm_token_list_keys(ctx->tok, &keys, &n) == HSM_OK;
    free(keys);
    if (known && n == 0)
        return TOOL_OK;
    char q[384];
    if (known)
        snprintf(q, sizeof(q), "The card in %s holds %zu key%s. Re-initialising deletes %s for good. Continue?",
                 ti->reader, n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
    else
        snprintf(q, sizeof(q), "The card in %s is initialised and may hold keys. Re-initialising deletes "
                 "them for good. Continue?", ti->reader);
    if (!tool_have_tty())
        return tool_usage_error(ctx, "%s -- no terminal to ask: pass --yes to confirm", q);
    if (!tool_confirm(q))
        return tool_error(ctx, TOOL_FAIL, "not confirmed: the card was left unchanged");
    return TOOL_OK;
}

typedef struct {
    uint8_t so[8];
    long retries;
    long dkek;          /* -1 = none */
    long domains;       /* 0 = none */
    const char *label;
} init_opts;

static int read_options(tool_ctx *ctx, tool_args *a, init_opts *o)
{
    char why[256];
    o->retries = 3;
    o->dkek = -1;
    o->domains = 0;
    o->label = tool_arg(a, "label");
    if (o->label != NULL && (strlen(o->label) == 0 || strlen(o->label) > LABEL_MAX))
        return tool_usage_error(ctx, "--label must have 1 to %d bytes", LABEL_MAX);
    const char *s = tool_arg(a, "pin-retries");
    if (s != NULL && tool_parse_uint(s, 1, 10, &o->retries) != HSM_OK)
        return tool_usage_error(ctx, "--pin-retries must be a number from 1 to 10");
    s = tool_arg(a, "dkek-shares");
    if (s != NULL && tool_parse_uint(s, 0, 254, &o->dkek) != HSM_OK)
        return tool_usage_error(ctx, "--dkek-shares must be a number from 0 (card makes a random DKEK) to 254");
    s = tool_arg(a, "key-domains");
    if (s != NULL && tool_parse_uint(s, 1, 255, &o->domains) != HSM_OK)
        return tool_usage_error(ctx, "--key-domains must be a number from 1 to 255");

    char *so = NULL;
    size_t so_len = 0;
    int rv;
    s = tool_arg(a, "so-pin");
    if (s != NULL) {
        rv = tool_take_secret(s, &so, &so_len) == 0 ? HSM_OK : HSM_E_MEM;
    } else if (tool_have_tty()) {
        if ((rv = tool_reach(ctx)) != TOOL_OK)
            return rv;
        rv = tool_secret_prompt("SO-PIN (16 hex digits): ", 0, &so, &so_len, why, sizeof(why));
    } else {
        return tool_usage_error(ctx, "--so-pin HEX16 is required (the card's initialization code)");
    }
    if (rv != HSM_OK)
        return tool_error(ctx, TOOL_USAGE, "%s", rv == HSM_E_MEM ? "out of memory" : why);
    rv = tool_parse_so_pin(so, o->so, why, sizeof(why));
    tool_secret_free(so, so_len);
    if (rv != HSM_OK)
        return tool_usage_error(ctx, "%s", why);

    if (ctx->pin == NULL) {
        if (ctx->pin_source != NULL) {
            rv = tool_user_pin(ctx, NULL);
            if (rv != TOOL_OK)
                return rv;
        } else {
            if (tool_have_tty() && (rv = tool_reach(ctx)) != TOOL_OK)
                return rv;
            rv = tool_secret_prompt("New user PIN: ", 1, &ctx->pin, &ctx->pin_len, why, sizeof(why));
            if (rv != HSM_OK) {
                ctx->pin = NULL;
                return tool_usage_error(ctx, "%s", why);
            }
        }
    }
    if (tool_check_pin(ctx->pin_len, "user PIN", why, sizeof(why)) != HSM_OK
        || tool_check_retries(o->retries, ctx->pin_len, why, sizeof(why)) != HSM_OK)
        return tool_usage_error(ctx, "%s", why);
    return TOOL_OK;
}

static int initialize(tool_ctx *ctx, const init_opts *o)
{
    hsm_init_params p;
    memset(&p, 0, sizeof(p));
    p.options = 0x0001;   /* RESET RETRY COUNTER with the SO-PIN, so unblock-pin works */
    p.pin = (const uint8_t *)ctx->pin;
    p.pin_len = ctx->pin_len;
    p.so_pin = o->so;
    p.pin_retries = (uint8_t)o->retries;
    p.dkek_shares = (int)o->dkek;
    p.key_domains = (uint8_t)o->domains;

    hsm_card *c = hsm_token_lock(ctx->tok);
    if (c == NULL)
        return tool_token_fail(ctx, "cannot reach the card");
    int rc = TOOL_OK;
    int rv = hsm_card_initialize(c, &p);
    if (rv != HSM_OK) {
        rc = tool_card_fail(ctx, c, rv, 0x50, "INITIALIZE failed");
    } else if (o->label != NULL) {
        /* EF writes need the user PIN; it was just set, so its counter is full. */
        rv = hsm_card_verify(c, HSM_PIN_USER, p.pin, p.pin_len);
        if (rv != HSM_OK) {
            rc = tool_card_fail(ctx, c, rv, 0x20, "the card was initialised, but the PIN check before writing "
                                "the label failed");
        } else {
            hsm_bytes ti = HSM_BYTES_INIT;
            rv = encode_tokeninfo(o->label, &ti);
            if (rv == HSM_OK)
                rv = hsm_card_write_file(c, HSM_FID_TOKENINFO, ti.data, ti.len);
            if (rv != HSM_OK)
                rc = tool_card_fail(ctx, c, rv, 0xD7, "the card was initialised, but writing the label failed");
            hsm_bytes_free(&ti);
        }
    }
    hsm_token_unlock(ctx->tok, 1);
    return rc;
}

static int run_init(tool_ctx *ctx, tool_args *a)
{
    init_opts o;
    memset(&o, 0, sizeof(o));
    int rc = read_options(ctx, a, &o);
    if (rc == TOOL_OK)
        rc = tool_open(ctx);
    hsm_token_info ti;
    memset(&ti, 0, sizeof(ti));
    if (rc == TOOL_OK && hsm_token_info_get(ctx->tok, &ti) != HSM_OK)
        rc = tool_token_fail(ctx, "cannot read the card's state");
    if (rc == TOOL_OK && ti.initialized && ti.so_pin_tries == 0)
        rc = tool_error(ctx, TOOL_FAIL, "the SO-PIN is blocked: the card cannot be re-initialised any more");
    if (rc == TOOL_OK && ti.initialized && ti.so_pin_tries == 1 && !tool_flag(a, "force"))
        rc = tool_error(ctx, TOOL_FAIL, "the SO-PIN has one try left; a wrong SO-PIN now blocks "
                        "re-initialisation for good. If you are sure of it, repeat with --force");
    if (rc == TOOL_OK)
        rc = confirm_wipe(ctx, a, &ti);
    if (rc == TOOL_OK)
        rc = initialize(ctx, &o);
    if (rc == TOOL_OK) {
        printf("Initialised the card in %s: user PIN with %ld tries, reset with the SO-PIN enabled", ti.reader,
               o.retries);
        if (o.dkek == 0)
            printf(", random DKEK");
        else if (o.dkek > 0)
            printf(", DKEK of %ld share%s (import them before wrapping keys)", o.dkek, o.dkek == 1 ? "" : "s");
        if (o.domains > 0)
            printf(", %ld key domain%s", o.domains, o.domains == 1 ? "" : "s");
        if (o.label != NULL)
            printf(", label \"%s\"", o.label);
        printf(".\n");
    }
    OPENSSL_cleanse(o.so, sizeof(o.so));
    return rc;
}

static const tool_opt init_opts_table[] = {
    { "so-pin", "HEX16", "SO-PIN (initialization code): 16 hex digits; set on first init, required later" },
    { "label", "L", "token label (1..32 bytes), written to EF 2F03" },
    { "dkek-shares", "N", "DKEK shares for key domain 0 (0 = card makes a random DKEK; default: no DKEK)" },
    { "key-domains", "N", "number of key domains to provision" },
    { "pin-retries", "N", "user PIN retry counter (default 3; max 3 for 6-char, 5 for 7-char PINs, else 10)" },
    { "yes", NULL, "do not ask before wiping a card that holds keys" },
    { "force", NULL, "try even when the SO-PIN has only one try left" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_init = {
    "init", "--so-pin HEX16 --pin PIN [--label L] [--dkek-shares N] [--pin-retries N] [--yes]",
    "initialise (or re-initialise, wiping all keys) the card",
    "The new user PIN comes from --pin, --pin-source or the terminal (asked twice); it must have 6..16\n"
    "characters. Reset with the SO-PIN (options word 0001) is always enabled.",
    init_opts_table, run_init,
};
