/* SPDX-License-Identifier: Apache-2.0 */
/* schsm: URI parser (provider/uri.c). Properties:
 *  - what parses formats to a canonical URI that parses to the same fields and formats identically;
 *  - the PIN never appears in an error message nor in the formatted URI. To know the PIN, the
 *    input's "?pin-value=@@" (or "&...") is expanded to a marker secret (and "pin-value=@%" to its
 *    percent-encoded form), so every error path the fuzzer reaches is checked against it. */
#include "fuzz.h"

#include "uri.h"

#define SECRET "Zq7PinXk9"
#define SECRET_PCT "%5Aq7%50in%58k9"

static char *expand(const uint8_t *data, size_t size)
{
    static const char key[] = "pin-value=";
    size_t kl = sizeof(key) - 1, cap = size * 8 + 1, o = 0;
    char *out = malloc(cap);
    if (out == NULL)
        abort();
    for (size_t i = 0; i < size;) {
        /* only as a query attribute ("?pin-value=", or "&pin-value=" after the '?'), never inside
         * another value */
        if (i >= kl + 1 && i + 2 <= size && memcmp(data + i - kl, key, kl) == 0
            && (data[i - kl - 1] == '?' || (data[i - kl - 1] == '&' && memchr(data, '?', i - kl - 1) != NULL))
            && data[i] == '@' && (data[i + 1] == '@' || data[i + 1] == '%')) {
            const char *s = data[i + 1] == '@' ? SECRET : SECRET_PCT;
            memcpy(out + o, s, strlen(s));
            o += strlen(s);
            i += 2;
        } else {
            out[o++] = (char)data[i++];
        }
    }
    out[o] = '\0';
    return out;
}

static int streq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = expand(data, size);
    /* The marker may be typed outside a pin-value by the fuzzer itself: then nothing to check. */
    int marker_typed = fuzz_contains(data, size, SECRET, strlen(SECRET)) || fuzz_contains(data, size, "%5", 2)
                       || fuzz_contains(data, size, "%4", 2);
    schsm_uri u, v;
    char err[512], err2[512];
    int ok = schsm_uri_parse(text, &u, err, sizeof(err));
    if (!marker_typed)
        FUZZ_CHECK(strstr(err, SECRET) == NULL, "the PIN is never in an error");
    if (!ok) {
        FUZZ_CHECK(err[0] != '\0', "a failed parse says why");
    } else {
        char *f = schsm_uri_format(&u);
        FUZZ_CHECK(f != NULL, "format");
        if (!marker_typed)
            FUZZ_CHECK(strstr(f, SECRET) == NULL, "the PIN is never formatted");
        int ok2 = schsm_uri_parse(f, &v, err2, sizeof(err2));
        if (!ok2)
            fprintf(stderr, "canonical URI '%s' does not parse: %s\n", f, err2);
        FUZZ_CHECK(ok2, "the canonical URI parses");
        FUZZ_CHECK(streq(u.reader, v.reader) && streq(u.token, v.token) && streq(u.serial, v.serial)
                   && streq(u.object, v.object) && u.has_id == v.has_id && u.id_len == v.id_len
                   && memcmp(u.id, v.id, u.id_len) == 0 && u.type == v.type && streq(u.pin_source, v.pin_source),
                   "round trip keeps every attribute but pin-value");
        FUZZ_CHECK(v.pin_value == NULL, "pin-value is not written back");
        char *g = schsm_uri_format(&v);
        FUZZ_CHECK(g != NULL && strcmp(f, g) == 0, "the canonical form is stable");
        free(f);
        free(g);
        schsm_uri_clear(&v);
    }
    schsm_uri_clear(&u);
    free(text);
    return 0;
}
