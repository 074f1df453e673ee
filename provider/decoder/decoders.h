/* SPDX-License-Identifier: Apache-2.0 */
/* Key-reference decoders: PEM "SCHSM KEY REFERENCE" -> DER (named "DER", like OpenSSL's own PEM
 * step), then DER -> key reference, one table per key type because OpenSSL matches key decoders to
 * keymgmts by name. */
#ifndef SCHSM_DECODERS_H
#define SCHSM_DECODERS_H

#include <openssl/core.h>

extern const OSSL_DISPATCH schsm_keyref_pem2der_decoder_functions[];
extern const OSSL_DISPATCH schsm_keyref_der_ec_decoder_functions[];
extern const OSSL_DISPATCH schsm_keyref_der_rsa_decoder_functions[];

#endif
