#!/usr/bin/env bash
# Private keys through PKCS#11 (issue 17): `pkcs11-tool --write-object
# KEY.pem --type privkey` (C_CreateObject with CKO_PRIVATE_KEY) puts a
# P-256 and an RSA-2048 key made by openssl into the TPM with TPM2_Import.
# For each: `ssh-keygen -D` prints the same public key as `ssh-keygen -y`
# of the original file, a pkcs11-tool signature verifies with the
# original public key (openssl), the object says it was not made in the
# token (not local, not always sensitive, not never extractable).
# `tpm11 attest` refuses an imported key in one line (sensitiveDataOrigin
# clear; verify-attestation's refusal of such evidence is in attest.sh).
# A P-384 key goes in when the TPM has the curve; the minimal profile has
# none: CKR_CURVE_NOT_SUPPORTED (0x140; pkcs11-tool 0.23 prints no name
# for it) and nothing written. The TPM is clean
# after every client. Runs once per TPM mode (tests/run, T11_TPM_MODE).
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

T=$TPM11_TOOL
M=$TPM11_MODULE
UP=p11imp-user-4711
L=P11IMP
K=$T11_TMP/keys
mkdir -p "$K" && chmod 700 "$K"

t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
check_clean "tpm11 init" "$T" init
check_clean "tpm11 addtoken" "$T" addtoken --label "$L" --sopin p11imp-so-0815 --userpin "$UP"

objects() { "$T" listobjects --label "$L" 2>&1 </dev/null; }
# p11 ARGS...: pkcs11-tool on the token, logged in; output in $T11_TMP/p11.out
p11() {
	pkcs11-tool --module "$M" --token-label "$L" --login --pin "$UP" "$@" \
		>"$T11_TMP/p11.out" 2>&1 </dev/null
}

# NAME ALG ID: ALG the openssl genpkey options' key, ID its CKA_ID
KEYS=("p11-ec ec:P-256 21" "p11-rsa rsa:2048 22")
if t11_tpm_has ecc384; then KEYS+=("p11-p384 ec:P-384 23"); fi
for k in "${KEYS[@]}" "p11-nop384 ec:P-384 24"; do
	set -- $k
	case $2 in
	ec:*) openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:${2#ec:}" -out "$K/$1" 2>/dev/null ;;
	rsa:*) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${2#rsa:}" -out "$K/$1" 2>/dev/null ;;
	esac
	chmod 600 "$K/$1"
	openssl pkey -in "$K/$1" -pubout -out "$K/$1.pub.pem" 2>/dev/null
	ssh-keygen -y -f "$K/$1" >"$K/$1.sshpub" </dev/null 2>/dev/null
done

# --- C_CreateObject through pkcs11-tool ---------------------------------------
for k in "${KEYS[@]}"; do
	set -- $k
	if p11 --write-object "$K/$1" --type privkey --id "$3" --label "$1" &&
		[ "$(objects | grep -c "^- label: $1\$")" = 2 ]; then
		ok "pkcs11-tool --write-object --type privkey ($2): a private and a public key object"
	else
		not_ok "pkcs11-tool --write-object --type privkey ($2)"
		sed 's/^/# /' "$T11_TMP/p11.out" | tail -n 10; objects | sed 's/^/# /'
	fi
	t11_clean "pkcs11-tool --write-object ($1)"
done
if ! t11_tpm_has ecc384; then
	before=$(objects)
	if ! p11 --write-object "$K/p11-nop384" --type privkey --id 24 --label p11-nop384 &&
		grep -Eq "CKR_CURVE_NOT_SUPPORTED|\(0x140\)" "$T11_TMP/p11.out" && [ "$(objects)" = "$before" ]; then
		ok "a P-384 key on a TPM without the curve: CKR_CURVE_NOT_SUPPORTED, nothing written"
	else
		not_ok "a P-384 key on a TPM without the curve: CKR_CURVE_NOT_SUPPORTED, nothing written"
		sed 's/^/# /' "$T11_TMP/p11.out" | tail -n 5
	fi
	t11_clean "a refused P-384 key"
fi

# --- the same public keys, signatures that verify, the attributes -----------------
# listed NAME: ssh-keygen -D's output has NAME's key as ssh-keygen -y of its file
listed() {
	grep -qxF "$(cut -d' ' -f1,2 "$K/$1.sshpub") $1" "$T11_TMP/keygen.out" ||
		{ cat "$T11_TMP/keygen.out"; false; }
}
# signs NAME MECH ID: pkcs11-tool signs with key ID, openssl verifies with
# NAME's original public key
signs() {
	rm -f "$T11_TMP/sig"
	{ p11 --sign -m "$2" --id "$3" --signature-format openssl -i "$T11_TMP/data" \
		-o "$T11_TMP/sig" && openssl dgst -sha256 -verify "$K/$1.pub.pem" \
		-signature "$T11_TMP/sig" "$T11_TMP/data"; } || { cat "$T11_TMP/p11.out"; false; }
}
# known_outside ID: pkcs11-tool lists the private key ID as sensitive, and
# not always sensitive, never extractable or local
known_outside() {
	p11 --list-objects --type privkey --id "$1" && grep -q "Access:.*sensitive" "$T11_TMP/p11.out" &&
		! grep -Eq "always sensitive|never extractable|local" "$T11_TMP/p11.out" ||
		{ cat "$T11_TMP/p11.out"; false; }
}
timeout 60 ssh-keygen -D "$M" >"$T11_TMP/keygen.out" 2>"$T11_TMP/keygen.err" </dev/null ||
	sed 's/^/# /' "$T11_TMP/keygen.err"
t11_clean "ssh-keygen -D"
head -c 1000 /dev/urandom >"$T11_TMP/data"
for k in "${KEYS[@]}"; do
	set -- $k
	case $2 in rsa*) mech=SHA256-RSA-PKCS ;; *) mech=ECDSA-SHA256 ;; esac
	check "ssh-keygen -D prints $1's public key, the same as ssh-keygen -y of its file" listed "$1"
	check "pkcs11-tool $mech with $1 verifies with the original public key" signs "$1" "$mech" "$3"
	t11_clean "pkcs11-tool --sign ($1)"
	check "the imported $1: sensitive, not always sensitive, not never extractable, not local" \
		known_outside "$3"
done

# --- attestation refuses it -----------------------------------------------------
"$T" attest --label "$L" --key-label p11-ec --nonce 00112233445566778899aabbccddeeff \
	--userpin "$UP" >"$T11_TMP/att.out" 2>"$T11_TMP/att.err" </dev/null; rc=$?
if [ "$rc" != 0 ] && [ "$(wc -l <"$T11_TMP/att.err")" = 1 ] &&
	grep -q "was imported into the TPM (sensitiveDataOrigin clear)" "$T11_TMP/att.err" &&
	[ ! -s "$T11_TMP/att.out" ]; then
	ok "tpm11 attest refuses the imported key in one line ($(cat "$T11_TMP/att.err"))"
else
	not_ok "tpm11 attest refuses the imported key in one line (exit $rc)"
	sed 's/^/# /' "$T11_TMP/att.out" "$T11_TMP/att.err" | head -n 10
fi
t11_clean "tpm11 attest"

check "TPM clean at the end" tpm_is_clean
t11_done
