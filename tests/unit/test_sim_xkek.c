/* SPDX-License-Identifier: Apache-2.0 */
/* Virtual card: certificate chains (MSE / PSO VERIFY CERTIFICATE) and XKEK key domains: two
 * member cards join a group signer's domain, agree on the XKEK, and move a key between them. */
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>

#include "hsm/cvc.h"
#include "sim_test.h"

static void devcerts(sim_card *c, hsm_bytes *out)
{
    ck_assert_uint_eq(t_read(c, 0x2F02, 0, 65536, out), 0x6282);
}

static uint16_t mse(sim_card *c, const hsm_tlv *ref)
{
    hsm_bytes d = HSM_BYTES_INIT;
    hsm_tlv_put(&d, 0x83, ref->val, ref->len);
    uint16_t sw = tx(c, 0x00, 0x22, 0x81, 0xB6, d.data, d.len, 0, NULL);
    hsm_bytes_free(&d);
    return sw;
}

/* Makes the device chain of another card known to c (DICA first, then the device). */
static void load_chain(sim_card *c, const hsm_bytes *chain)
{
    hsm_cvc dev, dica;
    ck_assert_int_eq(hsm_cvc_split_devcerts(chain->data, chain->len, &dev, &dica), HSM_OK);
    ck_assert_uint_eq(mse(c, &dica.car), 0x9000);
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x2A, 0x00, 0xBE, dica.cert.val, dica.cert.len, 0, 1, NULL), 0x9000);
    ck_assert_uint_eq(mse(c, &dev.car), 0x9000);
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x2A, 0x00, 0xBE, dev.cert.val, dev.cert.len, 0, 1, NULL), 0x9000);
    ck_assert_uint_eq(mse(c, &dev.chr), 0x9000);
}

static void keygen(sim_card *c, uint8_t id, int domain, const uint8_t *algs, size_t nalgs, hsm_bytes *req)
{
    hsm_gakp_params p = { NID_X9_62_prime256v1, 0, "UTCA00001", "UTDUMMY00001", NULL, algs, nalgs, domain, 0 };
    hsm_bytes d = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_cvc_build_gakp(&p, &d), HSM_OK);
    ck_assert_uint_eq(tx_ex(c, 0x00, 0x46, id, 0x00, d.data, d.len, 65536, 1, req), 0x9000);
    hsm_bytes_free(&d);
}

/* Value of a 67 request TLV. */
static hsm_tlv inner(const hsm_bytes *req)
{
    hsm_tlv t;
    ck_assert_int_eq(hsm_tlv_parse_one(req->data, req->len, &t), HSM_OK);
    ck_assert_uint_eq(t.tag, 0x67);
    return t;
}

/* Group signer g signs 54 || X(device key of the member) with its key 1; plain r||s. */
static void kdm_sig(sim_card *g, const hsm_bytes *member_chain, uint8_t rs[64])
{
    hsm_cvc dev, dica;
    hsm_tlv q;
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_cvc_split_devcerts(member_chain->data, member_chain->len, &dev, &dica), HSM_OK);
    ck_assert_int_eq(hsm_tlv_find(dev.pubkey.val, dev.pubkey.len, 0x86, &q), 1);
    uint8_t msg[33];
    msg[0] = 0x54;
    memcpy(msg + 1, q.val + 1, 32);
    ck_assert_uint_eq(tx_ex(g, 0x80, 0x68, 0x01, 0x73, msg, 33, 65536, 1, &sig), 0x9000);
    const unsigned char *p = sig.data;
    ECDSA_SIG *es = NULL;
    /* the card's DER may be non-minimal; rebuild via the INTEGER values */
    hsm_tlv seq, r, s;
    ck_assert_int_eq(hsm_tlv_parse_one(sig.data, sig.len, &seq), HSM_OK);
    p = seq.val;
    ck_assert_int_eq(hsm_tlv_next(&p, seq.val + seq.len, &r), 1);
    ck_assert_int_eq(hsm_tlv_next(&p, seq.val + seq.len, &s), 1);
    es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(r.val, (int)r.len, NULL), BN_bin2bn(s.val, (int)s.len, NULL));
    BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
    ECDSA_SIG_free(es);
    hsm_bytes_free(&sig);
}

static uint16_t join(sim_card *m, const hsm_bytes *group_req, const uint8_t rs[64], hsm_bytes *st)
{
    hsm_tlv v = inner(group_req);
    hsm_bytes d = HSM_BYTES_INIT;
    hsm_bytes_put(&d, v.val, v.len);
    hsm_tlv_put(&d, 0x54, rs, 64);
    uint16_t sw = tx_ex(m, 0x80, 0x52, 0x02, 0x00, d.data, d.len, 65536, 1, st);
    hsm_bytes_free(&d);
    return sw;
}

START_TEST(mse_and_pso)
{
    sim_card *a = t_ready(-1, 1), *b = t_ready(-1, 1);
    hsm_bytes cb = HSM_BYTES_INIT;
    devcerts(b, &cb);
    hsm_cvc dev, dica;
    ck_assert_int_eq(hsm_cvc_split_devcerts(cb.data, cb.len, &dev, &dica), HSM_OK);
    /* unknown until verified */
    ck_assert_uint_eq(mse(a, &dev.chr), 0x6A88);
    ck_assert_uint_eq(mse(a, &dev.car), 0x6A88);
    ck_assert_uint_eq(tx(a, 0x00, 0x22, 0x41, 0xA4, "\x83\x01\x41", 3, 0, NULL), 0x6A86);
    /* the device certificate cannot be verified with the root */
    ck_assert_uint_eq(mse(a, &dica.car), 0x9000);
    ck_assert_uint_eq(tx_ex(a, 0x00, 0x2A, 0x00, 0xBE, dev.cert.val, dev.cert.len, 0, 1, NULL), 0x6A80);
    /* a tampered DICA certificate is refused */
    hsm_bytes bad = HSM_BYTES_INIT;
    hsm_bytes_put(&bad, dica.cert.val, dica.cert.len);
    bad.data[30] ^= 1;
    ck_assert_uint_eq(tx_ex(a, 0x00, 0x2A, 0x00, 0xBE, bad.data, bad.len, 0, 1, NULL), 0x6A80);
    load_chain(a, &cb);
    /* a SELECT of the applet forgets the MSE selection, not the verified keys */
    t_select(a);
    ck_assert_uint_eq(tx_ex(a, 0x00, 0x2A, 0x00, 0xBE, dev.cert.val, dev.cert.len, 0, 1, NULL), 0x6985);
    ck_assert_uint_eq(mse(a, &dev.chr), 0x9000);
    hsm_bytes_free(&bad);
    hsm_bytes_free(&cb);
    sim_card_free(a);
    sim_card_free(b);
}
END_TEST

START_TEST(xkek_domain_and_key_transfer)
{
    sim_card *g = t_ready(-1, -1), *a = t_ready(-1, 1), *b = t_ready(-1, 1);
    hsm_bytes cg = HSM_BYTES_INIT, ca = HSM_BYTES_INIT, cb = HSM_BYTES_INIT, rg = HSM_BYTES_INIT, st = HSM_BYTES_INIT;
    hsm_bytes ra = HSM_BYTES_INIT, rb = HSM_BYTES_INIT, blob = HSM_BYTES_INIT, r6 = HSM_BYTES_INIT;
    devcerts(g, &cg);
    devcerts(a, &ca);
    devcerts(b, &cb);
    keygen(g, 1, -1, NULL, 0, &rg);
    uint8_t sa[64], sb[64];
    kdm_sig(g, &ca, sa);
    kdm_sig(g, &cb, sb);
    /* the group signer's device must be known first */
    ck_assert_uint_eq(join(a, &rg, sa, &st), 0x6A88);
    load_chain(a, &cg);
    load_chain(b, &cg);
    ck_assert_uint_eq(join(a, &rg, sb, &st), 0x6A80);   /* membership issued for b */
    ck_assert_uint_eq(join(a, &rg, sa, &st), 0x9000);
    ck_assert_uint_eq(st.len, 10 + 64);
    ck_assert_uint_eq(st.data[0], 0xFF);
    ck_assert_uint_eq(join(a, &rg, sa, &st), 0x6A89);
    ck_assert_uint_eq(join(b, &rg, sb, &st), 0x9000);
    /* exchange keys carry the domain UID */
    const uint8_t x84[] = { 0x84 };
    keygen(a, 5, 0, x84, 1, &ra);
    keygen(b, 5, 0, x84, 1, &rb);
    hsm_cvc cv;
    ck_assert_int_eq(hsm_cvc_parse(ra.data, ra.len, &cv, NULL), HSM_OK);
    ck_assert_uint_gt(cv.extensions.len, 64);
    char dummy[20];
    ck_assert_int_eq(hsm_cvc_verify_attestation(ca.data, ca.len, ra.data, ra.len, dummy, sizeof(dummy)), HSM_OK);
    /* derive: a with b's request in the data, b with a's request staged in 2F10 */
    hsm_tlv vb = inner(&rb), va = inner(&ra);
    ck_assert_uint_eq(tx_ex(a, 0x80, 0x62, 0x05, 0x84, vb.val, vb.len, 0, 1, NULL), 0x6A88);   /* b unknown */
    load_chain(a, &cb);
    load_chain(b, &ca);
    hsm_bytes bad = HSM_BYTES_INIT;
    hsm_bytes_put(&bad, vb.val, vb.len);
    bad.data[40] ^= 1;
    ck_assert_uint_eq(tx_ex(a, 0x80, 0x62, 0x05, 0x84, bad.data, bad.len, 0, 1, NULL), 0x6A80);
    ck_assert_uint_eq(tx_ex(a, 0x80, 0x62, 0x05, 0x84, vb.val, vb.len, 0, 1, NULL), 0x9000);
    ck_assert_uint_eq(t_write(b, 0x2F10, 0, va.val, va.len), 0x9000);
    ck_assert_uint_eq(tx(b, 0x80, 0x62, 0x05, 0x84, NULL, 0, 0, NULL), 0x9000);
    hsm_bytes sta = HSM_BYTES_INIT, stb = HSM_BYTES_INIT;
    ck_assert_uint_eq(tx(a, 0x80, 0x52, 0x00, 0x00, NULL, 0, 256, &sta), 0x9000);
    ck_assert_uint_eq(tx(b, 0x80, 0x52, 0x00, 0x00, NULL, 0, 256, &stb), 0x9000);
    ck_assert_uint_eq(sta.len, 74);
    ck_assert_mem_eq(sta.data, stb.data, sta.len);
    const uint8_t zero[8] = { 0 };
    ck_assert_mem_ne(sta.data + 2, zero, 8);
    /* a key generated in the domain on a moves to b */
    keygen(a, 6, 0, NULL, 0, &r6);
    ck_assert_uint_eq(tx_ex(a, 0x80, 0x72, 0x06, 0x92, NULL, 0, 65536, 1, &blob), 0x9000);
    ck_assert_uint_eq(tx_ex(b, 0x80, 0x74, 0x06, 0x93, blob.data, blob.len, 0, 1, NULL), 0x9000);
    hsm_bytes s1 = HSM_BYTES_INIT, s2 = HSM_BYTES_INIT;
    uint8_t h[32] = { 5 };
    ck_assert_uint_eq(tx_ex(b, 0x80, 0x68, 0x06, 0x70, h, 32, 65536, 1, &s2), 0x9000);
    EVP_PKEY *pub = NULL;
    ck_assert_int_eq(hsm_cvc_parse(r6.data, r6.len, &cv, NULL), HSM_OK);
    ck_assert_int_eq(hsm_cvc_public_key(&cv, 0, &pub), HSM_OK);
    ck_assert(t_ecdsa_ok(pub, &s2, h));
    /* the XKEK survives save/load */
    hsm_bytes sv = HSM_BYTES_INIT;
    sim_card *b2 = NULL;
    ck_assert_int_eq(sim_card_save(b, &sv), HSM_OK);
    ck_assert_int_eq(sim_card_load(sv.data, sv.len, &b2), HSM_OK);
    ck_assert_uint_eq(tx(b2, 0x80, 0x52, 0x00, 0x00, NULL, 0, 256, &stb), 0x9000);
    ck_assert_mem_eq(sta.data, stb.data, sta.len);
    sim_card_free(b2);
    hsm_bytes_free(&sv);
    EVP_PKEY_free(pub);
    hsm_bytes *all[] = { &cg, &ca, &cb, &rg, &st, &ra, &rb, &blob, &r6, &bad, &sta, &stb, &s1, &s2 };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        hsm_bytes_free(all[i]);
    sim_card_free(g);
    sim_card_free(a);
    sim_card_free(b);
}
END_TEST

T_MAIN("sim_xkek", mse_and_pso, xkek_domain_and_key_transfer)
