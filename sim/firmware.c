/* SPDX-License-Identifier: Apache-2.0 */
/* The virtual card's firmware update (schsm-sim --firmware-update): see sim/card.h. */
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
