/* SPDX-License-Identifier: Apache-2.0 */
#include "hsm/uri_text.h"

#include <string.h>

void hsm_uri_put_encoded(hsm_bytes *b, const uint8_t *v, size_t n, int keep_path, int all)
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

static void attr(hsm_bytes *b, int *first, const char *name, const uint8_t *v, size_t n, int all)
{
    if (!*first)
        hsm_bytes_put_u8(b, ';');
    *first = 0;
    hsm_bytes_put(b, name, strlen(name));
    hsm_bytes_put_u8(b, '=');
    hsm_uri_put_encoded(b, v, n, 0, all);
}

char *hsm_object_uri(const char *serial, const char *label, const uint8_t *id, size_t id_len, const char *type)
{
    hsm_bytes b = HSM_BYTES_INIT;
    int first = 1;
    hsm_bytes_put(&b, "schsm:", 6);
    if (serial != NULL && *serial != '\0')
        attr(&b, &first, "serial", (const uint8_t *)serial, strlen(serial), 0);
    if (label != NULL && *label != '\0')
        attr(&b, &first, "object", (const uint8_t *)label, strlen(label), 0);
    if (id != NULL && id_len > 0)
        attr(&b, &first, "id", id, id_len, 1);
    if (type != NULL)
        attr(&b, &first, "type", (const uint8_t *)type, strlen(type), 0);
    hsm_bytes_put_u8(&b, 0);
    if (b.oom) {
        hsm_bytes_free(&b);
        return NULL;
    }
    return (char *)b.data;
}
