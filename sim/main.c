/* SPDX-License-Identifier: Apache-2.0 */
/* schsm-sim: the virtual SmartCard-HSM as a program.
 *   schsm-sim --state PATH --dump            what the card holds
 *   schsm-sim --state PATH --reset           power cycle (drops every login)
 *   schsm-sim --state PATH --firmware-update [VERSION]   wipe the card, new device key and certificate
 *   schsm-sim --state PATH --vpcd [--port N] attach the card to pcscd through vsmartcard's vpcd
 *   schsm-sim --state PATH --firmware X.Y    the firmware version the card reports and behaves as
 * The state file is created factory-fresh (uninitialised) on first use, with the profile
 * --profile NAME or $SCHSM_SIM_PROFILE names (cardcontact when neither); the profile then stays
 * with the state file. */
#include "sim/card.h"
#include "sim/fault.h"
#include "sim/store.h"
#include "sim/vpcd.h"

#include "hsm/rv.h"
#include "sim/sim_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: schsm-sim --state PATH [--profile NAME] (--dump | --reset | --firmware-update [VERSION] |\n"
            "                 --firmware X.Y | --vpcd [--port N])\n"
            "  --state PATH  state file of the virtual card (--vpcd and --firmware create it factory-fresh if\n"
            "                absent; --dump and --reset need an existing one)\n"
            "  --profile NAME  behaviour of a card created now: cardcontact (default) or variant\n"
            "                (another SmartCard-HSM implementation); kept in the state file\n"
            "  --dump        print what the card holds (PIN counters, keys, files, DKEK status)\n"
            "  --reset       power-cycle the card: every process loses its login\n"
            "  --firmware-update [VERSION]  as a real firmware update: wipes keys, key domains, PINs\n"
            "                and files, gives the device a new device key and certificate from the same\n"
            "                DICA; the serial stays. VERSION is MAJOR.MINOR (default: minor + 1)\n"
            "  --vpcd        serve the card to pcscd through vsmartcard's vpcd driver\n"
            "  --port N      vpcd port (default 35963, the first vpcd slot)\n"
            "  --firmware X.Y  set the firmware version the card reports (default 3.5) and behaves as,\n"
            "                keeping everything on it:\n"
            "                3.1 answers 6F00 to UNWRAP KEY of keys exported with an algorithm list\n"
            "  --help        this text\n"
            "  --version     print the version\n"
            "environment: SCHSM_SIM_LATENCY_US=N adds N microseconds per APDU; SCHSM_DEBUG=apdu traces APDUs;\n"
            "  SCHSM_SIM_PROFILE=NAME as --profile (also for sim: readers of the provider and schsm-tool);\n"
            "  SCHSM_SIM_FIRMWARE=X.Y sets the firmware version of a card created on first use (also sim: readers)\n"
            "  SCHSM_SIM_FAULT=RULE[,RULE...] injects faults, for sim: readers and --vpcd. RULE is one of\n"
            "    apdu=N:sw=XXXX   the Nth command APDU is not executed; the card answers XXXX\n"
            "    apdu=N:truncate  executed; only the first half of the response arrives\n"
            "    apdu=N:garbage   executed; the response is replaced by random bytes\n"
            "    apdu=N:remove    not executed; the card is pulled (--vpcd: the connection drops and is\n"
            "                     made again, a re-insertion)\n"
            "    apdu=N:reset     the card is reset just before the command, which meets the fresh card\n"
            "    apdu=N:delay=MS  the answer comes MS milliseconds later\n"
            "    write=N:enospc, write=N:eio  the Nth state-file write fails (the change is lost)\n"
            "    fsync=N:fail     the Nth fsync of the state file fails (the change is lost)\n"
            "  N counts from 1 per process (per vpcd connection with --vpcd); p=0.01 in place of N fires\n"
            "  with that probability (seed: SCHSM_SIM_FAULT_SEED). Each fault is said on stderr.\n");
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
    const char *state = NULL, *profile = NULL;
    int dump = 0, reset = 0, vpcd = 0, port = 35963, update = 0, setfw = 0;
    const char *version = NULL;
    uint8_t fw_major = 0, fw_minor = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("schsm-sim %s\n", SCHSM_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
            state = argv[++i];
        } else if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            profile = argv[++i];
            if (sim_profile_by_name(profile) < 0) {
                fprintf(stderr, "schsm-sim: unknown profile '%s' (use cardcontact or variant)\n", profile);
                return 2;
            }
        } else if (strcmp(argv[i], "--dump") == 0) {
            dump = 1;
        } else if (strcmp(argv[i], "--reset") == 0) {
            reset = 1;
        } else if (strcmp(argv[i], "--firmware") == 0 && i + 1 < argc) {
            if (!sim_fw_parse(argv[++i], &fw_major, &fw_minor)) {
                fprintf(stderr, "schsm-sim: --firmware needs a version MAJOR.MINOR such as 3.1, not '%s'\n", argv[i]);
                return 2;
            }
            setfw = 1;
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
    const char *faults = getenv("SCHSM_SIM_FAULT");
    char fwhy[256];
    if (faults != NULL && *faults != '\0' && sim_fault_parse_check(faults, fwhy, sizeof(fwhy)) != 0) {
        fprintf(stderr, "schsm-sim: %s\n", fwhy);
        return 2;
    }
    unsigned major = 0, minor = 0;
    if (version != NULL) {
        char tail;
        if (sscanf(version, "%u.%u%c", &major, &minor, &tail) != 2 || major > 255 || minor > 255) {
            fprintf(stderr, "schsm-sim: --firmware-update takes MAJOR.MINOR (e.g. 3.6), not '%s'\n", version);
            return 2;
        }
    }
    if (state == NULL || dump + reset + vpcd + update + setfw != 1) {
        fprintf(stderr, "schsm-sim: need --state PATH and exactly one of --dump, --reset, --firmware-update, --firmware, --vpcd\n");
        usage(stderr);
        return 2;
    }
    if (profile != NULL) {
        setenv("SCHSM_SIM_PROFILE", profile, 1);   /* what a card created below gets */
    } else if (sim_profile_from_env() < 0) {
        fprintf(stderr, "schsm-sim: SCHSM_SIM_PROFILE='%s' is no profile (use cardcontact or variant)\n",
                getenv("SCHSM_SIM_PROFILE"));
        return 2;
    }
    if (vpcd)
        return sim_vpcd_run(state, port);
    /* Looking at or resetting a card never makes one: a mistyped path must not leave a new card
     * and a .lock file behind. */
    struct stat st;
    if (stat(state, &st) != 0) {
        fprintf(stderr, "schsm-sim: %s: no such state file (%s); check the path, or create a card with "
                "'schsm-sim --state PATH --vpcd' or 'schsm-tool --reader sim:PATH init'\n", state, strerror(errno));
        return 1;
    }
    if (S_ISREG(st.st_mode) && st.st_size == 0) {
        fprintf(stderr, "schsm-sim: %s: the state file is empty (0 bytes), so it holds no card; delete it "
                "to start a factory-fresh card\n", state);
        return 1;
    }
    sim_store *s = NULL;
    errno = 0;
    int rc = sim_store_open(state, &s);
    if (rc != HSM_OK) {
        fprintf(stderr, "schsm-sim: %s: %s\n", state, why(rc));
        return 1;
    }
    if (setfw) {
        rc = sim_store_lock(s);
        if (rc == HSM_OK || rc == HSM_E_RESET) {
            sim_card *c = sim_store_card(s);
            c->fw_major = fw_major;
            c->fw_minor = fw_minor;
            rc = sim_store_unlock(s, 1);
        }
        if (rc != HSM_OK)
            fprintf(stderr, "schsm-sim: %s: cannot set the firmware version: %s\n", state, why(rc));
        else
            printf("card in %s now reports firmware %u.%u\n", state, fw_major, fw_minor);
    } else if (update) {
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
            if (profile != NULL && sim_card_profile(sim_store_card(s)) != sim_profile_by_name(profile))
                fprintf(stderr, "schsm-sim: note: %s holds a %s card; --profile applies only when a card is "
                        "created\n", state, sim_profile_name(sim_card_profile(sim_store_card(s))));
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
