/* SPDX-License-Identifier: Apache-2.0 */
/* dkek status (alias dkek-status) and key-domains: per key domain the kind, shares total and
 * missing, KCV, and how many keys live in it. The share commands are in cmd_dkek_share.c, the
 * wrap/unwrap commands in cmd_wrap.c. */
#include "tools/keyfiles.h"

#include <stdlib.h>
#include <string.h>

#include "hsm/keybackup.h"
#include "hsm/rv.h"

void tool_print_domain_status(uint8_t dom, const hsm_dkek_status *st)
{
    char buf[17];
    const char *kcv = tool_kcv_hex(st, buf);
    if (kcv == NULL)
        kcv = TOOL_KCV_UNKNOWN;   /* some cards show the KCV only after the PIN */
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

int tool_read_domains(tool_ctx *ctx, hsm_kb_domain doms[HSM_KB_MAX_DOMAINS], size_t *nd)
{
    hsm_card *c = hsm_token_lock(ctx->tok);
    if (c == NULL)
        return tool_token_fail(ctx, "cannot reach the card");
    hsm_kb_domains(c, doms, HSM_KB_MAX_DOMAINS, nd);
    hsm_token_unlock(ctx->tok, 0);
    return TOOL_OK;
}

/* Keys per domain: from the key's FCP (SELECT CCnn). unknown counts keys whose card does not say. */
static int count_keys(tool_ctx *ctx, size_t counts[HSM_KB_MAX_DOMAINS], size_t *unknown)
{
    hsm_key *keys = NULL;
    size_t n = 0;
    memset(counts, 0, HSM_KB_MAX_DOMAINS * sizeof(counts[0]));
    *unknown = 0;
    if (hsm_token_list_keys(ctx->tok, &keys, &n) != HSM_OK)
        return tool_token_fail(ctx, "cannot list the keys");
    hsm_card *c = hsm_token_lock(ctx->tok);
    if (c == NULL) {
        free(keys);
        return tool_token_fail(ctx, "cannot reach the card");
    }
    for (size_t i = 0; i < n; i++) {
        hsm_kb_key_meta m;
        if (hsm_kb_key_meta_read(c, keys[i].key_ref, &m) == HSM_OK && m.domain >= 0 && m.domain < HSM_KB_MAX_DOMAINS)
            counts[m.domain]++;
        else
            (*unknown)++;
    }
    hsm_token_unlock(ctx->tok, 0);
    free(keys);
    return TOOL_OK;
}

static int run_status(tool_ctx *ctx, tool_args *a)
{
    int rc = tool_reach(ctx);
    if (rc == TOOL_OK)
        rc = tool_login_for_kcv(ctx);
    if (rc != TOOL_OK)
        return rc;
    size_t counts[HSM_KB_MAX_DOMAINS], unknown = 0;
    rc = count_keys(ctx, counts, &unknown);
    if (rc != TOOL_OK)
        return rc;
    hsm_kb_domain doms[HSM_KB_MAX_DOMAINS];
    size_t nd = 0;
    rc = tool_read_domains(ctx, doms, &nd);
    if (rc != TOOL_OK)
        return rc;
    /* Domain 0 empty and nothing after it: the card has no DKEK at all. */
    if (nd == 1 && !doms[0].present)
        nd = 0;
    int json = tool_flag(a, "json");
    tool_json j;
    if (json) {
        tool_json_init(&j, stdout);
        tool_json_begin_array(&j);
    }
    for (size_t d = 0; d < nd; d++) {
        const hsm_dkek_status *st = &doms[d].st;
        char kcv[17];
        tool_hex_into(kcv, st->kcv, 8);
        int xkek = doms[d].present && st->total == 0xFF;
        const char *kind = !doms[d].present ? "empty" : xkek ? "xkek" : "dkek";
        if (json) {
            tool_json_begin_object(&j);
            tool_json_key(&j, "domain");
            tool_json_int(&j, (long long)d);
            tool_json_key(&j, "kind");
            tool_json_string(&j, kind);
            if (doms[d].present) {
                tool_json_key(&j, "total");
                tool_json_int(&j, xkek ? -1 : st->total);
                tool_json_key(&j, "missing");
                tool_json_int(&j, st->missing);
                tool_json_key(&j, "kcv");
                tool_json_string(&j, st->kcv_unknown ? NULL : kcv);   /* null: shown only after the PIN */
                if (st->extra_len > 0) {
                    char *uid = hsm_hex_encode(st->extra, st->extra_len);
                    tool_json_key(&j, "uid");
                    tool_json_string(&j, uid);
                    free(uid);
                }
                tool_json_key(&j, "complete");
                tool_json_bool(&j, xkek ? strcmp(kcv, "0000000000000000") != 0 : st->missing == 0);
            }
            tool_json_key(&j, "keys");
            tool_json_int(&j, (long long)counts[d]);
            tool_json_end_object(&j);
            continue;
        }
        if (!doms[d].present) {
            printf("Key domain %zu: empty", d);
        } else if (xkek) {
            char *uid = hsm_hex_encode(st->extra, st->extra_len);
            printf("Key domain %zu: XKEK, KCV %s%s%s", d, kcv, uid && *uid ? ", group UID " : "", uid ? uid : "");
            free(uid);
        } else {
            tool_print_domain_status((uint8_t)d, st);
            printf("Keys: %zu\n", counts[d]);
            continue;
        }
        printf(" (%zu key%s)\n", counts[d], counts[d] == 1 ? "" : "s");
    }
    if (json) {
        tool_json_end_array(&j);
        tool_json_finish(&j);
    } else if (nd == 0) {
        printf("No DKEK: the card was initialised without DKEK shares, so keys cannot be exported.\n"
               "Re-initialise it with schsm-tool init --dkek-shares N to set one up (this deletes every key).\n");
    }
    if (!json && unknown > 0)
        printf("%zu key%s whose key domain the card does not report.\n", unknown, unknown == 1 ? "" : "s");
    return TOOL_OK;
}

/* MANAGE KEY DOMAIN P1 01: a DKEK domain of N shares in an empty slot (init --key-domains). */
static int run_create_domain(tool_ctx *ctx, tool_args *a)
{
    const char *ds = tool_arg(a, "key-domain"), *ns = tool_arg(a, "shares");
    long dom = 0, n = 0;
    if (ds == NULL || tool_parse_uint(ds, 0, 254, &dom) != HSM_OK)
        return tool_usage_error(ctx, "--key-domain N (0 to 254) is required: the empty slot to set up");
    if (ns == NULL || tool_parse_uint(ns, 0, 254, &n) != HSM_OK)
        return tool_usage_error(ctx, "--shares N (0 to 254) is required: how many DKEK shares make the domain's "
                                "DKEK (0 = the card makes a random one that no other card can have)");
    int rc = tool_login(ctx, 0);
    if (rc != TOOL_OK)
        return rc;
    hsm_card *c = hsm_token_lock(ctx->tok);
    if (c == NULL)
        return tool_token_fail(ctx, "cannot reach the card");
    uint8_t b = (uint8_t)n;
    hsm_dkek_status st;
    memset(&st, 0, sizeof(st));
    int rv = hsm_card_key_domain(c, 0x01, (uint8_t)dom, &b, 1, &st);
    if (rv != HSM_OK)
        rc = tool_card_fail(ctx, c, rv, 0x52, "the card did not create the key domain (is the slot provisioned "
                            "with init --key-domains and still empty?)");
    hsm_token_unlock(ctx->tok, 0);
    if (rc == TOOL_OK) {
        printf("Created key domain %ld.\n", dom);
        tool_print_domain_status((uint8_t)dom, &st);
    }
    return rc;
}

static const tool_opt create_domain_opts[] = {
    { "key-domain", "N", "the key domain slot to set up (provisioned by init --key-domains)" },
    { "shares", "N", "number of DKEK shares of the new domain (0 = random DKEK made by the card)" },
    { NULL, NULL, NULL },
};
const tool_cmd tool_cmd_dkek_create_domain = {
    "dkek create-domain", "--key-domain N --shares N",
    "set up a further key domain with its own DKEK (made of N shares)",
    "Keys generated with keygen --key-domain N are wrapped under that domain's DKEK. Import its\n"
    "shares with dkek import-share --key-domain N. Needs the user PIN.",
    create_domain_opts, run_create_domain,
};

static const tool_opt status_opts[] = {
    { "json", NULL, "print a JSON array of {domain, kind: dkek|xkek|empty, total, missing, kcv, complete, keys}" },
    { NULL, NULL, NULL },
};

#define STATUS_DET \
    "No PIN is needed. The KCV (first 8 bytes of SHA-256 of the DKEK) is the same on every card\n" \
    "holding the same DKEK; it is shown only once every share is in. \"keys\" counts the keys\n" \
    "of each domain (from each key's file information)."

const tool_cmd tool_cmd_dkek_status_cmd = { "dkek status", "[--json]",
                                            "show each key domain: shares total and missing, KCV, number of keys",
                                            STATUS_DET, status_opts, run_status };
const tool_cmd tool_cmd_dkek_status = { "dkek-status", "[--json]", "alias of dkek status", STATUS_DET, status_opts,
                                        run_status };
const tool_cmd tool_cmd_key_domains = {
    "key-domains", "[--json]", "list the key domains (DKEK and XKEK) with their KCVs",
    "The same listing as dkek status; XKEK domains also show the group's UID. No PIN is needed.",
    status_opts, run_status,
};
