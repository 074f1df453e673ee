/* SPDX-License-Identifier: Apache-2.0 */
/* DER of the key-reference structure, written and read with the project's TLV helper. */
#include "keyref.h"

#include <stdlib.h>
#include <string.h>

#include "hsm/rv.h"
#include "hsm/tlv.h"

#define T_SEQUENCE 0x30
#define T_INTEGER 0x02
#define T_UTF8 0x0C
#define T_KEYREF 0x80      /* [0] IMPLICIT INTEGER */
#define T_PUBKEY 0xA1      /* [1] EXPLICIT SubjectPublicKeyInfo */

int schsm_keyref_encode_ex(const char *key_type, const char *uri, int key_ref, const uint8_t *spki,
                           size_t spki_len, hsm_bytes *out)
{
    size_t mark;
    int recorded = key_ref > 0 && key_ref <= 255 && spki != NULL && spki_len > 0 && spki_len <= SCHSM_KEYREF_SPKI_MAX;
    uint8_t version = recorded ? SCHSM_KEYREF_VERSION_RECORDED : SCHSM_KEYREF_VERSION;
    uint8_t ref[2] = { 0, (uint8_t)key_ref };
    if (strlen(uri) > SCHSM_KEYREF_URI_MAX)
        return 0;
    int ok = hsm_tlv_open(out, T_SEQUENCE, &mark) == HSM_OK
             && hsm_tlv_put(out, T_INTEGER, &version, 1) == HSM_OK
             && hsm_tlv_put(out, T_UTF8, key_type, strlen(key_type)) == HSM_OK
             && hsm_tlv_put(out, T_UTF8, uri, strlen(uri)) == HSM_OK;
    if (ok && recorded)
        /* DER INTEGER: positive, so a leading zero byte when the high bit is set */
        ok = hsm_tlv_put(out, T_KEYREF, key_ref >= 0x80 ? ref : ref + 1, key_ref >= 0x80 ? 2 : 1) == HSM_OK
             && hsm_tlv_put(out, T_PUBKEY, spki, spki_len) == HSM_OK;
    return ok && hsm_tlv_close(out, mark) == HSM_OK;
}

int schsm_keyref_encode(const char *key_type, const char *uri, hsm_bytes *out)
{
    return schsm_keyref_encode_ex(key_type, uri, -1, NULL, 0, out);
}

void schsm_keyref_clear(schsm_keyref *r)
{
    free(r->uri);
    free(r->spki);
    memset(r, 0, sizeof(*r));
    r->key_ref = -1;
}

/* [0] IMPLICIT INTEGER 1..255, minimal DER. */
static int parse_key_ref(const hsm_tlv *t, int *out)
{
    if (t->len == 1 && t->val[0] >= 1 && t->val[0] < 0x80) {
        *out = t->val[0];
        return 1;
    }
    if (t->len == 2 && t->val[0] == 0 && t->val[1] >= 0x80) {
        *out = t->val[1];
        return 1;
    }
    return 0;
}

int schsm_keyref_decode_ex(const uint8_t *buf, size_t len, schsm_keyref *r)
{
    hsm_tlv seq, ver, kt, u, t;
    const uint8_t *p, *end;

    memset(r, 0, sizeof(*r));
    r->key_ref = -1;
    if (hsm_tlv_parse_one(buf, len, &seq) != HSM_OK || seq.tag != T_SEQUENCE)
        return 0;
    p = seq.val;
    end = seq.val + seq.len;
    if (hsm_tlv_next(&p, end, &ver) != 1 || ver.tag != T_INTEGER || ver.len != 1
        || (ver.val[0] != SCHSM_KEYREF_VERSION && ver.val[0] != SCHSM_KEYREF_VERSION_RECORDED))
        return 0;
    if (hsm_tlv_next(&p, end, &kt) != 1 || kt.tag != T_UTF8 || kt.len == 0 || kt.len >= 8
        || memchr(kt.val, 0, kt.len) != NULL)
        return 0;
    if (hsm_tlv_next(&p, end, &u) != 1 || u.tag != T_UTF8 || u.len < 6 || u.len > SCHSM_KEYREF_URI_MAX
        || memchr(u.val, 0, u.len) != NULL)
        return 0;
    if (ver.val[0] == SCHSM_KEYREF_VERSION_RECORDED) {
        hsm_tlv pk;
        if (hsm_tlv_next(&p, end, &t) != 1 || t.tag != T_KEYREF || !parse_key_ref(&t, &r->key_ref)
            || hsm_tlv_next(&p, end, &pk) != 1 || pk.tag != T_PUBKEY || pk.len == 0
            || pk.len > SCHSM_KEYREF_SPKI_MAX) {
            r->key_ref = -1;
            return 0;
        }
        if ((r->spki = malloc(pk.len)) == NULL) {
            r->key_ref = -1;
            return 0;
        }
        memcpy(r->spki, pk.val, pk.len);
        r->spki_len = pk.len;
    }
    if (hsm_tlv_next(&p, end, &t) != 0) {
        schsm_keyref_clear(r);
        return 0;   /* trailing data: not a structure we wrote */
    }
    memcpy(r->key_type, kt.val, kt.len);
    r->key_type[kt.len] = '\0';
    if ((r->uri = malloc(u.len + 1)) == NULL) {
        schsm_keyref_clear(r);
        return 0;
    }
    memcpy(r->uri, u.val, u.len);
    r->uri[u.len] = '\0';
    return 1;
}

int schsm_keyref_decode(const uint8_t *buf, size_t len, char key_type[8], char **uri)
{
    schsm_keyref r;
    *uri = NULL;
    if (!schsm_keyref_decode_ex(buf, len, &r))
        return 0;
    memcpy(key_type, r.key_type, sizeof(r.key_type));
    *uri = r.uri;
    r.uri = NULL;
    schsm_keyref_clear(&r);
    return 1;
}
