#!/usr/bin/env bash
# Backing up a store (README, docs/design.md "Backing up a store"): what
# the documentation promises, on real swtpms. A copy made with sqlite's
# .backup brings back a key removed since (rmkey), with the current PIN
# only (a PIN change since is in force; the old PIN opens nothing); it
# opens nothing on another TPM; a token removed with rmtoken stays dead in
# it. Restored, the store passes tpm11 doctor's store checks. Runs once
# per TPM mode (tests/run, T11_TPM_MODE).
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

T=$TPM11_TOOL
SO=backup-so-pin-5555
OLD=backup-user-pin-1111
NEW=backup-user-pin-2222
DB=$TPM11_STORE/tpm11.sqlite3
BAK=$T11_TMP/backup.sqlite3

t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
check "addtoken PKI" "$T" addtoken --label PKI --sopin "$SO" --userpin "$OLD"
check "addtoken GONE" "$T" addtoken --label GONE --sopin "$SO" --userpin "$OLD"
check "addkey ssh" "$T" addkey --algorithm ecc256 --label PKI --key-label ssh --userpin "$OLD"
check "addkey g" "$T" addkey --algorithm ecc256 --label GONE --key-label g --userpin "$OLD"
"$T" ssh-pubkey --label PKI --key-label ssh >"$T11_TMP/ssh.pub" 2>/dev/null
check "the backup, as README says (sqlite3 .backup, umask 077)" \
	bash -c 'umask 077; sqlite3 "$1" ".backup '"'"'$2'"'"'"' _ "$DB" "$BAK"
check "the backup is 0600" test "$(stat -c %a "$BAK")" = 600

check "rmkey ssh" "$T" rmkey --label PKI --key-label ssh
check "changepin" "$T" changepin --label PKI --user user --old "$OLD" --new "$NEW"
check "rmtoken GONE" "$T" rmtoken --label GONE

# restore: no program uses the store; the file back, -wal and -shm removed.
restore() {
	rm -f "$DB" "$DB-wal" "$DB-shm"
	cp "$BAK" "$DB" && chmod 600 "$DB"
}
check "restore" restore
"$T" doctor --json >"$T11_TMP/doc.json" 2>&1
check "doctor: the restored store's checks pass" python3 - "$T11_TMP/doc.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
bad = [c for c in doc["checks"] if c["name"].startswith("store") and c["status"] != "ok"]
sys.exit(1 if bad else 0)
EOF
check "the removed key is back" bash -c '"$1" ssh-pubkey --label PKI --key-label ssh 2>/dev/null | cmp -s - "$2"' _ "$T" "$T11_TMP/ssh.pub"
check "it signs with today's PIN" "$T" csr --label PKI --key-label ssh --subject /CN=backup --userpin "$NEW"
check_fails "the PIN of the backup's time opens nothing" \
	"$T" csr --label PKI --key-label ssh --subject /CN=backup --userpin "$OLD"
if grep -q 'wrong user PIN for token "PKI"' "$T11_TMP/last.out"; then ok "... refused by the TPM as a wrong PIN"
else not_ok "... refused by the TPM as a wrong PIN"; sed 's/^/# /' "$T11_TMP/last.out"; fi
check_fails "a token removed with rmtoken stays dead in the backup" \
	"$T" csr --label GONE --key-label g --subject /CN=backup --userpin "$OLD"
if grep -q "is not in this TPM" "$T11_TMP/last.out"; then ok "... and the message says its PIN index is gone"
else not_ok "... and the message says its PIN index is gone"; sed 's/^/# /' "$T11_TMP/last.out"; fi

# Another TPM (or this one cleared): nothing opens.
t11_tpm_start "$T11_TMP/tpm2" || { not_ok "a second TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
check_fails "on another TPM the backup opens nothing" \
	"$T" csr --label PKI --key-label ssh --subject /CN=backup --userpin "$NEW"
if grep -qE "not in this TPM|not the primary this store was made with" "$T11_TMP/last.out"; then
	ok "... and says the primary key is not this TPM's"
else not_ok "... and says the primary key is not this TPM's"; sed 's/^/# /' "$T11_TMP/last.out"; fi
t11_done
