/* SPDX-License-Identifier: Apache-2.0 */
/* SCHSM_DEBUG tracing. SCHSM_DEBUG=apdu writes one line per APDU:
 *   apdu> CLA INS P1 P2 Lc=N
 *   apdu< N bytes SW=XXXX
 * to stderr, or to the file named by SCHSM_DEBUG_FILE. Data bytes are never printed, so PINs and
 * key material cannot leak through it. SCHSM_DEBUG=all adds human-readable log lines (hsm_log). */
#ifndef HSM_TRACE_H
#define HSM_TRACE_H

#include <stddef.h>
#include <stdint.h>

enum {
    HSM_TRACE_APDU = 1,
    HSM_TRACE_LOG = 2,
};

/* Flags from SCHSM_DEBUG (read once per process, re-read after hsm_trace_set()). */
unsigned hsm_trace_flags(void);
/* Overrides the environment, e.g. from the provider's "debug" config key ("apdu", "all", "0"). */
void hsm_trace_set(const char *spec);

void hsm_trace_command(const uint8_t *cmd, size_t len);
void hsm_trace_response(size_t data_len, uint16_t sw);

/* printf-style log line, shown with SCHSM_DEBUG=all. Never pass secrets. */
void hsm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
