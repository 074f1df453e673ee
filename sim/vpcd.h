/* SPDX-License-Identifier: Apache-2.0 */
/* Attaches a state-file virtual card to pcscd through vsmartcard's vpcd driver. */
#ifndef SIM_VPCD_H
#define SIM_VPCD_H

/* Connects to vpcd at 127.0.0.1:port (35963 = first slot) and serves the card in state_path
 * until terminated (SIGTERM/SIGINT) . Reconnects when pcscd restarts. Returns a process exit code. */
int sim_vpcd_run(const char *state_path, int port);

#endif
