# SPDX-License-Identifier: Apache-2.0
# The virtual card behind a real pcscd: PC/SC programs see a SmartCard-HSM in a vpcd reader,
# removal and insertion are seen, and the card survives a pcscd restart.
. "$(dirname "$0")/lib.sh"

# The Nitrokey HSM 2 ATR (SmartCard-HSM 4K on JCOP 3), protocol sheet 1.2.
NK_ATR='3b:de:18:ff:81:91:fe:1f:c3:80:31:81:54:48:53:4d:31:73:80:21:40:81:07:1c'
AID=E82B0601040181C31F0201

pcsc_start 1
R=$(reader_name 0)

check list opensc-tool -l
check_log_has list "Yes +Virtual PCD 00 00"
check atr opensc-tool -r "$R" -a
check_log_has atr "^$NK_ATR\$"
check name opensc-tool -r "$R" -n
check_log_has name '^SmartCard-HSM( |$)'

# SELECT of the applet answers an FCP with proprietary tag 85 (what OpenSC checks).
check select opensc-tool -r "$R" -s "00A4040C0B$AID" -s "00A404040B${AID}00"
check_log_has select 'Received \(SW1=0x90, SW2=0x00\)'
check_log_has select '^62 .* 85 '

if [ -x "$TOOL" ]; then
    check tool-info "$TOOL" --reader "$R" info --json
    check_log_has tool-info '"reader": *"Virtual PCD 00 00"'
    check_log_has tool-info '"initialized": *false'
    # The default reader is the first one that holds a SmartCard-HSM.
    check tool-info-default "$TOOL" info --json
    check_log_has tool-info-default '"reader": *"Virtual PCD 00 00"'
    check_fail tool-info-noreader "$TOOL" --reader "no such reader" info
else
    echo "note: $TOOL not built; schsm-tool checks left out"
fi

# A reset from PC/SC is a card reset: the applet is deselected and the PIN state dropped, for
# every user of the state file (the session line of schsm-sim --dump shows it).
check init-for-reset sc-hsm-tool -r "$R" --initialize --so-pin "$SO_PIN" --pin "$PIN"
PINHEX=$(printf '%s' "$PIN" | od -An -tx1 | tr -d ' \n')
check verify-pin opensc-tool -r "$R" -s "00A404040B${AID}00" -s "0020008106$PINHEX"
check_log_has verify-pin 'Received \(SW1=0x90, SW2=0x00\)$'
check dump-verified "$SIM" --state "${SIM_STATE[0]}" --dump
check_log_has dump-verified 'session: +applet selected, PIN verified'
check reset opensc-tool -r "$R" --reset=warm
check dump-after-reset "$SIM" --state "${SIM_STATE[0]}" --dump
check_log_has dump-after-reset 'session: +applet not selected, PIN not verified'
cycles() { sed -n 's/.*power cycles \([0-9]*\).*/\1/p' "$T/$1.log"; }
check power-cycle-counted test "$(cycles dump-after-reset)" -gt "$(cycles dump-verified)"

# Removal: stopping schsm-sim takes the card out of the reader; starting it puts it back.
sim_stop 0
check removed wait_no_card 0
check_fail name-removed opensc-tool -r "$R" -n
if [ -x "$TOOL" ]; then
    check_fail tool-info-removed "$TOOL" --reader "$R" info
fi
sim_start 0
check inserted wait_card 0
check name-again opensc-tool -r "$R" -n
check_log_has name-again '^SmartCard-HSM( |$)'

# pcscd restarts: the virtual card reconnects by itself.
check pcscd-restart pcscd_restart
check inserted-after-restart wait_card 0
check name-after-restart opensc-tool -r "$R" -n
check_log_has name-after-restart '^SmartCard-HSM( |$)'
if [ -x "$TOOL" ]; then
    check tool-info-after-restart "$TOOL" --reader "$R" info --json
fi

# The virtual card stops cleanly on SIGTERM (exit 0), as the harness expects.
pid=${SIM_PID[0]}
kill -TERM "$pid"
wait "$pid"
rc=$?
SIM_PID[0]=
check sim-exit-0 test "$rc" -eq 0

finish
