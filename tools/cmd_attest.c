/* SPDX-License-Identifier: Apache-2.0 */
/* attest: a key's attestation bundle from the card, and the check of a bundle on any machine. */
#include "tools/util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hsm/attest.h"
#include "hsm/crypto.h"
#include "hsm/rv.h"

static const char ATTESTED[] =
    "the key pair was generated inside the device named above (origin: device signature on the request), "
    "and that device held the private key (possession: the key's own signature on the request)";
static const char NOT_ATTESTED[] =
    "the key's usage restrictions (algorithm list), whether it can be exported (key domain / DKEK), "
    "its PIN policy, and whether it still exists on the card. Those would need a key generated over "
    "secure messaging, which schsm does not do yet";

/* --pubkey: PEM or DER public key, or an X.509 certificate (its key). */
static EVP_PKEY *load_pubkey(const hsm_bytes *b)
{
    EVP_PKEY *k = NULL;
    X509 *x = NULL;
    BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
    if (bio != NULL)
        k = PEM_read_bio_PUBKEY_ex(bio, NULL, NULL, NULL, hsm_libctx(), NULL);
    if (k == NULL && bio != NULL && BIO_reset(bio) == 1 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
        k = X509_get_pubkey(x);
    BIO_free(bio);
    X509_free(x);
    x = NULL;
    const unsigned char *p = b->data;
    if (k == NULL && (x = d2i_X509(NULL, &p, (long)b->len)) != NULL)
        k = X509_get_pubkey(x);
    X509_free(x);
    p = b->data;
    if (k == NULL)
        k = d2i_PUBKEY_ex(NULL, &p, (long)b->len, hsm_libctx(), NULL);
    return k;
}

static void report(const hsm_attestation *at, int pubkey_given, int pubkey_ok, int trusted_all, int json,
                   const char *bundle_path)
{
    if (json) {
        tool_json j;
        tool_json_init(&j, stdout);
        tool_json_begin_object(&j);
        tool_json_key(&j, "attested");
        tool_json_bool(&j, trusted_all);
        tool_json_chain(&j, &at->chain);
        tool_json_key(&j, "request_verified");
        tool_json_bool(&j, at->request_ok);
        tool_json_key(&j, "key_chr");
        tool_json_string(&j, at->key_chr);
        tool_json_key(&j, "key_type");
        tool_json_string(&j, at->key_type[0] ? at->key_type : NULL);
        tool_json_key(&j, "spki_matches");
        tool_json_bool(&j, at->spki_ok);
        tool_json_key(&j, "pubkey_matches");
        if (pubkey_given)
            tool_json_bool(&j, pubkey_ok);
        else
            tool_json_null(&j);
        tool_json_key(&j, "failed");
        tool_json_string(&j, at->why[0] && !trusted_all ? at->why : NULL);
        tool_json_key(&j, "bundle");
        tool_json_string(&j, bundle_path);
        tool_json_key(&j, "attests");
        tool_json_string(&j, ATTESTED);
        tool_json_key(&j, "does_not_attest");
        tool_json_string(&j, NOT_ATTESTED);
        tool_json_end_object(&j);
        tool_json_finish(&j);
        return;
    }
    tool_print_chain(&at->chain);
    printf("%-15s %s (%s)\n", "Key request:", at->key_chr, at->key_type[0] ? at->key_type : "?");
    printf("%-15s %s\n", "Signatures:", at->request_ok ? "device signature and key signature verify"
                                                       : "DO NOT VERIFY");
    if (pubkey_given)
        printf("%-15s %s\n", "--pubkey:", pubkey_ok ? "equals the attested key" : "DIFFERS from the attested key");
    if (trusted_all) {
        printf("%-15s %s%s.\n", "ATTESTED:", at->chain.test_root ? "(TEST DEVICE) " : "", ATTESTED);
        printf("%-15s %s.\n", "Not attested:", NOT_ATTESTED);
    } else {
        printf("%-15s %s.\n", "NOT ATTESTED:", at->why[0] ? at->why : "see above");
    }
}

static int run_verify(tool_ctx *ctx, tool_args *a, const char *path, unsigned flags)
{
    const char *pubpath = tool_arg(a, "pubkey");
    hsm_bytes file = HSM_BYTES_INIT, der = HSM_BYTES_INIT, pb = HSM_BYTES_INIT;
    hsm_attest_parts parts;
    hsm_attestation at;
    EVP_PKEY *given = NULL;
    int pubkey_ok = 0;
    memset(&at, 0, sizeof(at));
    int rc = tool_read_public(ctx, path, "an attestation bundle", &file);
    if (rc == TOOL_OK && hsm_attest_bundle_decode(file.data, file.len, &der, &parts) != HSM_OK)
        rc = tool_error(ctx, TOOL_FAIL, "%s is not an attestation bundle (expected '-----BEGIN %s-----', "
                        "as schsm-tool attest --out writes)", path, HSM_ATTEST_PEM_NAME);
    if (rc == TOOL_OK && pubpath != NULL) {
        rc = tool_read_public(ctx, pubpath, "a public key or certificate", &pb);
        if (rc == TOOL_OK && (given = load_pubkey(&pb)) == NULL)
            rc = tool_error(ctx, TOOL_FAIL, "%s holds no public key or X.509 certificate (PEM or DER)", pubpath);
    }
    if (rc == TOOL_OK) {
        int vrc = hsm_attest_verify(&parts, flags, &at);
        if (given != NULL)
            pubkey_ok = at.key != NULL && hsm_same_public_key(given, at.key);
        if (given != NULL && !pubkey_ok && vrc == HSM_OK)
            snprintf(at.why, sizeof(at.why), "the key in %s is not the attested key", pubpath);
        int ok = vrc == HSM_OK && (given == NULL || pubkey_ok);
        report(&at, given != NULL, pubkey_ok, ok, tool_flag(a, "json"), path);
        rc = ok ? TOOL_OK : TOOL_FAIL;
    }
    EVP_PKEY_free(given);
    hsm_attestation_free(&at);
    hsm_bytes_free(&file);
    hsm_bytes_free(&der);
    hsm_bytes_free(&pb);
    return rc;
}

static int run_attest(tool_ctx *ctx, tool_args *a)
{
    unsigned flags = tool_flag(a, "trust-test-root") ? HSM_TRUST_TEST_ROOT : 0;
    const char *verify = tool_arg(a, "verify");
    const char *out = tool_arg(a, "out");
    if (verify != NULL) {
        if (tool_arg(a, "label") || tool_arg(a, "id") || out)
            return tool_usage_error(ctx, "--verify FILE checks a bundle without a card; it takes no --label/--id/--out");
        return run_verify(ctx, a, verify, flags);
    }
    if (tool_arg(a, "pubkey"))
        return tool_usage_error(ctx, "--pubkey goes with --verify FILE");
    hsm_key k;
    hsm_bytes req = HSM_BYTES_INIT, certs = HSM_BYTES_INIT, pem = HSM_BYTES_INIT;
    hsm_attestation at;
    hsm_attest_parts parts;
    uint16_t where = 0;
    memset(&at, 0, sizeof(at));
    int rc = tool_find_key(ctx, a, &k);
    if (rc != TOOL_OK)
        return rc;
    int frc = hsm_attest_find_request(ctx->tok, &k, &req, &where, NULL);
    if (frc == HSM_E_NOT_FOUND) {
        rc = tool_error(ctx, TOOL_FAIL, "key '%s' (key ref %u) has no CV request on the card any more: a "
                        "certificate was stored over it (EF CE%02X) by a tool that does not keep it, or the key was "
                        "imported. It cannot be attested from the card; if you saved its bundle or request "
                        "earlier, check that file with 'schsm-tool attest --verify FILE'", k.label, k.key_ref,
                        k.key_ref);
        goto done;
    }
    if (frc != HSM_OK) {
        rc = tool_token_fail(ctx, "cannot read the key's CV request");
        goto done;
    }
    if (hsm_token_read_file(ctx->tok, HSM_FID_DEVCERT, &certs) != HSM_OK) {
        rc = tool_token_fail(ctx, "cannot read the device certificates (EF 2F02)");
        goto done;
    }
    parts = hsm_attest_parts_of(&req, &certs);
    int vrc = hsm_attest_verify(&parts, flags, &at);
    if (!at.request_ok) {
        rc = tool_error(ctx, TOOL_FAIL, "the CV request of key '%s' (EF %04X) does not verify with this card's "
                        "device key: %s. A key moved here with unwrap-key keeps the request of the card that "
                        "generated it; attest it with that card's chain", k.label, where, at.why);
        goto done;
    }
    if (out != NULL) {
        if (hsm_attest_bundle_encode(req.data, req.len, certs.data, certs.len, at.key, &pem) != HSM_OK)
            rc = tool_error(ctx, TOOL_FAIL, "cannot encode the bundle");
        else
            rc = tool_write_public(ctx, out, pem.data, pem.len);
        if (rc != TOOL_OK)
            goto done;
    }
    if (!tool_flag(a, "json") && out != NULL && strcmp(out, "-") == 0)
        ; /* the bundle went to stdout: no report mixed into it */
    else
        report(&at, 0, 0, vrc == HSM_OK, tool_flag(a, "json"), out);
    if (vrc != HSM_OK)
        rc = TOOL_FAIL;
done:
    hsm_attestation_free(&at);
    hsm_bytes_free(&req);
    hsm_bytes_free(&certs);
    hsm_bytes_free(&pem);
    return rc;
}

static const tool_opt attest_opts[] = {
    TOOL_OPTS_KEY_SELECT,
    { "out", "FILE", "write the attestation bundle to FILE ('-' = standard output)" },
    { "verify", "FILE", "check a bundle without a card" },
    { "pubkey", "FILE", "with --verify: the key must equal this public key or X.509 certificate's key (PEM/DER)" },
    { "trust-test-root", NULL, "accept the virtual card's TEST root (reported as TEST DEVICE)" },
    { "json", NULL, "print a JSON object (attested, chain, request_verified, key_chr, key_type, spki_matches, "
                    "pubkey_matches, failed, bundle, attests, does_not_attest)" },
    { NULL, NULL, NULL },
};

const tool_cmd tool_cmd_attest = {
    "attest", "--label L | --id HEX [--out FILE] [--json] | --verify FILE [--pubkey PEM|CERT] [--json]",
    "attest that a key was generated on this card, or check an attestation bundle",
    "No PIN is needed. The request is read from EF CEnn, or from CBnn where schsm keeps it when a\n"
    "certificate was stored over it. The bundle is PEM '-----BEGIN " HSM_ATTEST_PEM_NAME "-----' around\n"
    "DER SEQUENCE { INTEGER 1, authenticated request (67), device CVC, DICA CVC, SubjectPublicKeyInfo }.\n"
    "An attestation proves origin and possession, NOT usage flags or exportability.\n"
    "Exit 0 only when the chain is trusted and both signatures verify.",
    attest_opts, run_attest,
};
