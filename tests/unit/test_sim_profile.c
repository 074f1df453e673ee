/* SPDX-License-Identifier: Apache-2.0 */
/* The virtual card's two profiles (issue 8): "variant" reproduces behaviours 1-7 of another
 * SmartCard-HSM implementation, "cardcontact" keeps CardContact's. Each behaviour is checked in
 * raw APDUs on both profiles, then the host's reaction to it through hsm_card / hsm_token on a
 * variant card reached by the real "sim:" reader. (Behaviour 6, wrapped key encodings, is in
 * test_sim_dkek.c with the other DKEK tests.) */
#include <stdlib.h>

#include <openssl/obj_mac.h>

#include "hsm/card.h"
#include "hsm/cvc.h"
#include "hsm/pkcs15.h"
#include "hsm/token.h"
#include "helper_token.h"
#include "sim_test.h"

static sim_card *card(int profile)
{
    sim_card *c = NULL;
    ck_assert_int_eq(sim_card_new_profile(profile, &c), HSM_OK);
    ck_assert_int_eq(sim_card_profile(c), profile);
    /* P2 04 (FCP): the one every card accepts */
    ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x04, 0x04, T_AID, sizeof(T_AID), 256, NULL), 0x9000);
    return c;
}

static sim_card *ready(int profile, int shares)
{
    sim_card *c = card(profile);
    ck_assert_uint_eq(t_init(c, 0x0001, 3, shares, -1), 0x9000);
    t_login(c);
    return c;
}

START_TEST(profile_names_and_state_file)
{
    ck_assert_int_eq(sim_profile_by_name(NULL), SIM_PROFILE_CARDCONTACT);
    ck_assert_int_eq(sim_profile_by_name("cardcontact"), 0);
    ck_assert_int_eq(sim_profile_by_name("variant"), 1);
    ck_assert_int_eq(sim_profile_by_name("pico"), -1);
    ck_assert_str_eq(sim_profile_name(1), "variant");
    ck_assert_ptr_null(sim_profile_name(7));
    /* the profile survives save/load (state tag 8E); cardcontact files carry no tag */
    sim_card *c = card(1), *d = NULL;
    hsm_bytes b = HSM_BYTES_INIT;
    ck_assert_int_eq(sim_card_save(c, &b), HSM_OK);
    ck_assert_int_eq(sim_card_load(b.data, b.len, &d), HSM_OK);
    ck_assert_int_eq(sim_card_profile(d), 1);
    hsm_bytes dump = HSM_BYTES_INIT;
    ck_assert_int_eq(sim_card_dump(d, &dump), HSM_OK);
    hsm_bytes_put_u8(&dump, 0);
    ck_assert_ptr_nonnull(strstr((const char *)dump.data, "profile:         variant"));
    sim_card_free(d);
    sim_card_free(c);
    c = card(0);
    ck_assert_int_eq(sim_card_save(c, &b), HSM_OK);
    ck_assert_int_eq(sim_card_load(b.data, b.len, &d), HSM_OK);
    ck_assert_int_eq(sim_card_profile(d), 0);
    sim_card_free(d);
    sim_card_free(c);
    hsm_bytes_free(&b);
    hsm_bytes_free(&dump);
}
END_TEST

/* 1: ENUMERATE lists only CC, C4, C8 and C9 on the variant; the rest is there all the same. */
START_TEST(behaviour1_enumerate)
{
    for (int profile = 0; profile < 2; profile++) {
        sim_card *c = ready(profile, -1);
        hsm_bytes r = HSM_BYTES_INIT;
        static const uint8_t body[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
        static const uint16_t fids[] = { 0xC401, 0xC801, 0xC901, 0xCE01, 0xCA01, 0xCB01, 0xCF01 };
        for (size_t i = 0; i < sizeof(fids) / sizeof(fids[0]); i++)
            ck_assert_uint_eq(t_write(c, fids[i], 0, body, sizeof(body)), 0x9000);
        ck_assert_uint_eq(tx_ex(c, 0x80, 0x58, 0, 0, NULL, 0, 65536, 1, &r), 0x9000);
        ck_assert(hsm_fids_has(&r, 0xCC00));
        ck_assert(hsm_fids_has(&r, 0xC401) && hsm_fids_has(&r, 0xC801) && hsm_fids_has(&r, 0xC901));
        int others = hsm_fids_has(&r, 0xCE01) + hsm_fids_has(&r, 0xCA01) + hsm_fids_has(&r, 0xCB01) + hsm_fids_has(&r, 0xCF01)
                     + hsm_fids_has(&r, 0x2F02);
        ck_assert_int_eq(others, profile == SIM_PROFILE_VARIANT ? 0 : 5);
        /* not listed, yet readable by FID */
        ck_assert_uint_eq(t_read(c, 0xCE01, 0, 256, &r), profile ? 0x9000 : 0x6282);
        ck_assert_uint_eq(r.len, sizeof(body));
        ck_assert_uint_eq(t_read(c, 0xCE02, 0, 256, &r), 0x6A82);
        hsm_bytes_free(&r);
        sim_card_free(c);
    }
}
END_TEST

/* 2: READ BINARY reaching the end answers 9000 on the variant (6282 on CardContact's); at the end
 * offset 9000 with no data. */
START_TEST(behaviour2_read_to_the_end)
{
    uint8_t data[300];
    memset(data, 0x5A, sizeof(data));
    for (int profile = 0; profile < 2; profile++) {
        sim_card *c = ready(profile, -1);
        hsm_bytes r = HSM_BYTES_INIT;
        ck_assert_uint_eq(t_write(c, 0xCF07, 0, data, sizeof(data)), 0x9000);
        ck_assert_uint_eq(t_read(c, 0xCF07, 0, 1000, &r), profile ? 0x9000 : 0x6282);
        ck_assert_uint_eq(r.len, sizeof(data));
        ck_assert_uint_eq(t_read(c, 0xCF07, 100, 200, &r), 0x9000);   /* exactly to the end: Le met */
        ck_assert_uint_eq(r.len, 200);
        ck_assert_uint_eq(t_read(c, 0xCF07, 300, 16, &r), profile ? 0x9000 : 0x6282);
        ck_assert_uint_eq(r.len, 0);
        ck_assert_uint_eq(t_read(c, 0xCF07, 301, 16, &r), 0x6B00);
        hsm_bytes_free(&r);
        sim_card_free(c);
    }
}
END_TEST

/* 3: EF 2F02 of the variant is an authenticated request around a self-signed device certificate,
 * whose CHR gives the serial. */
START_TEST(behaviour3_device_certificate)
{
    for (int profile = 0; profile < 2; profile++) {
        sim_card *c = card(profile);
        hsm_bytes r = HSM_BYTES_INIT;
        hsm_cvc dev, dica;
        char chr[32];
        ck_assert_uint_eq(t_read(c, 0x2F02, 0, 1024, &r), profile ? 0x9000 : 0x6282);
        ck_assert_int_eq(hsm_cvc_device_chr(r.data, r.len, chr, sizeof(chr)), HSM_OK);
        if (profile == SIM_PROFILE_VARIANT) {
            ck_assert_uint_eq(r.data[0], 0x67);
            ck_assert_int_ne(hsm_cvc_split_devcerts(r.data, r.len, &dev, &dica), HSM_OK);
            ck_assert_int_eq(hsm_cvc_parse(r.data, r.len, &dev, NULL), HSM_OK);
            ck_assert(dev.authenticated);
            ck_assert_uint_eq(strlen(chr), 15);
            ck_assert_int_eq(strncmp(chr, "ES", 2), 0);
            ck_assert_str_eq(chr + 10, "00001");
            /* self-signed inside, and the outer signature by the same device key */
            EVP_PKEY *pub = NULL;
            ck_assert_int_eq(hsm_cvc_public_key(&dev, 0, &pub), HSM_OK);
            ck_assert_int_eq(hsm_cvc_verify(&dev, pub), HSM_OK);
            ck_assert_int_eq(hsm_cvc_verify_outer(&dev, pub), HSM_OK);
            EVP_PKEY_free(pub);
        } else {
            ck_assert_int_eq(hsm_cvc_split_devcerts(r.data, r.len, &dev, &dica), HSM_OK);
            ck_assert_int_eq(strncmp(chr, "DESM", 4), 0);
        }
        ck_assert_int_eq(hsm_cvc_device_chr((const uint8_t *)"\x01\x02", 2, chr, sizeof(chr)), HSM_E_PARSE);
        ck_assert_str_eq(chr, "");
        hsm_bytes_free(&r);
        sim_card_free(c);
    }
}
END_TEST

/* 4: the variant shows the KCV only after VERIFY in the card session. */
START_TEST(behaviour4_kcv_after_pin)
{
    uint8_t share[32], want[32];
    for (int i = 0; i < 32; i++)
        share[i] = (uint8_t)(i * 7 + 1);
    EVP_Digest(share, 32, want, NULL, EVP_sha256(), NULL);
    static const uint8_t zero[8];
    for (int profile = 0; profile < 2; profile++) {
        sim_card *c = ready(profile, 1);
        hsm_bytes r = HSM_BYTES_INIT;
        ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x00, 0x00, share, 32, 256, &r), 0x9000);
        ck_assert_mem_eq(r.data + 2, want, 8);   /* logged in: shown */
        ck_assert_uint_eq(tx(c, 0x00, 0xA4, 0x04, 0x04, T_AID, sizeof(T_AID), 256, NULL), 0x9000);   /* logout */
        ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x00, 0x00, NULL, 0, 256, &r), 0x9000);
        ck_assert_uint_eq(r.len, 10);
        ck_assert_uint_eq(r.data[1], 0);   /* complete */
        ck_assert_mem_eq(r.data + 2, profile ? zero : want, 8);
        t_login(c);
        ck_assert_uint_eq(tx(c, 0x80, 0x52, 0x00, 0x00, NULL, 0, 256, &r), 0x9000);
        ck_assert_mem_eq(r.data + 2, want, 8);
        hsm_bytes_free(&r);
        sim_card_free(c);
    }
}
END_TEST

/* 5: the variant lists its device key as CC00 with a description C400 whose ID is 20 zero bytes. */
START_TEST(behaviour5_device_key_description)
{
    sim_card *c = card(SIM_PROFILE_VARIANT);
    hsm_bytes r = HSM_BYTES_INIT;
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x58, 0, 0, NULL, 0, 65536, 1, &r), 0x9000);
    ck_assert(hsm_fids_has(&r, 0xCC00) && hsm_fids_has(&r, 0xC400));
    ck_assert_uint_eq(t_read(c, 0xC400, 0, 256, &r), 0x9000);
    hsm_prkd d;
    static const uint8_t zero[20];
    ck_assert_int_eq(hsm_prkd_decode(r.data, r.len, &d), HSM_OK);
    ck_assert_uint_eq(d.id_len, 20);
    ck_assert_mem_eq(d.id, zero, 20);
    ck_assert_int_eq(d.type, HSM_KEY_EC);
    sim_card_free(c);
    c = card(SIM_PROFILE_CARDCONTACT);
    ck_assert_uint_eq(t_read(c, 0xC400, 0, 256, &r), 0x6A82);
    hsm_bytes_free(&r);
    sim_card_free(c);
}
END_TEST

/* 7: SELECT of the applet by AID: the variant takes P2 00 and 04 only. */
START_TEST(behaviour7_select_p2)
{
    sim_card *v = card(SIM_PROFILE_VARIANT), *cc = card(SIM_PROFILE_CARDCONTACT);
    ck_assert_uint_eq(tx(v, 0x00, 0xA4, 0x04, 0x0C, T_AID, sizeof(T_AID), 0, NULL), 0x6A86);
    ck_assert_uint_eq(tx(v, 0x00, 0xA4, 0x04, 0x00, T_AID, sizeof(T_AID), 256, NULL), 0x9000);
    ck_assert_uint_eq(tx(v, 0x00, 0xA4, 0x04, 0x04, T_AID, sizeof(T_AID), 256, NULL), 0x9000);
    ck_assert_uint_eq(tx(cc, 0x00, 0xA4, 0x04, 0x0C, T_AID, sizeof(T_AID), 0, NULL), 0x9000);
    /* files are still selected with 0C on both */
    ck_assert_uint_eq(tx(v, 0x00, 0xA4, 0x02, 0x0C, "\x2F\x02", 2, 0, NULL), 0x9000);
    sim_card_free(v);
    sim_card_free(cc);
}
END_TEST

/* ---- the host on a variant card (sim: reader, SCHSM_SIM_PROFILE=variant) ---- */

static void variant_card_with_two_keys(const char *name)
{
    setenv("SCHSM_SIM_PROFILE", "variant", 1);
    helper_token_card(name);
    helper_trace_on(name);
}

/* Behaviours 1, 3 and 5 seen by the host: the device key is no user key; CEnn is read by FID
 * although unlisted; the serial comes from the request's CHR. Cold sign within 7 APDUs. */
START_TEST(host_on_variant_keys_and_serial)
{
    variant_card_with_two_keys("host-variant");
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key *keys = NULL, k;
    size_t n = 0;
    helper_trace_reset();
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &k), HSM_OK);
    static const uint8_t hash[32] = { 1, 2, 3 };
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, hash, 32, &sig), HSM_OK);
    int cold = helper_trace_count("apdu>");
    ck_assert_msg(cold <= 7, "cold sign on the variant took %d APDUs", cold);
    ck_assert_int_eq(hsm_token_list_keys(t, &keys, &n), HSM_OK);
    ck_assert_uint_eq(n, 2);   /* CC00/C400 are the device's, not a user key */
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_ne(keys[i].key_ref, 0);
    helper_trace_reset();
    EVP_PKEY *pub = NULL;
    ck_assert_int_eq(hsm_token_public_key(t, &k, &pub), HSM_OK);
    ck_assert_int_eq(helper_trace_count("apdu> 00 B1 CE 01"), 1);   /* unlisted, read once by FID */
    ck_assert(t_ecdsa_ok(pub, &sig, hash));
    EVP_PKEY_free(pub);
    /* a CA certificate CA01 (unlisted) next to its description C801 (listed); C802 alone */
    hsm_card *c = hsm_token_lock(t);
    ck_assert_ptr_nonnull(c);
    static const uint8_t stub[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
    ck_assert_int_eq(hsm_card_verify(c, HSM_PIN_USER, (const uint8_t *)HELPER_PIN, 6), HSM_OK);
    ck_assert_int_eq(hsm_card_write_file(c, 0xCA01, stub, sizeof(stub)), HSM_OK);
    ck_assert_int_eq(hsm_card_write_file(c, 0xC801, stub, sizeof(stub)), HSM_OK);
    ck_assert_int_eq(hsm_card_write_file(c, 0xC802, stub, sizeof(stub)), HSM_OK);
    hsm_token_unlock(t, 1);
    hsm_cert_ref *certs = NULL;
    size_t nc = 0;
    ck_assert_int_eq(hsm_token_list_certs(t, &certs, &nc), HSM_OK);
    int ca01 = 0;
    for (size_t i = 0; i < nc; i++) {
        ck_assert_uint_ne(certs[i].fid, 0xCA02);
        ca01 += certs[i].fid == 0xCA01;
    }
    ck_assert_int_eq(ca01, 1);
    free(certs);
    char serial[32];
    ck_assert_int_eq(hsm_token_serial(t, serial, sizeof(serial)), HSM_OK);
    ck_assert_uint_eq(strlen(serial), 10);
    ck_assert_int_eq(strncmp(serial, "ES", 2), 0);
    free(keys);
    hsm_bytes_free(&sig);
    hsm_token_free(t);
    helper_trace_off();
}
END_TEST

/* Behaviour 2 seen by the host: a block shorter than asked for ends the file (one READ BINARY for
 * a short file, on both profiles), and a file of exactly one block costs one more. */
START_TEST(host_reads_short_files_in_one_apdu)
{
    static const char *const profiles[] = { "cardcontact", "variant" };
    uint8_t data[1230 + 10];
    memset(data, 0xA5, sizeof(data));
    for (int p = 0; p < 2; p++) {
        setenv("SCHSM_SIM_PROFILE", profiles[p], 1);
        hsm_card *c = helper_card_ready("host-read");
        helper_trace_on("host-read");
        hsm_bytes r = HSM_BYTES_INIT;
        static const size_t sizes[] = { 1, 300, 1229, 1230, 1240 };
        static const int reads[] = { 1, 1, 1, 2, 2 };
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            ck_assert_int_eq(hsm_card_write_file(c, 0xCF01, data, sizes[i]), HSM_OK);
            helper_trace_reset();
            ck_assert_int_eq(hsm_card_read_file(c, 0xCF01, &r), HSM_OK);
            ck_assert_uint_eq(r.len, sizes[i]);
            ck_assert_mem_eq(r.data, data, sizes[i]);
            ck_assert_int_eq(helper_trace_count("apdu> 00 B1"), reads[i]);
            ck_assert_int_eq(hsm_card_delete_file(c, 0xCF01), HSM_OK);
        }
        ck_assert_int_eq(hsm_card_read_file(c, 0xCF01, &r), HSM_E_NOT_FOUND);
        helper_trace_off();
        hsm_bytes_free(&r);
        hsm_card_end(c);
        hsm_card_free(c);
    }
}
END_TEST

/* Behaviour 4 seen by the host: a complete DKEK with an all-zero KCV is "unknown", not a KCV. */
START_TEST(host_kcv_unknown_until_pin)
{
    setenv("SCHSM_SIM_PROFILE", "variant", 1);
    hsm_card *c = helper_card_fresh("host-kcv");
    helper_card_begin(c);
    helper_card_init(c, 0);   /* the card makes a random DKEK */
    hsm_dkek_status st;
    ck_assert_int_eq(hsm_card_key_domain(c, 0, 0, NULL, 0, &st), HSM_OK);
    ck_assert_int_eq(st.kcv_unknown, 1);
    helper_card_login(c);
    ck_assert_int_eq(hsm_card_key_domain(c, 0, 0, NULL, 0, &st), HSM_OK);
    ck_assert_int_eq(st.kcv_unknown, 0);
    hsm_card_end(c);
    hsm_card_free(c);
}
END_TEST

T_MAIN("sim_profile", profile_names_and_state_file, behaviour1_enumerate, behaviour2_read_to_the_end,
       behaviour3_device_certificate, behaviour4_kcv_after_pin, behaviour5_device_key_description,
       behaviour7_select_p2, host_on_variant_keys_and_serial, host_reads_short_files_in_one_apdu,
       host_kcv_unknown_until_pin)
