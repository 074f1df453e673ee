/* SPDX-License-Identifier: Apache-2.0 */
/* Virtual card behind its state file: transport, persistence across processes, locking,
 * power cycles, damaged files. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper_sim.h"
#include "sim/store.h"
#include "sim/transport.h"
#include "sim_test.h"

static uint16_t ttx(hsm_transport *t, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data,
                    size_t lc, size_t le, hsm_bytes *out, int *rc)
{
    hsm_apdu a = { cla, ins, p1, p2, (const uint8_t *)data, lc, le };
    hsm_bytes cmd = HSM_BYTES_INIT;
    uint8_t resp[70000];
    size_t rl = sizeof(resp);
    ck_assert_int_eq(hsm_apdu_encode(&a, HSM_APDU_AUTO, &cmd), HSM_OK);
    *rc = t->ops->transmit(t, cmd.data, cmd.len, resp, &rl);
    hsm_bytes_free(&cmd);
    if (*rc != HSM_OK)
        return 0;
    ck_assert_uint_ge(rl, 2);
    if (out != NULL)
        hsm_bytes_set(out, resp, rl - 2);
    return (uint16_t)(resp[rl - 2] << 8 | resp[rl - 1]);
}

static uint16_t ok_tx(hsm_transport *t, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const void *data,
                      size_t lc, size_t le, hsm_bytes *out)
{
    int rc;
    uint16_t sw = ttx(t, cla, ins, p1, p2, data, lc, le, out, &rc);
    ck_assert_int_eq(rc, HSM_OK);
    return sw;
}

static hsm_transport *open_t(const char *path)
{
    hsm_transport *t = NULL;
    char why[256] = "";
    ck_assert_int_eq(sim_transport_open(path, &t, why, sizeof(why)), HSM_OK);
    ck_assert_ptr_nonnull(t);
    return t;
}

static void prepare(hsm_transport *t)
{
    hsm_bytes d = HSM_BYTES_INIT;
    ck_assert_uint_eq(ok_tx(t, 0x00, 0xA4, 0x04, 0x0C, T_AID, 11, 0, NULL), 0x9000);
    hsm_tlv_put(&d, 0x81, T_PIN, 6);
    hsm_tlv_put(&d, 0x82, T_SO, 8);
    ck_assert_uint_eq(ok_tx(t, 0x80, 0x50, 0x00, 0x00, d.data, d.len, 0, NULL), 0x9000);
    ck_assert_uint_eq(ok_tx(t, 0x00, 0x20, 0x00, 0x81, T_PIN, 6, 0, NULL), 0x9000);
    hsm_bytes_free(&d);
}

static uint16_t write_ef(hsm_transport *t, uint16_t fid, const void *data, size_t len)
{
    hsm_bytes d = HSM_BYTES_INIT;
    const uint8_t off[2] = { 0, 0 };
    hsm_tlv_put(&d, 0x54, off, 2);
    hsm_tlv_put(&d, 0x53, data, len);
    uint16_t sw = ok_tx(t, 0x00, 0xD7, (uint8_t)(fid >> 8), (uint8_t)fid, d.data, d.len, 0, NULL);
    hsm_bytes_free(&d);
    return sw;
}

START_TEST(shared_card_and_security_state)
{
    char *path = helper_sim_path("shared");
    hsm_transport *a = open_t(path), *b = open_t(path);
    uint8_t atr[40];
    ck_assert_uint_eq(a->ops->atr(a, atr, sizeof(atr)), 24);
    ck_assert_str_eq(a->reader + 4, path);
    ck_assert_mem_eq(a->reader, "sim:", 4);
    prepare(a);
    /* b sees a's card, applet selection and login, like two PC/SC clients of one card */
    ck_assert_uint_eq(ok_tx(b, 0x00, 0x20, 0x00, 0x81, NULL, 0, 0, NULL), 0x9000);
    ck_assert_uint_eq(write_ef(b, 0xCF01, "from b", 6), 0x9000);
    /* a SELECT by b logs a out */
    ck_assert_uint_eq(ok_tx(b, 0x00, 0xA4, 0x04, 0x0C, T_AID, 11, 0, NULL), 0x9000);
    ck_assert_uint_eq(ok_tx(a, 0x00, 0x20, 0x00, 0x81, NULL, 0, 0, NULL), 0x63C3);
    /* a new transport on the file (another process later) still has the EF */
    a->ops->close(a);
    b->ops->close(b);
    hsm_transport *c = open_t(path);
    hsm_bytes r = HSM_BYTES_INIT;
    const uint8_t off[4] = { 0x54, 0x02, 0x00, 0x00 };
    ck_assert_uint_eq(ok_tx(c, 0x00, 0xB1, 0xCF, 0x01, off, 4, 256, &r), 0x6282);
    ck_assert_uint_eq(r.len, 6);
    ck_assert_mem_eq(r.data, "from b", 6);
    /* a response bigger than the caller's buffer is an argument error, not a crash */
    uint8_t small[4];
    size_t sl = sizeof(small);
    const uint8_t rb[] = { 0x00, 0xB1, 0xCF, 0x01, 0x04, 0x54, 0x02, 0x00, 0x00, 0x00 };
    ck_assert_int_eq(c->ops->transmit(c, rb, sizeof(rb), small, &sl), HSM_E_ARGS);
    c->ops->close(c);
    hsm_bytes_free(&r);
    free(path);
}
END_TEST

START_TEST(concurrent_processes_all_writes_land)
{
    char *path = helper_sim_path("concurrent");
    hsm_transport *t = open_t(path);
    prepare(t);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0) {
            /* a fresh transport per child, as a new process would open */
            hsm_transport *ct = NULL;
            char why[128];
            if (sim_transport_open(path, &ct, why, sizeof(why)) != HSM_OK)
                _exit(10);
            for (int i = 0; i < 50; i++) {
                uint8_t v[2] = { (uint8_t)k, (uint8_t)i };
                uint16_t fid = (uint16_t)(0xCF00 | (k * 0x80 + i));
                hsm_bytes d = HSM_BYTES_INIT;
                const uint8_t off[2] = { 0, 0 };
                hsm_tlv_put(&d, 0x54, off, 2);
                hsm_tlv_put(&d, 0x53, v, 2);
                hsm_apdu a = { 0x00, 0xD7, (uint8_t)(fid >> 8), (uint8_t)fid, d.data, d.len, 0 };
                hsm_bytes cmd = HSM_BYTES_INIT;
                uint8_t resp[16];
                size_t rl = sizeof(resp);
                hsm_apdu_encode(&a, HSM_APDU_AUTO, &cmd);
                int rc = ct->ops->transmit(ct, cmd.data, cmd.len, resp, &rl);
                hsm_bytes_free(&cmd);
                hsm_bytes_free(&d);
                if (rc != HSM_OK || rl != 2 || resp[0] != 0x90)
                    _exit(20 + k);
            }
            ct->ops->close(ct);
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int st = 0;
        ck_assert_int_eq(waitpid(kids[k], &st, 0), kids[k]);
        ck_assert(WIFEXITED(st));
        ck_assert_int_eq(WEXITSTATUS(st), 0);
    }
    hsm_bytes r = HSM_BYTES_INIT;
    ck_assert_uint_eq(ok_tx(t, 0x80, 0x58, 0x00, 0x00, NULL, 0, 65536, &r), 0x9000);
    ck_assert_uint_eq(r.len, 2 * (2 + 100));   /* CC00, 2F02 and 100 EFs */
    const uint8_t off[4] = { 0x54, 0x02, 0x00, 0x00 };
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 50; i++) {
            uint16_t fid = (uint16_t)(0xCF00 | (k * 0x80 + i));
            ck_assert_uint_eq(ok_tx(t, 0x00, 0xB1, (uint8_t)(fid >> 8), (uint8_t)fid, off, 4, 16, &r), 0x6282);
            ck_assert_uint_eq(r.len, 2);
            ck_assert_uint_eq(r.data[0], k);
            ck_assert_uint_eq(r.data[1], i);
        }
    }
    t->ops->close(t);
    /* no temporary files are left next to the state */
    char *dir = strdup(path);
    *strrchr(dir, '/') = 0;
    const char *base = strrchr(path, '/') + 1;
    DIR *dh = opendir(dir);
    struct dirent *de;
    while ((de = readdir(dh)) != NULL)
        if (strncmp(de->d_name, base, strlen(base)) == 0)
            ck_assert_ptr_null(strstr(de->d_name, ".tmp"));
    closedir(dh);
    free(dir);
    hsm_bytes_free(&r);
    free(path);
}
END_TEST

START_TEST(transaction_holds_the_lock)
{
    char *path = helper_sim_path("tx");
    hsm_transport *t = open_t(path);
    prepare(t);
    ck_assert_int_eq(t->ops->begin(t), HSM_OK);
    pid_t kid = fork();
    ck_assert_int_ge(kid, 0);
    if (kid == 0) {
        hsm_transport *ct = NULL;
        char why[128];
        if (sim_transport_open(path, &ct, why, sizeof(why)) != HSM_OK)   /* blocks until end() */
            _exit(10);
        const uint8_t rb[] = { 0x00, 0xB1, 0xCF, 0x07, 0x04, 0x54, 0x02, 0x00, 0x00, 0x00 };
        uint8_t resp[300];
        size_t rl = sizeof(resp);
        if (ct->ops->transmit(ct, rb, sizeof(rb), resp, &rl) != HSM_OK)
            _exit(11);
        /* the parent wrote CF07 inside its transaction before ending it */
        _exit(rl == 5 && memcmp(resp, "tx!", 3) == 0 && resp[3] == 0x62 ? 0 : 12);
    }
    usleep(200000);
    ck_assert_uint_eq(write_ef(t, 0xCF07, "tx!", 3), 0x9000);
    t->ops->end(t);
    int st = 0;
    ck_assert_int_eq(waitpid(kid, &st, 0), kid);
    ck_assert(WIFEXITED(st));
    ck_assert_int_eq(WEXITSTATUS(st), 0);
    t->ops->close(t);
    free(path);
}
END_TEST

START_TEST(power_cycle_reported_once)
{
    char *path = helper_sim_path("reset");
    hsm_transport *a = open_t(path), *b = open_t(path);
    int rc;
    prepare(a);
    ck_assert_int_eq(a->ops->begin(a), HSM_OK);
    a->ops->end(a);
    /* b resets the card (its own reset is not reported back to b) */
    ck_assert_int_eq(b->ops->reset(b), HSM_OK);
    ck_assert_int_eq(b->ops->begin(b), HSM_OK);
    b->ops->end(b);
    ck_assert_int_eq(a->ops->begin(a), HSM_E_RESET);
    /* the transaction is held anyway; the applet is no longer selected */
    ck_assert_uint_eq(ok_tx(a, 0x00, 0x20, 0x00, 0x81, NULL, 0, 0, NULL), 0x6D00);
    a->ops->end(a);
    ck_assert_int_eq(a->ops->begin(a), HSM_OK);
    a->ops->end(a);
    /* outside a transaction: the first transmit after the reset is refused, not executed */
    sim_store *s = NULL;
    ck_assert_int_eq(sim_store_open(path, &s), HSM_OK);
    ck_assert_int_eq(sim_store_power_cycle(s), HSM_OK);
    sim_store_close(s);
    ck_assert_uint_eq(ttx(a, 0x00, 0xA4, 0x04, 0x0C, T_AID, 11, 0, NULL, &rc), 0);
    ck_assert_int_eq(rc, HSM_E_RESET);
    ck_assert_uint_eq(ok_tx(a, 0x00, 0x20, 0x00, 0x81, NULL, 0, 0, NULL), 0x6D00);
    ck_assert_uint_eq(ok_tx(a, 0x00, 0xA4, 0x04, 0x0C, T_AID, 11, 0, NULL), 0x9000);
    ck_assert_uint_eq(ok_tx(a, 0x00, 0x20, 0x00, 0x81, NULL, 0, 0, NULL), 0x63C3);
    a->ops->close(a);
    b->ops->close(b);
    free(path);
}
END_TEST

START_TEST(damaged_state_file_is_an_error)
{
    char *path = helper_sim_path("damaged");
    hsm_transport *t = open_t(path);
    prepare(t);
    t->ops->close(t);
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 100, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 100, SEEK_SET);
    fputc(ch ^ 0x10, f);
    fclose(f);
    char why[256] = "";
    hsm_transport *u = NULL;
    ck_assert_int_ne(sim_transport_open(path, &u, why, sizeof(why)), HSM_OK);
    ck_assert_ptr_nonnull(strstr(why, "damaged"));
    /* the file was not replaced by a fresh card */
    f = fopen(path, "rb");
    fseek(f, 100, SEEK_SET);
    ck_assert_int_eq(fgetc(f), ch ^ 0x10);
    fclose(f);
    ck_assert_int_ne(sim_transport_open("/nonexistent-dir/x.state", &u, why, sizeof(why)), HSM_OK);
    ck_assert_int_ne(sim_transport_open("", &u, why, sizeof(why)), HSM_OK);
    free(path);
}
END_TEST

START_TEST(latency_knob)
{
    char *path = helper_sim_path("latency");
    setenv("SCHSM_SIM_LATENCY_US", "20000", 1);
    hsm_transport *t = open_t(path);
    unsetenv("SCHSM_SIM_LATENCY_US");
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    for (int i = 0; i < 5; i++)
        ok_tx(t, 0x00, 0xA4, 0x04, 0x0C, T_AID, 11, 0, NULL);
    gettimeofday(&t1, NULL);
    long us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_usec - t0.tv_usec);
    ck_assert_int_ge(us, 100000);
    t->ops->close(t);
    free(path);
}
END_TEST

START_TEST(helper_card_works)
{
    hsm_card *c = helper_sim_card("helper");
    ck_assert_ptr_nonnull(c);
    hsm_fcp fcp;
    ck_assert_int_eq(hsm_card_select(c, &fcp), HSM_OK);
    ck_assert_uint_eq(fcp.major, 3);
    ck_assert_uint_eq(fcp.minor, 5);
    hsm_card_free(c);
}
END_TEST

T_MAIN("sim_store", shared_card_and_security_state, concurrent_processes_all_writes_land, transaction_holds_the_lock,
       power_cycle_reported_once, damaged_state_file_is_an_error, latency_knob, helper_card_works)
