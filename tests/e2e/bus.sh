#!/usr/bin/env bash
# No PIN and no PIN-derived authValue crosses the TPM interface in clear
# (DESIGN.md property 3): swtpm logs every command and response byte, and
# neither the PINs nor the authValues the token derives from them appear,
# through init, addtoken, addkey, verify, changepin, initpin and a
# pkcs11-tool login and signature. The TPM is clean after every step. Runs
# once per TPM mode (tests/run, T11_TPM_MODE); through tpm2-abrmd the swtpm
# logs abrmd's traffic, which is what crosses the bus there.
. "$(dirname "$0")/../lib/common.sh"

T=$TPM11_TOOL
SO=bus-so-pin-4f3e2d1c
UP=bus-user-pin-8a7b6c5d
NEWUP=bus-new-user-pin-1357
RESETUP=bus-reset-user-pin-2468

T11_SWTPM_LOGLEVEL=20 t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
check_clean "init" "$T" init
check_clean "addtoken" "$T" addtoken --label BUS --sopin "$SO" --userpin "$UP"
check_clean "addkey" "$T" addkey --label BUS --algorithm ecc256 --key-label k --userpin "$UP"
check_clean "verify" "$T" verify --label BUS --userpin "$UP" --sopin "$SO"
check_clean "changepin" "$T" changepin --label BUS --user user --old "$UP" --new "$NEWUP"
check_clean "initpin" "$T" initpin --label BUS --sopin "$SO" --userpin "$RESETUP"
echo data >"$T11_TMP/data"
check_clean "pkcs11-tool login and sign" pkcs11-tool --module "$TPM11_MODULE" \
	--token-label BUS --login --pin "$RESETUP" --sign -m ECDSA-SHA256 \
	-i "$T11_TMP/data" -o "$T11_TMP/sig"

# Every byte that crossed the interface, as one hex string.
grep -E '^( [0-9A-F]{2})+ ?$' "$T11_TMP/tpm/swtpm.log" | tr -d ' \n' >"$T11_TMP/bus.hex"
size=$(wc -c <"$T11_TMP/bus.hex")
# Positive control: the TPM's vendor string "SW  " went over the bus.
if [ "$size" -gt 1000 ] && grep -q "53572020" "$T11_TMP/bus.hex"; then
	ok "the swtpm log holds the traffic ($((size / 2)) bytes)"
else not_ok "the swtpm log holds the traffic ($size hex digits)"; fi

salt=$(sqlite3 "$TPM11_STORE/tpm11.sqlite3" "select hex(pin_salt) from tokens where label='BUS';")
for pin in "$SO" "$UP" "$NEWUP" "$RESETUP"; do
	pin_hex=$(printf %s "$pin" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
	auth_hex=$(python3 -c 'import hmac,hashlib,sys; print(hmac.new(bytes.fromhex(sys.argv[1]), sys.argv[2].encode(), hashlib.sha256).hexdigest().upper())' "$salt" "$pin")
	if grep -q "$pin_hex" "$T11_TMP/bus.hex"; then not_ok "PIN $pin crossed the bus in clear"
	else ok "PIN $pin never crossed the bus in clear"; fi
	if grep -q "$auth_hex" "$T11_TMP/bus.hex"; then not_ok "the authValue of PIN $pin crossed the bus in clear"
	else ok "the authValue of PIN $pin never crossed the bus in clear"; fi
done
check "TPM clean" tpm_is_clean
t11_done
