/* SPDX-License-Identifier: Apache-2.0 */
/* Internals of the virtual SmartCard-HSM shared by the sim/ command files. Not for other modules. */
#ifndef SIM_SIM_INT_H
#define SIM_SIM_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "hsm/apdu.h"
#include "hsm/bytes.h"
#include "sim/card.h"

#define SIM_FW_MAJOR 3
#define SIM_FW_MINOR 5
#define SIM_MAX_APDU 1232          /* JCOP 3: longest complete command APDU */
#define SIM_READ_MAX 1230          /* READ BINARY data per response: the JCOP 3 buffer minus SW */
#define SIM_MEM_TOTAL 77824        /* 76 KiB of user memory (Nitrokey HSM 2) */
#define SIM_KEY_OVERHEAD 64        /* per-key bookkeeping the capacity model charges */
#define SIM_FILE_OVERHEAD 16
#define SIM_MAX_DOMAINS 16
#define SIM_PIN_MIN 6
#define SIM_PIN_MAX 16
#define SIM_SO_TRIES 15
#define SIM_CHALLENGE_MAX 1024

/* Status words the card uses */
#define SW_OK 0x9000
#define SW_EOF 0x6282
#define SW_WRONG_LENGTH 0x6700
#define SW_SEC_STATUS 0x6982
#define SW_BLOCKED 0x6983
#define SW_REF_UNUSABLE 0x6984
#define SW_CONDITIONS 0x6985
#define SW_NO_CURRENT_EF 0x6986
#define SW_BAD_DATA 0x6A80
#define SW_FUNC_NOT_SUPPORTED 0x6A81
#define SW_NOT_FOUND 0x6A82
#define SW_NO_MEMORY 0x6A84
#define SW_BAD_P1P2 0x6A86
#define SW_REF_NOT_FOUND 0x6A88
#define SW_EXISTS 0x6A89
#define SW_WRONG_PARAMS 0x6B00
#define SW_INS_NOT_SUPPORTED 0x6D00
#define SW_CLA_NOT_SUPPORTED 0x6E00
#define SW_INTERNAL 0x6F00

/* What the last command changed (sim_card.dirty): volatile state (selection, login) is shared
 * through the state file but needs no fsync; persistent state does. */
#define SIM_CHANGED_VOLATILE 1
#define SIM_CHANGED_PERSISTENT 2

enum sim_key_type { SIM_KEY_RSA = 1, SIM_KEY_EC = 2, SIM_KEY_AES = 3 };

typedef struct {
    uint8_t id;                /* nn of CCnn; 0 = device authentication key */
    int type;                  /* enum sim_key_type */
    unsigned bits;             /* RSA modulus, EC field, AES key size */
    hsm_bytes priv;            /* DER private key (i2d_PrivateKey) or the raw AES key */
    int has_counter;
    uint32_t counter;          /* tag 90: remaining uses */
    int has_algs;
    uint8_t algs[16];          /* tag 91 */
    size_t nalgs;
    uint8_t domain;            /* tag 92 (default 0) */
    EVP_PKEY *pkey;            /* parsed lazily from priv; not serialised */
} sim_key;

typedef struct {
    uint16_t fid;
    hsm_bytes data;
} sim_file;

enum sim_domain_state { SIM_DOM_EMPTY = 0, SIM_DOM_DKEK = 1, SIM_DOM_XKEK = 2 };

typedef struct {
    int state;                 /* enum sim_domain_state */
    uint8_t total, missing;    /* DKEK shares configured / still missing */
    int kek_set;               /* kek holds a complete key */
    uint8_t kek[32];           /* XOR of the shares so far (DKEK) or the agreed XKEK */
    uint8_t uid[132];          /* XKEK: X||Y of the group signer's public key */
    size_t uid_len;
} sim_domain;

/* A CV public key the card has verified (PSO VERIFY CERTIFICATE) and may use to check others. */
typedef struct {
    char chr[17];
    int nid;
    uint8_t point[133];
    size_t point_len;
} sim_pubkey;

#define SIM_MAX_PUBKEYS 16

struct sim_card {
    /* persistent */
    int initialized;
    uint16_t options;
    uint8_t fw_major, fw_minor;   /* firmware version (state tag 0x8F; absent = SIM_FW_MAJOR.SIM_FW_MINOR) */
    uint8_t pin[SIM_PIN_MAX];
    size_t pin_len;
    uint8_t pin_tries, pin_max;
    int transport_pin;
    int so_set;
    uint8_t so_pin[8];
    uint8_t so_tries;
    size_t ndomains;
    sim_domain dom[SIM_MAX_DOMAINS];
    sim_key *keys;             /* sorted by id */
    size_t nkeys, capkeys;
    sim_file *files;           /* sorted by fid */
    size_t nfiles, capfiles;
    uint32_t epoch;            /* counts power cycles / resets */
    sim_pubkey pubkeys[SIM_MAX_PUBKEYS];   /* verified CV keys (roots are built in) */
    size_t npubkeys;
    /* volatile (in the state file too, so that processes share it like a real card) */
    char mse_chr[17];          /* public key selected by MSE SET for PSO VERIFY CERTIFICATE */
    int selected;
    int pin_ok;
    uint16_t cur_ef;
    /* per command */
    int dirty;
};

typedef uint16_t (*sim_handler)(sim_card *c, const hsm_apdu *a, hsm_bytes *out);

/* card.c: objects and memory */
/* Frees every key and file and zeroes the whole card (the struct itself stays). */
void sim_card_wipe(sim_card *c);
sim_key *sim_key_find(sim_card *c, uint8_t id);
sim_key *sim_key_put(sim_card *c, uint8_t id);     /* creates or clears slot id */
void sim_key_delete(sim_card *c, uint8_t id);
void sim_key_clear(sim_key *k);
EVP_PKEY *sim_key_pkey(sim_key *k);                 /* NULL for AES or on parse failure */
size_t sim_key_cost(int type, unsigned bits);
sim_file *sim_file_find(sim_card *c, uint16_t fid);
sim_file *sim_file_put(sim_card *c, uint16_t fid);  /* finds or creates (empty) */
void sim_file_delete(sim_card *c, uint16_t fid);
size_t sim_mem_used(const sim_card *c);
size_t sim_mem_free(const sim_card *c);
int sim_key_alg_allowed(const sim_key *k, uint8_t alg);
/* Parses TLV meta data 90/91/92 into k; returns SW_OK or SW_BAD_DATA. */
uint16_t sim_parse_meta(const sim_card *c, const uint8_t *d, size_t len, sim_key *k);
/* Random bytes from the card's "TRNG". */
int sim_random(uint8_t *p, size_t n);

/* devcert.c */
int sim_devcert_create(sim_card *c);
/* The same with a given device CHR (NULL = a random one). */
int sim_devcert_issue(sim_card *c, const char *device_chr);
/* The device CHR from EF 2F02 into out (cap >= 17); "" when absent. */
void sim_device_chr(sim_card *c, char *out, size_t cap);

/* Key generation and private-key serialisation (keys.c) */
int sim_keygen_ec(int nid, EVP_PKEY **out);
int sim_keygen_rsa(unsigned bits, const uint8_t *e, size_t elen, EVP_PKEY **out);
int sim_key_store_pkey(sim_key *k, EVP_PKEY *pkey);   /* takes ownership of pkey */
int sim_ec_key_nid(EVP_PKEY *pkey);

/* Command handlers */
uint16_t sim_cmd_verify(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_change_ref(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_reset_retry(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_initialize(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_select(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_enumerate(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_read_binary(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_update_binary(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_delete_file(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_gakp(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_gsk(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_sign(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_decipher(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_cipher(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_key_domain(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_wrap(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_unwrap(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_derive_ec(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
/* ECDH with key k and an uncompressed peer point: 04||X||Y of the shared point. */
uint16_t sim_ecdh_point(sim_key *k, const uint8_t *in, size_t len, hsm_bytes *out);
uint16_t sim_cmd_mse(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_cmd_pso_verify(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
/* cmd_xkek.c: XKEK domains (80 52 P1 02) and derivation (80 62 P2 84) */
uint16_t sim_xkek_create(sim_card *c, const hsm_apdu *a, hsm_bytes *out);
uint16_t sim_xkek_derive(sim_card *c, sim_key *k, const uint8_t *req, size_t len);
/* Certificate extension 65 for a new key in XKEK domain dom (appended to body; none otherwise). */
void sim_xkek_put_extension(const sim_card *c, uint8_t dom, hsm_bytes *body);
uint16_t sim_cmd_challenge(sim_card *c, const hsm_apdu *a, hsm_bytes *out);

/* AES-CMAC with a 16/24/32-byte key; 1 on success. */
int sim_aes_cmac(const uint8_t *key, size_t keylen, const uint8_t *in, size_t len, uint8_t mac[16]);

/* KCV of a key domain's KEK: SHA-256(kek)[0..8]. */
void sim_dkek_kcv(const uint8_t kek[32], uint8_t kcv[8]);

#endif
