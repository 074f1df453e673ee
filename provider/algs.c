/* SPDX-License-Identifier: Apache-2.0 */
/* What schsm offers. X25519/X448 and the other OpenSSL-only key types are deliberately absent:
 * they can never be card keys, and leaving them out keeps TLS key shares away from schsm. */
#include "algs.h"

#include <stddef.h>

#define PROPS "provider=schsm"

const OSSL_ALGORITHM schsm_keymgmt_algs[] = {
    { "EC:id-ecPublicKey:1.2.840.10045.2.1", PROPS, schsm_ec_keymgmt_functions,
      "SmartCard-HSM EC keys" },
    { "RSA:rsaEncryption:1.2.840.113549.1.1.1", PROPS, schsm_rsa_keymgmt_functions,
      "SmartCard-HSM RSA keys" },
    { NULL, NULL, NULL, NULL },
};

const OSSL_ALGORITHM schsm_signature_algs[] = {
    { "ECDSA", PROPS, schsm_ecdsa_signature_functions, "ECDSA on the SmartCard-HSM" },
    { "RSA:rsaEncryption:1.2.840.113549.1.1.1", PROPS, schsm_rsa_signature_functions,
      "RSA PKCS#1 v1.5 and PSS signatures on the SmartCard-HSM" },
    { NULL, NULL, NULL, NULL },
};

const OSSL_ALGORITHM schsm_keyexch_algs[] = {
    { "ECDH", PROPS, schsm_ecdh_keyexch_functions, "ECDH on the SmartCard-HSM" },
    { NULL, NULL, NULL, NULL },
};

const OSSL_ALGORITHM schsm_asym_cipher_algs[] = {
    { "RSA:rsaEncryption:1.2.840.113549.1.1.1", PROPS, schsm_rsa_asym_cipher_functions,
      "RSA decryption (PKCS#1 v1.5, OAEP) on the SmartCard-HSM" },
    { NULL, NULL, NULL, NULL },
};
