#!/usr/bin/env bash
# Keys bound to PCRs (issue 18): `tpm11 addkey --pcrs sha256:7,11` makes a
# key whose TPM policy is PolicyPCR over those PCRs' values plus its
# authValue (PolicyPassword). It signs (pkcs11-tool, checked with
# openssl; ssh through PKCS11Provider) while the PCRs are unchanged; after
# `tpm2_pcrextend 11` the module refuses (CKR_FUNCTION_FAILED) with a log
# line, and the tool with a message, naming PCR 11 and not 7; a swtpm
# restarted (TPM2_Startup(CLEAR) resets the PCRs) signs again. Bad --pcrs
# values: a one-line error, nothing written. Without the key's authValue
# nobody signs with it, not even through a policy session that satisfies
# PolicyPCR (a --no-login key, empty authValue, shows that such a session
# is otherwise accepted). Signed policies: a key made with --pcr-signer
# signs only under a policy that signer signed (tpm11 pcr-sign) for the
# current values: none yet, refused; signed, works; PCR 11 extended (the
# older policy is for other values), refused; a policy by another key,
# refused; the new values signed, the same key works again. The TPM is
# clean after every client. Runs once per TPM mode (tests/run,
# T11_TPM_MODE).
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

SO_PIN=so-pin-4711
USER_PIN=user-pin-0815
LABEL=PCR
T=$TPM11_TOOL
D=$T11_TMP
P11=(timeout 60 pkcs11-tool --module "$TPM11_MODULE")
ONE=0000000000000000000000000000000000000000000000000000000000000001

t11_tpm_start "$D/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
check_clean "tpm11 init" "$T" init
check_clean "tpm11 addtoken" "$T" addtoken --label "$LABEL" --sopin "$SO_PIN" --userpin "$USER_PIN"

# --- bad --pcrs values: one line, exit 2, nothing written --------------------
sum_before=$(sha256sum "$TPM11_STORE"/* | sha256sum)
for bad in sha256:24 sha256:7,,11 7,11 sha512:7 sha256:007; do
	"$T" addkey --label "$LABEL" --algorithm ecc256 --key-label bad \
		--userpin "$USER_PIN" --pcrs "$bad" >"$D/bad.out" 2>"$D/bad.err"
	rc=$?
	lines=$(grep -vc 'warning: a PIN given' "$D/bad.err")
	if [ "$rc" = 2 ] && [ "$lines" = 1 ] && grep -q -- "--pcrs $bad" "$D/bad.err" &&
		[ ! -s "$D/bad.out" ]; then
		ok "--pcrs $bad: one-line error ($(grep -v 'warning: a PIN' "$D/bad.err"))"
	else
		not_ok "--pcrs $bad: one-line error, exit 2 (rc $rc, $lines lines)"
		sed 's/^/# /' "$D/bad.err" "$D/bad.out"
	fi
done
if [ "$(sha256sum "$TPM11_STORE"/* | sha256sum)" = "$sum_before" ]; then
	ok "bad --pcrs values changed nothing in the store"
else not_ok "bad --pcrs values changed nothing in the store"; fi
t11_clean "the bad --pcrs runs"

# --- PCR-bound keys ----------------------------------------------------------
if "$T" addkey --label "$LABEL" --algorithm ecc256 --key-label bound --id b1 \
	--userpin "$USER_PIN" --pcrs sha256:7,11 >"$D/add.out" 2>&1 &&
	grep -q "^bound to PCRs sha256:7,11 (their current values)$" "$D/add.out"; then
	ok "addkey ecc256 --pcrs sha256:7,11 says what it bound the key to"
else not_ok "addkey ecc256 --pcrs sha256:7,11 says what it bound the key to"; sed 's/^/# /' "$D/add.out"; fi
t11_clean "addkey ecc256 --pcrs sha256:7,11"
check_clean "addkey rsa2048 --pcrs sha256:11" "$T" addkey --label "$LABEL" --algorithm rsa2048 \
	--key-label boundrsa --id b2 --userpin "$USER_PIN" --pcrs sha256:11
check_clean "addkey --no-login --pcrs sha1:7,11" "$T" addkey --label "$LABEL" --algorithm ecc256 \
	--key-label svc --id b3 --no-login --pcrs sha1:7,11
check_clean "addkey ecc256 (not bound)" "$T" addkey --label "$LABEL" --algorithm ecc256 \
	--key-label plain --id b4 --userpin "$USER_PIN"

"$T" listobjects --label "$LABEL" >"$D/list" 2>&1
pcrs_of() { awk -v k="$1" '/^- label:/ { l = $3; c = "" } /class:/ { c = $2 }
	/pcrs:/ && l == k && c == "private-key" { print $2 }' "$D/list"; }
# (a signer-bound key prints "pcrs: signed policy": $2 is "signed")
[ "$(pcrs_of bound)" = sha256:7,11 ] && [ "$(pcrs_of boundrsa)" = sha256:11 ] &&
	[ "$(pcrs_of svc)" = sha1:7,11 ] && [ -z "$(pcrs_of plain)" ] &&
	[ "$(grep -c 'pcrs:' "$D/list")" = 3 ] &&
	ok "listobjects prints the PCR selection of the bound keys only" ||
	{ not_ok "listobjects prints the PCR selection of the bound keys only"; sed 's/^/# /' "$D/list"; }

head -c 1000 /dev/urandom >"$D/data"
"${P11[@]}" --read-object --type pubkey --id b1 -o "$D/b1.der" >/dev/null 2>&1 &&
	openssl pkey -pubin -inform DER -in "$D/b1.der" -out "$D/b1.pem" 2>/dev/null
"${P11[@]}" --read-object --type pubkey --id b2 -o "$D/b2.der" >/dev/null 2>&1 &&
	openssl pkey -pubin -inform DER -in "$D/b2.der" -out "$D/b2.pem" 2>/dev/null
t11_clean "pkcs11-tool --read-object"

# sign_ok WHAT: both bound keys sign through pkcs11-tool, and openssl
# verifies the signatures.
sign_ok() {
	local k what
	for k in "b1 ECDSA-SHA256 P-256 key bound to PCRs 7,11" "b2 SHA256-RSA-PKCS RSA key bound to PCR 11"; do
		set -- "$1" $k
		what="the ${*:4}"
		rm -f "$D/s.$2"
		if "${P11[@]}" --login --pin "$USER_PIN" --sign -m "$3" --signature-format openssl \
			--id "$2" -i "$D/data" -o "$D/s.$2" >"$D/sign.out" 2>&1 &&
			openssl dgst -sha256 -verify "$D/$2.pem" -signature "$D/s.$2" "$D/data" >/dev/null 2>&1; then
			ok "$1: $what signs ($3, openssl verifies)"
		else
			not_ok "$1: $what signs ($3)"; sed 's/^/# /' "$D/sign.out"
		fi
		t11_clean "pkcs11-tool --sign ($3, $1)"
	done
}

# --- ssh through PKCS11Provider ---------------------------------------------
sshd_start "$D/sshd" || { not_ok "sshd starts"; t11_done; exit 1; }
t11_askpass "$D/askpass" "$USER_PIN"
"$T" ssh-pubkey --label "$LABEL" --key-label bound >"$T11_SSHD_DIR/authorized_keys" 2>/dev/null
ssh_login() {
	SSH_ASKPASS=$D/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
		t11_ssh -o PKCS11Provider="$TPM11_MODULE" -o IdentityFile=none \
		-o IdentityAgent=none -- echo LOGGED_IN
}
ssh_ok() {
	local out
	out=$(ssh_login 2>"$D/ssh.err")
	if [ "$out" = LOGGED_IN ]; then ok "$1: ssh logs in with the PCR-bound key"
	else not_ok "$1: ssh logs in with the PCR-bound key"; sed 's/^/# /' "$D/ssh.err" | tail -n 10; fi
	t11_clean "ssh ($1)"
}

sign_ok "PCRs as bound"
ssh_ok "PCRs as bound"

# --- PCR 11 changes -----------------------------------------------------------
check "tpm2_pcrextend 11:sha256 (and sha1)" tpm2_pcrextend \
	"11:sha256=$ONE,sha1=${ONE:0:40}"
TPM11_LOG=error "${P11[@]}" --login --pin "$USER_PIN" --sign -m ECDSA-SHA256 \
	--id b1 -i "$D/data" -o "$D/s1" >"$D/refused.out" 2>&1
rc=$?
if [ "$rc" != 0 ] && grep -q "CKR_FUNCTION_FAILED" "$D/refused.out"; then
	ok "PCR 11 extended: the bound key's signature is refused (CKR_FUNCTION_FAILED)"
else not_ok "PCR 11 extended: the bound key's signature is refused (rc $rc)"; sed 's/^/# /' "$D/refused.out"; fi
if grep -q "PCR 11 differs from the value this key was bound to" "$D/refused.out" &&
	! grep -q "PCR 7 differs" "$D/refused.out"; then
	ok "the module's log names PCR 11, not PCR 7"
else not_ok "the module's log names PCR 11, not PCR 7"; sed 's/^/# /' "$D/refused.out"; fi
t11_clean "the refused signature"
check_fails "the RSA key bound to PCR 11 is refused too" "${P11[@]}" --login --pin "$USER_PIN" \
	--sign -m SHA256-RSA-PKCS --id b2 -i "$D/data" -o "$D/s2"
t11_clean "the refused RSA signature"
check "a key not bound to PCRs still signs" "${P11[@]}" --login --pin "$USER_PIN" \
	--sign -m ECDSA-SHA256 --id b4 -i "$D/data" -o "$D/s4"
t11_clean "the unbound key's signature"
"$T" selfsign --label "$LABEL" --key-label bound --subject /CN=pcr --days 1 \
	--userpin "$USER_PIN" >"$D/self.out" 2>"$D/self.err"
rc=$?
if [ "$rc" != 0 ] && grep -q "^tpm11: selfsign: PCR 11 differs from the value this key was bound to$" "$D/self.err"; then
	ok "tpm11 selfsign says: PCR 11 differs from the value this key was bound to"
else not_ok "tpm11 selfsign names PCR 11 (rc $rc)"; sed 's/^/# /' "$D/self.err"; fi
t11_clean "tpm11 selfsign (refused)"
out=$(ssh_login 2>"$D/ssh.err")
if [ "$out" != LOGGED_IN ]; then ok "PCR 11 extended: ssh does not log in with the bound key"
else not_ok "PCR 11 extended: ssh does not log in with the bound key"; fi
t11_clean "ssh (refused)"

# --- no PIN, no key: a policy session that passes PolicyPCR is not enough -----
# The blob of a key, loaded by whoever can read the store; PolicyPCR and
# PolicyPassword in a policy session, and TPM2_Sign with an empty authValue.
policy_sign() { # KEY-LABEL PCRS
	local row=$D/row.$1 rc=0
	sqlite3 "$TPM11_STORE/tpm11.sqlite3" "select hex(tpm_pub) || ' ' || hex(tpm_priv) from objects
		where tpm_priv is not null and instr(attrs, cast('$1' as blob)) > 0 limit 1" >"$row" || return 1
	cut -d' ' -f1 "$row" | xxd -r -p >"$row.pub"
	cut -d' ' -f2 "$row" | xxd -r -p >"$row.priv"
	tpm2_load -C 0x81000001 -u "$row.pub" -r "$row.priv" -c "$row.ctx" >/dev/null || return 1
	tpm2_startauthsession --policy-session -S "$row.sess" &&
		tpm2_policypcr -S "$row.sess" -l "$2" >/dev/null &&
		tpm2_policypassword -S "$row.sess" >/dev/null &&
		echo hello | tpm2_sign -c "$row.ctx" -p "session:$row.sess" -g sha256 -o "$row.sig" ||
		rc=1
	# tpm2-tools leave what they loaded (no resource manager in direct
	# mode): this client's objects and sessions go.
	tpm2_flushcontext -t; tpm2_flushcontext -s
	return $rc
}
check_fails "without the authValue the PCR-bound key does not sign (policy session, empty password)" \
	policy_sign bound sha256:7,11
t11_clean "the attempt without the authValue"

# --- a fresh PCR state: works again --------------------------------------------
t11_tpm_stop "$D/tpm"
t11_tpm_start "$D/tpm" || { not_ok "TPM starts again"; t11_done; exit 1; }
ok "swtpm restarted (TPM2_Startup(CLEAR): PCRs reset)"
sign_ok "after a restart"
ssh_ok "after a restart"
check "control: with PolicyPCR and PolicyPassword a key with an empty authValue signs (the attack above is a real one)" \
	policy_sign svc sha1:7,11
t11_clean "the control"
check_fails "without the authValue the PCR-bound key does not sign, PCRs as bound" \
	policy_sign bound sha256:7,11
t11_clean "the attempt without the authValue"
check_fails "with a password session (empty authValue) the PCR-bound key does not sign" \
	bash -c 'tpm2_load -C 0x81000001 -u "$1.pub" -r "$1.priv" -c "$1.ctx2" >/dev/null &&
		{ echo hello | tpm2_sign -c "$1.ctx2" -p "" -g sha256 -o "$1.sig2"; rc=$?;
		  tpm2_flushcontext -t; exit $rc; }' - "$D/row.bound"
t11_clean "the password-session attempt"

# --- signed policies (--pcr-signer, tpm11 pcr-sign) ---------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/signer.pem" 2>/dev/null
openssl pkey -in "$D/signer.pem" -pubout -out "$D/signer.pub" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/other.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$D/rsa.pem" 2>/dev/null
POL=$TPM11_STORE/pcr-policies
sum_before=$(sha256sum "$TPM11_STORE"/* | sha256sum)
for bad in "--pcr-signer $D/rsa.pem" "--pcr-signer $D/nonexistent.pem" "--pcr-signer $D/signer.pub --pcrs sha256:7"; do
	# shellcheck disable=SC2086
	"$T" addkey --label "$LABEL" --algorithm ecc256 --key-label bad --userpin "$USER_PIN" $bad \
		>"$D/bad.out" 2>"$D/bad.err"
	rc=$?
	lines=$(grep -vc 'warning: a PIN given' "$D/bad.err")
	if [ "$rc" = 2 ] && [ "$lines" = 1 ] && [ ! -s "$D/bad.out" ]; then
		ok "addkey ${bad//$D\//}: one-line error ($(grep -v 'warning: a PIN' "$D/bad.err" | sed "s|$D/||g"))"
	else
		not_ok "addkey $bad: one-line error, exit 2 (rc $rc, $lines lines)"; sed 's/^/# /' "$D/bad.err"
	fi
done
[ "$(sha256sum "$TPM11_STORE"/* | sha256sum)" = "$sum_before" ] &&
	ok "bad --pcr-signer values changed nothing in the store" ||
	not_ok "bad --pcr-signer values changed nothing in the store"
mkdir -p "$POL"
check_clean "addkey --pcr-signer (EC P-256 public key)" "$T" addkey --label "$LABEL" \
	--algorithm ecc256 --key-label signed --id b5 --userpin "$USER_PIN" --pcr-signer "$D/signer.pub"
"$T" listobjects --label "$LABEL" >"$D/list" 2>&1
[ "$(pcrs_of signed)" = signed ] && ok "listobjects: pcrs: signed policy" ||
	{ not_ok "listobjects: pcrs: signed policy"; sed 's/^/# /' "$D/list"; }
"${P11[@]}" --read-object --type pubkey --id b5 -o "$D/b5.der" >/dev/null 2>&1 &&
	openssl pkey -pubin -inform DER -in "$D/b5.der" -out "$D/b5.pem" 2>/dev/null
# signed_sign WHAT: 0 if the signer-bound key signs (openssl verifies);
# the module's log in $D/signed.out.
signed_sign() {
	rm -f "$D/s5"
	TPM11_LOG=error "${P11[@]}" --login --pin "$USER_PIN" --sign -m ECDSA-SHA256 \
		--signature-format openssl --id b5 -i "$D/data" -o "$D/s5" >"$D/signed.out" 2>&1 &&
		openssl dgst -sha256 -verify "$D/b5.pem" -signature "$D/s5" "$D/data" >/dev/null 2>&1
}
check_fails "no signed policy yet: the signer-bound key does not sign" signed_sign
grep -q "no PCR policy signed by this key's signer matches" "$D/signed.out" &&
	ok "the module says no signed policy matches" ||
	{ not_ok "the module says no signed policy matches"; sed 's/^/# /' "$D/signed.out"; }
t11_clean "the refused signature (no signed policy)"
check_clean "tpm11 pcr-sign --pcrs sha256:7,11 (the signer)" "$T" pcr-sign --signer "$D/signer.pem" \
	--pcrs sha256:7,11 --out "$POL/boot1.pcrpol"
check "with the signed policy the key signs (openssl verifies)" signed_sign
t11_clean "the signature under the signed policy"
check "tpm2_pcrextend 11:sha256" tpm2_pcrextend "11:sha256=$ONE"
check_fails "PCR 11 extended: the older signed policy (other values) is not used: refused" signed_sign
t11_clean "the refused signature (PCR 11 extended)"
check_clean "tpm11 pcr-sign by another key" "$T" pcr-sign --signer "$D/other.pem" \
	--pcrs sha256:7,11 --out "$POL/other.pcrpol"
check_fails "a policy for the new values signed by another key is refused" signed_sign
t11_clean "the refused signature (another signer)"
check_clean "tpm11 pcr-sign the new values (the signer)" "$T" pcr-sign --signer "$D/signer.pem" \
	--pcrs sha256:7,11 --out "$POL/boot2.pcrpol"
check "the new signed policy: the same key signs again, not re-created" signed_sign
t11_clean "the signature under the new signed policy"
check "the fixed-PCR key stays refused (PCR 11 differs)" bash -c '! "$@"' - "${P11[@]}" \
	--login --pin "$USER_PIN" --sign -m ECDSA-SHA256 --id b1 -i "$D/data" -o "$D/s1"
t11_clean "the fixed-PCR key's refused signature"

t11_done
