/* SPDX-License-Identifier: Apache-2.0 */
/* schsm-sim --dump: what the card holds, for people. No secrets are printed. */
#include "sim/sim_int.h"

#include "hsm/rv.h"
#include "hsm/tlv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void outf(hsm_bytes *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void outf(hsm_bytes *out, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0)
        hsm_bytes_put(out, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Label (first 0C) from a PKCS#15 description: 30/A0/A8 { 30 { 0C label ... } ... }. */
static void label_of(sim_card *c, uint8_t id, char *out, size_t cap)
{
    sim_file *f = sim_file_find(c, (uint16_t)(0xC400 | id));
    hsm_tlv top, common, lab;
    out[0] = 0;
    if (f == NULL || hsm_tlv_parse_one(f->data.data, f->data.len, &top) != 0)
        return;
    if (hsm_tlv_find(top.val, top.len, 0x30, &common) != 1 || hsm_tlv_find(common.val, common.len, 0x0C, &lab) != 1)
        return;
    size_t n = lab.len < cap - 1 ? lab.len : cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (lab.val[i] >= 0x20 && lab.val[i] < 0x7F) ? (char)lab.val[i] : '?';
    out[n] = 0;
}

int sim_card_dump(const sim_card *cc, hsm_bytes *out)
{
    sim_card *c = (sim_card *)cc;   /* lookups only; nothing is changed */
    char chr[32];
    static const char *types[] = { "?", "RSA", "EC", "AES" };
    sim_device_chr(c, chr, sizeof(chr));
    outf(out, "device CHR:      %s (serial %.*s)\n", chr, (int)(strlen(chr) > 5 ? strlen(chr) - 5 : 0), chr);
    outf(out, "firmware:        %d.%d\n", c->fw_major, c->fw_minor);
    outf(out, "initialised:     %s\n", c->initialized ? "yes" : "no (factory fresh)");
    if (c->initialized) {
        outf(out, "options:         %04X%s%s\n", c->options, (c->options & 1) ? " (reset retry counter allowed)" : "",
             (c->options & 2) ? " (transport PIN)" : "");
        outf(out, "user PIN:        %u of %u tries left%s%s\n", c->pin_tries, c->pin_max,
             c->pin_tries == 0 ? " (BLOCKED)" : "", c->transport_pin ? ", transport PIN must be changed" : "");
    }
    outf(out, "SO-PIN:          %s, %u tries left%s\n", c->so_set ? "set" : "not set", c->so_tries,
         c->so_tries == 0 ? " (BLOCKED)" : "");
    outf(out, "session:         %s, %s, power cycles %u\n", c->selected ? "applet selected" : "applet not selected",
         c->pin_ok ? "PIN verified" : "PIN not verified", c->epoch);
    outf(out, "memory:          %zu of %d bytes free\n", sim_mem_free(c), SIM_MEM_TOTAL);
    outf(out, "keys (%zu):\n", c->nkeys);
    for (size_t i = 0; i < c->nkeys; i++) {
        sim_key *k = &c->keys[i];
        char label[80];
        label_of(c, k->id, label, sizeof(label));
        outf(out, "  CC%02X  %-3s %4u bits  domain %u", k->id, types[k->type & 3], k->bits, k->domain);
        if (k->id == 0)
            outf(out, "  device authentication key");
        if (label[0])
            outf(out, "  label \"%s\"", label);
        if (k->has_counter)
            outf(out, "  uses left %u", k->counter);
        if (k->has_algs && k->id != 0) {
            outf(out, "  algorithms");
            for (size_t j = 0; j < k->nalgs; j++)
                outf(out, " %02X", k->algs[j]);
        }
        outf(out, "\n");
    }
    outf(out, "files (%zu):\n", c->nfiles);
    for (size_t i = 0; i < c->nfiles; i++)
        outf(out, "  %04X  %5zu bytes\n", c->files[i].fid, c->files[i].data.len);
    outf(out, "verified CV keys: %zu\n", c->npubkeys);
    outf(out, "key domains (%zu):\n", c->ndomains);
    for (size_t i = 0; i < c->ndomains; i++) {
        const sim_domain *d = &c->dom[i];
        if (d->state == SIM_DOM_EMPTY) {
            outf(out, "  %zu  empty\n", i);
            continue;
        }
        uint8_t kcv[8] = { 0 };
        if (d->kek_set)
            sim_dkek_kcv(d->kek, kcv);
        if (d->state == SIM_DOM_XKEK)
            outf(out, "  %zu  XKEK, %s, KCV %02X%02X%02X%02X%02X%02X%02X%02X\n", i,
                 d->kek_set ? "agreed" : "not yet derived", kcv[0], kcv[1], kcv[2], kcv[3], kcv[4], kcv[5], kcv[6],
                 kcv[7]);
        else
            outf(out, "  %zu  DKEK, %u shares, %u missing, KCV %02X%02X%02X%02X%02X%02X%02X%02X\n", i, d->total,
                 d->missing, kcv[0], kcv[1], kcv[2], kcv[3], kcv[4], kcv[5], kcv[6], kcv[7]);
    }
    return out->oom ? HSM_E_MEM : HSM_OK;
}
