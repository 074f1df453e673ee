/* SPDX-License-Identifier: Apache-2.0 */
/* PIN acquisition for private-key operations (see pin.h for the order of sources). */
#include "pin.h"
#include "hsm/rv.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

int schsm_pin_len_ok(schsm_provctx *ctx, size_t len, const char *what)
{
    char why[128];
    if (hsm_pin_len_check(len, what, why, sizeof(why)) == HSM_OK)
        return 1;
    schsm_raise(ctx, SCHSM_R_PIN, "%s; nothing was sent to the card", why);
    return 0;
}

static int hand_over(schsm_provctx *ctx, hsm_token *t, const char *pin, size_t len)
{
    int rv = hsm_token_set_pin(t, pin, len);
    if (rv != HSM_OK) {
        schsm_raise_token(ctx, t, rv);
        return 0;
    }
    return 1;
}

int schsm_login_for(schsm_provctx *ctx, hsm_token *t, const char *uri_pin_source,
                    const char *uri_pin_value, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    char pin[SCHSM_PIN_MAX + 2];
    size_t len = 0;
    int ok;

    if (t == NULL)
        return 0;
    if (uri_pin_value != NULL) {
        len = strlen(uri_pin_value);
        if (!schsm_pin_len_ok(ctx, len, "pin-value"))
            return 0;
        return hand_over(ctx, t, uri_pin_value, len);
    }
    const char *source = uri_pin_source != NULL ? uri_pin_source : ctx->cfg_pin_source;
    if (source != NULL) {
        if (!schsm_pin_from_source(ctx, source, pin, sizeof(pin), &len))
            return 0;
        ok = hand_over(ctx, t, pin, len);
        OPENSSL_cleanse(pin, sizeof(pin));
        return ok;
    }
    if (cb == NULL)
        return 1;
    /* Prompt only when the card really wants a PIN now (logged in already, or no PIN set). */
    if (hsm_token_needs_pin(t) != 1)
        return 1;
    /* A fixed prompt: naming the token would cost extra APDUs on every cold start. */
    char prompt[] = "SmartCard-HSM user PIN";
    OSSL_PARAM ps[] = {
        OSSL_PARAM_utf8_string(OSSL_PASSPHRASE_PARAM_INFO, prompt, 0),
        OSSL_PARAM_END,
    };
    ps[0].data_size = strlen(prompt);
    if (!cb(pin, SCHSM_PIN_MAX + 1, &len, ps, cbarg)) {
        OPENSSL_cleanse(pin, sizeof(pin));
        schsm_raise(ctx, SCHSM_R_PIN, "no PIN given (pass -passin, set pin-source, or put pin-source in the URI)");
        return 0;
    }
    if (!schsm_pin_len_ok(ctx, len, "PIN given")) {
        OPENSSL_cleanse(pin, sizeof(pin));
        return 0;
    }
    ok = hand_over(ctx, t, pin, len);
    OPENSSL_cleanse(pin, sizeof(pin));
    return ok;
}

struct cb_pin {
    OSSL_PASSPHRASE_CALLBACK *cb;
    void *cbarg;
};

/* hsm_pin_fn over OpenSSL's passphrase callback (-passin, ssl_password_file, a prompt). */
static size_t pin_from_cb(void *arg, char *buf, size_t cap)
{
    struct cb_pin *c = arg;
    char prompt[] = "SmartCard-HSM user PIN";
    OSSL_PARAM ps[] = {
        OSSL_PARAM_utf8_string(OSSL_PASSPHRASE_PARAM_INFO, prompt, 0),
        OSSL_PARAM_END,
    };
    size_t len = 0;
    ps[0].data_size = strlen(prompt);
    if (cap < 2 || !c->cb(buf, cap - 1, &len, ps, c->cbarg) || len == 0 || len >= cap) {
        OPENSSL_cleanse(buf, cap);
        return 0;
    }
    return len;
}

int schsm_login_now(schsm_provctx *ctx, hsm_token *t, const char *uri_pin_source,
                    const char *uri_pin_value, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    if (t == NULL)
        return 0;
    int have_source = uri_pin_value != NULL || uri_pin_source != NULL || ctx->cfg_pin_source != NULL;
    if (have_source) {
        /* URI and config PINs are handed over as before (no APDU), then used right away. */
        if (!schsm_login_for(ctx, t, uri_pin_source, uri_pin_value, NULL, NULL))
            return 0;
        cb = NULL;
    } else if (cb == NULL) {
        return 1;   /* no PIN anywhere: the first private-key operation reports it */
    }
    struct cb_pin c = { cb, cbarg };
    int rv = hsm_token_ensure_login(t, cb != NULL ? pin_from_cb : NULL, &c);
    if (rv != HSM_OK) {
        schsm_raise_token(ctx, t, rv);
        return 0;
    }
    return 1;
}
