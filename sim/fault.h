/* SPDX-License-Identifier: Apache-2.0 */
/* Fault injection for the virtual card: SCHSM_SIM_FAULT=RULE[,RULE...], read once per process.
 *
 *   apdu=N:sw=XXXX    the Nth command APDU is not executed; the card answers status word XXXX
 *   apdu=N:truncate   executed; only the first half of the response arrives (less than a status word
 *                     for a bare status word)
 *   apdu=N:garbage    executed; the response is replaced by as many random bytes
 *   apdu=N:remove     not executed; the card is pulled (and comes back powered down)
 *   apdu=N:reset      the card is reset just before the command, which then meets the fresh card
 *   apdu=N:delay=MS   the card takes MS milliseconds longer
 *   write=N:enospc    the Nth write of the state file fails with ENOSPC (the command's change is lost,
 *   write=N:eio       as on a card whose EEPROM write failed) or EIO
 *   fsync=N:fail      the Nth fsync of the state file fails (the same, at the last step)
 *
 * N counts from 1 per process (per vpcd connection for schsm-sim --vpcd); "p=0.01" in place of
 * "N" fires with that probability at every event (seeded by SCHSM_SIM_FAULT_SEED, else by time and
 * pid). Each rule fires at most once when given by N. Every fault is said on stderr. */
#ifndef SIM_FAULT_H
#define SIM_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/bytes.h"

enum sim_fault_kind {
    SIM_FAULT_NONE = 0,
    SIM_FAULT_SW,
    SIM_FAULT_TRUNCATE,
    SIM_FAULT_GARBAGE,
    SIM_FAULT_REMOVE,
    SIM_FAULT_RESET,
    SIM_FAULT_DELAY,
    SIM_FAULT_ENOSPC,
    SIM_FAULT_EIO,
    SIM_FAULT_FSYNC,
};

typedef struct {
    enum sim_fault_kind kind;
    uint16_t sw;           /* SIM_FAULT_SW */
    unsigned delay_ms;     /* SIM_FAULT_DELAY */
} sim_fault;

/* Checks a rule list; 0 when valid, else -1 with a message in why. */
int sim_fault_parse_check(const char *spec, char *why, size_t why_len);

/* The fault for the next command APDU (counts it). SIM_FAULT_NONE without SCHSM_SIM_FAULT. */
sim_fault sim_fault_next_apdu(void);
/* For the next state-file write / fsync: 0, or the errno to fail with. */
int sim_fault_next_write(void);
int sim_fault_next_fsync(void);

/* Counters back to 0 (a new vpcd connection). */
void sim_fault_restart(void);

/* Acts on f before the command reaches the card held in store (locked): sleeps for a delay,
 * power-cycles for reset and remove, puts the status word of an sw fault into resp. Returns 1 when
 * the command must not be executed (sw, remove). */
struct sim_store;
int sim_fault_before(const sim_fault *f, struct sim_store *store, hsm_bytes *resp);

/* Applies a truncate/garbage fault to a response of *len bytes. */
void sim_fault_mangle(const sim_fault *f, uint8_t *resp, size_t *len);

#endif
