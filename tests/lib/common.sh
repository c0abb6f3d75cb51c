# Shared by every shell test: paths, TAP output, a private software TPM,
# a private resource manager, and clean-up of exactly what we started.
# Source it; it sets `set -u` and a trap that stops our services.

set -u

T11_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${TPM11_BUILD:=$T11_SRC/build}"
: "${TPM11_MODULE:=$TPM11_BUILD/src/libtpm11.so}"
: "${TPM11_TOOL:=$TPM11_BUILD/tools/tpm11/tpm11}"
export TPM11_BUILD TPM11_MODULE TPM11_TOOL

T11_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tpm11-test.XXXXXX")
T11_PIDS=()
T11_TAP_N=0
T11_TAP_FAILED=0

# Sanitizer passes (tests/run --pass asan|valgrind; T11_SANITIZE):
# wrappers for the third-party programs that load the module come first on
# PATH, in-script timeouts are scaled, and under valgrind the tool runs
# under valgrind (tests/lib/sanitize.bash). Reports go to $T11_SAN_LOG,
# which tests/lib/sanrun judges after the script.
if [ -n "${T11_SANITIZE:-}" ]; then
	# shellcheck source=tests/lib/sanitize.bash
	source "$T11_SRC/tests/lib/sanitize.bash"
	: "${T11_SAN_LOG:=$T11_TMP/sanlog}"
	if ! t11_san_wrappers "$T11_TMP/sanbin"; then
		echo "not ok 1 - sanitizer ($T11_SANITIZE) wrappers set up"; echo "1..1"; exit 1
	fi
	TPM11_TOOL=$(t11_san_prog "$TPM11_TOOL")
fi
# t11_prog PATH: the command that runs our own program PATH (a test
# program of the build): PATH itself, or under valgrind a wrapper.
t11_prog() {
	if [ -n "${T11_SANITIZE:-}" ]; then t11_san_prog "$1"; else echo "$1"; fi
}

t11_cleanup() {
	local p
	for p in "${T11_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${T11_PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
	done
	[ -n "${T11_KEEP:-}" ] || rm -rf "$T11_TMP"
}
trap t11_cleanup EXIT
# A signal (e.g. from tests/run's timeout) ends the script through its EXIT
# trap, so what it started is stopped.
trap 'exit 143' TERM
trap 'exit 130' INT

# Remember a PID we started, so cleanup stops it (and only it).
t11_own_pid() { T11_PIDS+=("$1"); }

# --- TAP ------------------------------------------------------------------
ok() { T11_TAP_N=$((T11_TAP_N + 1)); echo "ok $T11_TAP_N - $*"; }
not_ok() {
	T11_TAP_N=$((T11_TAP_N + 1)); T11_TAP_FAILED=$((T11_TAP_FAILED + 1))
	echo "not ok $T11_TAP_N - $*"
}
# check "name" cmd args...: runs the command, ok if it exits 0. Output goes
# to $T11_TMP/last.out and is shown as TAP comments on failure.
check() {
	local name=$1; shift
	if "$@" >"$T11_TMP/last.out" 2>&1; then ok "$name"; else
		not_ok "$name"; sed 's/^/# /' "$T11_TMP/last.out" | tail -n 30
	fi
}
# check_fails "name" cmd args...: ok if the command exits non-zero.
check_fails() {
	local name=$1; shift
	if "$@" >"$T11_TMP/last.out" 2>&1; then
		not_ok "$name (command succeeded)"; sed 's/^/# /' "$T11_TMP/last.out" | tail -n 30
	else ok "$name"; fi
}
t11_done() { echo "1..$T11_TAP_N"; [ "$T11_TAP_FAILED" -eq 0 ]; }
diag() { echo "# $*"; }

# tap_merged NAME OUT ERR RC SECS [SUMMARY_RE]: after a TAP producer that
# numbered its results from T11_TAP_N+1 wrote OUT (stdout, already shown)
# and ERR (stderr) and exited with RC, counts its results into ours and
# adds one test that it ran to completion: results printed, exit status 0
# or 1 (some failed), no "Bail out!", and a line matching SUMMARY_RE when
# given. "not ok ... # TODO" is a known limit, not a failure (TAP). Its
# stderr's last lines are shown when something failed.
tap_merged() {
	local name=$1 out=$2 err=$3 rc=$4 secs=$5 summary=${6:-} n f extra
	n=$(grep -cE '^(not )?ok [0-9]+' "$out")
	f=$(grep -E '^not ok [0-9]+' "$out" | grep -cviE '#[[:space:]]*TODO')
	T11_TAP_N=$((T11_TAP_N + n))
	T11_TAP_FAILED=$((T11_TAP_FAILED + f))
	extra="$n tests, $f failed"
	[ -n "$summary" ] && extra=$(grep -E "$summary" "$out" | tail -n 1)
	if [ "$n" -gt 0 ] && { [ "$rc" = 0 ] || [ "$rc" = 1 ]; } &&
		! grep -q '^Bail out!' "$out" && [ -n "$extra" ]; then
		ok "$name ran to completion ($extra)"
	else
		not_ok "$name ran to completion"
		case $rc in
		124 | 137) diag "timed out after $secs s" ;;
		0 | 1) diag "$n tests; no summary line or a Bail out!" ;;
		*) if [ "$rc" -gt 128 ]; then diag "killed by signal $((rc - 128))"
		   else diag "exit status $rc, $n tests"; fi ;;
		esac
	fi
	if [ -s "$err" ] && { [ "$f" -gt 0 ] || [ "$rc" -gt 1 ]; }; then
		diag "$name stderr (last lines):"
		tail -n 40 "$err" | sed 's/^/# /'
	fi
	return 0
}

# --- software TPM ---------------------------------------------------------
# swtpm_start DIR: a fresh swtpm on a Unix socket in DIR; exports
# TPM11_TCTI and TPM2TOOLS_TCTI for direct access (no resource manager).
# Sets generous dictionary-attack parameters unless T11_DA_DEFAULTS=1.
swtpm_start() {
	local dir=$1
	mkdir -p "$dir/state"
	swtpm socket --tpm2 --tpmstate dir="$dir/state" \
		--server type=unixio,path="$dir/tpm.sock" \
		--ctrl type=unixio,path="$dir/tpm.sock.ctrl" \
		--flags not-need-init,startup-clear --daemon \
		--pid file="$dir/swtpm.pid" \
		--log file="$dir/swtpm.log"${T11_SWTPM_LOGLEVEL:+,level=$T11_SWTPM_LOGLEVEL} || return 1
	for _ in $(seq 50); do [ -s "$dir/swtpm.pid" ] && break; sleep 0.05; done
	t11_own_pid "$(cat "$dir/swtpm.pid")"
	export TPM11_TCTI="swtpm:path=$dir/tpm.sock"
	export TPM2TOOLS_TCTI="$TPM11_TCTI"
	if [ -z "${T11_DA_DEFAULTS:-}" ]; then
		tpm2_dictionarylockout --setup-parameters --max-tries=1000 \
			--recovery-time=1 --lockout-recovery-time=1 >/dev/null
	fi
}

swtpm_stop() {
	local dir=$1 pid
	pid=$(cat "$dir/swtpm.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
}

# abrmd_start DIR: a private D-Bus session bus and tpm2-abrmd on it, in
# front of the swtpm in DIR. Exports TPM11_TCTI=tabrmd:bus_type=session.
abrmd_start() {
	local dir=$1
	dbus-daemon --session --fork --print-address=1 --print-pid=1 >"$dir/dbus" || return 1
	export DBUS_SESSION_BUS_ADDRESS=$(head -1 "$dir/dbus")
	t11_own_pid "$(sed -n 2p "$dir/dbus")"
	abrmd_launch "$dir"
}

# abrmd_launch DIR: tpm2-abrmd on the current (private) session bus, in
# front of the swtpm in DIR; its PID in DIR/abrmd.pid; waits until it
# answers. Exports TPM11_TCTI=tabrmd:bus_type=session.
abrmd_launch() {
	local dir=$1 pid
	tpm2-abrmd --session --allow-root --tcti="swtpm:path=$dir/tpm.sock" \
		>>"$dir/abrmd.log" 2>&1 &
	pid=$!
	t11_own_pid "$pid"
	echo "$pid" >"$dir/abrmd.pid"
	export TPM11_TCTI="tabrmd:bus_type=session"
	export TPM2TOOLS_TCTI="$TPM11_TCTI"
	for _ in $(seq 100); do
		tpm2_getcap properties-fixed >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# tpm_is_clean: no transient objects and no loaded sessions left in the TPM.
tpm_is_clean() {
	local t s
	t=$(tpm2_getcap handles-transient 2>&1) || return 1
	s=$(tpm2_getcap handles-loaded-session 2>&1) || return 1
	if [ -n "$t$s" ]; then
		echo "transient: $t"; echo "sessions: $s"; return 1
	fi
}

# A fresh store for the test.
export TPM11_STORE="$T11_TMP/store"

# --- helpers for the end-to-end tests ---------------------------------------

# t11_require_build: the module and the tool must exist; else one failed
# test and exit (so tests/run shows why).
t11_require_build() {
	local f missing=0
	for f in "$TPM11_MODULE" "$TPM11_TOOL"; do
		if [ ! -e "$f" ]; then not_ok "built: $f exists"; missing=1; fi
	done
	if [ "$missing" = 1 ]; then t11_done; exit 1; fi
}

# Loopback services for ssh tests: t11_free_port, t11_askpass, sshd_start,
# t11_ssh, agent_start (shared with bench/actions.sh).
# shellcheck source=tests/lib/loopback.sh
. "$T11_SRC/tests/lib/loopback.sh"
