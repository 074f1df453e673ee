/* SPDX-License-Identifier: Apache-2.0 */
/* schsm-sim: the virtual SmartCard-HSM as a program.
 *   schsm-sim --state PATH --dump            what the card holds
 *   schsm-sim --state PATH --reset           power cycle (drops every login)
 *   schsm-sim --state PATH --firmware-update [VERSION]   wipe the card, new device key and certificate
 *   schsm-sim --state PATH --vpcd [--port N] attach the card to pcscd through vsmartcard's vpcd
 * The state file is created factory-fresh (uninitialised) on first use. */
#include "sim/card.h"
#include "sim/store.h"
#include "sim/vpcd.h"

#include "hsm/rv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: schsm-sim --state PATH (--dump | --reset | --firmware-update [VERSION] | --vpcd [--port N])\n"
            "  --state PATH  state file of the virtual card (created factory-fresh if absent)\n"
            "  --dump        print what the card holds (PIN counters, keys, files, DKEK status)\n"
            "  --reset       power-cycle the card: every process loses its login\n"
            "  --firmware-update [VERSION]  as a real firmware update: wipes keys, key domains, PINs\n"
            "                and files, gives the device a new device key and certificate from the same\n"
            "                DICA; the serial stays. VERSION is MAJOR.MINOR (default: minor + 1)\n"
            "  --vpcd        serve the card to pcscd through vsmartcard's vpcd driver\n"
            "  --port N      vpcd port (default 35963, the first vpcd slot)\n"
            "  --help        this text\n"
            "  --version     print the version\n"
            "environment: SCHSM_SIM_LATENCY_US=N adds N microseconds per APDU; SCHSM_DEBUG=apdu traces APDUs\n");
}

static const char *why(int rc)
{
    static char buf[256];
    if (rc == HSM_E_PARSE)
        return "the file is damaged or is not a schsm-sim state file (it was left untouched)";
    if (rc == HSM_E_COMM) {
        snprintf(buf, sizeof(buf), "cannot create, read or write the state file or its .lock (%s)", strerror(errno));
        return buf;
    }
    return hsm_rv_text(rc);
}

int main(int argc, char **argv)
{
    const char *state = NULL;
    int dump = 0, reset = 0, vpcd = 0, port = 35963, update = 0;
    const char *version = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("schsm-sim %s\n", SCHSM_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
            state = argv[++i];
        } else if (strcmp(argv[i], "--dump") == 0) {
            dump = 1;
        } else if (strcmp(argv[i], "--reset") == 0) {
            reset = 1;
        } else if (strcmp(argv[i], "--firmware-update") == 0) {
            update = 1;
            if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                version = argv[++i];
        } else if (strcmp(argv[i], "--vpcd") == 0) {
            vpcd = 1;
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            long p = strtol(argv[++i], &end, 10);
            if (errno || *end || p < 1 || p > 65535) {
                fprintf(stderr, "schsm-sim: --port needs a TCP port number, not '%s'\n", argv[i]);
                return 2;
            }
            port = (int)p;
        } else {
            fprintf(stderr, "schsm-sim: unknown or incomplete option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    unsigned major = 0, minor = 0;
    if (version != NULL) {
        char tail;
        if (sscanf(version, "%u.%u%c", &major, &minor, &tail) != 2 || major > 255 || minor > 255) {
            fprintf(stderr, "schsm-sim: --firmware-update takes MAJOR.MINOR (e.g. 3.6), not '%s'\n", version);
            return 2;
        }
    }
    if (state == NULL || dump + reset + vpcd + update != 1) {
        fprintf(stderr, "schsm-sim: need --state PATH and exactly one of --dump, --reset, --firmware-update, --vpcd\n");
        usage(stderr);
        return 2;
    }
    if (vpcd)
        return sim_vpcd_run(state, port);
    sim_store *s = NULL;
    errno = 0;
    int rc = sim_store_open(state, &s);
    if (rc != HSM_OK) {
        fprintf(stderr, "schsm-sim: %s: %s\n", state, why(rc));
        return 1;
    }
    if (update) {
        rc = sim_store_lock(s);
        if (rc == HSM_OK || rc == HSM_E_RESET) {
            sim_card *c = sim_store_card(s);
            if (version == NULL) {
                uint8_t fw[2];
                sim_card_firmware_version(c, fw);
                major = fw[0];
                minor = fw[1] < 255 ? fw[1] + 1u : fw[1];
            }
            rc = sim_card_firmware_update(c, (uint8_t)major, (uint8_t)minor);
            int urc = sim_store_unlock(s, 1);
            if (rc == HSM_OK)
                rc = urc;
        }
        if (rc != HSM_OK)
            fprintf(stderr, "schsm-sim: %s: firmware update failed: %s\n", state, why(rc));
        else
            printf("card in %s updated to firmware %u.%u: keys, key domains and PINs wiped, new device "
                   "certificate (serial unchanged)\n", state, major, minor);
    } else if (reset) {
        rc = sim_store_power_cycle(s);
        if (rc != HSM_OK)
            fprintf(stderr, "schsm-sim: %s: power cycle failed: %s\n", state, why(rc));
        else
            printf("card in %s power-cycled\n", state);
    } else {
        rc = sim_store_lock(s);
        if (rc == HSM_OK || rc == HSM_E_RESET) {
            hsm_bytes out = HSM_BYTES_INIT;
            rc = sim_card_dump(sim_store_card(s), &out);
            sim_store_unlock(s, 0);
            if (rc == HSM_OK)
                fwrite(out.data, 1, out.len, stdout);
            hsm_bytes_free(&out);
        }
        if (rc != HSM_OK)
            fprintf(stderr, "schsm-sim: %s: %s\n", state, why(rc));
    }
    sim_store_close(s);
    return rc == HSM_OK ? 0 : 1;
}
