/* SPDX-License-Identifier: Apache-2.0 */
#include "hsm/sw.h"

#include <stddef.h>
#include <stdio.h>

/* One row per (SW, command) pair that needs its own advice; ins 0 = any command.
 * The lookup takes the first row whose SW matches and whose ins is the command's or 0,
 * so command-specific rows come before the generic one for the same SW. */
struct sw_row {
    uint16_t sw;
    uint8_t ins;
    const char *text;
};

#define INS_VERIFY 0x20
#define INS_CHANGE 0x24
#define INS_RRC 0x2C
#define INS_GAKP 0x46
#define INS_GSK 0x48
#define INS_INIT 0x50
#define INS_KEYDOMAIN 0x52
#define INS_SIGN 0x68
#define INS_DECIPHER 0x62
#define INS_WRAP 0x72
#define INS_UNWRAP 0x74
#define INS_SELECT 0xA4
#define INS_READ 0xB1
#define INS_UPDATE 0xD7
#define INS_DELETE 0xE4

static const struct sw_row rows[] = {
    { 0x9000, 0, "success" },
    { 0x6282, 0, "end of file reached before the requested length (data returned; not an error)" },

    { 0x6700, 0, "wrong length: the card rejected the command's size; the input is too long or too "
                 "short for this key (hash or cryptogram length), or the reader cannot carry it" },

    { 0x6900, INS_INIT, "initialisation refused: the SO-PIN (initialization code) is wrong; "
                        "give the SO-PIN set when the card was first initialised" },
    { 0x6900, 0, "command not allowed in the card's current state; check that the card is "
                 "initialised and the applet is selected, then retry" },
    { 0x6985, INS_INIT, "initialisation refused: the SO-PIN (initialization code) is wrong; "
                        "give the SO-PIN set when the card was first initialised" },
    { 0x6985, INS_RRC, "PIN reset refused: the card was initialised without permission to reset "
                       "the PIN with the SO-PIN; re-initialise it with that option" },
    { 0x6985, INS_KEYDOMAIN, "key domain operation not allowed now (all shares already imported, "
                             "or the domain still holds keys)" },
    { 0x6985, 0, "conditions of use not satisfied: the key or card does not allow this operation "
                 "now (algorithm not allowed for the key, or state not suitable)" },
    { 0x6986, INS_INIT, "initialisation refused: the SO-PIN (initialization code) is wrong; "
                        "give the SO-PIN set when the card was first initialised" },
    { 0x6986, INS_RRC, "PIN reset refused: the card was initialised without permission to reset "
                       "the PIN with the SO-PIN; re-initialise it with that option" },
    { 0x6986, INS_KEYDOMAIN, "key domain operation not allowed: all DKEK shares are already "
                             "imported; re-initialise the card to start over" },
    { 0x6986, 0, "command not allowed: no current file or the card forbids it in this state; "
                 "check the card's configuration" },

    { 0x6982, INS_READ, "access denied: this file cannot be read (key files never, private data "
                        "objects only after the user PIN is verified); verify the PIN first" },
    { 0x6982, 0, "PIN not verified: the card needs the user PIN for this; log in with the PIN "
                 "(another program may have logged out the card by re-selecting it) and retry" },

    { 0x6983, INS_VERIFY, "PIN blocked: unblock it with the SO-PIN (schsm-tool unblock-pin)" },
    { 0x6983, INS_CHANGE, "PIN blocked: unblock it with the SO-PIN (schsm-tool unblock-pin); "
                          "if this is the SO-PIN, it is blocked for good and the card must be replaced" },
    { 0x6983, INS_RRC, "SO-PIN blocked: the PIN can no longer be reset with it; the card "
                       "cannot be re-initialised either" },
    { 0x6983, INS_INIT, "SO-PIN blocked: the card can no longer be re-initialised" },
    { 0x6983, 0, "PIN blocked: unblock it with the SO-PIN (schsm-tool unblock-pin)" },

    { 0x6984, INS_VERIFY, "transport PIN still set: change it first (schsm-tool change-pin) "
                          "before the PIN can be used" },
    { 0x6984, INS_SIGN, "key use counter exhausted: this key may not be used any more; "
                        "generate a new key" },
    { 0x6984, INS_DECIPHER, "key use counter exhausted: this key may not be used any more; "
                            "generate a new key" },
    { 0x6984, 0, "reference data not usable: the transport PIN must be changed first "
                 "(schsm-tool change-pin), or the key's use counter is exhausted" },

    { 0x6A80, INS_VERIFY, "PIN length out of range: the user PIN has 6 to 16 characters" },
    { 0x6A80, INS_CHANGE, "PIN length out of range: the user PIN has 6 to 16 characters, the "
                          "SO-PIN exactly 16 hex digits" },
    { 0x6A80, INS_RRC, "PIN or SO-PIN has the wrong length: the SO-PIN is 16 hex digits, the "
                       "user PIN 6 to 16 characters" },
    { 0x6A80, INS_DECIPHER, "decryption failed: the cryptogram does not belong to this key or "
                            "is corrupt" },
    { 0x6A80, INS_UNWRAP, "wrapped key rejected: it was made with a different DKEK (check the "
                          "key check value) or the blob is corrupt" },
    { 0x6A80, 0, "incorrect data in the command: the card rejected the input; check its format "
                 "and length" },

    { 0x6A81, INS_SIGN, "algorithm not allowed for this key: the key was generated with an "
                        "algorithm list that excludes it; use an allowed algorithm or another key" },
    { 0x6A81, INS_DECIPHER, "algorithm not allowed for this key: the key was generated with an "
                            "algorithm list that excludes it; use an allowed algorithm or another key" },
    { 0x6A81, INS_WRAP, "key export not allowed: the key's algorithm list does not permit "
                        "wrapping; it cannot be backed up" },
    { 0x6A81, 0, "function not supported or algorithm not allowed for this key; use another "
                 "algorithm or another key" },

    { 0x6A82, INS_SIGN, "key not found on the card: it was deleted or replaced; list the keys "
                        "again (schsm-tool list)" },
    { 0x6A82, INS_DECIPHER, "key not found on the card: it was deleted or replaced; list the keys "
                            "again (schsm-tool list)" },
    { 0x6A82, INS_WRAP, "key not found on the card: check the key reference (schsm-tool list)" },
    { 0x6A82, 0, "file or key not found on the card; list the objects again (schsm-tool list)" },

    { 0x6A84, 0, "card memory full: delete keys or certificates you no longer need" },
    { 0x6A86, INS_KEYDOMAIN, "no such key domain: the card has fewer key domains; check the "
                             "domain number" },
    { 0x6A86, 0, "incorrect parameters P1/P2: the key reference, algorithm or option is not "
                 "valid for this card; check them" },

    { 0x6A88, INS_VERIFY, "card not initialised: run schsm-tool init" },
    { 0x6A88, INS_CHANGE, "card not initialised: run schsm-tool init" },
    { 0x6A88, INS_KEYDOMAIN, "no DKEK or key domain set up: initialise the card with DKEK "
                             "shares (schsm-tool init --dkek-shares N)" },
    { 0x6A88, INS_WRAP, "no DKEK set up: initialise the card with DKEK shares and import them "
                        "before wrapping keys" },
    { 0x6A88, INS_UNWRAP, "no DKEK set up: initialise the card with DKEK shares and import them "
                          "before unwrapping keys" },
    { 0x6A88, 0, "referenced data not found: the card is not initialised (run schsm-tool init), "
                 "or the key domain or public key is unknown" },

    { 0x6A89, INS_KEYDOMAIN, "key domain still holds keys: delete them first" },
    { 0x6A89, 0, "file already exists: delete it first or choose another ID" },

    { 0x6D00, INS_KEYDOMAIN, "no DKEK support set up on this card (or firmware too old): "
                             "initialise it with DKEK shares" },
    { 0x6D00, INS_WRAP, "key wrapping not set up on this card: initialise it with DKEK shares" },
    { 0x6D00, INS_RRC, "this firmware cannot reset the PIN with the SO-PIN" },
    { 0x6D00, 0, "instruction not supported: the SmartCard-HSM applet is not selected (another "
                 "program reset the card?) or the firmware is too old; retry" },
    { 0x6E00, 0, "class not supported: the SmartCard-HSM applet is not selected (the card was "
                 "reset or is not a SmartCard-HSM); retry" },
    /* Firmware 3.1 answers 6F00 to UNWRAP whenever the blob carries an algorithm list. */
    { 0x6F00, INS_UNWRAP, "the card's firmware (3.1) cannot import keys with an algorithm list; "
                          "wrap the key again without an algorithm list or update the firmware" },
    { 0x6F00, 0, "internal card error: retry; if it persists the card may be faulty" },
};

int hsm_sw_tries(uint16_t sw)
{
    if ((sw & 0xFFF0) == 0x63C0)
        return sw & 0x0F;
    return -1;
}

static _Thread_local char dyn[256];

const char *hsm_sw_message(uint16_t sw, uint8_t ins)
{
    if ((sw & 0xFFF0) == 0x63C0) {
        int n = sw & 0x0F;
        const char *what = ins == INS_RRC || ins == INS_INIT ? "SO-PIN" : "PIN";
        if (n == 0)
            snprintf(dyn, sizeof(dyn), "wrong %s, no tries left: it is blocked now; unblock it "
                     "with the SO-PIN (schsm-tool unblock-pin)", what);
        else if (n == 1)
            snprintf(dyn, sizeof(dyn), "wrong %s, 1 try left: one more wrong attempt blocks it; "
                     "check the %s before trying again", what, what);
        else
            snprintf(dyn, sizeof(dyn), "wrong %s, %d tries left; check "
                     "the %s before trying again", what, n, what);
        return dyn;
    }
    if (sw >> 8 == 0x61)
        return "more response data available (handled by the host; not an error)";
    if (sw >> 8 == 0x6C)
        return "wrong expected length (handled by the host; not an error)";
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (rows[i].sw == sw && (rows[i].ins == 0 || rows[i].ins == ins))
            return rows[i].text;
    snprintf(dyn, sizeof(dyn), "the card answered with status word %04X, which this program "
             "does not know; retry, and report it if it persists", sw);
    return dyn;
}
