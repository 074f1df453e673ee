/* SPDX-License-Identifier: Apache-2.0 */
/* ECDSA signature formats. The card answers SIGN with DER that may carry a superfluous
 * leading 00 in its INTEGERs (non-minimal), which strict parsers reject; CV certificates
 * and raw mechanisms use plain r||s. These helpers parse leniently and always write strict,
 * minimal DER. */
#ifndef HSM_ECSIG_H
#define HSM_ECSIG_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/bytes.h"

/* Lenient DER SEQUENCE { INTEGER r, INTEGER s } -> minimal DER. Accepts leading zero bytes,
 * long-form lengths and integers without a sign byte (read as unsigned). Rejects trailing
 * bytes, zero r or s and values longer than 66 bytes. HSM_OK or HSM_E_PARSE. */
int hsm_ecdsa_der_normalize(const uint8_t *in, size_t len, hsm_bytes *der_out);

/* Lenient DER -> r||s, each left-padded to field_len bytes (HSM_E_PARSE when a value is longer). */
int hsm_ecdsa_der_to_plain(const uint8_t *in, size_t len, size_t field_len, hsm_bytes *out);

/* r||s (even length) -> minimal DER. */
int hsm_ecdsa_plain_to_der(const uint8_t *in, size_t len, hsm_bytes *out);

/* Field length in bytes for an EC key of the given field size in bits. */
size_t hsm_ecdsa_field_len(unsigned bits);

#endif
