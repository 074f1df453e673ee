/* The virtual card's firmware-version setting (schsm-sim --firmware, SCHSM_SIM_FIRMWARE for new
 * sim: cards) and the known behaviours of older firmware that hosts must recognise. */
#include "sim/sim_int.h"

#include <stdlib.h>

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
