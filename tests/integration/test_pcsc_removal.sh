# SPDX-License-Identifier: Apache-2.0
# Card removal through pcscd: a long-lived process signs, the card is pulled (schsm-sim stops),
# the next operations fail with a clear error instead of hanging or using stale state, and
# after the card is back the same process signs again without a restart.
. "$(dirname "$0")/lib.sh"

need "$TOOL" "$SCHSM_BUILD/lib/schsm.so"
pcsc_start 1
R=$(reader_name 0)
export SCHSM_READER="$R"

check init "$TOOL" init --so-pin "$SO_PIN" --pin "$PIN" --yes
check keygen "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label rm-key
check pub "$TOOL" export-pubkey --label rm-key --out "$T/rm-key.pem"
printf '%s\n' "$PIN" >"$T/pin"
chmod 600 "$T/pin"

signer_start "schsm:object=rm-key;type=private?pin-source=file:$T/pin" "$T/rm-key.pem"

check sign-present signer_expect ok sign
sim_stop 0
check removed wait_no_card 0
check sign-removed signer_expect refused sign
check sign-removed-again signer_expect refused sign
# The error says what happened (card removed / no card), not just "failed".
check error-is-clear grep -Eiq 'remov|no (token/)?card|not present|no smart ?card' "$T/signer.err"
check_fail tool-removed "$TOOL" info
check_log_has tool-removed '[Rr]emov|[Nn]o (token/)?card|not present|no (smart ?card|SmartCard-HSM)'

# schsm-tool readers shows the empty reader; --wait waits for the card (issue 12 item 10).
check readers-empty "$TOOL" readers --json
check_log_has readers-empty '"smartcard_hsm": false'
timeout 60 "$TOOL" --wait info --json >"$T/wait.out" 2>"$T/wait.err" </dev/null &
WAITER=$!
# It says so before the card comes back (else this would not show that --wait waited).
check waiter-said-why wait_for 300 grep -q 'waiting for the card' "$T/wait.err"
check waiter-waits kill -0 "$WAITER"
check_fail waiter-no-output test -s "$T/wait.out"

sim_start 0
check reinserted wait_card 0
check waiter-done wait "$WAITER"
check waiter-saw-card grep -q '"serial"' "$T/wait.out"
check readers-card "$TOOL" readers --json
check_log_has readers-card '"smartcard_hsm": true'
check sign-after-return signer_expect ok sign
check sign-after-return-2 signer_expect ok sign

# The card in the reader is swapped for another one that holds a different key under the same
# label, while the process runs: the process must refuse, not sign with the other card's key
# under the old key's identity (that signature would not verify).
sim_stop 0
check removed-for-swap wait_no_card 0
sim_start 0 "$T/other.state"
check swapped-in wait_card 0
check init-other "$TOOL" init --so-pin "$SO_PIN" --pin "$PIN" --yes
check keygen-other "$TOOL" --pin "$PIN" keygen --type ec:prime256v1 --label rm-key
check sign-other-card signer_expect refused sign

# The first card comes back: the process signs with its key again.
sim_stop 0
check removed-other wait_no_card 0
sim_start 0 "$T/card0.state"
check first-card-back wait_card 0
check sign-first-card-again signer_expect ok sign

exec 3>&-
finish
