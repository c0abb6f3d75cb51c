# Shared by the reliability scripts (issue 4); not a test itself (hence not
# *.sh, which tests/run would run). Source after
# tests/lib/common.sh.
#
# T11_LONG=1 selects the long mode of each script (the counts the issue
# asks for); the default is a short CI mode.

T11_REL_DIR=$T11_SRC/tests/reliability

t11_long() { [ "${T11_LONG:-0}" = 1 ]; }

# rel_prog NAME: prints the command that runs test program NAME (threads,
# fork, tpmgone, p11check): its path, or in the valgrind pass a wrapper
# (t11_prog). Meson builds them into $TPM11_BUILD/tests/reliability
# when tests/meson.build has subdir('reliability'); otherwise they are
# compiled here with gcc (plain, no sanitizer) into $T11_TMP.
rel_prog() {
	local name=$1 exe=$TPM11_BUILD/tests/reliability/$1
	if [ -x "$exe" ]; then t11_prog "$exe"; return 0; fi
	exe=$T11_TMP/bin/$name
	if [ ! -x "$exe" ]; then
		mkdir -p "$T11_TMP/bin"
		# shellcheck disable=SC2046
		gcc -O1 -g -std=gnu11 -D_GNU_SOURCE -o "$exe" \
			-I"$T11_SRC/tests/lib" "$T11_SRC/tests/lib/t11test.c" \
			"$T11_REL_DIR/$name.c" "$T11_REL_DIR/rel.c" \
			$(pkg-config --cflags p11-kit-1 libcrypto) \
			$(pkg-config --libs libcrypto) -ldl -lpthread >&2 || return 1
	fi
	t11_prog "$exe"
}

# rel_require_prog VAR NAME: sets VAR to the program's path, or fails the
# test and exits.
rel_require_prog() {
	local p
	if ! p=$(rel_prog "$2") || [ ! -x "$p" ]; then
		not_ok "test program $2 is built"
		t11_done
		exit 1
	fi
	printf -v "$1" '%s' "$p"
}

# rel_run_tap PREFIX TIMEOUT CMD...: runs a TAP producer (a t11test.h program)
# with our numbering, merges its results into ours and adds one test that
# it ran to completion. Its stderr is shown on failure.
rel_run_tap() {
	rel_start_tap "$@"
	rel_finish_tap
}

# rel_start_tap PREFIX TIMEOUT CMD...: the same, started in the
# background; the caller must print no TAP line until rel_finish_tap.
rel_start_tap() {
	REL_TAP_PREFIX=$1 REL_TAP_SECS=$2 REL_TAP_NAME=$(basename "$3")
	shift 2
	REL_LAST_OUT=$(mktemp "$T11_TMP/tap.XXXXXX")
	( TAP_START=$((T11_TAP_N + 1)) TAP_PREFIX=$REL_TAP_PREFIX \
		t11_timeout "$REL_TAP_SECS" "$@" >"$REL_LAST_OUT" 2>"$REL_LAST_OUT.err" </dev/null
	  echo $? >"$REL_LAST_OUT.rc" ) &
	REL_TAP_PID=$!
}

rel_finish_tap() {
	local rc
	wait "$REL_TAP_PID"
	rc=$(cat "$REL_LAST_OUT.rc" 2>/dev/null || echo 1)
	cat "$REL_LAST_OUT"
	tap_merged "$REL_TAP_PREFIX$REL_TAP_NAME" "$REL_LAST_OUT" "$REL_LAST_OUT.err" \
		"$rc" "$REL_TAP_SECS"
}

# rel_swtpm_pid DIR: the swtpm's PID (from swtpm_start's pid file).
rel_swtpm_pid() { cat "$1/swtpm.pid" 2>/dev/null; }

# rel_abrmd_restart DIR: stops the tpm2-abrmd in front of the swtpm in DIR
# (by its PID) and starts it again, on the same private D-Bus with the same
# bus name (so that running programs can reach it).
rel_abrmd_restart() {
	t11_stop_pid "$(cat "$1/abrmd.pid" 2>/dev/null)"
	abrmd_launch "$1"
}

# rel_make_token LABEL SOPIN USERPIN KEY...: a token with keys, each KEY
# "key-label algorithm". Each step is a test, and so is the TPM's being
# clean after it.
rel_make_token() {
	local label=$1 so=$2 user=$3 k kl alg
	shift 3
	check_clean "tpm11 addtoken --label $label" "$TPM11_TOOL" addtoken \
		--label "$label" --sopin "$so" --userpin "$user"
	for k in "$@"; do
		read -r kl alg <<<"$k"
		check_clean "tpm11 addkey --label $label --algorithm $alg --key-label $kl" \
			"$TPM11_TOOL" addkey --label "$label" --algorithm "$alg" \
			--key-label "$kl" --userpin "$user"
	done
}

# rel_exit_ok STATUS: true when a command ended by itself (no signal,
# no crash): status below 128.
rel_exit_ok() { [ "$1" -lt 128 ]; }

# --- tsan.sh: a sanitizer build of its own (the ASan and valgrind runs are
# tests/run's passes, tests/lib/sanitize.bash) ---------------------------

# rel_san_build DIR MESON-OPTION...: configures (once) and builds DIR with
# the given options: only what the tests run (module, tool, module_test,
# the reliability programs), not the benchmark or fuzz targets. Honours
# TPM11_NO_BUILD=1 (then DIR must already be built) and TPM11_JOBS.
rel_san_build() {
	local dir=$1 t targets=() jobs=()
	shift
	if [ "${TPM11_NO_BUILD:-}" = 1 ]; then
		[ -f "$dir/build.ninja" ]; return
	fi
	[ -n "${TPM11_JOBS:-}" ] && jobs=(-j "$TPM11_JOBS")
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$@" "$dir" "$T11_SRC" >"$T11_TMP/meson-setup.log" 2>&1 ||
			{ tail -n 30 "$T11_TMP/meson-setup.log"; return 1; }
	fi
	for t in src/libtpm11.so tools/tpm11/tpm11 tests/integration/module_test \
		tests/reliability/threads tests/reliability/fork \
		tests/reliability/tpmgone tests/reliability/p11check; do
		ninja -C "$dir" -t query "$t" >/dev/null 2>&1 && targets+=("$t")
	done
	ninja -C "$dir" "${jobs[@]}" "${targets[@]}" >"$T11_TMP/ninja.log" 2>&1 ||
		{ tail -n 30 "$T11_TMP/ninja.log"; return 1; }
}

# rel_run_script PREFIX SCRIPT: runs another TAP script of the suite and
# merges its results into ours, each name prefixed; its plan is dropped.
rel_run_script() {
	local prefix=$1 script=$2 out rc line n=0 f=0
	out=$(mktemp "$T11_TMP/script.XXXXXX")
	t11_timeout "${REL_SCRIPT_SECS:-600}" bash "$script" </dev/null >"$out" 2>&1
	rc=$?
	while IFS= read -r line; do
		if [[ $line =~ ^(not\ )?ok\ [0-9]+\ -\ (.*)$ ]]; then
			local neg=${BASH_REMATCH[1]} tname=${BASH_REMATCH[2]}
			n=$((n + 1))
			if [ -n "$neg" ]; then
				if [[ $tname =~ \#[[:space:]]*[Tt][Oo][Dd][Oo] ]]; then
					T11_TAP_N=$((T11_TAP_N + 1)); echo "not ok $T11_TAP_N - $prefix$tname"
				else
					f=$((f + 1)); not_ok "$prefix$tname"
				fi
			else
				ok "$prefix$tname"
			fi
		elif [[ $line =~ ^# ]]; then
			echo "$line"
		fi
	done <"$out"
	if [ "$n" -gt 0 ] && { [ "$rc" = 0 ] || [ "$f" -gt 0 ]; }; then
		ok "$prefix$(basename "$script") ran to completion ($n tests, $f failed)"
	else
		not_ok "$prefix$(basename "$script") ran to completion (exit $rc, $n tests)"
		grep -vE '^(not )?ok ' "$out" | tail -n 20 | sed 's/^/# /'
	fi
}

# rel_san_logs DIR WHAT: one test: no sanitizer/valgrind report files in
# DIR (their first lines are shown otherwise).
rel_san_logs() {
	local dir=$1 what=$2 f n
	n=$(find "$dir" -type f -size +0 | wc -l)
	if [ "$n" = 0 ]; then
		ok "no $what reports"
	else
		not_ok "no $what reports ($n report files)"
		for f in $(find "$dir" -type f -size +0 | head -n 5); do
			diag "--- $f"
			head -n 60 "$f" | sed 's/^/#   /'
		done
	fi
}
