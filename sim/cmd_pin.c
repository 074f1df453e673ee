/* SPDX-License-Identifier: Apache-2.0 */
/* PIN model (sheet 4): VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER.
 * On the attempt that exhausts a counter the card answers 63C0 (as an ISO card does); every
 * later attempt answers 6983. Hosts treat both as "blocked". */
#include "sim/sim_int.h"

#include <openssl/crypto.h>
#include <string.h>

static uint16_t tries_sw(uint8_t tries)
{
    return (uint16_t)(0x63C0 | (tries & 0x0F));
}

static int pin_matches(const sim_card *c, const uint8_t *pin, size_t len)
{
    return len == c->pin_len && CRYPTO_memcmp(pin, c->pin, len) == 0;
}

/* Wrong user PIN: counts down; the caller has changed persistent state. */
static uint16_t user_pin_failed(sim_card *c)
{
    if (c->pin_tries > 0)
        c->pin_tries--;
    c->pin_ok = 0;
    c->dirty |= SIM_CHANGED_PERSISTENT;
    return tries_sw(c->pin_tries);
}

/* Checks the SO-PIN, counting its tries. SW_OK or the failure SW. */
static uint16_t check_so(sim_card *c, const uint8_t *so)
{
    if (c->so_tries == 0)
        return SW_BLOCKED;
    c->dirty |= SIM_CHANGED_PERSISTENT;
    if (CRYPTO_memcmp(so, c->so_pin, 8) != 0) {
        c->so_tries--;
        return tries_sw(c->so_tries);
    }
    c->so_tries = SIM_SO_TRIES;
    return SW_OK;
}

uint16_t sim_cmd_verify(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    (void)out;
    if (a->p1 != 0x00)
        return SW_BAD_P1P2;
    switch (a->p2) {
    case 0x85:
    case 0x86:
        return SW_REF_NOT_FOUND;   /* no biometric templates on a Nitrokey */
    case 0x88:
        if (!c->so_set)
            return SW_REF_NOT_FOUND;
        if (a->lc == 0)
            return c->so_tries == 0 ? SW_BLOCKED : tries_sw(c->so_tries);
        if (a->lc != 8)
            return SW_BAD_DATA;
        return check_so(c, a->data);
    case 0x81:
        break;
    default:
        return SW_BAD_P1P2;
    }
    if (!c->initialized)
        return SW_REF_NOT_FOUND;
    if (c->pin_tries == 0)
        return SW_BLOCKED;
    if (c->transport_pin)
        return SW_REF_UNUSABLE;
    if (a->lc == 0)
        return c->pin_ok ? SW_OK : tries_sw(c->pin_tries);
    if (a->lc < SIM_PIN_MIN || a->lc > SIM_PIN_MAX)
        return SW_BAD_DATA;
    if (!pin_matches(c, a->data, a->lc))
        return user_pin_failed(c);
    if (c->pin_tries != c->pin_max)
        c->dirty |= SIM_CHANGED_PERSISTENT;
    else if (!c->pin_ok)
        c->dirty |= SIM_CHANGED_VOLATILE;
    c->pin_tries = c->pin_max;
    c->pin_ok = 1;
    return SW_OK;
}

uint16_t sim_cmd_change_ref(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    (void)out;
    if (a->p1 != 0x00 || (a->p2 != 0x81 && a->p2 != 0x88))
        return SW_BAD_P1P2;
    if (a->p2 == 0x88) {
        if (!c->so_set)
            return SW_REF_NOT_FOUND;
        if (a->lc != 16)
            return SW_BAD_DATA;
        uint16_t sw = check_so(c, a->data);
        if (sw != SW_OK)
            return sw;
        memcpy(c->so_pin, a->data + 8, 8);
        return SW_OK;
    }
    if (!c->initialized)
        return SW_REF_NOT_FOUND;
    if (c->pin_tries == 0)
        return SW_BLOCKED;
    /* old || new: the card knows the old length. */
    if (a->lc < c->pin_len + SIM_PIN_MIN || a->lc > c->pin_len + SIM_PIN_MAX)
        return SW_BAD_DATA;
    if (!pin_matches(c, a->data, c->pin_len))
        return user_pin_failed(c);
    size_t nlen = a->lc - c->pin_len;
    OPENSSL_cleanse(c->pin, sizeof(c->pin));
    memcpy(c->pin, a->data + (a->lc - nlen), nlen);
    c->pin_len = nlen;
    c->pin_tries = c->pin_max;
    c->transport_pin = 0;
    c->pin_ok = 1;
    c->dirty |= SIM_CHANGED_PERSISTENT;
    return SW_OK;
}

/* Only with option 0001 (RRC); otherwise 6985, conditions of use not satisfied. */
uint16_t sim_cmd_reset_retry(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    (void)out;
    if ((a->p1 != 0x00 && a->p1 != 0x01) || a->p2 != 0x81)
        return SW_BAD_P1P2;
    if (!c->initialized)
        return SW_REF_NOT_FOUND;
    if (!(c->options & 0x0001))
        return SW_CONDITIONS;
    if (a->p1 == 0x01 && a->lc != 8)
        return SW_BAD_DATA;
    if (a->p1 == 0x00 && (a->lc < 8 + SIM_PIN_MIN || a->lc > 8 + SIM_PIN_MAX))
        return SW_BAD_DATA;
    uint16_t sw = check_so(c, a->data);
    if (sw != SW_OK)
        return sw;
    if (a->p1 == 0x00) {
        OPENSSL_cleanse(c->pin, sizeof(c->pin));
        memcpy(c->pin, a->data + 8, a->lc - 8);
        c->pin_len = a->lc - 8;
        c->transport_pin = 0;
    }
    c->pin_tries = c->pin_max;
    return SW_OK;
}
