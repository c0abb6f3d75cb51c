#!/usr/bin/env bash
# A damaged store (issue 4, item 8). A good store (token S, an ECC and an
# RSA key) is copied and damaged in one way per case:
#   truncated to half, truncated inside the header, a byte flipped in the
#   middle of the file, a b-tree page header of the tokens and of the
#   objects table flipped, a store made by a newer schema (user_version
#   99), the token's wrapped storage key changed (one byte, via sqlite3), a
#   store made on another TPM (swtpm A) used with swtpm B (with and without
#   a primary key there), a foreign sqlite file, random bytes, an empty
#   file, a directory in the file's place.
# For each: tpm11 listtokens / verify / listobjects end without a crash
# and, where the damage is visible to them, exit non-zero with a message
# that names the store; the module (pkcs11-tool -L, pkcs11-tool
# --init-token on its empty slot, ssh-keygen -D, p11check's login and
# sign) does not crash either; and the database file is byte-identical
# afterwards (nothing destroyed, nothing "repaired"). The TPM is clean
# after every command. Runs once per TPM mode (tests/run, T11_TPM_MODE).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/rel-lib.bash"
t11_require_build
rel_require_prog P11CHECK p11check

T=$TPM11_TOOL
PIN=store-user-1234
SO=store-so-1234
GOOD=$TPM11_STORE
DBN=tpm11.sqlite3

t11_tpm_start "$T11_TMP/tpmA" || { not_ok "TPM A starts ($(t11_tpm_mode))"; t11_done; exit 1; }
check_clean "tpm11 init" "$T" init
rel_make_token S "$SO" "$PIN" "k1 ecc256" "k2 rsa2048"
check_clean "the good store signs (p11check)" "$P11CHECK" --token S --pin "$PIN" --min-keys 2

# crashed STATUS OUTFILE: true when the status or the output shows a
# crash (a signal: 129-192; or a sanitizer/abort message).
crashed() {
	{ [ "$1" -gt 128 ] && [ "$1" -le 192 ]; } && return 0
	grep -qE 'Segmentation fault|core dumped|Aborted|AddressSanitizer|runtime error:|double free|stack smashing' "$2"
}

# run_case NAME DIR EXPECT: runs every command against store DIR.
# EXPECT: "fail" (the tool must refuse, naming the store), or "any" (the
# damage may be harmless; only no crash and no change are required).
run_case() {
	local name=$1 dir=$2 expect=$3 f=$2/$DBN before after c rc out prev now
	before=$(sha256sum "$f" 2>/dev/null || stat -c '%F' "$f")
	prev=$before
	local -a cmds=(
		"tool:listtokens"
		"tool:verify --label S --userpin $PIN --sopin $SO"
		"tool:listobjects --label S"
		"mod:pkcs11-tool -L"
		"mod:pkcs11-tool --init-token"
		"mod:ssh-keygen -D"
		"mod:p11check"
	)
	# Making a token in the module's empty slot is a legitimate write
	# when the store works; try it only where the store is unusable.
	[ "$expect" = fail ] || unset 'cmds[4]'
	local changed_by=()
	for c in "${cmds[@]}"; do
		out=$T11_TMP/case.out
		case $c in
		tool:*)
			# shellcheck disable=SC2086
			TPM11_STORE=$dir timeout 60 "$T" ${c#tool:} >"$out" 2>&1; rc=$? ;;
		"mod:pkcs11-tool -L")
			TPM11_STORE=$dir timeout 60 pkcs11-tool --module "$TPM11_MODULE" -L >"$out" 2>&1; rc=$? ;;
		"mod:pkcs11-tool --init-token")
			TPM11_STORE=$dir timeout 60 pkcs11-tool --module "$TPM11_MODULE" --init-token \
				--slot 0 --label NEWTOKEN --so-pin 12345678 >"$out" 2>&1; rc=$? ;;
		"mod:ssh-keygen -D")
			TPM11_STORE=$dir timeout 60 ssh-keygen -D "$TPM11_MODULE" >"$out" 2>&1; rc=$? ;;
		mod:p11check)
			TPM11_STORE=$dir timeout 60 "$P11CHECK" --token S --pin "$PIN" >"$out" 2>&1; rc=$? ;;
		esac
		t11_clean "$name: ${c#*:}"
		now=$(sha256sum "$f" 2>/dev/null || stat -c '%F' "$f")
		if [ "$now" != "$prev" ]; then
			changed_by+=("${c#*:}"); diag "$name: ${c#*:} (exit $rc) changed the file; its output:"
			sed 's/^/#   /' "$out" | tail -n 5
		fi
		prev=$now
		if [ "$rc" = 124 ]; then
			not_ok "$name: ${c#*:} hangs"; continue
		fi
		if crashed "$rc" "$out"; then
			not_ok "$name: ${c#*:} does not crash (exit $rc)"; sed 's/^/# /' "$out" | tail -n 15
			continue
		fi
		case $c in
		tool:*)
			if [ "$expect" = fail ]; then
				if [ "$rc" != 0 ] && grep -qF "$dir" "$out" && ! grep -qi 'not an error' "$out"; then
					ok "$name: tpm11 ${c#tool:} fails naming the store (exit $rc)"
				else
					not_ok "$name: tpm11 ${c#tool:} fails naming the store (exit $rc)"
					sed 's/^/# /' "$out" | tail -n 8
				fi
				[ "$rc" != 0 ] && diag "  $(head -n 1 "$out")"
			else
				ok "$name: tpm11 ${c#tool:} ends without a crash (exit $rc)"
				[ "$rc" != 0 ] && diag "  $(head -n 1 "$out")"
			fi ;;
		*)
			ok "$name: ${c#mod:} ends without a crash (exit $rc)" ;;
		esac
	done
	after=$(sha256sum "$f" 2>/dev/null || stat -c '%F' "$f")
	if [ "$before" = "$after" ] && [ ${#changed_by[@]} = 0 ]; then ok "$name: the store file is unchanged"
	else not_ok "$name: the store file is unchanged (changed by: ${changed_by[*]})"; fi
}

# new_case NAME: a fresh copy of the good store; prints its directory.
new_case() {
	local d=$T11_TMP/cases/$1
	mkdir -p "$T11_TMP/cases"
	rm -rf "$d"
	cp -a "$GOOD" "$d"
	echo "$d"
}

flip() { # flip FILE OFFSET: inverts one byte
	python3 -c 'import sys
p, i = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[i] ^= 0xff
open(p, "wb").write(b)' "$1" "$2"
}

size=$(stat -c %s "$GOOD/$DBN")
psize=$(sqlite3 "$GOOD/$DBN" 'PRAGMA page_size;')
root() { sqlite3 "$GOOD/$DBN" "SELECT rootpage FROM sqlite_master WHERE name='$1';"; }

d=$(new_case truncated-half); truncate -s $((size / 2)) "$d/$DBN"
run_case "truncated to half" "$d" fail

d=$(new_case truncated-header); truncate -s 60 "$d/$DBN"
run_case "truncated inside the header" "$d" fail

d=$(new_case flip-middle); flip "$d/$DBN" $((size / 2 + 1000))
run_case "a byte flipped in the middle" "$d" any

d=$(new_case flip-tokens); flip "$d/$DBN" $(( ($(root tokens) - 1) * psize ))
run_case "tokens table page header flipped" "$d" fail

d=$(new_case flip-objects); flip "$d/$DBN" $(( ($(root objects) - 1) * psize ))
run_case "objects table page header flipped" "$d" fail

d=$(new_case newer-schema); sqlite3 "$d/$DBN" 'PRAGMA user_version=99;'
run_case "a newer schema (user_version 99)" "$d" fail
if TPM11_STORE=$d "$T" listtokens 2>&1 | grep -qi 'newer'; then ok "newer schema: the message says the store is newer"
else not_ok "newer schema: the message says the store is newer"; fi
t11_clean "newer schema: listtokens"

d=$(new_case bad-pin-index)
# One byte of the recorded Name of the token's user PIN index becomes its
# complement: the index in the TPM no longer matches the record, as if
# someone had removed it and defined another at its handle.
python3 - "$d/$DBN" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(b,) = db.execute("SELECT user_nv_name FROM tokens WHERE label='S'").fetchone()
b = bytearray(b); b[len(b) // 2] ^= 0xff
db.execute("UPDATE tokens SET user_nv_name=? WHERE label='S'", (bytes(b),)); db.commit()
PY
# Only login touches the index; listing must still work.
run_case "the record of the token's PIN index damaged" "$d" any
# verify_fails NAME DIR NEED_PATH ARGS...: tpm11 verify fails without a
# crash; with NEED_PATH=1 its message names the store.
verify_fails() {
	local name=$1 dir=$2 need=$3 rc; shift 3
	TPM11_STORE=$dir timeout 60 "$T" verify --label S "$@" >"$T11_TMP/v.out" 2>&1; rc=$?
	if [ "$rc" != 0 ] && ! crashed "$rc" "$T11_TMP/v.out" &&
		{ [ "$need" = 0 ] || grep -qF "$dir" "$T11_TMP/v.out"; }; then
		ok "$name (exit $rc)"; diag "  $(head -n 1 "$T11_TMP/v.out")"
	else
		not_ok "$name (exit $rc)"; sed 's/^/# /' "$T11_TMP/v.out"
	fi
	t11_clean "$name"
}
verify_fails "damaged PIN index record: verify fails, naming the store" "$d" 1 --userpin "$PIN"

# Another TPM: B without a primary key, then with one of its own (made
# through a scratch store, so ours is not touched).
t11_tpm_start "$T11_TMP/tpmB" || not_ok "TPM B starts ($(t11_tpm_mode))"
d=$(new_case other-tpm)
run_case "a store from another TPM (no primary key there)" "$d" any
verify_fails "another TPM without a primary key: verify fails cleanly" "$d" 0 --userpin "$PIN"
check_clean "TPM B: tpm11 init of a scratch store" env TPM11_STORE="$T11_TMP/scratch" "$T" init
run_case "a store from another TPM (its own primary key)" "$d" any
verify_fails "another TPM: verify (user PIN) fails, naming the store" "$d" 1 --userpin "$PIN"
verify_fails "another TPM: verify (SO PIN) fails, naming the store" "$d" 1 --sopin "$SO"
TPM11_STORE=$d timeout 60 "$P11CHECK" --token S --pin "$PIN" >"$T11_TMP/v.out" 2>&1; rc=$?
if [ "$rc" != 0 ] && ! crashed "$rc" "$T11_TMP/v.out"; then ok "another TPM: the module's C_Login fails cleanly (exit $rc)"; diag "  $(head -n 1 "$T11_TMP/v.out")"
else not_ok "another TPM: the module's C_Login fails cleanly (exit $rc)"; sed 's/^/# /' "$T11_TMP/v.out"; fi
check "TPM B clean" tpm_is_clean
t11_tpm_use "$T11_TMP/tpmA"

d=$(new_case foreign-sqlite); rm -f "$d/$DBN"
sqlite3 "$d/$DBN" 'CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes(text) VALUES ("keep me");'
run_case "a foreign sqlite file" "$d" fail

d=$(new_case random-bytes); head -c "$size" /dev/urandom >"$d/$DBN"
run_case "random bytes" "$d" fail

# An empty file (a truncated store) is an empty sqlite database to sqlite:
# it must be reported as what it is, not shown as a store without tokens
# (issue 13 item 10), and never written to.
d=$(new_case empty-file); : >"$d/$DBN"
run_case "an empty file" "$d" fail
if TPM11_STORE=$d "$T" listtokens 2>&1 | grep -q 'is empty (0 bytes).*backup'; then
	ok "an empty file: the message says it is empty and how to recover"
else not_ok "an empty file: the message says it is empty and how to recover"; fi

# Another user's store, and one that others may write: refused with the
# reason, not read (issue 13 item 6) and not shown as "no store".
d=$(new_case other-owner); chown -R 65534:65534 "$d"
run_case "a store of another user" "$d" fail
if TPM11_STORE=$d "$T" listtokens 2>&1 | grep -q 'belongs to user 65534'; then
	ok "another user's store: the message names its owner"
else not_ok "another user's store: the message names its owner"; fi
d=$(new_case group-writable); chmod 0770 "$d"
run_case "a store directory writable by its group" "$d" fail
if TPM11_STORE=$d "$T" listtokens 2>&1 | grep -q 'writable by others.*chmod 700'; then
	ok "a group-writable store: the message gives the chmod that fixes it"
else not_ok "a group-writable store: the message gives the chmod that fixes it"; fi

d=$(new_case directory); rm -f "$d/$DBN"; mkdir "$d/$DBN"
run_case "a directory in the file's place" "$d" fail

# Issue 13 item 9: one object too big for every reader must not be
# written (it once made every token vanish), and a damaged object costs
# that object, not the store.
d=$(new_case big-object)
TPM11_STORE=$d timeout 120 "$P11CHECK" --token S --write-data $((17 << 20)) >"$T11_TMP/big.out" 2>&1; rc=$?
if [ "$rc" = 5 ] && grep -q "CKR_DEVICE_MEMORY" "$T11_TMP/big.out"; then
	ok "a 17 MiB public data object is refused (CKR_DEVICE_MEMORY), without login"
else not_ok "a 17 MiB public data object is refused (exit $rc)"; tail -n 5 "$T11_TMP/big.out" | sed 's/^/# /'; fi
[ "$(sqlite3 "$d/$DBN" "select count(*) from objects where length(attrs) > 1048576;")" = 0 ] &&
	ok "nothing of it reached the store" || not_ok "nothing of it reached the store"
check "after it, the token still signs (p11check)" env TPM11_STORE="$d" "$P11CHECK" --token S --pin "$PIN" --min-keys 2
check "a 64 KiB public data object is taken" env TPM11_STORE="$d" "$P11CHECK" --token S --write-data 65536

d=$(new_case damaged-object)
bad=$(sqlite3 "$d/$DBN" "select min(id) from objects;")
sqlite3 "$d/$DBN" "UPDATE objects SET attrs=x'0102030405' WHERE id=$bad;"
TPM11_STORE=$d "$T" listobjects --label S >"$T11_TMP/lo.out" 2>"$T11_TMP/lo.err"; rc=$?
if [ "$rc" = 0 ] && grep -q "^- label: k1\|^- label: k2" "$T11_TMP/lo.out" &&
	grep -q "damaged and left out.*object $bad" "$T11_TMP/lo.err"; then
	ok "one damaged object: listobjects lists the others and names the damaged one"
else not_ok "one damaged object: listobjects lists the others and names the damaged one (exit $rc)"
	sed 's/^/# /' "$T11_TMP/lo.err"; fi
if TPM11_STORE=$d "$T" listtokens | grep -q '^- label: S$'; then ok "one damaged object: the token is still listed"
else not_ok "one damaged object: the token is still listed"; fi
if TPM11_STORE=$d ssh-keygen -D "$TPM11_MODULE" 2>/dev/null | grep -q 'ecdsa-sha2-nistp256\|ssh-rsa'; then
	ok "one damaged object: the module still shows the other keys"
else not_ok "one damaged object: the module still shows the other keys"; fi

# And the good store is still good.
check_clean "the good store still signs" "$P11CHECK" --token S --pin "$PIN" --min-keys 2
check "TPM A clean" tpm_is_clean

t11_done
