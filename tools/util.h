/* SPDX-License-Identifier: Apache-2.0 */
/* Shared plumbing of schsm-tool: the command table, option parsing, the session context,
 * secret input, output helpers. Each command group lives in its own cmd_*.c file. */
#ifndef SCHSM_TOOL_UTIL_H
#define SCHSM_TOOL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hsm/bytes.h"
#include "hsm/card.h"
#include "hsm/device.h"
#include "hsm/token.h"

#define SCHSM_TOOL_VERSION SCHSM_VERSION   /* CMake project VERSION */

enum { TOOL_OK = 0, TOOL_FAIL = 1, TOOL_USAGE = 2 };

/* One long option. arg == NULL means a flag without value. */
typedef struct {
    const char *name;   /* without the leading "--" */
    const char *arg;    /* metavariable shown in --help, e.g. "HEX" */
    const char *help;
} tool_opt;

#define TOOL_MAX_OPTS 24

/* The options tool_find_key() reads to pick one key on the card. */
#define TOOL_OPTS_KEY_SELECT { "label", "L", "the key's label" }, { "id", "HEX", "the key's ID" }

typedef struct {
    const tool_opt *opts;           /* command options (NULL-name terminated) */
    const char *val[TOOL_MAX_OPTS];
    int set[TOOL_MAX_OPTS];
} tool_args;

typedef struct tool_ctx tool_ctx;

typedef struct {
    const char *name;
    const char *synopsis;   /* arguments after the command name */
    const char *summary;    /* one line */
    const char *details;    /* extra --help text, may be NULL */
    const tool_opt *opts;   /* NULL-name terminated, may be NULL */
    int (*run)(tool_ctx *ctx, tool_args *a);
} tool_cmd;

struct tool_ctx {
    const char *prog;       /* "schsm-tool" */
    const tool_cmd *cmd;
    const char *reader;     /* --reader, else SCHSM_READER, else NULL */
    const char *pin_value;  /* --pin (points into argv) */
    const char *pin_source; /* --pin-source */
    char *pin;              /* the user PIN once read; cleansed at exit */
    size_t pin_len;
    hsm_token *tok;
};

/* Commands (one file per group). */
extern const tool_cmd tool_cmd_info;
extern const tool_cmd tool_cmd_init;
extern const tool_cmd tool_cmd_change_pin;
extern const tool_cmd tool_cmd_change_so_pin;
extern const tool_cmd tool_cmd_unblock_pin;
extern const tool_cmd tool_cmd_verify_pin;
extern const tool_cmd tool_cmd_keygen;
extern const tool_cmd tool_cmd_list;
extern const tool_cmd tool_cmd_delete;
extern const tool_cmd tool_cmd_import_cert;
extern const tool_cmd tool_cmd_export_pubkey;
extern const tool_cmd tool_cmd_device;
extern const tool_cmd tool_cmd_attest;
extern const tool_cmd tool_cmd_group_signer_create;
extern const tool_cmd tool_cmd_kdm_issue;
extern const tool_cmd tool_cmd_xkek_create;
extern const tool_cmd tool_cmd_xkek_exchange_key;
extern const tool_cmd tool_cmd_xkek_derive;

/* main.c: option lookup. */
const char *tool_arg(const tool_args *a, const char *name);
int tool_flag(const tool_args *a, const char *name);

/* Messages: "schsm-tool CMD: error: ..." on stderr. Return the exit code given. */
int tool_error(tool_ctx *ctx, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int tool_usage_error(tool_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Token failure: "what: <hsm_token_error>". */
int tool_token_fail(tool_ctx *ctx, const char *what);
/* Card failure inside hsm_token_lock(): maps rv and the card's SW (for ins) to a message. */
int tool_card_fail(tool_ctx *ctx, hsm_card *c, int rv, uint8_t ins, const char *what);

/* Opens the token session (lazy: nothing touches the card yet). Returns an exit code. */
int tool_open(tool_ctx *ctx);
/* tool_open() plus a check that the card answers (SELECT unless already selected). */
int tool_reach(tool_ctx *ctx);
/* Makes sure the user PIN is verified: reads the PIN (option, source or prompt) only when the
 * card needs it, then logs in through the token's PIN-safety rules. Returns an exit code. */
int tool_login(tool_ctx *ctx, unsigned flags);
/* Reads the user PIN from --pin / --pin-source / the terminal into ctx->pin. */
int tool_user_pin(tool_ctx *ctx, const char *prompt);

/* pin.c: secret input. Each returns HSM_OK with a malloc'd NUL-terminated secret (free it
 * with tool_secret_free), or an error with a message in why. */
int tool_secret_from_source(const char *source, char **out, size_t *len, char *why, size_t why_len);
int tool_secret_prompt(const char *prompt, int confirm, char **out, size_t *len, char *why, size_t why_len);
void tool_secret_free(char *s, size_t len);
/* Copies a secret given on the command line and wipes the argv bytes. 0 or -1 (no memory). */
int tool_take_secret(const char *argv_val, char **out, size_t *len);
/* Is there a terminal to ask (controlling tty)? */
int tool_have_tty(void);
/* Asks a yes/no question on the terminal; 1 only for "yes"/"y". */
int tool_confirm(const char *question);

/* parse.c: pure input validation (unit-tested). Each returns HSM_OK or HSM_E_ARGS with a
 * message for people in why. */
int tool_parse_so_pin(const char *hex, uint8_t out[8], char *why, size_t why_len);
int tool_check_pin(size_t len, const char *what, char *why, size_t why_len);
int tool_check_retries(long retries, size_t pin_len, char *why, size_t why_len);
int tool_parse_uint(const char *s, long min, long max, long *out);
typedef struct {
    int type;            /* enum hsm_key_type */
    int ec_nid;
    unsigned rsa_bits;
} tool_keytype;
int tool_parse_keytype(const char *spec, tool_keytype *out, char *why, size_t why_len);
int tool_parse_id(const char *hex, uint8_t *out, size_t cap, size_t *len, char *why, size_t why_len);

/* json.c: a small streaming JSON writer. */
typedef struct {
    FILE *f;
    int depth;
    int need_comma[32];
    int after_key;
} tool_json;
void tool_json_init(tool_json *j, FILE *f);
void tool_json_begin_object(tool_json *j);
void tool_json_end_object(tool_json *j);
void tool_json_begin_array(tool_json *j);
void tool_json_end_array(tool_json *j);
void tool_json_key(tool_json *j, const char *key);
void tool_json_string(tool_json *j, const char *s);
void tool_json_string_n(tool_json *j, const char *s, size_t n);
void tool_json_int(tool_json *j, long long v);
void tool_json_bool(tool_json *j, int v);
void tool_json_null(tool_json *j);
/* Ends the document with a newline. */
void tool_json_finish(tool_json *j);

/* files.c: public files (chains, attestation bundles, KDMs, exchange requests). path "-" =
 * standard output. tool_read_public caps the size and names what was expected in errors. */
int tool_write_public(tool_ctx *ctx, const char *path, const uint8_t *data, size_t len);
int tool_read_public(tool_ctx *ctx, const char *path, const char *what, hsm_bytes *out);
/* "key": "hex" */
void tool_json_hex(tool_json *j, const char *key, const uint8_t *p, size_t n);

/* cmd_device.c: a chain verdict for people, and as JSON members chain, device_certificate,
 * dica_certificate (shared by device and attest). */
void tool_print_chain(const hsm_chain *ch);
void tool_json_chain(tool_json *j, const hsm_chain *ch);

/* Key selection shared by delete, import-cert, export-pubkey: --label and/or --id. */
int tool_find_key(tool_ctx *ctx, tool_args *a, hsm_key *out);
const char *tool_key_type_name(int type);

#endif
