# shellcheck shell=bash
# bench/actions.sh: TPM commands per user action (issue 14 item 4).
# Sourced by bench/run, which calls run_actions (`bench/run --actions-only`
# runs nothing else); docs/performance.md explains the table.
#
# For each module (tpm11, and tpm2-pkcs11 when installed) a store of its own
# with one token "act" holding one ECC P-256 key "ssh", and real clients on
# the loopback:
#   keygen-D       ssh-keygen -D MODULE (list the public keys)
#   ssh-cold       ssh -o PKCS11Provider=MODULE to a sshd on 127.0.0.1: a new
#                  ssh process, PIN from SSH_ASKPASS, one signature
#   agent-add      ssh-add -s MODULE (ssh-agent's helper loads the module
#                  and logs in)
#   agent-sign     ssh through that agent: one signature by the helper
#   agent-sign-2   the same again (the key is loaded by then)
#   agent-stop     the agent stopped (its helper ends)
#   tls            gnutls-cli: a TLS 1.3 handshake with the token key as
#                  client key (certificate from a file, PIN from GNUTLS_PIN)
#                  against openssl s_server -Verify 1 on 127.0.0.1
#   sign           pkcs11-tool --login --sign (a new process: login, one
#                  ECDSA signature with the key "ssh", exit)
#   sign-pcr       the same with a key bound to PCR 7 (tpm11 addkey --pcrs
#                  sha256:7; tpm11 only: tpm2-pkcs11 has no such keys)
#   addkey-ecc256, addkey-rsa2048, changepin
#                  tpm11 / tpm2_ptool (the user PIN, old and new given)
#   ssh-cold@PROFILE
#                  ssh-cold again with the chip-profile TCTI between the
#                  counting TCTI and tpm2-abrmd, for each profile with
#                  latencies: the profile TCTI logs the latency it slept for
#                  each command (TPM11_PROFILE_LOG, .profile.log), which
#                  report.py holds against the model, and the counts on a
#                  chip that offers less than swtpm
# Every client runs with the module's TCTI (TPM11_TCTI; TPM2_PKCS11_TCTI, and
# TPM2TOOLS_TCTI for tpm2_ptool) set to the counting TCTI in front of the
# same tpm2-abrmd, and with TCTI_COUNT_LOG: every process that loads the
# module (ssh-agent's helper too) appends one line per TPM command, with its
# key kind (bench/tcti-count.c). An action's commands are the lines added
# while it ran. TCTI_COUNT_FILE is set as well, to check at the end that the
# log has every command the processes sent.
#
# Needs from bench/run: SRC BUILD WORK RES RM CT COUNT_LIB say warn note PIDS
# WANT_T11 T11_MODULE T11_TOOL WANT_P2 P2_MODULE P2_WHY. Writes
# $RES/actions.txt (one line "IMPL ACTION ok|error|skip [reason]" per
# action, and "check ..." lines),
# $RES/actions/IMPL.ACTION.log (its commands) and .out (the client's output),
# and the whole log and exit counts (actions/count.log, count.file).

ACT_PIN=act-user-2468
ACT_NEWPIN=act-user-1357
ACT_SOPIN=act-so-97531
ACT_LIST=(keygen-D ssh-cold agent-add agent-sign agent-sign-2 agent-stop tls sign sign-pcr
	addkey-ecc256 addkey-rsa2048 changepin)

t11_own_pid() { PIDS+=("$1"); }
# shellcheck source=tests/lib/loopback.sh
. "$SRC/tests/lib/loopback.sh"

# forget_pid PID: PID has ended; the clean-up must not signal it again.
forget_pid() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# stop_pid PID: SIGTERM to a process this run started, up to 5 s to end,
# then SIGKILL.
stop_pid() {
	kill "$1" 2>/dev/null || { forget_pid "$1"; return 0; }
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
	kill -9 "$1" 2>/dev/null
	forget_pid "$1"
}

# act IMPL ACTION command...: runs the command (its output in
# actions/IMPL.ACTION.out) and keeps the TPM commands logged meanwhile.
act() {
	local impl=$1 a=$2 off st=ok
	shift 2
	off=$(stat -c %s "$ACT_LOG" 2>/dev/null || echo 0)
	if ! "$@" >"$RES/actions/$impl.$a.out" 2>&1; then
		st=error
		warn "$impl $a failed"
		tail -n 5 "$RES/actions/$impl.$a.out" | sed 's/^/   /' >&2
	fi
	tail -c +$((off + 1)) "$ACT_LOG" 2>/dev/null >"$RES/actions/$impl.$a.log"
	echo "$impl $a $st" >>"$RES/actions.txt"
}

# --- the clients ----------------------------------------------------------------
# ACT_M is the module, ACT_IMPL tpm11 or tpm2-pkcs11, ACT_D its directory.

act_keygen() {
	timeout 60 ssh-keygen -D "$ACT_M" </dev/null >"$ACT_D/keys" || return 1
	grep '^ecdsa-sha2-nistp256 ' "$ACT_D/keys" | head -1 >"$ACT_D/pub"
	[ -s "$ACT_D/pub" ] && cat "$ACT_D/pub"
}

# ssh to the loopback sshd; it must run the remote command.
act_login() {
	local out
	out=$(t11_ssh "$@" -- echo LOGGED_IN) || return 1
	echo "$out"
	[ "$out" = LOGGED_IN ]
}

act_ssh_cold() {
	(
		unset SSH_AUTH_SOCK
		export SSH_ASKPASS=$ACT/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0
		act_login -o PKCS11Provider="$ACT_M" -o IdentityFile=none
	)
}

act_agent_add() {
	SSH_ASKPASS=$ACT/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
		timeout 60 ssh-add -s "$ACT_M" </dev/null
}

act_agent_sign() { act_login -o BatchMode=yes -o IdentityFile=none; }

# Stops the agent, then waits for its helper (which loaded the module) to end.
act_agent_stop() {
	local helpers h
	helpers=$(ps -o pid= --ppid "$SSH_AGENT_PID" 2>/dev/null)
	stop_pid "$SSH_AGENT_PID"
	for h in $helpers; do
		echo "check helper $h" >>"$RES/actions.txt"
		for _ in $(seq 100); do kill -0 "$h" 2>/dev/null || break; sleep 0.05; done
		if kill -0 "$h" 2>/dev/null; then
			echo "the agent's helper $h did not end: stopped"
			stop_pid "$h"
			return 1
		fi
	done
	unset SSH_AUTH_SOCK SSH_AGENT_PID
}

act_tls() {
	GNUTLS_PIN=$ACT_PIN timeout 60 gnutls-cli --provider="$ACT_M" \
		--x509cafile="$ACT/ca.pem" --x509certfile="$ACT_D/cert.pem" \
		--x509keyfile="pkcs11:token=act;object=ssh;type=private" \
		-p "$ACT_TLS_PORT" localhost <"$ACT/req" || return 1
	# the page s_server returns names the certificate it was shown
	grep -q "^Client certificate" "$RES/actions/$ACT_IMPL.tls.out" &&
		grep -qE "Subject: ?CN ?= ?act-$ACT_IMPL\$" "$RES/actions/$ACT_IMPL.tls.out"
}

# ssh-cold through the chip profile $1 (the counting TCTI in front of it).
act_ssh_profile() {
	local -x TPM11_TCTI=$COUNT_LIB:$ACT_PROFILE_LIB:$1:$RM TPM2_PKCS11_TCTI
	local -x TPM11_PROFILE_LOG=$RES/actions/$ACT_IMPL.ssh-cold@$1.profile.log
	local -x TPM11_PROFILE_FAULTS=none
	TPM2_PKCS11_TCTI=$TPM11_TCTI
	act_ssh_cold
}

# act_key_id LABEL: the CKA_ID (hex) of the public key LABEL, from
# pkcs11-tool's list of public objects (no login). pkcs11-tool --sign picks
# its key by --id only (it ignores --label there). Run outside act(): it is
# set-up, not counted.
act_key_id() {
	timeout 60 pkcs11-tool --module "$ACT_M" --list-objects --type pubkey </dev/null 2>/dev/null |
		awk -v l="$1" '$1 == "label:" { on = ($2 == l) } on && $1 == "ID:" { print $2; exit }'
}

act_sign() { # ID: pkcs11-tool, a new process: login, one ECDSA signature (a SHA-256 digest)
	head -c 32 /dev/urandom >"$ACT_D/digest"
	[ -n "$1" ] || { echo "no key id"; return 1; }
	timeout 60 pkcs11-tool --module "$ACT_M" --login --pin "$ACT_PIN" --sign --mechanism ECDSA \
		--id "$1" --input-file "$ACT_D/digest" --output-file "$ACT_D/sig" </dev/null
}

act_tool() { # ACTION: addkey-ALG or changepin, with the tool of ACT_IMPL
	local alg=${1#addkey-}
	if [ "$ACT_IMPL" = tpm11 ]; then
		case $1 in
		addkey-*) "$T11_TOOL" addkey --label act --algorithm "$alg" --key-label "new-$alg" \
			--userpin "$ACT_PIN" ;;
		changepin) "$T11_TOOL" changepin --label act --user user --old "$ACT_PIN" \
			--new "$ACT_NEWPIN" ;;
		esac
	else
		case $1 in
		addkey-*) tpm2_ptool addkey --label=act --key-label="new-$alg" --algorithm="$alg" \
			--userpin="$ACT_PIN" ;;
		changepin) tpm2_ptool changepin --label=act --user=user --old="$ACT_PIN" \
			--new="$ACT_NEWPIN" ;;
		esac
	fi
}

# --- set-up -------------------------------------------------------------------------

# A store with the token "act" and its key "ssh" (not counted).
act_store() {
	local pid
	if [ "$ACT_IMPL" = tpm11 ]; then
		"$T11_TOOL" init &&
			"$T11_TOOL" addtoken --label act --sopin "$ACT_SOPIN" --userpin "$ACT_PIN" &&
			"$T11_TOOL" addkey --label act --algorithm ecc256 --key-label ssh --userpin "$ACT_PIN"
	else
		tpm2_ptool init >"$ACT_D/init.out" || return 1
		pid=$(sed -n 's/^id: *\([0-9]*\).*/\1/p' "$ACT_D/init.out" | head -1)
		[ -n "$pid" ] || return 1
		tpm2_ptool addtoken --pid="$pid" --label=act --sopin="$ACT_SOPIN" --userpin="$ACT_PIN" &&
			tpm2_ptool addkey --label=act --key-label=ssh --algorithm=ecc256 --userpin="$ACT_PIN"
	fi
}

# A test CA, the server's certificate, and openssl s_server on 127.0.0.1.
act_tls_server() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$ACT/ca.key" \
		-out "$ACT/ca.pem" -subj "/CN=bench CA" -days 2 \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" &&
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$ACT/server.key" -subj "/CN=localhost" -out "$ACT/server.csr" &&
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
			>"$ACT/server.ext" &&
		openssl x509 -req -in "$ACT/server.csr" -CA "$ACT/ca.pem" -CAkey "$ACT/ca.key" \
			-set_serial 1 -days 2 -extfile "$ACT/server.ext" -out "$ACT/server.pem" || return 1
	ACT_TLS_PORT=$(t11_free_port) || return 1
	openssl s_server -accept "127.0.0.1:$ACT_TLS_PORT" -cert "$ACT/server.pem" \
		-key "$ACT/server.key" -CAfile "$ACT/ca.pem" -Verify 1 -www -tls1_3 \
		</dev/null >"$ACT/s_server.log" 2>&1 &
	ACT_TLS_PID=$!
	t11_own_pid "$ACT_TLS_PID"
	printf 'GET / HTTP/1.0\r\n\r\n' >"$ACT/req"
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$ACT_TLS_PORT") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# The client certificate for the token key of ACT_IMPL (its public key from
# ssh-keygen -D), signed by the test CA.
act_client_cert() {
	ssh-keygen -e -m PKCS8 -f "$ACT_D/pub" >"$ACT_D/pub.pem" &&
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$ACT_D/throwaway.key" -subj "/CN=act-$ACT_IMPL" -out "$ACT_D/cert.csr" &&
		printf 'extendedKeyUsage=clientAuth\n' >"$ACT/client.ext" &&
		openssl x509 -req -in "$ACT_D/cert.csr" -force_pubkey "$ACT_D/pub.pem" \
			-CA "$ACT/ca.pem" -CAkey "$ACT/ca.key" -set_serial 2 -days 2 \
			-extfile "$ACT/client.ext" -out "$ACT_D/cert.pem"
}

# --- one module ---------------------------------------------------------------------

# act_module IMPL MODULE: every action with that module and its tool.
act_module() {
	ACT_IMPL=$1 ACT_M=$2 ACT_D=$ACT/$1
	local a prof
	mkdir -p "$ACT_D"
	say "actions: $ACT_IMPL"
	if ! act_store >"$ACT_D/setup.out" 2>&1; then
		tail -n 5 "$ACT_D/setup.out" | sed 's/^/   /' >&2
		for a in "${ACT_LIST[@]}"; do echo "$ACT_IMPL $a skip its store could not be made" >>"$RES/actions.txt"; done
		note "$ACT_IMPL: the store for the actions table could not be made: skipped"
		return
	fi
	act "$ACT_IMPL" keygen-D act_keygen
	if [ -s "$ACT_D/pub" ]; then
		cat "$ACT_D/pub" >>"$T11_SSHD_DIR/authorized_keys"
	else
		warn "$ACT_IMPL: ssh-keygen -D showed no P-256 key"
	fi
	act "$ACT_IMPL" ssh-cold act_ssh_cold
	if TPM11_MODULE=$ACT_M agent_start "$ACT_D/agent" >"$ACT_D/agent.out" 2>&1; then
		act "$ACT_IMPL" agent-add act_agent_add
		act "$ACT_IMPL" agent-sign act_agent_sign
		act "$ACT_IMPL" agent-sign-2 act_agent_sign
		act "$ACT_IMPL" agent-stop act_agent_stop
	else
		for a in agent-add agent-sign agent-sign-2 agent-stop; do
			echo "$ACT_IMPL $a skip ssh-agent did not start" >>"$RES/actions.txt"
		done
	fi
	if [ -n "$ACT_TLS_PORT" ] && act_client_cert >"$ACT_D/cert.out" 2>&1; then
		act "$ACT_IMPL" tls act_tls
	else
		echo "$ACT_IMPL tls skip no TLS server or client certificate" >>"$RES/actions.txt"
	fi
	if [ -e "$ACT_PROFILE_LIB" ]; then
		for prof in "$SRC"/tests/tcti/profiles/*.profile; do
			grep -q '^latency' "$prof" || continue
			prof=$(basename "$prof" .profile)
			act "$ACT_IMPL" "ssh-cold@$prof" act_ssh_profile "$prof"
		done
	fi
	act "$ACT_IMPL" sign act_sign "$(act_key_id ssh)"
	# A key bound to PCR 7 (issue 18), made outside any action's count.
	if [ "$ACT_IMPL" = tpm11 ] &&
		"$T11_TOOL" addkey --label act --algorithm ecc256 --key-label pcr --pcrs sha256:7 \
			--userpin "$ACT_PIN" >"$ACT_D/pcr.out" 2>&1; then
		act "$ACT_IMPL" sign-pcr act_sign "$(act_key_id pcr)"
	else
		echo "$ACT_IMPL sign-pcr skip $([ "$ACT_IMPL" = tpm11 ] && echo "the PCR-bound key could not be made" ||
			echo "no PCR-bound keys")" >>"$RES/actions.txt"
	fi
	for a in addkey-ecc256 addkey-rsa2048 changepin; do
		act "$ACT_IMPL" "$a" act_tool "$a"
	done
}

# --- the whole table ----------------------------------------------------------------

run_actions() {
	local t0 t1 c p before=" ${PIDS[*]} "
	# for this function and the clients it starts (bash restores them after)
	local -x TCTI_COUNT_LOG TCTI_COUNT_FILE TPM11_TCTI TPM2_PKCS11_TCTI TPM2TOOLS_TCTI
	local -x TPM11_STORE TPM2_PKCS11_STORE SSH_AUTH_SOCK SSH_AGENT_PID
	t0=$EPOCHREALTIME
	ACT=$WORK/actions
	ACT_LOG=$ACT/count.log
	ACT_TLS_PORT=
	ACT_PROFILE_LIB=$BUILD/tests/tcti/libtss2-tcti-tpmprofile.so
	[ -e "$ACT_PROFILE_LIB" ] ||
		note "actions: no $ACT_PROFILE_LIB: the model is not checked against the profile TCTI"
	mkdir -p "$ACT" "$RES/actions"
	: >"$RES/actions.txt"
	: >"$ACT_LOG"
	for c in ssh sshd ssh-agent ssh-add ssh-keygen gnutls-cli openssl; do
		command -v "$c" >/dev/null || [ -x "/usr/sbin/$c" ] || note "actions: $c is not installed"
	done
	if ! sshd_start "$ACT/sshd" >"$ACT/sshd.out" 2>&1; then
		note "actions: sshd did not start ($(tail -n 1 "$ACT/sshd.out")): no table of actions"
		return 1
	fi
	t11_askpass "$ACT/askpass" "$ACT_PIN"
	act_tls_server >"$ACT/tls-setup.out" 2>&1 || {
		note "actions: the TLS server could not be set up: no TLS action"
		ACT_TLS_PORT=
	}
	TCTI_COUNT_LOG=$ACT_LOG TCTI_COUNT_FILE=$ACT/count.file
	TPM11_TCTI=$(CT "$RM") TPM2_PKCS11_TCTI=$(CT "$RM") TPM2TOOLS_TCTI=$(CT "$RM")
	TPM11_STORE=$ACT/tpm11/store TPM2_PKCS11_STORE=$ACT/tpm2-pkcs11/store
	unset SSH_AUTH_SOCK SSH_AGENT_PID
	mkdir -p "$TPM11_STORE" "$TPM2_PKCS11_STORE"
	if [ -n "$WANT_T11" ]; then act_module tpm11 "$T11_MODULE"
	else echo "tpm11 - skip not built, or --no-tpm11" >>"$RES/actions.txt"; fi
	if [ -n "$WANT_P2" ]; then act_module tpm2-pkcs11 "$P2_MODULE"
	else echo "tpm2-pkcs11 - skip ${P2_WHY:-left out}" >>"$RES/actions.txt"; fi
	# the sshd, s_server and agents started here
	for p in "${PIDS[@]}"; do
		case $before in *" $p "*) ;; *) stop_pid "$p" ;; esac
	done
	# report.py checks the log against the exit counts, process by process
	cp "$ACT_LOG" "$RES/actions/count.log"
	cp "$ACT/count.file" "$RES/actions/count.file" 2>/dev/null
	t1=$EPOCHREALTIME
	echo "check seconds $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')" >>"$RES/actions.txt"
}
