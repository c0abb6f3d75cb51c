#!/usr/bin/env bash
# End to end with OpenSSH: ssh-keygen -D lists the token's keys with their
# labels (the same lines as `tpm11 ssh-pubkey`), and a loopback sshd accepts
# `ssh -o PKCS11Provider=<module>` for P-256, P-384 and RSA-2048 keys, with
# the PIN given by SSH_ASKPASS. A wrong PIN logs no one in. After every
# client run (tool, ssh-keygen, ssh) the TPM holds no transient objects or
# sessions. Runs once per TPM mode (tests/run, T11_TPM_MODE); in minimal
# mode the P-384 key's cases skip.
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

SO_PIN=so-pin-4711
USER_PIN=user-pin-0815
LABEL=PKI
KEYS=("p256 ecc256 ecdsa-sha2-nistp256" "p384 ecc384 ecdsa-sha2-nistp384" "rsa2048 rsa2048 ssh-rsa")

t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
t11_keys_offered KEYS "addkey, ssh-keygen -D and tpm11 ssh-pubkey lines, ssh login with PKCS11Provider"
check_clean "tpm11 init" "$TPM11_TOOL" init
check_clean "tpm11 addtoken --label $LABEL" "$TPM11_TOOL" addtoken --label "$LABEL" \
	--sopin "$SO_PIN" --userpin "$USER_PIN"
for k in "${KEYS[@]}"; do
	set -- $k
	check_clean "tpm11 addkey --algorithm $2 --key-label $1" "$TPM11_TOOL" addkey \
		--label "$LABEL" --algorithm "$2" --key-label "$1" --userpin "$USER_PIN"
done
check "TPM clean after the tool" tpm_is_clean

# --- ssh-keygen -D ---------------------------------------------------------
if timeout 60 ssh-keygen -D "$TPM11_MODULE" >"$T11_TMP/keygen.out" 2>"$T11_TMP/keygen.err" </dev/null; then
	ok "ssh-keygen -D runs"
else
	not_ok "ssh-keygen -D runs"; sed 's/^/# /' "$T11_TMP/keygen.err"
fi
t11_clean "ssh-keygen -D"
grep -v '^$' "$T11_TMP/keygen.out" >"$T11_TMP/keygen.lines" || true
n=$(wc -l <"$T11_TMP/keygen.lines")
if [ "$n" -eq ${#KEYS[@]} ]; then ok "ssh-keygen -D prints one line per key ($n)"
else not_ok "ssh-keygen -D prints one line per key (got $n, want ${#KEYS[@]})"
	sed 's/^/# /' "$T11_TMP/keygen.out"; fi
for k in "${KEYS[@]}"; do
	set -- $k
	line=$(grep -E "^$3 [A-Za-z0-9+/=]+ $1\$" "$T11_TMP/keygen.lines" | head -1)
	if [ -n "$line" ]; then
		ok "ssh-keygen -D: '$3 ... $1'"
		printf '%s\n' "$line" >"$T11_TMP/pub.$1"
	else
		not_ok "ssh-keygen -D: a '$3' line ending with the key label '$1'"
		sed 's/^/# /' "$T11_TMP/keygen.out"
	fi
done

if "$TPM11_TOOL" ssh-pubkey >"$T11_TMP/tool.out" 2>"$T11_TMP/tool.err" </dev/null; then
	if diff <(grep -v '^$' "$T11_TMP/tool.out" | sort) <(sort "$T11_TMP/keygen.lines") >"$T11_TMP/diff"; then
		ok "tpm11 ssh-pubkey prints the same lines as ssh-keygen -D"
	else
		not_ok "tpm11 ssh-pubkey prints the same lines as ssh-keygen -D"
		sed 's/^/# /' "$T11_TMP/diff"
	fi
else
	not_ok "tpm11 ssh-pubkey runs"; sed 's/^/# /' "$T11_TMP/tool.err"
fi
t11_clean "tpm11 ssh-pubkey"
set -- ${KEYS[0]}
out=$("$TPM11_TOOL" ssh-pubkey --label "$LABEL" --key-label "$1" 2>&1 </dev/null)
if [ -f "$T11_TMP/pub.$1" ] && [ "$out" = "$(cat "$T11_TMP/pub.$1")" ]; then
	ok "tpm11 ssh-pubkey --key-label $1 prints exactly that key's line"
else
	not_ok "tpm11 ssh-pubkey --key-label $1 prints exactly that key's line"
	printf '# %s\n' "$out"
fi
t11_clean "tpm11 ssh-pubkey --key-label $1"

# --- ssh through PKCS11Provider ------------------------------------------
sshd_start "$T11_TMP/sshd" || { not_ok "sshd starts"; t11_done; exit 1; }
ok "loopback sshd on 127.0.0.1:$T11_SSHD_PORT"
t11_askpass "$T11_TMP/askpass" "$USER_PIN"
t11_askpass "$T11_TMP/askpass-wrong" "not-the-pin-123"

# ssh_login ASKPASS: ssh through the module, remote `echo LOGGED_IN`.
ssh_login() {
	SSH_ASKPASS=$1 SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
		t11_ssh -o PKCS11Provider="$TPM11_MODULE" -o IdentityFile=none \
		-o IdentityAgent=none -- echo LOGGED_IN
}

for k in "${KEYS[@]}"; do
	set -- $k
	if [ ! -f "$T11_TMP/pub.$1" ]; then
		not_ok "ssh login with the $1 key (no public key line to authorize)"
		continue
	fi
	cp "$T11_TMP/pub.$1" "$T11_SSHD_DIR/authorized_keys"
	fp=$(ssh-keygen -lf "$T11_TMP/pub.$1" | awk '{print $2}')
	before=$(grep -c 'Accepted publickey' "$T11_SSHD_DIR/sshd.log" || true)
	out=$(ssh_login "$T11_TMP/askpass" 2>"$T11_TMP/ssh.err"); rc=$?
	if [ "$rc" = 0 ] && [ "$out" = LOGGED_IN ]; then
		ok "ssh -o PKCS11Provider logs in with the $2 key '$1'"
	else
		not_ok "ssh -o PKCS11Provider logs in with the $2 key '$1' (rc $rc, output '$out')"
		sed 's/^/# ssh: /' "$T11_TMP/ssh.err" | tail -n 20
		tail -n 10 "$T11_SSHD_DIR/sshd.log" | sed 's/^/# sshd: /'
	fi
	after=$(sed -n "$((before + 1)),\$p" "$T11_SSHD_DIR/sshd.log" | grep 'Accepted publickey' || true)
	if printf '%s\n' "$after" | grep -qF "$fp"; then
		ok "sshd accepted key $fp ($1)"
	else
		not_ok "sshd accepted key $fp ($1)"; printf '# %s\n' "$after"
	fi
	check "TPM clean after ssh with $1" tpm_is_clean
done

# --- a wrong PIN is refused --------------------------------------------------
set -- ${KEYS[0]}
cp "$T11_TMP/pub.$1" "$T11_SSHD_DIR/authorized_keys" 2>/dev/null
before=$(grep -c 'Accepted publickey' "$T11_SSHD_DIR/sshd.log" || true)
out=$(ssh_login "$T11_TMP/askpass-wrong" 2>"$T11_TMP/ssh.err"); rc=$?
if [ "$rc" != 0 ] && [ "$out" != LOGGED_IN ]; then
	ok "ssh with a wrong PIN does not log in"
else
	not_ok "ssh with a wrong PIN does not log in (rc $rc, output '$out')"
fi
sed 's/^/# ssh: /' "$T11_TMP/ssh.err" | tail -n 5
now=$(grep -c 'Accepted publickey' "$T11_SSHD_DIR/sshd.log" || true)
if [ "$now" = "$before" ]; then ok "sshd logged no accepted key for the wrong PIN"
else not_ok "sshd logged no accepted key for the wrong PIN"; fi
check "TPM clean after the wrong-PIN ssh" tpm_is_clean

# The right PIN still works afterwards.
out=$(ssh_login "$T11_TMP/askpass" 2>"$T11_TMP/ssh.err")
if [ "$out" = LOGGED_IN ]; then ok "the right PIN logs in after a wrong one"
else not_ok "the right PIN logs in after a wrong one"; sed 's/^/# /' "$T11_TMP/ssh.err" | tail -n 10; fi
check "TPM clean at the end" tpm_is_clean

t11_done
