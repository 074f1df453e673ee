/* SPDX-License-Identifier: Apache-2.0 */
/* The virtual SmartCard-HSM: the card side of every command in the protocol sheet, with no
 * transport in it. A card is a value: it can be saved to bytes and loaded again. */
#ifndef SIM_CARD_H
#define SIM_CARD_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/bytes.h"

typedef struct sim_card sim_card;

/* A factory-fresh card: uninitialised, with its own device key (CC00) and C_DevAut/DICA
 * certificates in EF 2F02, issued under the in-tree TEST hierarchy (UTSRCACC100001). */
int sim_card_new(sim_card **out);
void sim_card_free(sim_card *c);

/* Firmware update as on the real card: keys, files, key domains, PINs and verified public keys
 * are wiped (the card is factory fresh again), and the device gets a new device key and device
 * certificate from the same DICA. The serial (CHR minus its last 5 digits) stays; the 5-digit
 * sequence number at the end of the CHR counts up, so hosts never confuse the old and new
 * device keys. */
int sim_card_firmware_update(sim_card *c, uint8_t major, uint8_t minor);
/* fw[0] = major, fw[1] = minor. */
void sim_card_firmware_version(const sim_card *c, uint8_t fw[2]);

/* Whole state, persistent and volatile (selection, login), as bytes and back. */
int sim_card_save(const sim_card *c, hsm_bytes *out);
int sim_card_load(const uint8_t *buf, size_t len, sim_card **out);

/* Power cycle / warm reset: the applet is deselected and all authentication is dropped. */
void sim_card_reset(sim_card *c);

/* ATR of a Nitrokey HSM 2 (SmartCard-HSM 4K, JCOP 3). Returns its length. */
size_t sim_card_atr(uint8_t *out, size_t cap);

/* Processes one command APDU; resp receives data followed by SW1 SW2. Returns 1 when the
 * persistent state changed (the caller must save it), 0 when not, negative on internal error. */
int sim_card_process(sim_card *c, const uint8_t *cmd, size_t len, hsm_bytes *resp);

/* Did the last sim_card_process() change persistent state (keys, files, PINs, counters) rather
 * than only the volatile selection/login state? Stores fsync() only then. */
int sim_card_last_persistent(const sim_card *c);

/* Human-readable description of what the card holds (schsm-sim --dump). */
int sim_card_dump(const sim_card *c, hsm_bytes *out);

#endif
