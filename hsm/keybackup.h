/* SPDX-License-Identifier: Apache-2.0 */
/* Key backup transactions on a token: wrap a key into sc-hsm-tool's wrapped-key file, find the
 * key domain whose DKEK a wrapped key needs, and unwrap a file into the card as one transaction
 * (free key reference, UNWRAP, proof that the key on the card is the key of the file's request,
 * description and certificate; on any failure everything written is removed again).
 * The file formats and the DKEK crypto live in hsm/dkek.h; this header is the card side that
 * schsm-tool, the provider and the tests share. Callers log in (user PIN) before wrap/unwrap. */
#ifndef HSM_KEYBACKUP_H
#define HSM_KEYBACKUP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "hsm/bytes.h"
#include "hsm/dkek.h"
#include "hsm/pkcs15.h"
#include "hsm/token.h"

#define HSM_KB_MAX_DOMAINS 64
#define HSM_KB_FILE_MAX 65536      /* largest wrapped-key file read */

/* Why a backup operation stopped (hsm_kb_result.reason). */
enum hsm_kb_reason {
    HSM_KB_OK = 0,
    HSM_KB_BAD_FILE,        /* not a wrapped-key file, or its description/request is malformed */
    HSM_KB_BAD_REQUEST,     /* the request in the file does not verify with its own public key */
    HSM_KB_NO_DKEK,         /* the card has no key domain with a DKEK */
    HSM_KB_DKEK_INCOMPLETE, /* the matching domain (by KCV) ... or any domain still misses shares */
    HSM_KB_WRONG_DKEK,      /* no domain holds the DKEK the key was wrapped with */
    HSM_KB_CLASH,           /* a key with the same label or ID exists (and replace was not asked) */
    HSM_KB_PRESENT,         /* the same key (same public key) is on the card already */
    HSM_KB_NO_SLOT,         /* no free key reference */
    HSM_KB_REFUSED,         /* the card refused UNWRAP although the KCV matched */
    HSM_KB_FW_BUG,          /* firmware 3.1 refusing keys with an algorithm list (6F00) */
    HSM_KB_MISMATCH,        /* the key on the card is not the key of the file's request */
    HSM_KB_CARD,            /* any other card or token failure (see why) */
};

typedef struct {
    int reason;                 /* enum hsm_kb_reason */
    uint16_t sw;                /* the card's status word when the card refused something */
    char why[512];              /* a sentence for people: what happened, what to do */
} hsm_kb_result;

/* ---- key domains ---- */

typedef struct {
    int present;                /* 0 = the domain slot is empty (6A88) */
    hsm_dkek_status st;
} hsm_kb_domain;

/* Reads the status of every key domain (80 52 00 P2 until the card says there are no more).
 * n receives the number of slots read (0 when the card has no key domains at all). */
int hsm_kb_domains(hsm_card *c, hsm_kb_domain *doms, size_t cap, size_t *n);

/* Key domain whose complete DKEK has KCV kcv: its index, or -1 with reason NO_DKEK, WRONG_DKEK
 * or DKEK_INCOMPLETE and a message naming what the card holds (and which domain misses how many
 * shares). Nothing is changed. */
int hsm_kb_domain_for_kcv(const hsm_kb_domain *doms, size_t n, const uint8_t kcv[8], hsm_kb_result *r);

/* What SELECT of a key file CCnn tells about the key (FCP proprietary tag A5: 91 algorithm list,
 * 92 key domain, 90 use counter). Cards that answer without A5 leave known = 0 (then the domain
 * is unknown, and the algorithm list is seen only in a wrapped blob). */
typedef struct {
    int known;
    int has_algs;
    uint8_t algs[16];
    size_t nalgs;
    int domain;                 /* -1 when the FCP does not say */
} hsm_kb_key_meta;
int hsm_kb_key_meta_read(hsm_card *c, uint8_t ref, hsm_kb_key_meta *m);

/* ---- wrap ---- */

/* WRAP KEY of key ref plus its C4nn and CEnn as one sc-hsm-tool file in out. have_prkd/have_cert
 * (may be NULL) tell what went in; a certificate without a description is left out (*cert_dropped). */
typedef struct {
    hsm_wrapped_hdr hdr;        /* points into the file in out */
    int have_prkd, have_cert, cert_dropped;
} hsm_kb_wrap_info;
int hsm_kb_wrap(hsm_token *t, uint8_t key_ref, hsm_bytes *out, hsm_kb_wrap_info *info, hsm_kb_result *r);

/* ---- unwrap ---- */

typedef struct {
    const char *label;          /* store under this label instead of the file's (NULL = file's) */
    const uint8_t *id;          /* and this ID (NULL = file's) */
    size_t id_len;
    int replace;                /* delete keys with the same label/ID once the new key is complete */
    int skip_present;           /* a key with the same public key on the card: HSM_KB_PRESENT, no change */
    int dry_run;                /* stop after the host checks (present, clashes): nothing is sent */
} hsm_kb_unwrap_opts;

typedef struct {
    uint8_t key_ref;            /* where the key went */
    hsm_prkd prkd;              /* the description written (label/ID as stored) */
    int have_prkd, have_cert;
    int checked;                /* 1 = a signature by the new key verified with the request's public key */
    size_t replaced;            /* keys deleted because of --replace */
    uint8_t clash_refs[255];    /* keys with the same label or ID */
    char clash_labels[4][HSM_LABEL_MAX];
    size_t nclash;
    uint8_t present_ref;        /* HSM_KB_PRESENT: the key already on the card */
    hsm_wrapped_hdr hdr;        /* header of the blob (points into the caller's file) */
} hsm_kb_unwrap_info;

/* The parsed parts of a wrapped-key file and the public key of its request (NULL when the file
 * holds none). pub is checked against the request's self-signature. HSM_E_PARSE (bad file),
 * HSM_E_VERIFY (request does not verify: reason BAD_REQUEST). The caller frees *pub. */
int hsm_kb_file_open(const uint8_t *file, size_t len, hsm_wrapped_file *wf, hsm_wrapped_hdr *hdr,
                     hsm_prkd *prkd, int *have_prkd, EVP_PKEY **pub, hsm_kb_result *r);

/* The whole transaction. Returns HSM_OK only when the key, its description and its certificate
 * are on the card and the key proved to belong to the request's public key (when the file has
 * one: info->checked). Otherwise nothing of the new key is left on the card and r says why. */
int hsm_kb_unwrap(hsm_token *t, const uint8_t *file, size_t len, const hsm_kb_unwrap_opts *o,
                  hsm_kb_unwrap_info *info, hsm_kb_result *r);

/* Key reference of a key on the card with the same public key as pub (0 = none). Costs one read
 * of CEnn per key not yet cached. */
int hsm_kb_find_same_key(hsm_token *t, EVP_PKEY *pub, uint8_t *ref);

/* Proves that key ref on the card holds the private key of pub: one signature made on the card
 * over random data, verified on the host. algs/algs_len: the key's algorithm list (the check
 * uses an algorithm it allows). HSM_OK, HSM_E_VERIFY (another key), HSM_E_UNSUPPORTED (the list
 * allows no signature the host can check), or a card error (inside hsm_token_lock). */
int hsm_kb_prove_key(hsm_card *c, uint8_t ref, EVP_PKEY *pub, const uint8_t *algs, size_t algs_len);

/* Deletes CCnn, C4nn, CEnn, CBnn of ref (best effort; absent files are fine). */
void hsm_kb_delete_files(hsm_card *c, uint8_t ref);

/* Removes the key ref completely (a test copy made by hsm_kb_unwrap), as one change to the key
 * set: logs in with the held PIN when needed, deletes its files, re-selects. HSM_OK only when the
 * key file is gone. */
int hsm_kb_remove_key(hsm_token *t, uint8_t ref);

/* Sets r->reason and r->why (printf style). */
void hsm_kb_fail(hsm_kb_result *r, int reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
