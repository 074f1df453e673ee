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

int schsm_keyref_encode(const char *key_type, const char *uri, hsm_bytes *out)
{
    size_t mark;
    uint8_t version = SCHSM_KEYREF_VERSION;
    if (strlen(uri) > SCHSM_KEYREF_URI_MAX)
        return 0;
    return hsm_tlv_open(out, T_SEQUENCE, &mark) == HSM_OK
           && hsm_tlv_put(out, T_INTEGER, &version, 1) == HSM_OK
           && hsm_tlv_put(out, T_UTF8, key_type, strlen(key_type)) == HSM_OK
           && hsm_tlv_put(out, T_UTF8, uri, strlen(uri)) == HSM_OK
           && hsm_tlv_close(out, mark) == HSM_OK;
}

int schsm_keyref_decode(const uint8_t *buf, size_t len, char key_type[8], char **uri)
{
    hsm_tlv seq, ver, kt, u, extra;
    const uint8_t *p, *end;

    *uri = NULL;
    if (hsm_tlv_parse_one(buf, len, &seq) != HSM_OK || seq.tag != T_SEQUENCE)
        return 0;
    p = seq.val;
    end = seq.val + seq.len;
    if (hsm_tlv_next(&p, end, &ver) != 1 || ver.tag != T_INTEGER || ver.len != 1
        || ver.val[0] != SCHSM_KEYREF_VERSION)
        return 0;
    if (hsm_tlv_next(&p, end, &kt) != 1 || kt.tag != T_UTF8 || kt.len == 0 || kt.len >= 8
        || memchr(kt.val, 0, kt.len) != NULL)
        return 0;
    if (hsm_tlv_next(&p, end, &u) != 1 || u.tag != T_UTF8 || u.len < 6 || u.len > SCHSM_KEYREF_URI_MAX
        || memchr(u.val, 0, u.len) != NULL)
        return 0;
    if (hsm_tlv_next(&p, end, &extra) != 0)
        return 0;   /* trailing data: not a structure we wrote */
    memcpy(key_type, kt.val, kt.len);
    key_type[kt.len] = '\0';
    if ((*uri = malloc(u.len + 1)) == NULL)
        return 0;
    memcpy(*uri, u.val, u.len);
    (*uri)[u.len] = '\0';
    return 1;
}
