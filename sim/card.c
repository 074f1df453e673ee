/* SPDX-License-Identifier: Apache-2.0 */
/* The virtual card's life cycle and its APDU dispatcher, plus the small ISO commands
 * (SELECT, ENUMERATE OBJECTS, GET CHALLENGE). */
#include "sim/sim_int.h"

#include "hsm/rv.h"
#include "hsm/tlv.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t AID[11] = { 0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01 };
static const uint8_t ATR[] = { 0x3B, 0xDE, 0x18, 0xFF, 0x81, 0x91, 0xFE, 0x1F, 0xC3, 0x80, 0x31, 0x81,
                               0x54, 0x48, 0x53, 0x4D, 0x31, 0x73, 0x80, 0x21, 0x40, 0x81, 0x07, 0x1C };

size_t sim_card_atr(uint8_t *out, size_t cap)
{
    if (out == NULL || cap < sizeof(ATR))
        return 0;
    memcpy(out, ATR, sizeof(ATR));
    return sizeof(ATR);
}

int sim_card_new(sim_card **out)
{
    sim_card *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return HSM_E_MEM;
    c->ndomains = 0;
    c->so_tries = SIM_SO_TRIES;
    c->fw_major = SIM_FW_MAJOR;
    c->fw_minor = SIM_FW_MINOR;
    int rc = sim_devcert_create(c);
    if (rc != HSM_OK) {
        sim_card_free(c);
        return rc;
    }
    *out = c;
    return HSM_OK;
}

void sim_card_wipe(sim_card *c)
{
    for (size_t i = 0; i < c->nkeys; i++)
        sim_key_clear(&c->keys[i]);
    for (size_t i = 0; i < c->nfiles; i++)
        hsm_bytes_free(&c->files[i].data);
    free(c->keys);
    free(c->files);
    OPENSSL_cleanse(c, sizeof(*c));
}

void sim_card_free(sim_card *c)
{
    if (c == NULL)
        return;
    sim_card_wipe(c);
    free(c);
}

void sim_card_reset(sim_card *c)
{
    c->selected = 0;
    c->pin_ok = 0;
    c->cur_ef = 0;
    c->mse_chr[0] = 0;
    c->epoch++;
}

/* FCP of the applet: 82 (DF) and the proprietary 85 the hosts look for. */
static void put_applet_fcp(const sim_card *c, hsm_bytes *out)
{
    size_t m;
    uint8_t v85[5] = { (uint8_t)(c->options >> 8), (uint8_t)c->options, 0x00, c->fw_major, c->fw_minor };
    hsm_tlv_open(out, 0x62, &m);
    hsm_tlv_put_u8(out, 0x82, 0x38);
    hsm_tlv_put(out, 0x85, v85, sizeof(v85));
    hsm_tlv_close(out, m);
}

static void put_ef_fcp(sim_card *c, uint16_t fid, hsm_bytes *out)
{
    size_t m, ma;
    uint8_t f[2] = { (uint8_t)(fid >> 8), (uint8_t)fid };
    hsm_tlv_open(out, 0x62, &m);
    if ((fid >> 8) == 0xCC) {
        sim_key *k = sim_key_find(c, (uint8_t)fid);
        hsm_tlv_put_u8(out, 0x82, 0x01);
        hsm_tlv_put(out, 0x83, f, 2);
        /* Key information, as the meta data TLVs of GAKP (sheet 6.3). */
        hsm_tlv_open(out, 0xA5, &ma);
        if (k->has_counter)
            hsm_bytes_put_u8(out, 0x90), hsm_bytes_put_u8(out, 4), hsm_bytes_put_u32(out, k->counter);
        if (k->has_algs)
            hsm_tlv_put(out, 0x91, k->algs, k->nalgs);
        hsm_tlv_put_u8(out, 0x92, k->domain);
        hsm_tlv_close(out, ma);
    } else {
        sim_file *e = sim_file_find(c, fid);
        uint8_t sz[2] = { (uint8_t)(e->data.len >> 8), (uint8_t)e->data.len };
        hsm_tlv_put(out, 0x80, sz, 2);
        hsm_tlv_put_u8(out, 0x82, 0x01);
        hsm_tlv_put(out, 0x83, f, 2);
    }
    hsm_tlv_close(out, m);
}

uint16_t sim_cmd_select(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    if (a->p2 != 0x00 && a->p2 != 0x04 && a->p2 != 0x0C)
        return SW_BAD_P1P2;
    int want_fcp = a->p2 != 0x0C;
    if (a->p1 == 0x04) {
        if (a->lc != sizeof(AID) || memcmp(a->data, AID, sizeof(AID)) != 0)
            return SW_NOT_FOUND;
        /* Selecting the applet drops every authentication (hosts use it as logout). */
        if (!c->selected || c->pin_ok || c->cur_ef != 0 || c->mse_chr[0] != 0)
            c->dirty |= SIM_CHANGED_VOLATILE;
        c->selected = 1;
        c->pin_ok = 0;
        c->cur_ef = 0;
        c->mse_chr[0] = 0;
        if (want_fcp)
            put_applet_fcp(c, out);
        return SW_OK;
    }
    if (a->p1 != 0x00 && a->p1 != 0x02)
        return SW_BAD_P1P2;
    if (!c->selected)
        return SW_NOT_FOUND;
    if (a->lc != 2)
        return SW_WRONG_LENGTH;
    uint16_t fid = (uint16_t)(a->data[0] << 8 | a->data[1]);
    int exists = (fid >> 8) == 0xCC ? sim_key_find(c, (uint8_t)fid) != NULL : sim_file_find(c, fid) != NULL;
    if (!exists)
        return SW_NOT_FOUND;
    if (c->cur_ef != fid) {
        c->cur_ef = fid;
        c->dirty |= SIM_CHANGED_VOLATILE;
    }
    if (want_fcp)
        put_ef_fcp(c, fid, out);
    return SW_OK;
}

/* Every key and every EF, 2 bytes each; the production objects CC00 and 2F02 included. */
uint16_t sim_cmd_enumerate(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    if (a->p1 != 0 || a->p2 != 0)
        return SW_BAD_P1P2;
    if (a->lc != 0)
        return SW_WRONG_LENGTH;
    for (size_t i = 0; i < c->nkeys; i++) {
        hsm_bytes_put_u8(out, 0xCC);
        hsm_bytes_put_u8(out, c->keys[i].id);
    }
    for (size_t i = 0; i < c->nfiles; i++)
        hsm_bytes_put_u16(out, c->files[i].fid);
    return SW_OK;
}

uint16_t sim_cmd_challenge(sim_card *c, const hsm_apdu *a, hsm_bytes *out)
{
    (void)c;
    if (a->p1 != 0 || a->p2 != 0)
        return SW_BAD_P1P2;
    if (a->lc != 0 || a->le == 0 || a->le > SIM_CHALLENGE_MAX)
        return SW_WRONG_LENGTH;
    uint8_t buf[SIM_CHALLENGE_MAX];
    if (sim_random(buf, a->le) != HSM_OK)
        return SW_INTERNAL;
    hsm_bytes_put(out, buf, a->le);
    return SW_OK;
}

typedef struct {
    uint8_t cla, ins;
    sim_handler fn;
    int raw_le;    /* the handler sizes its answer to Le itself */
} sim_cmd_entry;

static const sim_cmd_entry COMMANDS[] = {
    { 0x00, 0xA4, sim_cmd_select, 0 },
    { 0x00, 0x20, sim_cmd_verify, 0 },
    { 0x00, 0x24, sim_cmd_change_ref, 0 },
    { 0x00, 0x2C, sim_cmd_reset_retry, 0 },
    { 0x80, 0x50, sim_cmd_initialize, 0 },
    { 0x80, 0x52, sim_cmd_key_domain, 0 },
    { 0x80, 0x58, sim_cmd_enumerate, 0 },
    { 0x00, 0x46, sim_cmd_gakp, 0 },
    { 0x00, 0x48, sim_cmd_gsk, 0 },
    { 0x80, 0x62, sim_cmd_decipher, 0 },
    { 0x80, 0x68, sim_cmd_sign, 0 },
    { 0x80, 0x72, sim_cmd_wrap, 0 },
    { 0x80, 0x74, sim_cmd_unwrap, 0 },
    { 0x80, 0x76, sim_cmd_derive_ec, 0 },
    { 0x80, 0x78, sim_cmd_cipher, 0 },
    { 0x00, 0x84, sim_cmd_challenge, 1 },
    { 0x00, 0x22, sim_cmd_mse, 0 },
    { 0x00, 0x2A, sim_cmd_pso_verify, 0 },
    { 0x00, 0xB0, sim_cmd_read_binary, 1 },
    { 0x00, 0xB1, sim_cmd_read_binary, 1 },
    { 0x00, 0xD7, sim_cmd_update_binary, 0 },
    { 0x00, 0xE4, sim_cmd_delete_file, 0 },
};

static uint16_t dispatch(sim_card *c, const uint8_t *cmd, size_t len, hsm_bytes *data)
{
    hsm_apdu a;
    int ext;
    if (len < 4)
        return SW_WRONG_LENGTH;
    if (cmd[0] != 0x00 && cmd[0] != 0x80)
        return SW_CLA_NOT_SUPPORTED;
    if (len > SIM_MAX_APDU || hsm_apdu_parse(cmd, len, &a, &ext) != HSM_OK)
        return SW_WRONG_LENGTH;
    const sim_cmd_entry *e = NULL;
    int ins_known = 0;
    for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++) {
        if (COMMANDS[i].ins == a.ins) {
            ins_known = 1;
            if (COMMANDS[i].cla == a.cla)
                e = &COMMANDS[i];
        }
    }
    /* Until the applet is selected the card manager answers, and it knows none of these. */
    if (!c->selected && !(a.cla == 0x00 && a.ins == 0xA4))
        return SW_INS_NOT_SUPPORTED;
    if (e == NULL)
        return ins_known ? SW_CLA_NOT_SUPPORTED : SW_INS_NOT_SUPPORTED;
    uint16_t sw = e->fn(c, &a, data);
    if (e->raw_le || (sw != SW_OK && sw != SW_EOF))
        return sw;
    /* Le: none means the host wants no data (e.g. GAKP whose answer is also in CEnn); a
     * short Le below the size gets 6Cxx (re-issue with xx), as ISO 7816-3 T=0 cards do. */
    if (a.le == 0) {
        hsm_bytes_clear(data);
    } else if (data->len > a.le) {
        size_t n = data->len;
        hsm_bytes_clear(data);
        return n <= 256 ? (uint16_t)(0x6C00 | (n & 0xFF)) : SW_WRONG_LENGTH;
    }
    return sw;
}

int sim_card_process(sim_card *c, const uint8_t *cmd, size_t len, hsm_bytes *resp)
{
    if (c == NULL || cmd == NULL || resp == NULL)
        return HSM_E_ARGS;
    hsm_bytes data = HSM_BYTES_INIT;
    c->dirty = 0;
    uint16_t sw = dispatch(c, cmd, len, &data);
    if (sw != SW_OK && sw != SW_EOF)
        hsm_bytes_clear(&data);
    hsm_bytes_clear(resp);
    hsm_bytes_put(resp, data.data, data.len);
    hsm_bytes_put_u16(resp, sw);
    hsm_bytes_free(&data);
    if (resp->oom)
        return HSM_E_MEM;
    return c->dirty ? 1 : 0;
}

int sim_card_last_persistent(const sim_card *c)
{
    return (c->dirty & SIM_CHANGED_PERSISTENT) != 0;
}
