/* SPDX-License-Identifier: Apache-2.0 */
/* INITIALIZE DEVICE (sheet 5) and the device-info answer to INITIALIZE without data (1.5).
 * A wrong initialization code answers 6985 and counts the SO-PIN down (6983 once blocked). */
#include "sim/sim_int.h"

#include "hsm/rv.h"
#include "hsm/tlv.h"

#include <openssl/crypto.h>
#include <string.h>

typedef struct {
    uint16_t options;
    const uint8_t *pin, *so;
    size_t pin_len;
    uint8_t retries;
    int dkek_shares;   /* -1 absent */
    int domains;       /* -1 absent */
} init_req;

static uint16_t parse(const hsm_apdu *a, init_req *r)
{
    memset(r, 0, sizeof(*r));
    r->retries = 3;
    r->dkek_shares = -1;
    r->domains = -1;
    const uint8_t *p = a->data, *end = a->data + a->lc;
    hsm_tlv t;
    int rc;
    while ((rc = hsm_tlv_next(&p, end, &t)) == 1) {
        switch (t.tag) {
        case 0x80:
            if (t.len != 2)
                return SW_BAD_DATA;
            r->options = (uint16_t)(t.val[0] << 8 | t.val[1]);
            break;
        case 0x81:
            if (t.len < SIM_PIN_MIN || t.len > SIM_PIN_MAX)
                return SW_BAD_DATA;
            r->pin = t.val;
            r->pin_len = t.len;
            break;
        case 0x82:
            if (t.len != 8)
                return SW_BAD_DATA;
            r->so = t.val;
            break;
        case 0x91:
            if (t.len != 1 || t.val[0] < 1 || t.val[0] > 10)
                return SW_BAD_DATA;
            r->retries = t.val[0];
            break;
        case 0x92:
            if (t.len != 1)
                return SW_BAD_DATA;
            r->dkek_shares = t.val[0];
            break;
        case 0x93:
            return SW_FUNC_NOT_SUPPORTED;   /* public key authentication is not simulated */
        case 0x97:
            if (t.len != 1 || t.val[0] > SIM_MAX_DOMAINS)
                return SW_BAD_DATA;
            r->domains = t.val[0];
            break;
        default:
            break;   /* 95/96 bio server AIDs: no biometrics here */
        }
    }
    if (rc < 0 || r->pin == NULL || r->so == NULL)
        return SW_BAD_DATA;
    return SW_OK;
}

static uint16_t device_info(sim_card *c, hsm_bytes *out)
{
    hsm_bytes_put_u32(out, (uint32_t)sim_mem_free(c));
    hsm_bytes_put_u8(out, 0x00);
    hsm_bytes_put_u8(out, c->fw_major);
    hsm_bytes_put_u8(out, c->fw_minor);
    return SW_OK;
}

/* Everything but the production objects (device key CC00, EF 2F02) goes. */
static void wipe(sim_card *c)
{
    for (size_t i = c->nkeys; i-- > 0;)
        if (c->keys[i].id != 0)
            sim_key_delete(c, c->keys[i].id);
    for (size_t i = c->nfiles; i-- > 0;)
        if (c->files[i].fid != 0x2F02)
            sim_file_delete(c, c->files[i].fid);
    OPENSSL_cleanse(c->dom, sizeof(c->dom));
    c->ndomains = 0;
    memset(c->pubkeys, 0, sizeof(c->pubkeys));
    c->npubkeys = 0;
    c->cur_ef = 0;
}

uint16_t sim_cmd_initialize(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    if (a->p1 != 0 || a->p2 != 0)
        return SW_BAD_P1P2;
    if (a->lc == 0)
        return device_info(c, out);
    init_req r;
    uint16_t sw = parse(a, &r);
    if (sw != SW_OK)
        return sw;
    if (c->so_set) {
        if (c->so_tries == 0)
            return SW_BLOCKED;
        c->dirty |= SIM_CHANGED_PERSISTENT;
        if (CRYPTO_memcmp(r.so, c->so_pin, 8) != 0) {
            c->so_tries--;
            return SW_CONDITIONS;
        }
    }
    uint8_t kek[32];
    if (r.dkek_shares == 0 && sim_random(kek, sizeof(kek)) != HSM_OK)
        return SW_INTERNAL;
    wipe(c);
    memcpy(c->so_pin, r.so, 8);
    c->so_set = 1;
    c->so_tries = SIM_SO_TRIES;
    c->options = r.options;
    OPENSSL_cleanse(c->pin, sizeof(c->pin));
    memcpy(c->pin, r.pin, r.pin_len);
    c->pin_len = r.pin_len;
    c->pin_max = c->pin_tries = r.retries;
    c->transport_pin = (r.options & 0x0002) != 0;
    c->pin_ok = 0;
    c->initialized = 1;
    /* Slot 0 always exists (6A88 while empty); tag 97 provisions more empty slots. */
    c->ndomains = r.domains > 1 ? (size_t)r.domains : 1;
    if (r.dkek_shares > 0) {
        c->dom[0].state = SIM_DOM_DKEK;
        c->dom[0].total = c->dom[0].missing = (uint8_t)r.dkek_shares;
    } else if (r.dkek_shares == 0) {
        c->dom[0].state = SIM_DOM_DKEK;
        memcpy(c->dom[0].kek, kek, sizeof(kek));
        c->dom[0].kek_set = 1;
    }
    OPENSSL_cleanse(kek, sizeof(kek));
    c->dirty |= SIM_CHANGED_PERSISTENT;
    return SW_OK;
}
