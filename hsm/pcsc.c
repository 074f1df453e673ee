/* SPDX-License-Identifier: Apache-2.0 */
#include "hsm/card.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"
#include "hsm/trace.h"
#include "hsm/transport.h"

#include <PCSC/winscard.h>
#include <PCSC/pcsclite.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    hsm_transport base;
    SCARDCONTEXT ctx;
    SCARDHANDLE h;
    DWORD proto;
    int connected;
    int need_reconnect;   /* card removed / handle lost: connect afresh on the next begin */
    pid_t pid;            /* PC/SC handles belong to the process that made them */
} pcsc_t;

static const struct hsm_transport_ops pcsc_ops;

static void say(char *why, size_t why_len, const char *msg)
{
    if (why != NULL && why_len > 0)
        snprintf(why, why_len, "%s", msg);
}

static void say_err(char *why, size_t why_len, const char *what, LONG r)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "%s: %s", what, pcsc_stringify_error(r));
    say(why, why_len, msg);
}

static int ctx_lost(LONG r)
{
    return r == SCARD_E_INVALID_HANDLE || r == SCARD_E_NO_SERVICE || r == SCARD_E_SERVICE_STOPPED ||
           r == SCARD_E_READER_UNAVAILABLE || r == SCARD_E_UNKNOWN_READER;
}

static int card_gone(LONG r)
{
    return r == SCARD_W_REMOVED_CARD || r == SCARD_E_NO_SMARTCARD;
}

static int list_readers(SCARDCONTEXT ctx, char **out, LONG *err)
{
    DWORD n = 0;
    *out = NULL;
    LONG r = SCardListReaders(ctx, NULL, NULL, &n);
    if (r == SCARD_S_SUCCESS && n > 0) {
        char *buf = calloc(1, (size_t)n + 2);
        if (buf == NULL)
            return HSM_E_MEM;
        r = SCardListReaders(ctx, NULL, buf, &n);
        if (r == SCARD_S_SUCCESS) {
            *out = buf;
            return HSM_OK;
        }
        free(buf);
    }
    *err = r;
    return r == SCARD_S_SUCCESS || r == SCARD_E_NO_READERS_AVAILABLE ? HSM_E_NO_READER : HSM_E_COMM;
}

int hsm_reader_matches(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *h = hay; *h != '\0'; h++) {
        size_t i = 0;
        while (i < n && h[i] != '\0' && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

/* "a", "b" listing of a multi-string (only entries for which sel[i] when sel != NULL). */
static void join_names(const char *names, const unsigned char *sel, char *out, size_t cap)
{
    size_t used = 0;
    int i = 0;
    out[0] = '\0';
    for (const char *s = names; s != NULL && *s != '\0'; s += strlen(s) + 1, i++) {
        if (sel != NULL && !sel[i])
            continue;
        int w = snprintf(out + used, cap - used, "%s\"%s\"", used ? ", " : "", s);
        if (w < 0 || (size_t)w >= cap - used)
            break;
        used += (size_t)w;
    }
}

static int connect_reader(pcsc_t *p, const char *name, LONG *err)
{
    DWORD proto = 0;
    LONG r = SCardConnect(p->ctx, name, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0,
                          &p->h, &proto);
    *err = r;
    if (r != SCARD_S_SUCCESS)
        return card_gone(r) ? HSM_E_NO_CARD : HSM_E_COMM;
    p->proto = proto;
    p->connected = 1;
    p->need_reconnect = 0;
    return HSM_OK;
}

static const SCARD_IO_REQUEST *pci(const pcsc_t *p)
{
    return p->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
}

/* Does the card in this reader answer SELECT with a SmartCard-HSM FCP (tag 85)? */
static int is_sc_hsm(pcsc_t *p)
{
    uint8_t cmd[5 + HSM_AID_LEN + 1] = { 0x00, 0xA4, 0x04, 0x04, HSM_AID_LEN };
    memcpy(cmd + 5, HSM_AID, HSM_AID_LEN);
    cmd[5 + HSM_AID_LEN] = 0x00;
    uint8_t resp[258];
    DWORD rlen = sizeof(resp);
    int ok = 0;
    if (SCardBeginTransaction(p->h) != SCARD_S_SUCCESS)
        return 0;
    hsm_trace_command(cmd, sizeof(cmd));
    if (SCardTransmit(p->h, pci(p), cmd, sizeof(cmd), NULL, resp, &rlen) == SCARD_S_SUCCESS && rlen >= 2) {
        uint16_t sw = (uint16_t)(resp[rlen - 2] << 8 | resp[rlen - 1]);
        hsm_trace_response(rlen - 2, sw);
        hsm_tlv fcp, t85;
        if (sw == 0x9000 && hsm_tlv_parse_one(resp, rlen - 2, &fcp) == HSM_OK && fcp.tag == 0x62 &&
            hsm_tlv_find(fcp.val, fcp.len, 0x85, &t85) == 1 && t85.len >= 2)
            ok = 1;
        else if ((sw >> 8) == 0x61)
            ok = 1;   /* FCP waiting behind GET RESPONSE (T=0): the AID was accepted */
    }
    SCardEndTransaction(p->h, SCARD_LEAVE_CARD);
    return ok;
}

static void disconnect(pcsc_t *p)
{
    if (p->connected)
        SCardDisconnect(p->h, SCARD_LEAVE_CARD);
    p->connected = 0;
}

int hsm_pcsc_open(const char *reader_match, hsm_transport **out, char *why, size_t why_len)
{
    if (out == NULL)
        return HSM_E_ARGS;
    *out = NULL;
    pcsc_t *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return HSM_E_MEM;
    p->base.ops = &pcsc_ops;
    p->pid = getpid();
    LONG r = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->ctx);
    if (r != SCARD_S_SUCCESS) {
        free(p);
        if (r == SCARD_E_NO_SERVICE)
            say(why, why_len, "PC/SC service not available: is pcscd running? (systemctl start pcscd)");
        else
            say_err(why, why_len, "cannot talk to PC/SC", r);
        return HSM_E_NO_READER;
    }
    char *names = NULL;
    int rc = list_readers(p->ctx, &names, &r);
    if (rc != HSM_OK) {
        if (r == SCARD_E_NO_SERVICE)
            say(why, why_len, "PC/SC service not available: is pcscd running? (systemctl start pcscd)");
        else if (rc == HSM_E_NO_READER)
            say(why, why_len, "no smart card reader found: plug in the token (is pcscd running? "
                "systemctl start pcscd)");
        else
            say_err(why, why_len, "cannot list readers", r);
        SCardReleaseContext(p->ctx);
        free(p);
        return rc == HSM_E_MEM ? rc : HSM_E_NO_READER;
    }
    size_t count = 0;
    for (const char *s = names; *s != '\0'; s += strlen(s) + 1)
        count++;
    unsigned char *sel = calloc(count + 1, 1);
    char list[1024];
    const char *chosen = NULL;
    if (sel == NULL) {
        rc = HSM_E_MEM;
        goto fail;
    }
    if (reader_match != NULL && *reader_match != '\0') {
        size_t hits = 0, i = 0;
        const char *exact = NULL;
        for (const char *s = names; *s != '\0'; s += strlen(s) + 1, i++) {
            if (hsm_reader_matches(s, reader_match)) {
                sel[i] = 1;
                hits++;
                chosen = s;
                if (strcasecmp(s, reader_match) == 0)
                    exact = s;
            }
        }
        if (hits == 0) {
            join_names(names, NULL, list, sizeof(list));
            char msg[1200];
            snprintf(msg, sizeof(msg), "no reader matches \"%s\"; readers present: %s", reader_match, list);
            say(why, why_len, msg);
            rc = HSM_E_NO_READER;
            goto fail;
        }
        if (hits > 1 && exact == NULL) {
            join_names(names, sel, list, sizeof(list));
            char msg[1200];
            snprintf(msg, sizeof(msg), "\"%s\" matches %zu readers: %s; give a longer part of the name",
                     reader_match, hits, list);
            say(why, why_len, msg);
            rc = HSM_E_AMBIGUOUS;
            goto fail;
        }
        if (exact != NULL)
            chosen = exact;
        rc = connect_reader(p, chosen, &r);
        if (rc != HSM_OK) {
            char msg[512];
            snprintf(msg, sizeof(msg), "reader \"%s\": %s", chosen,
                     rc == HSM_E_NO_CARD ? "no token/card inserted" : pcsc_stringify_error(r));
            say(why, why_len, msg);
            goto fail;
        }
    } else {
        chosen = NULL;
        for (const char *s = names; *s != '\0'; s += strlen(s) + 1) {
            if (connect_reader(p, s, &r) != HSM_OK)
                continue;
            if (is_sc_hsm(p)) {
                chosen = s;
                break;
            }
            disconnect(p);
        }
        if (chosen == NULL) {
            join_names(names, NULL, list, sizeof(list));
            char msg[1200];
            snprintf(msg, sizeof(msg), "no reader holds a SmartCard-HSM (readers present: %s); insert "
                     "the token or name the reader", list);
            say(why, why_len, msg);
            rc = HSM_E_NO_READER;
            goto fail;
        }
    }
    snprintf(p->base.reader, sizeof(p->base.reader), "%s", chosen);
    free(sel);
    free(names);
    *out = &p->base;
    return HSM_OK;
fail:
    disconnect(p);
    free(sel);
    free(names);
    SCardReleaseContext(p->ctx);
    free(p);
    return rc;
}

int hsm_pcsc_list(char **names)
{
    SCARDCONTEXT ctx;
    if (names == NULL)
        return HSM_E_ARGS;
    *names = NULL;
    LONG r = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (r != SCARD_S_SUCCESS)
        return HSM_E_NO_READER;
    int rc = list_readers(ctx, names, &r);
    SCardReleaseContext(ctx);
    return rc;
}

/* A handle that lost its card (or pcscd restarted): connect afresh to the same reader name. */
static int reconnect_fresh(pcsc_t *p)
{
    LONG r;
    disconnect(p);
    int rc = connect_reader(p, p->base.reader, &r);
    if (rc == HSM_OK || !ctx_lost(r))
        return rc;
    SCardReleaseContext(p->ctx);
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->ctx) != SCARD_S_SUCCESS) {
        p->need_reconnect = 1;
        return HSM_E_COMM;
    }
    return connect_reader(p, p->base.reader, &r);
}

static int after_reset(pcsc_t *p)
{
    DWORD proto = 0;
    LONG r = SCardReconnect(p->h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0,
                            SCARD_LEAVE_CARD, &proto);
    if (r == SCARD_S_SUCCESS) {
        p->proto = proto;
        return HSM_OK;
    }
    p->need_reconnect = 1;
    return card_gone(r) ? HSM_E_NO_CARD : HSM_E_COMM;
}

static int map_err(pcsc_t *p, LONG r)
{
    if (r == SCARD_W_RESET_CARD) {
        int rc = after_reset(p);
        return rc == HSM_OK ? HSM_E_RESET : rc;
    }
    p->need_reconnect = 1;
    if (card_gone(r))
        return HSM_E_NO_CARD;
    return HSM_E_COMM;
}

static int p_transmit(hsm_transport *t, const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t *resp_len)
{
    pcsc_t *p = (pcsc_t *)t;
    if (!p->connected || p->need_reconnect)
        return HSM_E_NO_CARD;
    DWORD rlen = (DWORD)*resp_len;
    LONG r = SCardTransmit(p->h, pci(p), cmd, (DWORD)cmd_len, NULL, resp, &rlen);
    if (r != SCARD_S_SUCCESS)
        return map_err(p, r);
    *resp_len = rlen;
    return HSM_OK;
}

static int p_begin(hsm_transport *t)
{
    pcsc_t *p = (pcsc_t *)t;
    int changed = 0;
    if (!p->connected || p->need_reconnect) {
        /* The card went away before: a card answering now may be another one. */
        int rc = reconnect_fresh(p);
        if (rc != HSM_OK)
            return rc;
        changed = 1;
    }
    for (int tries = 0; tries < 3; tries++) {
        LONG r = SCardBeginTransaction(p->h);
        if (r == SCARD_S_SUCCESS)
            return changed ? HSM_E_RESET : HSM_OK;
        if (r == SCARD_W_RESET_CARD) {
            int rc = after_reset(p);
            if (rc != HSM_OK)
                return rc;
        } else if (card_gone(r) || ctx_lost(r)) {
            int rc = reconnect_fresh(p);
            if (rc != HSM_OK)
                return rc;
        } else {
            return HSM_E_COMM;
        }
        changed = 1;
    }
    return HSM_E_BUSY;
}

static void p_end(hsm_transport *t)
{
    pcsc_t *p = (pcsc_t *)t;
    if (p->connected && !p->need_reconnect)
        SCardEndTransaction(p->h, SCARD_LEAVE_CARD);
}

static int p_reset(hsm_transport *t)
{
    pcsc_t *p = (pcsc_t *)t;
    if (!p->connected)
        return HSM_E_NO_CARD;
    DWORD proto = 0;
    LONG r = SCardReconnect(p->h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0,
                            SCARD_RESET_CARD, &proto);
    if (r != SCARD_S_SUCCESS)
        return map_err(p, r);
    p->proto = proto;
    return HSM_OK;
}

static size_t p_atr(hsm_transport *t, uint8_t *out, size_t cap)
{
    pcsc_t *p = (pcsc_t *)t;
    if (!p->connected)
        return 0;
    BYTE atr[MAX_ATR_SIZE];
    DWORD atrlen = sizeof(atr), state = 0, proto = 0, rlen = 0;
    if (SCardStatus(p->h, NULL, &rlen, &state, &proto, atr, &atrlen) != SCARD_S_SUCCESS)
        return 0;
    if (atrlen > cap)
        return 0;
    memcpy(out, atr, atrlen);
    return atrlen;
}

static void p_close(hsm_transport *t)
{
    pcsc_t *p = (pcsc_t *)t;
    /* In a forked child the handles are the parent's: releasing them here would disturb it. */
    if (p->pid == getpid()) {
        disconnect(p);
        SCardReleaseContext(p->ctx);
    }
    free(p);
}

static const struct hsm_transport_ops pcsc_ops = {
    .transmit = p_transmit,
    .begin = p_begin,
    .end = p_end,
    .reset = p_reset,
    .atr = p_atr,
    .close = p_close,
};
