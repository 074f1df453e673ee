/* SPDX-License-Identifier: Apache-2.0 */
/* XKEK key domains: group-signer create, kdm issue, xkek create / exchange-key / derive.
 * The workflows live in hsm/xkek.h; this file parses options and prints. */
#include "tools/util.h"

#include <stdlib.h>
#include <string.h>

#include "hsm/rv.h"
#include "hsm/xkek.h"

/* --domain N; def when absent (-1 = let the library choose). */
static int domain_arg(tool_ctx *ctx, tool_args *a, int def, int required, int *out)
{
    const char *s = tool_arg(a, "domain");
    long v;
    if (s == NULL) {
        if (required)
            return tool_usage_error(ctx, "--domain N is required (the XKEK domain, see schsm-tool key-domains)");
        *out = def;
        return TOOL_OK;
    }
    if (tool_parse_uint(s, 0, 255, &v) != HSM_OK)
        return tool_usage_error(ctx, "--domain must be a number from 0 to 255, not '%s'", s);
    *out = (int)v;
    return TOOL_OK;
}

static unsigned trust_flags(tool_args *a)
{
    return tool_flag(a, "trust-test-root") ? HSM_TRUST_TEST_ROOT : 0;
}

static void kcv_text(const hsm_dkek_status *st, char out[17])
{
    char *h = hsm_hex_encode(st->kcv, 8);
    snprintf(out, 17, "%s", h ? h : "");
    free(h);
}

/* {"domain": N, "kcv": "...", "uid": "...", ...extra} or a line for people. */
static void report_domain(tool_args *a, const char *what, int domain, const hsm_dkek_status *st, const char *file)
{
    char kcv[17];
    kcv_text(st, kcv);
    if (tool_flag(a, "json")) {
        tool_json j;
        tool_json_init(&j, stdout);
        tool_json_begin_object(&j);
        tool_json_key(&j, "domain");
        tool_json_int(&j, domain);
        tool_json_key(&j, "kcv");
        tool_json_string(&j, kcv);
        tool_json_hex(&j, "uid", st->extra, st->extra_len);
        tool_json_key(&j, "complete");
        tool_json_bool(&j, strcmp(kcv, "0000000000000000") != 0);
        tool_json_key(&j, "file");
        tool_json_string(&j, file);
        tool_json_end_object(&j);
        tool_json_finish(&j);
    } else {
        printf("%s key domain %d: XKEK, KCV %s%s.\n", what, domain, kcv,
               strcmp(kcv, "0000000000000000") == 0 ? " (no XKEK derived yet)" : "");
        if (file != NULL && strcmp(file, "-") != 0)
            printf("Wrote %s.\n", file);
    }
}

static int run_gs_create(tool_ctx *ctx, tool_args *a)
{
    char why[512];
    const char *label = tool_arg(a, "label");
    int domain = -1;
    hsm_key k;
    if (label == NULL || *label == '\0')
        return tool_usage_error(ctx, "--label GS is required (the group signer's name)");
    int rc = domain_arg(ctx, a, 0, 0, &domain);
    if (rc == TOOL_OK)
        rc = tool_open(ctx);
    if (rc == TOOL_OK)
        rc = tool_login(ctx, 0);
    if (rc != TOOL_OK)
        return rc;
    if (hsm_group_signer_create(ctx->tok, label, domain, &k, why, sizeof(why)) != HSM_OK)
        return tool_error(ctx, TOOL_FAIL, "%s", why);
    if (tool_flag(a, "json")) {
        tool_json j;
        tool_json_init(&j, stdout);
        tool_json_begin_object(&j);
        tool_json_key(&j, "label");
        tool_json_string(&j, k.label);
        tool_json_key(&j, "key_ref");
        tool_json_int(&j, k.key_ref);
        tool_json_key(&j, "domain");
        tool_json_int(&j, domain);
        tool_json_end_object(&j);
        tool_json_finish(&j);
    } else {
        printf("Group signer '%s' created (EC prime256v1, key ref %u, DKEK domain %d); the certificates of this "
               "card are kept with it in EF CB%02X. Back it up with: schsm-tool wrap-key --label %s --out FILE\n",
               k.label, k.key_ref, domain, k.key_ref, k.label);
    }
    return TOOL_OK;
}

static int run_kdm_issue(tool_ctx *ctx, tool_args *a)
{
    char why[512];
    const char *gs = tool_arg(a, "group-signer"), *member = tool_arg(a, "member"), *out = tool_arg(a, "out");
    const char *origin = tool_arg(a, "origin-chain");
    if (gs == NULL || member == NULL || out == NULL)
        return tool_usage_error(ctx, "--group-signer GS, --member FILE and --out KDM are required");
    hsm_bytes mf = HSM_BYTES_INIT, of = HSM_BYTES_INIT, req = HSM_BYTES_INIT, certs = HSM_BYTES_INIT,
              pem = HSM_BYTES_INIT;
    hsm_key k;
    int rc = tool_read_public(ctx, member, "a device chain file", &mf);
    if (rc == TOOL_OK && origin != NULL)
        rc = tool_read_public(ctx, origin, "a device chain file", &of);
    if (rc == TOOL_OK)
        rc = tool_open(ctx);
    if (rc == TOOL_OK && hsm_token_find_key(ctx->tok, gs, NULL, 0, &k) != HSM_OK)
        rc = tool_token_fail(ctx, "no such group signer");
    if (rc == TOOL_OK)
        rc = tool_login(ctx, 0);
    if (rc == TOOL_OK && hsm_group_signer_origin(ctx->tok, &k, origin ? of.data : NULL, of.len, trust_flags(a), &req,
                                                 &certs, why, sizeof(why)) != HSM_OK)
        rc = tool_error(ctx, TOOL_FAIL, "%s", why);
    if (rc == TOOL_OK && hsm_kdm_issue(ctx->tok, &k, &req, &certs, mf.data, mf.len, trust_flags(a), &pem, why,
                                       sizeof(why)) != HSM_OK)
        rc = tool_error(ctx, TOOL_FAIL, "%s", why);
    if (rc == TOOL_OK)
        rc = tool_write_public(ctx, out, pem.data, pem.len);
    if (rc == TOOL_OK && tool_flag(a, "json")) {
        tool_json j;
        tool_json_init(&j, stdout);
        tool_json_begin_object(&j);
        tool_json_key(&j, "group_signer");
        tool_json_string(&j, k.label);
        tool_json_key(&j, "kdm");
        tool_json_string(&j, out);
        tool_json_end_object(&j);
        tool_json_finish(&j);
    } else if (rc == TOOL_OK && strcmp(out, "-") != 0) {
        printf("Wrote the membership for the card in %s to %s (signed by group signer '%s').\n", member, out, k.label);
    }
    hsm_bytes_free(&mf);
    hsm_bytes_free(&of);
    hsm_bytes_free(&req);
    hsm_bytes_free(&certs);
    hsm_bytes_free(&pem);
    return rc;
}

static int run_xkek_create(tool_ctx *ctx, tool_args *a)
{
    char why[512];
    const char *path = tool_arg(a, "kdm");
    int domain = -1;
    hsm_kdm kdm;
    hsm_dkek_status st;
    hsm_bytes f = HSM_BYTES_INIT;
    memset(&kdm, 0, sizeof(kdm));
    if (path == NULL)
        return tool_usage_error(ctx, "--kdm FILE is required (from schsm-tool kdm issue on the group signer's card)");
    int rc = domain_arg(ctx, a, -1, 0, &domain);
    if (rc == TOOL_OK)
        rc = tool_read_public(ctx, path, "a key domain membership", &f);
    if (rc == TOOL_OK && hsm_kdm_parse(f.data, f.len, &kdm) != HSM_OK)
        rc = tool_error(ctx, TOOL_FAIL, "%s is not a key domain membership (expected '-----BEGIN %s-----')", path,
                        HSM_KDM_PEM_NAME);
    if (rc == TOOL_OK)
        rc = tool_open(ctx);
    if (rc == TOOL_OK)
        rc = tool_login(ctx, 0);
    if (rc == TOOL_OK && hsm_xkek_create(ctx->tok, &kdm, &domain, trust_flags(a), &st, why, sizeof(why)) != HSM_OK)
        rc = tool_error(ctx, TOOL_FAIL, "%s; nothing was changed", why);
    if (rc == TOOL_OK)
        report_domain(a, "Joined:", domain, &st, NULL);
    hsm_kdm_free(&kdm);
    hsm_bytes_free(&f);
    return rc;
}

static int run_exchange_key(tool_ctx *ctx, tool_args *a)
{
    char why[512];
    const char *out = tool_arg(a, "out");
    int domain = -1;
    hsm_key k;
    hsm_dkek_status st;
    hsm_bytes pem = HSM_BYTES_INIT;
    if (out == NULL)
        return tool_usage_error(ctx, "--out REQ is required (the exchange key request to give the other members)");
    int rc = domain_arg(ctx, a, -1, 1, &domain);
    if (rc == TOOL_OK)
        rc = tool_open(ctx);
    if (rc == TOOL_OK)
        rc = tool_login(ctx, 0);
    if (rc == TOOL_OK && hsm_xkek_exchange_key(ctx->tok, domain, &k, &pem, why, sizeof(why)) != HSM_OK)
        rc = tool_error(ctx, TOOL_FAIL, "%s", why);
    if (rc == TOOL_OK)
        rc = tool_write_public(ctx, out, pem.data, pem.len);
    if (rc == TOOL_OK && hsm_domain_status(ctx->tok, domain, &st) == HSM_OK)
        report_domain(a, "Exchange key for", domain, &st, out);
    hsm_bytes_free(&pem);
    return rc;
}

static int run_derive(tool_ctx *ctx, tool_args *a)
{
    char why[512];
    const char *peer = tool_arg(a, "peer");
    int domain = -1;
    hsm_dkek_status st;
    hsm_bytes f = HSM_BYTES_INIT;
    if (peer == NULL)
        return tool_usage_error(ctx, "--peer REQ is required (another member's exchange key request)");
    int rc = domain_arg(ctx, a, -1, 1, &domain);
    if (rc == TOOL_OK)
        rc = tool_read_public(ctx, peer, "an exchange key request", &f);
    if (rc == TOOL_OK)
        rc = tool_open(ctx);
    if (rc == TOOL_OK)
        rc = tool_login(ctx, 0);
    if (rc == TOOL_OK && hsm_xkek_derive(ctx->tok, domain, f.data, f.len, trust_flags(a), &st, why, sizeof(why))
                             != HSM_OK)
        rc = tool_error(ctx, TOOL_FAIL, "%s", why);
    if (rc == TOOL_OK)
        report_domain(a, "Derived:", domain, &st, NULL);
    hsm_bytes_free(&f);
    return rc;
}

#define OPT_TRUST { "trust-test-root", NULL, "accept certificates under the virtual card's TEST root" }
#define OPT_JSON { "json", NULL, "print a JSON object" }

static const tool_opt gs_opts[] = {
    { "label", "GS", "the group signer's label" },
    { "domain", "N", "DKEK key domain for the key (default 0); wrap-key backs it up with that DKEK" },
    OPT_JSON,
    { NULL, NULL, NULL },
};
static const tool_opt kdm_opts[] = {
    { "group-signer", "GS", "label of the group signer key on this card" },
    { "member", "FILE", "the member card's chain (schsm-tool device --out-chain on that card)" },
    { "out", "KDM", "where to write the membership" },
    { "origin-chain", "FILE", "chain of the card that made the group signer (its device --out-chain, saved before "
                              "a move or firmware update); needed once when the group signer lost it" },
    OPT_TRUST,
    OPT_JSON,
    { NULL, NULL, NULL },
};
static const tool_opt create_opts[] = {
    { "kdm", "FILE", "the membership issued for this card" },
    { "domain", "N", "key domain slot to use (default: the first empty one)" },
    OPT_TRUST,
    OPT_JSON,
    { NULL, NULL, NULL },
};
static const tool_opt exchange_opts[] = {
    { "domain", "N", "the XKEK domain" },
    { "out", "REQ", "where to write the exchange key request" },
    OPT_JSON,
    { NULL, NULL, NULL },
};
static const tool_opt derive_opts[] = {
    { "domain", "N", "the XKEK domain" },
    { "peer", "REQ", "another member's exchange key request" },
    OPT_TRUST,
    OPT_JSON,
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_group_signer_create = {
    "group-signer create", "--label GS [--domain N] [--json]",
    "make a group signer: the key that admits cards to an XKEK key domain",
    "Needs the user PIN and a DKEK domain. See docs/key-domains.md.", gs_opts, run_gs_create,
};
const tool_cmd tool_cmd_kdm_issue = {
    "kdm issue", "--group-signer GS --member FILE --out KDM [--origin-chain FILE] [--trust-test-root]",
    "issue a key domain membership (KDM) for another card",
    "Needs the user PIN (the group signer signs). The membership carries the certificates of the card\n"
    "that made the group signer, so it stays valid after the group signer moved.",
    kdm_opts, run_kdm_issue,
};
const tool_cmd tool_cmd_xkek_create = {
    "xkek create", "--kdm KDM [--domain N] [--trust-test-root] [--json]",
    "join an XKEK key domain with a membership issued for this card",
    "Needs the user PIN. The host checks the KDM first (1 group signer's device chain, 2 its request,\n"
    "3 issued for this device) and names the failed check; then the card checks it again.",
    create_opts, run_xkek_create,
};
const tool_cmd tool_cmd_xkek_exchange_key = {
    "xkek exchange-key", "--domain N --out REQ [--json]",
    "make (once) this card's attested exchange key for an XKEK domain and write its request",
    "Needs the user PIN the first time. The request file carries this card's device chain.",
    exchange_opts, run_exchange_key,
};
const tool_cmd tool_cmd_xkek_derive = {
    "xkek derive", "--domain N --peer REQ [--trust-test-root] [--json]",
    "derive the domain's XKEK from another member's exchange key; both cards then show the same KCV",
    "Needs the user PIN. Checks: 1 the peer's device chain, 2 its request, 3 the same domain UID.",
    derive_opts, run_derive,
};
