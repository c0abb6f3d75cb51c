#!/usr/bin/env bash
# fuzz/run.sh — build the fuzz targets and run each for a bounded time from
# its saved corpus; TAP output, one line per target.
#
#   fuzz/run.sh [TARGET...]
#   fuzz/run.sh --build-only      only build (meson -Dfuzz=true, clang)
#
# Each target starts from a copy of fuzz/corpus/TARGET (the saved corpus
# is never grown by a run; fuzz/make-corpus.sh remakes it) and runs for
# FUZZ_SECONDS. A crash, a leak, a sanitizer report or a failed check
# gives "not ok" with the reproducer's path and the command that replays
# it; the exit status is then non-zero.
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 30; tests/run uses 5, and
#                   600 with --long)
#   FUZZ_BUILD      build directory (default <source>/build-fuzz)
#   FUZZ_ARTIFACTS  where reproducers go (default $FUZZ_BUILD/artifacts)
#   FUZZ_NO_DEPS=1  never apt-get install clang / the libFuzzer runtime
#
# The build is meson's, in a directory of its own: clang,
# -Dfuzz=true (meson.build), ASan+UBSan, no module, tool or tests.
#
# Long run (the issue's closing note): FUZZ_SECONDS=600 fuzz/run.sh
# Replay one input: build-fuzz/fuzz/fuzz_attr path/to/input
set -uo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${FUZZ_SECONDS:=30}"
: "${FUZZ_BUILD:=$SRC/build-fuzz}"
case $FUZZ_BUILD in /*) ;; *) FUZZ_BUILD=$SRC/$FUZZ_BUILD ;; esac
: "${FUZZ_ARTIFACTS:=$FUZZ_BUILD/artifacts}"
export FUZZ_BUILD
ALL=(fuzz_attr fuzz_der fuzz_tpmpub fuzz_template fuzz_module fuzz_x509 fuzz_verifier)
build_only=0
[ "${1:-}" = --build-only ] && { build_only=1; shift; }
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tpm11-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# clang with its libFuzzer runtime: a program that links with
# -fsanitize=fuzzer. Installed when missing (Debian: clang and
# libclang-rt-<version>-dev), as tests/run installs its own packages.
have_libfuzzer() {
	local cc
	for cc in clang clang-14; do
		command -v "$cc" >/dev/null 2>&1 || continue
		printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)'\
'{(void)d;(void)n;return 0;}\n' >"$WORK/probe.c"
		"$cc" -fsanitize=fuzzer,address "$WORK/probe.c" -o "$WORK/probe" \
			>/dev/null 2>&1 && return 0
	done
	return 1
}
if ! have_libfuzzer && [ -z "${FUZZ_NO_DEPS:-}" ] &&
	command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	echo "# installing clang and the libFuzzer runtime"
	ver=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p')
	pkgs=(clang "libclang-rt-${ver:-14}-dev")
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" \
		</dev/null >"$WORK/apt.log" 2>&1 ||
		{ DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >>"$WORK/apt.log" 2>&1
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" \
			</dev/null >>"$WORK/apt.log" 2>&1; }
	if [ -z "$ver" ] && ! have_libfuzzer; then
		ver=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9]*\).*/\1/p')
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			"libclang-rt-$ver-dev" </dev/null >>"$WORK/apt.log" 2>&1
	fi
fi

echo "1..${#targets[@]}"
if ! have_libfuzzer; then
	for i in "${!targets[@]}"; do
		echo "not ok $((i + 1)) - ${targets[$i]}: no clang with libFuzzer (apt-get install clang libclang-rt-14-dev)"
	done
	exit 1
fi
# fuzz_build: the meson build in $FUZZ_BUILD (set up when it has none;
# a directory left by the old fuzz/build.sh, which had no build.ninja, is
# replaced).
fuzz_build() {
	local cc
	if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
		[ -f "$FUZZ_BUILD/libtpm11fuzz.a" ] && rm -rf "$FUZZ_BUILD"
		for cc in clang clang-14; do
			command -v "$cc" >/dev/null 2>&1 && break
		done
		CC=$cc meson setup "$FUZZ_BUILD" "$SRC" -Dfuzz=true \
			-Db_sanitize=address,undefined -Db_lundef=false \
			-Dc_args=-fno-omit-frame-pointer -Doptimization=1 -Dtests=false -Dbench=false \
			-Dman=disabled || return 1
	fi
	ninja -C "$FUZZ_BUILD" ${FUZZ_JOBS:+-j "$FUZZ_JOBS"}
}
if ! fuzz_build </dev/null >"$WORK/build.log" 2>&1; then
	for i in "${!targets[@]}"; do
		echo "not ok $((i + 1)) - ${targets[$i]}: the fuzz build (meson -Dfuzz=true) failed"
	done
	sed 's/^/# /' "$WORK/build.log" | tail -n 40
	exit 1
fi
if [ "$build_only" = 1 ]; then
	for i in "${!targets[@]}"; do
		echo "ok $((i + 1)) - ${targets[$i]}: built ($FUZZ_BUILD/fuzz/${targets[$i]})"
	done
	exit 0
fi

mkdir -p "$FUZZ_ARTIFACTS"
failed=0
n=0
for t in "${targets[@]}"; do
	n=$((n + 1))
	corpus=$WORK/corpus-$t
	mkdir -p "$corpus" "$WORK/tmp-$t"
	if [ -d "$SRC/fuzz/corpus/$t" ]; then
		cp -r "$SRC/fuzz/corpus/$t/." "$corpus/"
	fi
	log=$WORK/$t.log
	start=$(date +%s)
	# -timeout: one input taking this long is a hang, reported as such.
	TMPDIR=$WORK/tmp-$t timeout -k 10 $((FUZZ_SECONDS + 120)) \
		"$FUZZ_BUILD/fuzz/$t" -max_total_time="$FUZZ_SECONDS" -timeout=30 \
		-rss_limit_mb=2560 -max_len=4096 -print_final_stats=1 \
		-artifact_prefix="$FUZZ_ARTIFACTS/$t-" "$corpus" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	corp=$(find "$corpus" -type f | wc -l)
	if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
		echo "ok $n - $t: $runs runs, no crash (${secs}s, corpus $corp)"
		continue
	fi
	failed=$((failed + 1))
	repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
	if [ -n "$repro" ]; then
		echo "not ok $n - $t: crash after ${runs:-?} runs; reproducer $repro"
		echo "#   replay: $FUZZ_BUILD/fuzz/$t $repro"
	elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "not ok $n - $t: did not stop within $((FUZZ_SECONDS + 120))s"
	else
		echo "not ok $n - $t: exited with status $rc, no reproducer"
	fi
	# The report: from the first sanitizer/check line, at most 60 lines.
	awk '/fuzz check failed|ERROR: |runtime error|==[0-9]+==/ { on = 1 }
	     on && shown < 60 { print "# " $0; shown++ }' "$log"
	[ -s "$log" ] && ! grep -qE 'fuzz check failed|ERROR: |runtime error' "$log" &&
		tail -n 20 "$log" | sed 's/^/# /'
done
exit $((failed > 0))
