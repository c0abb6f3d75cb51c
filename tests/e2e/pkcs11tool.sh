#!/usr/bin/env bash
# OpenSC pkcs11-tool against the module: -L lists the token, -O lists the
# public objects without login and the private keys after login, and
# --sign with each key type (CKM_ECDSA on a SHA-256/384 hash, CKM_RSA_PKCS
# on a caller-built DigestInfo, and the hash-and-sign mechanisms) gives
# signatures that openssl verifies with the public key read from the token.
# -M (C_GetMechanismList, C_GetMechanismInfo) offers P-384, RSA-3072 and
# AES exactly when the TPM has them; without them (the minimal profile)
# key generation of that kind is refused, and the tool says what the TPM
# lacks. The TPM is clean after every tool and pkcs11-tool run. Runs once
# per TPM mode (tests/run, T11_TPM_MODE); in minimal mode the P-384 key's
# cases skip.
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

SO_PIN=p11tool-so-2468
USER_PIN=p11tool-user-1357
LABEL=PKI
KEYS=("p256 ecc256 EC sha256" "p384 ecc384 EC sha384" "rsa2048 rsa2048 RSA sha256")

t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
t11_keys_offered KEYS "addkey, -O listings, public key export, ECDSA and hash-and-sign signatures verified by openssl"
check_clean "tpm11 init" "$TPM11_TOOL" init
check_clean "tpm11 addtoken" "$TPM11_TOOL" addtoken --label "$LABEL" --sopin "$SO_PIN" --userpin "$USER_PIN"

# --- what the module offers is what the TPM offers (issue 14) -----------------
# pkcs11-tool -M: C_GetMechanismList, and C_GetMechanismInfo of each (key
# sizes). On a TPM with P-384 and AES encryption (swtpm as it is) they are
# offered; on one without (the minimal profile) they are not, and asking
# for them is refused with the code PKCS#11 gives and, in the tool, with
# what the TPM lacks. (-m names the mechanism: else pkcs11-tool refuses
# by itself, from the list, before C_GenerateKey.)
timeout 60 pkcs11-tool --module "$TPM11_MODULE" -M </dev/null >"$T11_TMP/M" 2>&1
t11_clean "pkcs11-tool -M"
if t11_tpm_has ecc384; then
	grep -q "^  ECDSA, keySize={256,384}" "$T11_TMP/M" && ok "-M: ECDSA for 256- and 384-bit keys (the TPM has P-384)" ||
		{ not_ok "-M: ECDSA for 256- and 384-bit keys (the TPM has P-384)"; sed 's/^/# /' "$T11_TMP/M" | head -20; }
else
	if grep -q "^  ECDSA, keySize={256,256}" "$T11_TMP/M" && grep -q "^  ECDSA-KEY-PAIR-GEN, keySize={256,256}" "$T11_TMP/M" &&
		grep -q "^  ECDH1-DERIVE, keySize={256,256}" "$T11_TMP/M"; then
		ok "-M: ECDSA, EC key generation and ECDH for 256-bit keys only ($(t11_tpm_lacks ecc384))"
	else not_ok "-M: EC mechanisms for 256-bit keys only ($(t11_tpm_lacks ecc384))"; sed 's/^/# /' "$T11_TMP/M" | head -30; fi
	timeout 60 pkcs11-tool --module "$TPM11_MODULE" --token-label "$LABEL" --login --pin "$USER_PIN" \
		--keypairgen --key-type EC:secp384r1 --label p384gen </dev/null >"$T11_TMP/kg" 2>&1
	# (OpenSC 0.23 prints 0x140 as an unknown error)
	if grep -q 'CKR_CURVE_NOT_SUPPORTED\|(0x140)' "$T11_TMP/kg"; then ok "C_GenerateKeyPair of a P-384 key: CKR_CURVE_NOT_SUPPORTED"
	else not_ok "C_GenerateKeyPair of a P-384 key: CKR_CURVE_NOT_SUPPORTED"; sed 's/^/# /' "$T11_TMP/kg" | tail -5; fi
	t11_clean "pkcs11-tool --keypairgen EC:secp384r1"
	check_fails "tpm11 addkey --algorithm ecc384 is refused" "$TPM11_TOOL" addkey --label "$LABEL" \
		--algorithm ecc384 --key-label p384 --userpin "$USER_PIN"
	if grep -q "this TPM has no NIST P-384 curve; choose ecc256" "$T11_TMP/last.out"; then
		ok "... saying what the TPM lacks and what to choose"
	else not_ok "... saying what the TPM lacks and what to choose"; sed 's/^/# /' "$T11_TMP/last.out"; fi
	t11_clean "tpm11 addkey --algorithm ecc384"
fi
if t11_tpm_has aes; then
	grep -q "^  AES-CBC," "$T11_TMP/M" && grep -q "^  AES-KEY-GEN," "$T11_TMP/M" &&
		ok "-M: AES key generation and AES-CBC (the TPM has TPM2_EncryptDecrypt)" ||
		{ not_ok "-M: AES key generation and AES-CBC"; sed 's/^/# /' "$T11_TMP/M" | head -40; }
else
	if grep -qi aes "$T11_TMP/M"; then not_ok "-M: no AES mechanism ($(t11_tpm_lacks aes))"; grep -i aes "$T11_TMP/M" | sed 's/^/# /'
	else ok "-M: no AES mechanism ($(t11_tpm_lacks aes))"; fi
	timeout 60 pkcs11-tool --module "$TPM11_MODULE" --token-label "$LABEL" --login --pin "$USER_PIN" \
		--keygen --key-type AES:16 -m AES-KEY-GEN --sensitive --label aesgen </dev/null >"$T11_TMP/kg" 2>&1
	if grep -q CKR_MECHANISM_INVALID "$T11_TMP/kg"; then ok "C_GenerateKey of an AES key: CKR_MECHANISM_INVALID"
	else not_ok "C_GenerateKey of an AES key: CKR_MECHANISM_INVALID"; sed 's/^/# /' "$T11_TMP/kg" | tail -5; fi
	t11_clean "pkcs11-tool --keygen AES:16"
fi
if t11_tpm_has rsa3072; then
	grep -q "^  RSA-PKCS-KEY-PAIR-GEN, keySize={2048,3072}" "$T11_TMP/M" && ok "-M: RSA keys of 2048 and 3072 bits" ||
		{ not_ok "-M: RSA keys of 2048 and 3072 bits"; grep RSA "$T11_TMP/M" | sed 's/^/# /'; }
else
	grep -q "^  RSA-PKCS-KEY-PAIR-GEN, keySize={2048,2048}" "$T11_TMP/M" &&
		ok "-M: RSA keys of 2048 bits only ($(t11_tpm_lacks rsa3072))" ||
		{ not_ok "-M: RSA keys of 2048 bits only"; grep RSA "$T11_TMP/M" | sed 's/^/# /'; }
	check_fails "tpm11 addkey --algorithm rsa3072 is refused" "$TPM11_TOOL" addkey --label "$LABEL" \
		--algorithm rsa3072 --key-label r3072 --userpin "$USER_PIN"
	grep -q "this TPM has no RSA-3072; choose rsa2048" "$T11_TMP/last.out" &&
		ok "... saying what the TPM lacks and what to choose" ||
		{ not_ok "... saying what the TPM lacks and what to choose"; sed 's/^/# /' "$T11_TMP/last.out"; }
	t11_clean "tpm11 addkey --algorithm rsa3072"
fi
for k in "${KEYS[@]}"; do
	set -- $k
	check_clean "tpm11 addkey --algorithm $2 --key-label $1" "$TPM11_TOOL" addkey --label "$LABEL" \
		--algorithm "$2" --key-label "$1" --userpin "$USER_PIN"
done

P11=(timeout 120 pkcs11-tool --module "$TPM11_MODULE")
TOK=(--token-label "$LABEL")

# -L
if "${P11[@]}" -L </dev/null >"$T11_TMP/L" 2>&1 && grep -qE "token label +: $LABEL\$" "$T11_TMP/L"; then
	ok "pkcs11-tool -L lists token $LABEL"
else
	not_ok "pkcs11-tool -L lists token $LABEL"; sed 's/^/# /' "$T11_TMP/L"
fi
t11_clean "pkcs11-tool -L"
for flag in "login required" "rng" "PIN initialized" "token initialized"; do
	if grep -E '^ +token flags' "$T11_TMP/L" | grep -q "$flag"; then ok "-L token flags: $flag"
	else not_ok "-L token flags: $flag"; grep 'flags' "$T11_TMP/L" | sed 's/^/# /'; fi
done

# -O without login: public keys only
"${P11[@]}" "${TOK[@]}" -O </dev/null >"$T11_TMP/O" 2>&1
t11_clean "pkcs11-tool -O"
for k in "${KEYS[@]}"; do
	set -- $k
	if grep -A3 "^Public Key Object; $3" "$T11_TMP/O" | grep -qE "label: +$1\$"; then
		ok "-O without login lists public key $1"
	else
		not_ok "-O without login lists public key $1"; sed 's/^/# /' "$T11_TMP/O" | head -40
	fi
done
if grep -q '^Private Key Object' "$T11_TMP/O"; then not_ok "-O without login lists no private key"
else ok "-O without login lists no private key"; fi

# -O with login: the private keys too
"${P11[@]}" "${TOK[@]}" --login --pin "$USER_PIN" -O </dev/null >"$T11_TMP/OL" 2>&1
t11_clean "pkcs11-tool --login -O"
for k in "${KEYS[@]}"; do
	set -- $k
	if grep -A3 "^Private Key Object; $3" "$T11_TMP/OL" | grep -qE "label: +$1\$"; then
		ok "--login -O lists private key $1"
	else
		not_ok "--login -O lists private key $1"; sed 's/^/# /' "$T11_TMP/OL" | head -40
	fi
	pid=$(grep -A6 "^Private Key Object; $3" "$T11_TMP/OL" | grep -A5 -E "label: +$1\$" | sed -n 's/^ *ID: *//p' | head -1)
	uid=$(grep -A6 "^Public Key Object; $3" "$T11_TMP/OL" | grep -A5 -E "label: +$1\$" | sed -n 's/^ *ID: *//p' | head -1)
	printf '%s' "$pid" >"$T11_TMP/$1.id"
	if [ -n "$pid" ] && [ "$pid" = "$uid" ]; then ok "$1: private and public key share CKA_ID $pid"
	else not_ok "$1: private and public key share CKA_ID ('$pid' vs '$uid')"; fi
done

# wrong PIN
if "${P11[@]}" "${TOK[@]}" --login --pin wrong-pin-000 -O </dev/null >"$T11_TMP/W" 2>&1; then
	not_ok "--login with a wrong PIN fails"
else
	if grep -q CKR_PIN_INCORRECT "$T11_TMP/W"; then ok "--login with a wrong PIN fails with CKR_PIN_INCORRECT"
	else not_ok "--login with a wrong PIN fails with CKR_PIN_INCORRECT"; sed 's/^/# /' "$T11_TMP/W"; fi
fi
t11_clean "pkcs11-tool --login with a wrong PIN"

# --- signatures ------------------------------------------------------------
# rs2der RAW OUT: a raw r||s ECDSA signature (two equal halves) to DER.
rs2der() {
	local hex half r s
	hex=$(od -An -v -tx1 "$1" | tr -d ' \n')
	half=$((${#hex} / 2))
	r=${hex:0:$half}; s=${hex:$half}
	printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' "$r" "$s" >"$T11_TMP/sig.cnf"
	openssl asn1parse -genconf "$T11_TMP/sig.cnf" -out "$2" -noout >/dev/null 2>&1
}
hex2bin() { printf "$(printf '%s' "$1" | sed 's/../\\x&/g')"; }
sha256_di=3031300d060960864801650304020105000420
head -c 1000 /dev/urandom >"$T11_TMP/data"
for k in "${KEYS[@]}"; do
	set -- $k
	key=$1 kind=$3 md=$4
	id=$(cat "$T11_TMP/$key.id" 2>/dev/null)
	if [ -n "$id" ]; then SEL=(--id "$id"); else SEL=(--label "$key"); fi
	# the public key, as pkcs11-tool reads it, and as tpm11 ssh-pubkey gives it
	pub=$T11_TMP/$key.pem
	if "${P11[@]}" "${TOK[@]}" --read-object --type pubkey "${SEL[@]}" -o "$T11_TMP/$key.der" </dev/null >"$T11_TMP/r" 2>&1 &&
		openssl pkey -pubin -inform DER -in "$T11_TMP/$key.der" -out "$pub" 2>>"$T11_TMP/r"; then
		ok "$key: pkcs11-tool --read-object --type pubkey gives an SPKI openssl reads"
	else
		rm -f "$pub"
		if [ "$key" = p384 ]; then
			# OpenSC 0.23 fails to build an EVP_PKEY from a P-384 point
			# ("cannot create EVP_PKEY") with other modules too.
			ok "$key: pkcs11-tool --read-object --type pubkey # SKIP OpenSC 0.23 cannot read P-384 public keys"
		else
			not_ok "$key: pkcs11-tool --read-object --type pubkey gives an SPKI openssl reads"; sed 's/^/# /' "$T11_TMP/r"
		fi
	fi
	t11_clean "$key: pkcs11-tool --read-object"
	if "$TPM11_TOOL" ssh-pubkey --label "$LABEL" --key-label "$key" >"$T11_TMP/$key.ssh" 2>/dev/null </dev/null &&
		ssh-keygen -e -m PKCS8 -f "$T11_TMP/$key.ssh" >"$T11_TMP/$key.ssh.pem" 2>/dev/null; then
		ok "$key: tpm11 ssh-pubkey exports a key ssh-keygen -e converts"
		if [ -s "$pub" ]; then
			if cmp -s <(openssl pkey -pubin -in "$pub" -outform DER 2>/dev/null) \
				<(openssl pkey -pubin -in "$T11_TMP/$key.ssh.pem" -outform DER 2>/dev/null); then
				ok "$key: the token's public key equals tpm11 ssh-pubkey's"
			else
				not_ok "$key: the token's public key equals tpm11 ssh-pubkey's"
			fi
		else
			cp "$T11_TMP/$key.ssh.pem" "$pub"
		fi
	else
		not_ok "$key: tpm11 ssh-pubkey exports a key ssh-keygen -e converts"
	fi
	t11_clean "$key: tpm11 ssh-pubkey"

	openssl dgst "-$md" -binary "$T11_TMP/data" >"$T11_TMP/hash"
	if [ "$kind" = EC ]; then
		mech=ECDSA; cp "$T11_TMP/hash" "$T11_TMP/in"
		hmech=ECDSA-$(echo "$md" | tr a-z A-Z)
	else
		mech=RSA-PKCS; { hex2bin "$sha256_di"; cat "$T11_TMP/hash"; } >"$T11_TMP/in"
		hmech=SHA256-RSA-PKCS
	fi
	# sign: pkcs11-tool writes raw r||s for ECDSA, which we turn into DER
	sign() { # sign MECH INPUT OUT
		rm -f "$3" "$3.raw"
		"${P11[@]}" "${TOK[@]}" --login --pin "$USER_PIN" --sign --mechanism "$1" "${SEL[@]}" \
			--input-file "$2" --output-file "$3.raw" </dev/null >"$T11_TMP/s" 2>&1 || return 1
		if [ "$kind" = EC ]; then
			want=$([ "$key" = p256 ] && echo 64 || echo 96)
			got=$(stat -c %s "$3.raw")
			[ "$got" = "$want" ] || { echo "r||s is $got bytes, want $want" >>"$T11_TMP/s"; return 1; }
			rs2der "$3.raw" "$3"
		else
			cp "$3.raw" "$3"
		fi
	}
	if sign "$mech" "$T11_TMP/in" "$T11_TMP/sig"; then
		ok "$key: pkcs11-tool --sign -m $mech"
	else
		not_ok "$key: pkcs11-tool --sign -m $mech"; sed 's/^/# /' "$T11_TMP/s"
	fi
	t11_clean "$key: pkcs11-tool --sign -m $mech"
	if [ -s "$T11_TMP/sig" ] && [ -s "$pub" ] && openssl dgst "-$md" -verify "$pub" -signature "$T11_TMP/sig" \
		"$T11_TMP/data" >"$T11_TMP/v" 2>&1; then
		ok "$key: openssl verifies the $mech signature"
	else
		not_ok "$key: openssl verifies the $mech signature"; sed 's/^/# /' "$T11_TMP/v" 2>/dev/null
	fi
	# hash-and-sign mechanism on the data itself
	if sign "$hmech" "$T11_TMP/data" "$T11_TMP/sig2" &&
		openssl dgst "-$md" -verify "$pub" -signature "$T11_TMP/sig2" "$T11_TMP/data" >"$T11_TMP/v" 2>&1; then
		ok "$key: pkcs11-tool --sign -m $hmech verifies"
	else
		not_ok "$key: pkcs11-tool --sign -m $hmech verifies"; sed 's/^/# /' "$T11_TMP/s" "$T11_TMP/v" 2>/dev/null
	fi
	# a changed message does not verify
	cp "$T11_TMP/data" "$T11_TMP/data2"; printf 'x' >>"$T11_TMP/data2"
	if [ -s "$T11_TMP/sig" ] && [ -s "$pub" ] && ! openssl dgst "-$md" -verify "$pub" -signature "$T11_TMP/sig" "$T11_TMP/data2" >/dev/null 2>&1; then
		ok "$key: the signature does not verify a changed message"
	else
		not_ok "$key: the signature does not verify a changed message"
	fi
	check "TPM clean after signing with $key" tpm_is_clean
done

t11_done
