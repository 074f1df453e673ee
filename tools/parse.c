/* SPDX-License-Identifier: Apache-2.0 */
/* Validation of user input. Kept free of card access so unit tests can pin it down. Messages
 * never echo secret values, only their shape. */
#include "tools/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hsm/bytes.h"
#include "hsm/curves.h"
#include "hsm/pkcs15.h"
#include "hsm/rv.h"

int tool_parse_so_pin(const char *hex, uint8_t out[8], char *why, size_t why_len)
{
    size_t n = strlen(hex);
    int ok = n == 16;
    for (size_t i = 0; ok && i < n; i++)
        ok = hsm_hexval((unsigned char)hex[i]) >= 0;
    if (!ok) {
        snprintf(why, why_len, "the SO-PIN must be exactly 16 hex digits (8 bytes), e.g. 3537363231383830; "
                 "%zu characters were given", n);
        return HSM_E_ARGS;
    }
    for (size_t i = 0; i < 8; i++)
        out[i] = (uint8_t)(hsm_hexval((unsigned char)hex[2 * i]) << 4 | hsm_hexval((unsigned char)hex[2 * i + 1]));
    return HSM_OK;
}

int tool_check_pin(size_t len, const char *what, char *why, size_t why_len)
{
    if (len < 6 || len > 16) {
        snprintf(why, why_len, "the %s must have 6 to 16 characters (%zu given)", what, len);
        return HSM_E_ARGS;
    }
    return HSM_OK;
}

/* sc-hsm-tool's rule: short PINs get few tries, so that guessing stays hopeless. */
int tool_check_retries(long retries, size_t pin_len, char *why, size_t why_len)
{
    long max = pin_len <= 6 ? 3 : pin_len == 7 ? 5 : 10;
    if (retries < 1 || retries > max) {
        snprintf(why, why_len, "--pin-retries must be 1..%ld for a %zu-character PIN "
                 "(at most 3 for 6 characters, 5 for 7, 10 otherwise)", max, pin_len);
        return HSM_E_ARGS;
    }
    return HSM_OK;
}

int tool_parse_uint(const char *s, long min, long max, long *out)
{
    if (s == NULL || *s == '\0' || !isdigit((unsigned char)*s))
        return HSM_E_ARGS;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return HSM_E_ARGS;
    *out = v;
    return HSM_OK;
}

static void curve_names(char *buf, size_t cap)
{
    size_t n = 0, off = 0;
    const hsm_curve *all = hsm_curve_all(&n);
    buf[0] = '\0';
    for (size_t i = 0; i < n && off < cap; i++) {
        int w = snprintf(buf + off, cap - off, "%s%s", i ? ", " : "", all[i].name);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

int tool_parse_keytype(const char *spec, tool_keytype *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof(*out));
    if (strncasecmp(spec, "ec:", 3) == 0) {
        const hsm_curve *c = hsm_curve_by_name(spec + 3);
        if (c == NULL) {
            char names[256];
            curve_names(names, sizeof(names));
            snprintf(why, why_len, "unknown or unsupported curve '%.40s': use one of %s (P-256 is an alias "
                     "of prime256v1)", spec + 3, names);
            return HSM_E_ARGS;
        }
        out->type = HSM_KEY_EC;
        out->ec_nid = c->nid;
        return HSM_OK;
    }
    if (strncasecmp(spec, "rsa:", 4) == 0) {
        long bits;
        if (tool_parse_uint(spec + 4, 1024, 4096, &bits) != HSM_OK
            || (bits != 1024 && bits != 1536 && bits != 2048 && bits != 3072 && bits != 4096)) {
            snprintf(why, why_len, "unsupported RSA size '%.20s': use rsa:1024, rsa:1536, rsa:2048, rsa:3072 "
                     "or rsa:4096", spec + 4);
            return HSM_E_ARGS;
        }
        out->type = HSM_KEY_RSA;
        out->rsa_bits = (unsigned)bits;
        return HSM_OK;
    }
    if (strncasecmp(spec, "aes:", 4) == 0) {
        long bits;
        if (tool_parse_uint(spec + 4, 128, 256, &bits) != HSM_OK || (bits != 128 && bits != 192 && bits != 256)) {
            snprintf(why, why_len, "unsupported AES size '%.20s': use aes:128, aes:192 or aes:256", spec + 4);
            return HSM_E_ARGS;
        }
        out->type = HSM_KEY_AES;
        out->rsa_bits = (unsigned)bits;
        return HSM_OK;
    }
    snprintf(why, why_len, "unknown key type '%.40s': use ec:CURVE (e.g. ec:prime256v1), rsa:BITS "
             "(e.g. rsa:2048) or aes:BITS (e.g. aes:256)", spec);
    return HSM_E_ARGS;
}

int tool_parse_id(const char *hex, uint8_t *out, size_t cap, size_t *len, char *why, size_t why_len)
{
    hsm_bytes b = HSM_BYTES_INIT;
    if (hex[0] == '\0' || hsm_hex_decode(hex, &b) != HSM_OK || b.len == 0) {
        hsm_bytes_free(&b);
        snprintf(why, why_len, "--id '%.40s' is not hex (e.g. 01 or a1b2c3, ':' separators allowed)", hex);
        return HSM_E_ARGS;
    }
    if (b.len > cap) {
        hsm_bytes_free(&b);
        snprintf(why, why_len, "--id is too long: at most %zu bytes", cap);
        return HSM_E_ARGS;
    }
    memcpy(out, b.data, b.len);
    *len = b.len;
    hsm_bytes_free(&b);
    return HSM_OK;
}

const char *tool_key_type_name(int type)
{
    switch (type) {
    case HSM_KEY_EC: return "ec";
    case HSM_KEY_RSA: return "rsa";
    case HSM_KEY_AES: return "aes";
    default: return "unknown";
    }
}
