/* SPDX-License-Identifier: Apache-2.0 */
#include "hsm/rv.h"

const char *hsm_rv_text(int rv)
{
    switch (rv) {
    case HSM_OK: return "success";
    case HSM_E_ARGS: return "invalid argument";
    case HSM_E_MEM: return "out of memory";
    case HSM_E_COMM: return "communication with the reader failed";
    case HSM_E_NO_READER: return "no matching reader";
    case HSM_E_NO_CARD: return "no card in the reader (removed?)";
    case HSM_E_RESET: return "the card was reset or replaced";
    case HSM_E_SW: return "the card refused the command";
    case HSM_E_PARSE: return "malformed data";
    case HSM_E_NOT_FOUND: return "not found";
    case HSM_E_AMBIGUOUS: return "more than one match";
    case HSM_E_PIN_REFUSED: return "PIN not sent to protect the card from blocking";
    case HSM_E_UNSUPPORTED: return "not supported";
    case HSM_E_VERIFY: return "verification failed";
    case HSM_E_CRYPTO: return "host cryptography failed";
    case HSM_E_BUSY: return "card busy";
    default: return "unknown error";
    }
}
