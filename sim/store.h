/* SPDX-License-Identifier: Apache-2.0 */
/* A virtual card kept in a state file: created factory-fresh on first use, written atomically
 * (temp file, fsync, rename), and guarded by an exclusive lock on PATH.lock, the analogue of a
 * PC/SC transaction. */
#ifndef SIM_STORE_H
#define SIM_STORE_H

#include "sim/card.h"

typedef struct sim_store sim_store;

int sim_store_open(const char *path, sim_store **out);
void sim_store_close(sim_store *s);

/* Takes the lock (blocking) and loads the state when the file changed since we last saw it.
 * Returns HSM_OK, or HSM_E_RESET when the card was power-cycled (sim_store_power_cycle) since
 * this store last held the lock. */
int sim_store_lock(sim_store *s);
/* Saves when dirty, then releases the lock. */
int sim_store_unlock(sim_store *s, int dirty);
sim_card *sim_store_card(sim_store *s);

/* Saves now, keeping the lock (commands inside a transaction persist at once, as on a card). */
int sim_store_save(sim_store *s);

/* Does this store hold the lock? (A fork()ed child never holds its parent's lock.) */
int sim_store_held(const sim_store *s);

/* Power-cycles the card in the file (removal and re-insertion). */
int sim_store_power_cycle(sim_store *s);

#endif
