/* SPDX-License-Identifier: Apache-2.0 */
/* Signs N times in one process with a card key through the schsm provider, verifying each
 * signature with the default provider. Used to measure the APDU cost of repeated signatures:
 *   SCHSM_DEBUG=apdu SCHSM_DEBUG_FILE=trace ./sign_loop MODULE_DIR URI [N]
 * See bench/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/store.h>

static EVP_PKEY *load_key(OSSL_LIB_CTX *lib, const char *uri)
{
    OSSL_STORE_CTX *st = OSSL_STORE_open_ex(uri, lib, NULL, NULL, NULL, NULL, NULL, NULL);
    EVP_PKEY *k = NULL;
    if (st == NULL)
        return NULL;
    OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY);
    while (k == NULL && !OSSL_STORE_eof(st)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(st);
        if (info != NULL && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            k = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(st);
    return k;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODULE_DIR URI [N]\n", argv[0]);
        return 2;
    }
    int n = argc > 3 ? atoi(argv[3]) : 100;
    OSSL_LIB_CTX *lib = OSSL_LIB_CTX_new();
    OSSL_PROVIDER_set_default_search_path(lib, argv[1]);
    OSSL_PROVIDER *schsm = OSSL_PROVIDER_load(lib, "schsm");
    OSSL_PROVIDER *def = OSSL_PROVIDER_load(lib, "default");
    EVP_PKEY *key = schsm != NULL && def != NULL ? load_key(lib, argv[2]) : NULL;
    if (key == NULL) {
        ERR_print_errors_fp(stderr);
        return 1;
    }
    static const unsigned char msg[] = "schsm benchmark message";
    unsigned char sig[1024];
    int ok = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        size_t len = sizeof(sig);
        if (m != NULL && EVP_DigestSignInit_ex(m, NULL, "SHA256", lib, NULL, key, NULL) == 1 &&
            EVP_DigestSign(m, sig, &len, msg, sizeof(msg)) == 1) {
            EVP_MD_CTX *v = EVP_MD_CTX_new();
            if (v != NULL && EVP_DigestVerifyInit_ex(v, NULL, "SHA256", lib, NULL, key, NULL) == 1 &&
                EVP_DigestVerify(v, sig, len, msg, sizeof(msg)) == 1)
                ok++;
            EVP_MD_CTX_free(v);
        }
        EVP_MD_CTX_free(m);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("%d of %d signatures verified, %.1f ms total, %.2f ms per signature\n", ok, n, ms, ms / n);
    ERR_print_errors_fp(stderr);
    EVP_PKEY_free(key);
    OSSL_PROVIDER_unload(def);
    OSSL_PROVIDER_unload(schsm);
    OSSL_LIB_CTX_free(lib);
    return ok == n ? 0 : 1;
}
