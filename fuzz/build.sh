#!/usr/bin/env bash
# fuzz/build.sh — build the libFuzzer targets of tpm11 with clang.
#
#   fuzz/build.sh [TARGET...]
#
# Compiles every src/*/*.c once with coverage instrumentation and
# ASan+UBSan into $FUZZ_BUILD/obj (default: <source>/build-fuzz), archives
# them, and links each fuzz/fuzz_*.c against that archive (the module's
# objects included: fuzz_module drives C_GetFunctionList in process, no
# dlopen). Objects are rebuilt only when a source or any header changed.
# A source file that does not compile (work in progress elsewhere in the
# tree) is left out with a warning: linking fails if a target needs it.
# Targets: fuzz_attr fuzz_der fuzz_tpmpub fuzz_template fuzz_module fuzz_x509
# fuzz_verifier (all by
# default), plus the seed generator `seedgen` used by make-corpus.sh.
#
# Environment:
#   FUZZ_BUILD   output directory (default <source>/build-fuzz)
#   CC           clang to use (default: clang, else clang-14)
#   FUZZ_JOBS    parallel compiles (default: nproc)
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${FUZZ_BUILD:=$SRC/build-fuzz}"
case $FUZZ_BUILD in /*) ;; *) FUZZ_BUILD=$SRC/$FUZZ_BUILD ;; esac
ALL_TARGETS=(fuzz_attr fuzz_der fuzz_tpmpub fuzz_template fuzz_module fuzz_x509 fuzz_verifier)

if [ -z "${CC:-}" ] || ! "$CC" --version 2>/dev/null | grep -q clang; then
	CC=
	for c in clang clang-14; do
		command -v "$c" >/dev/null 2>&1 && { CC=$c; break; }
	done
fi
if [ -z "$CC" ]; then
	echo "fuzz/build.sh: clang not found (apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
fi

PKGS=(tss2-esys tss2-sys tss2-mu tss2-rc tss2-tctildr libcrypto sqlite3 p11-kit-1)
read -r -a PKG_CFLAGS <<<"$(pkg-config --cflags "${PKGS[@]}")"
read -r -a PKG_LIBS <<<"$(pkg-config --libs "${PKGS[@]}")"

SAN=(-fsanitize=address,undefined -fno-sanitize-recover=all
	-fno-omit-frame-pointer -g -O1)
# version.h, as meson makes it from project()'s version (src/meson.build);
# rewritten only when it changes, so the objects stay fresh.
mkdir -p "$FUZZ_BUILD/gen"
ver=$(sed -n "s/^ *version : '\([0-9.]*\)',.*/\1/p" "$SRC/meson.build" | head -n 1)
IFS=. read -r vmaj vmin _ <<<"$ver"
printf '#pragma once\n#define TPM11_VERSION "%s"\n#define TPM11_VERSION_MAJOR %d\n#define TPM11_VERSION_MINOR %d\n' \
	"$ver" "$vmaj" "$vmin" >"$FUZZ_BUILD/gen/version.h.new"
if cmp -s "$FUZZ_BUILD/gen/version.h.new" "$FUZZ_BUILD/gen/version.h"; then
	rm -f "$FUZZ_BUILD/gen/version.h.new"
else
	mv "$FUZZ_BUILD/gen/version.h.new" "$FUZZ_BUILD/gen/version.h"
fi
COMMON=(-std=gnu11 -D_GNU_SOURCE -I"$SRC/src" -I"$FUZZ_BUILD/gen" "${PKG_CFLAGS[@]}" "${SAN[@]}")

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")

mkdir -p "$FUZZ_BUILD/obj"

# --- the project's sources, instrumented --------------------------------
mapfile -t srcs < <(cd "$SRC" && ls src/*/*.c | sort)
newest_header=$(find "$SRC/src" -name '*.h' -printf '%T@\n' | sort -n | tail -1)
stale=()
for s in "${srcs[@]}"; do
	o=$FUZZ_BUILD/obj/$(echo "${s%.c}" | tr / _).o
	if [ ! -f "$o" ] || [ "$SRC/$s" -nt "$o" ] ||
		[ "$(stat -c %Y "$o")" -lt "${newest_header%.*}" ]; then
		stale+=("$s")
	fi
done
if [ ${#stale[@]} -gt 0 ]; then
	echo "fuzz/build.sh: compiling ${#stale[@]} source files with $CC" >&2
	export CC FUZZ_BUILD SRC
	printf '%s\n' "${stale[@]}" |
		xargs -P "${FUZZ_JOBS:-$(nproc)}" -I{} sh -c '
			o="$FUZZ_BUILD/obj/$(echo "{}" | sed "s/\.c$//" | tr / _).o"
			log="$FUZZ_BUILD/obj/$(echo "{}" | tr / _).log"
			if "$CC" "$@" -fsanitize=fuzzer-no-link -c "$SRC/{}" -o "$o" \
				2>"$log"; then
				rm -f "$log"
			else
				rm -f "$o"
				echo "fuzz/build.sh: {} does not compile (see $log);" \
					"fine unless a target needs it" >&2
			fi
		' sh "${COMMON[@]}"
	rm -f "$FUZZ_BUILD/libtpm11fuzz.a"
fi
if [ ! -f "$FUZZ_BUILD/libtpm11fuzz.a" ]; then
	objs=()
	for s in "${srcs[@]}"; do
		o=$FUZZ_BUILD/obj/$(echo "${s%.c}" | tr / _).o
		[ -f "$o" ] && objs+=("$o")
	done
	ar rcs "$FUZZ_BUILD/libtpm11fuzz.a" "${objs[@]}"
fi

# --- harness helpers and targets ------------------------------------------
FUZZ_CFLAGS=(-Wall -Wextra -Werror "${COMMON[@]}")
helpers=()
for h in fuzz_input fuzz_store; do
	o=$FUZZ_BUILD/obj/$h.o
	if [ ! -f "$o" ] || [ "$SRC/fuzz/$h.c" -nt "$o" ] ||
		[ "$SRC/fuzz/$h.h" -nt "$o" ]; then
		"$CC" "${FUZZ_CFLAGS[@]}" -fsanitize=fuzzer-no-link -c \
			"$SRC/fuzz/$h.c" -o "$o"
	fi
	helpers+=("$o")
done

for t in "${targets[@]}"; do
	out=$FUZZ_BUILD/$t
	if [ "$t" = seedgen ]; then
		# A plain program (no libFuzzer main) that writes seed inputs.
		"$CC" "${FUZZ_CFLAGS[@]}" -fsanitize=fuzzer-no-link "$SRC/fuzz/seedgen.c" \
			"${helpers[@]}" "$FUZZ_BUILD/libtpm11fuzz.a" "${PKG_LIBS[@]}" -lpthread \
			-o "$out"
		continue
	fi
	[ -f "$SRC/fuzz/$t.c" ] || { echo "fuzz/build.sh: no fuzz/$t.c" >&2; exit 1; }
	"$CC" "${FUZZ_CFLAGS[@]}" -fsanitize=fuzzer "$SRC/fuzz/$t.c" "${helpers[@]}" \
		"$FUZZ_BUILD/libtpm11fuzz.a" "${PKG_LIBS[@]}" -lpthread -o "$out"
	echo "fuzz/build.sh: built $out" >&2
done
