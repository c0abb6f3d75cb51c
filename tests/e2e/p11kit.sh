#!/usr/bin/env bash
# Install and p11-kit: `meson install` into a throwaway DESTDIR puts the
# module in <prefix>/<libdir>/pkcs11/libtpm11.so, the tool in <prefix>/bin
# and tpm11.module into p11-kit's module directory; with a tpm11.module in
# /usr/share/p11-kit/modules (as root, removed again at exit) `p11-kit
# list-modules` shows module tpm11, the token and its flags. The TPM is
# clean after every client run. Runs once per TPM mode (tests/run,
# T11_TPM_MODE).
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

SO_PIN=p11kit-so-1234
USER_PIN=p11kit-user-5678
LABEL=PKI
SYS_DIR=/usr/share/p11-kit/modules
SYS_FILE=$SYS_DIR/tpm11.module

# --- the installed layout -----------------------------------------------
DEST=$T11_TMP/dest
read -r PREFIX LIBDIR BINDIR < <(python3 - "$TPM11_BUILD" <<'EOF'
import json, subprocess, sys
o = {x["name"]: x["value"] for x in json.loads(subprocess.run(
    ["meson", "introspect", "--buildoptions", sys.argv[1]],
    capture_output=True, text=True, check=True).stdout)}
print(o["prefix"], o["libdir"], o["bindir"])
EOF
)
diag "build configured with prefix=$PREFIX libdir=$LIBDIR bindir=$BINDIR"
if timeout 300 meson install -C "$TPM11_BUILD" --no-rebuild --destdir "$DEST" </dev/null >"$T11_TMP/install.log" 2>&1; then
	ok "meson install --destdir"
else
	not_ok "meson install --destdir"; tail -n 20 "$T11_TMP/install.log" | sed 's/^/# /'
fi
case $LIBDIR in /*) libpath=$LIBDIR ;; *) libpath=$PREFIX/$LIBDIR ;; esac
case $BINDIR in /*) binpath=$BINDIR ;; *) binpath=$PREFIX/$BINDIR ;; esac
INST_LIB=$libpath/pkcs11/libtpm11.so
if [ -f "$DEST$INST_LIB" ]; then ok "module installed as $INST_LIB"
else not_ok "module installed as $INST_LIB"; (cd "$DEST" && find . -type f) | sed 's/^/# /'; fi
if [ "$PREFIX" = /usr/local ]; then
	if [ "$INST_LIB" = /usr/local/lib/pkcs11/libtpm11.so ]; then
		ok "default prefix: module is /usr/local/lib/pkcs11/libtpm11.so"
	else
		not_ok "default prefix: module is /usr/local/lib/pkcs11/libtpm11.so (is $INST_LIB)"
	fi
fi
if [ -x "$DEST$binpath/tpm11" ]; then ok "tool installed as $binpath/tpm11"
else not_ok "tool installed as $binpath/tpm11"; fi
if LD_LIBRARY_PATH="$DEST$libpath" "$DEST$binpath/tpm11" --help >"$T11_TMP/help" 2>&1 </dev/null; then
	ok "installed tool runs (tpm11 --help)"
else
	not_ok "installed tool runs (tpm11 --help)"; sed 's/^/# /' "$T11_TMP/help" | head
fi
modfile=$(cd "$DEST" && find . -name tpm11.module -type f | head -1)
modfile=${modfile#.}
if [ -n "$modfile" ]; then
	ok "tpm11.module installed as $modfile"
	mline=$(sed -n 's/^[[:space:]]*module:[[:space:]]*//p' "$DEST$modfile" | head -1)
	if [ "$mline" = "$INST_LIB" ] || [ "$mline" = libtpm11.so ]; then
		ok "tpm11.module names the module ($mline)"
	else
		not_ok "tpm11.module names the module (module: '$mline', want $INST_LIB)"
		sed 's/^/# /' "$DEST$modfile"
	fi
else
	not_ok "tpm11.module installed"; (cd "$DEST" && find . -type f) | sed 's/^/# /'
fi
if nm -D --defined-only "$DEST$INST_LIB" 2>/dev/null | awk '$2 != "A" {print $3}' | grep -v '^C_GetFunctionList$\|^C_GetInterfaceList$\|^C_GetInterface$' | grep -q .; then
	not_ok "module exports only C_GetFunctionList/C_GetInterfaceList/C_GetInterface"
	nm -D --defined-only "$DEST$INST_LIB" | sed 's/^/# /' | head -20
else
	ok "module exports only C_GetFunctionList/C_GetInterfaceList/C_GetInterface"
fi

# --- a token to show --------------------------------------------------------
t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
check_clean "tpm11 init" "$TPM11_TOOL" init
check_clean "tpm11 addtoken" "$TPM11_TOOL" addtoken --label "$LABEL" --sopin "$SO_PIN" --userpin "$USER_PIN"
check_clean "tpm11 addkey" "$TPM11_TOOL" addkey --algorithm ecc256 --label "$LABEL" --key-label ssh --userpin "$USER_PIN"

# --- p11-kit list-modules ----------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
	for what in "module: tpm11" "token: $LABEL" "manufacturer/model" "flags"; do
		ok "p11-kit list-modules shows $what # SKIP not root"
	done
	check "TPM clean" tpm_is_clean
	t11_done; exit $?
fi

backup=""; restored=""
restore_module_file() {
	[ -n "$restored" ] && return 0
	restored=1
	rm -f "$SYS_FILE"
	[ -n "$backup" ] && mv -f "$backup" "$SYS_FILE"
	[ -n "${made_dir:-}" ] && rmdir "$SYS_DIR" 2>/dev/null
	return 0
}
trap 'restore_module_file; t11_cleanup' EXIT
trap 'exit 130' INT TERM
if [ ! -d "$SYS_DIR" ]; then mkdir -p "$SYS_DIR"; made_dir=1; fi
if [ -e "$SYS_FILE" ]; then backup=$T11_TMP/tpm11.module.saved; cp -p "$SYS_FILE" "$backup"; fi
lib_for_p11kit=$DEST$INST_LIB
[ -f "$lib_for_p11kit" ] || lib_for_p11kit=$TPM11_MODULE
printf 'module: %s\n' "$lib_for_p11kit" >"$SYS_FILE"
diag "wrote $SYS_FILE (module: $lib_for_p11kit), removed at exit"

timeout 60 p11-kit list-modules </dev/null >"$T11_TMP/lm" 2>"$T11_TMP/lm.err"
t11_clean "p11-kit list-modules"
# The tpm11 section, in either of p11-kit's formats: 0.24 starts a module
# with "tpm11: PATH", later versions with "module: tpm11" and "path: PATH".
awk '/^[^ \t]/{on = ($1 == "tpm11:" || ($1 == "module:" && $2 == "tpm11"))} on' \
	"$T11_TMP/lm" >"$T11_TMP/sec"
if grep -qE '^(module: tpm11|tpm11: .*libtpm11\.so)$' "$T11_TMP/sec"; then ok "p11-kit list-modules shows module: tpm11"
else not_ok "p11-kit list-modules shows module: tpm11"; sed 's/^/# /' "$T11_TMP/lm" "$T11_TMP/lm.err" | tail -n 30; fi
sed 's/^/# /' "$T11_TMP/sec"
if grep -qE "^[[:space:]]+token: $LABEL\$" "$T11_TMP/sec"; then ok "list-modules shows token: $LABEL"
else not_ok "list-modules shows token: $LABEL"; fi
for field in library-description library-manufacturer library-version manufacturer model serial-number; do
	if grep -qE "^[[:space:]]+$field: .+" "$T11_TMP/sec"; then ok "list-modules shows $field:"
	else not_ok "list-modules shows $field:"; fi
done
# the flags: the lines after "flags:"
awk '/^[[:space:]]+flags:/{f=1; next} f && /^[[:space:]]+[a-z-]+$/{print $1; next} {f=0}' "$T11_TMP/sec" >"$T11_TMP/flags"
for flag in login-required user-pin-initialized token-initialized rng; do
	if grep -qx "$flag" "$T11_TMP/flags"; then ok "token flags include $flag"
	else not_ok "token flags include $flag (flags: $(tr '\n' ' ' <"$T11_TMP/flags"))"; fi
done
serial=$("$TPM11_TOOL" listtokens 2>/dev/null | sed -n 's/^[[:space:]]*serial:[[:space:]]*//p' | head -1)
if [ -n "$serial" ] && grep -qE "serial-number: $serial\$" "$T11_TMP/sec"; then
	ok "list-modules serial-number equals tpm11 listtokens serial ($serial)"
else
	not_ok "list-modules serial-number equals tpm11 listtokens serial ('$serial')"
fi
restore_module_file
if [ -z "$backup" ] && [ -e "$SYS_FILE" ]; then not_ok "test module file removed"; else ok "test module file removed"; fi
check "TPM clean" tpm_is_clean
t11_done
