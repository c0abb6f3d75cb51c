#!/usr/bin/env bash
# t11-modes: direct -- scripts/demo starts and uses its own swtpm (TCP, direct), as the README shows
# The README's first command, ./scripts/demo, end to end: it runs the seed
# workflow on a software TPM it starts itself (init, addtoken, addkey,
# ssh-keygen -D, a loopback sshd, ssh with PKCS11Provider, ssh-agent with
# ssh-add -s), says so, and afterwards nothing it started is left running
# and its temporary directory is gone. A demo that fails names the step and
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

# --- a demo that fails on the way ----------------------------------------------
# A module file that is not a PKCS#11 module: ssh-keygen -D fails after the
# TPM, the token and the key were made.
: >"$T11_TMP/not-a-module.so"
demo_run bad TPM11_MODULE="$T11_TMP/not-a-module.so"
out=$T11_TMP/demo.bad.out
check "demo with a broken module: exits non-zero" test "$rc" != 0 -a "$rc" != 124
check "demo with a broken module: names the step that failed" \
	grep -qE '^demo failed at step [0-9]+: ssh-keygen -D failed' "$out"
check "demo with a broken module: stopped before any ssh login" \
	bash -c '! grep -q "Logged in to 127.0.0.1" "$1"' _ "$out"
demo_left bad

t11_done
