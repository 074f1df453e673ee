/* SPDX-License-Identifier: Apache-2.0 */
/* Token sessions for servers: fork (inherited state confirmed with one status query), the cached
 * serial, and hsm_token_ensure_login() (one status query, VERIFY only when needed). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_token.h"
#include "hsm/rv.h"
#include "hsm/token.h"
#include "helper_run.h"

/* A fresh, initialised card with two EC keys "one" and "two", and the APDU trace on. */
static void setup(void)
{
    helper_token_card("token");
    helper_trace_on("token");
}

static const uint8_t HASH[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

/* Card-level logout by an outside observer: a SELECT, as schsm-tool does after changing keys. */
static void foreign_select(void)
{
    hsm_token *o = helper_token(NULL);
    hsm_card *c = hsm_token_lock(o);
    ck_assert_ptr_nonnull(c);
    hsm_token_unlock(o, 0);
    hsm_token_free(o);
}

/* Runs a signature in a child; returns the child's exit status (0 = signed). */
static int child_sign(hsm_token *t, const hsm_key *k)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        hsm_bytes s = HSM_BYTES_INIT;
        helper_trace_reset();
        int rc = hsm_token_sign(t, k, HSM_ALG_ECDSA, HASH, 32, &s);
        _exit(rc == HSM_OK ? 0 : 1);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* The server case: the master logged in and forks; the child's first signature is the status query
 * (login standing) plus the SIGN, with no SELECT and no directory read. */
START_TEST(child_first_sign_two_apdus)
{
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key k;
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    ck_assert_int_eq(child_sign(t, &k), 0);
    ck_assert_int_eq(helper_trace_count("apdu>"), 2);
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=0"), 1);
    ck_assert_int_eq(helper_trace_count("apdu> 80 68"), 1);
    /* a second child, same again; the parent still signs with 1 APDU */
    ck_assert_int_eq(child_sign(t, &k), 0);
    ck_assert_int_eq(helper_trace_count("apdu>"), 2);
    helper_trace_reset();
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    ck_assert_int_eq(helper_trace_count("apdu>"), 1);
    hsm_bytes_free(&sig);
    hsm_token_free(t);
}
END_TEST

/* Someone selected the applet (logged everyone out, maybe changed keys) before the child's first
 * use: the inherited directory is dropped and re-read, and the child logs in again. */
START_TEST(child_drops_inherited_state_without_login)
{
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key k;
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    foreign_select();
    ck_assert_int_eq(child_sign(t, &k), 0);
    ck_assert_int_eq(helper_trace_count("apdu> 00 A4 04 04"), 1);        /* re-selected */
    ck_assert_int_eq(helper_trace_count("apdu> 80 58"), 1);              /* directory re-read */
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 1);   /* logged in with the held PIN */
    ck_assert_int_eq(helper_trace_count("apdu> 80 68"), 1);
    hsm_bytes_free(&sig);
    hsm_token_free(t);
}
END_TEST

/* A key replaced behind the parent's back is not used by a child. */
START_TEST(child_never_uses_replaced_key)
{
    hsm_token *t = helper_token(HELPER_PIN);
    hsm_key k;
    hsm_bytes sig = HSM_BYTES_INIT;
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    hsm_token *o = helper_token(HELPER_PIN);
    hsm_key ko, kn;
    ck_assert_int_eq(hsm_token_find_key(o, "one", NULL, 0, &ko), HSM_OK);
    ck_assert_int_eq(hsm_token_delete_key(o, &ko), HSM_OK);
    helper_token_gen_ec(o, "one", &kn);   /* same label, same reference, another key */
    hsm_token_free(o);
    ck_assert_int_ne(child_sign(t, &k), 0);
    hsm_bytes_free(&sig);
    hsm_token_free(t);
}
END_TEST

START_TEST(serial_read_once)
{
    hsm_token *t = helper_token(NULL);
    char s1[32], s2[32];
    ck_assert_int_eq(hsm_token_serial(t, s1, sizeof(s1)), HSM_OK);
    ck_assert_int_eq(hsm_token_serial(t, s2, sizeof(s2)), HSM_OK);
    ck_assert_str_eq(s1, s2);
    ck_assert_int_gt(strlen(s1), 5);
    ck_assert_int_eq(helper_trace_count("apdu> 00 B1 2F 02"), 1);
    ck_assert_int_eq(helper_trace_count("apdu> 00 B1 2F 03"), 0);   /* no token-info read */
    ck_assert_int_eq(helper_trace_count("apdu> 00 20"), 0);         /* no PIN status */
    hsm_token_info info;
    ck_assert_int_eq(hsm_token_info_get(t, &info), HSM_OK);
    ck_assert_str_eq(info.serial, s1);
    ck_assert_int_eq(helper_trace_count("apdu> 00 B1 2F 02"), 1);
    /* a reset forgets it */
    helper_card_reset();
    ck_assert_int_eq(hsm_token_serial(t, s2, sizeof(s2)), HSM_OK);
    ck_assert_int_eq(helper_trace_count("apdu> 00 B1 2F 02"), 2);
    hsm_token_free(t);
}
END_TEST

static int asked;
static size_t give_pin(void *arg, char *buf, size_t cap)
{
    asked++;
    const char *p = arg;
    if (p == NULL || strlen(p) >= cap)
        return 0;
    memcpy(buf, p, strlen(p));
    return strlen(p);
}

START_TEST(ensure_login_one_status_query)
{
    hsm_token *t = helper_token(NULL);
    hsm_key k;
    hsm_bytes sig = HSM_BYTES_INIT;
    foreign_select();
    ck_assert_int_eq(hsm_token_find_key(t, "one", NULL, 0, &k), HSM_OK);
    helper_trace_reset();
    asked = 0;
    ck_assert_msg(hsm_token_ensure_login(t, give_pin, HELPER_PIN) == HSM_OK, "%s", hsm_token_error(t));
    ck_assert_int_eq(asked, 1);
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=0"), 1);
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 1);
    helper_trace_reset();
    ck_assert_int_eq(hsm_token_sign(t, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);
    ck_assert_int_eq(helper_trace_count("apdu>"), 1);
    /* logged in and holding a PIN: nothing sent, nobody asked */
    helper_trace_reset();
    ck_assert_int_eq(hsm_token_ensure_login(t, give_pin, HELPER_PIN), HSM_OK);
    ck_assert_int_eq(asked, 1);
    ck_assert_int_eq(helper_trace_count("apdu>"), 0);
    hsm_bytes_free(&sig);
    hsm_token_free(t);
}
END_TEST

START_TEST(ensure_login_holds_pin_when_logged_in)
{
    hsm_token *a = helper_token(HELPER_PIN), *b = helper_token(NULL);
    hsm_key k;
    hsm_bytes sig = HSM_BYTES_INIT;
    hsm_key kb;
    ck_assert_int_eq(hsm_token_find_key(a, "one", NULL, 0, &k), HSM_OK);
    ck_assert_int_eq(hsm_token_find_key(b, "one", NULL, 0, &kb), HSM_OK);   /* b selected the applet */
    ck_assert_int_eq(hsm_token_sign(a, &k, HSM_ALG_ECDSA, HASH, 32, &sig), HSM_OK);   /* a logs in */
    helper_trace_reset();
    asked = 0;
    ck_assert_int_eq(hsm_token_ensure_login(b, give_pin, HELPER_PIN), HSM_OK);
    ck_assert_int_eq(asked, 1);                               /* asked, to survive a reset */
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 0);     /* but not sent */
    /* after a reset, b logs in with the PIN it holds */
    helper_card_reset();
    ck_assert_msg(hsm_token_sign(b, &k, HSM_ALG_ECDSA, HASH, 32, &sig) == HSM_OK, "%s", hsm_token_error(b));
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 1);
    hsm_bytes_free(&sig);
    hsm_token_free(a);
    hsm_token_free(b);
}
END_TEST

START_TEST(ensure_login_without_pin_refused)
{
    hsm_token *t = helper_token(NULL);
    foreign_select();
    helper_trace_reset();
    ck_assert_int_eq(hsm_token_ensure_login(t, give_pin, NULL), HSM_E_PIN_REFUSED);
    ck_assert_ptr_nonnull(strstr(hsm_token_error(t), "PIN is needed"));
    ck_assert_int_eq(helper_trace_count("apdu> 00 20 00 81 Lc=6"), 0);
    /* no callback: left to the first private-key operation */
    ck_assert_int_eq(hsm_token_ensure_login(t, NULL, NULL), HSM_OK);
    hsm_token_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("token_fork");
    TCase *tc = tcase_create("sim");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, helper_trace_off);
    tcase_add_test(tc, child_first_sign_two_apdus);
    tcase_add_test(tc, child_drops_inherited_state_without_login);
    tcase_add_test(tc, child_never_uses_replaced_key);
    tcase_add_test(tc, serial_read_once);
    tcase_add_test(tc, ensure_login_one_status_query);
    tcase_add_test(tc, ensure_login_holds_pin_when_logged_in);
    tcase_add_test(tc, ensure_login_without_pin_refused);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
