# shellcheck shell=bash
# Loopback services for the ssh tests and the benchmark's table of user
# actions (bench/actions.sh): a free port, an SSH_ASKPASS program, a sshd on
# 127.0.0.1 with its own configuration, ssh to it, an ssh-agent.
# Sourced by tests/lib/common.sh. The caller defines t11_own_pid PID, which
# remembers a process it started so that its clean-up stops it (by PID).

# t11_free_port: print a TCP port that is free on 127.0.0.1 right now.
t11_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null && return 0
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}

# t11_askpass FILE PIN: write an SSH_ASKPASS program that prints PIN.
t11_askpass() {
	local f=$1 pin=$2
	printf '#!/bin/sh\ncat %q\n' "$f.pin" >"$f"
	printf '%s\n' "$pin" >"$f.pin"
	chmod 700 "$f"; chmod 600 "$f.pin"
}

# sshd_start DIR: a loopback sshd with its own host key that accepts the
# keys in DIR/authorized_keys for the current user. Sets T11_SSHD_PORT and
# T11_SSH_USER. Stopped by PID at exit.
sshd_start() {
	local dir=$1 port pid
	mkdir -p "$dir"
	[ -f "$dir/hostkey" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/hostkey" </dev/null || return 1
	touch "$dir/authorized_keys"; chmod 600 "$dir/authorized_keys"
	if [ "$(id -u)" -eq 0 ]; then mkdir -p /run/sshd && chmod 755 /run/sshd; fi
	for _ in 1 2 3; do
		port=$(t11_free_port) || return 1
		cat >"$dir/sshd_config" <<EOC
Port $port
ListenAddress 127.0.0.1
HostKey $dir/hostkey
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid
PermitRootLogin prohibit-password
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
X11Forwarding no
AllowTcpForwarding no
PrintMotd no
PrintLastLog no
EOC
		rm -f "$dir/sshd.pid"
		/usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log" </dev/null || continue
		for _ in $(seq 100); do [ -s "$dir/sshd.pid" ] && break; sleep 0.05; done
		pid=$(cat "$dir/sshd.pid" 2>/dev/null) || continue
		t11_own_pid "$pid"
		for _ in $(seq 100); do
			(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && {
				T11_SSHD_PORT=$port; T11_SSH_USER=$(id -un)
				T11_SSHD_DIR=$dir
				return 0
			}
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill "$pid" 2>/dev/null
	done
	echo "sshd did not start; log:"; cat "$dir/sshd.log" 2>/dev/null
	return 1
}

# t11_ssh [ssh options...] -- remote command: ssh to the loopback sshd with
# a clean configuration, never asking on a terminal, bounded in time.
# Options after the defaults win (e.g. -o PKCS11Provider=...).
t11_ssh() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do opts+=("$1"); shift; done
	[ "${1:-}" = "--" ] && shift
	timeout -k 5 60 ssh -F /dev/null -p "$T11_SSHD_PORT" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=10 -o LogLevel=ERROR \
		-o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
		-o PreferredAuthentications=publickey \
		"${opts[@]}" "$T11_SSH_USER@127.0.0.1" "$@" </dev/null
}

# agent_start DIR: an ssh-agent on a socket in DIR that accepts the module
# at $TPM11_MODULE. Exports SSH_AUTH_SOCK and SSH_AGENT_PID.
agent_start() {
	local dir=$1 out
	mkdir -p "$dir"
	out=$(ssh-agent -s -a "$dir/agent.sock" -P "$(realpath "$TPM11_MODULE" 2>/dev/null || echo "$TPM11_MODULE")" </dev/null) || return 1
	eval "$out" >/dev/null
	t11_own_pid "$SSH_AGENT_PID"
	export SSH_AUTH_SOCK SSH_AGENT_PID
}
