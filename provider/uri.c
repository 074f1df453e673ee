/* SPDX-License-Identifier: Apache-2.0 */
/* schsm: URI parser and formatter. Strict on purpose: a typo in an attribute name must not
 * silently widen a search to "any key on the card". */
#include "uri.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "hsm/bytes.h"

#define SCHEME "schsm:"
#define SCHEME_LEN 6

static int uri_fail(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int uri_fail(char *err, size_t err_len, const char *fmt, ...)
{
    if (err != NULL && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return 0;
}

int schsm_uri_is_schsm(const char *text)
{
    return text != NULL && strncasecmp(text, SCHEME, SCHEME_LEN) == 0;
}

/* Characters that may appear literally in a value. Structural characters (; ? & and, in the
 * query, =) are excluded by the caller's splitting; '/' and ':' are allowed so that reader
 * paths like sim:/tmp/card.state need no escaping. Whitespace, controls, '#' and '%' not
 * followed by two hex digits are refused. */
static int literal_ok(unsigned char c)
{
    return c > 0x20 && c != 0x7f && c != '#' && c != '"' && c != '<' && c != '>' && c != '\\'
           && c != '`' && c != '{' && c != '}' && c != '|' && c != '^';
}

/* Decodes [s, s+n) into out (NUL-terminated as well). Returns 1 or 0 with err set; the message
 * names the attribute but never echoes a secret value. */
static int pct_decode(const char *s, size_t n, const char *attr, int secret, hsm_bytes *out,
                      char *err, size_t err_len)
{
    hsm_bytes_clear(out);
    out->len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hsm_hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hsm_hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                int show = (int)(n - i < 3 ? n - i : 3);
                return uri_fail(err, err_len, "bad percent-encoding in attribute '%s'%s%.*s%s", attr,
                            secret ? "" : " at '", secret ? 0 : show, s + i, secret ? "" : "'");
            }
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (!literal_ok(c)) {
            return uri_fail(err, err_len,
                        "character 0x%02x must be percent-encoded in attribute '%s'", c, attr);
        }
        if (hsm_bytes_put_u8(out, c) != 0)
            return uri_fail(err, err_len, "out of memory");
    }
    return 1;
}

static int dup_string(const hsm_bytes *b, const char *attr, char **dst, char *err, size_t err_len)
{
    if (b->len == 0)
        return uri_fail(err, err_len, "attribute '%s' has an empty value", attr);
    if (memchr(b->data, 0, b->len) != NULL)
        return uri_fail(err, err_len, "attribute '%s' contains a NUL byte", attr);
    char *s = malloc(b->len + 1);
    if (s == NULL)
        return uri_fail(err, err_len, "out of memory");
    memcpy(s, b->data, b->len);
    s[b->len] = '\0';
    *dst = s;
    return 1;
}

static const char *const path_attrs[] = {"reader", "token", "serial", "object", "id", "type", "pool", NULL};
static const char *const query_attrs[] = {"pin-source", "pin-value", NULL};

static int path_attr(schsm_uri *u, const char *name, const hsm_bytes *v, char *err, size_t err_len)
{
    char **slot = NULL;
    if (strcmp(name, "reader") == 0)
        slot = &u->reader;
    else if (strcmp(name, "token") == 0)
        slot = &u->token;
    else if (strcmp(name, "serial") == 0)
        slot = &u->serial;
    else if (strcmp(name, "object") == 0)
        slot = &u->object;
    else if (strcmp(name, "pool") == 0)
        slot = &u->pool;
    if (slot != NULL) {
        if (*slot != NULL)
            return uri_fail(err, err_len, "attribute '%s' given twice", name);
        return dup_string(v, name, slot, err, err_len);
    }
    if (strcmp(name, "id") == 0) {
        if (u->has_id)
            return uri_fail(err, err_len, "attribute 'id' given twice");
        if (v->len == 0 || v->len > HSM_ID_MAX)
            return uri_fail(err, err_len, "attribute 'id' must be 1 to %d bytes, got %zu", HSM_ID_MAX, v->len);
        memcpy(u->id, v->data, v->len);
        u->id_len = v->len;
        u->has_id = 1;
        return 1;
    }
    /* type */
    if (u->type != SCHSM_URI_ANY)
        return uri_fail(err, err_len, "attribute 'type' given twice");
    static const struct { const char *s; int t; } types[] = {
        {"private", SCHSM_URI_PRIVATE}, {"public", SCHSM_URI_PUBLIC}, {"cert", SCHSM_URI_CERT},
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (v->len == strlen(types[i].s) && memcmp(v->data, types[i].s, v->len) == 0) {
            u->type = types[i].t;
            return 1;
        }
    return uri_fail(err, err_len, "attribute 'type' must be private, public or cert");
}

static int query_attr(schsm_uri *u, const char *name, const hsm_bytes *v, char *err, size_t err_len)
{
    if (strcmp(name, "pin-value") == 0) {
        if (u->pin_value != NULL)
            return uri_fail(err, err_len, "attribute 'pin-value' given twice");
        return dup_string(v, name, &u->pin_value, err, err_len);
    }
    if (u->pin_source != NULL)
        return uri_fail(err, err_len, "attribute 'pin-source' given twice");
    if (!dup_string(v, name, &u->pin_source, err, err_len))
        return 0;
    if (strncmp(u->pin_source, "file:", 5) != 0 && strncmp(u->pin_source, "env:", 4) != 0)
        return uri_fail(err, err_len, "pin-source must be file:PATH or env:NAME");
    if (u->pin_source[u->pin_source[0] == 'f' ? 5 : 4] == '\0')
        return uri_fail(err, err_len, "pin-source '%s' names no file or variable", u->pin_source);
    return 1;
}

static int known(const char *const *list, const char *name)
{
    for (; *list != NULL; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

/* Parses the attributes in [s, s+n) separated by sep. */
static int parse_part(schsm_uri *u, const char *s, size_t n, char sep, int query, char *err, size_t err_len)
{
    hsm_bytes val = HSM_BYTES_INIT;
    int ok = 1;
    size_t pos = 0;
    if (n > 0 && s[n - 1] == sep)
        return uri_fail(err, err_len, "empty attribute in the %s (stray '%c' at the end)",
                        query ? "query" : "path", sep);
    while (ok && pos < n) {
        const char *a = s + pos;
        const char *e = memchr(a, sep, n - pos);
        size_t alen = e != NULL ? (size_t)(e - a) : n - pos;
        pos += alen + 1;
        if (alen == 0) {
            ok = uri_fail(err, err_len, "empty attribute in the %s (stray '%c')", query ? "query" : "path", sep);
            break;
        }
        const char *eq = memchr(a, '=', alen);
        char name[32];
        size_t nlen = eq != NULL ? (size_t)(eq - a) : alen;
        if (nlen == 0 || nlen >= sizeof(name)) {
            ok = uri_fail(err, err_len, "malformed attribute name in the %s", query ? "query" : "path");
            break;
        }
        memcpy(name, a, nlen);
        name[nlen] = '\0';
        for (size_t i = 0; i < nlen; i++)
            if (!((name[i] >= 'a' && name[i] <= 'z') || name[i] == '-' || (name[i] >= '0' && name[i] <= '9')))
                name[i] = '?';
        if (!known(query ? query_attrs : path_attrs, name)) {
            if (known(query ? path_attrs : query_attrs, name))
                ok = uri_fail(err, err_len, "attribute '%s' belongs in the %s", name,
                          query ? "path (before '?')" : "query (after '?')");
            else
                ok = uri_fail(err, err_len, "unknown %s attribute '%s' (known: %s)", query ? "query" : "path",
                          name, query ? "pin-source, pin-value" : "reader, token, serial, object, id, type, pool");
            break;
        }
        if (eq == NULL) {
            ok = uri_fail(err, err_len, "attribute '%s' has no '=value'", name);
            break;
        }
        int secret = strcmp(name, "pin-value") == 0;
        ok = pct_decode(eq + 1, alen - nlen - 1, name, secret, &val, err, err_len)
             && (query ? query_attr(u, name, &val, err, err_len) : path_attr(u, name, &val, err, err_len));
    }
    hsm_bytes_free(&val);
    return ok;
}

int schsm_uri_parse(const char *text, schsm_uri *u, char *err, size_t err_len)
{
    memset(u, 0, sizeof(*u));
    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (!schsm_uri_is_schsm(text))
        return uri_fail(err, err_len, "not a schsm: URI");
    const char *s = text + SCHEME_LEN;
    /* RFC 7512 has no authority; "schsm://..." is a common slip worth a precise message. */
    if (s[0] == '/' && s[1] == '/')
        return uri_fail(err, err_len, "schsm: URIs take no '//' (write schsm:object=NAME;type=private)");
    const char *q = strchr(s, '?');
    size_t plen = q != NULL ? (size_t)(q - s) : strlen(s);
    if (!parse_part(u, s, plen, ';', 0, err, err_len))
        return 0;
    if (q != NULL) {
        if (q[1] == '\0')
            return uri_fail(err, err_len, "empty query after '?'");
        if (strchr(q + 1, '?') != NULL)
            return uri_fail(err, err_len, "more than one '?' in the URI");
        if (!parse_part(u, q + 1, strlen(q + 1), '&', 1, err, err_len))
            return 0;
        if (u->pin_value != NULL && u->pin_source != NULL)
            return uri_fail(err, err_len, "give pin-source or pin-value, not both");
    }
    return 1;
}

static void free_str(char **s)
{
    free(*s);
    *s = NULL;
}

void schsm_uri_clear(schsm_uri *u)
{
    if (u == NULL)
        return;
    free_str(&u->reader);
    free_str(&u->token);
    free_str(&u->serial);
    free_str(&u->object);
    free_str(&u->pool);
    free_str(&u->pin_source);
    if (u->pin_value != NULL) {
        OPENSSL_cleanse(u->pin_value, strlen(u->pin_value));
        free_str(&u->pin_value);
    }
    memset(u, 0, sizeof(*u));
}

/* Appends v percent-encoding everything but RFC 3986 unreserved characters (and, when
 * keep_path is set, ':' and '/', which keep reader paths readable). */
static void put_encoded(hsm_bytes *b, const uint8_t *v, size_t n, int keep_path, int all)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        uint8_t c = v[i];
        int plain = !all && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                             || c == '-' || c == '.' || c == '_' || c == '~'
                             || (keep_path && (c == ':' || c == '/')));
        if (plain) {
            hsm_bytes_put_u8(b, c);
        } else {
            hsm_bytes_put_u8(b, '%');
            hsm_bytes_put_u8(b, (uint8_t)hex[c >> 4]);
            hsm_bytes_put_u8(b, (uint8_t)hex[c & 15]);
        }
    }
}

static void put_attr(hsm_bytes *b, int *first, char sep, const char *name, const uint8_t *v, size_t n,
                     int keep_path, int all)
{
    if (!*first)
        hsm_bytes_put_u8(b, (uint8_t)sep);
    *first = 0;
    hsm_bytes_put(b, name, strlen(name));
    hsm_bytes_put_u8(b, '=');
    put_encoded(b, v, n, keep_path, all);
}

static void put_str(hsm_bytes *b, int *first, const char *name, const char *v, int keep_path)
{
    if (v != NULL && v[0] != '\0')
        put_attr(b, first, ';', name, (const uint8_t *)v, strlen(v), keep_path, 0);
}

char *schsm_uri_format(const schsm_uri *u)
{
    hsm_bytes b = HSM_BYTES_INIT;
    int first = 1;
    static const char *const tnames[] = {NULL, "private", "public", "cert"};

    hsm_bytes_put(&b, SCHEME, SCHEME_LEN);
    put_str(&b, &first, "reader", u->reader, 1);
    put_str(&b, &first, "token", u->token, 0);
    put_str(&b, &first, "serial", u->serial, 0);
    put_str(&b, &first, "object", u->object, 0);
    if (u->has_id)
        put_attr(&b, &first, ';', "id", u->id, u->id_len, 0, 1);
    if (u->type > SCHSM_URI_ANY && u->type <= SCHSM_URI_CERT)
        put_str(&b, &first, "type", tnames[u->type], 0);
    put_str(&b, &first, "pool", u->pool, 0);
    if (u->pin_source != NULL) {
        int qfirst = 1;
        hsm_bytes_put_u8(&b, '?');
        put_attr(&b, &qfirst, '&', "pin-source", (const uint8_t *)u->pin_source, strlen(u->pin_source), 1, 0);
    }
    hsm_bytes_put_u8(&b, 0);
    if (b.oom) {
        hsm_bytes_free(&b);
        return NULL;
    }
    return (char *)b.data;  /* hsm_bytes owns a plain malloc'd buffer */
}

char *schsm_uri_for_key(const char *reader, const char *serial, const char *label,
                        const uint8_t *id, size_t id_len)
{
    schsm_uri u;
    memset(&u, 0, sizeof(u));
    u.reader = (char *)reader;
    u.serial = (char *)serial;
    u.object = label != NULL && label[0] != '\0' ? (char *)label : NULL;
    if (id != NULL && id_len > 0 && id_len <= HSM_ID_MAX) {
        memcpy(u.id, id, id_len);
        u.id_len = id_len;
        u.has_id = 1;
    }
    u.type = SCHSM_URI_PRIVATE;
    return schsm_uri_format(&u);
}
