/* SPDX-License-Identifier: Apache-2.0 */
/* Token policy against the virtual card: APDU budgets, PIN safety, change detection. */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hsm/card.h"
#include "hsm/crypto.h"
#include "hsm/ecsig.h"
#include "hsm/rv.h"
#include "hsm/token.h"
#include "hsm/trace.h"
#include "reader/reader.h"
#include "sim/store.h"

#include "helper_token.h"
#include "helper_run.h"

/* Every test starts on a fresh initialised card with two EC keys "one" and "two", tracing on. */
static void setup(void)
{
    static int n;
    char name[32];
    snprintf(name, sizeof(name), "token-%d", n++);
    helper_token_card(name);
    helper_trace_on("token");
}

static void teardown(void)
{
    helper_trace_off();
}

static const uint8_t HASH[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

/* Does sig (card DER) verify over HASH with pub? */
static int verifies(EVP_PKEY *pub, const hsm_bytes *sig)
{
    hsm_bytes der = HSM_BYTES_INIT;
    if (hsm_ecdsa_der_normalize(sig->data, sig->len, &der) != HSM_OK)
        return 0;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(hsm_libctx(), pub, NULL);
    int ok = c != NULL && EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_verify(c, der.data, der.len, HASH, 32) == 1;
    EVP_PKEY_CTX_free(c);
    hsm_bytes_free(&der);
    return ok;
}

/* Card-level PIN status seen by an outside observer (costs a SELECT: logs everyone out). */
static uint16_t pin_status(void)
{
    hsm_token *o = helper_token(NULL);
    hsm_card *c = hsm_token_lock(o);
    ck_assert_ptr_nonnull(c);
    uint16_t sw = 0;
    ck_assert_int_eq(hsm_card_pin_status(c, HSM_PIN_USER, &sw), HSM_OK);
    hsm_token_unlock(o, 0);
    hsm_token_free(o);
    return sw;
}

START_TEST(cold_sign_budget)
{
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key k;
    hsm_bytes sig = HSM_BYTES_INIT;
    helper_trace_reset();
    ck_assert_int_eq(hsm_token_find_key(t, "two", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    int cold = helper_trace_count("apdu>");
    ck_assert_msg(cold <= 7, "cold sign took %d APDUs", cold);
    ck_assert_int_eq(helper_trace_count("apdu> 00 B1 CE"), 0);    /* no certificate reads */
    ck_assert_int_eq(helper_trace_count("apdu> 00 B1 2F"), 0);    /* no identity reads */
    helper_trace_reset();
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    ck_assert_int_eq(helper_trace_count("apdu>"), 1);
    ck_assert_int_eq(helper_trace_count("apdu> 80 68"), 1);
    helper_trace_reset();
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    ck_assert_int_eq(helper_trace_count("apdu>"), 1);
    /* the signature is by the key we looked up */
    EVP_PKEY *pub = NULL;
    ck_assert_int_eq(hsm_token_public_key(t, &k, &pub), HSM_OK);
    ck_assert(verifies(pub, &sig));
    EVP_PKEY_free(pub);
    hsm_bytes_free(&sig);
    hsm_token_free(t);
}
END_TEST

START_TEST(listing_and_lookup)
{
    hsm_token *t = helper_token(NULL);
    hsm_key *keys = NULL;
    size_t n = 0;
    ck_assert_int_eq(hsm_token_list_keys(t, &keys, &n), HSM_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(keys[0].label, "one");
    ck_assert_uint_eq(keys[0].key_ref, 1);
    ck_assert_uint_eq(keys[0].id_len, 20);
    ck_assert_uint_eq(keys[0].bits, 256);
    ck_assert_int_eq(keys[0].type, HSM_KEY_EC);
    ck_assert_str_eq(keys[1].label, "two");
    hsm_key k;
    ck_assert_int_eq(hsm_token_find_key(t, NULL, keys[1].id, keys[1].id_len, &k), HSM_OK);
    ck_assert_str_eq(k.label, "two");
    ck_assert_int_eq(hsm_token_find_key(t, "three", NULL, 0, &k), HSM_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(hsm_token_error(t), "\"one\""));
    ck_assert_int_eq(hsm_token_find_key(t, NULL, NULL, 0, &k), HSM_E_AMBIGUOUS);
    ck_assert_ptr_nonnull(strstr(hsm_token_error(t), "\"two\""));
    /* duplicate label refused before anything is generated */
    ck_assert_int_eq(hsm_token_set_pin(t, HELPER_PIN, 6), HSM_OK);
    hsm_keygen_params p = { .type = HSM_KEY_EC, .ec_nid = NID_X9_62_prime256v1, .label = "one", .key_domain = -1 };
    helper_trace_reset();
    ck_assert_int_ne(hsm_token_generate(t, &p, &k), HSM_OK);
    ck_assert_int_eq(helper_trace_count("apdu> 00 46"), 0);
    ck_assert_ptr_nonnull(strstr(hsm_token_error(t), "already exists"));
    hsm_token_info info;
    ck_assert_int_eq(hsm_token_info_get(t, &info), HSM_OK);
    ck_assert_int_eq(info.initialized, 1);
    ck_assert_uint_gt(strlen(info.serial), 4);
    ck_assert_int_eq(info.pin_tries, 3);
    free(keys);
    hsm_token_free(t);
}
END_TEST

START_TEST(wrong_pin_costs_one_try)
{
    hsm_token *t = helper_token("111111");
    hsm_key k;
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &k), HSM_OK);
    helper_trace_reset();
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_E_SW);
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 1);
    ck_assert_ptr_nonnull(strstr(hsm_token_error(t), "2 tries left"));
    /* never sent again, whichever way it comes back */
    ck_assert_int_ne(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    ck_assert_int_eq(hsm_token_set_pin(t, "111111", 6), HSM_E_PIN_REFUSED);
    ck_assert_int_eq(hsm_token_login(t, "111111", 6, HSM_LOGIN_ALLOW_LAST_TRY), HSM_E_PIN_REFUSED);
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 1);
    ck_assert_uint_eq(pin_status(), 0x63C2);
    /* the right PIN still works */
    ck_assert_int_eq(hsm_token_set_pin(t, HELPER_PIN, 6), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    ck_assert_uint_eq(pin_status(), 0x63C3);
    hsm_bytes_free(&sig);
    hsm_token_free(t);
}
END_TEST

START_TEST(last_try_refused)
{
    hsm_token *t = helper_token(NULL);
    ck_assert_int_eq(hsm_token_login(t, "222222", 6, 0), HSM_E_SW);
    ck_assert_int_eq(hsm_token_login(t, "333333", 6, 0), HSM_E_SW);
    ck_assert_uint_eq(pin_status(), 0x63C1);
    helper_trace_reset();
    ck_assert_int_eq(hsm_token_login(t, HELPER_PIN, 6, 0), HSM_E_PIN_REFUSED);
    ck_assert_ptr_nonnull(strstr(hsm_token_error(t), "one try"));
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 0);
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=0"), 1);
    /* a sign with the PIN held is refused the same way */
    hsm_key k;
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_set_pin(t, HELPER_PIN, 6), HSM_OK);
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_E_PIN_REFUSED);
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 0);
    /* explicit permission */
    ck_assert_int_eq(hsm_token_login(t, HELPER_PIN, 6, HSM_LOGIN_ALLOW_LAST_TRY), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    hsm_bytes_free(&sig);
    hsm_token_free(t);
}
END_TEST

START_TEST(blocked_pin_message)
{
    hsm_token *t = helper_token(NULL);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(hsm_token_login(t, i ? "444444" : "555555", 6, 0), HSM_E_SW);
    ck_assert_int_eq(hsm_token_login(t, "666666", 6, HSM_LOGIN_ALLOW_LAST_TRY), HSM_E_SW);
    ck_assert_int_eq(hsm_token_login(t, HELPER_PIN, 6, HSM_LOGIN_ALLOW_LAST_TRY), HSM_E_PIN_REFUSED);
    ck_assert_ptr_nonnull(strstr(hsm_token_error(t), "unblock-pin"));
    hsm_token_free(t);
}
END_TEST

START_TEST(foreign_select_relogin)
{
    hsm_token *a = helper_token(HELPER_PIN), *b = helper_token(HELPER_PIN);
    hsm_key k;
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_find_key(a, "one", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(a, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    /* another session selects the applet: the card forgets a's login */
    hsm_token_logout(b);
    helper_trace_reset();
    ck_assert_msg(hsm_token_sign(a, &k, HSM_ALG_ECDSA, HASH, 32, &sig) == HSM_OK, "%s", hsm_token_error(a));
    ck_assert_int_eq(helper_trace_count("apdu> 80 68"), 2);               /* 6982, then the retry */
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 1);    /* logged in again */
    EVP_PKEY *pub = NULL;
    ck_assert_int_eq(hsm_token_public_key(a, &k, &pub), HSM_OK);
    ck_assert(verifies(pub, &sig));
    EVP_PKEY_free(pub);
    hsm_bytes_free(&sig);
    hsm_token_free(a);
    hsm_token_free(b);
}
END_TEST

START_TEST(replaced_key_never_used)
{
    hsm_token *a = helper_token(HELPER_PIN), *b = helper_token(HELPER_PIN);
    hsm_key k, kb, knew;
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_find_key(a, "one", NULL, 0, &k), HSM_OK);
    EVP_PKEY *old = NULL;
    ck_assert_int_eq(hsm_token_public_key(a, &k, &old), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(a, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    ck_assert(verifies(old, &sig));
    /* b deletes "one" and makes a new "one" at the same key reference */
    ck_assert_int_eq(hsm_token_find_key(b, "one", NULL, 0, &kb), HSM_OK);
    ck_assert_int_eq(hsm_token_delete_key(b, &kb), HSM_OK);
    helper_token_gen_ec(b, "one", &knew);
    ck_assert_uint_eq(knew.key_ref, k.key_ref);
    EVP_PKEY *fresh = NULL;
    ck_assert_int_eq(hsm_token_public_key(b, &knew, &fresh), HSM_OK);
    hsm_bytes_clear(&sig);
    int rc = hsm_token_sign(a, &k, HSM_ALG_ECDSA, HASH, 32, &sig);
    if (rc == HSM_OK)
        ck_assert_msg(!verifies(fresh, &sig), "signed with the replacing key");
    else
        ck_assert_int_eq(rc, HSM_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(hsm_token_error(a), "changed"));
    /* looked up again, the new key signs */
    ck_assert_int_eq(hsm_token_find_key(a, "one", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(a, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    ck_assert(verifies(fresh, &sig));
    EVP_PKEY_free(old);
    EVP_PKEY_free(fresh);
    hsm_bytes_free(&sig);
    hsm_token_free(a);
    hsm_token_free(b);
}
END_TEST

START_TEST(deleted_key_not_found)
{
    hsm_token *a = helper_token(HELPER_PIN), *b = helper_token(HELPER_PIN);
    hsm_key k, kb;
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_find_key(a, "two", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(a, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    ck_assert_int_eq(hsm_token_find_key(b, "two", NULL, 0, &kb), HSM_OK);
    ck_assert_int_eq(hsm_token_delete_key(b, &kb), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(a, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_E_NOT_FOUND);
    ck_assert_int_eq(hsm_token_find_key(a, "two", NULL, 0, &k), HSM_E_NOT_FOUND);
    hsm_bytes_free(&sig);
    hsm_token_free(a);
    hsm_token_free(b);
}
END_TEST

static X509 *self_signed(EVP_PKEY *pub)
{
    EVP_PKEY *ca = EVP_PKEY_Q_keygen(hsm_libctx(), NULL, "EC", "P-256");
    X509 *x = X509_new_ex(hsm_libctx(), NULL);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"one", -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, pub);
    ck_assert_int_gt(X509_sign(x, ca, EVP_sha256()), 0);
    EVP_PKEY_free(ca);
    return x;
}

START_TEST(store_cert_keeps_request)
{
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key k;
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &k), HSM_OK);
    hsm_bytes req = HSM_BYTES_INIT, got = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_read_file(t, 0xCE01, &req), HSM_OK);
    ck_assert_uint_eq(req.data[0], 0x67);
    EVP_PKEY *pub = NULL;
    ck_assert_int_eq(hsm_token_public_key(t, &k, &pub), HSM_OK);
    X509 *x = self_signed(pub);
    unsigned char *der = NULL;
    int dl = i2d_X509(x, &der);
    ck_assert_int_gt(dl, 0);
    ck_assert_msg(hsm_token_store_cert(t, &k, der, (size_t)dl) == HSM_OK, "%s", hsm_token_error(t));
    ck_assert_int_eq(hsm_token_read_file(t, 0xCE01, &got), HSM_OK);
    ck_assert_uint_eq(got.len, (size_t)dl);
    ck_assert_mem_eq(got.data, der, (size_t)dl);
    ck_assert_int_eq(hsm_token_read_file(t, 0xCB01, &got), HSM_OK);   /* attestation kept */
    ck_assert_uint_eq(got.len, req.len);
    ck_assert_mem_eq(got.data, req.data, req.len);
    hsm_cert_ref *certs = NULL;
    size_t n = 0;
    ck_assert_int_eq(hsm_token_list_certs(t, &certs, &n), HSM_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(certs[0].fid, 0xCE01);
    ck_assert_str_eq(certs[0].label, "one");
    EVP_PKEY *from_cert = NULL;
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_public_key(t, &k, &from_cert), HSM_OK);
    ck_assert_int_eq(EVP_PKEY_eq(pub, from_cert), 1);
    /* deleting the key removes the kept request too */
    ck_assert_int_eq(hsm_token_delete_key(t, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_read_file(t, 0xCB01, &got), HSM_E_NOT_FOUND);
    ck_assert_int_eq(hsm_token_read_file(t, 0xC401, &got), HSM_E_NOT_FOUND);
    free(certs);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(from_cert);
    hsm_bytes_free(&req);
    hsm_bytes_free(&got);
    hsm_token_free(t);
}
END_TEST

START_TEST(fork_child_signs)
{
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key k;
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        hsm_bytes s2 = HSM_BYTES_INIT;
        int rc = hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &s2);
        _exit(rc == HSM_OK ? 0 : 1);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    /* the parent carries on (re-logging in if the child's SELECT logged it out) */
    ck_assert_msg(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig) == HSM_OK, "%s", hsm_token_error(t));
    hsm_bytes_free(&sig);
    hsm_token_free(t);
}
END_TEST

/* Removal and re-insertion (power cycle): state dropped, login redone with the PIN that worked. */
START_TEST(power_cycle_relogin)
{
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key k;
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    sim_store *st = NULL;
    ck_assert_int_eq(sim_store_open(helper_spec + 4, &st), HSM_OK);
    ck_assert_int_eq(sim_store_power_cycle(st), HSM_OK);
    sim_store_close(st);
    helper_trace_reset();
    ck_assert_msg(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig) == HSM_OK, "%s", hsm_token_error(t));
    ck_assert_int_eq(helper_trace_count("apdu> 00 A4 04 04"), 1);          /* re-selected */
    ck_assert_int_eq(helper_trace_count("apdu> 80 58"), 1);                /* directory re-read */
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 1);     /* logged in again */
    ck_assert_int_eq(helper_trace_count("apdu> 80 68"), 1);
    hsm_bytes_free(&sig);
    hsm_token_free(t);
}
END_TEST

/* A different card behind the same reader after a power cycle: the old key is not used. */
START_TEST(card_swapped)
{
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key k;
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    char old_path[600];
    snprintf(old_path, sizeof(old_path), "%s", helper_spec + 4);
    setup();   /* another card, same key labels, different keys */
    ck_assert_int_eq(rename(helper_spec + 4, old_path), 0);
    sim_store *st = NULL;
    ck_assert_int_eq(sim_store_open(old_path, &st), HSM_OK);
    ck_assert_int_eq(sim_store_power_cycle(st), HSM_OK);
    sim_store_close(st);
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_E_NOT_FOUND);
    hsm_bytes_free(&sig);
    hsm_token_free(t);
}
END_TEST

/* Finding 4: a PIN this process holds but never sent (another session's login stood when it came)
 * may be sent once after the card logged everybody out; it is not "a PIN that failed". */
START_TEST(held_pin_never_sent_is_sent_once)
{
    hsm_token *a = helper_token(HELPER_PIN), *b = helper_token(HELPER_PIN);
    hsm_key ka, kb;
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_find_key(b, "one", NULL, 0, &kb), HSM_OK);   /* b selects first */
    ck_assert_int_eq(hsm_token_find_key(a, "one", NULL, 0, &ka), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(a, &ka, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);   /* a verifies */
    helper_trace_reset();
    ck_assert_int_eq(hsm_token_sign(b, &kb, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 0);    /* a's login stood: b sent nothing */
    ck_assert_uint_eq(pin_status(), 0x63C3);                  /* someone selects: all logged out */
    helper_trace_reset();
    ck_assert_msg(hsm_token_sign(b, &kb, HSM_ALG_ECDSA, HASH, 32, &sig) == HSM_OK, "%s", hsm_token_error(b));
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=0"), 1);    /* status first */
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 1);    /* then the held PIN, once */
    ck_assert_uint_eq(pin_status(), 0x63C3);                  /* no try lost */
    hsm_bytes_free(&sig);
    hsm_token_free(a);
    hsm_token_free(b);
}
END_TEST

/* Lookups never serve an old directory: a key deleted by another session is gone for the next
 * lookup, although nothing told this session; one snapshot shares one read. */
START_TEST(lookup_rereads_directory)
{
    hsm_token *a = helper_token(NULL), *b = helper_token(HELPER_PIN);
    hsm_key k, kb;
    ck_assert_int_eq(hsm_token_find_key(a, "two", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_find_key(b, "two", NULL, 0, &kb), HSM_OK);
    ck_assert_int_eq(hsm_token_delete_key(b, &kb), HSM_OK);
    ck_assert_int_eq(hsm_token_find_key(a, "two", NULL, 0, &k), HSM_E_NOT_FOUND);
    hsm_key *keys = NULL;
    size_t n = 0;
    ck_assert_int_eq(hsm_token_list_keys(a, &keys, &n), HSM_OK);
    ck_assert_uint_eq(n, 1);
    free(keys);
    helper_token_gen_ec(b, "three", &kb);
    helper_trace_reset();
    hsm_token_snapshot_begin(a);
    ck_assert_int_eq(hsm_token_list_keys(a, &keys, &n), HSM_OK);
    ck_assert_uint_eq(n, 2);
    free(keys);
    hsm_cert_ref *certs = NULL;
    ck_assert_int_eq(hsm_token_list_certs(a, &certs, &n), HSM_OK);
    free(certs);
    ck_assert_int_eq(hsm_token_find_key(a, "three", NULL, 0, &k), HSM_OK);
    hsm_token_snapshot_end(a);
    ck_assert_int_eq(helper_trace_count("apdu> 80 58"), 1);                /* one ENUMERATE for the three */
    ck_assert_int_eq(hsm_token_find_key(a, "three", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(helper_trace_count("apdu> 80 58"), 2);                /* outside it: read again */
    hsm_token_free(a);
    hsm_token_free(b);
}
END_TEST

static void gen_id(hsm_token *t, const char *label, const uint8_t *id, size_t id_len, hsm_key *k)
{
    hsm_keygen_params p = { .type = HSM_KEY_EC, .ec_nid = NID_X9_62_prime256v1, .label = label, .id = id,
                            .id_len = id_len, .key_domain = -1 };
    ck_assert_msg(hsm_token_generate(t, &p, k) == HSM_OK, "generate: %s", hsm_token_error(t));
}

/* Swaps the card behind spec for a fresh one holding "same" with the same ID at the same key
 * reference (what OpenSC does after a re-initialisation), and power-cycles it. Returns its pub. */
static EVP_PKEY *swap_for_twin(const uint8_t *id, size_t id_len, uint8_t ref)
{
    char old_path[sizeof(helper_spec) - 4];
    snprintf(old_path, sizeof(old_path), "%s", helper_spec + 4);
    setup();
    hsm_token *o = helper_token(HELPER_PIN);
    hsm_key k;
    gen_id(o, "same", id, id_len, &k);
    ck_assert_uint_eq(k.key_ref, ref);
    EVP_PKEY *pub = NULL;
    ck_assert_int_eq(hsm_token_public_key(o, &k, &pub), HSM_OK);
    hsm_token_free(o);
    ck_assert_int_eq(rename(helper_spec + 4, old_path), 0);
    snprintf(helper_spec, sizeof(helper_spec), "sim:%s", old_path);
    sim_store *st = NULL;
    ck_assert_int_eq(sim_store_open(old_path, &st), HSM_OK);
    ck_assert_int_eq(sim_store_power_cycle(st), HSM_OK);
    sim_store_close(st);
    return pub;
}

static const uint8_t TWIN_ID[3] = { 0xAB, 0xCD, 0xEF };

/* Finding 1d without a public key at hand: the handle's earlier signature (the witness) does not
 * verify with the key now at its reference, so it is refused although label, ID and reference
 * are the same; looked up again, the new card's key signs. */
START_TEST(twin_card_refused_by_witness)
{
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key k;
    hsm_bytes sig = HSM_BYTES_INIT;
    gen_id(t, "same", TWIN_ID, sizeof(TWIN_ID), &k);
    ck_assert_int_eq(hsm_token_find_key(t, "same", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    EVP_PKEY *twin = swap_for_twin(TWIN_ID, sizeof(TWIN_ID), k.key_ref);
    hsm_bytes_clear(&sig);
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(hsm_token_error(t), "changed"));
    ck_assert_uint_eq(sig.len, 0);
    ck_assert_int_eq(hsm_token_find_key(t, "same", NULL, 0, &k), HSM_OK);
    ck_assert_msg(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig) == HSM_OK, "%s", hsm_token_error(t));
    ck_assert(verifies(twin, &sig));
    EVP_PKEY_free(twin);
    hsm_bytes_free(&sig);
    hsm_token_free(t);
}
END_TEST

/* With the handle's public key known: refused after the swap even with no signature made before. */
START_TEST(twin_card_refused_by_public_key)
{
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key k;
    hsm_bytes sig = HSM_BYTES_INIT;
    gen_id(t, "same", TWIN_ID, sizeof(TWIN_ID), &k);
    ck_assert_int_eq(hsm_token_find_key(t, "same", NULL, 0, &k), HSM_OK);
    EVP_PKEY *mine = NULL;
    ck_assert_int_eq(hsm_token_public_key(t, &k, &mine), HSM_OK);
    EVP_PKEY *twin = swap_for_twin(TWIN_ID, sizeof(TWIN_ID), k.key_ref);
    ck_assert_int_eq(hsm_token_sign_checked(t, &k, mine, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(hsm_token_error(t), "changed"));
    ck_assert_uint_eq(sig.len, 0);
    EVP_PKEY_free(mine);
    EVP_PKEY_free(twin);
    hsm_bytes_free(&sig);
    hsm_token_free(t);
}
END_TEST

/* The host checks every signature with the handle's public key: the right one costs no APDU, one
 * that does not verify is never returned (here: the handle claims another key's public key). */
START_TEST(post_sign_check)
{
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key one, two;
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &one), HSM_OK);
    ck_assert_int_eq(hsm_token_find_key(t, "two", NULL, 0, &two), HSM_OK);
    EVP_PKEY *p1 = NULL, *p2 = NULL;
    ck_assert_int_eq(hsm_token_public_key(t, &one, &p1), HSM_OK);
    ck_assert_int_eq(hsm_token_public_key(t, &two, &p2), HSM_OK);
    ck_assert_int_eq(hsm_token_sign_checked(t, &one, p1, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    helper_trace_reset();
    ck_assert_int_eq(hsm_token_sign_checked(t, &one, p1, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    ck_assert_int_eq(helper_trace_count("apdu>"), 1);
    ck_assert(verifies(p1, &sig));
    helper_trace_reset();
    ck_assert_int_eq(hsm_token_sign_checked(t, &one, p2, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(hsm_token_error(t), "changed"));
    ck_assert_uint_eq(sig.len, 0);
    ck_assert_int_eq(helper_trace_count("apdu> 80 68"), 1);                /* signed once, never retried blindly */
    /* the right handle still works afterwards */
    ck_assert_int_eq(hsm_token_sign_checked(t, &two, p2, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    ck_assert(verifies(p2, &sig));
    EVP_PKEY_free(p1);
    EVP_PKEY_free(p2);
    hsm_bytes_free(&sig);
    hsm_token_free(t);
}
END_TEST

/* RSA raw signatures are checked with a public-key operation. */
START_TEST(post_sign_check_rsa)
{
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key k, one;
    hsm_bytes sig = HSM_BYTES_INIT;
    hsm_keygen_params p = { .type = HSM_KEY_RSA, .rsa_bits = 1024, .label = "rsa", .key_domain = -1 };
    ck_assert_msg(hsm_token_generate(t, &p, &k) == HSM_OK, "generate: %s", hsm_token_error(t));
    ck_assert_int_eq(hsm_token_find_key(t, "rsa", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &one), HSM_OK);
    EVP_PKEY *pub = NULL, *ec = NULL;
    ck_assert_int_eq(hsm_token_public_key(t, &k, &pub), HSM_OK);
    ck_assert_int_eq(hsm_token_public_key(t, &one, &ec), HSM_OK);
    uint8_t block[128];
    memset(block, 0xFF, sizeof(block));
    block[0] = 0x00;
    block[1] = 0x01;
    block[sizeof(block) - 33] = 0x00;
    memcpy(block + sizeof(block) - 32, HASH, 32);
    ck_assert_msg(hsm_token_sign_checked(t, &k, pub, HSM_ALG_RSA_RAW, block, sizeof(block), &sig) == HSM_OK, "%s",
                  hsm_token_error(t));
    ck_assert_uint_le(sig.len, sizeof(block));
    ck_assert_int_eq(hsm_token_sign_checked(t, &k, ec, HSM_ALG_RSA_RAW, block, sizeof(block), &sig),
                     HSM_E_NOT_FOUND);
    ck_assert_uint_eq(sig.len, 0);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(ec);
    hsm_bytes_free(&sig);
    hsm_token_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("token");
    TCase *tc = tcase_create("sim");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cold_sign_budget);
    tcase_add_test(tc, listing_and_lookup);
    tcase_add_test(tc, wrong_pin_costs_one_try);
    tcase_add_test(tc, last_try_refused);
    tcase_add_test(tc, blocked_pin_message);
    tcase_add_test(tc, foreign_select_relogin);
    tcase_add_test(tc, replaced_key_never_used);
    tcase_add_test(tc, deleted_key_not_found);
    tcase_add_test(tc, store_cert_keeps_request);
    tcase_add_test(tc, fork_child_signs);
    tcase_add_test(tc, power_cycle_relogin);
    tcase_add_test(tc, card_swapped);
    tcase_add_test(tc, held_pin_never_sent_is_sent_once);
    tcase_add_test(tc, lookup_rereads_directory);
    tcase_add_test(tc, twin_card_refused_by_witness);
    tcase_add_test(tc, twin_card_refused_by_public_key);
    tcase_add_test(tc, post_sign_check);
    tcase_add_test(tc, post_sign_check_rsa);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
