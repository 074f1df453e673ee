/* SPDX-License-Identifier: Apache-2.0 */
/* device: the card's identity (serial, firmware, device and DICA certificates) and the check of
 * its chain device -> DICA -> root; --out-chain saves the chain for other machines. */
#include "tools/util.h"

#include <stdlib.h>
#include <string.h>

#include "hsm/device.h"
#include "hsm/rv.h"

static void print_cert_plain(const char *title, const hsm_cert_summary *s)
{
    printf("%-15s CHR %s, issued by (CAR) %s\n", title, s->chr, s->car);
    printf("%-15s valid %s .. %s\n", "", s->valid_from[0] ? s->valid_from : "?", s->valid_to[0] ? s->valid_to : "?");
    if (s->point_len > 0) {
        char *hex = hsm_hex_encode(s->point, s->point_len);
        printf("%-15s public key %s %s\n", "", s->curve ? s->curve : "EC", hex ? hex : "");
        free(hex);
    }
}

static void json_cert(tool_json *j, const char *key, const hsm_cert_summary *s)
{
    tool_json_key(j, key);
    tool_json_begin_object(j);
    tool_json_key(j, "chr");
    tool_json_string(j, s->chr);
    tool_json_key(j, "car");
    tool_json_string(j, s->car);
    tool_json_key(j, "valid_from");
    tool_json_string(j, s->valid_from[0] ? s->valid_from : NULL);
    tool_json_key(j, "valid_to");
    tool_json_string(j, s->valid_to[0] ? s->valid_to : NULL);
    tool_json_key(j, "curve");
    tool_json_string(j, s->curve);
    if (s->point_len > 0)
        tool_json_hex(j, "public_key", s->point, s->point_len);
    tool_json_end_object(j);
}

/* Shared with attest: the chain verdict as JSON members. */
void tool_json_chain(tool_json *j, const hsm_chain *ch)
{
    tool_json_key(j, "chain");
    tool_json_begin_object(j);
    tool_json_key(j, "verdict");
    tool_json_string(j, hsm_chain_verdict_name(ch->verdict));
    tool_json_key(j, "trusted");
    tool_json_bool(j, hsm_chain_trusted(ch));
    tool_json_key(j, "test");
    tool_json_bool(j, ch->test_root);
    tool_json_key(j, "root");
    tool_json_string(j, ch->root);
    tool_json_key(j, "failed");
    tool_json_string(j, ch->failed[0] ? ch->failed : NULL);
    tool_json_key(j, "message");
    tool_json_string(j, hsm_chain_verdict_text(ch->verdict));
    tool_json_end_object(j);
    json_cert(j, "device_certificate", &ch->device);
    json_cert(j, "dica_certificate", &ch->dica);
}

void tool_print_chain(const hsm_chain *ch)
{
    print_cert_plain("Device cert:", &ch->device);
    print_cert_plain("DICA cert:", &ch->dica);
    printf("%-15s %s%s\n", "Root:", ch->root, ch->test_root ? " (TEST)" : "");
    printf("%-15s %s\n", "Chain:", hsm_chain_verdict_text(ch->verdict));
    if (ch->failed[0] && !hsm_chain_trusted(ch))
        printf("%-15s %s\n", "Failed check:", ch->failed);
}

static int run_device(tool_ctx *ctx, tool_args *a)
{
    const char *out_chain = tool_arg(a, "out-chain");
    const char *offline = tool_arg(a, "verify-chain");
    unsigned flags = tool_flag(a, "trust-test-root") ? HSM_TRUST_TEST_ROOT : 0;
    hsm_token_info ti;
    hsm_bytes raw = HSM_BYTES_INIT, certs = HSM_BYTES_INIT, pem = HSM_BYTES_INIT;
    hsm_chain ch;
    int rc = TOOL_OK;
    memset(&ti, 0, sizeof(ti));
    memset(&ch, 0, sizeof(ch));
    if (offline != NULL && out_chain != NULL)
        return tool_usage_error(ctx, "--verify-chain checks a file without a card; --out-chain needs the card");
    if (offline != NULL) {
        rc = tool_read_public(ctx, offline, "a device chain file", &raw);
        if (rc == TOOL_OK && hsm_chain_file_decode(raw.data, raw.len, &certs) != HSM_OK)
            rc = tool_error(ctx, TOOL_FAIL, "%s is not a device chain file (schsm-tool device --out-chain "
                            "writes one)", offline);
    } else {
        rc = tool_open(ctx);
        if (rc == TOOL_OK && hsm_token_info_get(ctx->tok, &ti) != HSM_OK)
            rc = tool_token_fail(ctx, "cannot read the card's state");
        if (rc == TOOL_OK && hsm_token_read_file(ctx->tok, HSM_FID_DEVCERT, &certs) != HSM_OK)
            rc = tool_token_fail(ctx, "cannot read the device certificates (EF 2F02)");
    }
    if (rc != TOOL_OK)
        goto done;
    hsm_chain_verify(certs.data, certs.len, flags, NULL, &ch);
    if (out_chain != NULL) {
        if (hsm_chain_file_encode(certs.data, certs.len, &pem) != HSM_OK)
            rc = tool_error(ctx, TOOL_FAIL, "cannot encode the chain");
        else
            rc = tool_write_public(ctx, out_chain, pem.data, pem.len);
        if (rc != TOOL_OK)
            goto done;
    }
    if (tool_flag(a, "json")) {
        tool_json j;
        char fw[16];
        tool_json_init(&j, stdout);
        tool_json_begin_object(&j);
        if (offline == NULL) {
            snprintf(fw, sizeof(fw), "%u.%u", ti.fw_major, ti.fw_minor);
            tool_json_key(&j, "serial");
            tool_json_string(&j, ti.serial);
            tool_json_key(&j, "firmware");
            tool_json_string(&j, fw);
        }
        tool_json_chain(&j, &ch);
        tool_json_key(&j, "chain_file");
        tool_json_string(&j, out_chain);
        tool_json_end_object(&j);
        tool_json_finish(&j);
    } else if (out_chain == NULL || strcmp(out_chain, "-") != 0) {   /* not into the PEM on stdout */
        if (offline == NULL) {
            printf("%-15s %s\n", "Serial:", ti.serial[0] ? ti.serial : "(unknown)");
            printf("%-15s %u.%u\n", "Firmware:", ti.fw_major, ti.fw_minor);
        }
        tool_print_chain(&ch);
        if (out_chain != NULL && strcmp(out_chain, "-") != 0)
            printf("Wrote the chain to %s (verify it elsewhere: schsm-tool device --verify-chain %s).\n",
                   out_chain, out_chain);
    }
    if (!hsm_chain_trusted(&ch))
        rc = TOOL_FAIL;
done:
    hsm_chain_free(&ch);
    hsm_bytes_free(&raw);
    hsm_bytes_free(&certs);
    hsm_bytes_free(&pem);
    return rc;
}

static const tool_opt device_opts[] = {
    { "json", NULL, "print a JSON object (serial, firmware, chain{verdict, trusted, test, root, failed, message}, "
                    "device_certificate, dica_certificate, chain_file)" },
    { "out-chain", "FILE", "write the chain (device and DICA certificates) to FILE for verification elsewhere" },
    { "verify-chain", "FILE", "check a chain file written by --out-chain, without a card" },
    { "trust-test-root", NULL, "accept the virtual card's TEST root " HSM_ROOT_TEST " (labelled TEST)" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_device = {
    "device", "[--json] [--out-chain FILE | --verify-chain FILE] [--trust-test-root]",
    "show the device identity and verify its certificate chain device -> DICA -> root",
    "No PIN is needed. The production root " HSM_ROOT_PRODUCTION " is built in. Verdicts: genuine, test,\n"
    "test-root-untrusted, unknown-root, bad-signature, expired, malformed. Exit 0 only for a trusted\n"
    "chain (genuine, or test with --trust-test-root). The chain file is PEM: '-----BEGIN "
    HSM_CHAIN_PEM_NAME "-----'\n"
    "around the bytes of EF 2F02 (device CV certificate followed by the DICA CV certificate).",
    device_opts, run_device,
};
