#!/usr/bin/env bash
# No PIN, no PIN-derived authValue and no other secret crosses the TPM
# interface in clear (DESIGN.md property 3; issue 13 item 2): swtpm logs
# every command and response byte, through init, addtoken, addkey, verify,
# changepin, initpin, C_InitToken, a pkcs11-tool login and signature, an
# RSA decryption and an ECDH derivation. Checked two ways: the secrets'
# bytes never appear in the traffic, and every command that carries one
# (new authValues, the token secret, decrypted data, shared secrets) has a
# session that encrypts it (tests/lib/tpmbus.py reads the command
# structure), so the check cannot pass just because a value was missed.
# The TPM is clean after every client run. Runs once per TPM mode
# (tests/run, T11_TPM_MODE); through tpm2-abrmd the swtpm logs abrmd's
# traffic, which is what crosses the bus there.
. "$(dirname "$0")/../lib/common.sh"

T=$TPM11_TOOL
M=$TPM11_MODULE
BUS="python3 $T11_SRC/tests/lib/tpmbus.py"
SO=bus-so-pin-4f3e2d1c
UP=bus-user-pin-8a7b6c5d
NEWUP=bus-new-user-pin-1357
RESETUP=bus-reset-user-pin-2468
SO2=bus-so-pin-two-9753

T11_SWTPM_LOGLEVEL=20 t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
LOG=$T11_TMP/tpm/swtpm.log
p11() { pkcs11-tool --module "$M" "$@"; }

check_clean "init" "$T" init
check_clean "addtoken" "$T" addtoken --label BUS --sopin "$SO" --userpin "$UP"
check_clean "addkey" "$T" addkey --label BUS --algorithm ecc256 --key-label k --userpin "$UP"
check_clean "verify" "$T" verify --label BUS --userpin "$UP" --sopin "$SO"
check_clean "changepin" "$T" changepin --label BUS --user user --old "$UP" --new "$NEWUP"
check_clean "initpin" "$T" initpin --label BUS --sopin "$SO" --userpin "$RESETUP"
check_clean "changepin (SO)" "$T" changepin --label BUS --user so --old "$SO" --new "$SO2"
echo data >"$T11_TMP/data"
check_clean "pkcs11-tool login and sign" p11 --token-label BUS --login --pin "$RESETUP" \
	--sign -m ECDSA-SHA256 -i "$T11_TMP/data" -o "$T11_TMP/sig"

# An RSA decryption: the plaintext comes back from the TPM.
check_clean "RSA key for decryption" p11 --token-label BUS --login --pin "$RESETUP" \
	--keypairgen --key-type rsa:2048 --usage-decrypt --id 42 --label dec
check_clean "its public key" p11 --token-label BUS --read-object --type pubkey --id 42 -o "$T11_TMP/rsa.der"
head -c 48 /dev/urandom >"$T11_TMP/pt"
openssl pkeyutl -encrypt -pubin -keyform DER -inkey "$T11_TMP/rsa.der" \
	-in "$T11_TMP/pt" -out "$T11_TMP/ct" 2>/dev/null
check_clean "RSA-PKCS decryption in the token" p11 --token-label BUS --login --pin "$RESETUP" \
	--decrypt -m RSA-PKCS --id 42 -i "$T11_TMP/ct" -o "$T11_TMP/pt2"
check "the decryption gives the plaintext back" cmp "$T11_TMP/pt" "$T11_TMP/pt2"

# An ECDH derivation: the shared secret comes back from the TPM.
check_clean "EC key for ECDH" p11 --token-label BUS --login --pin "$RESETUP" \
	--keypairgen --key-type EC:prime256v1 --usage-derive --id 43 --label dh
openssl ecparam -name prime256v1 -genkey -noout -out "$T11_TMP/peer.pem"
openssl ec -in "$T11_TMP/peer.pem" -pubout -outform DER -out "$T11_TMP/peer.der" 2>/dev/null
check_clean "ECDH1-DERIVE in the token" p11 --token-label BUS --login --pin "$RESETUP" \
	--derive -m ECDH1-DERIVE --id 43 --input-file "$T11_TMP/peer.der" --output-file "$T11_TMP/z"
check_clean "the token's EC public key" p11 --token-label BUS --read-object --type pubkey --id 43 -o "$T11_TMP/dh.der"
openssl pkeyutl -derive -inkey "$T11_TMP/peer.pem" -peerkey "$T11_TMP/dh.der" -peerform DER \
	-out "$T11_TMP/z2" 2>/dev/null
check "the token's shared secret is OpenSSL's" cmp "$T11_TMP/z" "$T11_TMP/z2"

# C_InitToken makes a token with a random user authValue nobody keeps.
check_clean "C_InitToken (pkcs11-tool --init-token)" p11 --slot-index 1 \
	--init-token --label INIT --so-pin "$SO"

# The traffic so far (a copy: what follows reads the token secret for the
# checks below, and that read is not tpm11's), and every byte of it as
# one hex string.
cp "$LOG" "$T11_TMP/bus.log"
LOG=$T11_TMP/bus.log
$BUS "$LOG" hex >"$T11_TMP/bus.hex"
size=$(wc -c <"$T11_TMP/bus.hex")
# Positive control: the TPM's vendor string "SW  " went over the bus.
if [ "$size" -gt 1000 ] && grep -q "53572020" "$T11_TMP/bus.hex"; then
	ok "the swtpm log holds the traffic ($((size / 2)) bytes)"
else not_ok "the swtpm log holds the traffic ($size hex digits)"; fi

hexof() { od -An -tx1 "$1" | tr -d ' \n' | tr a-f A-F; }
in_bus() { grep -q "$1" "$T11_TMP/bus.hex"; }
salt=$(sqlite3 "$TPM11_STORE/tpm11.sqlite3" "select hex(pin_salt) from tokens where label='BUS';")
auth_of() {
	python3 -c 'import hmac,hashlib,sys; print(hmac.new(bytes.fromhex(sys.argv[1]), sys.argv[2].encode(), hashlib.sha256).hexdigest().upper())' "$salt" "$1"
}
for pin in "$SO" "$UP" "$NEWUP" "$RESETUP" "$SO2"; do
	pin_hex=$(printf %s "$pin" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
	if in_bus "$pin_hex"; then not_ok "PIN $pin crossed the bus in clear"
	else ok "PIN $pin never crossed the bus in clear"; fi
	if in_bus "$(auth_of "$pin")"; then not_ok "the authValue of PIN $pin crossed the bus in clear"
	else ok "the authValue of PIN $pin never crossed the bus in clear"; fi
done

# The token secret, read from the user PIN's NV index with the current
# PIN (this read is after the capture above).
unv=$(sqlite3 "$TPM11_STORE/tpm11.sqlite3" "select printf('0x%x', user_nv) from tokens where label='BUS';")
if tpm2_nvread -C "$unv" -P "hex:$(auth_of "$RESETUP")" -s 32 -o "$T11_TMP/secret" "$unv" >/dev/null 2>&1 &&
	[ "$(stat -c %s "$T11_TMP/secret")" = 32 ]; then
	ok "the token secret reads from its NV index with the current user PIN"
	if in_bus "$(hexof "$T11_TMP/secret")"; then not_ok "the token secret crossed the bus in clear"
	else ok "the token secret never crossed the bus in clear"; fi
else
	not_ok "the token secret reads from its NV index with the current user PIN"
fi
if in_bus "$(hexof "$T11_TMP/pt")"; then not_ok "the RSA plaintext crossed the bus in clear"
else ok "the RSA plaintext never crossed the bus in clear"; fi
if in_bus "$(hexof "$T11_TMP/z")"; then not_ok "the ECDH shared secret crossed the bus in clear"
else ok "the ECDH shared secret never crossed the bus in clear"; fi

# The structure: each command that carries a secret has an encrypting
# session (PIN authValues going in: NV_DefineSpace, NV_ChangeAuth; the
# token secret going in: NV_Write; secrets coming out: NV_Read, ECDH_ZGen,
# and RSA_Decrypt when it decrypts; when it signs, the result is public).
enc() {
	local name=$1 how=$2 codes=$3 dir=$4 rc
	$BUS "$LOG" "$how" "$codes" "$dir" >"$T11_TMP/enc.out"; rc=$?
	if [ "$rc" = 0 ]; then ok "$name ($(wc -l <"$T11_TMP/enc.out") commands)"
	else not_ok "$name (exit $rc)"; sed 's/^/# /' "$T11_TMP/enc.out"; fi
}
enc "new authValues go in encrypted (NV_DefineSpace, NV_ChangeAuth; C_InitToken's random one too)" encrypted 12a,13b in
enc "the token secret goes in encrypted (NV_Write)" encrypted 137 in
enc "the token secret comes out encrypted (NV_Read)" encrypted 14e out
enc "ECDH shared secrets come out encrypted (ECDH_ZGen)" encrypted 154 out
enc "the RSA decryption's result comes out encrypted (RSA_Decrypt)" some 159 out
check "TPM clean" tpm_is_clean
t11_done
