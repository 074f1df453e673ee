/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper (built by the integration tests with cc, not by CMake): one long-lived process that
 * loads a card key through the schsm provider and signs COUNT random messages, in THREADS threads,
 * verifying every signature with the public key from a PEM file in a separate library context
 * that holds only the default provider. Exit 0 only when every signature was made and verifies.
 *
 *   signloop PROVIDER_DIR URI PUBKEY_PEM COUNT [THREADS]
 *
 * With COUNT "-" it reads commands from stdin, one per line, and answers each with "ok N" or
 * "failed N" on stdout (errors on stderr), so a test can act on the card between operations:
 *   sign            sign and verify once with the key loaded so far
 *   load PUBKEY_PEM open URI again (a fresh store lookup in the same process) and use PUBKEY_PEM
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/store.h>

static EVP_PKEY *card_key;
static EVP_PKEY *pub_key;
static OSSL_LIB_CTX *verify_ctx;
static int count;

static int sign_and_verify(int seq)
{
    unsigned char msg[64], sig[1024];
    size_t siglen = sizeof(sig);
    int ok = 0;
    if (RAND_bytes(msg, sizeof(msg)) != 1)
        return 0;
    EVP_MD_CTX *s = EVP_MD_CTX_new();
    EVP_MD_CTX *v = EVP_MD_CTX_new();
    if (s == NULL || v == NULL)
        goto done;
    if (EVP_DigestSignInit_ex(s, NULL, "SHA256", NULL, NULL, card_key, NULL) != 1
        || EVP_DigestSign(s, sig, &siglen, msg, sizeof(msg)) != 1) {
        fprintf(stderr, "signature %d: signing failed\n", seq);
        ERR_print_errors_fp(stderr);
        goto done;
    }
    if (EVP_DigestVerifyInit_ex(v, NULL, "SHA256", verify_ctx, NULL, pub_key, NULL) != 1
        || EVP_DigestVerify(v, sig, siglen, msg, sizeof(msg)) != 1) {
        fprintf(stderr, "signature %d: does not verify\n", seq);
        ERR_print_errors_fp(stderr);
        goto done;
    }
    ok = 1;
done:
    EVP_MD_CTX_free(s);
    EVP_MD_CTX_free(v);
    return ok;
}

static void *worker(void *arg)
{
    int id = (int)(long)arg, good = 0;
    for (int i = 0; i < count; i++)
        good += sign_and_verify(id * 100000 + i);
    return (void *)(long)good;
}

static EVP_PKEY *load_pub(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return NULL;
    }
    EVP_PKEY *pk = PEM_read_PUBKEY_ex(f, NULL, NULL, NULL, verify_ctx, NULL);
    fclose(f);
    return pk;
}

static EVP_PKEY *load_card_key(const char *uri)
{
    EVP_PKEY *pk = NULL;
    OSSL_STORE_CTX *st = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    if (st == NULL)
        return NULL;
    while (pk == NULL && !OSSL_STORE_eof(st)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(st);
        if (info != NULL && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            pk = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(st);
    return pk;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s PROVIDER_DIR URI PUBKEY_PEM COUNT [THREADS]\n", argv[0]);
        return 2;
    }
    int interactive = strcmp(argv[4], "-") == 0;
    count = interactive ? 1 : atoi(argv[4]);
    int threads = argc > 5 ? atoi(argv[5]) : 1;
    if (count <= 0 || threads <= 0 || threads > 64)
        return 2;

    OSSL_PROVIDER_set_default_search_path(NULL, argv[1]);
    if (OSSL_PROVIDER_load(NULL, "schsm") == NULL || OSSL_PROVIDER_load(NULL, "default") == NULL) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    verify_ctx = OSSL_LIB_CTX_new();
    if (verify_ctx == NULL || OSSL_PROVIDER_load(verify_ctx, "default") == NULL)
        return 1;
    pub_key = load_pub(argv[3]);
    card_key = load_card_key(argv[2]);
    if (pub_key == NULL || card_key == NULL) {
        fprintf(stderr, "cannot load %s\n", pub_key == NULL ? "the public key" : "the card key");
        ERR_print_errors_fp(stderr);
        return 1;
    }

    if (interactive) {
        char line[256];
        int seq = 0;
        setvbuf(stdout, NULL, _IOLBF, 0);
        while (fgets(line, sizeof(line), stdin) != NULL) {
            seq++;
            line[strcspn(line, "\r\n")] = 0;
            int ok = 0;
            if (strncmp(line, "load ", 5) == 0) {
                EVP_PKEY *np = load_pub(line + 5), *nk = load_card_key(argv[2]);
                ok = np != NULL && nk != NULL;
                if (!ok) {
                    fprintf(stderr, "command %d: cannot load the keys\n", seq);
                    ERR_print_errors_fp(stderr);
                    EVP_PKEY_free(np);
                    EVP_PKEY_free(nk);
                } else {
                    EVP_PKEY_free(pub_key);
                    EVP_PKEY_free(card_key);
                    pub_key = np;
                    card_key = nk;
                }
            } else {
                ok = sign_and_verify(seq);
            }
            printf("%s %d\n", ok ? "ok" : "failed", seq);
        }
        EVP_PKEY_free(card_key);
        EVP_PKEY_free(pub_key);
        OSSL_LIB_CTX_free(verify_ctx);
        return 0;
    }

    pthread_t tid[64];
    long good = 0;
    for (int t = 0; t < threads; t++)
        if (pthread_create(&tid[t], NULL, worker, (void *)(long)t) != 0)
            return 1;
    for (int t = 0; t < threads; t++) {
        void *r = NULL;
        pthread_join(tid[t], &r);
        good += (long)r;
    }
    long want = (long)count * threads;
    printf("%ld of %ld signatures made and verified\n", good, want);
    EVP_PKEY_free(card_key);
    EVP_PKEY_free(pub_key);
    OSSL_LIB_CTX_free(verify_ctx);
    return good == want ? 0 : 1;
}
