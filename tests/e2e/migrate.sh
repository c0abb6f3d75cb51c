#!/usr/bin/env bash
# A store of key model 1 (schema 1) is refused with a message that says
# what to do, the module shows no token from it and stays silent, and
# `tpm11 migrate` lists its keys with their public keys, sets the database
# aside without losing a byte, and lets a new store start (docs/design.md,
# "Stores of key model 1").
#
# The model-1 store is made the way model 1 laid it out: its tokens table
# (storage key and SO object blobs instead of NV indices) and
# user_version 1, with an objects table holding real keys of this TPM.
# Runs once per TPM mode (tests/run, T11_TPM_MODE).
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

T=$TPM11_TOOL
DB=$TPM11_STORE/tpm11.sqlite3
t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }

check "init" "$T" init
check "addtoken" "$T" addtoken --label OLD --sopin so-pin-1234 --userpin user-1234
check "addkey ecc256" "$T" addkey --label OLD --algorithm ecc256 --key-label k1 --userpin user-1234
check "addkey rsa2048" "$T" addkey --label OLD --algorithm rsa2048 --key-label k2 --userpin user-1234
"$T" ssh-pubkey --label OLD >"$T11_TMP/keys.txt" 2>/dev/null
[ "$(wc -l <"$T11_TMP/keys.txt")" = 2 ] && ok "two public keys to look for" || not_ok "two public keys to look for"

# Schema 1: the tokens table of model 1, user_version 1.
sqlite3 "$DB" >/dev/null <<'SQL' && ok "the store rewritten as a model-1 store" || not_ok "the store rewritten as a model-1 store"
PRAGMA foreign_keys=OFF;
BEGIN;
CREATE TABLE tokens1(
  id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE, serial TEXT NOT NULL UNIQUE,
  manufacturer TEXT NOT NULL, model TEXT NOT NULL,
  fw_major INTEGER NOT NULL, fw_minor INTEGER NOT NULL,
  hw_major INTEGER NOT NULL, hw_minor INTEGER NOT NULL,
  pin_salt BLOB NOT NULL, user_pub BLOB NOT NULL, user_priv BLOB NOT NULL,
  so_pub BLOB NOT NULL, so_priv BLOB NOT NULL, flags INTEGER NOT NULL DEFAULT 0);
INSERT INTO tokens1 SELECT id, label, serial, manufacturer, model, fw_major, fw_minor,
  hw_major, hw_minor, pin_salt, x'00', x'00', x'00', x'00', flags FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens1 RENAME TO tokens;
PRAGMA user_version=1;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
sum_before=$(sha256sum <"$DB")

# The tool refuses, naming the command that helps; nothing changes.
check_fails "listtokens refuses a model-1 store" "$T" listtokens
if grep -q "first key model" "$T11_TMP/last.out" && grep -q "tpm11 migrate" "$T11_TMP/last.out"; then
	ok "the message says what the store is and names tpm11 migrate"
else not_ok "the message says what the store is and names tpm11 migrate"; sed 's/^/# /' "$T11_TMP/last.out"; fi
check_fails "addkey refuses a model-1 store" "$T" addkey --label OLD --algorithm ecc256 --userpin user-1234
check_fails "verify refuses a model-1 store" "$T" verify --label OLD --userpin user-1234

# The module: no token, no output.
ssh-keygen -D "$TPM11_MODULE" >"$T11_TMP/sk.out" 2>"$T11_TMP/sk.err"
if ! grep -q "ecdsa\|ssh-rsa" "$T11_TMP/sk.out"; then ok "the module shows no key from a model-1 store"
else not_ok "the module shows no key from a model-1 store"; fi
if ! grep -q "tpm11" "$T11_TMP/sk.err"; then ok "the module prints nothing about it (logging off)"
else not_ok "the module prints nothing about it (logging off)"; sed 's/^/# /' "$T11_TMP/sk.err"; fi
TPM11_LOG=error ssh-keygen -D "$TPM11_MODULE" >/dev/null 2>"$T11_TMP/sk.err"
if grep -q "tpm11 migrate" "$T11_TMP/sk.err"; then ok "with TPM11_LOG the module's log says why"
else not_ok "with TPM11_LOG the module's log says why"; fi
[ "$(sha256sum <"$DB")" = "$sum_before" ] && ok "the model-1 database is unchanged" ||
	not_ok "the model-1 database is unchanged"

# migrate --dry-run lists, moves nothing.
check "migrate --dry-run" "$T" migrate --dry-run
cp "$T11_TMP/last.out" "$T11_TMP/dry.out"
while read -r line; do
	if grep -qF "$line" "$T11_TMP/dry.out"; then ok "migrate lists the public key ${line##* }"
	else not_ok "migrate lists the public key ${line##* }"; fi
done <"$T11_TMP/keys.txt"
grep -q "token: OLD" "$T11_TMP/dry.out" && ok "migrate lists the token" || not_ok "migrate lists the token"
[ "$(sha256sum <"$DB")" = "$sum_before" ] && ok "--dry-run moved nothing" || not_ok "--dry-run moved nothing"

# migrate sets it aside, byte for byte.
check "migrate" "$T" migrate
moved=$(ls "$TPM11_STORE"/tpm11.sqlite3.model1-* 2>/dev/null | head -n 1)
if [ -n "$moved" ] && [ ! -e "$DB" ] && [ "$(sha256sum <"$moved")" = "$sum_before" ]; then
	ok "the old database is kept, unchanged, as ${moved##*/}"
else not_ok "the old database is kept, unchanged (moved: ${moved:-none})"; ls -l "$TPM11_STORE" | sed 's/^/# /'; fi
grep -q "${moved##*/}" "$T11_TMP/last.out" && ok "migrate says where it is" || not_ok "migrate says where it is"

# A new store starts in the same directory.
check "init after migrate" "$T" init
check "addtoken after migrate" "$T" addtoken --label NEW --sopin so-pin-1234 --userpin user-1234
check "addkey after migrate" "$T" addkey --label NEW --algorithm ecc256 --key-label n1 --userpin user-1234
check "migrate on a current store: nothing to do" "$T" migrate
grep -q "nothing to migrate" "$T11_TMP/last.out" && ok "migrate says there is nothing to do" ||
	not_ok "migrate says there is nothing to do"
check "TPM clean" tpm_is_clean
t11_done
