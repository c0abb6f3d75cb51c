#!/usr/bin/env bash
# Public objects are public (issue 12; DESIGN.md property 9): keys and
# secret keys with CKA_PRIVATE=FALSE are made and used without C_Login
# and never touch the PIN objects, so they cost no dictionary-attack
# strike. On a direct swtpm (no resource manager), a token that has a PIN
# key:
#  - pubobj.c, never logged in, R/W session: AES-256 and generic secret
#    (HMAC) keys and an EC P-256 key pair, CKA_PRIVATE=FALSE, as token and
#    as session objects; AES round trip, HMAC sign/verify, ECDSA verified
#    by OpenSSL; then a new process, never logged in, uses the token ones;
#  - the same objects made in a logged-in session (C_Logout after), then
#    used by a new process that never logs in;
#  - `tpm11 addkey --no-login` next to the PIN key; `ssh-keygen -D` shows
#    it; a process that never logs in signs with it (pubobj.c; OpenSSL verifies). Not
#    pkcs11-tool --sign: pkcs11-tool 0.23 logs in for --sign whenever the
#    token has CKF_LOGIN_REQUIRED (so do p11tool and OpenSSH), and a token
#    with PIN keys must have it.
# TPM2_PT_LOCKOUT_COUNTER before and after all that: unchanged. A long
# recovery time first, so that a strike would stay visible, and a positive
# control: one wrong PIN raises the counter by one.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/sec-lib.bash"
t11_require_build
sec_require_prog PUBOBJ pubobj

T=$TPM11_TOOL
D=$T11_TMP/tpm
SO=public-so-2468
PIN=public-user-1357

swtpm_start "$D" || { not_ok "swtpm starts"; t11_done; exit 1; }
check "long dictionary-attack recovery: a strike stays counted" \
	tpm2_dictionarylockout --setup-parameters --max-tries=100 --recovery-time=1000 \
	--lockout-recovery-time=1000
check "tpm11 init" "$T" init
check "tpm11 addtoken PUB" "$T" addtoken --label PUB --sopin "$SO" --userpin "$PIN"
check "tpm11 addkey pin-key (a PIN key on the token)" "$T" addkey --label PUB \
	--algorithm ecc256 --key-label pin-key --id 01 --userpin "$PIN"

c0=$(sec_lockout_counter)
diag "TPM2_PT_LOCKOUT_COUNTER before: $c0"

rel_run_tap "[no login] " "$SEC_SECS" "$PUBOBJ" --token PUB --tag nl
rel_run_tap "[no login, another process] " "$SEC_SECS" "$PUBOBJ" --token PUB --tag nl --reuse
rel_run_tap "[made logged in] " "$SEC_SECS" "$PUBOBJ" --token PUB --tag li --login "$PIN"
rel_run_tap "[made logged in; used without login by another process] " "$SEC_SECS" \
	"$PUBOBJ" --token PUB --tag li --reuse

# --- the tool's --no-login key ------------------------------------------------
check "tpm11 addkey --no-login open-key next to the PIN key" "$T" addkey --label PUB \
	--algorithm ecc256 --key-label open-key --id 0f --no-login --userpin "$PIN"
"$T" ssh-pubkey --label PUB --key-label open-key >"$T11_TMP/open.pub" 2>"$T11_TMP/open.err"
if timeout "$SEC_SECS" ssh-keygen -D "$TPM11_MODULE" >"$T11_TMP/keygen.out" 2>&1 </dev/null &&
	[ -s "$T11_TMP/open.pub" ] && grep -qxF "$(cat "$T11_TMP/open.pub")" "$T11_TMP/keygen.out"; then
	ok "ssh-keygen -D lists the --no-login key (the line tpm11 ssh-pubkey prints)"
else
	not_ok "ssh-keygen -D lists the --no-login key (the line tpm11 ssh-pubkey prints)"
	sed 's/^/# /' "$T11_TMP/keygen.out" "$T11_TMP/open.pub" "$T11_TMP/open.err"
fi
# pkcs11-tool 0.23 (and p11tool, OpenSSH) log in before signing whenever
# the token has CKF_LOGIN_REQUIRED, which a token with PIN keys must have;
# so the signature without login comes from our own PKCS#11 client.
rel_run_tap "[tool's --no-login key, no login] " "$SEC_SECS" "$PUBOBJ" --token PUB --sign-with open-key
c1=$(sec_lockout_counter)
if [ "$c1" = "$c0" ]; then
	ok "TPM2_PT_LOCKOUT_COUNTER unchanged by public objects and the --no-login key ($c0 -> $c1)"
else
	not_ok "TPM2_PT_LOCKOUT_COUNTER unchanged by public objects and the --no-login key ($c0 -> $c1)"
fi

# Positive control: the counter does count a wrong PIN.
check_fails "positive control: tpm11 verify with a wrong PIN fails" \
	"$T" verify --label PUB --userpin wrong-pin-0000
c2=$(sec_lockout_counter)
if [ "$c2" = $((c1 + 1)) ]; then
	ok "positive control: one wrong PIN raises TPM2_PT_LOCKOUT_COUNTER by one ($c1 -> $c2)"
else
	not_ok "positive control: one wrong PIN raises TPM2_PT_LOCKOUT_COUNTER by one ($c1 -> $c2)"
fi
check "TPM clean at the end" tpm_is_clean

t11_done
