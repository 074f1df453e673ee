/* SPDX-License-Identifier: Apache-2.0 */
/* The virtual card as a vpcd client (vsmartcard's virtual ICC protocol).
 *
 * vpcd (the pcscd driver) listens on TCP 127.0.0.1:35963 for its first slot, 35964 for the next.
 * Every message in both directions is a 2-byte big-endian length followed by that many bytes.
 * From vpcd, a 1-byte message is a control code (power off/on, reset: no answer; get ATR: the
 * ATR is answered); anything longer is a command APDU, answered with the response APDU.
 *
 * The card lives in a sim_store, so `sim:PATH` users of the same state file see the same card.
 * A power-off or reset from pcscd, and the first power-on after (re)connecting, power-cycle the
 * card in the store: the login is dropped for everyone, as on a real card. Losing the connection (pcscd restarted) is
 * handled by reconnecting every 0.5 s; the next power-on then counts as an insertion.
 *
 * SCHSM_SIM_LATENCY_US (microseconds, default 0) delays every APDU, as in the sim transport, to
 * model a real card's latency. SCHSM_DEBUG=apdu traces the APDUs the card receives (header and
 * lengths only, never data). */
#include "sim/vpcd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hsm/bytes.h"
#include "hsm/rv.h"
#include "hsm/trace.h"
#include "sim/card.h"
#include "sim/store.h"

enum {
    VPCD_CTRL_OFF = 0,
    VPCD_CTRL_ON = 1,
    VPCD_CTRL_RESET = 2,
    VPCD_CTRL_ATR = 4,
    VPCD_MAX_MSG = 0xFFFF,
    VPCD_RETRY_MS = 500,
    VPCD_POLL_MS = 250,
};

static volatile sig_atomic_t vpcd_stop;

static void vpcd_on_signal(int sig)
{
    (void)sig;
    vpcd_stop = 1;
}

static void vpcd_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = vpcd_on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocking call must return so the stop flag is seen. */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static void vpcd_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static unsigned long vpcd_latency_us(void)
{
    const char *v = getenv("SCHSM_SIM_LATENCY_US");
    if (!v || !*v)
        return 0;
    char *end = NULL;
    unsigned long us = strtoul(v, &end, 10);
    if (*end || us > 10000000UL)
        return 0;
    return us;
}

/* Connects to vpcd on loopback; -1 when it is not listening (yet). */
static int vpcd_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* vpcd (Debian's 3.3 driver) writes the 2-byte length and the payload in two sends without
 * TCP_NODELAY, so Nagle holds the payload until the length is ACKed; a delayed ACK would then
 * cost 40 ms per message. Quick-ACK mode is not sticky in Linux, so it is re-armed per read. */
static void vpcd_quickack(int fd)
{
#ifdef TCP_QUICKACK
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#else
    (void)fd;
#endif
}

/* Reads exactly n bytes. Returns 1 on success, 0 on orderly close or error, -1 on stop. While
 * waiting for the first byte of a message it polls, so a stop request is noticed promptly. */
static int vpcd_read_all(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        if (vpcd_stop)
            return -1;
        struct pollfd pfd = { fd, POLLIN, 0 };
        int pr = poll(&pfd, 1, VPCD_POLL_MS);
        if (pr < 0 && errno != EINTR)
            return 0;
        if (pr <= 0)
            continue;
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        vpcd_quickack(fd);
        got += (size_t)r;
    }
    return 1;
}

static int vpcd_write_all(int fd, const uint8_t *buf, size_t n)
{
    size_t sent = 0;
    while (sent < n) {
        ssize_t r = send(fd, buf + sent, n - sent, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        sent += (size_t)r;
    }
    return 1;
}

/* One send per frame: split small writes would meet vpcd's delayed ACKs (40 ms each). */
static int vpcd_send_frame(int fd, const uint8_t *p, size_t n)
{
    static uint8_t frame[2 + VPCD_MAX_MSG];
    if (n > VPCD_MAX_MSG)
        return 0;
    frame[0] = (uint8_t)(n >> 8);
    frame[1] = (uint8_t)n;
    memcpy(frame + 2, p, n);
    int ok = vpcd_write_all(fd, frame, n + 2);
    OPENSSL_cleanse(frame, n + 2);
    return ok;
}

/* Runs one APDU against the card in the store; resp gets data || SW1 SW2. */
static void vpcd_apdu(sim_store *st, const uint8_t *cmd, size_t len, hsm_bytes *resp,
                      unsigned long latency_us)
{
    hsm_bytes_clear(resp);
    resp->len = 0;
    hsm_trace_command(cmd, len);
    if (latency_us)
        usleep((useconds_t)latency_us);
    int rv = sim_store_lock(st);
    if (rv != HSM_OK && rv != HSM_E_RESET) {
        fprintf(stderr, "schsm-sim: cannot lock the card state: %s\n", hsm_rv_text(rv));
        hsm_bytes_put_u16(resp, 0x6F00);
        hsm_trace_response(0, 0x6F00);
        return;
    }
    int changed = sim_card_process(sim_store_card(st), cmd, len, resp);
    if (changed < 0 || resp->oom || resp->len < 2 || resp->len > VPCD_MAX_MSG) {
        hsm_bytes_clear(resp);
        resp->len = 0;
        hsm_bytes_put_u16(resp, 0x6F00);
        changed = changed < 0 ? 0 : changed;
    }
    rv = sim_store_unlock(st, changed > 0);
    if (rv != HSM_OK) {
        /* The card answered but its new state was not saved: a real card would have failed. */
        fprintf(stderr, "schsm-sim: cannot save the card state: %s\n", hsm_rv_text(rv));
        hsm_bytes_clear(resp);
        resp->len = 0;
        hsm_bytes_put_u16(resp, 0x6581);   /* memory failure */
    }
    if (resp->oom || resp->len < 2) {
        hsm_trace_response(0, 0x6F00);   /* out of memory: the caller answers 6F00 */
        return;
    }
    uint16_t sw = (uint16_t)((resp->data[resp->len - 2] << 8) | resp->data[resp->len - 1]);
    hsm_trace_response(resp->len - 2, sw);
}

static void vpcd_power_cycle(sim_store *st)
{
    int rv = sim_store_power_cycle(st);
    if (rv != HSM_OK)
        fprintf(stderr, "schsm-sim: power cycle failed: %s\n", hsm_rv_text(rv));
}

/* Serves one vpcd connection until it drops (returns 0) or a stop is requested (returns 1). */
static int vpcd_serve(int fd, sim_store *st, unsigned long latency_us)
{
    static uint8_t msg[VPCD_MAX_MSG];
    hsm_bytes resp = HSM_BYTES_INIT;
    /* A new connection is a card just inserted: its first power-up starts from a clean
     * security state. Power-off and reset drop it too; power-on after power-off adds nothing. */
    int fresh = 1;
    int result = 0;

    for (;;) {
        uint8_t hdr[2];
        int r = vpcd_read_all(fd, hdr, 2);
        if (r <= 0) {
            result = r < 0;
            break;
        }
        size_t n = ((size_t)hdr[0] << 8) | hdr[1];
        r = vpcd_read_all(fd, msg, n);
        if (r <= 0) {
            result = r < 0;
            break;
        }
        if (n == 1) {
            switch (msg[0]) {
            case VPCD_CTRL_OFF:
                vpcd_power_cycle(st);
                fresh = 0;
                break;
            case VPCD_CTRL_ON:
                if (fresh)
                    vpcd_power_cycle(st);
                fresh = 0;
                break;
            case VPCD_CTRL_RESET:
                vpcd_power_cycle(st);
                fresh = 0;
                break;
            case VPCD_CTRL_ATR: {
                uint8_t atr[64];
                size_t alen = sim_card_atr(atr, sizeof atr);
                if (!vpcd_send_frame(fd, atr, alen))
                    goto out;
                break;
            }
            default:
                fprintf(stderr, "schsm-sim: unknown vpcd control 0x%02X ignored\n", msg[0]);
                break;
            }
            continue;
        }
        if (n < 4) {
            /* Too short to be an APDU: answer "wrong length" rather than hang vpcd. */
            uint8_t sw[2] = { 0x67, 0x00 };
            if (!vpcd_send_frame(fd, sw, 2))
                goto out;
            continue;
        }
        if (fresh)
            vpcd_power_cycle(st);
        fresh = 0;
        vpcd_apdu(st, msg, n, &resp, latency_us);
        static const uint8_t sw_fail[2] = { 0x6F, 0x00 };
        int ok = resp.oom || resp.len < 2 ? vpcd_send_frame(fd, sw_fail, 2)
                                          : vpcd_send_frame(fd, resp.data, resp.len);
        /* Command and response bytes may hold PINs or key material. */
        OPENSSL_cleanse(msg, n);
        hsm_bytes_clear(&resp);
        if (!ok)
            goto out;
    }
out:
    OPENSSL_cleanse(msg, sizeof msg);
    hsm_bytes_free(&resp);
    return result || vpcd_stop;
}

int sim_vpcd_run(const char *state_path, int port)
{
    if (!state_path || port <= 0 || port > 65535) {
        fprintf(stderr, "schsm-sim: --vpcd needs --state PATH and a port in 1..65535\n");
        return 2;
    }
    sim_store *st = NULL;
    int rv = sim_store_open(state_path, &st);
    if (rv != HSM_OK) {
        fprintf(stderr, "schsm-sim: cannot open state %s: %s\n", state_path, hsm_rv_text(rv));
        return 1;
    }
    vpcd_install_signals();
    unsigned long latency_us = vpcd_latency_us();
    int waiting_said = 0;

    while (!vpcd_stop) {
        int fd = vpcd_connect(port);
        if (fd < 0) {
            if (!waiting_said) {
                fprintf(stderr, "schsm-sim: waiting for vpcd on 127.0.0.1:%d\n", port);
                waiting_said = 1;
            }
            vpcd_sleep_ms(VPCD_RETRY_MS);
            continue;
        }
        fprintf(stderr, "schsm-sim: card inserted in vpcd on 127.0.0.1:%d\n", port);
        waiting_said = 0;
        int stop = vpcd_serve(fd, st, latency_us);
        close(fd);
        if (stop)
            break;
        fprintf(stderr, "schsm-sim: vpcd connection lost; reconnecting\n");
        vpcd_sleep_ms(VPCD_RETRY_MS);
    }
    sim_store_close(st);
    return 0;
}
