#!/usr/bin/env bash
# No PIN, no signature (issue 12; DESIGN.md properties 7 and 10): a process
# that does not know the PIN cannot use a PIN key, whatever another
# process left in the TPM, with or without a resource manager.
#
# A token with two PIN keys (sec-ecc, sec-rsa) and a key made with
# --no-login (open-ecc). A victim (victim.c) logs in and signs once with
# each PIN key. Three phases: (a) the victim is logged in and idle, (b) it
# has called exit(0) without C_Finalize, (c) it was SIGKILLed while logged
# in. In each, the attacker (attacker.c, ESAPI, no PIN) tries TPM2_Sign /
# TPM2_RSA_Decrypt / ... with an empty password on every transient object
# in the TPM and on every PIN key blob of the store that it loads itself
# under the SRK: each attempt is its own test and must be refused. The
# --no-login key must sign for it from its blob (positive control), and in
# (a) and (c) on a direct TPM there must be transient objects to attack.
# The victim also forks and execs a probe that sends TPM2_GetRandom on
# every inherited socket and device: none may answer (the module's TPM
# connection is close-on-exec); the probe first finds a connection left
# open on purpose (positive control).
#
# Run 1: the victim on a direct swtpm (swtpm:path=..., no resource
# manager), the attacker too. Run 2: the same through a TPM character
# device (TCTI device:, as /dev/tpm0 on a real machine; ptytpm.c relays a
# pseudo-terminal to the swtpm), where the TPM connection is one file
# descriptor held for the process's life: the close-on-exec check means
# most there (the swtpm TCTI connects anew for each command). Run 3: the
# victim behind tpm2-abrmd on a private bus; the attacker straight on the
# swtpm socket (what anyone on the machine can do) and through
# tpm2-abrmd. The swtpm is restarted (TPM2_Startup(CLEAR)) before (c) on a
# direct TPM and between the runs, so that each phase sees only its own
# victim's objects.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/sec-lib.bash"
t11_require_build
sec_require_prog VICTIM victim
sec_require_prog ATTACKER attacker
sec_require_prog PTYTPM ptytpm

T=$TPM11_TOOL
D=$T11_TMP/tpm
SO=attack-so-8642
PIN=attack-user-1357
KEYARGS=(--pin sec-ecc --pin sec-rsa --public open-ecc)

swtpm_start "$D" || { not_ok "swtpm starts"; t11_done; exit 1; }
SWTPM_TCTI="swtpm:path=$D/tpm.sock"
check "tpm11 init" "$T" init
check "tpm11 addtoken SEC" "$T" addtoken --label SEC --sopin "$SO" --userpin "$PIN"
# The --no-login key first: on today's code a --no-login addkey fails
# once the token has a PIN key (leftovers.sh and public.sh test that).
check "tpm11 addkey --no-login open-ecc (ecc256)" "$T" addkey --label SEC \
	--algorithm ecc256 --key-label open-ecc --no-login --userpin "$PIN"
check "tpm11 addkey sec-ecc (ecc256)" "$T" addkey --label SEC --algorithm ecc256 \
	--key-label sec-ecc --userpin "$PIN"
check "tpm11 addkey sec-rsa (rsa2048)" "$T" addkey --label SEC --algorithm rsa2048 \
	--key-label sec-rsa --userpin "$PIN"
check "TPM clean after the tool" tpm_is_clean

# victim_up WHERE PHASE CONTROL: the victim logs in, signs with both PIN
# keys, probes its inherited fds (with a connection of its own to the TPM
# at CONTROL as the control) and waits; one test per step.
victim_up() {
	if victim_start "victim-$1-$2" --token SEC --pin "$PIN" --prefix sec- \
		--probe-fds --control "$3"; then
		ok "[$1] ($2) the victim logged in, signed and is idle"
	else
		not_ok "[$1] ($2) the victim logged in, signed and is idle"
		sed 's/^/# /' "$VICTIM_OUT"
	fi
	victim_says "signed with sec-ecc" "[$1] ($2) the victim signed with sec-ecc"
	victim_says "signed with sec-rsa" "[$1] ($2) the victim signed with sec-rsa"
	victim_says "probe control:" "[$1] ($2) probe control: an exec'd child finds a TPM connection left open across exec"
	victim_says "probe: no inherited fd answers" \
		"[$1] ($2) an exec'd child of the logged-in victim finds no inherited fd that answers a TPM command (close-on-exec)"
}

# attacks WHERE PHASE MIN-HANDLES TCTI...: the attacker through each TCTI;
# with MIN-HANDLES > 0, a TCTI without resource manager must show at
# least that many transient objects.
attacks() {
	local where=$1 phase=$2 min=$3 tcti via more
	shift 3
	for tcti in "$@"; do
		via=${tcti%%:*} more=()
		if [ "$min" -gt 0 ] && [ "$via" != tabrmd ]; then more=(--min-handles "$min"); fi
		attack "[$where] " "$tcti" --phase "($phase) attacker via $via" \
			"${KEYARGS[@]}" "${more[@]}"
	done
}

# run WHERE MIN-HANDLES CONTROL TCTI...: the three phases, the victim on
# $TPM11_TCTI, the attacker on each TCTI. RESTART: how to empty the TPM
# before (c), so that it sees only its own victim's objects.
run() {
	local where=$1 min=$2 control=$3
	shift 3
	victim_up "$where" a "$control"
	attacks "$where" "a: victim logged in, idle" "$min" "$@"

	victim_release
	if rel_exit_ok "$VICTIM_RC"; then ok "[$where] (b) the victim called exit() without C_Finalize (status $VICTIM_RC)"
	else not_ok "[$where] (b) the victim called exit() without C_Finalize (status $VICTIM_RC)"; fi
	sec_tpm_left "after the victim's exit() without C_Finalize"
	attacks "$where" "b: victim exited without C_Finalize" 0 "$@"

	$RESTART
	victim_up "$where" c "$control"
	victim_kill
	sec_tpm_left "after SIGKILL of the logged-in victim"
	attacks "$where" "c: victim SIGKILLed while logged in" "$min" "$@"
}

# The TPM emptied (TPM2_Startup(CLEAR)) behind the device relay.
restart_device() {
	ptytpm_stop "$D"
	sec_tpm_restart "$D"
	ptytpm_start "$D"
}

diag "run 1: direct swtpm, no resource manager ($SWTPM_TCTI)"
RESTART="sec_tpm_restart $D"
run direct 1 "$D/tpm.sock" "$SWTPM_TCTI"

diag "run 2: a TPM device (device:, as /dev/tpm0; a pseudo-terminal relayed to the swtpm), no resource manager"
sec_tpm_restart "$D"
ptytpm_start "$D"
RESTART=restart_device
run device 1 "$D/tpm0" "$TPM11_TCTI"
ptytpm_stop "$D"

sec_rm_run "run 3: the victim behind tpm2-abrmd" || { t11_done; exit $?; }
diag "run 3: the victim behind tpm2-abrmd; the attacker on the swtpm socket and through tpm2-abrmd"
sec_tpm_restart "$D"
abrmd_start "$D" || { not_ok "tpm2-abrmd starts"; t11_done; exit 1; }
ok "tpm2-abrmd on a private bus in front of the swtpm"
RESTART=:
run abrmd 0 "$D/tpm.sock" "$SWTPM_TCTI" "$TPM11_TCTI"

t11_done
