/* SPDX-License-Identifier: Apache-2.0 */
/* The "schsm:" OSSL_STORE loader: lists and loads card keys and certificates by URI. */
#ifndef SCHSM_STORE_H
#define SCHSM_STORE_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

extern const OSSL_DISPATCH schsm_store_functions[];

#endif
