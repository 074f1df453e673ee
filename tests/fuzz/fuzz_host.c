/* SPDX-License-Identifier: Apache-2.0 */
/* The host layer (hsm/token*.c, hsm/card.c) against arbitrary card answers. A fake transport runs
 * every command on an in-memory virtual card (fuzz_sim.h, plus two keys made by the host library
 * itself) and then, as the input says, passes the answer, flips a bit, truncates it, replaces its
 * status word or the whole answer, loses it, resets the card, or removes it (the opener inserts it
 * again). The input: byte 0 = number of operations, then one byte per operation (hsm_token calls,
 * see run_op), then the fault bytes, one per APDU (see fault_transmit); when they run out the card
 * answers truly.
 *
 * PIN rules checked as properties on every APDU (abort on violation):
 *  1. a VERIFY with a PIN is preceded, in the same transaction and with no reset or removal in
 *     between, by a retry-counter query whose answer (as the host saw it) allowed one: 63Cx, x >= 2;
 *  2. a PIN the host saw rejected (63Cx, 6983) is never sent again by this session;
 *  3. a PIN the card rejected is never sent again by this session, even when the host did not
 *     see the answer (a lost or garbled answer must not cost a second try). Not checked when the
 *     host was shown 9000 for it: a PIN the card (falsely) confirmed is believed and sent again
 *     after a 6982 (see the note on this in the fuzz report);
 *  4. the PIN never appears in hsm_token_error() nor in what the library logs (SCHSM_DEBUG=all);
 *  5. a signature hsm_token_sign_checked() returns verifies with the key's public key. */
#include "fuzz_sim.h"

#include <openssl/evp.h>

#include "hsm/ecsig.h"
#include "hsm/token.h"
#include "hsm/trace.h"

#define PIN "fz7PIN42"
#define WRONG_PIN "wrong-PIN-9"

static const uint8_t *faults, *faults_end;
static sim_card *card;
static int removed;

/* Property bookkeeping for the current session. */
static int in_transaction;
static uint16_t last_status_seen;       /* answer to the last retry-counter query, 0 = none valid */
static int rejected_seen[2];            /* [correct PIN, wrong PIN] rejected as the host saw it */
static int rejected_by_card[2];         /* rejected by the card, seen or not */

typedef struct {
    hsm_transport base;
} fault_transport;

static int next_fault(void)
{
    return faults < faults_end ? *faults++ : -1;
}

static int pin_index(const uint8_t *pin, size_t len)
{
    if (len == strlen(PIN) && memcmp(pin, PIN, len) == 0)
        return 0;
    if (len == strlen(WRONG_PIN) && memcmp(pin, WRONG_PIN, len) == 0)
        return 1;
    return -1;
}

/* Rules 1-3 on a command about to be sent. *verify_pin receives the index of the PIN it sends. */
static void check_command(const uint8_t *cmd, size_t len, int *verify_pin, int *status_query)
{
    hsm_apdu a;
    int ext = 0;
    *verify_pin = -1;
    *status_query = 0;
    if (hsm_apdu_parse(cmd, len, &a, &ext) != HSM_OK || a.ins != 0x20 || a.p2 != 0x81)
        return;
    if (a.lc == 0) {
        *status_query = 1;
        return;
    }
    int i = pin_index(a.data, a.lc);
    FUZZ_CHECK(i >= 0, "VERIFY sends only a PIN the session was given");
    FUZZ_CHECK(in_transaction, "VERIFY inside a transaction");
    unsigned tries = (last_status_seen & 0x0F);
    FUZZ_CHECK((last_status_seen & 0xFFF0) == 0x63C0 && tries >= 2,
               "VERIFY follows a retry-counter query that allowed it");
    FUZZ_CHECK(!rejected_seen[i], "a PIN the host saw rejected is never sent again");
    FUZZ_CHECK(!rejected_by_card[i], "a PIN the card rejected is never sent again");
    last_status_seen = 0;
    *verify_pin = i;
}

static int rejected(uint16_t sw)
{
    return (sw & 0xFFF0) == 0x63C0 || sw == 0x6983;
}

static uint16_t sw_of(const uint8_t *r, size_t n)
{
    return n >= 2 ? (uint16_t)(r[n - 2] << 8 | r[n - 1]) : 0;
}

static void lost_state(void)
{
    last_status_seen = 0;
}

static int fault_transmit(hsm_transport *t, const uint8_t *cmd, size_t len, uint8_t *resp, size_t *resp_len)
{
    (void)t;
    size_t cap = *resp_len;
    *resp_len = 0;
    if (removed)
        return HSM_E_NO_CARD;
    int vpin, query;
    int f = next_fault();
    if (getenv("FUZZ_HOST_TRACE") != NULL) {   /* to read a finding: the APDUs and the fault chosen */
        char line[128];
        int n = snprintf(line, sizeof(line), "fuzz> fault %02X:", f & 0xFF);
        for (size_t i = 0; i < len && i < 16; i++)
            n += snprintf(line + n, sizeof(line) - (size_t)n, " %02X", cmd[i]);
        dprintf(2, "%s (last query answer %04X)\n", line, last_status_seen);
    }
    check_command(cmd, len, &vpin, &query);
    if (f >= 0xD8 && f <= 0xDB) {           /* removed before the command */
        removed = 1;
        lost_state();
        return HSM_E_NO_CARD;
    }
    if (f >= 0xE0 && f <= 0xE7) {           /* reset by someone else: not executed */
        sim_card_reset(card);
        lost_state();
        return HSM_E_RESET;
    }
    hsm_bytes r = HSM_BYTES_INIT;
    if (sim_card_process(card, cmd, len, &r) < 0 || r.len < 2)
        abort();
    /* A try counted (6983: blocked, none counted). Not recorded when the host is then shown 9000:
     * a card that confirms a wrong PIN is believed (see rule 3 above). */
    int counted = vpin >= 0 && (sw_of(r.data, r.len) & 0xFFF0) == 0x63C0;
    if (counted && (f < 0xA0 || f > 0xD7))
        rejected_by_card[vpin] = 1;
    if (f >= 0xDC && f <= 0xDF) {           /* executed, answer lost */
        hsm_bytes_free(&r);
        lost_state();
        return HSM_E_COMM;
    }
    if (f >= 0xE8 && f <= 0xEF) {           /* executed, then the card was pulled */
        hsm_bytes_free(&r);
        removed = 1;
        lost_state();
        return HSM_E_NO_CARD;
    }
    if (f >= 0xA0 && f <= 0xAF && r.len > 0) {             /* flip one bit */
        int pos = next_fault();
        size_t bit = (size_t)(pos < 0 ? 0 : pos) % (r.len * 8);
        r.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    } else if (f >= 0xB0 && f <= 0xBF) {                   /* truncate */
        int n = next_fault();
        r.len = (size_t)(n < 0 ? 0 : n) % (r.len + 1);
    } else if (f >= 0xC0 && f <= 0xCF) {                   /* replace the status word */
        int a = next_fault(), b = next_fault();
        r.data[r.len - 2] = (uint8_t)(a < 0 ? 0x6F : a);
        r.data[r.len - 1] = (uint8_t)(b < 0 ? 0x00 : b);
    } else if (f >= 0xD0 && f <= 0xD7) {                   /* an answer of its own */
        int n = next_fault();
        hsm_bytes_clear(&r);
        for (int i = 0; i < (n < 0 ? 0 : n); i++) {
            int c = next_fault();
            hsm_bytes_put_u8(&r, (uint8_t)(c < 0 ? 0 : c));
        }
    }
    if (r.len > cap)
        r.len = cap;
    if (r.len > 0)
        memcpy(resp, r.data, r.len);
    *resp_len = r.len;
    uint16_t seen = sw_of(resp, r.len);
    if (query)
        last_status_seen = seen;
    else if (!(cmd[1] == 0xA4 && seen == 0x9000 && last_status_seen != 0))
        last_status_seen = 0;   /* only a SELECT may come between the query and VERIFY */
    if (vpin >= 0 && r.len >= 2 && rejected(seen))
        rejected_seen[vpin] = 1;
    if (counted && seen != 0x9000)
        rejected_by_card[vpin] = 1;
    hsm_bytes_free(&r);
    return HSM_OK;
}

static int fault_begin(hsm_transport *t)
{
    (void)t;
    if (removed)
        return HSM_E_NO_CARD;
    in_transaction = 1;
    lost_state();
    int f = next_fault();
    if (f >= 0xF8) {            /* reset between transactions */
        sim_card_reset(card);
        return HSM_E_RESET;
    }
    return HSM_OK;
}

static void fault_end(hsm_transport *t)
{
    (void)t;
    in_transaction = 0;
    lost_state();
}

static int fault_reset(hsm_transport *t)
{
    (void)t;
    if (removed)
        return HSM_E_NO_CARD;
    sim_card_reset(card);
    lost_state();
    return HSM_OK;
}

static size_t fault_atr(hsm_transport *t, uint8_t *out, size_t cap)
{
    (void)t;
    return sim_card_atr(out, cap);
}

static void fault_close(hsm_transport *t)
{
    free(t);
}

static const struct hsm_transport_ops fault_ops = { fault_transmit, fault_begin, fault_end, fault_reset,
                                                    fault_atr, fault_close };

/* The opener: a removed card is inserted again (power cycled) when the token reopens the reader. */
static int fault_open(const char *spec, hsm_transport **out, char *why, size_t why_len)
{
    (void)spec;
    if (removed) {
        sim_card_reset(card);
        removed = 0;
    }
    fault_transport *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(why, why_len, "out of memory");
        return HSM_E_MEM;
    }
    t->base.ops = &fault_ops;
    snprintf(t->base.reader, sizeof(t->base.reader), "fuzz reader");
    *out = &t->base;
    lost_state();
    return HSM_OK;
}

static void setup(void)
{
    if (sim_card_new(&card) != HSM_OK)
        abort();
    fuzz_sim_need(fuzz_sim_tx(card, 0x00, 0xA4, 0x04, 0x0C, FUZZ_AID, sizeof(FUZZ_AID), 0), "SELECT");
    hsm_bytes init = HSM_BYTES_INIT;
    static const uint8_t opts[2] = { 0x00, 0x01 };
    hsm_tlv_put(&init, 0x80, opts, 2);
    hsm_tlv_put(&init, 0x81, PIN, strlen(PIN));
    hsm_tlv_put(&init, 0x82, "57621880", 8);
    hsm_tlv_put_u8(&init, 0x91, 5);
    fuzz_sim_need(fuzz_sim_tx(card, 0x80, 0x50, 0x00, 0x00, init.data, init.len, 0), "INITIALIZE");
    hsm_bytes_free(&init);
    faults = faults_end = NULL;
    hsm_token *t = NULL;
    hsm_key k;
    hsm_keygen_params p = { .type = HSM_KEY_EC, .ec_nid = NID_X9_62_prime256v1, .label = "k1", .key_domain = -1 };
    if (hsm_token_new("fuzz", fault_open, &t) != HSM_OK || hsm_token_set_pin(t, PIN, strlen(PIN)) != HSM_OK
        || hsm_token_generate(t, &p, &k) != HSM_OK)
        abort();
    p.label = "k2";
    p.ec_nid = NID_brainpoolP256r1;
    if (hsm_token_generate(t, &p, &k) != HSM_OK)
        abort();
    hsm_token_free(t);
    if (sim_card_save(card, &fuzz_sim_state) != HSM_OK)
        abort();
    sim_card_free(card);
    card = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setup();
    unsetenv("SCHSM_DEBUG_FILE");
    hsm_trace_set("all");
    return 0;
}

static size_t give_pin(void *arg, char *buf, size_t cap)
{
    const char *pin = arg;
    size_t n = strlen(pin);
    if (n > cap)
        return 0;
    memcpy(buf, pin, n);
    return n;
}

/* Does sig (the card's ECDSA DER, as hsm_token_sign returns it: INTEGERs of the field size, so
 * not always minimal) verify h under pub? Normalised first, as the provider does. */
static int signature_ok(EVP_PKEY *pub, const uint8_t *h, size_t hl, const hsm_bytes *sig)
{
    hsm_bytes der = HSM_BYTES_INIT;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
    int ok = c != NULL && hsm_ecdsa_der_normalize(sig->data, sig->len, &der) == HSM_OK
             && EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_verify(c, der.data, der.len, h, hl) == 1;
    EVP_PKEY_CTX_free(c);
    hsm_bytes_free(&der);
    return ok;
}

static void run_op(hsm_token *t, uint8_t op)
{
    hsm_key *keys = NULL, k;
    hsm_cert_ref *certs = NULL;
    size_t n = 0;
    hsm_bytes out = HSM_BYTES_INIT;
    EVP_PKEY *pub = NULL;
    static const uint8_t h[32] = { 0x42 };
    const char *label = (op & 0x10) ? "k2" : "k1";
    const char *pin = (op & 0x20) ? WRONG_PIN : PIN;
    switch (op % 16) {
    case 0: (void)hsm_token_list_keys(t, &keys, &n); break;
    case 1: (void)hsm_token_list_certs(t, &certs, &n); break;
    case 2:
        if (hsm_token_find_key(t, label, NULL, 0, &k) == HSM_OK)
            (void)hsm_token_sign(t, &k, HSM_ALG_ECDSA, h, sizeof(h), &out);
        break;
    case 3:
        if (hsm_token_find_key(t, label, NULL, 0, &k) == HSM_OK && hsm_token_public_key(t, &k, &pub) == HSM_OK
            && hsm_token_sign_checked(t, &k, pub, HSM_ALG_ECDSA, h, sizeof(h), &out) == HSM_OK)
            FUZZ_CHECK(signature_ok(pub, h, sizeof(h), &out), "a checked signature verifies");
        break;
    case 4: { hsm_token_info info; (void)hsm_token_info_get(t, &info); break; }
    case 5: (void)hsm_token_needs_pin(t); break;
    case 6: (void)hsm_token_login(t, pin, strlen(pin), 0); break;
    case 7: (void)hsm_token_set_pin(t, pin, strlen(pin)); break;
    case 8: (void)hsm_token_ensure_login(t, give_pin, (void *)pin); break;
    case 9: hsm_token_logout(t); break;
    case 10: {
        char serial[32], tl[64];
        (void)hsm_token_identity(t, serial, sizeof(serial), tl, sizeof(tl));
        break;
    }
    case 11: (void)hsm_token_read_file(t, (op & 0x10) ? 0x2F02 : 0xC401, &out); break;
    case 12: {
        hsm_keygen_params p = { .type = HSM_KEY_EC, .ec_nid = NID_X9_62_prime256v1, .label = "k3", .key_domain = -1 };
        (void)hsm_token_generate(t, &p, &k);
        break;
    }
    case 13:
        if (hsm_token_find_key(t, label, NULL, 0, &k) == HSM_OK)
            (void)hsm_token_delete_key(t, &k);
        break;
    case 14:
        if (hsm_token_find_key(t, label, NULL, 0, &k) == HSM_OK)
            (void)hsm_token_public_key(t, &k, &pub);
        break;
    case 15:
        if (op & 0x10) {
            /* Not a real certificate: the card stores what it is given; the host must cope. */
            static const uint8_t cert[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
            if (hsm_token_find_key(t, label, NULL, 0, &k) == HSM_OK)
                (void)hsm_token_store_cert(t, &k, cert, sizeof(cert));
            break;
        }
        /* fall through */
    default: {
        hsm_card *c = hsm_token_lock(t);
        if (c != NULL) {
            uint16_t sw;
            (void)hsm_card_pin_status(c, HSM_PIN_USER, &sw);
            hsm_token_unlock(t, 0);
        }
        break;
    }
    }
    const char *err = hsm_token_error(t);
    FUZZ_CHECK(err == NULL || (strstr(err, PIN) == NULL && strstr(err, WRONG_PIN) == NULL),
               "the PIN never appears in an error");
    free(keys);
    free(certs);
    EVP_PKEY_free(pub);
    hsm_bytes_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 4096)
        return 0;
    size_t nops = (size_t)(data[0] % 8) + 1;
    if (size < 1 + nops)
        return 0;
    if (sim_card_load(fuzz_sim_state.data, fuzz_sim_state.len, &card) != HSM_OK)
        abort();
    removed = 0;
    in_transaction = 0;
    last_status_seen = 0;
    memset(rejected_seen, 0, sizeof(rejected_seen));
    memset(rejected_by_card, 0, sizeof(rejected_by_card));
    faults = data + 1 + nops;
    faults_end = data + size;
    /* Everything the library logs (SCHSM_DEBUG=all: APDU trace and log lines) goes to memory and
     * is searched for the PINs afterwards. */
    char *log = NULL;
    size_t log_len = 0;
    FILE *real_stderr = stderr, *mem = open_memstream(&log, &log_len);
    if (mem == NULL)
        abort();
    stderr = mem;
    hsm_token *t = NULL;
    if (hsm_token_new("fuzz", fault_open, &t) != HSM_OK)
        abort();
    for (size_t i = 0; i < nops; i++)
        run_op(t, data[1 + i]);
    hsm_token_free(t);
    stderr = real_stderr;
    fclose(mem);
    FUZZ_CHECK(log != NULL, "the log stream");
    FUZZ_CHECK(strstr(log, PIN) == NULL && strstr(log, WRONG_PIN) == NULL, "the PIN never appears in a log");
    free(log);
    sim_card_free(card);
    card = NULL;
    return 0;
}
