#!/usr/bin/env bash
# Threads (issue 4, item 1): tests/reliability/threads (threads.c) with 16
# signing threads, each in its own session, and meanwhile threads that open
# and close sessions, log in (and out, on a second token) and search
# objects; every signature verified with OpenSSL. Runs once per TPM mode
# (tests/run, T11_TPM_MODE): the TPM reached directly (swtpm: TCTI; the
# module's own residency/eviction path) and through tpm2-abrmd (there with
# the application's mutex functions instead of CKF_OS_LOCKING_OK), and in
# minimal mode as on a chip of 3 object slots and 3 sessions without P-384
# (no P-384 key then). The TPM must hold no transient object or session
# afterwards.
#
# Signatures per thread: 150 (CI), 1000 with T11_LONG=1, 10 in the valgrind
# pass of tests/run (valgrind runs one thread at a time; 40 with
# T11_LONG=1), or $T11_THREADS_N. Threads: $T11_THREADS_T (default 16).
# The same program under ThreadSanitizer: tests/reliability/tsan.sh.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/rel-lib.bash"
t11_require_build
rel_require_prog THREADS threads

if [ "${T11_SANITIZE:-}" = valgrind ]; then
	# valgrind runs one thread at a time: a longer loop adds time, not checks.
	if t11_long; then N=${T11_THREADS_N:-40}; SECS=900; else N=${T11_THREADS_N:-10}; SECS=240; fi
elif t11_long; then N=${T11_THREADS_N:-1000}; SECS=1800
else N=${T11_THREADS_N:-150}; SECS=240; fi
T=${T11_THREADS_T:-16}
SECS=${T11_THREADS_TIMEOUT:-$SECS}
export T11_TOKEN=REL T11_PIN=rel-user-1234 T11_CHURN_TOKEN=CHURN T11_CHURN_PIN=churn-user-5678

MODE=$(t11_tpm_mode)
t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($MODE)"; t11_done; exit 1; }
check_clean "tpm11 init" "$TPM11_TOOL" init
KEYS=("p256 ecc256" "p384 ecc384" "rsa2048 rsa2048" "p256b ecc256")
t11_keys_offered KEYS "a key the threads sign with"
KINDS=(); t11_tpm_has_alg ecc384 || KINDS=(--no-p384)
rel_make_token REL rel-so-1234 "$T11_PIN" "${KEYS[@]}"
rel_make_token CHURN churn-so-5678 "$T11_CHURN_PIN" "churn ecc256"
check "TPM clean after the set-up" tpm_is_clean

LOCKING=(); [ "$MODE" = abrmd ] && LOCKING=(--app-mutex)
diag "$T signing threads x $N signatures, TPM mode $MODE ${LOCKING[*]}"
rel_run_tap "$MODE: " "$SECS" "$THREADS" -t "$T" -n "$N" "${LOCKING[@]}" "${KINDS[@]}"
check "$MODE: TPM clean after the threads" tpm_is_clean

t11_done
