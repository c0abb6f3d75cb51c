#!/usr/bin/env bash
# valgrind memcheck (issue 4, item 10), on the plain build:
#  1. tests/integration/module.sh with module_test run under valgrind,
#     once with the TPM reached directly and once through tpm2-abrmd;
#  2. tests/reliability/fork under valgrind (parent, its signing thread,
#     children that C_Initialize and sign).
# --leak-check=full; definite leaks count. Processes started by the test
# must have an empty report (no error, no definite leak). Forked children
# are followed too: a child must show no memory error and no definite leak
# with a frame in tpm11's own code (src/); memory that only the parent's
# other threads referenced (GLib's D-Bus threads, OpenSSL thread-local
# data) is lost in any forked child and is not counted.
# Suppressions (valgrind.supp) are for third-party code only.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/rel-lib.bash"
t11_require_build
rel_require_prog FORK fork
command -v valgrind >/dev/null || { not_ok "valgrind is installed"; t11_done; exit 1; }

VGLOG=$T11_TMP/vglog
mkdir -p "$VGLOG"

# vg_wrapper OUT REAL: a program OUT that runs REAL under valgrind, logging
# to $VGLOG/<name>.<pid> and noting its own PID (valgrind keeps it) in
# $VGLOG/parents.
vg_wrapper() {
	local out=$1 real=$2
	mkdir -p "$(dirname "$out")"
	{
		echo '#!/bin/sh'
		printf 'echo $$ >>%q\n' "$VGLOG/parents"
		printf 'exec valgrind -q --leak-check=full --show-leak-kinds=definite'
		printf ' --errors-for-leak-kinds=definite --child-silent-after-fork=no'
		printf ' --fullpath-after= --num-callers=30 --suppressions=%q' "$T11_REL_DIR/valgrind.supp"
		printf ' --log-file=%q %q "$@"\n' "$VGLOG/$(basename "$real").%p" "$real"
	} >"$out"
	chmod +x "$out"
}

# judge_logs NAME: one test for the started processes' reports, one for
# their forked children's.
judge_logs() {
	local name=$1 f pid bad_p=0 bad_c=0 nchild=0
	for f in "$VGLOG"/*.[0-9]*; do
		[ -e "$f" ] || continue
		case $f in *.bad) continue ;; esac
		pid=${f##*.}
		if grep -qx "$pid" "$VGLOG/parents"; then
			if [ -s "$f" ]; then
				bad_p=$((bad_p + 1)); diag "--- $(basename "$f")"; head -n 50 "$f" | sed 's/^/#   /'
			fi
			continue
		fi
		nchild=$((nchild + 1))
		# Frames in tpm11's own sources (valgrind prints paths as the
		# compiler saw them: <build>/../src/...).
		awk '
			function flush() { if (rec != "" && (err || (leak && mine))) { print rec; found = 1 } }
			/^==[0-9]+== [^ ]/ {
				flush(); rec = ""; err = 0; leak = 0; mine = 0
				if ($0 ~ /Invalid (read|write|free)|uninitialised|Mismatched free|overlap|Syscall param/) err = 1
				if ($0 ~ /definitely lost in loss record/) leak = 1
			}
			{ rec = rec "\n" $0; if ($0 ~ /\/src\/(pkcs11|token|tpm|store|attr|crypto|util)\/[a-z_]+\.c:/) mine = 1 }
			END { flush(); exit found }' "$f" >"$f.bad" ||
			{ bad_c=$((bad_c + 1)); diag "--- forked child $(basename "$f")"; head -n 50 "$f.bad" | sed 's/^/#   /'; }
	done
	if [ "$bad_p" = 0 ]; then ok "$name: valgrind reports nothing for the processes the test started"
	else not_ok "$name: valgrind reports nothing for the processes the test started ($bad_p reports)"; fi
	if [ "$bad_c" = 0 ]; then ok "$name: forked children ($nchild): no memory error, no leak in tpm11 code"
	else not_ok "$name: forked children ($nchild): no memory error, no leak in tpm11 code ($bad_c children)"; fi
	mkdir -p "$VGLOG/done-$name"
	mv "$VGLOG"/*.[0-9]* "$VGLOG/parents" "$VGLOG/done-$name/" 2>/dev/null
}

# 1. module.sh, its module_test wrapped: a build directory whose
# tests/integration/module_test runs the real one under valgrind.
REAL=$TPM11_BUILD/tests/integration/module_test
if [ -x "$REAL" ]; then
	vg_wrapper "$T11_TMP/vgbuild/tests/integration/module_test" "$REAL"
	TPM11_BUILD=$T11_TMP/vgbuild TPM11_MODULE=$TPM11_MODULE TPM11_TOOL=$TPM11_TOOL \
		rel_run_script "valgrind: " "$T11_SRC/tests/integration/module.sh"
	judge_logs "module_test"
else
	not_ok "built: $REAL"
fi

# 2. fork, children followed; each initialising child on its own copy of
# the TPM (see fork.sh).
export T11_TOKEN=REL T11_PIN=vg-user-1234
swtpm_start "$T11_TMP/tpm" || { not_ok "swtpm starts"; t11_done; exit 1; }
check "tpm11 init" "$TPM11_TOOL" init
rel_make_token REL vg-so-1234 "$T11_PIN" "p256 ecc256" "rsa2048 rsa2048"
parent_tcti=$TPM11_TCTI
for i in 1 2; do
	mkdir -p "$T11_TMP/clone$i"
	cp -a "$T11_TMP/tpm/state" "$T11_TMP/clone$i/state"
	swtpm_start "$T11_TMP/clone$i" || not_ok "swtpm copy $i starts"
done
export TPM11_TCTI=$parent_tcti TPM2TOOLS_TCTI=$parent_tcti
vg_wrapper "$T11_TMP/vgbin/fork" "$FORK"
if abrmd_start "$T11_TMP/tpm"; then
	rel_run_tap "valgrind: " 600 "$T11_TMP/vgbin/fork" -c 1 -n 5 \
		--child-tcti "swtpm:path=$T11_TMP/clone%u/tpm.sock"
	rel_abrmd_stop "$T11_TMP/tpm"
	judge_logs "fork"
else
	not_ok "tpm2-abrmd starts"
fi

t11_done
