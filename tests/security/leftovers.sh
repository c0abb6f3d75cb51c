#!/usr/bin/env bash
# Nothing outlives the process, and leftovers do not break the next user
# (issue 12; DESIGN.md property 10). On a direct swtpm (no resource
# manager, 3 transient object slots), with no tpm2_flushcontext anywhere:
#  - five clients in a row (victim.c) log in, sign with two PIN keys and
#    call exit() without C_Finalize; after each the TPM holds no transient
#    object and no session;
#  - real clients in a row, each followed by the same check: pkcs11-tool
#    --login --sign, ssh-keygen -D, p11tool --login --test-sign (GnuTLS);
#  - two clients are SIGKILLed while logged in with their keys loaded; what
#    they leave is shown, and the attacker (attacker.c, no PIN) can use
#    none of it;
#  - then tpm11 verify, tpm11 addkey (PIN key), tpm11 addkey --no-login,
#    pkcs11-tool --login --sign and an ssh login through a loopback sshd
#    with PKCS11Provider all succeed (a direct TPM that reports 0x902,
#    TPM_RC_OBJECT_MEMORY, must be handled); what is left is shown and
#    attacked again.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/sec-lib.bash"
t11_require_build
sec_require_prog VICTIM victim
sec_require_prog ATTACKER attacker

T=$TPM11_TOOL
D=$T11_TMP/tpm
SO=left-so-97531
PIN=left-user-86420
P11=(timeout "$SEC_SECS" pkcs11-tool --module "$TPM11_MODULE" --token-label LEFT)
head -c 32 /dev/urandom >"$T11_TMP/h32"

swtpm_start "$D" || { not_ok "swtpm starts"; t11_done; exit 1; }
case $TPM11_TCTI in swtpm:*) ok "TCTI is direct: $TPM11_TCTI" ;; *) not_ok "TCTI is direct: $TPM11_TCTI" ;; esac
check "tpm11 init" "$T" init
check "tpm11 addtoken LEFT" "$T" addtoken --label LEFT --sopin "$SO" --userpin "$PIN"
check "tpm11 addkey l-p256 (ecc256, id 01)" "$T" addkey --label LEFT --algorithm ecc256 \
	--key-label l-p256 --id 01 --userpin "$PIN"
check "tpm11 addkey l-p384 (ecc384, id 02)" "$T" addkey --label LEFT --algorithm ecc384 \
	--key-label l-p384 --id 02 --userpin "$PIN"
check "TPM clean after the tool" tpm_is_clean

# --- clients that exit without C_Finalize ----------------------------------
for i in 1 2 3 4 5; do
	check "client $i logs in, signs with both keys, exit()s without C_Finalize" \
		"$VICTIM" --token LEFT --pin "$PIN" --prefix l-
	check "TPM clean after client $i" tpm_is_clean
done

# --- real clients -------------------------------------------------------------
check "pkcs11-tool --login --sign (l-p256)" "${P11[@]}" --login --pin "$PIN" \
	--sign -m ECDSA --id 01 -i "$T11_TMP/h32" -o "$T11_TMP/sig"
check "TPM clean after pkcs11-tool" tpm_is_clean
check "ssh-keygen -D" timeout "$SEC_SECS" ssh-keygen -D "$TPM11_MODULE"
check "TPM clean after ssh-keygen -D" tpm_is_clean
check "p11tool --login --test-sign (GnuTLS, l-p256)" env GNUTLS_PIN="$PIN" timeout "$SEC_SECS" \
	p11tool --provider "$TPM11_MODULE" --login --test-sign "pkcs11:token=LEFT;object=l-p256"
check "TPM clean after p11tool" tpm_is_clean

# --- two clients killed while logged in -----------------------------------------
for i in 1 2; do
	if victim_start "killed-$i" --token LEFT --pin "$PIN" --prefix l-; then
		ok "killed client $i logged in and signed (its keys loaded)"
	else
		not_ok "killed client $i logged in and signed (its keys loaded)"
		sed 's/^/# /' "$VICTIM_OUT"
	fi
	victim_kill
done
sec_tpm_left "after two clients were SIGKILLed"
# A killed process cannot flush: its keys stay loaded (a steady C_Sign is
# one TPM2_Sign, so a logged-in client keeps its keys in the TPM), which
# makes this attack not vacuous.
attack "[after the kills] " "$TPM11_TCTI" --phase "leftovers of killed clients" \
	--pin l-p256 --pin l-p384 --min-handles 1

# --- the next users ----------------------------------------------------------------
check "tpm11 verify" "$T" verify --label LEFT --userpin "$PIN"
check "tpm11 addkey l-new (PIN key, ecc256)" "$T" addkey --label LEFT --algorithm ecc256 \
	--key-label l-new --id 03 --userpin "$PIN"
check "tpm11 addkey --no-login l-open (ecc256)" "$T" addkey --label LEFT --algorithm ecc256 \
	--key-label l-open --id 04 --no-login --userpin "$PIN"
check "pkcs11-tool --login --sign (l-p256)" "${P11[@]}" --login --pin "$PIN" \
	--sign -m ECDSA --id 01 -i "$T11_TMP/h32" -o "$T11_TMP/sig"

sshd_start "$T11_TMP/sshd" || { not_ok "sshd starts"; t11_done; exit 1; }
t11_askpass "$T11_TMP/askpass" "$PIN"
"$T" ssh-pubkey --label LEFT --key-label l-p256 >"$T11_SSHD_DIR/authorized_keys" 2>"$T11_TMP/pub.err"
out=$(SSH_ASKPASS=$T11_TMP/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	t11_ssh -o PKCS11Provider="$TPM11_MODULE" -o IdentityFile=none \
	-o IdentityAgent=none -- echo LOGGED_IN 2>"$T11_TMP/ssh.err")
if [ "$out" = LOGGED_IN ]; then
	ok "ssh -o PKCS11Provider logs in with l-p256 through the loopback sshd"
else
	not_ok "ssh -o PKCS11Provider logs in with l-p256 through the loopback sshd (output '$out')"
	sed 's/^/# ssh: /' "$T11_TMP/ssh.err" "$T11_TMP/pub.err" | tail -n 20
	tail -n 5 "$T11_SSHD_DIR/sshd.log" | sed 's/^/# sshd: /'
fi

sec_tpm_left "after the follow-up commands"
attack "[after the follow-ups] " "$TPM11_TCTI" --phase "what is left" \
	--pin l-p256 --pin l-p384 --pin l-new --public l-open

t11_done
