/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer. Every buffer that may hold a secret is cleansed on free,
 * so one type serves both public and secret data. */
#ifndef HSM_BYTES_H
#define HSM_BYTES_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
    int oom;    /* sticky: set when an append failed; later appends are no-ops */
} hsm_bytes;

#define HSM_BYTES_INIT { NULL, 0, 0, 0 }

int hsm_bytes_reserve(hsm_bytes *b, size_t extra);
int hsm_bytes_put(hsm_bytes *b, const void *p, size_t n);
int hsm_bytes_put_u8(hsm_bytes *b, uint8_t v);
int hsm_bytes_put_u16(hsm_bytes *b, uint16_t v);   /* big endian */
int hsm_bytes_put_u32(hsm_bytes *b, uint32_t v);   /* big endian */
int hsm_bytes_set(hsm_bytes *b, const void *p, size_t n);  /* replace contents */
void hsm_bytes_clear(hsm_bytes *b);                 /* cleanse, keep allocation */
void hsm_bytes_free(hsm_bytes *b);                  /* cleanse and release */

/* Hex helpers used by tools and tests; hsm_hex_decode accepts ':' and ' ' separators. */
int hsm_hexval(int c);                              /* value of one hex digit, -1 if none */
int hsm_hex_decode(const char *hex, hsm_bytes *out);
char *hsm_hex_encode(const uint8_t *p, size_t n);   /* lowercase, malloc'd */

#endif
