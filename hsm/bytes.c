/* SPDX-License-Identifier: Apache-2.0 */
#include "hsm/bytes.h"
#include "hsm/rv.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

int hsm_bytes_reserve(hsm_bytes *b, size_t extra)
{
    if (b->oom)
        return HSM_E_MEM;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return HSM_E_MEM;
    }
    size_t need = b->len + extra;
    if (need <= b->cap)
        return HSM_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    /* realloc would leave a stale copy of secrets behind, so move by hand. */
    uint8_t *n = malloc(cap);
    if (n == NULL) {
        b->oom = 1;
        return HSM_E_MEM;
    }
    if (b->data != NULL) {
        memcpy(n, b->data, b->len);
        OPENSSL_cleanse(b->data, b->cap);
        free(b->data);
    }
    b->data = n;
    b->cap = cap;
    return HSM_OK;
}

int hsm_bytes_put(hsm_bytes *b, const void *p, size_t n)
{
    if (n == 0)
        return b->oom ? HSM_E_MEM : HSM_OK;
    if (hsm_bytes_reserve(b, n) != HSM_OK)
        return HSM_E_MEM;
    memmove(b->data + b->len, p, n);
    b->len += n;
    return HSM_OK;
}

int hsm_bytes_put_u8(hsm_bytes *b, uint8_t v)
{
    return hsm_bytes_put(b, &v, 1);
}

int hsm_bytes_put_u16(hsm_bytes *b, uint16_t v)
{
    uint8_t t[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    return hsm_bytes_put(b, t, 2);
}

int hsm_bytes_put_u32(hsm_bytes *b, uint32_t v)
{
    uint8_t t[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    return hsm_bytes_put(b, t, 4);
}

int hsm_bytes_set(hsm_bytes *b, const void *p, size_t n)
{
    hsm_bytes_clear(b);
    return hsm_bytes_put(b, p, n);
}

void hsm_bytes_clear(hsm_bytes *b)
{
    if (b->data != NULL)
        OPENSSL_cleanse(b->data, b->cap);
    b->len = 0;
    b->oom = 0;
}

void hsm_bytes_free(hsm_bytes *b)
{
    if (b->data != NULL) {
        OPENSSL_cleanse(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

int hsm_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hsm_hex_decode(const char *hex, hsm_bytes *out)
{
    int hi = -1;
    hsm_bytes_clear(out);
    for (const char *s = hex; *s != '\0'; s++) {
        if (*s == ':' || *s == ' ')
            continue;
        int v = hsm_hexval((unsigned char)*s);
        if (v < 0)
            return HSM_E_ARGS;
        if (hi < 0) {
            hi = v;
        } else {
            if (hsm_bytes_put_u8(out, (uint8_t)(hi << 4 | v)) != HSM_OK)
                return HSM_E_MEM;
            hi = -1;
        }
    }
    return hi < 0 ? HSM_OK : HSM_E_ARGS;
}

char *hsm_hex_encode(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(n * 2 + 1);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    s[2 * n] = '\0';
    return s;
}
