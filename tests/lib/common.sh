# Shared by every shell test: paths, TAP output, a private software TPM,
# a private resource manager, and clean-up of exactly what we started.
# Source it; it sets `set -u` and a trap that stops our services.

set -u

T11_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$T11_SRC/tests/lib/hang.bash"
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
		grep '^# hang:' "$err"
		diag "$name stderr (last lines):"
		grep -v '^# hang:' "$err" | tail -n 40 | sed 's/^/# /'
	fi
	return 0
}

# --- the TPM a script's clients reach: T11_TPM_MODE ---------------------------
# Every e2e and reliability script starts its TPM with t11_tpm_start, and
# tests/run runs it once per mode (issue 12, issue 14):
#   direct   the clients talk to the swtpm itself (swtpm: TCTI), with no
#            resource manager, as on swtpm, mssim and /dev/tpm0: 3 object
#            slots shared by everyone, and nothing flushes what a process
#            leaves behind;
#   abrmd    through tpm2-abrmd on a private D-Bus session bus, as
#            /dev/tpmrm0 on a real machine;
#   minimal  a direct swtpm seen through the chip-profile TCTI's `minimal`
#            profile (tests/tcti/profiles/minimal.profile: SHA-256, P-256
#            and RSA-2048 only, no EncryptDecrypt(2), 3 objects, 3
#            sessions), as the smallest chip tpm11 must work on. Cases that
#            need what it hides skip, naming it (t11_tpm_has, t11_skip).
# T11_TPM_MODE names it (default: direct). A script that can run in some
# modes only says so with a line "# t11-modes: MODE,... -- REASON"
# (tests/run).
# TPM11_TCTI is what the clients (the module, the tool) use, and
# TPM2TOOLS_TCTI the same TPM for tpm2-tools run as one more program on it
# (making a key outside tpm11, setting lockout parameters): in minimal
# mode they too see the chip. In every mode T11_RAW_TCTI is the swtpm
# itself: tpm_is_clean and other inspections look there, so that they see
# what is really loaded in the TPM, not a resource manager's per-client
# view, and not through the TCTI under test.
t11_tpm_mode() {
	case ${T11_TPM_MODE:-direct} in
	direct | abrmd | minimal) echo "${T11_TPM_MODE:-direct}" ;;
	*) echo "T11_TPM_MODE=$T11_TPM_MODE: direct, abrmd or minimal" >&2; return 1 ;;
	esac
}

# t11_tpm_no_rm: the clients reach the TPM with no resource manager
# between (direct and minimal mode): what a process leaves loaded stays.
t11_tpm_no_rm() { [ "$(t11_tpm_mode)" != abrmd ]; }

# The chip-profile TCTI (tests/tcti/tcti-profile.c) of the plain build
# (T11_PLAIN_BUILD, from tests/run; else TPM11_BUILD): the asan pass gives
# the plain module to Chromium, which cannot load an ASan-built library,
# and an uninstrumented TCTI inside an ASan process is fine.
T11_PROFILE_TCTI=${T11_PLAIN_BUILD:-$TPM11_BUILD}/tests/tcti/libtss2-tcti-tpmprofile.so

# t11_tpm_start DIR: a fresh swtpm in DIR and, in abrmd mode, tpm2-abrmd in
# front of it (in minimal mode, the profile TCTI). Exports TPM11_TCTI and
# TPM2TOOLS_TCTI (what the clients and tpm2-tools use) and T11_RAW_TCTI
# (the swtpm); t11_tpm_use DIR points them at this TPM again later.
t11_tpm_start() {
	local dir=$1 mode
	mode=$(t11_tpm_mode) || return 1
	swtpm_start "$dir" || return 1
	case $mode in
	abrmd) abrmd_start "$dir" || return 1 ;;
	minimal)
		if [ ! -e "$T11_PROFILE_TCTI" ]; then
			echo "minimal mode: $T11_PROFILE_TCTI is not built" >&2; return 1
		fi
		export TPM11_TCTI="$T11_PROFILE_TCTI:minimal:$T11_RAW_TCTI"
		export TPM2TOOLS_TCTI=$TPM11_TCTI
		tpm2_getcap properties-fixed >/dev/null || return 1 ;;
	esac
	printf '%s\n' "$TPM11_TCTI" >"$dir/tcti"
}

# t11_tpm_has FEATURE: the TPM the clients use (TPM11_TCTI) offers FEATURE,
# asked of it (tpm2_getcap, tpm2_testparms through TPM11_TCTI; the answer
# kept per TCTI for the script). FEATURE: ecc384, rsa3072, sha384, sha512,
# encryptdecrypt (TPM2_EncryptDecrypt or EncryptDecrypt2), aes (AES keys
# the token can encrypt with: the algorithm and one of those commands).
t11_tpm_has() {
	local f=$1 cache key
	key=$(printf '%s' "$TPM11_TCTI" | cksum | cut -d' ' -f1)
	cache=$T11_TMP/has.$key
	if [ ! -s "$cache.curves" ]; then
		TPM2TOOLS_TCTI=$TPM11_TCTI tpm2_getcap ecc-curves >"$cache.curves" 2>&1 &&
			TPM2TOOLS_TCTI=$TPM11_TCTI tpm2_getcap algorithms >"$cache.algs" 2>&1 &&
			TPM2TOOLS_TCTI=$TPM11_TCTI tpm2_getcap commands >"$cache.cmds" 2>&1 || {
			# No answer: the case runs (and fails), it is not skipped.
			not_ok "t11_tpm_has $f: the TPM answers tpm2_getcap through $TPM11_TCTI"
			sed 's/^/# /' "$cache.curves" "$cache.algs" "$cache.cmds" 2>/dev/null | tail -n 5
			rm -f "$cache.curves"; return 0; }
	fi
	case $f in
	ecc384) grep -q '^TPM2_ECC_NIST_P384:' "$cache.curves" ;;
	sha384 | sha512) grep -q "^$f:" "$cache.algs" ;;
	encryptdecrypt) grep -qE '^TPM2_CC_EncryptDecrypt2?:' "$cache.cmds" ;;
	aes) grep -q '^aes:' "$cache.algs" && t11_tpm_has encryptdecrypt ;;
	rsa3072)
		if [ ! -e "$cache.rsa3072" ]; then
			TPM2TOOLS_TCTI=$TPM11_TCTI tpm2_testparms rsa3072 >/dev/null 2>&1
			echo $? >"$cache.rsa3072"
		fi
		[ "$(cat "$cache.rsa3072")" = 0 ] ;;
	*) not_ok "t11_tpm_has: unknown feature $f"; return 0 ;;
	esac
}

# t11_tpm_lacks FEATURE: why a case that needs FEATURE is skipped, e.g.
# "the minimal profile has no NIST P-384 curve".
t11_tpm_lacks() {
	local what
	case $1 in
	ecc384) what="no NIST P-384 curve" ;;
	rsa3072) what="no RSA-3072" ;;
	sha384) what="no SHA-384" ;;
	sha512) what="no SHA-512" ;;
	encryptdecrypt) what="no TPM2_EncryptDecrypt(2)" ;;
	aes) what="no AES encryption (no TPM2_EncryptDecrypt(2))" ;;
	*) what="no $1" ;;
	esac
	if [ "$(t11_tpm_mode 2>/dev/null)" = minimal ]; then echo "the minimal profile has $what"
	else echo "this TPM has $what"; fi
}

# t11_skip NAME FEATURE: one skipped result for the case NAME, which needs
# FEATURE (TAP "ok N - NAME # SKIP reason").
t11_skip() {
	T11_TAP_N=$((T11_TAP_N + 1))
	echo "ok $T11_TAP_N - $1 # SKIP $(t11_tpm_lacks "$2")"
}

# t11_tpm_has_alg ALG: the TPM offers the key algorithm ALG of the tool's
# --algorithm (ecc256 and rsa2048 always, ecc384, rsa3072 per t11_tpm_has).
t11_tpm_has_alg() {
	case $1 in ecc384 | rsa3072) t11_tpm_has "$1" ;; *) return 0 ;; esac
}

# t11_keys_offered ARRAY WHAT: ARRAY (a name) holds key specs "LABEL ALG
# ..."; those whose ALG the TPM lacks are taken out, each with one skipped
# result "LABEL (ALG): WHAT" that names what the TPM lacks.
t11_keys_offered() {
	local -n t11_ko_keys=$1
	local what=$2 k kept=()
	for k in "${t11_ko_keys[@]}"; do
		set -- $k
		if t11_tpm_has_alg "$2"; then kept+=("$k")
		else t11_skip "$1 ($2): $what" "$2"; fi
	done
	t11_ko_keys=("${kept[@]}")
}

# t11_tpm_use DIR: the clients use the TPM that t11_tpm_start DIR started.
t11_tpm_use() {
	TPM11_TCTI=$(cat "$1/tcti") || return 1
	export TPM11_TCTI TPM2TOOLS_TCTI=$TPM11_TCTI T11_RAW_TCTI="swtpm:path=$1/tpm.sock"
}

# t11_tpm_stop DIR: stops what t11_tpm_start DIR started (by PID).
t11_tpm_stop() {
	t11_stop_pid "$(cat "$1/abrmd.pid" 2>/dev/null)"
	swtpm_stop "$1"
}

# t11_stop_pid PID: SIGTERM to a process we started, then wait (5 s) for
# it to end.
t11_stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
}

# --- software TPM ---------------------------------------------------------
# swtpm_start DIR: a fresh swtpm on a Unix socket in DIR; exports
# TPM11_TCTI, TPM2TOOLS_TCTI and T11_RAW_TCTI for direct access (no
# resource manager). Sets generous dictionary-attack parameters unless
# T11_DA_DEFAULTS=1. Scripts start their TPM with t11_tpm_start.
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
	export TPM2TOOLS_TCTI="$TPM11_TCTI" T11_RAW_TCTI="$TPM11_TCTI"
	if [ -z "${T11_DA_DEFAULTS:-}" ]; then
		tpm2_dictionarylockout --setup-parameters --max-tries=1000 \
			--recovery-time=1 --lockout-recovery-time=1 >/dev/null
	fi
}

# swtpm_stop DIR: stops the swtpm in DIR (by its PID).
swtpm_stop() { t11_stop_pid "$(cat "$1/swtpm.pid" 2>/dev/null)"; }

# abrmd_start DIR: tpm2-abrmd in front of the swtpm in DIR, on the
# script's private D-Bus session bus (started on first use). Exports
# TPM11_TCTI and TPM2TOOLS_TCTI for it.
abrmd_start() {
	local dir=$1
	if [ -z "${T11_DBUS_PID:-}" ]; then
		dbus-daemon --session --fork --print-address=1 --print-pid=1 >"$dir/dbus" || return 1
		export DBUS_SESSION_BUS_ADDRESS=$(head -1 "$dir/dbus")
		T11_DBUS_PID=$(sed -n 2p "$dir/dbus")
		t11_own_pid "$T11_DBUS_PID"
	fi
	abrmd_launch "$dir"
}

# abrmd_launch DIR: tpm2-abrmd on the current (private) session bus, in
# front of the swtpm in DIR; its PID in DIR/abrmd.pid; waits until it
# answers. Each TPM's abrmd owns a bus name of its own (kept in
# DIR/abrmd.name), so that a script can have two. Exports TPM11_TCTI and
# TPM2TOOLS_TCTI for it.
abrmd_launch() {
	local dir=$1 pid name
	if [ ! -s "$dir/abrmd.name" ]; then
		T11_ABRMD_N=$((${T11_ABRMD_N:-0} + 1))
		echo "org.tpm11.test.Tpm$T11_ABRMD_N" >"$dir/abrmd.name"
	fi
	name=$(cat "$dir/abrmd.name")
	tpm2-abrmd --session --allow-root --dbus-name="$name" \
		--tcti="swtpm:path=$dir/tpm.sock" >>"$dir/abrmd.log" 2>&1 &
	pid=$!
	t11_own_pid "$pid"
	echo "$pid" >"$dir/abrmd.pid"
	export TPM11_TCTI="tabrmd:bus_name=$name,bus_type=session"
	export TPM2TOOLS_TCTI="$TPM11_TCTI"
	for _ in $(seq 100); do
		tpm2_getcap properties-fixed >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# tpm_is_clean [DIR]: no transient objects and no loaded sessions in the
# TPM: the swtpm itself (T11_RAW_TCTI, or the one in DIR), also in abrmd
# mode. A client's clean-up may lag its exit by a moment (tpm2-abrmd
# flushes when it sees the connection close): asks again for up to 1 s.
tpm_is_clean() {
	local tcti=${T11_RAW_TCTI:-$TPM2TOOLS_TCTI} t s i
	[ -n "${1:-}" ] && tcti="swtpm:path=$1/tpm.sock"
	for i in 1 2 3 4 5 6; do
		t=$(TPM2TOOLS_TCTI=$tcti tpm2_getcap handles-transient 2>&1) || { echo "$t"; return 1; }
		s=$(TPM2TOOLS_TCTI=$tcti tpm2_getcap handles-loaded-session 2>&1) || { echo "$s"; return 1; }
		[ -z "$t$s" ] && return 0
		[ "$i" = 6 ] || sleep 0.2
	done
	echo "transient: $t"; echo "sessions: $s"; return 1
}

# t11_clean WHAT: one test: the TPM is clean after WHAT (a client run).
t11_clean() { check "TPM clean after $*" tpm_is_clean; }
# t11_clean_abrupt WHAT ATTACKER-ARG...: for a client that can end without
# running its exit code (Chromium's processes end with _exit or are
# killed): the TPM is clean, or on a TPM without a resource manager it
# holds only what such a client left, which nobody can use without the
# PIN (DESIGN.md property 7): tests/security/attacker, with no PIN, is
# refused on every transient object and every stored PIN key (ARGs name
# the keys made without login, which it may use: --public LABEL).
t11_clean_abrupt() {
	local what=$1 att=$TPM11_BUILD/tests/security/attacker
	shift
	if tpm_is_clean >"$T11_TMP/clean.out" 2>&1; then ok "TPM clean after $what"; return; fi
	if t11_tpm_no_rm && [ -x "$att" ] &&
		TSS2_LOG=all+none "$att" --tcti "$T11_RAW_TCTI" "$@" >"$T11_TMP/att.out" 2>&1; then
		ok "after $what: what it left in the TPM is of no use without the PIN (the attacker: $(grep -c "^ok" "$T11_TMP/att.out") checks passed)"
		diag "  left: $(tr '\n' ' ' <"$T11_TMP/clean.out")"
	else
		not_ok "TPM clean after $what"; sed 's/^/# /' "$T11_TMP/clean.out" "$T11_TMP/att.out" 2>/dev/null | tail -n 20
	fi
}
# check_clean NAME CMD...: check NAME CMD..., then t11_clean NAME.
check_clean() { check "$@"; t11_clean "$1"; }
# t11_clean_served PID WHAT: t11_clean WHAT once the server PID (one we
# started, e.g. `p11-kit server`, which serves each client from a child
# process of its own) has no child left (up to 10 s).
t11_clean_served() {
	for _ in $(seq 100); do
		[ -z "$(ps -o pid= --ppid "$1" 2>/dev/null)" ] && break
		sleep 0.1
	done
	t11_clean "$2 (the server's process for it ended)"
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
