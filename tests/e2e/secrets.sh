#!/usr/bin/env bash
# No secret in clear on disk or in logs: run a workflow with long,
# distinctive PINs (tool, module through ssh-keygen and pkcs11-tool, PIN
# change, SO reset) with TPM11_LOG=debug, then search every byte of the store
# directory (database, -wal, -shm, anything else) and every log for the
# PINs, as text and as hex, and for the authValues derived from them.
# The TPM is clean after every step. Runs once per TPM mode (tests/run,
# T11_TPM_MODE).
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

SO_PIN=SoPinSecret-7f3a9c2e51d84b60
USER_PIN=UserPinSecret-c0ffee15badd00d5
NEW_USER_PIN=NewUserPinSecret-9e8d7c6b5a493827
RESET_USER_PIN=ResetUserPinSecret-1a2b3c4d5e6f7081
NEW_SO_PIN=NewSoPinSecret-f0e1d2c3b4a59687
PINS=("$SO_PIN" "$USER_PIN" "$NEW_USER_PIN" "$RESET_USER_PIN" "$NEW_SO_PIN")
LABEL=PKI
LOGDIR=$T11_TMP/logs
mkdir -p "$LOGDIR"
export TPM11_LOG=debug

t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }

n=0
step() { # step NAME CMD...: run with stderr to its own log
	local name=$1; shift
	n=$((n + 1))
	if "$@" </dev/null >"$LOGDIR/$n.out" 2>"$LOGDIR/$n.log"; then ok "$name"
	else not_ok "$name"; tail -n 15 "$LOGDIR/$n.log" | sed 's/^/# /'; fi
	t11_clean "$name"
}
step "init" "$TPM11_TOOL" init
step "addtoken" "$TPM11_TOOL" addtoken --label "$LABEL" --sopin "$SO_PIN" --userpin "$USER_PIN"
step "addkey ecc256" "$TPM11_TOOL" addkey --algorithm ecc256 --label "$LABEL" --key-label ssh --userpin "$USER_PIN"
step "addkey rsa2048" "$TPM11_TOOL" addkey --algorithm rsa2048 --label "$LABEL" --key-label rsa --userpin "$USER_PIN"
step "verify" "$TPM11_TOOL" verify --label "$LABEL" --userpin "$USER_PIN" --sopin "$SO_PIN"
step "ssh-keygen -D (module, TPM11_LOG=debug)" timeout 60 ssh-keygen -D "$TPM11_MODULE"
head -c 32 /dev/urandom >"$T11_TMP/h"
step "pkcs11-tool login and sign" timeout 60 pkcs11-tool --module "$TPM11_MODULE" --token-label "$LABEL" \
	--login --pin "$USER_PIN" --sign -m ECDSA --label ssh -i "$T11_TMP/h" -o "$T11_TMP/sig"
n=$((n + 1)); timeout 60 pkcs11-tool --module "$TPM11_MODULE" --token-label "$LABEL" --login --pin wrong-pin-x \
	-O </dev/null >"$LOGDIR/$n.out" 2>"$LOGDIR/$n.log"
t11_clean "pkcs11-tool login with a wrong PIN"
step "changepin user" "$TPM11_TOOL" changepin --label "$LABEL" --user user --old "$USER_PIN" --new "$NEW_USER_PIN"
step "initpin" "$TPM11_TOOL" initpin --label "$LABEL" --sopin "$SO_PIN" --userpin "$RESET_USER_PIN"
step "changepin so" "$TPM11_TOOL" changepin --label "$LABEL" --user so --old "$SO_PIN" --new "$NEW_SO_PIN"
step "pkcs11-tool sign with the reset PIN" timeout 60 pkcs11-tool --module "$TPM11_MODULE" --token-label "$LABEL" \
	--login --pin "$RESET_USER_PIN" --sign -m ECDSA --label ssh -i "$T11_TMP/h" -o "$T11_TMP/sig"
step "pkcs11-tool change PIN via C_SetPIN" timeout 60 pkcs11-tool --module "$TPM11_MODULE" --token-label "$LABEL" \
	--login --pin "$RESET_USER_PIN" --change-pin --new-pin "$USER_PIN-setpin"
PINS+=("$USER_PIN-setpin")

# The logs must say something, or the search below proves nothing.
logbytes=$(cat "$LOGDIR"/*.log | wc -c)
if [ "$logbytes" -gt 0 ] && grep -qi . "$LOGDIR"/*.log; then ok "TPM11_LOG=debug wrote a log ($logbytes bytes)"
else not_ok "TPM11_LOG=debug wrote a log (0 bytes)"; fi

store_files=$(find "$TPM11_STORE" -type f | wc -l)
diag "store files: $(cd "$TPM11_STORE" && find . -type f -printf '%p(%s) ' 2>/dev/null)"
[ "$store_files" -gt 0 ] && ok "the store has files ($store_files)" || not_ok "the store has files"

tohex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
for pin in "${PINS[@]}"; do
	hex=$(tohex "$pin")
	HEX=$(printf '%s' "$hex" | tr a-f A-F)
	if grep -raF -l -e "$pin" "$TPM11_STORE" >"$T11_TMP/hits"; then
		not_ok "PIN $pin not in the store"; sed 's/^/# in /' "$T11_TMP/hits"
	else ok "PIN $pin not in the store"; fi
	if grep -raF -l -e "$hex" -e "$HEX" "$TPM11_STORE" >"$T11_TMP/hits"; then
		not_ok "PIN $pin (hex) not in the store"; sed 's/^/# in /' "$T11_TMP/hits"
	else ok "PIN $pin (hex) not in the store"; fi
	if grep -raF -e "$pin" -e "$hex" -e "$HEX" "$LOGDIR"/*.log >"$T11_TMP/hits"; then
		not_ok "PIN $pin not in the debug logs"; head -n 5 "$T11_TMP/hits" | sed 's/^/# /'
	else ok "PIN $pin not in the debug logs"; fi
done
# The authValues the token derives from the PINs (HMAC-SHA256 keyed with the
# token's pin_salt, see src/tpm), raw and as hex, in the store and the logs.
salt=$(sqlite3 "$TPM11_STORE/tpm11.sqlite3" "select hex(pin_salt) from tokens where label='$LABEL';" 2>/dev/null)
if [ -n "$salt" ]; then
	if python3 - "$salt" "$TPM11_STORE" "$LOGDIR" "${PINS[@]}" >"$T11_TMP/authhits" 2>&1 <<'PY'
import hashlib, hmac, os, sys
salt, dirs, pins = bytes.fromhex(sys.argv[1]), sys.argv[2:4], sys.argv[4:]
files = [os.path.join(r, f) for d in dirs for r, _, fs in os.walk(d) for f in fs]
bad = 0
for pin in pins:
    a = hmac.new(salt, pin.encode(), hashlib.sha256).digest()
    needles = [a, a.hex().encode(), a.hex().upper().encode()]
    for f in files:
        data = open(f, "rb").read()
        if any(n in data for n in needles):
            print(f"authValue of {pin} found in {f}"); bad += 1
sys.exit(1 if bad else 0)
PY
	then ok "no PIN-derived authValue in the store or the logs"
	else not_ok "no PIN-derived authValue in the store or the logs"; sed 's/^/# /' "$T11_TMP/authhits"; fi
else
	not_ok "read the token's pin_salt from the store (tokens.pin_salt)"
fi
# Also what sqlite itself shows (decoded text, after a checkpoint).
db=$(find "$TPM11_STORE" -type f -name '*.db' -o -type f -name '*.sqlite*' | grep -v -- '-wal$\|-shm$' | head -1)
if [ -n "$db" ] && command -v sqlite3 >/dev/null; then
	sqlite3 "$db" .dump >"$T11_TMP/dump" 2>&1
	leaked=""
	for pin in "${PINS[@]}"; do grep -qF -e "$pin" "$T11_TMP/dump" && leaked="$leaked $pin"; done
	[ -z "$leaked" ] && ok "no PIN in the sqlite dump of $(basename "$db")" || not_ok "no PIN in the sqlite dump ($leaked)"
fi
check "TPM clean" tpm_is_clean
t11_done
