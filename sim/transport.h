/* SPDX-License-Identifier: Apache-2.0 */
/* hsm_transport over a state-file virtual card (reader name "sim:PATH"). */
#ifndef SIM_TRANSPORT_H
#define SIM_TRANSPORT_H

#include <stddef.h>

#include "hsm/transport.h"

int sim_transport_open(const char *path, hsm_transport **out, char *why, size_t why_len);

#endif
