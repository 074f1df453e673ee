/* SPDX-License-Identifier: Apache-2.0 */
/* schsm-tool's files and secrets for DKEK shares and key backups (tools/keyfiles.c), shared by
 * the dkek, wrap/unwrap and backup commands. Each returns an exit code and reports its error. */
#ifndef SCHSM_TOOL_KEYFILES_H
#define SCHSM_TOOL_KEYFILES_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/dkek.h"
#include "hsm/keybackup.h"
#include "tools/util.h"

#define TOOL_KDF_NOTE "deriving key (takes a few seconds)\n"

/* Whole file into out (appended), refused beyond max bytes. */
int tool_read_file(tool_ctx *ctx, const char *path, size_t max, hsm_bytes *out);
/* Refuses an existing path unless force: checked before anything costly or card-related. */
int tool_check_out(tool_ctx *ctx, const char *path, int force);
/* Writes through a temporary file in the same directory (mode 0600): a crash leaves either no
 * file or the complete one; without force an existing target is never replaced. */
int tool_write_file(tool_ctx *ctx, const char *path, const uint8_t *data, size_t len, int force);
/* Share password from --password-source or the terminal (asked twice when confirm). */
int tool_share_password(tool_ctx *ctx, tool_args *a, int confirm, char **pw, size_t *len);
/* n-of-m: password shares from --shares-file, or asked on the terminal (want of them; 0 = all
 * in the file), combined into the 8-byte password. */
int tool_share_pwd_shares(tool_ctx *ctx, tool_args *a, long want, uint8_t secret[HSM_PWD_SECRET_LEN]);
/* Status of every key domain (cmd_dkek.c). */
int tool_read_domains(tool_ctx *ctx, hsm_kb_domain doms[HSM_KB_MAX_DOMAINS], size_t *nd);
/* One domain's DKEK status as dkek import-share and dkek status print it (cmd_dkek.c). */
void tool_print_domain_status(uint8_t dom, const hsm_dkek_status *st);
/* Prints the shares of a split password for the custodians. */
void tool_print_pwd_shares(const hsm_pwd_share *sh, unsigned t, unsigned n);


#endif
