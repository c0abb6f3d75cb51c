# Shared by the security scripts (issue 12); not a test itself (hence not
# *.sh, which tests/run would run). Source after tests/lib/common.sh. It
# also sources tests/reliability/rel-lib.bash, for rel_run_tap (merging a
# test program's TAP into the script's) and rel_exit_ok.

# shellcheck source=tests/reliability/rel-lib.bash
source "$T11_SRC/tests/reliability/rel-lib.bash"

# Seconds for one test program or client. Under a sanitizer, timeout(1)
# is a wrapper that multiplies them by T11_SAN_SLOW (sanitize.bash).
SEC_SECS=120

# sec_require_prog VAR NAME: sets VAR to the command that runs test
# program NAME (victim, attacker, pubobj), which meson builds into
# $TPM11_BUILD/tests/security; or fails the test and exits.
sec_require_prog() {
	local exe=$TPM11_BUILD/tests/security/$2
	if [ ! -x "$exe" ]; then
		not_ok "test program $2 is built ($exe)"
		t11_done
		exit 1
	fi
	printf -v "$1" '%s' "$(t11_prog "$exe")"
}

# check_refused NAME REGEX CMD...: ok if CMD fails and its output matches
# REGEX (extended, any case): it failed for the reason named, not another.
check_refused() {
	local name=$1 re=$2
	shift 2
	if "$@" >"$T11_TMP/last.out" 2>&1; then
		not_ok "$name (command succeeded)"; sed 's/^/# /' "$T11_TMP/last.out" | tail -n 30
	elif grep -qiE "$re" "$T11_TMP/last.out"; then
		ok "$name"
	else
		not_ok "$name (failed, but not with /$re/)"; sed 's/^/# /' "$T11_TMP/last.out" | tail -n 30
	fi
}

# sec_tpm_restart DIR: stops the swtpm in DIR and starts it again on the
# same state: persistent objects and NV stay, transient objects and
# sessions are gone (TPM2_Startup(CLEAR)).
# sec_rm_run WHAT: whether to run the behind-tpm2-abrmd run of a script. In
# the valgrind pass of the default run it is skipped (with this line):
# valgrind looks for memory errors in the module, the same code in both
# runs, and doubles the pass's time with it; the plain and asan passes and
# --long (T11_LONG=1) run it.
sec_rm_run() {
	if [ "${T11_SANITIZE:-}" = valgrind ] && [ "${T11_LONG:-0}" != 1 ]; then
		ok "$1 # SKIP the valgrind pass runs the direct run only (the plain and asan passes and --long run this one)"
		return 1
	fi
	return 0
}

sec_tpm_restart() {
	swtpm_stop "$1"
	swtpm_start "$1"
}

# ptytpm_start DIR: a TPM character device (ptytpm.c, a pseudo-terminal
# relayed to the swtpm in DIR) at DIR/tpm0, as /dev/tpm0 is on a real
# machine; exports TPM11_TCTI and TPM2TOOLS_TCTI=device:DIR/tpm0. The
# relay holds the swtpm's one connection: until ptytpm_stop, everything
# must reach the TPM through the device.
ptytpm_start() {
	local dir=$1
	"$PTYTPM" "$dir/tpm.sock" "$dir/tpm0" >"$dir/ptytpm.out" 2>&1 &
	PTYTPM_PID=$!
	t11_own_pid "$PTYTPM_PID"
	for _ in $(seq 100); do
		grep -q '^ptytpm: ready' "$dir/ptytpm.out" && break
		sleep 0.05
	done
	export TPM11_TCTI="device:$dir/tpm0"
	export TPM2TOOLS_TCTI=$TPM11_TCTI
	tpm2_getcap properties-fixed >/dev/null 2>&1
}

# ptytpm_stop DIR: stops the relay (by its PID); the TCTI is the swtpm's.
ptytpm_stop() {
	kill "$PTYTPM_PID" 2>/dev/null
	wait "$PTYTPM_PID" 2>/dev/null
	export TPM11_TCTI="swtpm:path=$1/tpm.sock"
	export TPM2TOOLS_TCTI=$TPM11_TCTI
}

# sec_lockout_counter: the TPM's TPM2_PT_LOCKOUT_COUNTER, in decimal.
sec_lockout_counter() {
	local v
	v=$(tpm2_getcap properties-variable | awk '/TPM2_PT_LOCKOUT_COUNTER/{print $2}')
	echo $((v))
}

# sec_tpm_left WHEN: a TAP diagnostic of the transient objects and loaded
# sessions the TPM holds now.
sec_tpm_left() {
	local t s
	t=$(tpm2_getcap handles-transient 2>&1 | tr -d '\n' | sed 's/- / /g')
	s=$(tpm2_getcap handles-loaded-session 2>&1 | tr -d '\n' | sed 's/- / /g')
	diag "left in the TPM $1: transient objects:${t:- none}; sessions:${s:- none}"
}

# --- the victim (victim.c) --------------------------------------------------

# victim_start NAME ARG...: runs $VICTIM ARG... --hold in the background,
# its stdin a FIFO we hold open, its output in $T11_TMP/NAME.out
# ($VICTIM_OUT); waits until it says it is ready (logged in, signed,
# idle) or ends. Sets VICTIM_PID and VICTIM_FD. Fails if it did not get
# ready.
victim_start() {
	local name=$1
	shift
	VICTIM_OUT=$T11_TMP/$name.out
	rm -f "$T11_TMP/$name.fifo"
	mkfifo "$T11_TMP/$name.fifo" || return 1
	"$VICTIM" "$@" --hold <"$T11_TMP/$name.fifo" >"$VICTIM_OUT" 2>&1 &
	VICTIM_PID=$!
	t11_own_pid "$VICTIM_PID"
	exec {VICTIM_FD}>"$T11_TMP/$name.fifo"
	for _ in $(seq $((600 * ${T11_SAN_SLOW:-1}))); do
		grep -q '^victim: ready' "$VICTIM_OUT" && return 0
		kill -0 "$VICTIM_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# victim_release: tells the victim to go: it calls exit(0) without
# C_Finalize. Sets VICTIM_RC to its exit status.
victim_release() {
	echo go >&"$VICTIM_FD"
	exec {VICTIM_FD}>&-
	wait "$VICTIM_PID"
	VICTIM_RC=$?
}

# victim_kill: SIGKILL for the victim, logged in and idle.
victim_kill() {
	kill -9 "$VICTIM_PID" 2>/dev/null
	wait "$VICTIM_PID" 2>/dev/null
	exec {VICTIM_FD}>&-
}

# victim_says TEXT NAME: one test: the victim's output has a line that
# starts with "victim: TEXT"; the output is shown if not.
victim_says() {
	if grep -qF "victim: $1" "$VICTIM_OUT"; then ok "$2"
	else not_ok "$2"; sed 's/^/# /' "$VICTIM_OUT"; fi
}

# --- the attacker (attacker.c) ------------------------------------------------

# attack PREFIX TCTI ARG...: the attacker program with no PIN against
# the TPM at TCTI and the store at $TPM11_STORE; its results merged into
# ours, each named with PREFIX.
attack() {
	local prefix=$1 tcti=$2
	shift 2
	TSS2_LOG=all+none rel_run_tap "$prefix" "$SEC_SECS" \
		"$ATTACKER" --tcti "$tcti" "$@"
}
