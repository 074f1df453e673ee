/* SPDX-License-Identifier: Apache-2.0 */
/* info: what the card is and in which state, without a PIN. */
#include "tools/util.h"

#include <stdlib.h>
#include <string.h>

#include "hsm/cvc.h"
#include "hsm/rv.h"

#define MAX_DOMAINS 64

typedef struct {
    int domain;
    int state;              /* 0 empty slot, 1 status known */
    hsm_dkek_status st;
} domain_info;

typedef struct {
    hsm_token_info ti;
    int have_dkek;          /* domain 0 answered a status */
    hsm_dkek_status dkek;
    domain_info domains[MAX_DOMAINS];
    size_t n_domains;
    char device_chr[64], dica_chr[64], root_car[64];
} card_info;

/* Key domains: query P2 = 0, 1, ... until the card says the index is out of range. An empty
 * but provisioned slot answers 6A88 and is listed as empty. Domain 0 without DKEK answers 6A88
 * (or 6D00 on old firmware), which reads as "no DKEK". */
static int query_domains(tool_ctx *ctx, card_info *ci)
{
    hsm_card *c = hsm_token_lock(ctx->tok);
    if (c == NULL)
        return tool_token_fail(ctx, "cannot reach the card");
    for (int d = 0; d < MAX_DOMAINS; d++) {
        hsm_dkek_status st;
        memset(&st, 0, sizeof(st));
        int rv = hsm_card_key_domain(c, 0, (uint8_t)d, NULL, 0, &st);
        uint16_t sw = hsm_card_last_sw(c);
        if (rv == HSM_OK) {
            ci->domains[ci->n_domains].domain = d;
            ci->domains[ci->n_domains].state = 1;
            ci->domains[ci->n_domains].st = st;
            ci->n_domains++;
            if (d == 0) {
                ci->have_dkek = 1;
                ci->dkek = st;
            }
            continue;
        }
        if (rv == HSM_E_SW && sw == 0x6A88) {
            ci->domains[ci->n_domains].domain = d;
            ci->domains[ci->n_domains].state = 0;
            ci->n_domains++;
            continue;
        }
        break;  /* 6A86 (no such domain), 6D00 (no key domains), or anything else */
    }
    /* An empty domain 0 on a card without domains is just "no DKEK", not a domain. */
    if (ci->n_domains == 1 && ci->domains[0].domain == 0 && ci->domains[0].state == 0)
        ci->n_domains = 0;
    hsm_token_unlock(ctx->tok, 0);
    return TOOL_OK;
}

static void read_devcerts(tool_ctx *ctx, card_info *ci)
{
    hsm_bytes b = HSM_BYTES_INIT;
    if (hsm_token_read_file(ctx->tok, HSM_FID_DEVCERT, &b) == HSM_OK) {
        hsm_cvc dev, dica;
        if (hsm_cvc_split_devcerts(b.data, b.len, &dev, &dica) == HSM_OK) {
            hsm_cvc_ref_string(&dev.chr, ci->device_chr, sizeof(ci->device_chr));
            hsm_cvc_ref_string(&dica.chr, ci->dica_chr, sizeof(ci->dica_chr));
            hsm_cvc_ref_string(&dica.car, ci->root_car, sizeof(ci->root_car));
        }
    }
    hsm_bytes_free(&b);
}

static void kcv_hex(const hsm_dkek_status *st, char out[17])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        out[2 * i] = digits[st->kcv[i] >> 4];
        out[2 * i + 1] = digits[st->kcv[i] & 15];
    }
    out[16] = '\0';
}

static const char *domain_kind(const domain_info *d)
{
    if (d->state == 0)
        return "empty";
    return d->st.total == 0xFF ? "xkek" : "dkek";
}

static void json_tries(tool_json *j, const char *key, int tries)
{
    tool_json_key(j, key);
    if (tries < 0)
        tool_json_null(j);
    else
        tool_json_int(j, tries);
}

static void json_str_or_null(tool_json *j, const char *key, const char *s)
{
    tool_json_key(j, key);
    tool_json_string(j, s != NULL && *s ? s : NULL);
}

static void print_json(const card_info *ci)
{
    tool_json j;
    char fw[16], kcv[17];
    tool_json_init(&j, stdout);
    tool_json_begin_object(&j);
    json_str_or_null(&j, "reader", ci->ti.reader);
    json_str_or_null(&j, "serial", ci->ti.serial);
    snprintf(fw, sizeof(fw), "%u.%u", ci->ti.fw_major, ci->ti.fw_minor);
    json_str_or_null(&j, "firmware", fw);
    tool_json_key(&j, "initialized");
    tool_json_bool(&j, ci->ti.initialized);
    tool_json_key(&j, "transport_pin");
    tool_json_bool(&j, ci->ti.transport_pin);
    json_tries(&j, "pin_tries", ci->ti.pin_tries);
    json_tries(&j, "so_pin_tries", ci->ti.so_pin_tries);
    tool_json_key(&j, "pin_verified");
    tool_json_bool(&j, ci->ti.pin_verified);
    tool_json_key(&j, "options");
    tool_json_int(&j, ci->ti.options);
    tool_json_key(&j, "dkek");
    if (ci->have_dkek) {
        kcv_hex(&ci->dkek, kcv);
        tool_json_begin_object(&j);
        tool_json_key(&j, "total");
        tool_json_int(&j, ci->dkek.total);
        tool_json_key(&j, "missing");
        tool_json_int(&j, ci->dkek.missing);
        tool_json_key(&j, "kcv");
        tool_json_string(&j, kcv);
        tool_json_end_object(&j);
    } else {
        tool_json_null(&j);
    }
    tool_json_key(&j, "key_domains");
    tool_json_begin_array(&j);
    for (size_t i = 0; i < ci->n_domains; i++) {
        const domain_info *d = &ci->domains[i];
        tool_json_begin_object(&j);
        tool_json_key(&j, "domain");
        tool_json_int(&j, d->domain);
        tool_json_key(&j, "kind");
        tool_json_string(&j, domain_kind(d));
        if (d->state) {
            kcv_hex(&d->st, kcv);
            tool_json_key(&j, "total");
            tool_json_int(&j, d->st.total == 0xFF ? -1 : d->st.total);
            tool_json_key(&j, "missing");
            tool_json_int(&j, d->st.missing);
            tool_json_key(&j, "kcv");
            tool_json_string(&j, kcv);
        }
        tool_json_end_object(&j);
    }
    tool_json_end_array(&j);
    json_str_or_null(&j, "device_chr", ci->device_chr);
    json_str_or_null(&j, "dica_chr", ci->dica_chr);
    json_str_or_null(&j, "root_car", ci->root_car);
    json_str_or_null(&j, "label", ci->ti.label);
    tool_json_end_object(&j);
    tool_json_finish(&j);
}

static void tries_text(int tries, int verified, char *out, size_t cap)
{
    if (verified)
        snprintf(out, cap, "verified");
    else if (tries < 0)
        snprintf(out, cap, "unknown");
    else if (tries == 0)
        snprintf(out, cap, "BLOCKED");
    else
        snprintf(out, cap, "%d %s left", tries, tries == 1 ? "try" : "tries");
}

static void print_plain(const card_info *ci)
{
    char buf[128], kcv[17];
    printf("Reader:            %s\n", ci->ti.reader);
    printf("Serial:            %s\n", ci->ti.serial[0] ? ci->ti.serial : "(unknown)");
    printf("Label:             %s\n", ci->ti.label[0] ? ci->ti.label : "(none)");
    printf("Firmware:          %u.%u\n", ci->ti.fw_major, ci->ti.fw_minor);
    printf("Initialised:       %s\n", ci->ti.initialized ? "yes" : "no (run schsm-tool init)");
    if (ci->ti.initialized) {
        if (ci->ti.transport_pin)
            snprintf(buf, sizeof(buf), "transport PIN set: change it first (schsm-tool change-pin)");
        else
            tries_text(ci->ti.pin_tries, ci->ti.pin_verified, buf, sizeof(buf));
        printf("User PIN:          %s\n", buf);
        tries_text(ci->ti.so_pin_tries, 0, buf, sizeof(buf));
        printf("SO-PIN:            %s\n", buf);
    }
    if (ci->have_dkek) {
        kcv_hex(&ci->dkek, kcv);
        printf("DKEK:              %u share%s, %u missing, KCV %s\n", ci->dkek.total,
               ci->dkek.total == 1 ? "" : "s", ci->dkek.missing, ci->dkek.missing ? "(incomplete)" : kcv);
    } else {
        printf("DKEK:              no DKEK\n");
    }
    if (ci->n_domains > 0) {
        printf("Key domains:       %zu\n", ci->n_domains);
        for (size_t i = 0; i < ci->n_domains; i++) {
            const domain_info *d = &ci->domains[i];
            if (d->state == 0) {
                printf("  domain %-3d       empty\n", d->domain);
                continue;
            }
            kcv_hex(&d->st, kcv);
            if (d->st.total == 0xFF)
                printf("  domain %-3d       XKEK, KCV %s\n", d->domain, kcv);
            else
                printf("  domain %-3d       DKEK, %u share%s, %u missing, KCV %s\n", d->domain, d->st.total,
                       d->st.total == 1 ? "" : "s", d->st.missing, kcv);
        }
    }
    printf("Device cert (CHR): %s\n", ci->device_chr[0] ? ci->device_chr : "(unreadable)");
    printf("Issuer (DICA):     %s\n", ci->dica_chr[0] ? ci->dica_chr : "(unreadable)");
    printf("Root CA:           %s\n", ci->root_car[0] ? ci->root_car : "(unreadable)");
}

static int run_info(tool_ctx *ctx, tool_args *a)
{
    card_info *ci = calloc(1, sizeof(*ci));
    if (ci == NULL)
        return tool_error(ctx, TOOL_FAIL, "out of memory");
    int rc = tool_open(ctx);
    if (rc == TOOL_OK && hsm_token_info_get(ctx->tok, &ci->ti) != HSM_OK)
        rc = tool_token_fail(ctx, "cannot read the card's state");
    if (rc == TOOL_OK && ci->ti.initialized)
        rc = query_domains(ctx, ci);
    if (rc == TOOL_OK) {
        read_devcerts(ctx, ci);
        if (tool_flag(a, "json"))
            print_json(ci);
        else
            print_plain(ci);
    }
    free(ci);
    return rc;
}

static const tool_opt info_opts[] = {
    { "json", NULL, "print a JSON object (keys: reader, serial, firmware, initialized, pin_tries, "
                    "so_pin_tries, dkek, key_domains, device_chr, dica_chr, root_car, label)" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_info = {
    "info", "[--json]", "show the card: serial, firmware, PIN tries, DKEK, key domains, device certificate",
    "No PIN is needed. pin_tries/so_pin_tries are null when unknown and 0 when blocked.",
    info_opts, run_info,
};
