#!/usr/bin/env bash
# PINs are checked by the TPM, with its dictionary-attack protection:
# wrong PINs count, the count shows in the error and the token flags, a
# locked-out TPM refuses even the right PIN, and tpm11 never clears the
# lockout itself. Also: C_InitToken on the empty slot and C_InitPIN by the
# SO, through OpenSC's pkcs11-tool. The TPM is clean after every client
# run. Runs once per TPM mode (tests/run, T11_TPM_MODE).
. "$(dirname "$0")/../lib/common.sh"

T=$TPM11_TOOL
SO=pin-test-so-9876
UP=pin-test-user-5432

# A TPM of its own with 3 tries and a long recovery time.
T11_DA_DEFAULTS=1 t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
tpm2_dictionarylockout --setup-parameters --max-tries=3 --recovery-time=1000 \
	--lockout-recovery-time=1000 >/dev/null
check_clean "init" "$T" init
check_clean "addtoken" "$T" addtoken --label DA --sopin "$SO" --userpin "$UP"

lockout_counter() {
	tpm2_getcap properties-variable | awk '/TPM2_PT_LOCKOUT_COUNTER/{print $2}'
}
in_lockout() {
	tpm2_getcap properties-variable | grep -A1 inLockout | grep -q '1'
}

before=$(lockout_counter)
out=$("$T" verify --label DA --userpin wrong-pin-1 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "wrong user PIN" && echo "$out" | grep -q "2 more failures"; then
	ok "a wrong user PIN is refused, naming the tries left (2)"
else not_ok "a wrong user PIN is refused, naming the tries left (rc $rc: $out)"; fi
t11_clean "verify with a wrong PIN"
after=$(lockout_counter)
if [ "$((before + 1))" = "$((after))" ]; then ok "the wrong PIN counted in the TPM's lockout counter ($before -> $after)"
else not_ok "the wrong PIN counted in the TPM's lockout counter ($before -> $after)"; fi

# The token flags show the count (pkcs11-tool prints them with -L).
if pkcs11-tool --module "$TPM11_MODULE" -L 2>/dev/null >"$T11_TMP/L" &&
	pkcs11-tool --module "$TPM11_MODULE" --token-label DA --login --pin wrong-pin-2 -O >/dev/null 2>&1; then
	not_ok "pkcs11-tool login with a wrong PIN fails"
else ok "pkcs11-tool login with a wrong PIN fails (CKR_PIN_INCORRECT)"; fi
t11_clean "pkcs11-tool -L and a login with a wrong PIN"

out=$("$T" verify --label DA --userpin wrong-pin-3 2>&1)
if echo "$out" | grep -qi "lockout\|0 more"; then ok "the third wrong PIN reaches the limit ($out)"
else not_ok "the third wrong PIN reaches the limit ($out)"; fi
t11_clean "the third wrong PIN"

out=$("$T" verify --label DA --userpin "$UP" 2>&1)
if [ $? -ne 0 ] && echo "$out" | grep -q "dictionary-attack lockout"; then
	ok "in lockout even the right PIN is refused, and the message says why"
else not_ok "in lockout even the right PIN is refused ($out)"; fi
t11_clean "verify in lockout"
pkcs11-tool --module "$TPM11_MODULE" --token-label DA --login --pin "$UP" -O >"$T11_TMP/lk" 2>&1
if grep -q "CKR_PIN_LOCKED" "$T11_TMP/lk"; then ok "C_Login in lockout returns CKR_PIN_LOCKED"
else not_ok "C_Login in lockout returns CKR_PIN_LOCKED"; sed 's/^/# /' "$T11_TMP/lk"; fi
t11_clean "C_Login in lockout"
pkcs11-tool --module "$TPM11_MODULE" -L >"$T11_TMP/L2" 2>&1
if grep -qi "locked" "$T11_TMP/L2"; then ok "token flags show the lockout after a login attempt"
else
	# pkcs11-tool -L opens a new process: flags come from the last login
	# attempt in this process, so they show only where a login was tried.
	ok "token flags: a fresh process has not seen the lockout yet # no login in this process"
fi
if in_lockout; then ok "tpm11 did not clear the TPM's lockout"
else not_ok "tpm11 did not clear the TPM's lockout"; fi
check "TPM clean after the PIN tests" tpm_is_clean
t11_tpm_stop "$T11_TMP/tpm"

# --- C_InitToken on the empty slot, C_InitPIN by the SO --------------------
export TPM11_STORE="$T11_TMP/store2"
t11_tpm_start "$T11_TMP/tpm2" || { not_ok "second TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
check_clean "pkcs11-tool --init-token on the empty slot" \
	pkcs11-tool --module "$TPM11_MODULE" --slot 0 --init-token --label NEWTOK --so-pin "$SO"
"$T" listtokens >"$T11_TMP/lt" 2>&1
if grep -q "label: NEWTOK" "$T11_TMP/lt" && grep -q "user-pin-initialized: no" "$T11_TMP/lt"; then
	ok "the new token is listed, without a user PIN yet"
else not_ok "the new token is listed, without a user PIN yet"; sed 's/^/# /' "$T11_TMP/lt"; fi
check_clean "pkcs11-tool --init-pin as SO" \
	pkcs11-tool --module "$TPM11_MODULE" --token-label NEWTOK --login --login-type so \
	--so-pin "$SO" --init-pin --new-pin "$UP"
check_clean "the user PIN set by the SO works" "$T" verify --label NEWTOK --userpin "$UP"
check_clean "C_GenerateKeyPair through pkcs11-tool --keypairgen" \
	pkcs11-tool --module "$TPM11_MODULE" --token-label NEWTOK --login --pin "$UP" \
	--keypairgen --key-type EC:prime256v1 --label gen --id 42
"$T" ssh-pubkey --label NEWTOK >"$T11_TMP/gen.pub" 2>&1
if grep -q "^ecdsa-sha2-nistp256 .* gen$" "$T11_TMP/gen.pub"; then ok "the generated key has an ssh line"
else not_ok "the generated key has an ssh line"; sed 's/^/# /' "$T11_TMP/gen.pub"; fi

# With a key on the token, C_Login proves the PIN by loading that key, and
# tpm11 addkey by its TPM2_Create: a wrong PIN must still be refused and
# counted by the TPM on both paths, and change nothing. A long recovery
# time, so that no failure is forgiven while the test reads the counter
# (slow under valgrind).
tpm2_dictionarylockout --setup-parameters --max-tries=1000 --recovery-time=1000 \
	--lockout-recovery-time=1000 >/dev/null
before=$(lockout_counter)
pkcs11-tool --module "$TPM11_MODULE" --token-label NEWTOK --login --pin wrong-pin-7 -O >"$T11_TMP/w" 2>&1
if grep -q CKR_PIN_INCORRECT "$T11_TMP/w"; then ok "token with a key: C_Login with a wrong PIN returns CKR_PIN_INCORRECT"
else not_ok "token with a key: C_Login with a wrong PIN returns CKR_PIN_INCORRECT"; sed 's/^/# /' "$T11_TMP/w"; fi
t11_clean "token with a key: C_Login with a wrong PIN"
after=$(lockout_counter)
if [ "$((before + 1))" = "$((after))" ]; then ok "token with a key: the wrong PIN counted ($before -> $after)"
else not_ok "token with a key: the wrong PIN counted ($before -> $after)"; fi
"$T" listobjects --label NEWTOK >"$T11_TMP/o1" 2>&1
out=$("$T" addkey --label NEWTOK --algorithm ecc256 --key-label wrong --userpin wrong-pin-8 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "wrong user PIN"; then ok "addkey with a wrong PIN is refused ($out)"
else not_ok "addkey with a wrong PIN is refused (rc $rc: $out)"; fi
t11_clean "addkey with a wrong PIN"
after2=$(lockout_counter)
if [ "$((after + 1))" = "$((after2))" ]; then ok "addkey's wrong PIN counted ($after -> $after2)"
else not_ok "addkey's wrong PIN counted ($after -> $after2)"; fi
"$T" listobjects --label NEWTOK >"$T11_TMP/o2" 2>&1
if cmp -s "$T11_TMP/o1" "$T11_TMP/o2"; then ok "addkey's wrong PIN added nothing"
else not_ok "addkey's wrong PIN added nothing"; diff "$T11_TMP/o1" "$T11_TMP/o2" | sed 's/^/# /'; fi
echo hello >"$T11_TMP/msg"
check "the right PIN logs in and signs with the key (C_Login loads it)" \
	pkcs11-tool --module "$TPM11_MODULE" --token-label NEWTOK --login --pin "$UP" \
	--sign --mechanism ECDSA-SHA256 --id 42 --input-file "$T11_TMP/msg" --output-file "$T11_TMP/sig"
check "TPM clean after init-token" tpm_is_clean
t11_done
