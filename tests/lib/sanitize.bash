# shellcheck shell=bash disable=SC2016
# Sanitizer passes of the test suite (issue 4, item 10): sourced by
# tests/lib/common.sh when T11_SANITIZE is set, and by tests/lib/sanrun.
# Not a test itself (hence not *.sh).
#
#   T11_SANITIZE=asan      the module, the tool and the test programs come
#                          from an ASan+UBSan build (tests/run points
#                          TPM11_BUILD there); third-party programs that
#                          load the module run with libasan preloaded.
#   T11_SANITIZE=valgrind  the plain build; the tool, our test programs and
#                          the third-party programs run under valgrind
#                          memcheck.
#
# Every report goes to a file in $T11_SAN_LOG (one directory per test,
# made by tests/lib/sanrun); tests/lib/sanjudge reads them after the test.
#
# Third-party programs are reached through a directory of wrappers put
# first on PATH (t11_san_wrappers): each wrapper runs the real program,
# found on PATH at set-up time, sanitized. ssh-agent runs its PKCS#11
# helper by absolute path; SSH_PKCS11_HELPER (honoured by ssh-agent) names
# a wrapper instead. Not wrapped, because they never load the module:
# swtpm, tpm2-abrmd, tpm2-tools, sshd, ssh-agent and ssh-add (the agent's
# helper does the loading), bash, sqlite3. Chromium cannot run with an
# ASan runtime or under valgrind: it runs as it is, with the plain build's
# module (T11_CHROMIUM_MODULE in the asan pass), see tests/e2e/browser.sh.

T11_SAN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Third-party programs that load the module (directly, through NSS, or,
# for openssl, through an engine).
T11_SAN_PROGRAMS=(ssh ssh-keygen pkcs11-tool p11tool certtool gnutls-cli
	p11-kit openssl modutil certutil pk12util)

# How much slower a sanitized process is, roughly: in-script timeouts are
# multiplied by it (the `timeout` wrapper), as are a few waits in the
# reliability scripts. (tests/run has its own per-test factors.)
t11_san_slow() {
	case ${T11_SANITIZE:-} in
	asan) echo 3 ;;
	valgrind) echo 10 ;;
	*) echo 1 ;;
	esac
}

# t11_san_env: the sanitizer runtimes' options, reports into $T11_SAN_LOG.
# Leaks and errors never change a process's exit status (exitcode=0 for
# LeakSanitizer, no --error-exitcode for valgrind): the test sees the
# program behave as it does unsanitized, and sanjudge decides from the
# reports. An ASan error still stops the process (ASan cannot go on).
t11_san_env() {
	: "${T11_SAN_LOG:?}"
	mkdir -p "$T11_SAN_LOG"
	export T11_SAN_LOG
	# Allocation stacks come from the fast (frame-pointer) unwinder: tpm11
	# is built with -fno-omit-frame-pointer, but Debian's libraries are
	# not, so the stack of memory that OpenSSL or tpm2-tss allocate for
	# tpm11 can stop short of tpm11's frames. The slow unwinder
	# (fast_unwind_on_malloc=0) costs 20x on OpenSSL-heavy programs; it is
	# used only in the wrappers of third-party programs, and the valgrind
	# pass, whose unwinder reads the unwind tables, covers the rest.
	export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:malloc_context_size=40:log_path=$T11_SAN_LOG/san:suppressions=$T11_SAN_DIR/asan.supp"
	export LSAN_OPTIONS="exitcode=0:suppressions=$T11_SAN_DIR/lsan.supp:print_suppressions=0"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$T11_SAN_LOG/san"
	T11_SAN_SLOW=$(t11_san_slow)
	export T11_SAN_SLOW
}

# t11_san_valgrind_cmd NAME: the valgrind command line (as words on
# stdout, one per line) for a program called NAME.
t11_san_valgrind_cmd() {
	printf '%s\n' valgrind -q --tool=memcheck --leak-check=full \
		--show-leak-kinds=definite --errors-for-leak-kinds=none \
		--keep-debuginfo=yes --num-callers=40 --fullpath-after= \
		--child-silent-after-fork=no --trace-children=no --fair-sched=try \
		--gen-suppressions=all --suppressions="$T11_SAN_DIR/valgrind.supp" \
		--log-file="$T11_SAN_LOG/vg.$1.%p"
}

# t11_san_real_path NAME: NAME on PATH, skipping wrapper directories.
t11_san_real_path() {
	local d IFS=:
	for d in $PATH; do
		[ -e "$d/.t11-sanbin" ] && continue
		if [ -x "$d/$1" ] && [ ! -d "$d/$1" ]; then echo "$d/$1"; return 0; fi
	done
	return 1
}

# t11_san_shim DIR: the library preloaded after libasan into third-party
# programs (prints its path; compiled once per test, or taken from
# $T11_SAN_SHIM):
#  - dlclose() keeps the library loaded (returns 0), so that LeakSanitizer
#    can still symbolize the module's frames at exit after the program
#    dlclose()d it (valgrind has --keep-debuginfo for that);
#  - newlocale() initialises ASan first. A preloaded libasan initialises
#    after the constructors of the program's libraries; libp11-kit's
#    constructor calls newlocale(), whose first malloc() then initialises
#    ASan while glibc's setlocale lock is held, and the lock is left
#    broken: p11-kit, p11tool, certtool and gnutls-cli hang in
#    newlocale()/freelocale() (glibc 2.36, GCC 12's libasan).
t11_san_shim() {
	local so=$1/t11-asan-shim.so
	if [ -n "${T11_SAN_SHIM:-}" ] && [ -f "$T11_SAN_SHIM" ]; then
		echo "$T11_SAN_SHIM"; return 0
	fi
	if [ ! -f "$so" ]; then
		mkdir -p "$1"
		cat >"$1/t11-asan-shim.c" <<'EOC'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <locale.h>
extern void __asan_init(void);
int dlclose(void *handle) { (void)handle; return 0; }
locale_t newlocale(int mask, const char *name, locale_t base)
{
	static locale_t (*real)(int, const char *, locale_t);
	__asan_init();
	if (!real)
		real = (locale_t (*)(int, const char *, locale_t))dlsym(RTLD_NEXT, "newlocale");
	return real(mask, name, base);
}
EOC
		gcc -shared -fPIC -O1 -o "$so" "$1/t11-asan-shim.c" -ldl >&2 || return 1
	fi
	echo "$so"
}

# t11_san_wrap OUT REAL: writes wrapper OUT that runs REAL sanitized.
# Every wrapper holds a shared lock on $T11_SAN_LOG/.alive for the life of
# the program (and of children that keep the descriptor), so that sanrun
# can wait for stragglers before it reads the reports; and writes its name
# and PID (the program keeps it) to $T11_SAN_LOG/.runs, which tells the
# processes a test started from the children they forked.
t11_san_wrap() {
	local out=$1 real=$2 name w
	name=$(basename "$out"); name=${name%.sanitized}
	mkdir -p "$(dirname "$out")"
	{
		echo '#!/bin/sh'
		echo "# tpm11 sanitizer wrapper ($T11_SANITIZE) for $real (tests/lib/sanitize.bash)"
		printf 'echo "%s $$" >>%q\n' "$name" "$T11_SAN_LOG/.runs"
		printf 'exec 9>>%q; flock -s 9\n' "$T11_SAN_LOG/.alive"
		case $T11_SANITIZE in
		asan)
			printf 'LD_PRELOAD=%q${LD_PRELOAD:+:$LD_PRELOAD}\nexport LD_PRELOAD\n' "$T11_SAN_PRELOAD"
			# A program's own suppressions (asan-NAME.supp), for bugs
			# of that program only, replace asan.supp.
			w=; [ -f "$T11_SAN_DIR/asan-$name.supp" ] && w=":suppressions=$T11_SAN_DIR/asan-$name.supp"
			printf 'ASAN_OPTIONS=${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0%s\nexport ASAN_OPTIONS\n' "$w"
			printf 'exec %q "$@"\n' "$real" ;;
		valgrind)
			printf 'exec'
			while IFS= read -r w; do printf ' %q' "$w"; done < <(t11_san_valgrind_cmd "$name")
			printf ' %q "$@"\n' "$real" ;;
		esac
	} >"$out"
	chmod 755 "$out"
}

# t11_san_wrap_openssl OUT REAL: openssl loads the module only through an
# engine (-engine pkcs11, or an OPENSSL_CONF that names one); only those
# runs are sanitized (the many plain `openssl x509/req/dgst` calls are
# not, to keep the valgrind pass short).
t11_san_wrap_openssl() {
	local out=$1 real=$2
	t11_san_wrap "$out.sanitized" "$real"
	{
		echo '#!/bin/sh'
		echo "# tpm11 sanitizer wrapper: openssl sanitized when it loads an engine"
		echo 'case " $* " in *" -engine "*) exec "$0.sanitized" "$@" ;; esac'
		echo 'if [ -n "${OPENSSL_CONF:-}" ] && grep -qs "^engines *=" "$OPENSSL_CONF"; then exec "$0.sanitized" "$@"; fi'
		printf 'exec %q "$@"\n' "$real"
	} >"$out"
	chmod 755 "$out"
}

# t11_san_wrap_timeout OUT REAL: timeout(1) with its durations (DURATION
# and -k/--kill-after) multiplied by T11_SAN_SLOW, and --foreground.
t11_san_wrap_timeout() {
	local out=$1 real=$2
	cat >"$out" <<EOF
#!/usr/bin/env bash
# tpm11 sanitizer wrapper: timeout(1) with durations x \$T11_SAN_SLOW
scale() {
	local n=\${1%[smhd]} u=\${1##*[0-9.]}
	awk -v n="\$n" -v f="\${T11_SAN_SLOW:-1}" -v u="\$u" 'BEGIN { printf "%.3f%s\n", n * f, u }'
}
args=()
while [ \$# -gt 0 ]; do
	case \$1 in
	-k) args+=("\$1" "\$(scale "\$2")"); shift 2 ;;
	--kill-after=*) args+=("--kill-after=\$(scale "\${1#*=}")"); shift ;;
	-s) args+=("\$1" "\$2"); shift 2 ;;
	-*) args+=("\$1"); shift ;;
	*) break ;;
	esac
done
[ \$# -gt 0 ] && { args+=("\$(scale "\$1")"); shift; }
# --foreground: no process group of its own, so that tests/run's timeout,
# which signals the test's process group, reaches the command too.
exec $(printf %q "$real") --foreground "\${args[@]}" "\$@"
EOF
	chmod 755 "$out"
}

# t11_san_prog PATH: the command to run our own program PATH (a test
# program or the tool) sanitized: under valgrind a wrapper, with ASan the
# program itself (it is ASan-built).
t11_san_prog() {
	local real=$1 out
	if [ "${T11_SANITIZE:-}" != valgrind ] || grep -qs '^# tpm11 sanitizer wrapper' "$real"; then
		echo "$real"; return 0
	fi
	out=$T11_SANBIN/own/$(basename "$real")
	mkdir -p "$T11_SANBIN/own"
	[ -x "$out" ] || t11_san_wrap "$out" "$real"
	echo "$out"
}

# t11_san_wrappers DIR: the wrapper directory, first on PATH.
t11_san_wrappers() {
	local dir=$1 p real
	T11_SANBIN=$dir
	mkdir -p "$dir"
	: >"$dir/.t11-sanbin"
	t11_san_env
	if [ "$T11_SANITIZE" = asan ]; then
		T11_SAN_PRELOAD="$(gcc -print-file-name=libasan.so):$(t11_san_shim "$dir")" || return 1
	fi
	for p in "${T11_SAN_PROGRAMS[@]}"; do
		real=$(t11_san_real_path "$p") || continue
		if [ "$p" = openssl ]; then t11_san_wrap_openssl "$dir/$p" "$real"
		else t11_san_wrap "$dir/$p" "$real"; fi
	done
	real=$(t11_san_real_path timeout) && t11_san_wrap_timeout "$dir/timeout" "$real"
	real=${SSH_PKCS11_HELPER:-/usr/lib/openssh/ssh-pkcs11-helper}
	case $real in "$dir"/*) ;; *)
		if [ -x "$real" ]; then
			t11_san_wrap "$dir/ssh-pkcs11-helper" "$real"
			export SSH_PKCS11_HELPER=$dir/ssh-pkcs11-helper
		fi ;;
	esac
	export PATH="$dir:$PATH"
}
