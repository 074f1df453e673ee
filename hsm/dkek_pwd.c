/* SPDX-License-Identifier: Apache-2.0 */
/* n-of-m sharing of a DKEK share file's password (sheet 12.8): Shamir's scheme over GF(p) for
 * a 64-bit prime p. Arithmetic is on uint64_t with 128-bit intermediate products. The secret is
 * always handled as exactly 8 big-endian bytes, so a secret that starts with 00 survives. */
#include "hsm/dkek.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "hsm/crypto.h"
#include "hsm/rv.h"

typedef unsigned __int128 u128;

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t p)
{
    return (uint64_t)((u128)a * b % p);
}

static uint64_t addmod(uint64_t a, uint64_t b, uint64_t p)
{
    return (uint64_t)(((u128)a + b) % p);
}

static uint64_t powmod(uint64_t b, uint64_t e, uint64_t p)
{
    uint64_t r = 1 % p;
    b %= p;
    while (e > 0) {
        if (e & 1)
            r = mulmod(r, b, p);
        b = mulmod(b, b, p);
        e >>= 1;
    }
    return r;
}

static uint64_t get_be64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static void put_be64(uint8_t *b, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        b[i] = (uint8_t)v;
        v >>= 8;
    }
}

int hsm_pwd_prime(uint64_t *prime)
{
    if (prime == NULL)
        return HSM_E_ARGS;
    BN_CTX *ctx = BN_CTX_new_ex(hsm_libctx());
    BIGNUM *p = BN_new();
    uint8_t b[8];
    int ok = ctx != NULL && p != NULL && BN_generate_prime_ex2(p, 64, 1, NULL, NULL, NULL, ctx) == 1
             && BN_num_bits(p) == 64 && BN_bn2binpad(p, b, 8) == 8;
    if (ok)
        *prime = get_be64(b);
    BN_free(p);
    BN_CTX_free(ctx);
    return ok ? HSM_OK : HSM_E_CRYPTO;
}

int hsm_pwd_check_params(long threshold, long total, char *why, size_t why_len)
{
    if (total < 3 || total > HSM_PWD_SHARES_MAX) {
        snprintf(why, why_len, "--pwd-shares-total must be from 3 to %d (with 2 shares, a threshold of 2 "
                 "is just a split password and 1 share would be the password itself)", HSM_PWD_SHARES_MAX);
        return HSM_E_ARGS;
    }
    if (threshold < 2 || threshold > total) {
        snprintf(why, why_len, "--pwd-shares-threshold must be from 2 to the total number of shares (%ld)", total);
        return HSM_E_ARGS;
    }
    return HSM_OK;
}

int hsm_pwd_split(const uint8_t secret[HSM_PWD_SECRET_LEN], uint64_t prime, unsigned threshold, unsigned total,
                  const uint8_t *rnd, size_t rnd_len, hsm_pwd_share *out)
{
    if (secret == NULL || out == NULL || threshold < 2 || threshold > total || total > HSM_PWD_SHARES_MAX
        || rnd == NULL || rnd_len < 16 * (size_t)(threshold - 1) || prime < 3)
        return HSM_E_ARGS;
    uint64_t s = get_be64(secret);
    if (s >= prime)
        return HSM_E_ARGS;
    uint64_t coef[HSM_PWD_SHARES_MAX];
    coef[0] = s;
    for (unsigned i = 1; i < threshold; i++) {
        /* 128 random bits reduced mod p: uniform up to a 2^-64 bias. */
        u128 r = ((u128)get_be64(rnd + 16 * (i - 1)) << 64) | get_be64(rnd + 16 * (i - 1) + 8);
        coef[i] = (uint64_t)(r % prime);
    }
    for (unsigned x = 1; x <= total; x++) {
        /* Horner: f(x) = c0 + x (c1 + x (c2 + ...)) */
        uint64_t y = 0;
        for (unsigned i = threshold; i-- > 0;)
            y = addmod(mulmod(y, x, prime), coef[i], prime);
        out[x - 1].prime = prime;
        out[x - 1].id = x;
        out[x - 1].value = y;
    }
    OPENSSL_cleanse(coef, sizeof(coef));
    s = 0;
    return HSM_OK;
}

int hsm_pwd_combine(const hsm_pwd_share *sh, size_t n, uint8_t secret[HSM_PWD_SECRET_LEN])
{
    if (sh == NULL || secret == NULL || n < 2 || n > HSM_PWD_SHARES_MAX)
        return HSM_E_ARGS;
    memset(secret, 0, HSM_PWD_SECRET_LEN);
    uint64_t p = sh[0].prime;
    if (p < 3 || (p & 1) == 0)
        return HSM_E_ARGS;
    for (size_t i = 0; i < n; i++) {
        if (sh[i].prime != p || sh[i].id == 0 || sh[i].id >= p || sh[i].value >= p)
            return HSM_E_ARGS;
        for (size_t j = 0; j < i; j++)
            if (sh[j].id == sh[i].id)
                return HSM_E_ARGS;
    }
    /* f(0) = sum_i y_i * prod_{j != i} x_j / (x_j - x_i) */
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t num = 1, den = 1;
        for (size_t j = 0; j < n; j++) {
            if (j == i)
                continue;
            num = mulmod(num, sh[j].id, p);
            den = mulmod(den, (sh[j].id + p - sh[i].id) % p, p);
        }
        uint64_t li = mulmod(num, powmod(den, p - 2, p), p);
        s = addmod(s, mulmod(sh[i].value, li, p), p);
    }
    int rc = HSM_OK;
    if (s >> 63)
        rc = HSM_E_VERIFY;   /* secrets have the top bit cleared: these shares do not belong together */
    else
        put_be64(secret, s);
    s = 0;
    return rc;
}

static int hex8(char *out, size_t cap, uint64_t v)
{
    uint8_t b[8];
    put_be64(b, v);
    return snprintf(out, cap, "%02x:%02x:%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6],
                    b[7]);
}

int hsm_pwd_share_format(const hsm_pwd_share *s, char *out, size_t cap)
{
    char p[32], v[32];
    if (s == NULL || out == NULL)
        return HSM_E_ARGS;
    hex8(p, sizeof(p), s->prime);
    hex8(v, sizeof(v), s->value);
    int n = snprintf(out, cap, "Prime:       %s\nShare ID:    %u\nShare value: %s\n", p, s->id, v);
    OPENSSL_cleanse(v, sizeof(v));
    return n > 0 && (size_t)n < cap ? HSM_OK : HSM_E_ARGS;
}

/* Up to 16 hex digits (':' and ' ' separators ignored, odd counts allowed as typed) into v. */
static int parse_hex64(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    int digits = 0;
    for (; *s != '\0'; s++) {
        if (*s == ':' || *s == ' ')
            continue;
        int d = hsm_hexval((unsigned char)*s);
        if (d < 0 || ++digits > 16)
            return HSM_E_PARSE;
        x = x << 4 | (uint64_t)d;
    }
    if (digits == 0)
        return HSM_E_PARSE;
    *v = x;
    return HSM_OK;
}

/* Copies one line into buf without surrounding blanks; returns its length or -1 when too long. */
static int take_line(const char *p, size_t n, char *buf, size_t cap)
{
    while (n > 0 && isspace((unsigned char)*p)) {
        p++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        n--;
    if (n >= cap)
        return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return (int)n;
}

int hsm_pwd_shares_parse(const char *text, size_t len, hsm_pwd_share *out, size_t cap, size_t *n, char *why,
                         size_t why_len)
{
    if (text == NULL || out == NULL || n == NULL)
        return HSM_E_ARGS;
    *n = 0;
    int have_prime = 0, have_id = 0, lineno = 0, rc = HSM_OK;
    hsm_pwd_share cur;
    memset(&cur, 0, sizeof(cur));
    char line[256];
    const char *p = text, *end = text + len;
    while (p < end && rc == HSM_OK) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        int l = take_line(p, ll, line, sizeof(line));
        p += ll + (nl ? 1 : 0);
        if (l <= 0)
            continue;
        char *colon = strchr(line, ':');
        if (colon == NULL)
            continue;
        size_t kl = (size_t)(colon - line);
        while (kl > 0 && isspace((unsigned char)line[kl - 1]))
            kl--;
        const char *val = colon + 1;
        while (isspace((unsigned char)*val))
            val++;
        if (kl == 5 && strncasecmp(line, "prime", 5) == 0) {
            if (parse_hex64(val, &cur.prime) != HSM_OK) {
                snprintf(why, why_len, "line %d: the prime must be up to 8 bytes of hex", lineno);
                rc = HSM_E_PARSE;
            }
            have_prime = 1;
        } else if (kl == 8 && strncasecmp(line, "share id", 8) == 0) {
            char *e = NULL;
            unsigned long id = strtoul(val, &e, 10);
            if (e == val || *e != '\0' || id < 1 || id > HSM_PWD_SHARES_MAX) {
                snprintf(why, why_len, "line %d: the share ID must be a number from 1 to %d", lineno,
                         HSM_PWD_SHARES_MAX);
                rc = HSM_E_PARSE;
            }
            cur.id = (unsigned)id;
            have_id = 1;
        } else if (kl == 11 && strncasecmp(line, "share value", 11) == 0) {
            if (!have_prime || !have_id) {
                snprintf(why, why_len, "line %d: a share value needs its prime and share ID before it", lineno);
                rc = HSM_E_PARSE;
            } else if (parse_hex64(val, &cur.value) != HSM_OK) {
                snprintf(why, why_len, "line %d: the share value must be up to 8 bytes of hex", lineno);
                rc = HSM_E_PARSE;
            } else if (*n >= cap) {
                snprintf(why, why_len, "too many shares (at most %zu)", cap);
                rc = HSM_E_PARSE;
            } else {
                out[(*n)++] = cur;
                have_id = 0;   /* the prime is the same for all shares; the ID is per share */
            }
        }
    }
    OPENSSL_cleanse(line, sizeof(line));
    OPENSSL_cleanse(&cur, sizeof(cur));
    if (rc == HSM_OK && *n == 0) {
        snprintf(why, why_len, "no share found (expected lines \"Prime: ..\", \"Share ID: ..\", \"Share value: ..\")");
        rc = HSM_E_PARSE;
    }
    if (rc != HSM_OK) {
        OPENSSL_cleanse(out, cap * sizeof(*out));
        *n = 0;
    }
    return rc;
}
