/* SPDX-License-Identifier: Apache-2.0 */
/* Key domains and DKEK shares (sheet 12.2, 13.2).
 * Slot 0 always exists after INITIALIZE; tag 97 provisions more. A P2 beyond the slots answers
 * 6A86, an empty slot 6A88, importing into a complete domain 6985, deleting a domain that still
 * has keys 6A89. Share import and status need no PIN (as sc-hsm-tool expects); creating and
 * deleting domains (P1 01/02/03/04) do. XKEK domains (P1 02): cmd_xkek.c. */
#include "sim/sim_int.h"

#include "hsm/crypto.h"
#include "hsm/rv.h"

#include <openssl/crypto.h>
#include <string.h>

void sim_dkek_kcv(const uint8_t kek[32], uint8_t kcv[8])
{
    uint8_t h[32];
    unsigned int n = 0;
    EVP_MD *md = EVP_MD_fetch(hsm_libctx(), "SHA256", NULL);
    if (md == NULL || EVP_Digest(kek, 32, h, &n, md, NULL) != 1)
        memset(h, 0, sizeof(h));
    EVP_MD_free(md);
    memcpy(kcv, h, 8);
}

static void put_status(const sim_domain *d, hsm_bytes *out)
{
    uint8_t kcv[8] = { 0 };
    if (d->kek_set)
        sim_dkek_kcv(d->kek, kcv);
    hsm_bytes_put_u8(out, d->state == SIM_DOM_XKEK ? 0xFF : d->total);
    hsm_bytes_put_u8(out, d->missing);
    hsm_bytes_put(out, kcv, 8);
    if (d->state == SIM_DOM_XKEK)
        hsm_bytes_put(out, d->uid, d->uid_len);
}

static int domain_has_keys(const sim_card *c, uint8_t dom)
{
    for (size_t i = 0; i < c->nkeys; i++)
        if (c->keys[i].id != 0 && c->keys[i].domain == dom)
            return 1;
    return 0;
}

static uint16_t import_share(sim_card *c, sim_domain *d, const hsm_apdu *a, hsm_bytes *out)
{
    if (a->lc != 32)
        return SW_BAD_DATA;
    if (d->state != SIM_DOM_DKEK || d->missing == 0)
        return SW_CONDITIONS;
    for (size_t i = 0; i < 32; i++)
        d->kek[i] ^= a->data[i];
    d->missing--;
    d->kek_set = d->missing == 0;
    c->dirty |= SIM_CHANGED_PERSISTENT;
    put_status(d, out);
    return SW_OK;
}

uint16_t sim_cmd_key_domain(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    if (a->p1 > 0x04)
        return SW_BAD_P1P2;
    if (a->p2 >= c->ndomains)
        return SW_BAD_P1P2;
    sim_domain *d = &c->dom[a->p2];
    if (a->p1 == 0x00) {
        if (d->state == SIM_DOM_EMPTY)
            return SW_REF_NOT_FOUND;
        if (a->lc == 0) {
            put_status(d, out);
            return SW_OK;
        }
        return import_share(c, d, a, out);
    }
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    if (a->p1 == 0x02)
        return sim_xkek_create(c, a, out);
    if (a->p1 == 0x01) {
        if (a->lc != 1)
            return SW_BAD_DATA;
        if (d->state != SIM_DOM_EMPTY)
            return SW_EXISTS;
        memset(d, 0, sizeof(*d));
        d->state = SIM_DOM_DKEK;
        d->total = d->missing = a->data[0];
        if (a->data[0] == 0) {
            if (sim_random(d->kek, 32) != HSM_OK)
                return SW_INTERNAL;
            d->kek_set = 1;
        }
        c->dirty |= SIM_CHANGED_PERSISTENT;
        put_status(d, out);
        return SW_OK;
    }
    if (a->lc != 0)
        return SW_WRONG_LENGTH;
    if (d->state == SIM_DOM_EMPTY)
        return SW_REF_NOT_FOUND;
    if (a->p1 == 0x03) {
        if (domain_has_keys(c, a->p2))
            return SW_EXISTS;
        OPENSSL_cleanse(d, sizeof(*d));
        c->dirty |= SIM_CHANGED_PERSISTENT;
        return SW_OK;
    }
    /* P1 04: forget the key, keep the slot's configuration. */
    OPENSSL_cleanse(d->kek, sizeof(d->kek));
    d->kek_set = 0;
    d->missing = d->total;
    c->dirty |= SIM_CHANGED_PERSISTENT;
    put_status(d, out);
    return SW_OK;
}
