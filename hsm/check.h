/* SPDX-License-Identifier: Apache-2.0 */
/* The card check: every key reference with its files, and what is wrong with them.
 *
 * A key reference nn owns up to four files: the key CCnn, its description (PRKD) C4nn, its
 * public key or certificate CEnn (the card writes the CV request there when it generates the
 * key), and the request kept aside in CBnn when a certificate replaced it. Interrupted operations
 * and other tools leave some of them behind (OpenSC's pkcs11-tool --delete-object leaves CEnn,
 * in either order of deletion). The scan reads only; the repair removes orphan files and fixes
 * what can be fixed without choosing for the owner, and never deletes a key (CCnn). */
#ifndef HSM_CHECK_H
#define HSM_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "hsm/pkcs15.h"
#include "hsm/token.h"

/* Files present for a key reference */
enum {
    HSM_CHECK_KEY = 1u << 0,    /* CCnn */
    HSM_CHECK_DESC = 1u << 1,   /* C4nn */
    HSM_CHECK_PUB = 1u << 2,    /* CEnn */
    HSM_CHECK_REQ = 1u << 3,    /* CBnn */
};

/* Findings */
enum {
    HSM_CHECK_ORPHAN = 1u << 0,          /* files without the key: repair removes them */
    HSM_CHECK_NO_DESC = 1u << 1,         /* key without description (incomplete: OpenSC hides it);
                                          * repair describes it when its public key is known */
    HSM_CHECK_BAD_DESC = 1u << 2,        /* C4nn does not decode */
    HSM_CHECK_ID_MISMATCH = 1u << 3,     /* the description's ID is not OpenSC's ID of the public key
                                          * (a warning: an ID given on purpose differs too) */
    HSM_CHECK_CERT_MISMATCH = 1u << 4,   /* the certificate in CEnn is for another public key */
    HSM_CHECK_PUB_MISSING = 1u << 5,     /* CEnn gone but CBnn kept: repair copies CBnn back */
    HSM_CHECK_BAD_PUB = 1u << 6,         /* CEnn/CBnn does not decode */
};

typedef struct {
    uint8_t ref;
    unsigned files;              /* HSM_CHECK_KEY ... */
    unsigned findings;           /* HSM_CHECK_ORPHAN ... */
    int have_desc;
    hsm_prkd desc;               /* when have_desc */
    int pub_is_cert;             /* CEnn holds an X.509 certificate (else a CV request) */
    int have_pub_id;
    uint8_t pub_id[20];          /* OpenSC's ID of the key's public key */
    enum hsm_key_type pub_type;  /* of that public key */
    unsigned pub_bits;
} hsm_check_entry;

typedef struct {
    hsm_check_entry *entries;    /* by key reference, ascending */
    size_t n;
    long free_memory;            /* bytes, from the device information; -1 when the card gives none */
    size_t problems;             /* entries with findings other than HSM_CHECK_ID_MISMATCH */
    size_t warnings;             /* entries with HSM_CHECK_ID_MISMATCH */
} hsm_check_report;

/* Reads the card (ENUMERATE, each C4nn/CEnn/CBnn, device information). No PIN needed. */
int hsm_check_scan(hsm_token *t, hsm_check_report *r);
/* Only which files exist (one ENUMERATE): findings HSM_CHECK_ORPHAN and HSM_CHECK_NO_DESC. */
int hsm_check_scan_files(hsm_token *t, hsm_check_report *r);
void hsm_check_report_free(hsm_check_report *r);

/* Does the repair fix something in e? */
int hsm_check_repairable(const hsm_check_entry *e);

/* One repair step, reported through cb (may be NULL) as it is done. */
typedef void (*hsm_check_step_fn)(void *arg, uint8_t ref, const char *what, int rc);
/* Repairs the entries of r (from hsm_check_scan, just before): orphan files removed (description
 * first), a key without description described (label "recovered-key-NN", OpenSC's ID, from its
 * public key), CEnn restored from CBnn. Never deletes a key. Needs the user PIN (held, or the
 * card logged in). Returns the number of steps that failed (0 = all done), or a negative HSM_E_*
 * when the card could not be reached (hsm_token_error() says why). */
int hsm_check_repair(hsm_token *t, const hsm_check_report *r, hsm_check_step_fn cb, void *arg);

/* A word for each finding, for people and JSON. */
const char *hsm_check_finding_name(unsigned finding);

#endif
