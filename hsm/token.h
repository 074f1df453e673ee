/* SPDX-License-Identifier: Apache-2.0 */
/* A token session: the policy layer above card.h that the provider and schsm-tool share.
 *  - Opens the reader through an opener callback, so it can reopen after fork() or removal.
 *  - Keeps the key directory in memory, bound to this process, to the card's identity and to
 *    reset/insertion events; any sign of change (reset, 6982 after a login we made, a different
 *    device) drops it and re-reads before the next use. Nothing is kept across processes.
 *  - PIN safety: reads the retry counter before VERIFY, refuses when one try is left unless
 *    the caller allows it explicitly, never resends a PIN that failed, keeps a PIN that worked
 *    (to log in again after a reset) and cleanses it in hsm_token_free().
 *  - Every public function takes the token's mutex and runs in one card transaction.
 *  - After a change to the key set (generate, delete) the token re-SELECTs the applet, which
 *    drops the card's security state: every other session's next private-key operation then
 *    gets 6982, re-reads the directory and re-checks its key before it signs again. Without
 *    this, a session that stays logged in could sign with a key that replaced its own.
 *  - After fork() the child abandons the parent's transport (never closes it), opens its own,
 *    and logs in again with the held PIN. */
#ifndef HSM_TOKEN_H
#define HSM_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "hsm/algs.h"
#include "hsm/bytes.h"
#include "hsm/card.h"
#include "hsm/pkcs15.h"
#include "hsm/transport.h"

/* Opens a transport for a reader spec (see reader/reader.h). why receives a human message on error. */
typedef int (*hsm_open_fn)(const char *reader_spec, hsm_transport **out, char *why, size_t why_len);

typedef struct hsm_token hsm_token;

/* reader_spec may be NULL (first reader with a SmartCard-HSM). Does not touch the card yet. */
int hsm_token_new(const char *reader_spec, hsm_open_fn open, hsm_token **out);
void hsm_token_free(hsm_token *t);

/* Last error as a sentence for people (what happened and what to do); never contains secrets. */
const char *hsm_token_error(const hsm_token *t);

typedef struct {
    char reader[256];
    char serial[32];         /* device CHR minus its last 5 characters, e.g. DENK0200834 */
    char label[64];          /* token label from EF 2F03 ("SmartCard-HSM" when absent) */
    uint8_t fw_major, fw_minor;
    uint16_t options;
    int initialized;         /* 0 = factory fresh */
    int transport_pin;       /* PIN must be changed first (6984) */
    int pin_verified;
    int pin_tries;           /* -1 unknown, 0 blocked */
    int so_pin_tries;        /* -1 unknown, 0 blocked */
} hsm_token_info;

int hsm_token_info_get(hsm_token *t, hsm_token_info *info);
/* The card's serial only (as in hsm_token_info.serial; "" when the card has no device
 * certificate). Costs one READ BINARY of EF 2F02 per card identity: cached with the directory and
 * dropped on reset, removal or a swap. For URIs with serial=, which key-reference files carry. */
int hsm_token_serial(hsm_token *t, char *serial, size_t cap);

/* The card directly, for schsm-tool's management commands. Call inside
 * hsm_token_lock()/hsm_token_unlock(); the token forgets its caches on unlock when dirty != 0
 * (pass dirty when you sent SELECT, VERIFY, or changed objects). The applet is selected on
 * return. NULL on failure (hsm_token_error() says why); then do NOT call hsm_token_unlock(). */
hsm_card *hsm_token_lock(hsm_token *t);
void hsm_token_unlock(hsm_token *t, int dirty);
/* Inside hsm_token_lock(): a management command (write, delete, unwrap ...) answered rc. Returns 1
 * when that was 6982 for the first time in this lock (another program re-selected the applet,
 * logging everyone out, after the login of an earlier transaction) and a new login with the held
 * PIN worked: send the command again. Never resends a PIN the card did not confirm; 0 otherwise
 * (hsm_token_error() says why when the new login failed). */
int hsm_token_relogin_once(hsm_token *t, int rc, int *retried);
/* Inside hsm_token_lock(): deletes CEnn and CBnn of the free key reference ref before a new key
 * takes it (6A82, absent, counts as done), with the one new login a 6982 allows. For cards whose
 * ENUMERATE lists only keys and descriptions: there an interrupted delete (key gone, its
 * public-key files not yet) leaves them unseen, and the new key would inherit the old key's
 * request or certificate. hsm_token_error() says why on failure. */
int hsm_token_clear_public_files(hsm_token *t, uint8_t ref, int *retried);
/* The card's file list (the ENUMERATE answer: 2-byte FIDs), read as a lookup reads the directory:
 * inside a snapshot it costs nothing more. */
int hsm_token_file_ids(hsm_token *t, hsm_bytes *fids);
/* hsm_token_lock() that also logs in with the held PIN when the card needs it (for commands that
 * need the user PIN after a re-SELECT dropped the login). NULL on failure, as hsm_token_lock(). */
hsm_card *hsm_token_lock_login(hsm_token *t);

typedef struct {
    uint8_t key_ref;                /* nn of CCnn: the card's key reference */
    enum hsm_key_type type;
    char label[HSM_LABEL_MAX];
    uint8_t id[HSM_ID_MAX];
    size_t id_len;
    unsigned bits;                  /* RSA modulus / EC field size */
    int has_cert_file;              /* EF CEnn exists */
    /* The token's identity generation when this handle was looked up. It changes on every reset,
     * removal, insertion, foreign use (6982 after our login) and every change a directory re-read
     * shows; a handle from an older generation is re-validated before its next use. */
    unsigned long gen;
    /* Made by hsm_token_key_recorded() without reading the directory: until the directory has
     * confirmed it, the handle is used only to sign with a known public key, which checks every
     * signature on the host; one that does not verify sends it through the full re-check. */
    int recorded;
} hsm_key;

typedef struct {
    uint16_t fid;                   /* CEnn (end-entity, belongs to key nn) or CAnn */
    char label[HSM_LABEL_MAX];
    uint8_t id[HSM_ID_MAX];
    size_t id_len;
} hsm_cert_ref;

/* Lookups (list_keys, list_certs, find_key) never trust an old directory: each re-reads it
 * (ENUMERATE + one read per C4nn), unless it was read inside the current snapshot. A snapshot
 * groups the lookups of one logical operation (one store open listing keys and certificates) so
 * that they share one read. Nested begin/end pairs count; private-key operations are not lookups
 * and keep using the directory as long as nothing suggests a change. */
void hsm_token_snapshot_begin(hsm_token *t);
void hsm_token_snapshot_end(hsm_token *t);

/* The card's identity without any PIN-status query: serial (as in hsm_token_serial) and, when label
 * is not NULL, the token label (EF 2F03). Cached until the next reset, removal or foreign use.
 * Fails (HSM_E_NO_CARD, HSM_E_SW ...) when the reader holds no SmartCard-HSM. */
int hsm_token_identity(hsm_token *t, char *serial, size_t serial_cap, char *label, size_t label_cap);

/* Key directory (costs ENUMERATE + one read per C4nn). Returns an array
 * the caller frees with free(). Keys without a C4nn are listed with an empty label and their
 * key reference as ID, as OpenSC would not show them but a user must be able to see them. */
int hsm_token_list_keys(hsm_token *t, hsm_key **keys, size_t *n);
/* Certificates: CEnn files holding X.509 (first byte 30) plus CAnn files with their C8nn. */
int hsm_token_list_certs(hsm_token *t, hsm_cert_ref **certs, size_t *n);

/* Finds exactly one key by label and/or ID (either may be NULL/0). HSM_E_NOT_FOUND or
 * HSM_E_AMBIGUOUS (hsm_token_error() then names the candidates). */
int hsm_token_find_key(hsm_token *t, const char *label, const uint8_t *id, size_t id_len, hsm_key *out);

/* A handle from what a key-reference file records (reference, type, label, ID, size), costing no
 * APDU. Safe only together with the key's public key (hsm_token_sign_checked): see hsm_key.recorded.
 * Decryption and key derivation with it check the directory first, as for an old handle. */
int hsm_token_key_recorded(hsm_token *t, uint8_t key_ref, enum hsm_key_type type, const char *label,
                           const uint8_t *id, size_t id_len, unsigned bits, hsm_key *out);

/* Public key of a key: from the X.509 certificate or the CV request in CEnn (costs one read,
 * cached with the directory). */
int hsm_token_public_key(hsm_token *t, const hsm_key *k, EVP_PKEY **out);
int hsm_token_read_file(hsm_token *t, uint16_t fid, hsm_bytes *out);

/* The card's length rule for the user PIN (sc-hsm-protocol.md 4.1): 6..16 bytes. A PIN outside it
 * is refused before any APDU (the card would answer 6A80). */
#define HSM_USER_PIN_MIN 6
#define HSM_USER_PIN_MAX 16
/* HSM_OK when len fits the rule, else HSM_E_ARGS with "the <what> must have 6 to 16 characters
 * (N given)" in why (never the PIN itself). */
int hsm_pin_len_check(size_t len, const char *what, char *why, size_t why_len);

/* PIN handling. hsm_token_set_pin() hands the token a PIN to use when a login is needed;
 * nothing is sent until an operation needs it. */
int hsm_token_set_pin(hsm_token *t, const char *pin, size_t len);
/* Returns 1 when a PIN will be needed for a private-key operation right now (costs the
 * status query when not known), so callers can ask the user only then. 0 when logged in or a
 * PIN is held; 1 on errors. hsm_token_set_pin() refuses (HSM_E_PIN_REFUSED) a PIN that failed. */
int hsm_token_needs_pin(hsm_token *t);
enum { HSM_LOGIN_ALLOW_LAST_TRY = 1 };
/* Logs in with pin now (status query first; see PIN safety above). HSM_E_PIN_REFUSED when not
 * sent (one try left without HSM_LOGIN_ALLOW_LAST_TRY, blocked, transport PIN, not initialised,
 * or this PIN failed before in this process), HSM_E_SW with 63Cx/6983 when the card said no.
 * A PIN that worked is kept as the held PIN. hsm_token_logout() re-selects and drops it. */
int hsm_token_login(hsm_token *t, const char *pin, size_t len, unsigned flags);
/* Hands the PIN that from's card accepted (VERIFY in this process) to to, unless to holds one;
 * nothing is sent. HSM_E_PIN_REFUSED when from holds no PIN its card checked. For pools of cards
 * that share one PIN. */
int hsm_token_share_pin(hsm_token *from, hsm_token *to);
/* Did a PIN fail on this card in this process? (Then none is sent to it again automatically.) */
int hsm_token_pin_failed(hsm_token *t);
void hsm_token_logout(hsm_token *t);

/* Supplies a PIN for hsm_token_ensure_login(): writes it to buf (at most cap bytes) and returns
 * its length, or 0 when none can be had (the callback reports its own reason). */
typedef size_t (*hsm_pin_fn)(void *arg, char *buf, size_t cap);
/* For a program about to use a private key (a server loading its key before it forks): makes the
 * card logged in and the session hold a PIN, in one transaction with at most one PIN-status query
 * and one VERIFY. No APDU when this session's login stands and it holds a PIN. get_pin is asked
 * only when no PIN is held, and never when the status forbids sending one (one try left,
 * blocked, transport PIN: HSM_E_PIN_REFUSED without asking). When the card is logged in already
 * a PIN from get_pin is only held, for logging in again after a reset. get_pin NULL: use the held
 * PIN, or, with none, leave the login to the first private-key operation (HSM_OK). A get_pin that
 * gives nothing while a PIN is needed: HSM_E_PIN_REFUSED. */
int hsm_token_ensure_login(hsm_token *t, hsm_pin_fn get_pin, void *arg);

/* Private-key operations: log in when needed with the PIN held, re-check that key still is the
 * same key after a reset or foreign use, retry once after 6982 when a login that worked before
 * can be repeated. */
int hsm_token_sign(hsm_token *t, const hsm_key *k, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out);
/* hsm_token_sign for a handle whose public key is known (pub, in hsm_libctx(); NULL = not known).
 *  - A handle from an older identity generation (see hsm_key.gen) is re-validated first: its C4nn
 *    must still match, and its public key must equal the one in CEnn/CBnn (pub given), or a
 *    signature it made before must verify with that one (pub not known). Otherwise
 *    HSM_E_NOT_FOUND: "the key on the card changed (card swapped or key replaced); load it again".
 *  - With pub, every signature of HSM_ALG_ECDSA (DER) and HSM_ALG_RSA_RAW is verified on the host
 *    before it is returned (no APDU). One that does not verify is never returned: the token
 *    treats it as a card change, re-reads and re-validates the key (HSM_E_NOT_FOUND as above),
 *    and fails with HSM_E_CRYPTO when the key is unchanged and the card signs wrongly again. */
int hsm_token_sign_checked(hsm_token *t, const hsm_key *k, EVP_PKEY *pub, uint8_t alg, const uint8_t *in,
                           size_t len, hsm_bytes *out);
int hsm_token_decipher(hsm_token *t, const hsm_key *k, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out);
/* The key's algorithm list (tag 91 in the FCP of CCnn). Costs one SELECT of the key file the first
 * time per directory, only when read != 0; with read == 0 it answers from what is known (known == 0
 * when nothing is). Private-key operations the card refuses read it (to name it in the error),
 * so a refused operation leaves it known. */
int hsm_token_key_algorithms(hsm_token *t, const hsm_key *k, int read, hsm_alg_list *out);

typedef struct {
    enum hsm_key_type type;
    int ec_nid;                 /* EC */
    unsigned rsa_bits;          /* RSA modulus bits; for HSM_KEY_AES the key bits (128/192/256) */
    const char *label;          /* required */
    const uint8_t *id;          /* NULL = OpenSC's SHA-1 style ID */
    size_t id_len;
    const uint8_t *algorithms;  /* tag 91; NULL = none (all algorithms, exportable with a DKEK) */
    size_t algorithms_len;
    int key_domain;             /* -1 = none */
} hsm_keygen_params;

/* Generates a key on the card and writes its C4nn, at the lowest free key reference. On any
 * failure after the card created the key, the key, C4nn and CEnn are removed again. */
int hsm_token_generate(hsm_token *t, const hsm_keygen_params *p, hsm_key *out);
/* Leftovers of an interrupted keygen or delete of the key labelled label: key references without
 * a description whose CV request (CEnn/CBnn) carries the holder reference keygen derives from the
 * label. *found counts them; unless dry_run they are removed (user PIN as for delete).
 * hsm_token_generate() removes its own leftovers before it generates. */
int hsm_token_remove_leftovers(hsm_token *t, const char *label, int dry_run, size_t *found);
/* Deletes C4nn (first: the key then shows as incomplete, never a description of nothing), CCnn,
 * CEnn and CBnn of the key (nothing else). */
int hsm_token_delete_key(hsm_token *t, const hsm_key *k);
/* Stores an X.509 certificate (DER) in CEnn of the key, replacing the CV request there.
 * The authenticated CV request (67..., the key's attestation) is first copied to EF CBnn
 * (same nn) unless CBnn exists, so it is never lost; hsm_token_public_key() falls back to
 * CBnn when CEnn is gone. CEnn is deleted and written anew (no stale trailing bytes). */
int hsm_token_store_cert(hsm_token *t, const hsm_key *k, const uint8_t *der, size_t len);
/* Removes the X.509 certificate of a key and keeps the key: the CV request kept in CBnn goes back to
 * CEnn (as after key generation). Refused (HSM_E_ARGS, nothing changed) when no request was kept,
 * since the certificate is then the card's only copy of the public key; HSM_E_NOT_FOUND without an
 * X.509 certificate. */
int hsm_token_delete_cert(hsm_token *t, const hsm_key *k);
/* New label and/or ID (NULL = keep) in the key's description (C4nn). Another key may not have
 * them. The key itself and its certificate stay. */
int hsm_token_rename_key(hsm_token *t, const hsm_key *k, const char *label, const uint8_t *id, size_t id_len);

#endif
