/* SPDX-License-Identifier: Apache-2.0 */
/* The virtual card's firmware: its update (schsm-sim --firmware-update, see sim/card.h), the
 * version setting (schsm-sim --firmware, SCHSM_SIM_FIRMWARE) and the behaviours of older firmware. */
#include "sim/sim_int.h"

#include "hsm/rv.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sim_card_firmware_update(sim_card *c, uint8_t major, uint8_t minor)
{
    char chr[17], next[17];
    sim_device_chr(c, chr, sizeof(chr));
    size_t n = strlen(chr);
    if (n < 6)
        return HSM_E_PARSE;
    /* Last 5 characters: sequence number of the device certificate. */
    unsigned long seq = strtoul(chr + n - 5, NULL, 10);
    snprintf(next, sizeof(next), "%.*s%05lu", (int)(n - 5), chr, (seq + 1) % 100000);
    uint32_t epoch = c->epoch;
    sim_card_wipe(c);
    c->so_tries = SIM_SO_TRIES;
    c->fw_major = major;
    c->fw_minor = minor;
    c->epoch = epoch + 1;   /* a power cycle: every session's login is gone */
    c->dirty = SIM_CHANGED_PERSISTENT;
    return sim_devcert_issue(c, next);
}

void sim_card_firmware_version(const sim_card *c, uint8_t fw[2])
{
    fw[0] = c->fw_major;
    fw[1] = c->fw_minor;
}

int sim_fw_parse(const char *s, uint8_t *major, uint8_t *minor)
{
    char *end;
    long ma = strtol(s, &end, 10);
    if (end == s || *end != '.' || ma < 0 || ma > 255)
        return 0;
    const char *m = end + 1;
    long mi = strtol(m, &end, 10);
    if (end == m || *end != '\0' || mi < 0 || mi > 255)
        return 0;
    *major = (uint8_t)ma;
    *minor = (uint8_t)mi;
    return 1;
}

/* Seen on real cards with firmware 3.1: UNWRAP KEY of any key whose wrapped blob carries a
 * non-empty algorithm list failed with 6F00; fixed in 3.2. */
int sim_fw_refuses_unwrap_with_algs(const sim_card *c, size_t algs_len)
{
    return algs_len > 0 && c->fw_major == 3 && c->fw_minor == 1;
}
