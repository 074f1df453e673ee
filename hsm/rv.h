/* SPDX-License-Identifier: Apache-2.0 */
/* Return codes shared by every hsm_ function. Card status words travel separately
 * (hsm_card_last_sw) so that callers can map them to messages with hsm_sw_message(). */
#ifndef HSM_RV_H
#define HSM_RV_H

enum hsm_rv {
    HSM_OK = 0,
    HSM_E_ARGS = -1,        /* caller passed something invalid */
    HSM_E_MEM = -2,         /* out of memory */
    HSM_E_COMM = -3,        /* transport failed (reader gone, pcscd down, I/O) */
    HSM_E_NO_READER = -4,   /* no reader matched */
    HSM_E_NO_CARD = -5,     /* reader empty, or card removed */
    HSM_E_RESET = -6,       /* card was reset or swapped since the last operation */
    HSM_E_SW = -7,          /* card answered with an error status word */
    HSM_E_PARSE = -8,       /* card or file data malformed */
    HSM_E_NOT_FOUND = -9,   /* object not on the card */
    HSM_E_AMBIGUOUS = -10,  /* more than one object or card matched */
    HSM_E_PIN_REFUSED = -11,/* PIN not sent: doing so could block it, or it failed before */
    HSM_E_UNSUPPORTED = -12,
    HSM_E_VERIFY = -13,     /* a signature or check value did not verify */
    HSM_E_CRYPTO = -14,     /* host-side libcrypto failure */
    HSM_E_BUSY = -15,       /* lock or transaction could not be obtained */
};

/* Short English text for an hsm_rv; never NULL. */
const char *hsm_rv_text(int rv);

#endif
