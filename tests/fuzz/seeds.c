/* SPDX-License-Identifier: Apache-2.0 */
/* Writes the generated seed inputs of the fuzz targets into DIR/<target>/ (the hand-written ones,
 * and the regressions the fuzzers found, are files in tests/fuzz/corpus/ already). Built with the
 * fuzz targets; run by hand when a format changes:
 *   build-fuzz/fuzz/fuzz-seeds tests/fuzz/corpus
 * Every seed is a valid input, made by the same library code that writes the real thing. */
#include "fuzz_sim.h"

#include <errno.h>
#include <sys/stat.h>

#include "encoder/keyref.h"
#include "hsm/dkek.h"
#include "hsm/pkcs15.h"

static const char *dir;

static void put(const char *target, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        abort();
    snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

static void put_text(const char *target, const char *name, const char *text, size_t len)
{
    put(target, name, text, len ? len : strlen(text));
}

/* fuzz_take framing: 2-byte length, then the part. */
static void frame(hsm_bytes *b, const void *part, size_t len)
{
    hsm_bytes_put_u8(b, (uint8_t)(len >> 8));
    hsm_bytes_put_u8(b, (uint8_t)len);
    hsm_bytes_put(b, part, len);
}

static void frame_apdu(hsm_bytes *b, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data, size_t lc,
                       size_t le)
{
    hsm_apdu a = { cla, ins, p1, p2, (const uint8_t *)data, lc, le };
    hsm_bytes cmd = HSM_BYTES_INIT;
    if (hsm_apdu_encode(&a, HSM_APDU_AUTO, &cmd) != HSM_OK)
        abort();
    frame(b, cmd.data, cmd.len);
    hsm_bytes_free(&cmd);
}

/* Runs one APDU on c and returns its data (SW 9000, or 6282: a file shorter than Le). */
static void card_data(sim_card *c, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data, size_t lc,
                      size_t le, hsm_bytes *out)
{
    hsm_apdu a = { cla, ins, p1, p2, (const uint8_t *)data, lc, le };
    hsm_bytes cmd = HSM_BYTES_INIT, r = HSM_BYTES_INIT;
    if (hsm_apdu_encode(&a, HSM_APDU_EXTENDED, &cmd) != HSM_OK || sim_card_process(c, cmd.data, cmd.len, &r) < 0
        || r.len < 2 || (r.data[r.len - 2] != 0x90 && !(r.data[r.len - 2] == 0x62 && r.data[r.len - 1] == 0x82))) {
        fprintf(stderr, "seed APDU %02X %02X failed (%02X%02X)\n", cla, ins, r.len >= 2 ? r.data[r.len - 2] : 0,
                r.len >= 2 ? r.data[r.len - 1] : 0);
        exit(1);
    }
    hsm_bytes_clear(out);
    hsm_bytes_put(out, r.data, r.len - 2);
    hsm_bytes_free(&cmd);
    hsm_bytes_free(&r);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    dir = argv[1];
    fuzz_sim_setup();
    sim_card *c = NULL;
    if (sim_card_load(fuzz_sim_state.data, fuzz_sim_state.len, &c) != HSM_OK)
        abort();
    hsm_bytes devcerts = HSM_BYTES_INIT, req = HSM_BYTES_INIT, prkd = HSM_BYTES_INIT, fcp = HSM_BYTES_INIT;
    hsm_bytes b = HSM_BYTES_INIT, blob = HSM_BYTES_INIT;
    static const uint8_t off0[] = { 0x54, 0x02, 0x00, 0x00 };
    card_data(c, 0x00, 0xA4, 0x04, 0x04, FUZZ_AID, sizeof(FUZZ_AID), 256, &fcp);
    card_data(c, 0x00, 0xB1, 0x2F, 0x02, off0, sizeof(off0), 65536, &devcerts);
    card_data(c, 0x00, 0xB1, 0xCE, 0x01, off0, sizeof(off0), 65536, &req);

    /* BER-TLV: the FCP of SELECT, an authenticated request, the device certificates */
    put("tlv", "fcp", fcp.data, fcp.len);
    put("tlv", "request", req.data, req.len);
    put("tlv", "devcerts", devcerts.data, devcerts.len);

    /* CVC: a request alone; EF 2F02 framed, then a request to attest against it */
    put("cvc", "request", req.data, req.len);
    frame(&b, devcerts.data, devcerts.len);
    hsm_bytes_put(&b, req.data, req.len);
    put("cvc", "attestation", b.data, b.len);

    /* PKCS#15 */
    hsm_prkd p = { .type = HSM_KEY_EC, .label = "k1", .id = { 1, 2, 3 }, .id_len = 3, .bits = 256 };
    hsm_prkd_encode(&p, &prkd);
    put("pkcs15", "prkd-ec", prkd.data, prkd.len);
    hsm_prkd r = { .type = HSM_KEY_RSA, .label = "an RSA key", .id = { 9 }, .id_len = 1, .bits = 2048 };
    hsm_bytes_clear(&b);
    hsm_prkd_encode(&r, &b);
    put("pkcs15", "prkd-rsa", b.data, b.len);
    hsm_prkd s = { .type = HSM_KEY_AES, .label = "aes", .id = { 7 }, .id_len = 1, .bits = 256 };
    hsm_bytes_clear(&b);
    hsm_prkd_encode(&s, &b);
    put("pkcs15", "skd-aes", b.data, b.len);
    hsm_cd cd = { .label = "cert", .id = { 1, 2, 3 }, .id_len = 3, .path_fid = 0xCA01 };
    hsm_bytes_clear(&b);
    hsm_cd_encode(&cd, &b);
    put("pkcs15", "cd", b.data, b.len);

    /* Wrapped key: a real WRAP KEY blob of the EC key (DKEK share of zeros imported first) */
    static const uint8_t zero_share[32];
    card_data(c, 0x00, 0x20, 0x00, 0x81, FUZZ_PIN, sizeof(FUZZ_PIN), 0, &b);   /* SELECT logged us out */
    card_data(c, 0x80, 0x52, 0x00, 0x00, zero_share, sizeof(zero_share), 256, &b);
    card_data(c, 0x80, 0x72, 0x01, 0x92, NULL, 0, 65536, &blob);
    put("wrapped", "blob", blob.data, blob.len);
    hsm_bytes_clear(&b);
    hsm_wrapped_file_build(blob.data, blob.len, prkd.data, prkd.len, req.data, req.len, &b);
    put("wrapped", "file", b.data, b.len);
    hsm_bytes_clear(&b);
    hsm_wrapped_file_build(blob.data, blob.len, NULL, 0, NULL, 0, &b);
    put("wrapped", "file-blob-only", b.data, b.len);

    /* DKEK share file (1 KDF iteration, as the target decrypts) and password shares */
    uint8_t file[1 + HSM_DKEK_FILE_LEN] = { 0 };
    static const uint8_t share[32] = { 1, 2, 3, 4, 5 }, salt[8] = { 8, 7, 6, 5, 4, 3, 2, 1 };
    hsm_dkek_share_encrypt(share, (const uint8_t *)"fuzz-password", 13, salt, 1, file + 1);
    put("dkek_share", "share-file", file, sizeof(file));
    hsm_pwd_share ps[3];
    static const uint8_t secret[8] = { 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0x01 };
    uint8_t rnd[32] = { 3, 1, 4, 1, 5, 9, 2, 6 };
    uint64_t prime = 0xFFFFFFFFFFFFFFC5ull;   /* the largest 64-bit prime */
    hsm_pwd_split(secret, prime, 2, 3, rnd, 16, ps);
    char text[1024] = "\x01", one[256];
    for (int i = 0; i < 3; i++) {
        hsm_pwd_share_format(&ps[i], one, sizeof(one));
        strncat(text, one, sizeof(text) - strlen(text) - 1);
    }
    put_text("dkek_share", "pwd-shares", text, 0);

    /* URIs (pin-value=@@ and @% become the target's marker PIN) */
    put_text("uri", "private", "schsm:object=k1;type=private?pin-value=@@", 0);
    put_text("uri", "all", "schsm:reader=sim:/tmp/x.state;token=SmartCard-HSM;serial=DENK0100001;object=a%20b;"
                           "id=%01%02%ff;type=cert?pin-source=env:PIN", 0);
    put_text("uri", "pct-pin", "schsm:id=%A1?pin-value=@%", 0);
    put_text("uri", "file-pin", "schsm:object=k?pin-source=file:/dev/null", 0);

    /* Key-reference file bodies */
    hsm_bytes_clear(&b);
    schsm_keyref_encode("EC", "schsm:serial=DENK0100001;object=k1;id=%01;type=private", &b);
    put("keyref", "ec", b.data, b.len);
    hsm_bytes_clear(&b);
    schsm_keyref_encode("RSA", "schsm:object=rsa;type=private", &b);
    put("keyref", "rsa", b.data, b.len);

    /* schsm-tool command lines (NUL between arguments) */
    static const char keygen[] = "keygen\0--type\0ec:prime256v1\0--label\0k\0--id\0A1B2\0--algorithms\0"
                                 "ecdsa-sha256,0x70\0--key-domain\0001";
    put_text("tool_opts", "keygen", keygen, sizeof(keygen) - 1);
    static const char rsa[] = "--reader\0sim:x\0keygen\0--type\0rsa:2048\0--label=r";
    put_text("tool_opts", "keygen-rsa", rsa, sizeof(rsa) - 1);
    static const char init[] = "init\0--so-pin\0003537363231383830\0--pin-retries\0003\0--dkek-shares\0001\0--label\0T";
    put_text("tool_opts", "init", init, sizeof(init) - 1);
    static const char del[] = "--pin-source\0env:P\0delete\0--label\0k\0--id\0000102";
    put_text("tool_opts", "delete", del, sizeof(del) - 1);
    static const char help[] = "help\0unwrap-key";
    put_text("tool_opts", "help", help, sizeof(help) - 1);
    static const char unwrap[] = "unwrap-key\0--in\0f.bin\0--key-domain\0002\0--help";
    put_text("tool_opts", "unwrap-help", unwrap, sizeof(unwrap) - 1);

    /* Virtual card APDU sequences */
    hsm_bytes_clear(&b);
    static const uint8_t h[32] = { 0x42 };
    frame_apdu(&b, 0x00, 0xA4, 0x04, 0x0C, FUZZ_AID, sizeof(FUZZ_AID), 0);
    frame_apdu(&b, 0x00, 0x20, 0x00, 0x81, NULL, 0, 0);
    frame_apdu(&b, 0x00, 0x20, 0x00, 0x81, FUZZ_PIN, sizeof(FUZZ_PIN), 0);
    frame_apdu(&b, 0x80, 0x68, 0x01, 0x70, h, sizeof(h), 256);
    frame_apdu(&b, 0x80, 0x58, 0x00, 0x00, NULL, 0, 256);
    put("sim_apdu", "sign", b.data, b.len);
    hsm_bytes_clear(&b);
    frame_apdu(&b, 0x00, 0xA4, 0x04, 0x0C, FUZZ_AID, sizeof(FUZZ_AID), 0);
    frame_apdu(&b, 0x00, 0x20, 0x00, 0x81, FUZZ_PIN, sizeof(FUZZ_PIN), 0);
    frame_apdu(&b, 0x80, 0x52, 0x00, 0x00, zero_share, sizeof(zero_share), 256);
    frame_apdu(&b, 0x80, 0x72, 0x01, 0x92, NULL, 0, 256);
    frame_apdu(&b, 0x00, 0xB1, 0xC4, 0x01, off0, sizeof(off0), 256);
    frame_apdu(&b, 0x00, 0xE4, 0x02, 0x00, "\xCC\x03", 2, 0);
    put("sim_apdu", "dkek-wrap", b.data, b.len);
    hsm_bytes_clear(&b);
    hsm_gakp_params gp = { NID_brainpoolP256r1, 0, "UTCA00001", "UTDUMMY00001", NULL, NULL, 0, -1, 0 };
    hsm_bytes gakp = HSM_BYTES_INIT;
    hsm_cvc_build_gakp(&gp, &gakp);
    frame_apdu(&b, 0x00, 0x46, 0x04, 0x00, gakp.data, gakp.len, 256);
    frame_apdu(&b, 0x80, 0x62, 0x01, 0x80, h, sizeof(h), 256);
    frame_apdu(&b, 0x80, 0x78, 0x03, 0x10, h, sizeof(h), 256);
    frame_apdu(&b, 0x00, 0x84, 0x00, 0x00, NULL, 0, 16);
    put("sim_apdu", "gakp-decipher-cipher", b.data, b.len);
    hsm_bytes_free(&gakp);

    /* Virtual card state: whole file (odd first byte) and body only (even) */
    hsm_bytes_clear(&b);
    hsm_bytes_put_u8(&b, 1);
    hsm_bytes_put(&b, fuzz_sim_state.data, fuzz_sim_state.len);
    put("sim_state", "file", b.data, b.len);
    hsm_bytes_clear(&b);
    hsm_bytes_put_u8(&b, 0);
    hsm_bytes_put(&b, fuzz_sim_state.data + 9, fuzz_sim_state.len - 9 - 32);
    put("sim_state", "body", b.data, b.len);

    /* Regressions (issue 9, item 6): an EC key whose size is no curve's (the loader refuses it; it
     * used to load, and SIGN leaked the signature), and an empty EF C401 (schsm-sim --dump) */
    sim_card *odd = NULL;
    if (sim_card_load(fuzz_sim_state.data, fuzz_sim_state.len, &odd) != HSM_OK)
        abort();
    sim_key_find(odd, 1)->bits = 1000;
    hsm_bytes_clear(&b);
    hsm_bytes st = HSM_BYTES_INIT;
    sim_card_save(odd, &st);
    hsm_bytes_put_u8(&b, 1);
    hsm_bytes_put(&b, st.data, st.len);
    put("sim_state", "regress-ec-key-bits-1000", b.data, b.len);
    sim_key_find(odd, 1)->bits = 256;
    hsm_bytes_clear(&sim_file_put(odd, 0xC401)->data);
    sim_card_save(odd, &st);
    hsm_bytes_clear(&b);
    hsm_bytes_put_u8(&b, 1);
    hsm_bytes_put(&b, st.data, st.len);
    put("sim_state", "regress-empty-c401", b.data, b.len);
    hsm_bytes_free(&st);
    sim_card_free(odd);

    /* Host layer: operations only (no faults), then the same with faults */
    static const uint8_t host_sign[] = { 0x02, 0x07, 0x02, 0x03 };                  /* set PIN, sign, sign checked */
    put("host", "sign", host_sign, sizeof(host_sign));
    static const uint8_t host_mgmt[] = { 0x04, 0x06, 0x00, 0x0C, 0x0D, 0x01 };      /* login, list, gen, delete, certs */
    put("host", "manage", host_mgmt, sizeof(host_mgmt));
    static const uint8_t host_faults[] = { 0x03, 0x08, 0x02, 0x26, 0x00, 0x00, 0xC0, 0x69, 0x82, 0xE0, 0x00,
                                           0xDC, 0xA0, 0x05, 0xB0, 0x01, 0xD8, 0x00, 0x00 };
    put("host", "faults", host_faults, sizeof(host_faults));

    hsm_bytes_free(&devcerts);
    hsm_bytes_free(&req);
    hsm_bytes_free(&prkd);
    hsm_bytes_free(&fcp);
    hsm_bytes_free(&b);
    hsm_bytes_free(&blob);
    sim_card_free(c);
    hsm_bytes_free(&fuzz_sim_state);
    return 0;
}
