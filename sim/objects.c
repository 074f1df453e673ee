/* SPDX-License-Identifier: Apache-2.0 */
/* Keys (CCnn) and EFs of the virtual card, its memory model and key meta data. */
#include "sim/sim_int.h"

#include "hsm/crypto.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

int sim_random(uint8_t *p, size_t n)
{
    return RAND_bytes_ex(hsm_libctx(), p, n, 0) == 1 ? HSM_OK : HSM_E_CRYPTO;
}

void sim_key_clear(sim_key *k)
{
    hsm_bytes_free(&k->priv);
    EVP_PKEY_free(k->pkey);
    uint8_t id = k->id;
    memset(k, 0, sizeof(*k));
    k->id = id;
}

sim_key *sim_key_find(sim_card *c, uint8_t id)
{
    for (size_t i = 0; i < c->nkeys; i++)
        if (c->keys[i].id == id)
            return &c->keys[i];
    return NULL;
}

sim_key *sim_key_put(sim_card *c, uint8_t id)
{
    sim_key *k = sim_key_find(c, id);
    if (k != NULL) {
        sim_key_clear(k);
        return k;
    }
    if (c->nkeys == c->capkeys) {
        size_t cap = c->capkeys ? c->capkeys * 2 : 8;
        sim_key *n = realloc(c->keys, cap * sizeof(*n));
        if (n == NULL)
            return NULL;
        c->keys = n;
        c->capkeys = cap;
    }
    size_t i = 0;
    while (i < c->nkeys && c->keys[i].id < id)
        i++;
    memmove(&c->keys[i + 1], &c->keys[i], (c->nkeys - i) * sizeof(*c->keys));
    c->nkeys++;
    memset(&c->keys[i], 0, sizeof(c->keys[i]));
    c->keys[i].id = id;
    return &c->keys[i];
}

void sim_key_delete(sim_card *c, uint8_t id)
{
    for (size_t i = 0; i < c->nkeys; i++) {
        if (c->keys[i].id == id) {
            sim_key_clear(&c->keys[i]);
            memmove(&c->keys[i], &c->keys[i + 1], (c->nkeys - i - 1) * sizeof(*c->keys));
            c->nkeys--;
            return;
        }
    }
}

EVP_PKEY *sim_key_pkey(sim_key *k)
{
    if (k->pkey == NULL && k->type != SIM_KEY_AES && k->priv.len > 0) {
        const unsigned char *p = k->priv.data;
        k->pkey = d2i_AutoPrivateKey_ex(NULL, &p, (long)k->priv.len, hsm_libctx(), NULL);
    }
    return k->pkey;
}

/* Roughly what the chip spends: RSA keys in CRT form (p, q, dp, dq, qinv) plus the modulus,
 * EC keys d plus the public point, AES the key. */
size_t sim_key_cost(int type, unsigned bits)
{
    size_t b = (bits + 7) / 8;
    switch (type) {
    case SIM_KEY_RSA: return SIM_KEY_OVERHEAD + b / 2 * 5 + b + 4;
    case SIM_KEY_EC: return SIM_KEY_OVERHEAD + b * 3 + 1;
    default: return SIM_KEY_OVERHEAD + b;
    }
}

sim_file *sim_file_find(sim_card *c, uint16_t fid)
{
    for (size_t i = 0; i < c->nfiles; i++)
        if (c->files[i].fid == fid)
            return &c->files[i];
    return NULL;
}

sim_file *sim_file_put(sim_card *c, uint16_t fid)
{
    sim_file *f = sim_file_find(c, fid);
    if (f != NULL)
        return f;
    if (c->nfiles == c->capfiles) {
        size_t cap = c->capfiles ? c->capfiles * 2 : 16;
        sim_file *n = realloc(c->files, cap * sizeof(*n));
        if (n == NULL)
            return NULL;
        c->files = n;
        c->capfiles = cap;
    }
    size_t i = 0;
    while (i < c->nfiles && c->files[i].fid < fid)
        i++;
    memmove(&c->files[i + 1], &c->files[i], (c->nfiles - i) * sizeof(*c->files));
    c->nfiles++;
    memset(&c->files[i], 0, sizeof(c->files[i]));
    c->files[i].fid = fid;
    return &c->files[i];
}

void sim_file_delete(sim_card *c, uint16_t fid)
{
    for (size_t i = 0; i < c->nfiles; i++) {
        if (c->files[i].fid == fid) {
            hsm_bytes_free(&c->files[i].data);
            memmove(&c->files[i], &c->files[i + 1], (c->nfiles - i - 1) * sizeof(*c->files));
            c->nfiles--;
            return;
        }
    }
}

/* The device key CC00 and EF 2F02 come from production and do not count against user memory. */
size_t sim_mem_used(const sim_card *c)
{
    size_t used = 0;
    for (size_t i = 0; i < c->nkeys; i++)
        if (c->keys[i].id != 0)
            used += sim_key_cost(c->keys[i].type, c->keys[i].bits);
    for (size_t i = 0; i < c->nfiles; i++)
        if (c->files[i].fid != 0x2F02)
            used += SIM_FILE_OVERHEAD + c->files[i].data.len;
    return used;
}

size_t sim_mem_free(const sim_card *c)
{
    size_t used = sim_mem_used(c);
    return used >= SIM_MEM_TOTAL ? 0 : SIM_MEM_TOTAL - used;
}

int sim_key_alg_allowed(const sim_key *k, uint8_t alg)
{
    if (!k->has_algs)
        return 1;
    for (size_t i = 0; i < k->nalgs; i++)
        if (k->algs[i] == alg)
            return 1;
    return 0;
}

uint16_t sim_parse_meta(const sim_card *c, const uint8_t *d, size_t len, sim_key *k)
{
    const uint8_t *p = d, *end = d + len;
    hsm_tlv t;
    int rc;
    while ((rc = hsm_tlv_next(&p, end, &t)) == 1) {
        switch (t.tag) {
        case 0x90:
            if (t.len != 4)
                return SW_BAD_DATA;
            k->counter = (uint32_t)t.val[0] << 24 | (uint32_t)t.val[1] << 16 | (uint32_t)t.val[2] << 8 | t.val[3];
            if (k->counter == 0)
                return SW_BAD_DATA;
            k->has_counter = 1;
            break;
        case 0x91:
            if (t.len < 1 || t.len > sizeof(k->algs))
                return SW_BAD_DATA;
            memcpy(k->algs, t.val, t.len);
            k->nalgs = t.len;
            k->has_algs = 1;
            break;
        case 0x92:
            if (t.len != 1 || t.val[0] >= c->ndomains)
                return SW_BAD_DATA;
            k->domain = t.val[0];
            break;
        default:
            break;   /* other tags (93 wrapping key id, GAKP body tags) are not meta data */
        }
    }
    return rc < 0 ? SW_BAD_DATA : SW_OK;
}
