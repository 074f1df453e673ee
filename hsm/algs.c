/* SPDX-License-Identifier: Apache-2.0 */
#include "hsm/algs.h"
#include "hsm/bytes.h"
#include "hsm/card.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Which key types may carry an id (bit per enum hsm_key_type). */
#define T_EC (1u << HSM_KEY_EC)
#define T_RSA (1u << HSM_KEY_RSA)
#define T_AES (1u << HSM_KEY_AES)

/* The first entry for an id is the name it is shown with; later ones are aliases for input. */
static const struct {
    const char *name;
    uint8_t id;
    unsigned types;
} algs[] = {
    { "rsa-raw", HSM_ALG_RSA_RAW, T_RSA },
    { "rsa-decrypt", HSM_ALG_RSA_DECRYPT_RAW, T_RSA },
    { "decrypt", HSM_ALG_RSA_DECRYPT_RAW, T_RSA },     /* what the host uses for PKCS#1 and OAEP */
    { "rsa-decrypt-raw", HSM_ALG_RSA_DECRYPT_RAW, T_RSA },
    { "rsa-decrypt-pkcs1", 0x22, T_RSA },             /* card strips the padding (protocol 8.3) */
    { "rsa-oaep", 0x23, T_RSA },
    { "rsa-decrypt-oaep", 0x23, T_RSA },
    { "rsa-oaep-sha256", 0x23, T_RSA },
    { "rsa-pkcs1", HSM_ALG_RSA_PKCS1_DI, T_RSA },
    { "rsa-pkcs1-sha1", HSM_ALG_RSA_PKCS1_SHA1, T_RSA },
    { "rsa-pkcs1-sha224", 0x32, T_RSA },
    { "rsa-pkcs1-sha256", HSM_ALG_RSA_PKCS1_SHA256, T_RSA },
    { "rsa-pkcs1-sha384", HSM_ALG_RSA_PKCS1_SHA384, T_RSA },
    { "rsa-pkcs1-sha512", HSM_ALG_RSA_PKCS1_SHA512, T_RSA },
    { "rsa-pss", HSM_ALG_RSA_PSS, T_RSA },
    { "rsa-pss-sha1", HSM_ALG_RSA_PSS_SHA1, T_RSA },
    { "rsa-pss-sha224", 0x42, T_RSA },
    { "rsa-pss-sha256", HSM_ALG_RSA_PSS_SHA256, T_RSA },
    { "rsa-pss-sha384", HSM_ALG_RSA_PSS_SHA384, T_RSA },
    { "rsa-pss-sha512", HSM_ALG_RSA_PSS_SHA512, T_RSA },
    { "ecdsa", HSM_ALG_ECDSA, T_EC },
    { "ecdsa-sha1", HSM_ALG_ECDSA_SHA1, T_EC },
    { "ecdsa-sha224", HSM_ALG_ECDSA_SHA224, T_EC },
    { "ecdsa-sha256", HSM_ALG_ECDSA_SHA256, T_EC },
    { "ecdsa-sha384", HSM_ALG_ECDSA_SHA384, T_EC },
    { "ecdsa-sha512", HSM_ALG_ECDSA_SHA512, T_EC },
    { "ecdh", HSM_ALG_ECDH, T_EC },
    { "ecdh-autpuk", HSM_ALG_ECDH_AUTPUK, T_EC },
    { "ecdh-xkek", HSM_ALG_ECDH_XKEK, T_EC },
    { "derive-ec", HSM_ALG_DERIVE_EC, T_EC },
    { "aes-cbc-encrypt", 0x10, T_AES },
    { "aes-cbc-decrypt", 0x11, T_AES },
    { "aes-cmac", 0x18, T_AES },
    { "derive-sym", HSM_ALG_DERIVE_SYM, T_AES },
    { "wrap", HSM_ALG_WRAP, T_EC | T_RSA | T_AES },
    { "export", HSM_ALG_WRAP, T_EC | T_RSA | T_AES },
    { "unwrap", HSM_ALG_UNWRAP, T_EC | T_RSA | T_AES },
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

const char *hsm_alg_name(uint8_t id)
{
    for (size_t i = 0; i < NALGS; i++)
        if (algs[i].id == id)
            return algs[i].name;
    return NULL;
}

static const char *type_name(enum hsm_key_type t)
{
    return t == HSM_KEY_EC ? "an EC" : t == HSM_KEY_RSA ? "an RSA" : t == HSM_KEY_AES ? "an AES" : "this";
}

static int add_id(uint8_t out[HSM_ALGS_MAX], size_t *n, uint8_t id, char *why, size_t why_len)
{
    for (size_t i = 0; i < *n; i++)
        if (out[i] == id)
            return HSM_OK;   /* duplicates are harmless: keep the list short */
    if (*n >= HSM_ALGS_MAX) {
        snprintf(why, why_len, "--algorithms: at most %d algorithms fit in a key's algorithm list", HSM_ALGS_MAX);
        return HSM_E_ARGS;
    }
    out[(*n)++] = id;
    return HSM_OK;
}

/* One list item: a name, or hex bytes ("70", "0x70", "707380"). */
static int parse_item(const char *item, size_t len, enum hsm_key_type type, uint8_t out[HSM_ALGS_MAX], size_t *n,
                      char *why, size_t why_len)
{
    for (size_t i = 0; i < NALGS; i++) {
        if (strlen(algs[i].name) != len || strncasecmp(algs[i].name, item, len) != 0)
            continue;
        if (type != HSM_KEY_NONE && !(algs[i].types & (1u << type))) {
            snprintf(why, why_len, "--algorithms: %s does not fit %s key", algs[i].name, type_name(type));
            return HSM_E_ARGS;
        }
        return add_id(out, n, algs[i].id, why, why_len);
    }
    const char *h = item;
    size_t hl = len;
    if (hl > 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X')) {
        h += 2;
        hl -= 2;
    }
    int ok = hl > 0 && hl % 2 == 0;
    for (size_t i = 0; ok && i < hl; i++)
        ok = hsm_hexval((unsigned char)h[i]) >= 0;
    if (!ok) {
        snprintf(why, why_len, "--algorithms: unknown algorithm '%.*s': use names such as ecdsa, ecdsa-sha256, "
                 "ecdh, wrap, rsa-raw, rsa-pkcs1, rsa-pss, decrypt, rsa-oaep, or hex ids such as 70",
                 (int)(len > 40 ? 40 : len), item);
        return HSM_E_ARGS;
    }
    for (size_t i = 0; i < hl; i += 2) {
        uint8_t id = (uint8_t)(hsm_hexval((unsigned char)h[i]) << 4 | hsm_hexval((unsigned char)h[i + 1]));
        if (add_id(out, n, id, why, why_len) != HSM_OK)
            return HSM_E_ARGS;
    }
    return HSM_OK;
}

int hsm_alg_parse_list(const char *list, enum hsm_key_type type, uint8_t out[HSM_ALGS_MAX], size_t *n,
                       char *why, size_t why_len)
{
    *n = 0;
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len > 0 && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        if (len == 0) {
            snprintf(why, why_len, "--algorithms: empty entry in the list");
            return HSM_E_ARGS;
        }
        if (parse_item(p, len, type, out, n, why, why_len) != HSM_OK)
            return HSM_E_ARGS;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return HSM_OK;
}

void hsm_alg_list_text(const uint8_t *ids, size_t n, char *buf, size_t cap)
{
    size_t off = 0;
    if (cap == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off < cap; i++) {
        const char *name = hsm_alg_name(ids[i]);
        int w = name != NULL ? snprintf(buf + off, cap - off, "%s%s", i ? ", " : "", name)
                             : snprintf(buf + off, cap - off, "%s%02x", i ? ", " : "", ids[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

void hsm_alg_list_hex(const uint8_t *ids, size_t n, char *buf, size_t cap)
{
    size_t off = 0;
    if (cap == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off + 4 <= cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%02X", i ? " " : "", ids[i]);
}

int hsm_alg_list_allows(const hsm_alg_list *l, uint8_t id)
{
    if (l == NULL || !l->known || !l->restricted)
        return 1;
    return memchr(l->ids, id, l->n) != NULL;
}

static void take_91(const hsm_tlv *t, hsm_alg_list *out)
{
    size_t n = t->len < HSM_ALGS_MAX ? t->len : HSM_ALGS_MAX;
    memcpy(out->ids, t->val, n);
    out->n = n;
    out->restricted = 1;
}

int hsm_alg_list_from_fcp(const uint8_t *fcp, size_t len, hsm_alg_list *out)
{
    hsm_tlv top, a5, t91;
    memset(out, 0, sizeof(*out));
    if (fcp == NULL || hsm_tlv_parse_one(fcp, len, &top) != HSM_OK || top.tag != 0x62)
        return HSM_E_PARSE;
    out->known = 1;
    if (hsm_tlv_find(top.val, top.len, 0xA5, &a5) == 1 && hsm_tlv_find(a5.val, a5.len, 0x91, &t91) == 1)
        take_91(&t91, out);
    else if (hsm_tlv_find(top.val, top.len, 0x91, &t91) == 1)
        take_91(&t91, out);
    return HSM_OK;
}
