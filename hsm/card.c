/* SPDX-License-Identifier: Apache-2.0 */
#include "hsm/card.h"
#include "hsm/rv.h"
#include "hsm/tlv.h"
#include "hsm/trace.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

const uint8_t HSM_AID[HSM_AID_LEN] = { 0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01 };

#define RESP_CAP (HSM_LE_MAX + 2)
#define DEFAULT_MAX_APDU 1232
/* Room the odd-INS UPDATE BINARY framing takes: header 4, extended Lc 3, 54 02 xx xx, 53 82 xx xx. */
#define UPDATE_OVERHEAD (4 + 3 + 4 + 4)

struct hsm_card {
    hsm_transport *t;
    uint16_t last_sw;
    size_t max_apdu;
    uint8_t *rbuf;   /* one response buffer per card; callers serialise through the token mutex */
};

int hsm_card_new(hsm_transport *t, hsm_card **out)
{
    if (t == NULL || out == NULL)
        return HSM_E_ARGS;
    hsm_card *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return HSM_E_MEM;
    c->rbuf = malloc(RESP_CAP);
    if (c->rbuf == NULL) {
        free(c);
        return HSM_E_MEM;
    }
    c->t = t;
    c->max_apdu = DEFAULT_MAX_APDU;
    *out = c;
    return HSM_OK;
}

void hsm_card_free(hsm_card *c)
{
    if (c == NULL)
        return;
    if (c->t != NULL && c->t->ops->close != NULL)
        c->t->ops->close(c->t);
    OPENSSL_cleanse(c->rbuf, RESP_CAP);
    free(c->rbuf);
    free(c);
}

hsm_transport *hsm_card_transport(hsm_card *c)
{
    return c->t;
}

uint16_t hsm_card_last_sw(const hsm_card *c)
{
    return c->last_sw;
}

void hsm_card_set_max_apdu(hsm_card *c, size_t max)
{
    if (max >= 64 && max <= HSM_APDU_MAX)
        c->max_apdu = max;
}

int hsm_card_begin(hsm_card *c)
{
    return c->t->ops->begin(c->t);
}

void hsm_card_end(hsm_card *c)
{
    c->t->ops->end(c->t);
}

/* One raw exchange: trace, transmit, trace. data_len/sw out. */
static int exchange(hsm_card *c, const hsm_bytes *cmd, size_t *data_len, uint16_t *sw)
{
    hsm_trace_command(cmd->data, cmd->len);
    size_t rlen = RESP_CAP;
    int rc = c->t->ops->transmit(c->t, cmd->data, cmd->len, c->rbuf, &rlen);
    if (rc != HSM_OK)
        return rc;
    if (rlen < 2 || rlen > RESP_CAP)
        return HSM_E_COMM;
    *data_len = rlen - 2;
    *sw = (uint16_t)(c->rbuf[rlen - 2] << 8 | c->rbuf[rlen - 1]);
    hsm_trace_response(*data_len, *sw);
    return HSM_OK;
}

int hsm_card_transmit(hsm_card *c, const hsm_apdu *a, hsm_bytes *resp, uint16_t *sw)
{
    hsm_bytes cmd = HSM_BYTES_INIT;
    hsm_apdu cur = *a;
    size_t dlen = 0;
    uint16_t s = 0;
    int rc;
    hsm_bytes_clear(resp);
    /* A wrong Le (6Cxx) is corrected at most twice; a card that keeps asking is broken. Only a
     * command that has an Le is re-issued: one without (VERIFY with its PIN, a write) answered
     * 6Cxx is a confused card, and sending it again could repeat its effect or burn a PIN try. */
    for (int tries = 0;; tries++) {
        rc = hsm_apdu_encode(&cur, HSM_APDU_AUTO, &cmd);
        if (rc != HSM_OK)
            goto done;
        rc = exchange(c, &cmd, &dlen, &s);
        if (rc != HSM_OK)
            goto done;
        if ((s >> 8) == 0x6C && a->le > 0 && tries < 2) {
            cur.le = (s & 0xFF) ? (s & 0xFF) : 256;
            continue;
        }
        break;
    }
    if (hsm_bytes_put(resp, c->rbuf, dlen) != HSM_OK) {
        rc = HSM_E_MEM;
        goto done;
    }
    /* 61xx: more data waits; fetch it with GET RESPONSE until the card says it is done. */
    for (int rounds = 0; (s >> 8) == 0x61 && rounds < 512; rounds++) {
        hsm_apdu gr = { 0x00, 0xC0, 0x00, 0x00, NULL, 0, (s & 0xFF) ? (s & 0xFF) : 256 };
        rc = hsm_apdu_encode(&gr, HSM_APDU_AUTO, &cmd);
        if (rc != HSM_OK)
            goto done;
        rc = exchange(c, &cmd, &dlen, &s);
        if (rc != HSM_OK)
            goto done;
        if (hsm_bytes_put(resp, c->rbuf, dlen) != HSM_OK) {
            rc = HSM_E_MEM;
            goto done;
        }
    }
    c->last_sw = s;
    if (sw != NULL)
        *sw = s;
    rc = HSM_OK;
done:
    OPENSSL_cleanse(c->rbuf, dlen + 2 <= RESP_CAP ? dlen + 2 : RESP_CAP);
    hsm_bytes_free(&cmd);   /* may hold a PIN */
    return rc;
}

/* Sends a command that must answer 9000. 6A82 maps to HSM_E_NOT_FOUND when not_found is set. */
static int run(hsm_card *c, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
               size_t lc, size_t le, hsm_bytes *resp, int not_found)
{
    hsm_bytes tmp = HSM_BYTES_INIT;
    hsm_bytes *r = resp != NULL ? resp : &tmp;
    hsm_apdu a = { cla, ins, p1, p2, data, lc, le };
    uint16_t sw = 0;
    int rc = hsm_card_transmit(c, &a, r, &sw);
    if (rc == HSM_OK && sw != 0x9000)
        rc = (not_found && sw == 0x6A82) ? HSM_E_NOT_FOUND : HSM_E_SW;
    hsm_bytes_free(&tmp);
    return rc;
}

static int parse_fcp(const uint8_t *buf, size_t len, hsm_fcp *fcp)
{
    hsm_tlv fcpt, t85;
    if (hsm_tlv_parse_one(buf, len, &fcpt) != HSM_OK || fcpt.tag != 0x62)
        return HSM_E_PARSE;
    if (hsm_tlv_find(fcpt.val, fcpt.len, 0x85, &t85) != 1 || t85.len < 2)
        return HSM_E_PARSE;
    memset(fcp, 0, sizeof(*fcp));
    const uint8_t *v = t85.val;
    size_t n = t85.len;
    fcp->major = v[n - 2];
    fcp->minor = v[n - 1];
    if (n >= 5) {
        fcp->options = (uint16_t)(v[n - 5] << 8 | v[n - 4]);
        fcp->applet_type = v[n - 3];
    } else if (n >= 4) {
        fcp->options = (uint16_t)(v[n - 4] << 8 | v[n - 3]);
    }
    return HSM_OK;
}

int hsm_card_select(hsm_card *c, hsm_fcp *fcp)
{
    hsm_bytes r = HSM_BYTES_INIT;
    /* Short Le 00 as OpenSC sends it: some readers mishandle extended SELECT. */
    int rc = run(c, 0x00, 0xA4, 0x04, 0x04, HSM_AID, HSM_AID_LEN, 256, &r, 0);
    if (rc == HSM_OK) {
        hsm_fcp tmp;
        rc = parse_fcp(r.data, r.len, fcp != NULL ? fcp : &tmp);
    }
    hsm_bytes_free(&r);
    return rc;
}

int hsm_card_pin_status(hsm_card *c, uint8_t ref, uint16_t *sw)
{
    hsm_bytes r = HSM_BYTES_INIT;
    hsm_apdu a = { 0x00, 0x20, 0x00, ref, NULL, 0, 0 };
    int rc = hsm_card_transmit(c, &a, &r, sw);
    hsm_bytes_free(&r);
    return rc;
}

int hsm_card_verify(hsm_card *c, uint8_t ref, const uint8_t *pin, size_t len)
{
    if (pin == NULL || len == 0 || len > 255)
        return HSM_E_ARGS;
    return run(c, 0x00, 0x20, 0x00, ref, pin, len, 0, NULL, 0);
}

int hsm_card_change_ref(hsm_card *c, uint8_t ref, const uint8_t *old, size_t old_len,
                        const uint8_t *new_pin, size_t new_len)
{
    if (old == NULL || new_pin == NULL || old_len + new_len > 255 || old_len == 0 || new_len == 0)
        return HSM_E_ARGS;
    hsm_bytes d = HSM_BYTES_INIT;
    hsm_bytes_put(&d, old, old_len);
    hsm_bytes_put(&d, new_pin, new_len);
    int rc = d.oom ? HSM_E_MEM : run(c, 0x00, 0x24, 0x00, ref, d.data, d.len, 0, NULL, 0);
    hsm_bytes_free(&d);
    return rc;
}

int hsm_card_reset_retry(hsm_card *c, const uint8_t so_pin[8], const uint8_t *new_pin, size_t new_len)
{
    if (so_pin == NULL || (new_pin != NULL && (new_len == 0 || new_len > 32)))
        return HSM_E_ARGS;
    hsm_bytes d = HSM_BYTES_INIT;
    hsm_bytes_put(&d, so_pin, 8);
    if (new_pin != NULL)
        hsm_bytes_put(&d, new_pin, new_len);
    int rc = d.oom ? HSM_E_MEM
                   : run(c, 0x00, 0x2C, new_pin != NULL ? 0x00 : 0x01, HSM_PIN_USER, d.data, d.len, 0, NULL, 0);
    hsm_bytes_free(&d);
    return rc;
}

int hsm_card_initialize(hsm_card *c, const hsm_init_params *p)
{
    if (p == NULL || p->pin == NULL || p->so_pin == NULL || p->pin_len == 0 || p->pin_len > 16)
        return HSM_E_ARGS;
    hsm_bytes d = HSM_BYTES_INIT;
    uint8_t opt[2] = { (uint8_t)(p->options >> 8), (uint8_t)p->options };
    hsm_tlv_put(&d, 0x80, opt, 2);
    hsm_tlv_put(&d, 0x81, p->pin, p->pin_len);
    hsm_tlv_put(&d, 0x82, p->so_pin, 8);
    if (p->pin_retries != 0)
        hsm_tlv_put_u8(&d, 0x91, p->pin_retries);
    if (p->dkek_shares >= 0)
        hsm_tlv_put_u8(&d, 0x92, (uint8_t)p->dkek_shares);
    if (p->key_domains != 0)
        hsm_tlv_put_u8(&d, 0x97, p->key_domains);
    int rc = d.oom ? HSM_E_MEM : run(c, 0x80, 0x50, 0x00, 0x00, d.data, d.len, 0, NULL, 0);
    hsm_bytes_free(&d);
    return rc;
}

int hsm_card_enumerate(hsm_card *c, hsm_bytes *fids)
{
    int rc = run(c, 0x80, 0x58, 0x00, 0x00, NULL, 0, HSM_LE_MAX, fids, 0);
    if (rc == HSM_OK && (fids->len & 1))
        rc = HSM_E_PARSE;
    return rc;
}

int hsm_fids_list_every_file(const hsm_bytes *fids)
{
    for (size_t i = 0; i + 1 < fids->len; i += 2) {
        uint8_t p = fids->data[i];
        if (p != HSM_PREFIX_KEY && p != HSM_PREFIX_PRKD && p != HSM_PREFIX_CD && p != HSM_PREFIX_DCOD)
            return 1;
    }
    return 0;
}

int hsm_fids_has(const hsm_bytes *fids, uint16_t fid)
{
    for (size_t i = 0; i + 1 < fids->len; i += 2)
        if ((uint16_t)(fids->data[i] << 8 | fids->data[i + 1]) == fid)
            return 1;
    return 0;
}

int hsm_card_read_file(hsm_card *c, uint16_t fid, hsm_bytes *out)
{
    hsm_bytes blk = HSM_BYTES_INIT;
    hsm_bytes_clear(out);
    /* Ask for no more than every card returns in one response (JCOP 3: its APDU buffer minus
     * the SW): then a shorter block is the end of the file whatever the SW says (CardContact
     * cards answer 6282, others 9000), and no read at the end offset is needed. */
    size_t chunk = c->max_apdu - 2, off = 0;
    int rc;
    for (;;) {
        if (off > 0xFFFF) {
            rc = HSM_E_PARSE;
            break;
        }
        uint8_t d[4] = { 0x54, 0x02, (uint8_t)(off >> 8), (uint8_t)off };
        hsm_apdu a = { 0x00, 0xB1, (uint8_t)(fid >> 8), (uint8_t)fid, d, 4, chunk };
        uint16_t sw = 0;
        rc = hsm_card_transmit(c, &a, &blk, &sw);
        if (rc != HSM_OK)
            break;
        if (sw != 0x9000 && sw != 0x6282) {
            /* Reading exactly at the end of a file (a file of a whole number of chunks) some
             * cards answer "wrong offset". */
            if (off > 0 && (sw == 0x6B00 || sw == 0x6A86))
                break;
            rc = sw == 0x6A82 ? HSM_E_NOT_FOUND : HSM_E_SW;
            break;
        }
        if (blk.len > chunk) {
            rc = HSM_E_PARSE;   /* more than asked for: not a READ BINARY answer we understand */
            break;
        }
        if (hsm_bytes_put(out, blk.data, blk.len) != HSM_OK) {
            rc = HSM_E_MEM;
            break;
        }
        off += blk.len;
        if (sw == 0x6282 || blk.len < chunk)
            break;
    }
    hsm_bytes_free(&blk);
    if (rc != HSM_OK)
        hsm_bytes_clear(out);
    return rc;
}

int hsm_card_write_file(hsm_card *c, uint16_t fid, const uint8_t *data, size_t len)
{
    if (len > 0xFFFF || (len > 0 && data == NULL))
        return HSM_E_ARGS;
    size_t chunk = c->max_apdu > UPDATE_OVERHEAD ? c->max_apdu - UPDATE_OVERHEAD : 1;
    hsm_bytes d = HSM_BYTES_INIT;
    size_t off = 0;
    int rc = HSM_OK;
    /* An empty write still goes out once: it creates the EF. */
    do {
        size_t n = len - off < chunk ? len - off : chunk;
        hsm_bytes_clear(&d);
        uint8_t o[2] = { (uint8_t)(off >> 8), (uint8_t)off };
        hsm_tlv_put(&d, 0x54, o, 2);
        hsm_tlv_put(&d, 0x53, data != NULL ? data + off : (const uint8_t *)"", n);
        if (d.oom) {
            rc = HSM_E_MEM;
            break;
        }
        rc = run(c, 0x00, 0xD7, (uint8_t)(fid >> 8), (uint8_t)fid, d.data, d.len, 0, NULL, 1);
        off += n;
    } while (rc == HSM_OK && off < len);
    hsm_bytes_free(&d);
    return rc;
}

int hsm_card_delete_file(hsm_card *c, uint16_t fid)
{
    uint8_t d[2] = { (uint8_t)(fid >> 8), (uint8_t)fid };
    return run(c, 0x00, 0xE4, 0x02, 0x00, d, 2, 0, NULL, 1);
}

int hsm_card_select_file(hsm_card *c, uint16_t fid, hsm_bytes *fcp)
{
    uint8_t d[2] = { (uint8_t)(fid >> 8), (uint8_t)fid };
    return run(c, 0x00, 0xA4, 0x00, 0x04, d, 2, 256, fcp, 1);
}

int hsm_card_generate_asym(hsm_card *c, uint8_t key_id, const uint8_t *data, size_t len, hsm_bytes *request)
{
    if (key_id == 0 || data == NULL || len == 0)
        return HSM_E_ARGS;
    return run(c, 0x00, 0x46, key_id, 0x00, data, len, HSM_LE_MAX, request, 1);
}

int hsm_card_generate_sym(hsm_card *c, uint8_t key_id, uint8_t p2, const uint8_t *data, size_t len)
{
    if (key_id == 0 || (len > 0 && data == NULL))
        return HSM_E_ARGS;
    return run(c, 0x00, 0x48, key_id, p2, data, len, 0, NULL, 1);
}

int hsm_card_sign(hsm_card *c, uint8_t key_id, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out)
{
    if (in == NULL || len == 0)
        return HSM_E_ARGS;
    return run(c, 0x80, 0x68, key_id, alg, in, len, HSM_LE_MAX, out, 1);
}

int hsm_card_decipher(hsm_card *c, uint8_t key_id, uint8_t alg, const uint8_t *in, size_t len, hsm_bytes *out)
{
    if (in == NULL || len == 0)
        return HSM_E_ARGS;
    return run(c, 0x80, 0x62, key_id, alg, in, len, HSM_LE_MAX, out, 1);
}

int hsm_card_key_domain(hsm_card *c, uint8_t p1, uint8_t domain, const uint8_t *data, size_t len,
                        hsm_dkek_status *st)
{
    hsm_bytes r = HSM_BYTES_INIT;
    int rc = run(c, 0x80, 0x52, p1, domain, data, data != NULL ? len : 0, 256, &r, 0);
    if (rc == HSM_OK && st != NULL) {
        memset(st, 0, sizeof(*st));
        if (r.len >= 10) {
            st->total = r.data[0];
            st->missing = r.data[1];
            memcpy(st->kcv, r.data + 2, 8);
            size_t extra = r.len - 10;
            if (extra > sizeof(st->extra))
                extra = sizeof(st->extra);
            memcpy(st->extra, r.data + 10, extra);
            st->extra_len = extra;
            static const uint8_t zero[8];
            st->kcv_unknown = st->total != 0xFF && st->missing == 0 && memcmp(st->kcv, zero, 8) == 0;
        } else if (r.len != 0) {
            rc = HSM_E_PARSE;
        }
    }
    hsm_bytes_free(&r);
    return rc;
}

int hsm_card_wrap(hsm_card *c, uint8_t key_id, hsm_bytes *blob)
{
    return run(c, 0x80, 0x72, key_id, HSM_ALG_WRAP, NULL, 0, HSM_LE_MAX, blob, 1);
}

int hsm_card_unwrap(hsm_card *c, uint8_t key_id, const uint8_t *blob, size_t len)
{
    if (blob == NULL || len == 0 || len > 0xFFFF || key_id == 0)
        return HSM_E_ARGS;
    if (4 + 3 + len <= c->max_apdu)
        return run(c, 0x80, 0x74, key_id, HSM_ALG_UNWRAP, blob, len, 0, NULL, 1);
    /* Too long for one APDU: stage it in EF 2F10 (removed first, so no longer earlier blob
     * leaves trailing bytes behind) and send the command without data. */
    int rc = hsm_card_delete_file(c, HSM_FID_STAGING);
    if (rc != HSM_OK && rc != HSM_E_NOT_FOUND)
        return rc;
    rc = hsm_card_write_file(c, HSM_FID_STAGING, blob, len);
    if (rc == HSM_OK)
        rc = run(c, 0x80, 0x74, key_id, HSM_ALG_UNWRAP, NULL, 0, 0, NULL, 1);
    uint16_t sw = c->last_sw;
    int drc = hsm_card_delete_file(c, HSM_FID_STAGING);
    (void)drc;   /* best effort: the blob is encrypted, a leftover copy reveals nothing */
    c->last_sw = sw;
    return rc;
}

int hsm_card_challenge(hsm_card *c, uint8_t *out, size_t len)
{
    hsm_bytes r = HSM_BYTES_INIT;
    int rc = HSM_OK;
    size_t got = 0;
    while (got < len && rc == HSM_OK) {
        size_t n = len - got > 1024 ? 1024 : len - got;
        rc = run(c, 0x00, 0x84, 0x00, 0x00, NULL, 0, n, &r, 0);
        if (rc == HSM_OK && r.len < n)
            rc = HSM_E_PARSE;
        if (rc == HSM_OK) {
            memcpy(out + got, r.data, n);
            got += n;
        }
    }
    hsm_bytes_free(&r);
    return rc;
}

int hsm_card_mse_select_key(hsm_card *c, const uint8_t *ref, size_t len)
{
    uint8_t d[2 + 16];
    if (ref == NULL || len == 0 || len > 16)
        return HSM_E_ARGS;
    d[0] = 0x83;
    d[1] = (uint8_t)len;
    memcpy(d + 2, ref, len);
    return run(c, 0x00, 0x22, 0x81, 0xB6, d, 2 + len, 0, NULL, 0);
}

int hsm_card_pso_verify_cert(hsm_card *c, const uint8_t *cert_value, size_t len)
{
    if (cert_value == NULL || len == 0 || len + 7 > c->max_apdu)
        return HSM_E_ARGS;
    return run(c, 0x00, 0x2A, 0x00, 0xBE, cert_value, len, 0, NULL, 0);
}

int hsm_card_xkek_derive(hsm_card *c, uint8_t key_id, const uint8_t *req_value, size_t len)
{
    if (req_value == NULL || len == 0 || len + 7 > c->max_apdu || key_id == 0)
        return HSM_E_ARGS;
    return run(c, 0x80, 0x62, key_id, HSM_ALG_ECDH_XKEK, req_value, len, 0, NULL, 0);
}
