/* SPDX-License-Identifier: Apache-2.0 */
/* EF access (sheet 6): READ BINARY (odd INS with DO 54, and even INS on the current EF),
 * UPDATE BINARY (creates and extends EFs; an offset-0 write keeps a longer file's tail),
 * DELETE FILE (EFs and keys). Writing and deleting need the user PIN; key files are never
 * readable; CDnn needs the PIN to read. */
#include "sim/sim_int.h"

#include "hsm/tlv.h"

#include <string.h>

static int is_key_fid(uint16_t fid)
{
    return (fid >> 8) == 0xCC;
}

/* FID from P1P2; 0000 = the current EF. Returns 0 when there is none. */
static uint16_t target_fid(const sim_card *c, const hsm_apdu *a)
{
    uint16_t fid = (uint16_t)(a->p1 << 8 | a->p2);
    return fid == 0 ? c->cur_ef : fid;
}

static void set_current(sim_card *c, uint16_t fid)
{
    if (c->cur_ef != fid) {
        c->cur_ef = fid;
        c->dirty |= SIM_CHANGED_VOLATILE;
    }
}

static uint16_t read_from(sim_card *c, uint16_t fid, size_t off, const hsm_apdu *a, hsm_bytes *out)
{
    if (a->le == 0)
        return SW_WRONG_LENGTH;
    if (is_key_fid(fid))
        return sim_key_find(c, (uint8_t)fid) ? SW_SEC_STATUS : SW_NOT_FOUND;
    sim_file *f = sim_file_find(c, fid);
    if (f == NULL)
        return SW_NOT_FOUND;
    if ((fid >> 8) == 0xCD && !c->pin_ok)
        return SW_SEC_STATUS;
    set_current(c, fid);
    if (off > f->data.len)
        return SW_WRONG_PARAMS;
    size_t left = f->data.len - off;
    size_t n = left < a->le ? left : a->le;
    if (n > SIM_READ_MAX)
        n = SIM_READ_MAX;
    hsm_bytes_put(out, f->data.data + off, n);
    /* 6282: end of file reached before Le bytes were delivered. */
    return (n < a->le && n == left) ? SW_EOF : SW_OK;
}

uint16_t sim_cmd_read_binary(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    if (a->ins == 0xB0) {
        /* Even INS: 15-bit offset in P1P2 on the current EF. */
        if (a->p1 & 0x80)
            return SW_BAD_P1P2;
        if (a->lc != 0)
            return SW_WRONG_LENGTH;
        if (c->cur_ef == 0)
            return SW_NO_CURRENT_EF;
        return read_from(c, c->cur_ef, (size_t)(a->p1 << 8 | a->p2), a, out);
    }
    uint16_t fid = target_fid(c, a);
    if (fid == 0)
        return SW_NO_CURRENT_EF;
    size_t off = 0;
    if (a->lc != 0) {
        hsm_tlv t;
        if (hsm_tlv_parse_one(a->data, a->lc, &t) != 0 || t.tag != 0x54 || t.len != 2)
            return SW_BAD_DATA;
        off = (size_t)(t.val[0] << 8 | t.val[1]);
    }
    return read_from(c, fid, off, a, out);
}

uint16_t sim_cmd_update_binary(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    (void)out;
    uint16_t fid = target_fid(c, a);
    if (fid == 0)
        return SW_NO_CURRENT_EF;
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    if (is_key_fid(fid) || fid == 0x2F02 || fid == 0x3F00 || fid == 0xFFFF)
        return SW_SEC_STATUS;
    const uint8_t *p = a->data, *end = a->data + a->lc;
    hsm_tlv t54, t53;
    if (a->lc == 0 || hsm_tlv_next(&p, end, &t54) != 1 || t54.tag != 0x54 || t54.len != 2
        || hsm_tlv_next(&p, end, &t53) != 1 || t53.tag != 0x53 || p != end)
        return SW_BAD_DATA;
    size_t off = (size_t)(t54.val[0] << 8 | t54.val[1]);
    sim_file *f = sim_file_find(c, fid);
    size_t cur = f ? f->data.len : 0;
    if (off > cur)
        return SW_WRONG_PARAMS;
    size_t newlen = off + t53.len > cur ? off + t53.len : cur;
    if (newlen > 0xFFFF)
        return SW_NO_MEMORY;
    size_t grow = newlen - cur + (f ? 0 : SIM_FILE_OVERHEAD);
    if (grow > sim_mem_free(c))
        return SW_NO_MEMORY;
    if (f == NULL && (f = sim_file_put(c, fid)) == NULL)
        return SW_INTERNAL;
    if (newlen > cur) {
        static const uint8_t zero[64];
        for (size_t n = newlen - cur; n > 0;) {
            size_t k = n < sizeof(zero) ? n : sizeof(zero);
            hsm_bytes_put(&f->data, zero, k);
            n -= k;
        }
        if (f->data.oom)
            return SW_INTERNAL;
    }
    if (t53.len > 0)
        memcpy(f->data.data + off, t53.val, t53.len);
    c->cur_ef = fid;
    c->dirty |= SIM_CHANGED_PERSISTENT;
    return SW_OK;
}

uint16_t sim_cmd_delete_file(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    (void)out;
    if (a->p1 != 0x02 || (a->p2 != 0x00 && a->p2 != 0x80))
        return SW_BAD_P1P2;
    if (a->lc != 2)
        return SW_WRONG_LENGTH;
    if (!c->pin_ok)
        return SW_SEC_STATUS;
    uint16_t fid = (uint16_t)(a->data[0] << 8 | a->data[1]);
    if (fid == 0xCC00 || fid == 0x2F02)
        return SW_SEC_STATUS;
    if (is_key_fid(fid)) {
        if (sim_key_find(c, (uint8_t)fid) == NULL)
            return SW_NOT_FOUND;
        sim_key_delete(c, (uint8_t)fid);
    } else {
        if (sim_file_find(c, fid) == NULL)
            return SW_NOT_FOUND;
        sim_file_delete(c, fid);
    }
    if (c->cur_ef == fid)
        c->cur_ef = 0;
    c->dirty |= SIM_CHANGED_PERSISTENT;
    return SW_OK;
}
