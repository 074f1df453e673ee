/* SPDX-License-Identifier: Apache-2.0 */
/* The schsm: store on a card holding two keys with the same label, a state OpenSC or other tools
 * can leave behind (schsm-tool refuses to create it). The fixture builds it with the hsm/ API on
 * the virtual card; the store is then driven through OpenSSL with the built provider module. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>

#include "hsm/card.h"
#include "hsm/pkcs15.h"
#include "hsm/rv.h"
#include "hsm/token.h"
#include "reader/reader.h"
#include "helper_run.h"

static const char PIN[] = "648219";
static const uint8_t SO_PIN[8] = {0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30};
static char workdir[PATH_MAX];
static char state[PATH_MAX + 16];
static char reader[PATH_MAX + 32];

static void gen(hsm_token *t, const char *label, hsm_key *out)
{
    hsm_keygen_params p;
    memset(&p, 0, sizeof(p));
    p.type = HSM_KEY_EC;
    p.ec_nid = NID_X9_62_prime256v1;
    p.label = label;
    p.key_domain = -1;
    ck_assert_msg(hsm_token_generate(t, &p, out) == HSM_OK, "keygen %s: %s", label, hsm_token_error(t));
}

/* Two keys labelled "dup" (and a third, unique one). */
static void make_card(void)
{
    const char *tmp = getenv("SCHSM_TEST_TMP");
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/store_ambiguous.XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (tmp != NULL) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", tmp);
        ck_assert_int_eq(system(cmd), 0);
    }
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(workdir, sizeof(workdir), "%s", dir);
    snprintf(state, sizeof(state), "%s/card.state", dir);
    snprintf(reader, sizeof(reader), "sim:%s", state);

    hsm_token *t = NULL;
    ck_assert_int_eq(hsm_token_new(reader, schsm_reader_open, &t), HSM_OK);
    hsm_card *c = hsm_token_lock(t);
    ck_assert_ptr_nonnull(c);
    hsm_init_params ip;
    memset(&ip, 0, sizeof(ip));
    ip.options = 1;
    ip.pin = (const uint8_t *)PIN;
    ip.pin_len = strlen(PIN);
    ip.so_pin = SO_PIN;
    ip.pin_retries = 3;
    ip.dkek_shares = -1;
    ck_assert_int_eq(hsm_card_initialize(c, &ip), HSM_OK);
    hsm_token_unlock(t, 1);
    ck_assert_msg(hsm_token_login(t, PIN, strlen(PIN), 0) == HSM_OK, "login: %s", hsm_token_error(t));

    hsm_key a, b, u;
    gen(t, "dup", &a);
    gen(t, "other", &b);
    gen(t, "unique", &u);

    /* relabel the second key's description */
    c = hsm_token_lock(t);
    hsm_bytes d = HSM_BYTES_INIT, e = HSM_BYTES_INIT;
    hsm_prkd prkd;
    uint16_t fid = (uint16_t)(HSM_PREFIX_PRKD << 8 | b.key_ref);
    ck_assert_int_eq(hsm_card_read_file(c, fid, &d), HSM_OK);
    ck_assert_int_eq(hsm_prkd_decode(d.data, d.len, &prkd), HSM_OK);
    snprintf(prkd.label, sizeof(prkd.label), "dup");
    ck_assert_int_eq(hsm_prkd_encode(&prkd, &e), HSM_OK);
    /* the PIN may have to be presented again inside this raw session */
    hsm_card_verify(c, 0x81, (const uint8_t *)PIN, strlen(PIN));
    ck_assert_msg(hsm_card_delete_file(c, fid) == HSM_OK, "delete: SW %04X", hsm_card_last_sw(c));
    ck_assert_int_eq(hsm_card_write_file(c, fid, e.data, e.len), HSM_OK);
    hsm_token_unlock(t, 1);
    hsm_bytes_free(&d);
    hsm_bytes_free(&e);

    hsm_key k;
    ck_assert_int_eq(hsm_token_find_key(t, "dup", NULL, 0, &k), HSM_E_AMBIGUOUS);
    hsm_token_free(t);
}

static OSSL_LIB_CTX *libctx;
static OSSL_PROVIDER *prov_schsm, *prov_default;

static void load_providers(void)
{
    char exe[PATH_MAX], lib[PATH_MAX + 8];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    ck_assert_int_gt(n, 0);
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';   /* build/tests */
    snprintf(lib, sizeof(lib), "%s/../lib", exe);
    libctx = OSSL_LIB_CTX_new();
    ck_assert_ptr_nonnull(libctx);
    ck_assert_int_eq(OSSL_PROVIDER_set_default_search_path(libctx, lib), 1);
    prov_schsm = OSSL_PROVIDER_load(libctx, "schsm");
    ck_assert_msg(prov_schsm != NULL, "cannot load schsm.so from %s", lib);
    prov_default = OSSL_PROVIDER_load(libctx, "default");
    ck_assert_ptr_nonnull(prov_default);
    setenv("SCHSM_READER", reader, 1);
}

/* All error data on the queue, joined, and the queue emptied. */
static void errors(char *buf, size_t len)
{
    const char *data;
    int flags;
    unsigned long e;
    buf[0] = '\0';
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        char one[256];
        ERR_error_string_n(e, one, sizeof(one));
        strncat(buf, one, len - strlen(buf) - 1);
        strncat(buf, " | ", len - strlen(buf) - 1);
        if ((flags & ERR_TXT_STRING) && data != NULL)
            strncat(buf, data, len - strlen(buf) - 1);
        strncat(buf, "\n", len - strlen(buf) - 1);
    }
}

/* Loads everything the URI yields; returns the number of objects, errors in err. */
static int load_all(const char *uri, int expect, char *err, size_t errlen)
{
    int n = 0;
    ERR_clear_error();
    OSSL_STORE_CTX *s = OSSL_STORE_open_ex(uri, libctx, NULL, NULL, NULL, NULL, NULL, NULL);
    if (s == NULL) {
        errors(err, errlen);
        return -1;
    }
    if (expect != 0)
        ck_assert_int_eq(OSSL_STORE_expect(s, expect), 1);
    while (!OSSL_STORE_eof(s)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(s);
        if (info == NULL) {
            if (OSSL_STORE_error(s)) {
                n = -1;
                break;
            }
            continue;
        }
        n++;
        OSSL_STORE_INFO_free(info);
    }
    errors(err, errlen);
    OSSL_STORE_close(s);
    return n;
}

START_TEST(ambiguous_label)
{
    char err[4096];
    make_card();
    load_providers();

    /* the duplicate label: an error naming both candidates, no key */
    ck_assert_int_eq(load_all("schsm:object=dup;type=private?pin-value=648219", OSSL_STORE_INFO_PKEY, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "2 keys match") != NULL, "error was: %s", err);
    ck_assert_msg(strstr(err, "dup") != NULL, "error was: %s", err);
    /* the same for public keys */
    ck_assert_int_eq(load_all("schsm:object=dup;type=public", 0, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "2 keys match") != NULL, "error was: %s", err);

    /* a unique label next to it still works: private and public key */
    ck_assert_int_eq(load_all("schsm:object=unique?pin-value=648219", 0, err, sizeof(err)), 2);
    /* listing shows all three keys with their public keys */
    ck_assert_int_eq(load_all("schsm:", 0, err, sizeof(err)), 6);
    ck_assert_int_eq(load_all("schsm:type=public", 0, err, sizeof(err)), 3);

    /* missing: names the token and the reader */
    ck_assert_int_eq(load_all("schsm:object=none;type=private", 0, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "no key matching 'object=none;type=private' on token") != NULL, "error was: %s", err);
    ck_assert_msg(strstr(err, state) != NULL, "error lacks the reader: %s", err);

    /* a malformed URI fails at open with the parser's message */
    ck_assert_int_eq(load_all("schsm:object=a;objectt=b", 0, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "unknown path attribute 'objectt'") != NULL, "error was: %s", err);
    /* A loaded provider keeps a reference of its own: unload, so teardown runs and frees the tokens. */
    OSSL_PROVIDER_unload(prov_schsm);
    OSSL_PROVIDER_unload(prov_default);
    OSSL_LIB_CTX_free(libctx);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("store_ambiguous");
    TCase *tc = tcase_create("store");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, ambiguous_label);
    suite_add_tcase(s, tc);
    return helper_run_suite(s);
}
