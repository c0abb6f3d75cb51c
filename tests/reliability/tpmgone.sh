#!/usr/bin/env bash
# The TPM goes away (issue 4, item 9): tests/reliability/tpmgone
# (tpmgone.c) logs in and signs in a loop; this script kills the swtpm
# (SIGKILL, by PID) in the middle of the loop. Every call that fails then
# must return CKR_DEVICE_ERROR or CKR_DEVICE_REMOVED, the process must
# survive, and calls that need no TPM keep working. The swtpm is started
# again on the same state directory; after C_Finalize, C_Initialize and
# C_Login the program signs again (verified with OpenSSL). Runs once per
# TPM mode (tests/run, T11_TPM_MODE):
#   direct  TPM reached directly (swtpm: TCTI).
#   abrmd   through tpm2-abrmd: the swtpm behind it is killed; then the
#           swtpm and tpm2-abrmd are started again.
#   minimal through the chip-profile TCTI (minimal profile) in front of
#           the swtpm, as direct otherwise.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/rel-lib.bash"
t11_require_build
rel_require_prog TPMGONE tpmgone

export T11_TOKEN=REL T11_PIN=gone-user-1234
TD=$T11_TMP/tpm

MODE=$(t11_tpm_mode)
t11_tpm_start "$TD" || { not_ok "TPM starts ($MODE)"; t11_done; exit 1; }
check_clean "tpm11 init" "$TPM11_TOOL" init
rel_make_token REL gone-so-1234 "$T11_PIN" "p256 ecc256" "rsa2048 rsa2048"

wait_file() { # wait_file FILE SECONDS (x T11_SAN_SLOW in the sanitizer passes)
	local i
	for i in $(seq $(($2 * 20 * ${T11_SAN_SLOW:-1}))); do
		[ -e "$1" ] && return 0
		# the program ended (e.g. killed by a signal): no use waiting
		[ -n "${REL_TAP_PID:-}" ] && ! kill -0 "$REL_TAP_PID" 2>/dev/null && return 1
		sleep 0.05
	done
	return 1
}

# gone_round NAME: one run of tpmgone with the kill and the restart (in
# abrmd mode of tpm2-abrmd too) in between. Results of this script's own
# steps are printed after the program's.
gone_round() {
	local name=$1 hs=$T11_TMP/hs-$1 pid steps=()
	mkdir -p "$hs"
	rel_start_tap "$name: " 180 "$TPMGONE" "$hs"
	if wait_file "$hs/signing" 60; then
		sleep "0.$((RANDOM % 5))"
		pid=$(rel_swtpm_pid "$TD")
		kill -9 "$pid"
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		if kill -0 "$pid" 2>/dev/null; then steps+=("not_ok|swtpm (pid $pid) killed")
		else steps+=("ok|swtpm (pid $pid) killed with SIGKILL in the middle of the signing loop"); fi
		touch "$hs/killed"
		if wait_file "$hs/gone-done" 90; then steps+=("ok|the program survived and reported")
		else steps+=("not_ok|the program survived and reported"); fi
		rm -f "$TD/swtpm.pid"
		if T11_DA_DEFAULTS=1 swtpm_start "$TD"; then
			steps+=("ok|swtpm started again on the same state (pid $(rel_swtpm_pid "$TD"))")
		else
			steps+=("not_ok|swtpm started again on the same state")
		fi
		if [ "$MODE" = abrmd ]; then
			if rel_abrmd_restart "$TD"; then steps+=("ok|tpm2-abrmd started again")
			else steps+=("not_ok|tpm2-abrmd started again"); fi
		fi
		t11_tpm_use "$TD"
		touch "$hs/back"
	else
		steps+=("not_ok|the program signed before the kill")
	fi
	rel_finish_tap
	local s
	for s in "${steps[@]}"; do
		if [ "${s%%|*}" = ok ]; then ok "$name: ${s#*|}"; else not_ok "$name: ${s#*|}"; fi
	done
}

gone_round "$MODE"
check "$MODE: TPM clean at the end" tpm_is_clean

t11_done
