/* SPDX-License-Identifier: Apache-2.0 */
/* Status words: one table that says, for every SW this card uses, what happened and what to do. */
#ifndef HSM_SW_H
#define HSM_SW_H

#include <stdint.h>

/* Message for a status word in the context of a command (ins may be 0 for "any").
 * Never NULL; unknown SWs get a generic text that includes the hex value. The returned
 * pointer is to static storage or to a thread-local buffer. */
const char *hsm_sw_message(uint16_t sw, uint8_t ins);

/* 63Cx -> x, else -1. */
int hsm_sw_tries(uint16_t sw);

#endif
