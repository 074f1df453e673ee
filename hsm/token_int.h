/* Internals shared by token*.c. Not for use outside hsm/token*.c. */
#ifndef HSM_TOKEN_INT_H
#define HSM_TOKEN_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <sys/types.h>

#include "hsm/token.h"

#define TOK_MAX_FAILED 16

struct tok_ce {
    int valid;           /* data holds the content of CEnn (or CBnn fallback) */
    hsm_bytes data;
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
    char err[768];

    /* What we know of the card; all of it is dropped on reset/removal/foreign use. */
    int selected;
    hsm_fcp fcp;
    int logged_in;           /* the card said (or we made) the user PIN verified */

    /* PIN policy */
    hsm_bytes pin;           /* the PIN to use when a login is needed */
    int have_pin;
    int pin_worked;          /* the held PIN was accepted by VERIFY in this process */
    uint8_t salt[16];
    uint8_t failed[TOK_MAX_FAILED][32];
    size_t nfailed;

    /* Key directory */
    int dir_valid;
    hsm_bytes fids;          /* ENUMERATE answer */
    hsm_key keys[255];
    size_t nkeys;
    struct tok_ce ce[256];

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
/* Logs in with the held PIN when not logged in. only_proven: refuse unless the held PIN
 * already worked in this process (the retry after foreign use). */
int tok_login_held(hsm_token *t, int only_proven);
void tok_pin_clear(hsm_token *t);

/* token_dir.c */
int tok_load_dir(hsm_token *t);
int tok_has_fid(const hsm_token *t, uint16_t fid);
/* k still names the same key at the same reference (loading the directory when needed).
 * HSM_E_NOT_FOUND with "key changed on the card" otherwise. */
int tok_check_key(hsm_token *t, const hsm_key *k);
int tok_read_ce(hsm_token *t, uint8_t ref, const hsm_bytes **out);

#endif
