/* SPDX-License-Identifier: Apache-2.0 */
#include "hsm/apdu.h"
#include "hsm/rv.h"

int hsm_apdu_encode(const hsm_apdu *a, enum hsm_apdu_form form, hsm_bytes *out)
{
    if (a->lc > 65535 || a->le > HSM_LE_MAX || (a->lc > 0 && a->data == NULL))
        return HSM_E_ARGS;
    int ext = (form == HSM_APDU_EXTENDED && (a->lc > 0 || a->le > 0)) || a->lc > 255 || a->le > 256;
    hsm_bytes_clear(out);
    uint8_t hdr[4] = { a->cla, a->ins, a->p1, a->p2 };
    hsm_bytes_put(out, hdr, 4);
    if (a->lc > 0) {
        if (ext) {
            hsm_bytes_put_u8(out, 0);
            hsm_bytes_put_u16(out, (uint16_t)a->lc);
        } else {
            hsm_bytes_put_u8(out, (uint8_t)a->lc);
        }
        hsm_bytes_put(out, a->data, a->lc);
    }
    if (a->le > 0) {
        if (ext) {
            if (a->lc == 0)
                hsm_bytes_put_u8(out, 0);
            hsm_bytes_put_u16(out, (uint16_t)(a->le == HSM_LE_MAX ? 0 : a->le));
        } else {
            hsm_bytes_put_u8(out, (uint8_t)(a->le == 256 ? 0 : a->le));
        }
    }
    return out->oom ? HSM_E_MEM : HSM_OK;
}

int hsm_apdu_parse(const uint8_t *buf, size_t len, hsm_apdu *out, int *extended)
{
    if (len < 4)
        return HSM_E_PARSE;
    out->cla = buf[0];
    out->ins = buf[1];
    out->p1 = buf[2];
    out->p2 = buf[3];
    out->data = buf + len;   /* no data: empty but never NULL, so handlers may compute data + lc */
    out->lc = 0;
    out->le = 0;
    *extended = 0;
    const uint8_t *b = buf + 4;
    size_t n = len - 4;
    if (n == 0)
        return HSM_OK;                                   /* case 1 */
    if (n == 1) {                                        /* case 2 short */
        out->le = b[0] ? b[0] : 256;
        return HSM_OK;
    }
    if (b[0] != 0 || n == 1) {                           /* short Lc */
        size_t lc = b[0];
        if (n == 1 + lc)
            ;                                            /* case 3 short */
        else if (n == 2 + lc)
            out->le = b[1 + lc] ? b[1 + lc] : 256;       /* case 4 short */
        else
            return HSM_E_PARSE;
        out->lc = lc;
        out->data = b + 1;
        return HSM_OK;
    }
    /* b[0] == 0 and n >= 2: extended */
    *extended = 1;
    if (n == 3) {                                        /* case 2 extended */
        size_t le = (size_t)b[1] << 8 | b[2];
        out->le = le ? le : HSM_LE_MAX;
        return HSM_OK;
    }
    if (n < 3)
        return HSM_E_PARSE;
    size_t lc = (size_t)b[1] << 8 | b[2];
    if (lc == 0)
        return HSM_E_PARSE;
    if (n == 3 + lc) {
        ;                                                /* case 3 extended */
    } else if (n == 5 + lc) {                            /* case 4 extended */
        size_t le = (size_t)b[3 + lc] << 8 | b[4 + lc];
        out->le = le ? le : HSM_LE_MAX;
    } else {
        return HSM_E_PARSE;
    }
    out->lc = lc;
    out->data = b + 3;
    return HSM_OK;
}
