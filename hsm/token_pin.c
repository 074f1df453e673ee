/* SPDX-License-Identifier: Apache-2.0 */
/* PIN policy: status query before every VERIFY, refuse the last try, never resend a PIN
 * that failed, keep the PIN that worked (cleansed on free). PINs are never logged. */
#include "hsm/token_int.h"
#include "hsm/crypto.h"
#include "hsm/rv.h"
#include "hsm/sw.h"
#include "hsm/trace.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

void tok_pin_clear(hsm_token *t)
{
    hsm_bytes_free(&t->pin);
    t->have_pin = 0;
    t->pin_worked = 0;
    t->pin_sent = 0;
}

/* Salted SHA-256 of a PIN: lets us recognise a failed PIN without keeping it. */
static int pin_hash(const hsm_token *t, const uint8_t *pin, size_t len, uint8_t out[32])
{
    EVP_MD *md = EVP_MD_fetch(hsm_libctx(), "SHA256", NULL);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = md != NULL && c != NULL && EVP_DigestInit_ex(c, md, NULL) &&
             EVP_DigestUpdate(c, t->salt, sizeof(t->salt)) && EVP_DigestUpdate(c, pin, len) &&
             EVP_DigestFinal_ex(c, out, &n) && n == 32;
    EVP_MD_CTX_free(c);
    EVP_MD_free(md);
    return ok ? HSM_OK : HSM_E_CRYPTO;
}

static int pin_failed_before(const hsm_token *t, const uint8_t *pin, size_t len)
{
    uint8_t h[32];
    if (pin_hash(t, pin, len, h) != HSM_OK)
        return 1;   /* cannot tell: be safe */
    int hit = 0;
    for (size_t i = 0; i < t->nfailed; i++)
        hit |= CRYPTO_memcmp(h, t->failed[i], 32) == 0;
    OPENSSL_cleanse(h, sizeof(h));
    return hit;
}

static void remember_failed(hsm_token *t, const uint8_t *pin, size_t len)
{
    uint8_t h[32];
    if (pin_hash(t, pin, len, h) != HSM_OK)
        return;
    size_t slot = t->nfailed < TOK_MAX_FAILED ? t->nfailed++ : TOK_MAX_FAILED - 1;
    memcpy(t->failed[slot], h, 32);
    OPENSSL_cleanse(h, sizeof(h));
}

/* Turns a status-query answer into a decision. Returns 1 = send VERIFY, 0 = already
 * verified, negative = refused (message set). */
static int judge_status(hsm_token *t, uint16_t sw, unsigned flags)
{
    if (sw == 0x9000)
        return 0;
    int tries = hsm_sw_tries(sw);
    if (tries >= 2 || (tries == 1 && (flags & HSM_LOGIN_ALLOW_LAST_TRY)))
        return 1;
    if (tries == 1) {
        tok_err(t, "PIN not sent: only one try is left and a wrong PIN would block the card; "
                "verify it with schsm-tool verify-pin --force, or unblock/reset it with the SO-PIN");
        return HSM_E_PIN_REFUSED;
    }
    if (tries == 0 || sw == 0x6983) {
        tok_err(t, "PIN blocked: unblock it with the SO-PIN (schsm-tool unblock-pin)");
        return HSM_E_PIN_REFUSED;
    }
    if (sw == 0x6984) {
        tok_err(t, "PIN not sent: the card still has its transport PIN; change it first "
                "(schsm-tool change-pin)");
        return HSM_E_PIN_REFUSED;
    }
    if (sw == 0x6A88) {
        tok_err(t, "card not initialised: run schsm-tool init");
        return HSM_E_PIN_REFUSED;
    }
    tok_err(t, "cannot read the PIN retry counter, so the PIN was not sent: %s [SW %04X]",
            hsm_sw_message(sw, 0x20), sw);
    return HSM_E_SW;
}

/* Status query (re-selecting once when the applet was deselected behind our back). */
static int pin_status(hsm_token *t, uint16_t *sw)
{
    for (int round = 0; round < 2; round++) {
        int rc = tok_select(t);
        if (rc != HSM_OK)
            return rc;
        rc = hsm_card_pin_status(t->card, HSM_PIN_USER, sw);
        if (rc != HSM_OK) {
            tok_forget(t);
            tok_err(t, "communication with the card failed while reading the PIN status (%s)",
                    hsm_rv_text(rc));
            return rc;
        }
        if (*sw != 0x6D00 && *sw != 0x6E00 && *sw != 0x6900)
            return HSM_OK;
        t->selected = 0;
    }
    return HSM_OK;
}

static int send_verify(hsm_token *t, const uint8_t *pin, size_t len, int *verified);

/* The login itself: status query, decision, VERIFY, bookkeeping. pin may be the held one. */
static int do_login(hsm_token *t, const uint8_t *pin, size_t len, unsigned flags, int *verified)
{
    *verified = 0;
    if (pin_failed_before(t, pin, len)) {
        tok_err(t, "PIN not sent: this PIN was rejected by the card before; give the right PIN");
        return HSM_E_PIN_REFUSED;
    }
    uint16_t sw = 0;
    int rc = pin_status(t, &sw);
    if (rc != HSM_OK)
        return rc;
    int d = judge_status(t, sw, flags);
    if (d < 0)
        return d;
    if (d == 0) {
        t->logged_in = 1;
        return HSM_OK;
    }
    return send_verify(t, pin, len, verified);
}

/* VERIFY after a status query allowed it, and its bookkeeping. */
static int send_verify(hsm_token *t, const uint8_t *pin, size_t len, int *verified)
{
    uint16_t sw;
    if (t->have_pin && t->pin.len == len && CRYPTO_memcmp(t->pin.data, pin, len) == 0)
        t->pin_sent = 1;
    int rc = hsm_card_verify(t->card, HSM_PIN_USER, pin, len);
    if (rc == HSM_OK) {
        t->logged_in = 1;
        *verified = 1;
        return HSM_OK;
    }
    t->logged_in = 0;
    /* When the outcome is unknown (answer lost, card pulled after the command, a status word that
     * is neither yes nor no) the card may have counted a wrong try: such a PIN is not sent again,
     * so that a wrong PIN never costs two tries, unless it worked before in this session. A reset
     * (HSM_E_RESET) means the command never ran. */
    int proven = t->have_pin && t->pin_worked && t->pin.len == len && CRYPTO_memcmp(t->pin.data, pin, len) == 0;
    if (rc != HSM_E_SW) {
        tok_forget(t);
        if (rc != HSM_E_RESET && !proven) {
            remember_failed(t, pin, len);
            tok_err(t, "communication with the card failed during VERIFY (%s); in case the card counted a "
                    "wrong try, this session will not send that PIN again", hsm_rv_text(rc));
        } else {
            tok_err(t, "communication with the card failed during VERIFY (%s)", hsm_rv_text(rc));
        }
        return rc;
    }
    sw = hsm_card_last_sw(t->card);
    if (hsm_sw_tries(sw) >= 0 || sw == 0x6983) {
        remember_failed(t, pin, len);
        tok_sw_err(t, "the card rejected the PIN, so this session will not send it again", 0x20);
    } else {
        if (!proven)
            remember_failed(t, pin, len);
        tok_sw_err(t, "PIN verification failed", 0x20);
    }
    return HSM_E_SW;
}

int tok_login_held(hsm_token *t, int only_proven)
{
    if (t->logged_in)
        return HSM_OK;
    /* The retry after foreign use: a held PIN this process sent without the card confirming it is
     * not sent again; one it never sent (another program's login stood when we came) may be,
     * once, after the status query. */
    if (!t->have_pin || (only_proven && t->pin_sent && !t->pin_worked)) {
        /* Maybe someone else's login still stands: the query costs nothing on the PIN. */
        uint16_t sw = 0;
        int rc = pin_status(t, &sw);
        if (rc != HSM_OK)
            return rc;
        if (sw == 0x9000) {
            t->logged_in = 1;
            return HSM_OK;
        }
        if (t->have_pin)
            tok_err(t, "the card logged us out (another program used it) and the PIN held was sent "
                    "before without being confirmed, so it was not sent again: log in again");
        else
            tok_err(t, "the user PIN is needed for this key and none was given: supply it (for example "
                    "pin-source in the URI or the provider configuration, or -passin)");
        return HSM_E_PIN_REFUSED;
    }
    int verified = 0;
    int rc = do_login(t, t->pin.data, t->pin.len, 0, &verified);
    if (rc == HSM_OK) {
        t->pin_worked |= verified;
    } else if (rc == HSM_E_SW && t->nfailed > 0 && pin_failed_before(t, t->pin.data, t->pin.len)) {
        tok_pin_clear(t);
    }
    return rc;
}

int tok_relogin_once(hsm_token *t, int *rc, int *retried)
{
    if (*rc != HSM_E_SW || *retried || t->card == NULL || hsm_card_last_sw(t->card) != 0x6982)
        return 0;
    *retried = 1;
    hsm_log("management command answered 6982: another program logged us out; logging in again");
    t->logged_in = 0;
    int lrc = tok_login_held(t, 1);
    if (lrc != HSM_OK) {
        *rc = lrc;
        return 0;
    }
    t->err[0] = '\0';   /* the first answer's message no longer applies */
    return 1;
}

int hsm_pin_len_check(size_t len, const char *what, char *why, size_t why_len)
{
    if (len >= HSM_USER_PIN_MIN && len <= HSM_USER_PIN_MAX)
        return HSM_OK;
    if (why != NULL && why_len > 0)
        snprintf(why, why_len, "the %s must have %d to %d characters (%zu given)", what, HSM_USER_PIN_MIN,
                 HSM_USER_PIN_MAX, len);
    return HSM_E_ARGS;
}

/* The length rule for a PIN about to be held or sent: HSM_OK, or HSM_E_ARGS with the token's
 * message set. */
static int pin_len_ok(hsm_token *t, size_t len)
{
    char why[128];
    if (hsm_pin_len_check(len, "user PIN", why, sizeof(why)) == HSM_OK)
        return HSM_OK;
    tok_err(t, "%s; nothing was sent to the card", why);
    return HSM_E_ARGS;
}

int hsm_token_set_pin(hsm_token *t, const char *pin, size_t len)
{
    if (t == NULL || pin == NULL)
        return HSM_E_ARGS;
    pthread_mutex_lock(&t->mu);
    int rc = HSM_OK;
    t->err[0] = '\0';
    if ((rc = pin_len_ok(t, len)) != HSM_OK) {
        /* message set */
    } else if (pin_failed_before(t, (const uint8_t *)pin, len)) {
        tok_err(t, "PIN not accepted: this PIN was rejected by the card before; give the right PIN");
        rc = HSM_E_PIN_REFUSED;
    } else if (!t->have_pin || t->pin.len != len || CRYPTO_memcmp(t->pin.data, pin, len) != 0) {
        tok_pin_clear(t);
        rc = hsm_bytes_set(&t->pin, pin, len);
        t->have_pin = rc == HSM_OK;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

int hsm_token_needs_pin(hsm_token *t)
{
    if (t == NULL)
        return 1;
    if (tok_enter(t) != HSM_OK)
        return 1;
    int need = 1;
    if (t->logged_in || t->have_pin) {
        need = 0;
    } else {
        uint16_t sw = 0;
        if (pin_status(t, &sw) == HSM_OK && sw == 0x9000) {
            t->logged_in = 1;
            need = 0;
        }
    }
    tok_leave(t);
    return need;
}

int hsm_token_login(hsm_token *t, const char *pin, size_t len, unsigned flags)
{
    if (t == NULL || pin == NULL)
        return HSM_E_ARGS;
    t->err[0] = '\0';
    if (pin_len_ok(t, len) != HSM_OK)
        return HSM_E_ARGS;
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    int verified = 0;
    rc = do_login(t, (const uint8_t *)pin, len, flags, &verified);
    if (rc == HSM_OK) {
        if (!t->have_pin || t->pin.len != len || CRYPTO_memcmp(t->pin.data, pin, len) != 0) {
            tok_pin_clear(t);
            t->have_pin = hsm_bytes_set(&t->pin, pin, len) == HSM_OK;
        }
        /* "Worked" only when the card checked it; a standing login proves nothing about it. */
        if (verified)
            t->pin_worked = t->have_pin;
    } else if (rc == HSM_E_SW && pin_failed_before(t, (const uint8_t *)pin, len)) {
        if (t->have_pin && t->pin.len == len && CRYPTO_memcmp(t->pin.data, pin, len) == 0)
            tok_pin_clear(t);
    }
    tok_leave(t);
    return rc;
}

static int hold_pin(hsm_token *t, const char *pin, size_t len, int verified)
{
    if (!t->have_pin || t->pin.len != len || CRYPTO_memcmp(t->pin.data, pin, len) != 0) {
        tok_pin_clear(t);
        t->have_pin = hsm_bytes_set(&t->pin, pin, len) == HSM_OK;
    }
    if (verified)
        t->pin_worked = t->have_pin;
    return t->have_pin ? HSM_OK : HSM_E_MEM;
}

/* Asks get_pin; 0 when it gave none (HSM_E_PIN_REFUSED, message set). */
static size_t ask_pin(hsm_token *t, hsm_pin_fn get_pin, void *arg, char *buf, size_t cap)
{
    size_t len = get_pin(arg, buf, cap);
    if (len == 0 || len > 64) {
        OPENSSL_cleanse(buf, cap);
        tok_err(t, "the user PIN is needed for this key and none was given: supply it (for example "
                "pin-source in the URI or the provider configuration, -passin, or the server's "
                "password file)");
        return 0;
    }
    if (pin_len_ok(t, len) != HSM_OK) {
        OPENSSL_cleanse(buf, cap);
        return 0;
    }
    return len;
}

int hsm_token_ensure_login(hsm_token *t, hsm_pin_fn get_pin, void *arg)
{
    if (t == NULL)
        return HSM_E_ARGS;
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    char buf[65];
    size_t len = 0;
    uint16_t sw = 0;
    if (!t->logged_in) {
        rc = pin_status(t, &sw);
        if (rc != HSM_OK)
            goto out;
        int d = judge_status(t, sw, 0);
        if (d < 0) {
            rc = d;
            goto out;
        }
        t->logged_in = d == 0;
    }
    if (!t->have_pin && get_pin != NULL) {
        if ((len = ask_pin(t, get_pin, arg, buf, sizeof(buf))) == 0) {
            rc = HSM_E_PIN_REFUSED;
            goto out;
        }
        if (pin_failed_before(t, (const uint8_t *)buf, len)) {
            tok_err(t, "PIN not sent: this PIN was rejected by the card before; give the right PIN");
            rc = HSM_E_PIN_REFUSED;
            goto out;
        }
        if (t->logged_in) {
            rc = hold_pin(t, buf, len, 0);
            goto out;
        }
    } else if (t->logged_in || !t->have_pin) {
        goto out;   /* logged in, or nothing to log in with: the operation will say so */
    } else {
        len = t->pin.len;
        memcpy(buf, t->pin.data, len);
        if (pin_failed_before(t, (const uint8_t *)buf, len)) {
            tok_err(t, "PIN not sent: this PIN was rejected by the card before; give the right PIN");
            rc = HSM_E_PIN_REFUSED;
            goto out;
        }
    }
    int verified = 0;
    rc = send_verify(t, (const uint8_t *)buf, len, &verified);
    if (rc == HSM_OK)
        rc = hold_pin(t, buf, len, verified);
    else if (t->have_pin && pin_failed_before(t, t->pin.data, t->pin.len))
        tok_pin_clear(t);
out:
    OPENSSL_cleanse(buf, sizeof(buf));
    tok_leave(t);
    return rc;
}

void hsm_token_logout(hsm_token *t)
{
    if (t == NULL || tok_enter(t) != HSM_OK)
        return;
    /* Re-selecting the applet is the card's logout. */
    t->selected = 0;
    tok_select(t);
    t->logged_in = 0;
    tok_pin_clear(t);
    tok_leave(t);
}

int hsm_token_share_pin(hsm_token *from, hsm_token *to)
{
    if (from == NULL || to == NULL || from == to)
        return HSM_E_ARGS;
    hsm_bytes copy = HSM_BYTES_INIT;
    pthread_mutex_lock(&from->mu);
    /* Only a PIN the card checked: an unchecked one could be wrong and cost a try on every card. */
    int rc = from->have_pin && from->pin_worked ? hsm_bytes_set(&copy, from->pin.data, from->pin.len)
                                                : HSM_E_PIN_REFUSED;
    pthread_mutex_unlock(&from->mu);
    if (rc == HSM_OK) {
        pthread_mutex_lock(&to->mu);
        int has = to->have_pin;
        pthread_mutex_unlock(&to->mu);
        if (!has)
            rc = hsm_token_set_pin(to, (const char *)copy.data, copy.len);
    }
    hsm_bytes_free(&copy);
    return rc;
}

int hsm_token_pin_failed(hsm_token *t)
{
    if (t == NULL)
        return 0;
    pthread_mutex_lock(&t->mu);
    int failed = t->nfailed > 0;
    pthread_mutex_unlock(&t->mu);
    return failed;
}
