#!/usr/bin/env bash
# t11-modes: direct -- installing touches no TPM
# `make PREFIX=... install` takes effect on a build directory that was
# configured with another prefix (as ./scripts/demo leaves build/): one
# build directory, set up as the demo does, installed into two temporary
# prefixes (the second with LIBDIR=lib64 and P11KIT_MODULE_DIR). Every file
# lands under its prefix (meson's install log, and the files where
# `sudo make install` would put them are untouched), tpm11.module names
# the module of its own prefix, the installed tool runs, and p11-kit finds
# a module under a private prefix through ~/.config/pkcs11/modules as
# README.md and tpm11(7) say. No root needed (as root, p11-kit ignores user
# configuration, so that step runs as nobody).
. "$(dirname "$0")/../lib/common.sh"
t11_require_build
if [ -n "${T11_SANITIZE:-}" ]; then
	ok "make PREFIX=... install # SKIP builds and installs a plain build of its own; runs in the plain pass"
	t11_done; exit 0
fi

B=$T11_TMP/build
P1=$T11_TMP/pub/p1
P2=$T11_TMP/pub/p2
MODDIR2=$T11_TMP/pub/p11kit-elsewhere
mkdir -p "$T11_TMP/pub"

# The places a default `sudo make install` writes: they must not change.
SYSTEM=(/usr/local/bin/tpm11 /usr/local/lib/pkcs11/libtpm11.so
	/usr/local/share/man/man1/tpm11.1 /usr/local/share/man/man7/tpm11.7
	/usr/local/share/bash-completion/completions/tpm11
	/usr/share/p11-kit/modules/tpm11.module /etc/pkcs11/modules/tpm11.module)
sys_state() {
	local f
	for f in "${SYSTEM[@]}"; do
		if [ -e "$f" ]; then stat -c '%n %Y %s' "$f"; else echo "$f absent"; fi
	done
}
sys_state >"$T11_TMP/sys.before"

# --- a build directory configured as the demo does (default prefix) ---------
t0=$(date +%s)
if (cd "$T11_SRC" && meson setup -Dtests=false -Dbench=false "$B") </dev/null >"$T11_TMP/setup.log" 2>&1 &&
	ninja -C "$B" -j2 </dev/null >"$T11_TMP/ninja.log" 2>&1; then
	ok "meson setup (prefix /usr/local, as ./scripts/demo) and build ($(($(date +%s) - t0)) s)"
else
	not_ok "meson setup and build"; tail -n 30 "$T11_TMP/setup.log" "$T11_TMP/ninja.log" | sed 's/^/# /'
	t11_done; exit 1
fi

# install_into NAME PREFIX [MAKE-VARIABLE...]: make install; checks that
# make said it reconfigures, and that meson's install log lists only
# files under PREFIX (or under P11KIT_MODULE_DIR when given).
install_into() {
	local name=$1 prefix=$2 out=$T11_TMP/make-$1.log extra_dir="" f outside
	shift 2
	for f in "$@"; do case $f in P11KIT_MODULE_DIR=*) extra_dir=${f#*=} ;; esac; done
	if make -C "$T11_SRC" BUILD="$B" PREFIX="$prefix" "$@" install </dev/null >"$out" 2>&1; then
		ok "$name: make PREFIX=$prefix $* install"
	else
		not_ok "$name: make PREFIX=$prefix $* install"; tail -n 20 "$out" | sed 's/^/# /'
		return 1
	fi
	if grep -q "^make: .*reconfiguring for $prefix " "$out"; then
		ok "$name: make says it reconfigures the build directory for $prefix"
	else
		not_ok "$name: make says it reconfigures the build directory for $prefix"; sed 's/^/# /' "$out" | head -20
	fi
	outside=$(grep -v '^#' "$B/meson-logs/install-log.txt" | while IFS= read -r f; do
		case $f in "$prefix" | "$prefix"/*) continue ;; esac
		if [ -n "$extra_dir" ]; then case $f in "$extra_dir" | "$extra_dir"/*) continue ;; esac; fi
		echo "$f"
	done)
	if [ -z "$outside" ]; then ok "$name: every installed file is under $prefix${extra_dir:+ or $extra_dir} ($(grep -vc '^#' "$B/meson-logs/install-log.txt") files and directories)"
	else not_ok "$name: files installed outside the prefix: $(echo $outside)"; fi
}

# expect_files NAME PREFIX LIBDIR MODDIR: the installed layout.
expect_files() {
	local name=$1 prefix=$2 libdir=$3 moddir=$4 f mline
	for f in "$prefix/bin/tpm11" "$prefix/$libdir/pkcs11/libtpm11.so" \
		"$moddir/tpm11.module" "$prefix/share/man/man1/tpm11.1" \
		"$prefix/share/man/man7/tpm11.7" "$prefix/share/bash-completion/completions/tpm11"; do
		case $f in
		*/man/*) [ -f "$B/docs/man/tpm11.1" ] || { ok "$name: ${f#"$T11_TMP"/} # SKIP built without man pages (scdoc missing)"; continue; } ;;
		esac
		if [ -f "$f" ]; then ok "$name: ${f#"$T11_TMP"/} installed"; else not_ok "$name: ${f#"$T11_TMP"/} installed"; fi
	done
	mline=$(sed -n 's/^module:[[:space:]]*//p' "$moddir/tpm11.module" 2>/dev/null)
	if [ "$mline" = "$prefix/$libdir/pkcs11/libtpm11.so" ]; then ok "$name: tpm11.module names $mline"
	else not_ok "$name: tpm11.module names $prefix/$libdir/pkcs11/libtpm11.so (module: '$mline')"; fi
	if "$prefix/bin/tpm11" --help </dev/null | grep -q '^usage: tpm11'; then ok "$name: the installed tool runs"
	else not_ok "$name: the installed tool runs"; fi
}

install_into p1 "$P1" && expect_files p1 "$P1" lib "$P1/share/p11-kit/modules"
# the same build directory, another prefix, libdir and module file place
install_into p2 "$P2" LIBDIR=lib64 P11KIT_MODULE_DIR="$MODDIR2" &&
	expect_files p2 "$P2" lib64 "$MODDIR2"
if [ -f "$P1/lib/pkcs11/libtpm11.so" ] && [ ! -e "$P2/lib/pkcs11/libtpm11.so" ] &&
	[ ! -e "$P2/share/p11-kit/modules/tpm11.module" ]; then
	ok "p2 went to lib64 and P11KIT_MODULE_DIR only; p1 stays"
else
	not_ok "p2 went to lib64 and P11KIT_MODULE_DIR only; p1 stays"; find "$T11_TMP/pub" -type f | sed 's/^/# /'
fi
# the same prefix again: nothing to reconfigure, nothing said
make -C "$T11_SRC" BUILD="$B" PREFIX="$P2" LIBDIR=lib64 P11KIT_MODULE_DIR="$MODDIR2" install </dev/null >"$T11_TMP/make-again.log" 2>&1
if grep -q reconfiguring "$T11_TMP/make-again.log"; then not_ok "same PREFIX again: no reconfiguration"
else ok "same PREFIX again: no reconfiguration"; fi
check_fails "make PREFIX=relative/path stops" make -C "$T11_SRC" BUILD="$B" PREFIX=relative/path install
grep -q "PREFIX must be an absolute path" "$T11_TMP/last.out" && ok "and says why" || not_ok "and says why"

sys_state >"$T11_TMP/sys.after"
if cmp -s "$T11_TMP/sys.before" "$T11_TMP/sys.after"; then ok "nothing written where a default install goes (/usr/local, /usr/share/p11-kit/modules, /etc/pkcs11/modules)"
else not_ok "nothing written where a default install goes"; diff "$T11_TMP/sys.before" "$T11_TMP/sys.after" | sed 's/^/# /'; fi

# --- p11-kit and a private prefix --------------------------------------------------
# p11-kit does not read <prefix>/share/p11-kit/modules; a copy of the
# module file in ~/.config/pkcs11/modules registers the module for one user.
if ! command -v p11-kit >/dev/null; then
	ok "p11-kit finds the module through ~/.config/pkcs11/modules # SKIP p11-kit is not installed"
	t11_done; exit $?
fi
H=$T11_TMP/pub/home
mkdir -p "$H/.config/pkcs11/modules" "$H/store"
cp "$P1/share/p11-kit/modules/tpm11.module" "$H/.config/pkcs11/modules/"
run_as_user=()
if [ "$(id -u)" -eq 0 ]; then
	# p11-kit skips user configuration for root: nobody, with read access
	chmod 755 "$T11_TMP" "$T11_TMP/pub"
	chown -R 65534:65534 "$H"
	run_as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
fi
"${run_as_user[@]}" env HOME="$H" XDG_CONFIG_HOME="$H/.config" TPM11_STORE="$H/store" \
	TPM11_TCTI="swtpm:path=$T11_TMP/nowhere.sock" timeout 60 p11-kit list-modules \
	</dev/null >"$T11_TMP/lm" 2>"$T11_TMP/lm.err"
# 0.24 prints "tpm11: PATH", later versions "module: tpm11" then "path: PATH"
if grep -qE "^(tpm11: $P1/lib/pkcs11/libtpm11.so|module: tpm11)\$" "$T11_TMP/lm" &&
	grep -qE "(^tpm11: |path: )$P1/lib/pkcs11/libtpm11.so\$" "$T11_TMP/lm"; then
	ok "p11-kit list-modules shows tpm11 from $P1 through ~/.config/pkcs11/modules${run_as_user:+ (as nobody)}"
else
	not_ok "p11-kit list-modules shows tpm11 from $P1 through ~/.config/pkcs11/modules"
	grep -E '^[a-z]' "$T11_TMP/lm" | sed 's/^/# /'; tail -n 5 "$T11_TMP/lm.err" | sed 's/^/# /'
fi
if [ "$(id -u)" -eq 0 ]; then chown -R 0:0 "$H"; fi
t11_done
