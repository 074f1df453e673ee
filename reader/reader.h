/* SPDX-License-Identifier: Apache-2.0 */
/* The one function that opens a reader for the provider and the tool. It is the only place
 * that knows both transports: "sim:PATH" picks the in-process virtual card, anything else is
 * a PC/SC reader name matched by substring. Keeping it here means hsm/ never includes sim/. */
#ifndef SCHSM_READER_H
#define SCHSM_READER_H

#include <stddef.h>

#include "hsm/transport.h"

#include "hsm/token.h"

/* spec: "sim:PATH", "serial=VALUE" or "token=LABEL" (the one PC/SC reader whose SmartCard-HSM has
 * that serial or label, see schsm_reader_pick), a PC/SC reader substring, or NULL/"" for
 * $SCHSM_READER, else the first reader that holds a SmartCard-HSM. Matches hsm_open_fn. */
int schsm_reader_open(const char *spec, hsm_transport **out, char *why, size_t why_len);

/* A "serial=VALUE" / "token=LABEL" spec (reader names never contain '='): 1 and *serial or *token
 * pointed into spec (the other NULL); 0 for any other spec (NULL included). */
int schsm_reader_spec_select(const char *spec, const char **serial, const char **token);

/* Where schsm_reader_pick gets a token for a full reader name: the provider passes its cached
 * tokens (put NULL), the opener temporary ones (put frees them). */
typedef struct {
    hsm_token *(*get)(void *arg, const char *reader);   /* NULL when it cannot be opened */
    void (*put)(void *arg, hsm_token *t);              /* may be NULL */
    void *arg;
} schsm_token_source;

/* The one card chosen by serial (case-insensitive) and/or token label (exact), NULL = any, among the
 * PC/SC readers in names (NUL separated, double-NUL terminated; NULL = list them now) whose name
 * contains filter (NULL = all) and hold a SmartCard-HSM. Only identity reads, no PIN query.
 * HSM_OK with the reader's full name in chosen; HSM_E_NOT_FOUND (none) or HSM_E_AMBIGUOUS
 * (several) with why naming what was wanted and listing the cards: "reader 'R' (serial S, token
 * 'L'), ..."; HSM_E_NO_READER / HSM_E_MEM. */
int schsm_reader_pick(const char *names, const char *filter, const char *serial, const char *token,
                      const schsm_token_source *src, char *chosen, size_t chosen_cap,
                      char *why, size_t why_len);

#endif
