#!/usr/bin/env bash
# t11-modes: direct -- the package is built, installed and used once; its one TPM use (ssh-keygen -D on the installed module) is the module code every other test runs in both modes
# The Debian package, as a user gets it: built with dpkg-buildpackage from
# a clean copy of HEAD (git archive: uncommitted files play no part),
# checked with lintian (no errors, no warnings), installed with apt, used
# (tpm11 --help, a token and a key on a private swtpm, ssh-keygen -D on
# the installed module, p11-kit list-modules through the installed module
# file, the man pages and the bash completion where Debian keeps them,
# tpm11 doctor when the tool has it), then purged: nothing of it is left
# on disk. Installing needs root (CI runs as root); without it the build
# and lintian still run. The test stops only what it started and leaves
# the system as it found it: it installs only when neither package is
# installed, and purges what it installed, dependencies apt added included.
. "$(dirname "$0")/../lib/common.sh"
T11_PKG_T0=$(date +%s)

if [ -n "${T11_SANITIZE:-}" ]; then
	ok "Debian package # SKIP the package is the plain build; this test runs in the plain pass"
	t11_done; exit 0
fi

PKGS=(tpm11 tpm11-pkcs11)
SO_PIN=package-so-1234
USER_PIN=package-user-5678

missing=""
for c in dpkg-buildpackage dpkg-architecture dh lintian git; do
	command -v "$c" >/dev/null || missing+=" $c"
done
if [ -n "$missing" ]; then
	not_ok "packaging tools present (missing:$missing; ./scripts/install-deps package)"
	t11_done; exit 1
fi
if ! git -C "$T11_SRC" rev-parse --verify -q HEAD >/dev/null; then
	ok "Debian package # SKIP $T11_SRC is not a git checkout (the package is built from HEAD)"
	t11_done; exit 0
fi

# --- build from a clean copy of HEAD --------------------------------------------
W=$T11_TMP/pkg
mkdir -p "$W/tpm11"
if git -C "$T11_SRC" archive --format=tar HEAD | tar -xf - -C "$W/tpm11"; then
	ok "clean copy of HEAD ($(git -C "$T11_SRC" rev-parse --short HEAD)) by git archive"
else
	not_ok "clean copy of HEAD by git archive"; t11_done; exit 1
fi
t0=$(date +%s)
(cd "$W/tpm11" && dpkg-buildpackage -us -uc -b -j2) </dev/null >"$W/build.log" 2>&1
rc=$?
secs=$(($(date +%s) - t0))
if [ "$rc" = 0 ]; then
	ok "dpkg-buildpackage -us -uc -b (${secs} s)"
else
	not_ok "dpkg-buildpackage -us -uc -b (exit $rc after ${secs} s)"; tail -n 30 "$W/build.log" | sed 's/^/# /'
	t11_done; exit 1
fi
VERSION=$(cd "$W/tpm11" && dpkg-parsechangelog -S Version)
# One version: meson.build's project() (version.h for the module and the
# tool); debian/changelog names the same one.
mver=$(sed -n "s/^ *version : '\([0-9.]*\)',.*/\1/p" "$W/tpm11/meson.build" | head -n 1)
if [ "${VERSION%%-*}" = "$mver" ]; then ok "debian/changelog's version $VERSION is meson.build's ($mver)"
else not_ok "debian/changelog's version $VERSION is meson.build's ($mver)"; fi
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
MODULE=/usr/lib/$MA/pkcs11/libtpm11.so
DEBS=()
for p in "${PKGS[@]}"; do
	f=$W/${p}_${VERSION}_$ARCH.deb
	if [ -f "$f" ]; then ok "built $(basename "$f")"; DEBS+=("$f")
	else not_ok "built $(basename "$f")"; ls "$W" | sed 's/^/# /'; fi
done
[ ${#DEBS[@]} = ${#PKGS[@]} ] || { t11_done; exit 1; }
for f in "${DEBS[@]}"; do
	dpkg-deb -c "$f" >"$f.contents"
	diag "$(basename "$f"):"
	awk '$1 !~ /^d/ { print "#   " $6 }' "$f.contents"
done
if grep -q -- "--libdir=lib/$MA" "$W/build.log" && grep -q " \.$MODULE\$" "$W/tpm11-pkcs11_${VERSION}_$ARCH.deb.contents"; then
	ok "the module is $MODULE (meson's libdir is the multiarch one)"
else
	not_ok "the module is $MODULE"
fi
if cat "$W"/*.deb.contents | grep -E 'p11bench|tcti-count|/tests?/|test_' >"$W/extra"; then
	not_ok "no test program or benchmark in the packages"; sed 's/^/# /' "$W/extra"
else
	ok "no test program or benchmark in the packages"
fi

# --- lintian ---------------------------------------------------------------------------
t0=$(date +%s)
lintian --pedantic --info --tag-display-limit 0 "$W/tpm11_${VERSION}_$ARCH.changes" >"$W/lintian.out" 2>"$W/lintian.err"
lrc=$?
secs=$(($(date +%s) - t0))
errors=$(grep -c '^E: ' "$W/lintian.out")
warnings=$(grep -c '^W: ' "$W/lintian.out")
diag "lintian (${secs} s, exit $lrc): $errors errors, $warnings warnings"
grep -E '^[EWIPX]: ' "$W/lintian.out" | sed 's/^/#   /'
if [ "$errors" = 0 ] && [ "$lrc" != 2 ] && ! grep -q . <(grep -v 'running with root privileges' "$W/lintian.err"); then
	ok "lintian: no errors"
else
	not_ok "lintian: no errors (exit $lrc)"; sed 's/^/# /' "$W/lintian.err" | head
fi
if [ "$warnings" = 0 ]; then ok "lintian: no warnings (the overrides say why for the rest)"
else not_ok "lintian: $warnings warnings without an override"; fi

# --- install, use, purge ---------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
	ok "apt install, use and purge # SKIP not root (CI runs as root)"
	t11_done; exit $?
fi
for p in "${PKGS[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -qv 'not-installed'; then
		ok "apt install, use and purge # SKIP package $p is on this machine already; the test would replace it"
		t11_done; exit $?
	fi
done
for f in /usr/bin/tpm11 "$MODULE" /usr/share/p11-kit/modules/tpm11.module; do
	if [ -e "$f" ]; then
		ok "apt install, use and purge # SKIP $f exists and belongs to no tpm11 package; installing would overwrite it"
		t11_done; exit $?
	fi
done

# What the packages put on disk, and which of those paths were there before.
cat "$W"/*.deb.contents | awk '{ p = $6; sub(/^\./, "", p); sub(/\/$/, "", p); if (p != "") print p }' |
	sort -u >"$W/paths"
while IFS= read -r p; do [ -e "$p" ] && echo "$p"; done <"$W/paths" >"$W/paths.before"
dpkg-query -W -f='${Package}:${Architecture} ${Status}\n' | awk '$NF == "installed" { print $1 }' | sort >"$W/installed.before"

APT=(apt-get -y -q -o DPkg::Lock::Timeout=300)
purged=""
purge_ours() {
	# Purge what the install added (the packages and any dependency apt
	# pulled in), once.
	[ -n "$purged" ] && return 0
	purged=1
	local new
	dpkg-query -W -f='${Package}:${Architecture} ${Status}\n' | awk '$NF == "installed" { print $1 }' | sort >"$W/installed.after"
	new=$(comm -13 "$W/installed.before" "$W/installed.after" | tr '\n' ' ')
	[ -n "$new" ] || return 0
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive "${APT[@]}" purge $new </dev/null >"$W/purge.log" 2>&1
}
trap 'purge_ours; t11_cleanup' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

t0=$(date +%s)
if DEBIAN_FRONTEND=noninteractive "${APT[@]}" install "${DEBS[@]}" </dev/null >"$W/install.log" 2>&1; then
	ok "apt-get install ./tpm11_*.deb ./tpm11-pkcs11_*.deb ($(($(date +%s) - t0)) s)"
else
	not_ok "apt-get install ./tpm11_*.deb ./tpm11-pkcs11_*.deb"; tail -n 20 "$W/install.log" | sed 's/^/# /'
	t11_done; exit 1
fi
added=$(dpkg-query -W -f='${Package}:${Architecture} ${Status}\n' | awk '$NF == "installed" { print $1 }' | sort |
	comm -13 "$W/installed.before" - | tr '\n' ' ')
diag "apt installed: $added"
dpkg -L "${PKGS[@]}" 2>/dev/null | sort -u >"$W/dpkg-L"

if out=$(/usr/bin/tpm11 --help 2>&1) && grep -q '^usage: tpm11' <<<"$out"; then ok "/usr/bin/tpm11 --help"
else not_ok "/usr/bin/tpm11 --help"; sed 's/^/# /' <<<"$out" | head; fi

swtpm_start "$T11_TMP/tpm" || { not_ok "swtpm starts"; t11_done; exit 1; }
check "tpm11 init (installed tool, private swtpm)" /usr/bin/tpm11 init
check "tpm11 addtoken --label PKI" /usr/bin/tpm11 addtoken --label PKI --sopin "$SO_PIN" --userpin "$USER_PIN"
check "tpm11 addkey --algorithm ecc256 --label PKI --key-label ssh" \
	/usr/bin/tpm11 addkey --algorithm ecc256 --label PKI --key-label ssh --userpin "$USER_PIN"
want=$(/usr/bin/tpm11 ssh-pubkey --label PKI --key-label ssh 2>/dev/null)
got=$(timeout 60 ssh-keygen -D "$MODULE" 2>"$W/keygen.err" </dev/null)
if [ -n "$want" ] && grep -qxF -- "$want" <<<"$got" && grep -q '^ecdsa-sha2-nistp256 .* ssh$' <<<"$got"; then
	ok "ssh-keygen -D $MODULE shows the key (as tpm11 ssh-pubkey prints it)"
else
	not_ok "ssh-keygen -D $MODULE shows the key"; diag "want: $want"; sed 's/^/# /' <<<"$got" "$W/keygen.err"
fi

if command -v p11-kit >/dev/null; then
	timeout 60 p11-kit list-modules </dev/null >"$W/lm" 2>"$W/lm.err"
	# 0.24: "tpm11: libtpm11.so"; later: "module: tpm11" and "path: ..."
	awk '/^[^ \t]/ { on = ($1 == "tpm11:" || ($1 == "module:" && $2 == "tpm11")) } on' "$W/lm" >"$W/lm.tpm11"
	if [ -s "$W/lm.tpm11" ] && grep -qE '^[[:space:]]+token: PKI$' "$W/lm.tpm11"; then
		ok "p11-kit list-modules shows tpm11 and token PKI (from /usr/share/p11-kit/modules/tpm11.module)"
	else
		not_ok "p11-kit list-modules shows tpm11 and token PKI"; grep -E '^[a-z]' "$W/lm" | sed 's/^/# /'
	fi
	sed 's/^/# /' "$W/lm.tpm11" | head -8
else
	ok "p11-kit list-modules shows tpm11 # SKIP p11-kit is not installed"
fi

if command -v man >/dev/null; then
	for page in 1 7; do
		if f=$(man -w "$page" tpm11 2>/dev/null) && [ "$f" = "/usr/share/man/man$page/tpm11.$page.gz" ] &&
			MANWIDTH=80 man "$page" tpm11 2>/dev/null | grep -q '^NAME'; then
			ok "man $page tpm11 ($f)"
		else
			not_ok "man $page tpm11 (found '${f:-}')"
		fi
	done
else
	ok "man pages # SKIP man is not installed"
fi

if [ -f /usr/share/bash-completion/bash_completion ]; then
	if out=$(bash -c 'source /usr/share/bash-completion/bash_completion; _completion_loader tpm11; complete -p tpm11' 2>&1) &&
		grep -q -- '-F _tpm11 tpm11' <<<"$out"; then
		ok "bash-completion loads the completion for tpm11 ($out)"
	else
		not_ok "bash-completion loads the completion for tpm11"; sed 's/^/# /' <<<"$out"
	fi
else
	ok "bash-completion loads the completion # SKIP bash-completion is not installed"
fi

if /usr/bin/tpm11 --help 2>/dev/null | grep -qE '^  doctor '; then
	/usr/bin/tpm11 doctor </dev/null >"$W/doctor.out" 2>&1
	drc=$?
	sed 's/^/# /' "$W/doctor.out" | head -40
	if [ "$drc" = 0 ] || [ "$drc" = 1 ]; then ok "tpm11 doctor runs (exit $drc)"
	else not_ok "tpm11 doctor runs (exit $drc)"; fi
	if /usr/bin/tpm11 doctor --json </dev/null 2>/dev/null | python3 -m json.tool >/dev/null; then
		ok "tpm11 doctor --json prints JSON"
	else
		not_ok "tpm11 doctor --json prints JSON"
	fi
else
	ok "tpm11 doctor # SKIP the installed tool has no doctor command yet"
fi
check "TPM clean" tpm_is_clean
swtpm_stop "$T11_TMP/tpm"

# --- purge: nothing left -------------------------------------------------------------
t0=$(date +%s)
purge_ours
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)
	if [ -z "$st" ] || [ "${st:0:2}" = "un" ] || [ "${st:1:1}" = "n" ]; then ok "apt-get purge: $p is gone from dpkg's database"
	else not_ok "apt-get purge: $p is gone from dpkg's database (status '$st')"; tail -n 10 "$W/purge.log" | sed 's/^/# /'; fi
done
diag "purge took $(($(date +%s) - t0)) s"
left=""
while IFS= read -r p; do
	[ "$p" = /. ] && continue
	grep -qxF -- "$p" "$W/paths.before" && continue
	[ -e "$p" ] || [ -L "$p" ] && left+=" $p"
done < <(sort -u "$W/dpkg-L" "$W/paths")
n=$(sort -u "$W/dpkg-L" "$W/paths" | grep -vxF /. | grep -cvxF -f "$W/paths.before")
if [ -z "$left" ]; then ok "nothing of the package is left on disk ($n paths checked)"
else not_ok "left on disk after purge:$left"; fi
ls /var/lib/dpkg/info/tpm11.* /var/lib/dpkg/info/tpm11-pkcs11* 2>/dev/null >"$W/info.left"
if [ -s "$W/info.left" ]; then not_ok "dpkg keeps no file of the packages"; sed 's/^/# /' "$W/info.left"
else ok "dpkg keeps no file of the packages"; fi
dpkg-query -W -f='${Package}:${Architecture} ${Status}\n' | awk '$NF == "installed" { print $1 }' | sort >"$W/installed.end"
if cmp -s "$W/installed.before" "$W/installed.end"; then ok "the installed package set is as before the test"
else not_ok "the installed package set is as before the test"; diff "$W/installed.before" "$W/installed.end" | sed 's/^/# /'; fi
diag "package.sh: $(($(date +%s) - T11_PKG_T0)) s in all"
t11_done
