/* SPDX-License-Identifier: Apache-2.0 */
#include <check.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/bytes.h"
#include "hsm/crypto.h"
#include "hsm/pkcs15.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"
#include "helper_run.h"

static void hex(const char *h, hsm_bytes *b)
{
    ck_assert_int_eq(hsm_hex_decode(h, b), HSM_OK);
}

#define EC_P256 "A01F30070C054D794B657930080401010303072080A10A30083002040002020100"
#define RSA_2048 "301E30070C054D794B6579300704010103020274A10A30083002040002020800"
#define AES_128 "A82F30130C114469736B456E6372797074696F6E4B65793008040101030307C010A006300402020080A106300430020400"

START_TEST(vendor_ec)
{
    hsm_bytes in = HSM_BYTES_INIT, out = HSM_BYTES_INIT;
    hsm_prkd d;
    hex(EC_P256, &in);
    ck_assert_int_eq(hsm_prkd_decode(in.data, in.len, &d), HSM_OK);
    ck_assert_int_eq(d.type, HSM_KEY_EC);
    ck_assert_str_eq(d.label, "MyKey");
    ck_assert_uint_eq(d.id_len, 1);
    ck_assert_uint_eq(d.id[0], 1);
    ck_assert_uint_eq(d.bits, 256);
    ck_assert_uint_eq(d.usage, HSM_USAGE_SIGN | HSM_USAGE_DERIVE);
    ck_assert_uint_eq(d.key_ref, 0);
    /* Read in the old form, written in OpenSC's (flags, authId, its usage bits). */
    ck_assert_int_eq(hsm_prkd_encode(&d, &out), HSM_OK);
    ck_assert_uint_gt(out.len, in.len);
    hsm_prkd back;
    ck_assert_int_eq(hsm_prkd_decode(out.data, out.len, &back), HSM_OK);
    ck_assert_str_eq(back.label, "MyKey");
    ck_assert_uint_eq(back.usage, d.usage);
    hsm_bytes_free(&in);
    hsm_bytes_free(&out);
}
END_TEST

START_TEST(vendor_rsa)
{
    hsm_bytes in = HSM_BYTES_INIT, out = HSM_BYTES_INIT;
    hsm_prkd d;
    hex(RSA_2048, &in);
    ck_assert_int_eq(hsm_prkd_decode(in.data, in.len, &d), HSM_OK);
    ck_assert_int_eq(d.type, HSM_KEY_RSA);
    ck_assert_str_eq(d.label, "MyKey");
    ck_assert_uint_eq(d.bits, 2048);
    ck_assert_uint_eq(d.usage, HSM_USAGE_DECRYPT | HSM_USAGE_SIGN | HSM_USAGE_SIGN_RECOVER | HSM_USAGE_UNWRAP);
    ck_assert_int_eq(hsm_prkd_encode(&d, &out), HSM_OK);
    hsm_prkd back;
    ck_assert_int_eq(hsm_prkd_decode(out.data, out.len, &back), HSM_OK);
    ck_assert_uint_eq(back.usage, d.usage);
    ck_assert_uint_eq(back.bits, 2048);
    hsm_bytes_free(&in);
    hsm_bytes_free(&out);
}
END_TEST

START_TEST(vendor_aes)
{
    hsm_bytes in = HSM_BYTES_INIT, out = HSM_BYTES_INIT;
    hsm_prkd d;
    hex(AES_128, &in);
    ck_assert_int_eq(hsm_prkd_decode(in.data, in.len, &d), HSM_OK);
    ck_assert_int_eq(d.type, HSM_KEY_AES);
    ck_assert_str_eq(d.label, "DiskEncryptionKey");
    ck_assert_uint_eq(d.bits, 128);
    ck_assert_uint_eq(d.id_len, 1);
    ck_assert(d.usage & HSM_USAGE_ENCRYPT);
    ck_assert(d.usage & HSM_USAGE_DECRYPT);
    ck_assert_int_eq(hsm_prkd_encode(&d, &out), HSM_OK);
    ck_assert_mem_eq(out.data, in.data, in.len);
    hsm_bytes_free(&in);
    hsm_bytes_free(&out);
}
END_TEST

START_TEST(integer_sizes)
{
    static const struct { enum hsm_key_type t; unsigned bits; const char *tail; } v[] = {
        { HSM_KEY_EC, 192, "020200C0" }, { HSM_KEY_EC, 224, "020200E0" }, { HSM_KEY_EC, 320, "02020140" },
        { HSM_KEY_EC, 384, "02020180" }, { HSM_KEY_EC, 512, "02020200" }, { HSM_KEY_EC, 521, "02020209" },
        { HSM_KEY_RSA, 1024, "02020400" }, { HSM_KEY_RSA, 3072, "02020C00" }, { HSM_KEY_RSA, 4096, "02021000" },
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        hsm_prkd d = { .type = v[i].t, .bits = v[i].bits, .id = { 7 }, .id_len = 1 };
        strcpy(d.label, "k");
        hsm_bytes out = HSM_BYTES_INIT, tail = HSM_BYTES_INIT;
        hex(v[i].tail, &tail);
        ck_assert_int_eq(hsm_prkd_encode(&d, &out), HSM_OK);
        ck_assert_mem_eq(out.data + out.len - tail.len, tail.data, tail.len);
        hsm_prkd back;
        ck_assert_int_eq(hsm_prkd_decode(out.data, out.len, &back), HSM_OK);
        ck_assert_uint_eq(back.bits, v[i].bits);
        hsm_bytes_free(&out);
        hsm_bytes_free(&tail);
    }
}
END_TEST

/* The bytes OpenSC 0.23 wrote through pcscd for `pkcs11-tool --keypairgen --key-type ...
 * --label kN --id 0N` on the virtual card (keys 1..8 in that order: key reference = ID). */
static const struct { enum hsm_key_type t; unsigned bits; const char *label; unsigned ref; const char *hex; } opensc_written[] = {
    { HSM_KEY_EC, 256, "k1", 1, "A026300B0C026B31030206C0040101300B0401010303073080020101A10A30083002040002020100" },
    { HSM_KEY_EC, 384, "k2", 2, "A026300B0C026B32030206C0040101300B0401020303073080020102A10A30083002040002020180" },
    { HSM_KEY_EC, 521, "k3", 3, "A026300B0C026B33030206C0040101300B0401030303073080020103A10A30083002040002020209" },
    { HSM_KEY_RSA, 1024, "k6", 6, "3025300B0C026B36030206C0040101300A040106030204700201" "06A10A30083002040002020400" },
    { HSM_KEY_RSA, 2048, "k7", 7, "3025300B0C026B37030206C0040101300A040107030204700201" "07A10A30083002040002020800" },
    { HSM_KEY_RSA, 4096, "k8", 8, "3025300B0C026B38030206C0040101300A040108030204700201" "08A10A30083002040002021000" },
};

START_TEST(written_as_opensc_writes)
{
    for (size_t i = 0; i < sizeof(opensc_written) / sizeof(opensc_written[0]); i++) {
        hsm_prkd d = { .type = opensc_written[i].t, .bits = opensc_written[i].bits, .key_ref = opensc_written[i].ref,
                       .id = { (uint8_t)opensc_written[i].ref }, .id_len = 1 };
        strcpy(d.label, opensc_written[i].label);
        hsm_bytes want = HSM_BYTES_INIT, out = HSM_BYTES_INIT;
        hex(opensc_written[i].hex, &want);
        ck_assert_int_eq(hsm_prkd_encode(&d, &out), HSM_OK);
        ck_assert_uint_eq(out.len, want.len);
        ck_assert_mem_eq(out.data, want.data, want.len);
        /* and it reads back to the same description */
        hsm_prkd back;
        ck_assert_int_eq(hsm_prkd_decode(want.data, want.len, &back), HSM_OK);
        ck_assert_int_eq(back.type, d.type);
        ck_assert_str_eq(back.label, d.label);
        ck_assert_uint_eq(back.bits, d.bits);
        ck_assert_uint_eq(back.key_ref, d.key_ref);
        ck_assert_uint_eq(back.id_len, 1);
        ck_assert_uint_eq(back.usage, d.type == HSM_KEY_EC
                              ? (unsigned)(HSM_USAGE_SIGN | HSM_USAGE_SIGN_RECOVER | HSM_USAGE_DERIVE)
                              : (unsigned)(HSM_USAGE_DECRYPT | HSM_USAGE_SIGN | HSM_USAGE_SIGN_RECOVER));
        hsm_bytes_free(&want);
        hsm_bytes_free(&out);
    }
}
END_TEST

/* What OpenSC's writer produces: flags + authId, native/accessFlags/keyReference, a real path,
 * a 20-byte iD and the EC field length 528 for P-521. */
START_TEST(opensc_extras)
{
    const char *h =
        "A0 4E"
        "  30 0E 0C 05 4D794B6579 03 02 07 80 04 01 01"
        "  30 25 04 14 0102030405060708090A0B0C0D0E0F1011121314 03 03 06 20 00 01 01 FF 03 02 03 B8 02 01 03"
        "  A1 15 30 13 30 0B 04 04 3F00CC03 02 01 00 80 00 02 02 0210 30 00";
    hsm_bytes in = HSM_BYTES_INIT;
    hex(h, &in);
    hsm_prkd d;
    ck_assert_int_eq(hsm_prkd_decode(in.data, in.len, &d), HSM_OK);
    ck_assert_int_eq(d.type, HSM_KEY_EC);
    ck_assert_str_eq(d.label, "MyKey");
    ck_assert_uint_eq(d.id_len, 20);
    ck_assert_uint_eq(d.id[19], 0x14);
    ck_assert_uint_eq(d.bits, 521);
    ck_assert(d.usage & HSM_USAGE_SIGN);
    hsm_bytes_free(&in);
}
END_TEST

START_TEST(malformed_prkd)
{
    hsm_bytes in = HSM_BYTES_INIT;
    hsm_prkd d;
    hex(EC_P256, &in);
    for (size_t n = 0; n < in.len; n++)
        ck_assert_int_ne(hsm_prkd_decode(in.data, n, &d), HSM_OK);
    /* iD longer than HSM_ID_MAX */
    hsm_bytes big = HSM_BYTES_INIT;
    size_t m0, m1;
    uint8_t id[65] = { 0 };
    hsm_tlv_open(&big, 0xA0, &m0);
    hsm_tlv_open(&big, 0x30, &m1);
    hsm_tlv_put(&big, 0x0C, "x", 1);
    hsm_tlv_close(&big, m1);
    hsm_tlv_open(&big, 0x30, &m1);
    hsm_tlv_put(&big, 0x04, id, sizeof(id));
    hsm_tlv_close(&big, m1);
    hsm_tlv_close(&big, m0);
    ck_assert_int_eq(hsm_prkd_decode(big.data, big.len, &d), HSM_E_PARSE);
    /* unknown object type */
    const uint8_t dsa[] = { 0xA2, 0x04, 0x30, 0x00, 0x30, 0x00 };
    ck_assert_int_ne(hsm_prkd_decode(dsa, sizeof(dsa), &d), HSM_OK);
    hsm_bytes_free(&in);
    hsm_bytes_free(&big);
}
END_TEST

START_TEST(cd_roundtrip)
{
    hsm_cd c = { .id = { 0xCA, 0x01 }, .id_len = 2, .path_fid = 0xCA01 };
    strcpy(c.label, "Root CA");
    hsm_bytes out = HSM_BYTES_INIT, want = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_cd_encode(&c, &out), HSM_OK);
    hex("301B 3009 0C07 526F6F74204341 3004 0402 CA01 A108 3006 3004 0402 CA01", &want);
    ck_assert_uint_eq(out.len, want.len);
    ck_assert_mem_eq(out.data, want.data, want.len);
    hsm_cd back;
    ck_assert_int_eq(hsm_cd_decode(out.data, out.len, &back), HSM_OK);
    ck_assert_str_eq(back.label, "Root CA");
    ck_assert_uint_eq(back.path_fid, 0xCA01);
    ck_assert_int_eq(back.cvc, 0);
    c.cvc = 1;
    ck_assert_int_eq(hsm_cd_encode(&c, &out), HSM_OK);
    ck_assert_uint_eq(out.data[0], 0xA5);
    ck_assert_int_eq(hsm_cd_decode(out.data, out.len, &back), HSM_OK);
    ck_assert_int_eq(back.cvc, 1);
    /* a 4-byte path (3F00 CAnn) gives the last two bytes */
    hex("3019 3005 0C03 414243 3004 0402 CA02 A10A 3008 3006 0404 3F00CA02", &want);
    ck_assert_int_eq(hsm_cd_decode(want.data, want.len, &back), HSM_OK);
    ck_assert_uint_eq(back.path_fid, 0xCA02);
    ck_assert_str_eq(back.label, "ABC");
    hsm_bytes_free(&out);
    hsm_bytes_free(&want);
}
END_TEST

START_TEST(key_ids)
{
    /* EC: SHA-1 over X (field length), RSA: SHA-1 over the modulus without sign byte */
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(hsm_libctx(), NULL, "EC", "P-256");
    ck_assert_ptr_nonnull(ec);
    uint8_t id[20], want[20];
    ck_assert_int_eq(hsm_pkcs15_key_id(ec, id), HSM_OK);
    uint8_t pt[65];
    size_t len = 0;
    ck_assert(EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len));
    ck_assert_uint_eq(len, 65);
    SHA1(pt + 1, 32, want);
    ck_assert_mem_eq(id, want, 20);
    EVP_PKEY_free(ec);

    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(hsm_libctx(), NULL, "RSA", (size_t)1024);
    ck_assert_ptr_nonnull(rsa);
    BIGNUM *n = NULL;
    ck_assert(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n));
    uint8_t nb[128];
    ck_assert_int_eq(BN_bn2bin(n, nb), 128);
    SHA1(nb, 128, want);
    ck_assert_int_eq(hsm_pkcs15_key_id(rsa, id), HSM_OK);
    ck_assert_mem_eq(id, want, 20);
    BN_free(n);
    EVP_PKEY_free(rsa);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pkcs15");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, vendor_ec);
    tcase_add_test(tc, vendor_rsa);
    tcase_add_test(tc, vendor_aes);
    tcase_add_test(tc, integer_sizes);
    tcase_add_test(tc, opensc_extras);
    tcase_add_test(tc, malformed_prkd);
    tcase_add_test(tc, written_as_opensc_writes);
    tcase_add_test(tc, cd_roundtrip);
    tcase_add_test(tc, key_ids);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
