#!/usr/bin/env bash
# End to end with ssh-agent: `ssh-add -s <module>` (PIN from SSH_ASKPASS)
# puts the token's key in the agent, `ssh-add -l` shows it, and ssh with no
# provider logs in to a loopback sshd through the agent. Removing the
# provider (`ssh-add -e`) takes the key away again. The TPM is clean after
# every client run that ended (the tool, ssh-keygen, ssh-add; after
# `ssh-add -e` and after the agent stopped; not while the agent holds a
# logged-in key). Runs once per TPM mode (tests/run, T11_TPM_MODE).
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

SO_PIN=agent-so-pin-99
USER_PIN=agent-user-pin-77
LABEL=PKI

t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
check_clean "tpm11 init" "$TPM11_TOOL" init
check_clean "tpm11 addtoken" "$TPM11_TOOL" addtoken --label "$LABEL" --sopin "$SO_PIN" --userpin "$USER_PIN"
check_clean "tpm11 addkey ecc256 ssh" "$TPM11_TOOL" addkey --algorithm ecc256 --label "$LABEL" \
	--key-label ssh --userpin "$USER_PIN"

timeout 60 ssh-keygen -D "$TPM11_MODULE" </dev/null 2>"$T11_TMP/keygen.err" | grep -v '^$' >"$T11_TMP/pub" || true
if grep -qE '^ecdsa-sha2-nistp256 [A-Za-z0-9+/=]+ ssh$' "$T11_TMP/pub"; then
	ok "ssh-keygen -D shows the key"
else
	not_ok "ssh-keygen -D shows the key"; sed 's/^/# /' "$T11_TMP/pub" "$T11_TMP/keygen.err"
fi
t11_clean "ssh-keygen -D"
fp=$(ssh-keygen -lf "$T11_TMP/pub" 2>/dev/null | awk '{print $2}' | head -1)

sshd_start "$T11_TMP/sshd" || { not_ok "sshd starts"; t11_done; exit 1; }
cp "$T11_TMP/pub" "$T11_SSHD_DIR/authorized_keys"
ok "loopback sshd on 127.0.0.1:$T11_SSHD_PORT"

# Without the agent holding the key, ssh with no provider does not log in.
agent_start "$T11_TMP/agent" || { not_ok "ssh-agent starts"; t11_done; exit 1; }
ok "ssh-agent started (pid $SSH_AGENT_PID, -P for the module)"
out=$(t11_ssh -o BatchMode=yes -o IdentityFile=none -- echo LOGGED_IN 2>&1)
if [ "$out" != LOGGED_IN ]; then ok "an empty agent does not log in"
else not_ok "an empty agent does not log in"; fi

t11_askpass "$T11_TMP/askpass" "$USER_PIN"
t11_askpass "$T11_TMP/askpass-wrong" "wrong-agent-pin-1"

# A wrong PIN: ssh-add -s fails and the agent holds nothing.
if SSH_ASKPASS="$T11_TMP/askpass-wrong" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	timeout 60 ssh-add -s "$TPM11_MODULE" </dev/null >"$T11_TMP/add.out" 2>&1; then
	not_ok "ssh-add -s with a wrong PIN fails"; sed 's/^/# /' "$T11_TMP/add.out"
else
	ok "ssh-add -s with a wrong PIN fails"
fi
if timeout 30 ssh-add -l </dev/null 2>&1 | grep -qF "${fp:-no-fingerprint}"; then
	not_ok "the agent holds no key after the wrong PIN"
	timeout 30 ssh-add -e "$TPM11_MODULE" </dev/null >/dev/null 2>&1
else
	ok "the agent holds no key after the wrong PIN"
fi
check "TPM clean after the wrong PIN" tpm_is_clean

# The right PIN.
if SSH_ASKPASS="$T11_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	timeout 60 ssh-add -s "$TPM11_MODULE" </dev/null >"$T11_TMP/add.out" 2>&1; then
	ok "ssh-add -s $TPM11_MODULE"
else
	not_ok "ssh-add -s $TPM11_MODULE"; sed 's/^/# /' "$T11_TMP/add.out"
fi
timeout 30 ssh-add -l </dev/null >"$T11_TMP/list" 2>&1
if [ -n "$fp" ] && grep -qF "$fp" "$T11_TMP/list"; then
	ok "ssh-add -l shows the key ($fp)"
else
	not_ok "ssh-add -l shows the key ($fp)"; sed 's/^/# /' "$T11_TMP/list"
fi
timeout 30 ssh-add -L </dev/null >"$T11_TMP/listL" 2>&1
if [ -s "$T11_TMP/pub" ] && grep -qF "$(awk '{print $2}' "$T11_TMP/pub")" "$T11_TMP/listL"; then
	ok "ssh-add -L prints the public key that ssh-keygen -D printed"
else
	not_ok "ssh-add -L prints the public key that ssh-keygen -D printed"; sed 's/^/# /' "$T11_TMP/listL"
fi

for i in 1 2; do
	out=$(t11_ssh -o BatchMode=yes -o IdentityFile=none -- echo LOGGED_IN 2>"$T11_TMP/ssh.err")
	if [ "$out" = LOGGED_IN ]; then
		ok "ssh through the agent logs in (run $i)"
	else
		not_ok "ssh through the agent logs in (run $i, output '$out')"
		sed 's/^/# ssh: /' "$T11_TMP/ssh.err" | tail -n 10
		tail -n 10 "$T11_SSHD_DIR/sshd.log" | sed 's/^/# sshd: /'
	fi
done
if grep 'Accepted publickey' "$T11_SSHD_DIR/sshd.log" | grep -qF "${fp:-no-fingerprint}"; then
	ok "sshd accepted the TPM key $fp"
else
	not_ok "sshd accepted the TPM key $fp"
fi

# ssh-add -e removes the provider's keys.
check "ssh-add -e $TPM11_MODULE" timeout 30 ssh-add -e "$TPM11_MODULE"
t11_clean "ssh-add -e (the agent's helper finalized the module)"
out=$(t11_ssh -o BatchMode=yes -o IdentityFile=none -- echo LOGGED_IN 2>&1)
if [ "$out" != LOGGED_IN ]; then ok "after ssh-add -e the agent no longer logs in"
else not_ok "after ssh-add -e the agent no longer logs in"; fi

# Stop the agent (its pkcs11 helper holds the module) before checking the TPM.
kill "$SSH_AGENT_PID" 2>/dev/null
for _ in $(seq 50); do kill -0 "$SSH_AGENT_PID" 2>/dev/null || break; sleep 0.1; done
sleep 0.3
check "TPM clean after the agent stopped" tpm_is_clean

t11_done
