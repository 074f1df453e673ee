/* SPDX-License-Identifier: Apache-2.0 */
/* Host side of DKEK key backup (protocol sheet 12.5-12.8):
 *  - DKEK share files as sc-hsm-tool writes them (OpenSSL "Salted__", EVP_BytesToKey MD5
 *    with 10 000 000 iterations, AES-256-CBC),
 *  - n-of-m sharing of a share file's password (Shamir over a 64-bit prime),
 *  - sc-hsm-tool's wrapped-key file (30 { 04 blob, PRKD, certificate }) and the header of the
 *    card's wrapped key blob.
 * No card access here: callers fetch randomness from the card and pass it in. */
#ifndef HSM_DKEK_H
#define HSM_DKEK_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/bytes.h"

#define HSM_DKEK_SHARE_LEN 32
#define HSM_DKEK_SALT_LEN 8
#define HSM_DKEK_FILE_LEN 64
#define HSM_DKEK_KDF_COUNT 10000000
#define HSM_DKEK_PWD_MIN 6

/* KCV of a 32-byte key: the first 8 bytes of its SHA-256 (as the card reports it). */
int hsm_dkek_kcv(const uint8_t key[HSM_DKEK_SHARE_LEN], uint8_t kcv[8]);

/* Encrypts a share into the 64-byte file image with count MD5 iterations (HSM_DKEK_KDF_COUNT
 * for files other tools read; tests may use fewer). */
int hsm_dkek_share_encrypt(const uint8_t share[HSM_DKEK_SHARE_LEN], const uint8_t *pwd, size_t pwd_len,
                           const uint8_t salt[HSM_DKEK_SALT_LEN], int count, uint8_t out[HSM_DKEK_FILE_LEN]);

/* Is this a share file by its look (64 bytes starting with "Salted__")? 1 or 0. */
int hsm_dkek_share_file_ok(const uint8_t *file, size_t len);

/* Decrypts a share file. HSM_E_PARSE when it does not look like a share file; HSM_E_VERIFY
 * when the padding is not the 16 bytes of 10 a correct password yields (wrong password).
 * share is cleansed on every failure. */
int hsm_dkek_share_decrypt(const uint8_t *file, size_t len, const uint8_t *pwd, size_t pwd_len, int count,
                           uint8_t share[HSM_DKEK_SHARE_LEN]);

/* ---- n-of-m password sharing ---- */

#define HSM_PWD_SECRET_LEN 8   /* the password is these 8 raw bytes, top bit cleared */
#define HSM_PWD_SHARES_MAX 255

typedef struct {
    uint64_t prime;
    unsigned id;       /* x coordinate, 1..255 */
    uint64_t value;    /* f(id) mod prime */
} hsm_pwd_share;

/* A random 64-bit safe prime (the modulus; not secret). */
int hsm_pwd_prime(uint64_t *prime);

/* Checks threshold/total as sc-hsm-tool does (total >= 3, 2 <= threshold <= total, total <= 255).
 * HSM_E_ARGS with a message in why. */
int hsm_pwd_check_params(long threshold, long total, char *why, size_t why_len);

/* Splits secret (8 bytes, big endian, < 2^63) into total shares, any threshold of which
 * recombine it. rnd supplies the coefficients: 16 bytes per coefficient, threshold-1 of them
 * (each reduced mod prime, so the bias is negligible). prime must exceed the secret. */
int hsm_pwd_split(const uint8_t secret[HSM_PWD_SECRET_LEN], uint64_t prime, unsigned threshold, unsigned total,
                  const uint8_t *rnd, size_t rnd_len, hsm_pwd_share *out);

/* Lagrange interpolation at 0. The result is always written as exactly 8 big-endian bytes (a
 * secret whose first byte is 00 stays 8 bytes long). HSM_E_ARGS for mixed primes, duplicate or
 * zero ids; HSM_E_VERIFY when the result cannot be a secret (top bit set: wrong shares). */
int hsm_pwd_combine(const hsm_pwd_share *shares, size_t n, uint8_t secret[HSM_PWD_SECRET_LEN]);

/* One share as text (the format hsm_pwd_shares_parse reads):
 *   "Prime:       aa:bb:..\nShare ID:    3\nShare value: cc:dd:..\n" */
int hsm_pwd_share_format(const hsm_pwd_share *s, char *out, size_t cap);

/* Reads every share from text: lines "Prime: HEX", "Share ID: N", "Share value: HEX" (keys
 * case-insensitive, HEX with or without ':'; other lines are ignored). A share is complete at
 * its value line. HSM_E_PARSE with a message in why for a malformed or incomplete entry. */
int hsm_pwd_shares_parse(const char *text, size_t len, hsm_pwd_share *out, size_t cap, size_t *n, char *why,
                         size_t why_len);

/* ---- wrapped keys ---- */

typedef struct {
    uint8_t kcv[8];
    uint8_t key_type;          /* 05/06 RSA, 0C EC, 0F AES */
    const uint8_t *algs;       /* algorithm list (points into the blob), algs_len 0 = none */
    size_t algs_len;
} hsm_wrapped_hdr;

/* Parses the header of a WRAP KEY blob (sheet 12.5), bounds-checked. HSM_E_PARSE when malformed. */
int hsm_wrapped_blob_header(const uint8_t *blob, size_t len, hsm_wrapped_hdr *out);

typedef struct {
    const uint8_t *blob;       /* the 04 value */
    size_t blob_len;
    const uint8_t *prkd;       /* whole PRKD TLV (EF C4nn content), NULL when absent */
    size_t prkd_len;
    const uint8_t *cert;       /* whole certificate / request TLV (EF CEnn content), NULL when absent */
    size_t cert_len;
    /* schsm extension after the certificate: E1 L { device cert || DICA cert } of the device that
     * generated the key (a group signer's origin chain, see hsm/xkek.h). NULL when absent. */
    const uint8_t *origin;
    size_t origin_len;
} hsm_wrapped_file;

/* sc-hsm-tool's --wrap-key file: 30 L { 04 L blob, [C4nn content], [CEnn content] }. The
 * pointers refer into buf. HSM_E_PARSE when malformed (trailing bytes after the 30 included). */
int hsm_wrapped_file_parse(const uint8_t *buf, size_t len, hsm_wrapped_file *out);
/* prkd/cert may be NULL. Each must be one complete TLV, as read from the card. */
/* Appends the origin chain element (E1) to a wrapped-key file that holds a description and a
 * certificate; in place. */
#define HSM_WRAPPED_ORIGIN_TAG 0xE1
int hsm_wrapped_file_add_origin(hsm_bytes *file, const uint8_t *chain, size_t len);
int hsm_wrapped_file_build(const uint8_t *blob, size_t blob_len, const uint8_t *prkd, size_t prkd_len,
                           const uint8_t *cert, size_t cert_len, hsm_bytes *out);

#endif
