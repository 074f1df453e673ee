/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper: the one way every unit test runs its Check suite. */
#ifndef HELPER_RUN_H
#define HELPER_RUN_H

#include <check.h>

/* Runs s (and frees it); returns the process exit status. */
int helper_run_suite(Suite *s);

#endif
