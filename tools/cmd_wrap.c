/* SPDX-License-Identifier: Apache-2.0 */
/* wrap-key and unwrap-key: one key into / out of sc-hsm-tool's wrapped-key file. The card
 * work (and the proof that an unwrapped key is the file's key) is in hsm/keybackup.h. */
#include "tools/keyfiles.h"

#include <string.h>

#include "hsm/keybackup.h"
#include "hsm/rv.h"

static int run_wrap(tool_ctx *ctx, tool_args *a)
{
    const char *out = tool_arg(a, "out");
    if (out == NULL || *out == '\0')
        return tool_usage_error(ctx, "--out FILE is required (where the wrapped key is written)");
    int force = tool_flag(a, "force");
    hsm_key k;
    int rc = tool_find_key(ctx, a, &k);
    if (rc == TOOL_OK)
        rc = tool_check_out(ctx, out, force);
    if (rc == TOOL_OK)
        rc = tool_login(ctx, 0);
    if (rc != TOOL_OK)
        return rc;
    hsm_bytes file = HSM_BYTES_INIT;
    hsm_kb_wrap_info wi;
    hsm_kb_result r;
    if (hsm_kb_wrap(ctx->tok, k.key_ref, &file, &wi, &r) != HSM_OK)
        rc = tool_error(ctx, TOOL_FAIL, "%s", r.why);
    if (rc == TOOL_OK && wi.cert_dropped)
        fprintf(stderr, "%s %s: warning: the key has no description (EF C4%02X); its certificate is not saved\n",
                ctx->prog, ctx->cmd->name, k.key_ref);
    if (rc == TOOL_OK)
        rc = tool_write_file(ctx, out, file.data, file.len, force);
    if (rc == TOOL_OK) {
        char kcv[17];
        tool_hex_into(kcv, wi.hdr.kcv, 8);
        printf("Wrote wrapped key '%s' (key ref %u) to %s: %zu bytes, DKEK KCV %s%s%s.\n", k.label, k.key_ref, out,
               file.len, kcv, wi.have_prkd ? ", with description" : "", wi.have_cert ? " and certificate" : "");
    }
    hsm_bytes_free(&file);
    return rc;
}

static int run_unwrap(tool_ctx *ctx, tool_args *a)
{
    char why[256];
    const char *in = tool_arg(a, "in"), *label = tool_arg(a, "label"), *idhex = tool_arg(a, "id");
    uint8_t id[HSM_ID_MAX];
    size_t id_len = 0;
    if (in == NULL || *in == '\0')
        return tool_usage_error(ctx, "--in FILE is required (a wrapped key from wrap-key or sc-hsm-tool --wrap-key)");
    if (label != NULL && (*label == '\0' || strlen(label) >= HSM_LABEL_MAX))
        return tool_usage_error(ctx, "--label must have 1 to %d bytes", HSM_LABEL_MAX - 1);
    if (idhex != NULL && tool_parse_id(idhex, id, sizeof(id), &id_len, why, sizeof(why)) != HSM_OK)
        return tool_usage_error(ctx, "%s", why);

    hsm_bytes f = HSM_BYTES_INIT;
    int rc = tool_read_file(ctx, in, HSM_KB_FILE_MAX, &f);
    /* The file is checked (format, request signature) before any PIN is asked. */
    hsm_wrapped_file wf;
    hsm_wrapped_hdr hdr;
    hsm_prkd d;
    int have_prkd = 0;
    EVP_PKEY *pub = NULL;
    hsm_kb_result r;
    memset(&r, 0, sizeof(r));
    if (rc == TOOL_OK && hsm_kb_file_open(f.data, f.len, &wf, &hdr, &d, &have_prkd, &pub, &r) != HSM_OK)
        rc = tool_error(ctx, TOOL_FAIL, "%s: %s", in, r.why);
    EVP_PKEY_free(pub);
    if (rc == TOOL_OK)
        rc = tool_login(ctx, 0);
    hsm_kb_unwrap_opts o = { .label = label, .id = idhex ? id : NULL, .id_len = id_len, .replace = tool_flag(a, "force") };
    hsm_kb_unwrap_info info;
    if (rc == TOOL_OK && hsm_kb_unwrap(ctx->tok, f.data, f.len, &o, &info, &r) != HSM_OK) {
        for (size_t i = 0; r.reason == HSM_KB_CLASH && i < info.nclash && i < 4; i++)
            fprintf(stderr, "%s %s: key ref %u ('%s') has the same label or ID\n", ctx->prog, ctx->cmd->name,
                    info.clash_refs[i], info.clash_labels[i]);
        if (r.reason == HSM_KB_CLASH)
            rc = tool_error(ctx, TOOL_FAIL, "%s: unwrap under another name (--label L --id HEX), or pass --force "
                            "to replace that key", r.why);
        else
            rc = tool_error(ctx, TOOL_FAIL, "%s", r.why);
    } else if (rc == TOOL_OK) {
        char idh[2 * HSM_ID_MAX + 1];
        tool_hex_into(idh, info.prkd.id, info.prkd.id_len);
        const char *type = info.hdr.key_type == 0x0C ? "ec" : info.hdr.key_type == 0x0F ? "aes" : "rsa";
        printf("Unwrapped key '%s' (id %s, key ref %u, %s%s%s).\n", info.prkd.label, idh[0] ? idh : "-",
               info.key_ref, type, info.have_prkd ? "" : ", no description",
               info.have_cert ? ", with certificate" : "");
        if (info.checked)
            printf("Checked: a signature by the new key verifies with the public key in the file's request.\n");
        else if (info.have_cert)
            printf("Not checked by a signature: the key's algorithm list allows no signature the host can verify.\n");
        else
            printf("Not checked: the file holds no request or certificate with the key's public key.\n");
        if (info.replaced > 0)
            printf("Replaced %zu key%s with the same label or ID.\n", info.replaced, info.replaced == 1 ? "" : "s");
    }
    hsm_bytes_free(&f);
    return rc;
}

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

const tool_cmd tool_cmd_wrap_key = {
    "wrap-key", "--label L | --id HEX --out FILE [--force]",
    "export a key encrypted under the DKEK (backup or copy to another card)",
    "Writes sc-hsm-tool's wrapped-key format: the card's wrapped key, the key's description (C4nn)\n"
    "and its certificate or CV request (CEnn). Needs the user PIN, a complete DKEK, and a key whose\n"
    "algorithm list (if any) allows wrapping. For every key at once see 'backup'.",
    wrap_opts, run_wrap,
};
const tool_cmd tool_cmd_unwrap_key = {
    "unwrap-key", "--in FILE [--label L] [--id HEX] [--force]",
    "import a wrapped key into the card (same DKEK required)",
    "Checks the file's request against its own signature, picks a free key reference, unwraps the\n"
    "key, proves with one signature (verified on the host) that the card's new key belongs to the\n"
    "request's public key, then writes its description and certificate. If anything fails the new\n"
    "key is removed again. A key with the same label or ID is refused unless --force (then it is\n"
    "replaced once the new key is complete). Needs the user PIN.",
    unwrap_opts, run_unwrap,
};
