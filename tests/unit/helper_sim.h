/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: fresh virtual cards on new state files under $SCHSM_TEST_TMP. */
#ifndef HELPER_SIM_H
#define HELPER_SIM_H

#include "hsm/card.h"

/* $SCHSM_TEST_TMP (/tmp/schsm-test when unset), created if missing; NULL if it cannot be. */
const char *helper_tmpdir(void);

/* A new, not yet existing state file path "$SCHSM_TEST_TMP/<name>-<pid>-<n>.state" (the
 * directory is created; /tmp/schsm-test when the variable is unset). Free with free(). */
char *helper_sim_path(const char *name);

/* An hsm_card on a factory-fresh virtual card in a new state file (NULL on failure). */
hsm_card *helper_sim_card(const char *name);

#endif
