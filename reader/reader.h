/* The one function that opens a reader for the provider and the tool. It is the only place
 * that knows both transports: "sim:PATH" picks the in-process virtual card, anything else is
 * a PC/SC reader name matched by substring. Keeping it here means hsm/ never includes sim/. */
#ifndef SCHSM_READER_H
#define SCHSM_READER_H

#include <stddef.h>

#include "hsm/transport.h"

/* spec: "sim:PATH", a PC/SC reader substring, or NULL/"" for the first reader that holds a
 * SmartCard-HSM. Matches hsm_open_fn. */
int schsm_reader_open(const char *spec, hsm_transport **out, char *why, size_t why_len);

#endif
