#!/usr/bin/env bash
# Capability probing (issue 14 item 1): tpm11 offers only what the TPM
# offers. A swtpm seen through the chip-profile TCTI's `minimal` profile
# (SHA-256, P-256, RSA-2048, no EncryptDecrypt) is probed once and the
# result kept in the store:
#  - the module's mechanism list has no AES, no P-384 (EC keys 256 bits
#    only), no RSA-3072, no HMAC other than SHA-256, and C_GenerateKeyPair
#    of a P-384 key is CKR_CURVE_NOT_SUPPORTED;
#  - the tool refuses ecc384 and rsa3072 naming what the TPM lacks and
#    what to choose instead, before asking for a PIN, and makes ecc256;
#  - listing mechanisms needs no TPM command (the store's copy);
#  - a changed firmware version (the stored one edited) makes the next
#    process that makes a key probe again; the same firmware does not; a
#    login and a signature ask nothing about capabilities;
#  - the same swtpm without the profile offers P-384 and AES.
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

if [ "${T11_SANITIZE:-}" = asan ]; then
	echo "1..0 # SKIP tpm2-tools and pkcs11-tool load the profile TCTI, which the ASan build cannot give them; the plain and valgrind passes run this"
	exit 0
fi
LIB=$TPM11_BUILD/tests/tcti/libtss2-tcti-tpmprofile.so
COUNT=$TPM11_BUILD/bench/libtss2-tcti-count.so
[ -e "$LIB" ] || { not_ok "built: $LIB exists"; t11_done; exit 1; }
T=$TPM11_TOOL
M=$TPM11_MODULE
swtpm_start "$T11_TMP/tpm" || { not_ok "swtpm starts"; t11_done; exit 1; }
DIRECT=$TPM11_TCTI
export TPM11_TCTI=$LIB:minimal:$DIRECT
mechs() { pkcs11-tool --module "$M" -M 2>/dev/null; }

check "init through the minimal profile" "$T" init
check "addtoken" "$T" addtoken --label MIN --sopin so-pin-1234 --userpin user-1234
caps=$(sqlite3 "$TPM11_STORE/tpm11.sqlite3" "select hex(value) from meta where key='tpm_caps';")
[ ${#caps} = 24 ] && ok "the probe is kept in the store ($caps)" || not_ok "the probe is kept in the store"

mechs >"$T11_TMP/m.txt"
grep -qi "AES" "$T11_TMP/m.txt" && not_ok "no AES mechanism is offered" || ok "no AES mechanism is offered"
grep -q "^  ECDSA, keySize={256,256}" "$T11_TMP/m.txt" && ok "ECDSA is offered for 256-bit keys only" ||
	{ not_ok "ECDSA is offered for 256-bit keys only"; sed 's/^/# /' "$T11_TMP/m.txt" | head; }
grep -q "^  RSA-PKCS-KEY-PAIR-GEN, keySize={2048,2048}" "$T11_TMP/m.txt" && ok "RSA keys of 2048 bits only" ||
	not_ok "RSA keys of 2048 bits only"
grep -q "SHA384-HMAC\|SHA512-HMAC\|SHA-1-HMAC" "$T11_TMP/m.txt" && not_ok "HMAC only with SHA-256" ||
	ok "HMAC only with SHA-256"
grep -q "^  SHA384, digest" "$T11_TMP/m.txt" && ok "host digests stay offered (SHA-384 on the host)" ||
	not_ok "host digests stay offered"
rm -f "$T11_TMP/cnt"
TCTI_COUNT_FILE=$T11_TMP/cnt TPM11_TCTI=$COUNT:$TPM11_TCTI pkcs11-tool --module "$M" -M >/dev/null 2>&1
if [ ! -s "$T11_TMP/cnt" ] || grep -q "total=0" "$T11_TMP/cnt"; then ok "listing mechanisms sends no TPM command"
else not_ok "listing mechanisms sends no TPM command: $(cat "$T11_TMP/cnt")"; fi

check_fails "addkey ecc384 is refused" "$T" addkey --label MIN --algorithm ecc384 --userpin user-1234
grep -q "this TPM has no NIST P-384 curve; choose ecc256" "$T11_TMP/last.out" &&
	ok "the message says what the TPM lacks and what to choose" ||
	{ not_ok "the message says what the TPM lacks and what to choose"; sed 's/^/# /' "$T11_TMP/last.out"; }
check_fails "addkey rsa3072 is refused" "$T" addkey --label MIN --algorithm rsa3072 --userpin user-1234
grep -q "no RSA-3072; choose rsa2048" "$T11_TMP/last.out" && ok "rsa3072: the message says choose rsa2048" ||
	not_ok "rsa3072: the message says choose rsa2048"
check_fails "addkey ecc384 without a terminal fails before asking for a PIN" \
	env -u DISPLAY "$T" addkey --label MIN --algorithm ecc384
grep -q "P-384" "$T11_TMP/last.out" && ok "... with the TPM's reason, not a PIN prompt" ||
	not_ok "... with the TPM's reason, not a PIN prompt"
check "addkey ecc256 works" "$T" addkey --label MIN --algorithm ecc256 --key-label k --userpin user-1234
pkcs11-tool --module "$M" --token-label MIN --login --pin user-1234 --keypairgen \
	--key-type EC:secp384r1 --label p384 >"$T11_TMP/kg.out" 2>&1
grep -q "CKR_CURVE_NOT_SUPPORTED\|(0x140)" "$T11_TMP/kg.out" && ok "C_GenerateKeyPair P-384 -> CKR_CURVE_NOT_SUPPORTED" ||
	{ not_ok "C_GenerateKeyPair P-384 -> CKR_CURVE_NOT_SUPPORTED"; sed 's/^/# /' "$T11_TMP/kg.out" | tail -3; }

# A firmware update: the stored version no longer matches. A process that
# only logs in and signs asks nothing about capabilities (no command for
# them in an ssh or TLS process); the next one that makes a key probes
# again (and writes the TPM's own version back).
sqlite3 "$TPM11_STORE/tpm11.sqlite3" "update meta set value=x'0000000100000001000000ff' where key='tpm_caps';"
check "verify after a firmware change" "$T" verify --label MIN --userpin user-1234
now=$(sqlite3 "$TPM11_STORE/tpm11.sqlite3" "select hex(value) from meta where key='tpm_caps';")
[ "$now" = 0000000100000001000000FF ] && ok "a login and a signature do not probe" ||
	not_ok "a login and a signature do not probe ($now)"
check "addkey after a firmware change" "$T" addkey --label MIN --algorithm ecc256 --key-label k2 --userpin user-1234
now=$(sqlite3 "$TPM11_STORE/tpm11.sqlite3" "select hex(value) from meta where key='tpm_caps';")
[ "$now" = "$caps" ] && ok "a changed firmware version makes the next key creation probe again" ||
	not_ok "a changed firmware version makes the next key creation probe again ($now, want $caps)"
# The same firmware: the stored copy is kept (an AES bit added to the
# stored word stays, which proves no probe ran).
edited=$(printf '%s%08X' "${caps:0:16}" $((0x${caps:16:8} | 0x100)))
sqlite3 "$TPM11_STORE/tpm11.sqlite3" "update meta set value=x'$edited' where key='tpm_caps';"
check "addkey with the same firmware" "$T" addkey --label MIN --algorithm ecc256 --key-label k3 --userpin user-1234
now=$(sqlite3 "$TPM11_STORE/tpm11.sqlite3" "select hex(value) from meta where key='tpm_caps';")
[ "$now" = "$edited" ] && ok "the same firmware: no new probe" || not_ok "the same firmware: no new probe ($now, want $edited)"

# The same swtpm without the profile, in a store of its own.
export TPM11_TCTI=$DIRECT TPM11_STORE=$T11_TMP/store-full
check "a store on the TPM as it is" "$T" addtoken --label FULL --sopin so-pin-1234 --userpin user-1234
mechs >"$T11_TMP/m2.txt"
grep -q "^  ECDSA, keySize={256,384}" "$T11_TMP/m2.txt" && ok "without the profile: P-256 and P-384" ||
	not_ok "without the profile: P-256 and P-384"
grep -qi "AES-CBC" "$T11_TMP/m2.txt" && ok "without the profile: AES" || not_ok "without the profile: AES"
check "TPM clean" tpm_is_clean
t11_done
