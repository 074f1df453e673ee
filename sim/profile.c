/* SPDX-License-Identifier: Apache-2.0 */
/* Profiles of the virtual card. "cardcontact" behaves as CardContact's SmartCard-HSM (the model
 * the rest of sim/ describes). "variant" reproduces another implementation of the same command
 * set, as seen through pcscd (issue 8), so that hosts are tested against both:
 *   1 ENUMERATE OBJECTS lists only CC, C4, C8 and C9 files; CE, CA, CB... exist but are not listed
 *   2 READ BINARY reaching the end of a file answers 9000 (never 6282)
 *   3 EF 2F02 holds an authenticated request (67) around a self-signed device certificate
 *   4 the key-domain status shows the KCV only after the user PIN was verified
 *   5 the device key has a description too: C400 with a 20-byte all-zero ID
 *   6 WRAP gives EC keys with an empty coefficient a and RSA keys as (d, n, e)
 *   7 SELECT of the applet by AID takes P2 00 or 04 only (0C: 6A86)
 * Each command file asks sim_is_variant() where it differs. */
#include "sim/sim_int.h"

#include <stdlib.h>
#include <string.h>

static const char *const NAMES[] = { "cardcontact", "variant" };

int sim_profile_by_name(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return SIM_PROFILE_CARDCONTACT;
    for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++)
        if (strcmp(name, NAMES[i]) == 0)
            return (int)i;
    return -1;
}

const char *sim_profile_name(int profile)
{
    if (profile < 0 || (size_t)profile >= sizeof(NAMES) / sizeof(NAMES[0]))
        return NULL;
    return NAMES[profile];
}

int sim_profile_from_env(void)
{
    return sim_profile_by_name(getenv("SCHSM_SIM_PROFILE"));
}

int sim_card_profile(const sim_card *c)
{
    return c->profile;
}

int sim_is_variant(const sim_card *c)
{
    return c->profile == SIM_PROFILE_VARIANT;
}

int sim_profile_lists(const sim_card *c, uint16_t fid)
{
    if (!sim_is_variant(c))
        return 1;
    uint8_t prefix = (uint8_t)(fid >> 8);
    return prefix == 0xCC || prefix == 0xC4 || prefix == 0xC8 || prefix == 0xC9;
}
