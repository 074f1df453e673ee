/* SPDX-License-Identifier: Apache-2.0 */
#include "rsa_pad.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

static const struct { int pad; const char *name; } pad_names[] = {
    { RSA_PKCS1_PADDING, OSSL_PKEY_RSA_PAD_MODE_PKCSV15 },
    { RSA_PKCS1_PSS_PADDING, OSSL_PKEY_RSA_PAD_MODE_PSS },
    { RSA_PKCS1_OAEP_PADDING, OSSL_PKEY_RSA_PAD_MODE_OAEP },
    { RSA_NO_PADDING, OSSL_PKEY_RSA_PAD_MODE_NONE },
};

int schsm_rsa_pad_get(const OSSL_PARAM *p, int *pad)
{
    *pad = -1;
    if (p->data_type == OSSL_PARAM_INTEGER)
        return OSSL_PARAM_get_int(p, pad);
    const char *s = NULL;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
        return 0;
    for (size_t i = 0; i < sizeof(pad_names) / sizeof(pad_names[0]); i++)
        if (strcmp(pad_names[i].name, s) == 0)
            *pad = pad_names[i].pad;
    return 1;
}

int schsm_rsa_pad_set(OSSL_PARAM *p, int pad)
{
    if (p->data_type == OSSL_PARAM_INTEGER)
        return OSSL_PARAM_set_int(p, pad);
    for (size_t i = 0; i < sizeof(pad_names) / sizeof(pad_names[0]); i++)
        if (pad_names[i].pad == pad)
            return OSSL_PARAM_set_utf8_string(p, pad_names[i].name);
    return 0;
}
