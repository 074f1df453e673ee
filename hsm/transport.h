/* SPDX-License-Identifier: Apache-2.0 */
/* The transport interface: how hsm/ reaches a card. The PC/SC transport (pcsc.c) lives
 * here; sim/ supplies one of the same shape for its in-process card. hsm/ never includes sim/. */
#ifndef HSM_TRANSPORT_H
#define HSM_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct hsm_transport hsm_transport;

struct hsm_transport_ops {
    /* Sends one encoded command APDU and receives the response including SW1 SW2.
     * *resp_len is the capacity on entry and the length on return.
     * Returns HSM_OK, HSM_E_RESET (the card was reset by someone else; the command was not
     * executed, the transport has reconnected), HSM_E_NO_CARD or HSM_E_COMM. */
    int (*transmit)(hsm_transport *t, const uint8_t *cmd, size_t cmd_len,
                    uint8_t *resp, size_t *resp_len);
    /* Exclusive access for one logical operation (PC/SC transaction, file lock for the sim).
     * Returns HSM_OK, or HSM_E_RESET when the card was reset or replaced since the previous
     * transaction (the transaction is then held all the same), or HSM_E_NO_CARD / HSM_E_COMM. */
    int (*begin)(hsm_transport *t);
    void (*end)(hsm_transport *t);
    /* Warm reset of the card (drops its security state). */
    int (*reset)(hsm_transport *t);
    /* The card's ATR; returns its length or 0. */
    size_t (*atr)(hsm_transport *t, uint8_t *out, size_t cap);
    void (*close)(hsm_transport *t);
};

struct hsm_transport {
    const struct hsm_transport_ops *ops;
    char reader[256];   /* reader name as the user sees it */
};

/* PC/SC (pcsc-lite). reader_match is a case-insensitive substring of the reader name, or NULL
 * for "the first reader that holds a SmartCard-HSM". On HSM_E_AMBIGUOUS / HSM_E_NO_READER the
 * list of readers seen is written to why (may be NULL). */
int hsm_pcsc_open(const char *reader_match, hsm_transport **out, char *why, size_t why_len);

/* The reader-name rule of the design: case-insensitive substring (an empty spec matches all). */
int hsm_reader_matches(const char *reader_name, const char *spec);

/* Lists PC/SC reader names (NUL separated, double-NUL terminated, malloc'd). */
int hsm_pcsc_list(char **names);

#endif
