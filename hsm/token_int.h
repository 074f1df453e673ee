/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by token*.c. Not for use outside hsm/token*.c. */
#ifndef HSM_TOKEN_INT_H
#define HSM_TOKEN_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <sys/types.h>

#include "hsm/algs.h"
#include "hsm/token.h"

#define TOK_MAX_FAILED 16

struct tok_ce {
    int valid;           /* data holds the content of CEnn (or CBnn fallback) */
    hsm_bytes data;
    EVP_PKEY *pk;        /* its public key, decoded when first needed (hsm_libctx()) */
};

/* The last signature a validated handle made with key reference nn: evidence of which key sat
 * there, kept across every reset and change. After an identity change it must verify with the
 * public key now at nn before a handle from an older generation may use nn again. */
struct tok_wit {
    int valid;
    uint8_t alg;
    hsm_bytes in, sig;
    hsm_key key;         /* the directory entry it was made under (a different one: not evidence) */
};

struct hsm_token {
    pthread_mutex_t mu;
    char *spec;
    hsm_open_fn open;
    pid_t pid;
    unsigned long gen;       /* fork generation (token_fork.c) this session's transport belongs to */
    hsm_card *card;          /* NULL until opened (lazy), or after fork */
    char reader[256];
    int reader_resolved;     /* reader holds the name the transport reported (reopen by it) */
    int inherited;           /* state below came over fork(): confirm before use (token_fork.c) */
    char err[1536];   /* room for a few full URIs in ambiguity messages */

    /* What we know of the card; all of it is dropped on reset/removal/foreign use. */
    int selected;
    hsm_fcp fcp;
    int logged_in;           /* the card said (or we made) the user PIN verified */

    /* PIN policy */
    hsm_bytes pin;           /* the PIN to use when a login is needed */
    int have_pin;
    int pin_worked;          /* the held PIN was accepted by VERIFY in this process */
    int pin_sent;            /* the held PIN was sent in a VERIFY by this process */
    uint8_t salt[16];
    uint8_t failed[TOK_MAX_FAILED][32];
    size_t nfailed;

    /* Identity generation: bumped by tok_forget() (reset, removal, insertion, foreign use, a
     * management unlock) and when a lookup's directory re-read differs from the one held. */
    unsigned long idgen;
    int snapshot;            /* hsm_token_snapshot_begin() depth */
    int snap_read;           /* the directory was read inside the current snapshot */

    /* Key directory */
    int dir_valid;
    hsm_bytes fids;          /* ENUMERATE answer */
    int dir_lists_all;       /* it lists files other than CC/C4/C8/C9, so unlisted = absent */
    hsm_key keys[255];
    size_t nkeys;
    struct tok_ce ce[256];
    hsm_alg_list algs[256];  /* per key reference, read only when asked for (token_algs.c) */
    pthread_mutex_t algs_mu; /* algs[]: written under mu and algs_mu, read under either, so that a
                              * signature on another card of a pool never waits for this card's
                              * transaction just to look at the cached list */

    /* Per key reference: evidence and whether it held at the current generation */
    struct tok_wit wit[256];
    unsigned long ref_checked[256];   /* idgen at which wit[nn] was checked (0 = never) */
    unsigned char ref_same[256];      /* ... and the key at nn was the one that made it */

    /* Card identity, read only when asked for */
    int serial_valid;        /* serial read (EF 2F02 only) */
    int info_valid;
    char serial[32];
    char label[64];
};

/* token.c */
void tok_err(hsm_token *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tok_sw_err(hsm_token *t, const char *what, uint8_t ins);
void tok_forget(hsm_token *t);            /* selection, login, directory, identity */
void tok_forget_dir(hsm_token *t);
/* Lock the mutex and start a card transaction (opening the reader as needed). On error
 * the mutex is released again and the error text is set. */
int tok_enter(hsm_token *t);
void tok_leave(hsm_token *t);
int tok_select(hsm_token *t);             /* SELECT when not selected */
/* After our own change to the key set: drop the card's security state (re-SELECT) so that
 * every other session's next private-key operation fails with 6982 and re-checks its keys. */
void tok_logout_others(hsm_token *t);

/* token_fork.c */
void tok_fork_register(void);
unsigned long tok_fork_gen(void);
/* In a child: drop the parent's transport, keep what may be confirmed, mark it inherited. */
void tok_adopt_after_fork(hsm_token *t);
/* One PIN-status query: keep the inherited state when the login stands, else forget it all. */
void tok_confirm_inherited(hsm_token *t);

/* token_pin.c */
/* Logs in with the held PIN when not logged in. only_proven (the retry after foreign use):
 * refuse when this process already sent the held PIN without the card confirming it. */
int tok_login_held(hsm_token *t, int only_proven);
void tok_pin_clear(hsm_token *t);
/* A management command (generate, write, delete, unwrap) answered rc. When that is 6982 for the
 * first time in this transaction (another program re-selected the applet since our login, which
 * came from an earlier transaction): log in again with the held PIN, never one that was sent
 * without the card confirming it, and return 1 = repeat the command. 0 = do not repeat; when the
 * new login failed, *rc is its result and the error text says why. */
int tok_relogin_once(hsm_token *t, int *rc, int *retried);

/* token_algs.c: the algorithm list of key reference ref (one SELECT the first time). */
int tok_read_algs(hsm_token *t, uint8_t ref, hsm_alg_list *out);

/* token_dir.c */
int tok_load_dir(hsm_token *t);
int tok_has_fid(const hsm_token *t, uint16_t fid);
/* Listed, or possibly there although not listed (the card lists only CC/C4/C8/C9 files): worth a
 * READ BINARY by FID, where 6A82 means absent. */
int tok_may_have_fid(const hsm_token *t, uint16_t fid);
/* k still names the same key at the same reference (loading the directory when needed).
 * HSM_E_NOT_FOUND with "key changed on the card" otherwise. */
int tok_check_key(hsm_token *t, const hsm_key *k);
int tok_read_ce(hsm_token *t, uint8_t ref, const hsm_bytes **out);
/* The public key in CEnn/CBnn (cached with the directory; borrowed). */
int tok_ce_pub(hsm_token *t, uint8_t ref, EVP_PKEY **out);
/* A lookup's directory: re-read unless read inside the current snapshot; a difference from the
 * directory held before bumps idgen. */
int tok_lookup_dir(hsm_token *t);

/* token_check.c */
/* tok_check_key plus the re-validation of handles from an older generation (token.h,
 * hsm_token_sign_checked). pub may be NULL. */
int tok_check_handle(hsm_token *t, const hsm_key *k, EVP_PKEY *pub);
/* Does sig (the card's answer to SIGN with alg over in) verify with pub? 1 yes, 0 no, -1 cannot
 * tell (an algorithm we do not check). Leaves no error on OpenSSL's queue. */
int tok_sig_verifies(EVP_PKEY *pub, uint8_t alg, const uint8_t *in, size_t len, const uint8_t *sig,
                     size_t sig_len);
void tok_keep_witness(hsm_token *t, const hsm_key *k, uint8_t alg, const uint8_t *in, size_t len,
                      const hsm_bytes *sig);
void tok_free_witnesses(hsm_token *t);

#endif
