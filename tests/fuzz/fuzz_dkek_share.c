/* SPDX-License-Identifier: Apache-2.0 */
/* DKEK share files and the n-of-m password-share text (hsm/dkek.c, hsm/dkek_pwd.c). The first
 * byte chooses: even = share file (decrypted with 1 KDF iteration instead of 10 000 000, so that
 * the parser and padding checks are reached at fuzzing speed), odd = password-share text. */
#include "fuzz.h"

#include "hsm/dkek.h"
#include "hsm/rv.h"

static void share_file(const uint8_t *data, size_t size)
{
    static const uint8_t pwd[] = "fuzz-password";
    uint8_t share[HSM_DKEK_SHARE_LEN];
    int ok = hsm_dkek_share_file_ok(data, size);
    int rc = hsm_dkek_share_decrypt(data, size, pwd, sizeof(pwd) - 1, 1, share);
    FUZZ_CHECK(ok || rc == HSM_E_PARSE, "a file that does not look like a share is a parse error");
    FUZZ_CHECK(rc == HSM_OK || rc == HSM_E_PARSE || rc == HSM_E_VERIFY || rc == HSM_E_CRYPTO, "decrypt result");
    if (rc == HSM_OK) {
        /* A file that decrypts re-encrypts to itself with its salt. */
        uint8_t again[HSM_DKEK_FILE_LEN];
        FUZZ_CHECK(hsm_dkek_share_encrypt(share, pwd, sizeof(pwd) - 1, data + 8, 1, again) == HSM_OK, "encrypt");
        FUZZ_CHECK(memcmp(again, data, HSM_DKEK_FILE_LEN) == 0, "share file round trip");
    } else {
        static const uint8_t zero[HSM_DKEK_SHARE_LEN];
        FUZZ_CHECK(memcmp(share, zero, sizeof(zero)) == 0, "share cleansed on failure");
    }
}

static void pwd_text(const uint8_t *data, size_t size)
{
    hsm_pwd_share s[8], t[1];
    size_t n = 0, m = 0;
    char why[256] = "";
    char *text = fuzz_strndup(data, size);
    int rc = hsm_pwd_shares_parse(text, size, s, 8, &n, why, sizeof(why));
    FUZZ_CHECK(rc == HSM_OK || rc == HSM_E_PARSE, "parse result");
    FUZZ_CHECK(rc == HSM_OK || why[0] != '\0', "a parse error says why");
    FUZZ_CHECK(n <= 8, "at most cap shares");
    if (rc == HSM_OK) {
        uint8_t secret[HSM_PWD_SECRET_LEN];
        (void)hsm_pwd_combine(s, n, secret);
        for (size_t i = 0; i < n; i++) {
            char buf[256];
            if (hsm_pwd_share_format(&s[i], buf, sizeof(buf)) != HSM_OK)
                continue;
            FUZZ_CHECK(hsm_pwd_shares_parse(buf, strlen(buf), t, 1, &m, why, sizeof(why)) == HSM_OK && m == 1,
                       "a formatted share parses");
            FUZZ_CHECK(t[0].prime == s[i].prime && t[0].id == s[i].id && t[0].value == s[i].value,
                       "share text round trip");
        }
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] % 2 == 0)
        share_file(data + 1, size - 1);
    else
        pwd_text(data + 1, size - 1);
    return 0;
}
