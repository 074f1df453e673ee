/* SPDX-License-Identifier: Apache-2.0 */
/* Provider entry: context, configuration, parameters, errors and the operation tables. */
#include "provider.h"
#include "algs.h"
#include "hsm/rv.h"
#include "hsm/trace.h"
#include "reader/reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>

#if __has_include("store/store.h")
#include "store/store.h"
#define SCHSM_HAVE_STORE 1
#endif
#if __has_include("encoder/encoders.h")
#include "encoder/encoders.h"
#define SCHSM_HAVE_CODERS 1
#endif

/* The one version (CMake's project VERSION), shared by the tools and the Debian package. */
#ifndef SCHSM_VERSION
#error "SCHSM_VERSION comes from CMakeLists.txt (project VERSION)"
#endif

struct schsm_token_slot {
    char *spec;                 /* "" = the default reader */
    hsm_token *token;
    struct schsm_token_slot *next;
};

static const OSSL_ITEM reason_strings[] = {
    { SCHSM_R_CARD, "smart card or reader error" },
    { SCHSM_R_PIN, "PIN missing, refused or wrong" },
    { SCHSM_R_NOT_FOUND, "object not found on the token" },
    { SCHSM_R_AMBIGUOUS, "more than one object matches" },
    { SCHSM_R_BAD_URI, "malformed schsm: URI" },
    { SCHSM_R_UNSUPPORTED, "operation not supported by schsm" },
    { SCHSM_R_BAD_ARGS, "invalid argument" },
    { SCHSM_R_INTERNAL, "internal error" },
    { 0, NULL },
};

void schsm_raise(const schsm_provctx *ctx, int reason, const char *fmt, ...)
{
    if (ctx == NULL || ctx->core_new_error == NULL || ctx->core_vset_error == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    ctx->core_new_error(ctx->handle);
    if (ctx->core_set_error_debug != NULL)
        ctx->core_set_error_debug(ctx->handle, NULL, 0, NULL);
    ctx->core_vset_error(ctx->handle, (uint32_t)reason, fmt, ap);
    va_end(ap);
}

static int reason_for_rv(int rv)
{
    switch (rv) {
    case HSM_E_PIN_REFUSED: return SCHSM_R_PIN;
    case HSM_E_NOT_FOUND: return SCHSM_R_NOT_FOUND;
    case HSM_E_AMBIGUOUS: return SCHSM_R_AMBIGUOUS;
    case HSM_E_UNSUPPORTED: return SCHSM_R_UNSUPPORTED;
    case HSM_E_ARGS: return SCHSM_R_BAD_ARGS;
    case HSM_E_MEM: return SCHSM_R_INTERNAL;
    default: return SCHSM_R_CARD;
    }
}

void schsm_raise_token(const schsm_provctx *ctx, hsm_token *t, int rv)
{
    const char *msg = t != NULL ? hsm_token_error(t) : NULL;
    if (msg == NULL || *msg == '\0')
        msg = hsm_rv_text(rv);
    int reason = reason_for_rv(rv);
    /* A refused or failed VERIFY shows up as a status word; its message names the PIN. */
    if (reason == SCHSM_R_CARD && rv == HSM_E_SW && strstr(msg, "PIN") != NULL)
        reason = SCHSM_R_PIN;
    schsm_raise(ctx, reason, "%s", msg);
}

hsm_token *schsm_token_get(schsm_provctx *ctx, const char *reader_spec)
{
    if (reader_spec == NULL || *reader_spec == '\0')
        reader_spec = ctx->cfg_reader;
    if (reader_spec == NULL)
        reader_spec = ctx->cfg_select;
    const char *key = reader_spec != NULL ? reader_spec : "";
    hsm_token *found = NULL;

    /* Fork safety lives in hsm_token: it notices a new pid and reopens the reader in the
     * child, so the slot list can be shared across fork(). */
    pthread_mutex_lock(&ctx->lock);
    for (struct schsm_token_slot *s = ctx->tokens; s != NULL; s = s->next) {
        if (strcmp(s->spec, key) == 0) {
            found = s->token;
            break;
        }
    }
    if (found == NULL) {
        struct schsm_token_slot *s = calloc(1, sizeof(*s));
        hsm_token *t = NULL;
        int rv = HSM_E_MEM;
        if (s != NULL && (s->spec = strdup(key)) != NULL)
            rv = hsm_token_new(*key != '\0' ? key : NULL, schsm_reader_open, &t);
        if (rv == HSM_OK) {
            s->token = t;
            s->next = ctx->tokens;
            ctx->tokens = s;
            found = t;
        } else {
            if (s != NULL)
                free(s->spec);
            free(s);
            schsm_raise(ctx, reason_for_rv(rv), "cannot use reader %s: %s",
                        *key != '\0' ? key : "(default)", hsm_rv_text(rv));
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return found;
}

int schsm_pin_from_source(const schsm_provctx *ctx, const char *source, char *buf, size_t cap,
                          size_t *len)
{
    if (source == NULL || cap < 2) {
        schsm_raise(ctx, SCHSM_R_PIN, "no PIN source given");
        return 0;
    }
    if (strncmp(source, "env:", 4) == 0) {
        const char *v = getenv(source + 4);
        if (v == NULL || *v == '\0') {
            schsm_raise(ctx, SCHSM_R_PIN, "PIN source %s: environment variable %s is not set",
                        source, source + 4);
            return 0;
        }
        size_t n = strlen(v);
        if (n >= cap) {
            schsm_raise(ctx, SCHSM_R_PIN, "PIN source %s: value is too long", source);
            return 0;
        }
        memcpy(buf, v, n + 1);
        *len = n;
        return 1;
    }
    if (strncmp(source, "file:", 5) == 0) {
        FILE *f = fopen(source + 5, "re");
        if (f == NULL) {
            schsm_raise(ctx, SCHSM_R_PIN, "PIN source %s: cannot open: %s", source, strerror(errno));
            return 0;
        }
        size_t n = fread(buf, 1, cap - 1, f);
        int more = fgetc(f) != EOF;
        fclose(f);
        buf[n] = '\0';
        /* The PIN is the first line; a file with a longer first line is refused, not cut. */
        size_t l = strcspn(buf, "\r\n");
        if (more && l == n) {
            OPENSSL_cleanse(buf, cap);
            schsm_raise(ctx, SCHSM_R_PIN, "PIN source %s: first line is too long", source);
            return 0;
        }
        OPENSSL_cleanse(buf + l, n - l);
        buf[l] = '\0';
        if (l == 0) {
            schsm_raise(ctx, SCHSM_R_PIN, "PIN source %s: file is empty", source);
            return 0;
        }
        *len = l;
        return 1;
    }
    schsm_raise(ctx, SCHSM_R_PIN, "PIN source must be file:PATH or env:NAME (got a value starting with \"%.5s\")",
                source);
    return 0;
}

/* ---- provider functions ---- */

static const OSSL_PARAM gettable_params[] = {
    OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, NULL, 0),
    OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, NULL, 0),
    OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, NULL, 0),
    OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, NULL),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *prov_gettable_params(void *provctx)
{
    return gettable_params;
}

static int prov_get_params(void *provctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "schsm: SmartCard-HSM / Nitrokey HSM 2 provider"))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, SCHSM_VERSION))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "schsm " SCHSM_VERSION " (" OPENSSL_VERSION_TEXT " headers)"))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    if (p != NULL && !OSSL_PARAM_set_int(p, 1))
        return 0;
    return 1;
}

#ifdef SCHSM_HAVE_STORE
static const OSSL_ALGORITHM store_algs[] = {
    { "schsm", "provider=schsm", schsm_store_functions, "SmartCard-HSM objects (schsm: URIs)" },
    { NULL, NULL, NULL, NULL },
};
#endif

static const OSSL_ALGORITHM *prov_query(void *provctx, int operation_id, int *no_cache)
{
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT: return schsm_keymgmt_algs;
    case OSSL_OP_SIGNATURE: return schsm_signature_algs;
    case OSSL_OP_KEYEXCH: return schsm_keyexch_algs;
    case OSSL_OP_ASYM_CIPHER: return schsm_asym_cipher_algs;
#ifdef SCHSM_HAVE_STORE
    case OSSL_OP_STORE: return store_algs;
#endif
#ifdef SCHSM_HAVE_CODERS
    case OSSL_OP_ENCODER: return schsm_encoders;
    case OSSL_OP_DECODER: return schsm_decoders;
#endif
    default: return NULL;
    }
}

static const OSSL_ITEM *prov_reasons(void *provctx)
{
    return reason_strings;
}

static void provctx_free(schsm_provctx *ctx)
{
    if (ctx == NULL)
        return;
    struct schsm_token_slot *s = ctx->tokens;
    while (s != NULL) {
        struct schsm_token_slot *next = s->next;
        hsm_token_free(s->token);   /* cleanses the PIN it held */
        free(s->spec);
        free(s);
        s = next;
    }
    free(ctx->cfg_reader);
    free(ctx->cfg_pin_source);
    free(ctx->cfg_serial);
    free(ctx->cfg_token);
    free(ctx->cfg_pool);
    free(ctx->cfg_select);
    OSSL_LIB_CTX_free(ctx->libctx);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

static void prov_teardown(void *provctx)
{
    provctx_free(provctx);
}

static const OSSL_DISPATCH prov_dispatch[] = {
    { OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))prov_teardown },
    { OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))prov_gettable_params },
    { OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))prov_get_params },
    { OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query },
    { OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))prov_reasons },
    { OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))schsm_get_capabilities },
    { 0, NULL },
};

static char *dup_nonempty(const char *s)
{
    return s != NULL && *s != '\0' ? strdup(s) : NULL;
}

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                       const OSSL_DISPATCH **out, void **provctx)
{
    OSSL_FUNC_core_get_params_fn *core_get_params = NULL;
    const OSSL_DISPATCH *in0 = in;
    schsm_provctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return 0;
    pthread_mutex_init(&ctx->lock, NULL);
    ctx->handle = handle;

    for (; in != NULL && in->function_id != 0; in++) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_GET_PARAMS:
            core_get_params = OSSL_FUNC_core_get_params(in);
            break;
        case OSSL_FUNC_CORE_NEW_ERROR:
            ctx->core_new_error = OSSL_FUNC_core_new_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            ctx->core_set_error_debug = OSSL_FUNC_core_set_error_debug(in);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            ctx->core_vset_error = OSSL_FUNC_core_vset_error(in);
            break;
        default:
            break;
        }
    }

    ctx->core_get_params = core_get_params;
    if (core_get_params != NULL) {
        char *reader = NULL, *pin_source = NULL, *debug = NULL, *serial = NULL, *token = NULL, *pool = NULL;
        OSSL_PARAM cfg[] = {
            OSSL_PARAM_utf8_ptr("reader", &reader, 0),
            OSSL_PARAM_utf8_ptr("serial", &serial, 0),
            OSSL_PARAM_utf8_ptr("token", &token, 0),
            OSSL_PARAM_utf8_ptr("pin-source", &pin_source, 0),
            OSSL_PARAM_utf8_ptr("debug", &debug, 0),
            OSSL_PARAM_utf8_ptr("pool", &pool, 0),
            OSSL_PARAM_END,
        };
        if (core_get_params(handle, cfg)) {
            ctx->cfg_reader = dup_nonempty(reader);
            ctx->cfg_pin_source = dup_nonempty(pin_source);
            ctx->cfg_serial = dup_nonempty(serial);
            ctx->cfg_token = dup_nonempty(token);
            ctx->cfg_pool = dup_nonempty(pool);
            /* For callers with no URI (key generation): the serial is the stronger choice. */
            const char *sel = ctx->cfg_serial != NULL ? ctx->cfg_serial : ctx->cfg_token;
            if (sel != NULL) {
                size_t len = strlen(sel) + 8;
                if ((ctx->cfg_select = malloc(len)) != NULL)
                    snprintf(ctx->cfg_select, len, "%s=%s", sel == ctx->cfg_serial ? "serial" : "token", sel);
            }
            if (debug != NULL && *debug != '\0')
                hsm_trace_set(debug);
        }
    }

    /* Host crypto runs in hsm_libctx(); this context only identifies the application's. */
    ctx->libctx = OSSL_LIB_CTX_new_from_dispatch(handle, in0);
    *out = prov_dispatch;
    *provctx = ctx;
    return 1;
}
