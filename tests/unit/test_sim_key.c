/* SPDX-License-Identifier: Apache-2.0 */
/* Virtual card: key generation with attestation, SIGN, DECIPHER / ECDH (sheet 7, 9, 10). */
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include "hsm/crypto.h"
#include "hsm/cvc.h"
#include "sim_test.h"

static uint16_t gakp(sim_card *c, uint8_t id, const hsm_gakp_params *p, size_t le, hsm_bytes *req)
{
    hsm_bytes d = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_cvc_build_gakp(p, &d), HSM_OK);
    uint16_t sw = tx_ex(c, 0x00, 0x46, id, 0x00, d.data, d.len, le, 1, req);
    hsm_bytes_free(&d);
    return sw;
}

static EVP_PKEY *gen_key(sim_card *c, uint8_t id, int nid, unsigned rsa_bits, hsm_bytes *req)
{
    hsm_gakp_params p = { nid, rsa_bits, "UTCA00001", "UTDUMMY00001", NULL, NULL, 0, -1, 0 };
    ck_assert_uint_eq(gakp(c, id, &p, 65536, req), 0x9000);
    hsm_cvc cv;
    EVP_PKEY *k = NULL;
    ck_assert_int_eq(hsm_cvc_parse(req->data, req->len, &cv, NULL), HSM_OK);
    ck_assert_int_eq(hsm_cvc_public_key(&cv, 0, &k), HSM_OK);
    return k;
}

static uint16_t sign(sim_card *c, uint8_t id, uint8_t alg, const void *in, size_t len, hsm_bytes *sig)
{
    return tx_ex(c, 0x80, 0x68, id, alg, in, len, 65536, 1, sig);
}

/* Parses the card's (possibly non-minimal) DER and checks its shape: each INTEGER is exactly
 * flen bytes, or flen + 1 with a leading 00 when the top bit is set. Returns minimal DER. */
static unsigned char *card_sig_to_der(const hsm_bytes *sig, size_t flen, int *derlen)
{
    const uint8_t *p = sig->data, *end = sig->data + sig->len;
    hsm_tlv seq, r, s;
    ck_assert_int_eq(hsm_tlv_parse_one(sig->data, sig->len, &seq), HSM_OK);
    ck_assert_uint_eq(seq.tag, 0x30);
    p = seq.val;
    end = seq.val + seq.len;
    ck_assert_int_eq(hsm_tlv_next(&p, end, &r), 1);
    ck_assert_int_eq(hsm_tlv_next(&p, end, &s), 1);
    ck_assert_ptr_eq(p, end);
    const hsm_tlv *v[2] = { &r, &s };
    for (int i = 0; i < 2; i++) {
        ck_assert_uint_eq(v[i]->tag, 0x02);
        if (v[i]->len == flen + 1) {
            ck_assert_uint_eq(v[i]->val[0], 0x00);
            ck_assert_uint_ge(v[i]->val[1], 0x80);
        } else {
            ck_assert_uint_eq(v[i]->len, flen);
            ck_assert_uint_lt(v[i]->val[0], 0x80);
        }
    }
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(r.val, (int)r.len, NULL), BN_bin2bn(s.val, (int)s.len, NULL));
    unsigned char *der = NULL;
    *derlen = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    return der;
}

static int verify_raw(EVP_PKEY *k, int pad, const char *md, const uint8_t *tbs, size_t tl, const uint8_t *sig, size_t sl)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), k, NULL);
    ck_assert_int_gt(EVP_PKEY_verify_init(ctx), 0);
    if (pad) {
        ck_assert_int_gt(EVP_PKEY_CTX_set_rsa_padding(ctx, pad), 0);
    }
    if (md) {
        EVP_MD *m = EVP_MD_fetch(hsm_libctx(), md, NULL);
        ck_assert_int_gt(EVP_PKEY_CTX_set_signature_md(ctx, m), 0);
        if (pad == RSA_PKCS1_PSS_PADDING) {
            ck_assert_int_gt(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, m), 0);
            ck_assert_int_gt(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST), 0);
        }
        EVP_MD_free(m);
    }
    int rc = EVP_PKEY_verify(ctx, sig, sl, tbs, tl);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

static size_t hash(const char *md, const void *in, size_t len, uint8_t *out)
{
    unsigned int n = 0;
    EVP_MD *m = EVP_MD_fetch(hsm_libctx(), md, NULL);
    ck_assert_int_eq(EVP_Digest(in, len, out, &n, m, NULL), 1);
    EVP_MD_free(m);
    return n;
}

START_TEST(ec_keygen_attested_and_stored)
{
    sim_card *c = t_ready(-1, -1);
    hsm_bytes req = HSM_BYTES_INIT, ce = HSM_BYTES_INIT, dev = HSM_BYTES_INIT;
    EVP_PKEY *k = gen_key(c, 1, NID_X9_62_prime256v1, 0, &req);
    /* CE01 holds the same authenticated request */
    ck_assert_uint_eq(t_read(c, 0xCE01, 0, 65536, &ce), 0x6282);
    ck_assert_uint_eq(ce.len, req.len);
    ck_assert_mem_eq(ce.data, req.data, req.len);
    /* full chain: test root -> DICA -> device -> outer -> inner */
    ck_assert_uint_eq(t_read(c, 0x2F02, 0, 65536, &dev), 0x6282);
    char chr[32];
    ck_assert_int_eq(hsm_cvc_verify_attestation(dev.data, dev.len, req.data, req.len, chr, sizeof(chr)), HSM_OK);
    ck_assert_uint_eq(strlen(chr), 16);
    ck_assert_mem_eq(chr, "DESM", 4);
    ck_assert_str_eq(chr + 11, "00000");
    /* the request carries the domain parameters and the CAR/CHR from the command */
    hsm_cvc cv;
    char ref[32];
    ck_assert_int_eq(hsm_cvc_parse(req.data, req.len, &cv, NULL), HSM_OK);
    ck_assert_int_eq(cv.authenticated, 1);
    ck_assert_int_eq(hsm_cvc_curve_nid(&cv), NID_X9_62_prime256v1);
    hsm_cvc_ref_string(&cv.car, ref, sizeof(ref));
    ck_assert_str_eq(ref, "UTCA00001");
    hsm_cvc_ref_string(&cv.outer_car, ref, sizeof(ref));
    ck_assert_str_eq(ref, chr);
    ck_assert_uint_eq(cv.outer_signature.len, 64);
    /* a tampered request fails the attestation */
    req.data[req.len - 70] ^= 1;
    ck_assert_int_ne(hsm_cvc_verify_attestation(dev.data, dev.len, req.data, req.len, NULL, 0), HSM_OK);
    /* ENUMERATE shows the key and its CE file */
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x58, 0x00, 0x00, NULL, 0, 65536, 1, &ce), 0x9000);
    const uint8_t want[] = { 0xCC, 0x00, 0xCC, 0x01, 0x2F, 0x02, 0xCE, 0x01 };
    ck_assert_uint_eq(ce.len, sizeof(want));
    ck_assert_mem_eq(ce.data, want, sizeof(want));
    /* without Le the card answers no data but still writes CEnn */
    hsm_gakp_params p = { NID_brainpoolP384r1, 0, NULL, "UTDUMMY00002", NULL, NULL, 0, -1, 0 };
    ck_assert_uint_eq(gakp(c, 2, &p, 0, &req), 0x9000);
    ck_assert_uint_eq(req.len, 0);
    ck_assert_uint_eq(t_read(c, 0xCE02, 0, 65536, &ce), 0x6282);
    ck_assert_int_eq(hsm_cvc_verify_attestation(dev.data, dev.len, ce.data, ce.len, NULL, 0), HSM_OK);
    EVP_PKEY_free(k);
    hsm_bytes_free(&req);
    hsm_bytes_free(&ce);
    hsm_bytes_free(&dev);
    sim_card_free(c);
}
END_TEST

START_TEST(gakp_errors)
{
    sim_card *c = t_ready(-1, -1);
    hsm_bytes r = HSM_BYTES_INIT, d = HSM_BYTES_INIT;
    hsm_gakp_params p = { NID_X9_62_prime256v1, 0, NULL, "UTDUMMY00001", NULL, NULL, 0, -1, 0 };
    ck_assert_int_eq(hsm_cvc_build_gakp(&p, &d), HSM_OK);
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x46, 0x00, 0x00, d.data, d.len, 65536, 1, &r), 0x6A86);   /* id 0 */
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x46, 0x01, 0x01, d.data, d.len, 65536, 1, &r), 0x6A86);   /* P2 != 0 */
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x46, 0x01, 0x00, d.data, d.len - 3, 65536, 1, &r), 0x6A80); /* cut TLV */
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x46, 0x01, 0x00, NULL, 0, 65536, 1, &r), 0x6A80);
    /* unknown curve: damage the prime */
    hsm_bytes bad = HSM_BYTES_INIT;
    hsm_bytes_put(&bad, d.data, d.len);
    bad.data[20] ^= 0x55;
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x46, 0x01, 0x00, bad.data, bad.len, 65536, 1, &r), 0x6A80);
    /* RSA size not offered by the card */
    hsm_gakp_params rp = { 0, 1000, NULL, "UTDUMMY00001", NULL, NULL, 0, -1, 0 };
    ck_assert_uint_eq(gakp(c, 1, &rp, 65536, &r), 0x6A80);
    /* key domain that does not exist */
    hsm_gakp_params dp = { NID_X9_62_prime256v1, 0, NULL, "UTDUMMY00001", NULL, NULL, 0, 5, 0 };
    ck_assert_uint_eq(gakp(c, 1, &dp, 65536, &r), 0x6A80);
    /* no PIN */
    t_select(c);
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x46, 0x01, 0x00, d.data, d.len, 65536, 1, &r), 0x6982);
    /* nothing was created by any of these */
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x58, 0x00, 0x00, NULL, 0, 65536, 1, &r), 0x9000);
    ck_assert_uint_eq(r.len, 4);
    /* memory full: 6A84 and nothing left behind */
    t_login(c);
    uint8_t big[1100];
    memset(big, 1, sizeof(big));
    for (int n = 0; t_write(c, (uint16_t)(0xCF00 | n), 0, big, sizeof(big)) == 0x9000; n++)
        ;
    for (int n = 0; t_write(c, (uint16_t)(0xCD00 | n), 0, big, 100) == 0x9000; n++)
        ;
    ck_assert_uint_eq(gakp(c, 1, &p, 65536, &r), 0x6A84);
    ck_assert_uint_eq(t_read(c, 0xCE01, 0, 16, &r), 0x6A82);
    hsm_bytes_free(&bad);
    hsm_bytes_free(&r);
    hsm_bytes_free(&d);
    sim_card_free(c);
}
END_TEST

START_TEST(ecdsa_all_variants)
{
    static const struct { int nid; size_t flen; } curves[] = {
        { NID_X9_62_prime256v1, 32 }, { NID_secp521r1, 66 }, { NID_brainpoolP256r1, 32 }, { NID_secp384r1, 48 },
    };
    sim_card *c = t_ready(-1, -1);
    hsm_bytes req = HSM_BYTES_INIT, sig = HSM_BYTES_INIT;
    const char msg[] = "message to be signed by the card";
    for (size_t ci = 0; ci < sizeof(curves) / sizeof(curves[0]); ci++) {
        uint8_t id = (uint8_t)(ci + 1);
        EVP_PKEY *k = gen_key(c, id, curves[ci].nid, 0, &req);
        static const struct { uint8_t alg; const char *md; } v[] = {
            { 0x71, "SHA1" }, { 0x72, "SHA224" }, { 0x73, "SHA256" }, { 0x74, "SHA384" }, { 0x75, "SHA512" },
        };
        for (size_t i = 0; i < 5; i++) {
            uint8_t h[64];
            size_t hl = hash(v[i].md, msg, sizeof(msg), h);
            int dl;
            /* card-side hashing */
            ck_assert_uint_eq(sign(c, id, v[i].alg, msg, sizeof(msg), &sig), 0x9000);
            unsigned char *der = card_sig_to_der(&sig, curves[ci].flen, &dl);
            ck_assert_int_eq(verify_raw(k, 0, NULL, h, hl, der, (size_t)dl), 1);
            OPENSSL_free(der);
            /* host-side hash, P2 70 */
            ck_assert_uint_eq(sign(c, id, 0x70, h, hl, &sig), 0x9000);
            der = card_sig_to_der(&sig, curves[ci].flen, &dl);
            ck_assert_int_eq(verify_raw(k, 0, NULL, h, hl, der, (size_t)dl), 1);
            h[0] ^= 1;
            ck_assert_int_ne(verify_raw(k, 0, NULL, h, hl, der, (size_t)dl), 1);
            OPENSSL_free(der);
        }
        EVP_PKEY_free(k);
    }
    uint8_t h[65] = { 0 };
    ck_assert_uint_eq(sign(c, 1, 0x70, h, 65, &sig), 0x6A80);
    ck_assert_uint_eq(sign(c, 1, 0x70, h, 0, &sig), 0x6A80);
    ck_assert_uint_eq(sign(c, 1, 0x33, h, 32, &sig), 0x6A81);   /* RSA algorithm on an EC key */
    ck_assert_uint_eq(sign(c, 1, 0x76, h, 32, &sig), 0x6A86);   /* no such algorithm */
    ck_assert_uint_eq(sign(c, 0x20, 0x70, h, 32, &sig), 0x6A82);
    ck_assert_uint_eq(sign(c, 0x00, 0x70, h, 32, &sig), 0x6A81);  /* the device key signs nothing */
    t_select(c);
    ck_assert_uint_eq(sign(c, 1, 0x70, h, 32, &sig), 0x6982);
    hsm_bytes_free(&req);
    hsm_bytes_free(&sig);
    sim_card_free(c);
}
END_TEST

START_TEST(rsa_sign_decipher)
{
    sim_card *c = t_ready(-1, -1);
    hsm_bytes req = HSM_BYTES_INIT, sig = HSM_BYTES_INIT;
    EVP_PKEY *k = gen_key(c, 3, 0, 2048, &req);
    ck_assert_int_eq(EVP_PKEY_get_bits(k), 2048);
    hsm_cvc cv;
    ck_assert_int_eq(hsm_cvc_parse(req.data, req.len, &cv, NULL), HSM_OK);
    ck_assert_uint_eq(cv.signature.len, 256);
    ck_assert_int_eq(hsm_cvc_verify(&cv, k), HSM_OK);
    const char msg[] = "RSA message";
    static const struct { uint8_t alg; const char *md; int pss; } v[] = {
        { 0x31, "SHA1", 0 }, { 0x33, "SHA256", 0 }, { 0x34, "SHA384", 0 }, { 0x35, "SHA512", 0 },
        { 0x41, "SHA1", 1 }, { 0x43, "SHA256", 1 }, { 0x44, "SHA384", 1 }, { 0x45, "SHA512", 1 },
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t h[64];
        size_t hl = hash(v[i].md, msg, sizeof(msg), h);
        int pad = v[i].pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
        ck_assert_uint_eq(sign(c, 3, v[i].alg, msg, sizeof(msg), &sig), 0x9000);
        ck_assert_uint_eq(sig.len, 256);
        ck_assert_int_eq(verify_raw(k, pad, v[i].md, h, hl, sig.data, sig.len), 1);
        if (v[i].pss) {
            ck_assert_uint_eq(sign(c, 3, 0x40, h, hl, &sig), 0x9000);
            ck_assert_int_eq(verify_raw(k, pad, v[i].md, h, hl, sig.data, sig.len), 1);
        }
    }
    /* 30: DigestInfo from the host */
    static const uint8_t di_prefix[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                         0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
    uint8_t di[19 + 32];
    memcpy(di, di_prefix, 19);
    hash("SHA256", msg, sizeof(msg), di + 19);
    ck_assert_uint_eq(sign(c, 3, 0x30, di, sizeof(di), &sig), 0x9000);
    ck_assert_int_eq(verify_raw(k, RSA_PKCS1_PADDING, "SHA256", di + 19, 32, sig.data, sig.len), 1);
    /* 20: raw, exactly the modulus length */
    uint8_t em[256];
    memset(em, 0xFF, sizeof(em));
    em[0] = 0x00;
    em[1] = 0x01;
    memcpy(em + 256 - sizeof(di), di, sizeof(di));
    em[256 - sizeof(di) - 1] = 0x00;
    ck_assert_uint_eq(sign(c, 3, 0x20, em, 256, &sig), 0x9000);
    ck_assert_int_eq(verify_raw(k, RSA_PKCS1_PADDING, "SHA256", di + 19, 32, sig.data, sig.len), 1);
    ck_assert_uint_eq(sign(c, 3, 0x20, em, 255, &sig), 0x6A80);
    ck_assert_uint_eq(sign(c, 3, 0x40, di, 33, &sig), 0x6A80);   /* not a hash length */
    ck_assert_uint_eq(sign(c, 3, 0x73, msg, sizeof(msg), &sig), 0x6A81);   /* EC algorithm on RSA */
    /* DECIPHER 21: raw RSA; a short cryptogram is left-padded */
    uint8_t pt[256], ct[300];
    size_t ctl = 256;
    memset(pt, 0, sizeof(pt));
    memcpy(pt + 200, "secret session key material 0123456789ABCDEFGHIJKLMNOPQRSTUV", 56);
    EVP_PKEY_CTX *ectx = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), k, NULL);
    ck_assert_int_gt(EVP_PKEY_encrypt_init(ectx), 0);
    ck_assert_int_gt(EVP_PKEY_CTX_set_rsa_padding(ectx, RSA_NO_PADDING), 0);
    ck_assert_int_gt(EVP_PKEY_encrypt(ectx, ct, &ctl, pt, sizeof(pt)), 0);
    EVP_PKEY_CTX_free(ectx);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x62, 3, 0x21, ct, ctl, 65536, 1, &sig), 0x9000);
    ck_assert_uint_eq(sig.len, 256);
    ck_assert_mem_eq(sig.data, pt, 256);
    size_t skip = 0;
    while (ct[skip] == 0)
        skip++;
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x62, 3, 0x21, ct + skip, ctl - skip, 65536, 1, &sig), 0x9000);
    ck_assert_mem_eq(sig.data, pt, 256);
    memset(ct, 0xFF, sizeof(ct));   /* > modulus */
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x62, 3, 0x21, ct, 256, 65536, 1, &sig), 0x6A80);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x62, 3, 0x21, ct, 257, 65536, 1, &sig), 0x6A80);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x62, 3, 0x80, ct, 65, 65536, 1, &sig), 0x6A81);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x62, 3, 0x22, ct, 256, 65536, 1, &sig), 0x6A86);
    EVP_PKEY_free(k);
    hsm_bytes_free(&req);
    hsm_bytes_free(&sig);
    sim_card_free(c);
}
END_TEST

START_TEST(ecdh_matches_openssl)
{
    sim_card *c = t_ready(-1, -1);
    hsm_bytes req = HSM_BYTES_INIT, r = HSM_BYTES_INIT;
    static const struct { int nid; const char *name; } curves[] = {
        { NID_X9_62_prime256v1, "prime256v1" }, { NID_brainpoolP512r1, "brainpoolP512r1" }, { NID_secp521r1, "secp521r1" },
    };
    for (size_t i = 0; i < 3; i++) {
        EVP_PKEY *card = gen_key(c, 7, curves[i].nid, 0, &req), *peer = NULL;
        EVP_PKEY_CTX *g = EVP_PKEY_CTX_new_from_name(hsm_libctx(), "EC", NULL);
        ck_assert_int_gt(EVP_PKEY_keygen_init(g), 0);
        ck_assert_int_gt(EVP_PKEY_CTX_set_group_name(g, curves[i].name), 0);
        ck_assert_int_gt(EVP_PKEY_keygen(g, &peer), 0);
        EVP_PKEY_CTX_free(g);
        uint8_t pt[1 + 2 * 66], z[66];
        size_t ptl = 0, zl = sizeof(z);
        ck_assert_int_eq(EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptl), 1);
        ck_assert_uint_eq(tx_ex(c, 0x80, 0x62, 7, 0x80, pt, ptl, 65536, 1, &r), 0x9000);
        EVP_PKEY_CTX *d = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), peer, NULL);
        ck_assert_int_gt(EVP_PKEY_derive_init(d), 0);
        ck_assert_int_gt(EVP_PKEY_derive_set_peer(d, card), 0);
        ck_assert_int_gt(EVP_PKEY_derive(d, z, &zl), 0);
        EVP_PKEY_CTX_free(d);
        ck_assert_uint_eq(r.len, ptl);   /* 04 || X || Y */
        ck_assert_uint_eq(r.data[0], 0x04);
        ck_assert_mem_eq(r.data + 1, z, zl);
        /* not on the curve / wrong length */
        pt[ptl - 1] ^= 1;
        ck_assert_uint_eq(tx_ex(c, 0x80, 0x62, 7, 0x80, pt, ptl, 65536, 1, &r), 0x6A80);
        ck_assert_uint_eq(tx_ex(c, 0x80, 0x62, 7, 0x80, pt, ptl - 1, 65536, 1, &r), 0x6A80);
        EVP_PKEY_free(card);
        EVP_PKEY_free(peer);
    }
    hsm_bytes_free(&req);
    hsm_bytes_free(&r);
    sim_card_free(c);
}
END_TEST

START_TEST(algorithm_list_and_use_counter)
{
    sim_card *c = t_ready(-1, -1);
    hsm_bytes r = HSM_BYTES_INIT;
    const uint8_t algs[] = { 0x73 };
    hsm_gakp_params p = { NID_X9_62_prime256v1, 0, NULL, "UTDUMMY00001", NULL, algs, 1, -1, 2 };
    ck_assert_uint_eq(gakp(c, 9, &p, 65536, &r), 0x9000);
    uint8_t h[32] = { 1 };
    ck_assert_uint_eq(sign(c, 9, 0x70, h, 32, &r), 0x6A81);
    ck_assert_uint_eq(tx_ex(c, 0x80, 0x62, 9, 0x80, h, 32, 65536, 1, &r), 0x6A81);
    ck_assert_uint_eq(sign(c, 9, 0x73, "a", 1, &r), 0x9000);
    /* failed operations do not spend the counter */
    ck_assert_uint_eq(sign(c, 9, 0x70, h, 32, &r), 0x6A81);
    ck_assert_uint_eq(sign(c, 9, 0x73, "b", 1, &r), 0x9000);
    ck_assert_uint_eq(sign(c, 9, 0x73, "c", 1, &r), 0x6984);
    /* the counter survives save/load */
    hsm_bytes s = HSM_BYTES_INIT;
    sim_card *d = NULL;
    ck_assert_int_eq(sim_card_save(c, &s), HSM_OK);
    ck_assert_int_eq(sim_card_load(s.data, s.len, &d), HSM_OK);
    ck_assert_uint_eq(sign(d, 9, 0x73, "c", 1, &r), 0x6984);
    /* delete the key: 6A82 */
    uint8_t fid[2] = { 0xCC, 0x09 };
    ck_assert_uint_eq(tx(d, 0x00, 0xE4, 0x02, 0x00, fid, 2, 0, NULL), 0x9000);
    ck_assert_uint_eq(sign(d, 9, 0x73, "c", 1, &r), 0x6A82);
    hsm_bytes_free(&s);
    hsm_bytes_free(&r);
    sim_card_free(c);
    sim_card_free(d);
}
END_TEST

/* DERIVE EC KEY: the new key's public point is Q + s*G, computed here from the public key only. */
START_TEST(derive_ec_key)
{
    sim_card *c = t_ready(-1, -1);
    hsm_bytes req = HSM_BYTES_INIT, sig = HSM_BYTES_INIT;
    EVP_PKEY *k = gen_key(c, 1, NID_X9_62_prime256v1, 0, &req);
    uint8_t in[33];
    in[0] = 0x98;
    for (int i = 1; i < 33; i++)
        in[i] = (uint8_t)(i * 3);
    ck_assert_uint_eq(tx(c, 0x80, 0x76, 0x01, 0x02, in, sizeof(in), 0, NULL), 0x9000);
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    EC_POINT *q = EC_POINT_new(g), *sg = EC_POINT_new(g);
    uint8_t pub[65];
    size_t pl = 0;
    ck_assert_int_eq(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &pl), 1);
    ck_assert_int_eq(EC_POINT_oct2point(g, q, pub, pl, NULL), 1);
    BIGNUM *sc = BN_bin2bn(in + 1, 32, NULL);
    ck_assert_int_eq(EC_POINT_mul(g, sg, sc, NULL, NULL, NULL), 1);
    ck_assert_int_eq(EC_POINT_add(g, q, q, sg, NULL), 1);
    ck_assert_uint_eq(EC_POINT_point2oct(g, q, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub), NULL), 65);
    EVP_PKEY *want = NULL;
    ck_assert_int_eq(hsm_cvc_ec_public_key(NID_X9_62_prime256v1, pub, 65, &want), HSM_OK);
    uint8_t h[32];
    size_t hl = hash("SHA256", "derived", 7, h);
    ck_assert_uint_eq(sign(c, 2, 0x70, h, hl, &sig), 0x9000);
    int dl;
    unsigned char *der = card_sig_to_der(&sig, 32, &dl);
    ck_assert_int_eq(verify_raw(want, 0, NULL, h, hl, der, (size_t)dl), 1);
    ck_assert_int_ne(verify_raw(k, 0, NULL, h, hl, der, (size_t)dl), 1);
    OPENSSL_free(der);
    /* errors */
    ck_assert_uint_eq(tx(c, 0x80, 0x76, 0x01, 0x01, in, sizeof(in), 0, NULL), 0x6A86);
    ck_assert_uint_eq(tx(c, 0x80, 0x76, 0x09, 0x03, in, sizeof(in), 0, NULL), 0x6A82);
    in[0] = 0x99;
    ck_assert_uint_eq(tx(c, 0x80, 0x76, 0x01, 0x03, in, sizeof(in), 0, NULL), 0x6A80);
    BN_free(sc);
    EC_POINT_free(q);
    EC_POINT_free(sg);
    EC_GROUP_free(g);
    EVP_PKEY_free(want);
    EVP_PKEY_free(k);
    hsm_bytes_free(&req);
    hsm_bytes_free(&sig);
    sim_card_free(c);
}
END_TEST

T_MAIN("sim_key", derive_ec_key, ec_keygen_attested_and_stored, gakp_errors, ecdsa_all_variants, rsa_sign_decipher,
       ecdh_matches_openssl, algorithm_list_and_use_counter)
