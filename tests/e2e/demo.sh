#!/usr/bin/env bash
# t11-modes: direct -- scripts/demo starts and uses its own swtpm (TCP, direct), as the README shows
# The README's first command, ./scripts/demo, end to end: it runs the seed
# workflow on a software TPM it starts itself (init, addtoken, addkey,
# ssh-keygen -D, a loopback sshd, ssh with PKCS11Provider, ssh-agent with
# ssh-add -s), says so, and afterwards nothing it started is left running
# and its temporary directory is gone. It installs only its own packages,
# quietly (scripts/install-deps demo), and its p11-kit step shows module
# tpm11 and the token (p11-kit 0.24 too). A demo that fails names the step and
# cleans up the same way.
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

DEMO=$T11_SRC/scripts/demo
mkdir -p "$T11_TMP/demo-tmp"
slow=${T11_SAN_SLOW:-1}

# demo_run TAG [VAR=VALUE...]: runs the demo (its package and build steps
# are no-ops here: tests/run installed and built) with its temporary files
# under $T11_TMP/demo-tmp; output in $T11_TMP/demo.TAG.out, status in rc.
demo_run() {
	local tag=$1
	shift
	env TMPDIR="$T11_TMP/demo-tmp" "$@" timeout -k 10 $((240 * slow)) \
		"$DEMO" </dev/null >"$T11_TMP/demo.$tag.out" 2>&1
	rc=$?
}

# demo_left TAG: the demo's temporary directory is gone, and every process
# it said it started (swtpm, sshd, ssh-agent) is gone too.
demo_left() {
	local tag=$1 out pids p alive=""
	out=$T11_TMP/demo.$tag.out
	pids=$(sed -nE 's/.*(swtpm|sshd|ssh-agent) runs as PID ([0-9]+).*/\2/p' "$out")
	for p in $pids; do
		kill -0 "$p" 2>/dev/null && alive+=" $p"
	done
	check "demo ($tag): no process it started is left running (PIDs:$(echo $pids | sed 's/^/ /'))" \
		test -z "$alive"
	check "demo ($tag): its temporary directory is removed" \
		test -z "$(ls -A "$T11_TMP/demo-tmp")"
	ls -A "$T11_TMP/demo-tmp" | sed 's/^/# left: /'
}

# --- the whole demo ------------------------------------------------------------
demo_run ok
out=$T11_TMP/demo.ok.out
if [ "$rc" = 0 ]; then ok "./scripts/demo exits 0"
else not_ok "./scripts/demo exits 0 (status $rc)"; tail -n 40 "$out" | sed 's/^/# /'; fi
check "demo: says it completed" grep -q "Demo complete: ssh logged in twice" "$out"
for cmd in "tpm11 init" "tpm11 addtoken --label PKI" "tpm11 addkey --algorithm ecc256" \
	"ssh-keygen -D" "ssh .*-o PKCS11Provider=" "ssh-agent -s" "ssh-add -s"; do
	check "demo: shows the command '$cmd' before it runs it" \
		grep -qE "^\\\$ .*${cmd}" "$out"
done
check "demo: ssh-keygen -D prints the key labelled 'ssh'" \
	grep -qE '^   ecdsa-sha2-nistp256 [A-Za-z0-9+/=]+ ssh$' "$out"
check "demo: sshd accepted the TPM key (PKCS11Provider)" \
	grep -qE 'logged in in [0-9.]+s; sshd says: Accepted publickey' "$out"
check "demo: the remote command ran twice (provider and agent)" \
	test "$(grep -c '^   Logged in to 127.0.0.1 as .* through the TPM-held key$' "$out")" = 2
check "demo: ssh-add -l lists the TPM key in the agent" \
	grep -qE '^   256 SHA256:[A-Za-z0-9+/]+ .*\(ECDSA\)$' "$out"
check "demo: every server listened on 127.0.0.1 only" \
	bash -c '! grep -E "listening on [0-9.]+:" "$1" | grep -vq "listening on 127\.0\.0\.1:"' _ "$out"
demo_left ok

check "demo: installs quietly (one install-deps line, no apt output)" \
	bash -c 'sed -n "/^== 1\. /,/^== 2\. /p" "$1" | grep -v "^\(== \|\\$ \|$\)" >"$1.step1"; [ "$(wc -l <"$1.step1")" -le 2 ] && grep -q "^   install-deps: " "$1.step1"' _ "$out"
if grep -qE '^   (tpm11: .*libtpm11\.so|module: tpm11)$' "$out" && grep -qE '^       token: PKI$' "$out"; then
	ok "demo: p11-kit list-modules shows module tpm11 and token PKI (p11-kit $(dpkg-query -W -f='${Version}' p11-kit 2>/dev/null))"
elif grep -q '(not shown: ' "$out"; then
	ok "demo: p11-kit list-modules shows module tpm11 and token PKI # SKIP $(grep -o '(not shown: .*' "$out" | head -1)"
else
	not_ok "demo: p11-kit list-modules shows module tpm11 and token PKI"
	sed -n '/p11kit-ns/,/^== /p' "$out" | sed 's/^/# /'
fi

# --- the demo's packages are the demo's -------------------------------------------
"$T11_SRC/scripts/install-deps" --list demo >"$T11_TMP/demo.pkgs"
"$T11_SRC/scripts/install-deps" --list test >"$T11_TMP/test.pkgs"
for p in chromium firefox-esr xvfb xdotool avahi-daemon valgrind clang tpm2-abrmd libtpm2-pkcs11-1 python3-websocket; do
	check "install-deps demo does not install $p" bash -c '! grep -qx "$1" "$2"' _ "$p" "$T11_TMP/demo.pkgs"
done
for p in swtpm libtss2-tcti-swtpm0 tpm2-tools openssh-server openssh-client p11-kit python3 meson libtss2-dev; do
	check "install-deps demo installs $p (the demo builds with or runs it)" grep -qx "$p" "$T11_TMP/demo.pkgs"
done
check "install-deps test installs the demo's packages and the rest" \
	bash -c '! grep -vxFf "$2" "$1" | grep -q . && [ "$(wc -l <"$2")" -gt "$(wc -l <"$1")" ]' _ "$T11_TMP/demo.pkgs" "$T11_TMP/test.pkgs"
# How --quiet behaves when packages are missing, with stand-ins for dpkg-query
# (says nothing is installed) and apt-get (600 lines of output, then the
# status in APT_RC): one line says what and why, apt's output goes to a
# log that is named only when apt fails.
mkdir -p "$T11_TMP/fakeapt"
printf '#!/bin/sh\nexit 1\n' >"$T11_TMP/fakeapt/dpkg-query"
printf '#!/bin/sh\nseq 600 | sed "s/^/apt line /"\nexit ${APT_RC:-0}\n' >"$T11_TMP/fakeapt/apt-get"
printf '#!/bin/sh\necho 0\n' >"$T11_TMP/fakeapt/id"
chmod 755 "$T11_TMP/fakeapt"/*
for apt_rc in 0 100; do
	env PATH="$T11_TMP/fakeapt:$PATH" APT_RC=$apt_rc TMPDIR="$T11_TMP/demo-tmp" \
		"$T11_SRC/scripts/install-deps" --quiet demo >"$T11_TMP/q.$apt_rc" 2>&1
	qrc=$?
	sed 's/^/# /' "$T11_TMP/q.$apt_rc" | head -n 4
	if [ "$apt_rc" = 0 ]; then
		check "install-deps --quiet: two lines, what and why, no apt output" bash -c '
			[ "$(wc -l <"$1")" = 2 ] && ! grep -q "apt line" "$1" &&
			grep -Eq "^install-deps: installing [0-9]+ packages: .*swtpm, libtss2-tcti-swtpm0, tpm2-tools, openssh-server, openssh-client, p11-kit, python3 \\(the demo runs them\\)" "$1" &&
			grep -q "meson, .* (to build tpm11)" "$1"' _ "$T11_TMP/q.0"
		check "install-deps --quiet: exit 0 and no log left behind" \
			bash -c '[ "$1" = 0 ] && [ -z "$(ls -A "$2")" ]' _ "$qrc" "$T11_TMP/demo-tmp"
	else
		log=$(sed -n 's/.*its output is in \([^ ,]*\), the last lines:.*/\1/p' "$T11_TMP/q.100")
		check "install-deps --quiet with apt failing: exit 1, the log named, its last lines shown" bash -c '
			[ "$1" = 1 ] && [ -n "$2" ] && [ "$(grep -c "apt line" "$2")" -ge 600 ] &&
			grep -q "apt line 600" "$3" && [ "$(wc -l <"$3")" -le 20 ]' _ "$qrc" "$log" "$T11_TMP/q.100"
		rm -f "$log"
	fi
done

# --- a demo that fails on the way ----------------------------------------------
# A module file that is not a PKCS#11 module: the first program that loads
# it, p11-kit list-modules, fails after the TPM, the token and the key
# were made.
: >"$T11_TMP/not-a-module.so"
demo_run bad TPM11_MODULE="$T11_TMP/not-a-module.so"
out=$T11_TMP/demo.bad.out
check "demo with a broken module: exits non-zero" test "$rc" != 0 -a "$rc" != 124
check "demo with a broken module: names the step that failed" \
	grep -qE '^demo failed at step [0-9]+: (p11-kit list-modules did not show tpm11|ssh-keygen -D failed)' "$out"
check "demo with a broken module: stopped before any ssh login" \
	bash -c '! grep -q "Logged in to 127.0.0.1" "$1"' _ "$out"
demo_left bad

t11_done
