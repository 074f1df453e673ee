/* SPDX-License-Identifier: Apache-2.0 */
/* Token session: lifetime, lazy opening, fork handling, transactions, identity. */
#include "hsm/token_int.h"
#include "hsm/crypto.h"
#include "hsm/cvc.h"
#include "hsm/rv.h"
#include "hsm/sw.h"
#include "hsm/tlv.h"
#include "hsm/trace.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hsm_token_new(const char *reader_spec, hsm_open_fn open, hsm_token **out)
{
    if (open == NULL || out == NULL)
        return HSM_E_ARGS;
    hsm_token *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return HSM_E_MEM;
    if (reader_spec != NULL && (t->spec = strdup(reader_spec)) == NULL) {
        free(t);
        return HSM_E_MEM;
    }
    if (RAND_bytes_ex(hsm_libctx(), t->salt, sizeof(t->salt), 0) != 1) {
        free(t->spec);
        free(t);
        return HSM_E_CRYPTO;
    }
    pthread_mutex_init(&t->mu, NULL);
    pthread_mutex_init(&t->algs_mu, NULL);
    t->open = open;
    t->idgen = 1;
    tok_fork_register();
    t->pid = getpid();
    t->gen = tok_fork_gen();
    snprintf(t->reader, sizeof(t->reader), "%s", reader_spec != NULL ? reader_spec : "(first SmartCard-HSM)");
    *out = t;
    return HSM_OK;
}

void hsm_token_free(hsm_token *t)
{
    if (t == NULL)
        return;
    tok_forget(t);
    for (size_t i = 0; i < 256; i++)
        hsm_bytes_free(&t->ce[i].data);
    tok_free_witnesses(t);
    hsm_bytes_free(&t->fids);
    tok_pin_clear(t);
    OPENSSL_cleanse(t->failed, sizeof(t->failed));
    OPENSSL_cleanse(t->salt, sizeof(t->salt));
    /* A child frees a copy of the parent's handles: leave them alone (see tok_enter). */
    if (t->card != NULL && t->pid == getpid())
        hsm_card_free(t->card);
    pthread_mutex_destroy(&t->algs_mu);
    pthread_mutex_destroy(&t->mu);
    free(t->spec);
    free(t);
}

const char *hsm_token_error(const hsm_token *t)
{
    if (t == NULL)
        return "no token";
    return t->err[0] != '\0' ? t->err : "no error";
}

void tok_err(hsm_token *t, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int n;
    if (t->info_valid && t->label[0] != '\0')
        n = snprintf(t->err, sizeof(t->err), "%s (reader \"%s\", token \"%s\")", msg, t->reader, t->label);
    else
        n = snprintf(t->err, sizeof(t->err), "%s (reader \"%s\")", msg, t->reader);
    if (n < 0)
        snprintf(t->err, sizeof(t->err), "%s", msg);
    hsm_log("%s", t->err);
}

void tok_sw_err(hsm_token *t, const char *what, uint8_t ins)
{
    uint16_t sw = t->card != NULL ? hsm_card_last_sw(t->card) : 0;
    tok_err(t, "%s: %s [SW %04X]", what, hsm_sw_message(sw, ins), sw);
}

void tok_forget_dir(hsm_token *t)
{
    t->dir_valid = 0;
    t->nkeys = 0;
    hsm_bytes_clear(&t->fids);
    for (size_t i = 0; i < 256; i++) {
        t->ce[i].valid = 0;
        hsm_bytes_clear(&t->ce[i].data);
        EVP_PKEY_free(t->ce[i].pk);
        t->ce[i].pk = NULL;
    }
    pthread_mutex_lock(&t->algs_mu);
    for (size_t i = 0; i < 256; i++)
        t->algs[i].known = 0;
    pthread_mutex_unlock(&t->algs_mu);
}

void tok_forget(hsm_token *t)
{
    t->selected = 0;
    t->logged_in = 0;
    t->inherited = 0;
    t->serial_valid = 0;
    t->info_valid = 0;
    tok_forget_dir(t);
    /* Whatever made us forget may have changed the card: handles looked up before re-validate. */
    t->idgen++;
}

/* Message for a transport-level failure. */
static void comm_err(hsm_token *t, int rc)
{
    if (rc == HSM_E_NO_CARD)
        tok_err(t, "no SmartCard-HSM in the reader (removed?): insert the token and retry");
    else if (rc == HSM_E_BUSY)
        tok_err(t, "the card is busy with another program: retry");
    else
        tok_err(t, "communication with the reader failed (%s): check the token is plugged in and "
                "pcscd is running", hsm_rv_text(rc));
}

static int tok_open(hsm_token *t)
{
    if (t->gen != tok_fork_gen()) {
        /* Forked child: the transport belongs to the parent (token_fork.c says what is kept). */
        tok_adopt_after_fork(t);
    }
    if (t->card != NULL)
        return HSM_OK;
    hsm_transport *tr = NULL;
    char why[512] = "";
    /* Reopen the reader found before by its full name: no probing SELECT (it would log every
     * process out of the card), and the same reader even when the spec matched by substring. */
    int rc = t->open(t->reader_resolved ? t->reader : t->spec, &tr, why, sizeof(why));
    if (rc != HSM_OK && t->reader_resolved)
        rc = t->open(t->spec, &tr, why, sizeof(why));   /* the token moved to another reader */
    if (rc != HSM_OK) {
        tok_err(t, "cannot open the reader: %s", why[0] ? why : hsm_rv_text(rc));
        return rc;
    }
    if (tr->reader[0] != '\0') {
        snprintf(t->reader, sizeof(t->reader), "%s", tr->reader);
        t->reader_resolved = 1;
    }
    rc = hsm_card_new(tr, &t->card);
    if (rc != HSM_OK) {
        tr->ops->close(tr);
        tok_err(t, "out of memory");
        return rc;
    }
    if (!t->inherited)
        tok_forget(t);
    return HSM_OK;
}

int tok_enter(hsm_token *t)
{
    pthread_mutex_lock(&t->mu);
    t->err[0] = '\0';
    int rc = tok_open(t);
    if (rc == HSM_OK) {
        rc = hsm_card_begin(t->card);
        if (rc == HSM_E_RESET) {
            /* Reset, removal or swap: nothing we knew about the card holds any more. */
            hsm_log("card was reset or replaced; dropping cached state");
            tok_forget(t);
            rc = HSM_OK;
        } else if (rc != HSM_OK) {
            tok_forget(t);
            comm_err(t, rc);
        } else if (t->inherited) {
            tok_confirm_inherited(t);
        }
    }
    if (rc != HSM_OK)
        pthread_mutex_unlock(&t->mu);
    return rc;
}

void tok_leave(hsm_token *t)
{
    if (t->card != NULL)
        hsm_card_end(t->card);
    pthread_mutex_unlock(&t->mu);
}

int tok_select(hsm_token *t)
{
    if (t->selected)
        return HSM_OK;
    int rc = hsm_card_select(t->card, &t->fcp);
    if (rc == HSM_OK) {
        t->selected = 1;
        t->logged_in = 0;   /* SELECT drops the card's security state */
        return HSM_OK;
    }
    if (rc == HSM_E_SW)
        tok_err(t, "the card is not a SmartCard-HSM (SELECT answered %04X): check the reader",
                hsm_card_last_sw(t->card));
    else if (rc == HSM_E_PARSE)
        tok_err(t, "the card's answer to SELECT is not a SmartCard-HSM FCP: check the reader");
    else if (rc == HSM_E_RESET)
        tok_err(t, "the card was reset by another program during the operation: retry");
    else
        comm_err(t, rc);
    if (rc == HSM_E_RESET || rc == HSM_E_NO_CARD || rc == HSM_E_COMM)
        tok_forget(t);
    return rc;
}

void tok_logout_others(hsm_token *t)
{
    t->selected = 0;
    if (tok_select(t) != HSM_OK)
        t->err[0] = '\0';   /* best effort; our own state was reset already */
}

/* ---- identity ---- */

/* The serial alone (EF 2F02): what key-reference URIs check on every load. */
static void read_serial(hsm_token *t)
{
    hsm_bytes b = HSM_BYTES_INIT;
    t->serial[0] = '\0';
    /* The serial is the device CHR minus its 5-digit sequence number, whether 2F02 keeps the
     * certificate chain or an authenticated request; absent or unparseable leaves it unknown. */
    if (hsm_card_read_file(t->card, HSM_FID_DEVCERT, &b) == HSM_OK) {
        char chr[64];
        if (hsm_cvc_device_chr(b.data, b.len, chr, sizeof(chr)) == HSM_OK) {
            size_t n = strlen(chr);
            if (n > 5)
                chr[n - 5] = '\0';
            chr[sizeof(t->serial) - 1] = '\0';
            memcpy(t->serial, chr, strlen(chr) + 1);
        }
    }
    hsm_bytes_free(&b);
    t->serial_valid = 1;
}

static void read_identity(hsm_token *t)
{
    hsm_bytes b = HSM_BYTES_INIT;
    snprintf(t->label, sizeof(t->label), "SmartCard-HSM");
    if (!t->serial_valid)
        read_serial(t);
    if (hsm_card_read_file(t->card, HSM_FID_TOKENINFO, &b) == HSM_OK) {
        hsm_tlv seq, lab;
        if (hsm_tlv_parse_one(b.data, b.len, &seq) == HSM_OK && seq.tag == 0x30 &&
            hsm_tlv_find(seq.val, seq.len, 0x80, &lab) == 1 && lab.len > 0) {
            size_t n = lab.len < sizeof(t->label) - 1 ? lab.len : sizeof(t->label) - 1;
            memcpy(t->label, lab.val, n);
            t->label[n] = '\0';
        }
    }
    hsm_bytes_free(&b);
    t->info_valid = 1;
}

int hsm_token_info_get(hsm_token *t, hsm_token_info *info)
{
    if (t == NULL || info == NULL)
        return HSM_E_ARGS;
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    memset(info, 0, sizeof(*info));
    info->pin_tries = info->so_pin_tries = -1;
    rc = tok_select(t);
    if (rc != HSM_OK)
        goto out;
    uint16_t sw = 0, so_sw = 0;
    rc = hsm_card_pin_status(t->card, HSM_PIN_USER, &sw);
    if (rc == HSM_OK)
        rc = hsm_card_pin_status(t->card, HSM_PIN_SO, &so_sw);
    if (rc != HSM_OK) {
        comm_err(t, rc);
        goto out;
    }
    info->pin_verified = sw == 0x9000;
    t->logged_in = sw == 0x9000;
    info->pin_tries = sw == 0x9000 ? -1 : sw == 0x6983 ? 0 : hsm_sw_tries(sw);
    info->so_pin_tries = so_sw == 0x6983 ? 0 : hsm_sw_tries(so_sw);
    info->transport_pin = sw == 0x6984;
    info->initialized = !(sw == 0x6A88 || so_sw == 0x6A88);
    if (!t->info_valid)
        read_identity(t);
    snprintf(info->reader, sizeof(info->reader), "%s", t->reader);
    snprintf(info->serial, sizeof(info->serial), "%s", t->serial);
    snprintf(info->label, sizeof(info->label), "%s", t->label);
    info->fw_major = t->fcp.major;
    info->fw_minor = t->fcp.minor;
    info->options = t->fcp.options;
out:
    tok_leave(t);
    return rc;
}

int hsm_token_serial(hsm_token *t, char *serial, size_t cap)
{
    if (t == NULL || serial == NULL || cap == 0)
        return HSM_E_ARGS;
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    if (!t->serial_valid) {
        rc = tok_select(t);
        if (rc == HSM_OK)
            read_serial(t);
    }
    if (rc == HSM_OK)
        snprintf(serial, cap, "%s", t->serial);
    tok_leave(t);
    return rc;
}

int hsm_token_identity(hsm_token *t, char *serial, size_t serial_cap, char *label, size_t label_cap)
{
    if (t == NULL || serial == NULL || serial_cap == 0 || (label != NULL && label_cap == 0))
        return HSM_E_ARGS;
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    if (!t->serial_valid || (label != NULL && !t->info_valid)) {
        rc = tok_select(t);
        if (rc == HSM_OK && label != NULL)
            read_identity(t);
        else if (rc == HSM_OK)
            read_serial(t);
    }
    if (rc == HSM_OK) {
        snprintf(serial, serial_cap, "%s", t->serial);
        if (label != NULL)
            snprintf(label, label_cap, "%s", t->label);
    }
    tok_leave(t);
    return rc;
}

void hsm_token_snapshot_begin(hsm_token *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->mu);
    if (t->snapshot++ == 0)
        t->snap_read = 0;
    pthread_mutex_unlock(&t->mu);
}

void hsm_token_snapshot_end(hsm_token *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->mu);
    if (t->snapshot > 0 && --t->snapshot == 0)
        t->snap_read = 0;
    pthread_mutex_unlock(&t->mu);
}

hsm_card *hsm_token_lock(hsm_token *t)
{
    if (t == NULL || tok_enter(t) != HSM_OK)
        return NULL;
    if (tok_select(t) != HSM_OK) {
        tok_leave(t);
        return NULL;
    }
    return t->card;
}

int hsm_token_file_ids(hsm_token *t, hsm_bytes *fids)
{
    if (t == NULL || fids == NULL)
        return HSM_E_ARGS;
    int rc = tok_enter(t);
    if (rc != HSM_OK)
        return rc;
    rc = tok_lookup_dir(t);
    hsm_bytes_clear(fids);
    if (rc == HSM_OK && t->fids.len > 0)
        rc = hsm_bytes_put(fids, t->fids.data, t->fids.len);
    tok_leave(t);
    return rc;
}

int hsm_token_relogin_once(hsm_token *t, int rc, int *retried)
{
    if (t == NULL || retried == NULL)
        return 0;
    return tok_relogin_once(t, &rc, retried);
}

hsm_card *hsm_token_lock_login(hsm_token *t)
{
    if (t == NULL || tok_enter(t) != HSM_OK)
        return NULL;
    if (tok_select(t) != HSM_OK || tok_login_held(t, 0) != HSM_OK) {
        tok_leave(t);
        return NULL;
    }
    return t->card;
}

void hsm_token_unlock(hsm_token *t, int dirty)
{
    if (t == NULL)
        return;
    if (dirty) {
        /* The caller may have selected, logged in or out, or changed objects. */
        tok_forget(t);
    }
    tok_leave(t);
}
