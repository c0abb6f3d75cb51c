#!/usr/bin/env bash
# The admin tool, command by command (docs/cli.md is the contract): --help
# for every command, output formats, and the error cases: an existing
# label, a wrong PIN that changes nothing, PIN change and SO reset, removal,
# no TPM reachable, file modes of the store. The TPM is clean after every
# command (once it runs). Runs once per TPM mode (tests/run, T11_TPM_MODE).
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

T=$TPM11_TOOL
SO_PIN=tool-so-pin-31337
USER_PIN=tool-user-pin-4242
NEW_USER_PIN=tool-new-user-pin-777
RESET_USER_PIN=tool-reset-user-pin-888
NEW_SO_PIN=tool-new-so-pin-999
LABEL=PKI

# run CMD...: run, keep stdout in $T11_TMP/out and stderr in $T11_TMP/err,
# status in $rc.
run() { "$@" </dev/null >"$T11_TMP/out" 2>"$T11_TMP/err"; rc=$?; }
show() { sed 's/^/# out: /' "$T11_TMP/out" | head -n 20; sed 's/^/# err: /' "$T11_TMP/err" | head -n 20; }
# clean NAME: once the TPM runs, the test that it is clean after NAME.
clean() { [ -z "${T11_RAW_TCTI:-}" ] || t11_clean "$1"; }
expect_ok() {
	local name=$1; shift; run "$@"
	if [ "$rc" = 0 ]; then ok "$name"; else not_ok "$name (exit $rc)"; show; fi
	clean "$name"
}
expect_fail() { # expect_fail NAME REGEX CMD...: non-zero exit and stderr+stdout matching REGEX
	local name=$1 re=$2; shift 2; run "$@"
	if [ "$rc" = 0 ]; then not_ok "$name (succeeded)"; show
	elif ! cat "$T11_TMP/err" "$T11_TMP/out" | grep -qiE -- "$re"; then not_ok "$name (message lacks /$re/)"; show
	else ok "$name"; sed 's/^/# /' "$T11_TMP/err" | head -n 3; fi
	clean "$name"
}

# --- help ------------------------------------------------------------------
expect_ok "tpm11 --help exits 0" "$T" --help
if grep -qi usage "$T11_TMP/out" "$T11_TMP/err"; then ok "tpm11 --help prints usage"; else not_ok "tpm11 --help prints usage"; show; fi
for c in init addtoken addkey listtokens listobjects verify changepin initpin rmtoken rmkey objdel ssh-pubkey ak attest verify-attestation csr selfsign addcert rmcert; do
	run "$T" "$c" --help
	if [ "$rc" = 0 ] && grep -qi usage "$T11_TMP/out" "$T11_TMP/err" && grep -q -- "$c" "$T11_TMP/out" "$T11_TMP/err"; then
		ok "tpm11 $c --help: exit 0, usage"
	else
		not_ok "tpm11 $c --help: exit 0, usage (exit $rc)"; show
	fi
done
run "$T" no-such-command
if [ "$rc" = 2 ]; then ok "an unknown command exits 2"; else not_ok "an unknown command exits 2 (exit $rc)"; show; fi
run "$T" addtoken --no-such-flag
if [ "$rc" = 2 ]; then ok "an unknown flag exits 2"; else not_ok "an unknown flag exits 2 (exit $rc)"; show; fi

# --- no TPM reachable ---------------------------------------------------------
DEAD="swtpm:path=$T11_TMP/dead-tpm.sock"
expect_fail "init with no TPM reachable fails naming the TCTI" "dead-tpm\.sock" \
	env TPM11_TCTI="$DEAD" TPM11_STORE="$T11_TMP/store-dead" "$T" init
expect_fail "--tcti with no TPM reachable fails naming the TCTI" "dead-tpm\.sock" \
	env TPM11_STORE="$T11_TMP/store-dead" "$T" --tcti "$DEAD" init

# --- the workflow ----------------------------------------------------------
t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
expect_ok "tpm11 init" "$T" init
if grep -qE '^store: ' "$T11_TMP/out" && grep -qE '^primary: 0x81[0-9a-fA-F]{6}$' "$T11_TMP/out"; then
	ok "init prints store: and primary:"
else not_ok "init prints store: and primary:"; show; fi
run "$T" init
if [ "$rc" = 0 ] || grep -qiE 'already|exists' "$T11_TMP/err"; then ok "tpm11 init a second time is harmless (exit $rc)"
else not_ok "tpm11 init a second time is harmless (exit $rc)"; show; fi
clean "tpm11 init a second time"

expect_ok "tpm11 addtoken" "$T" addtoken --label "$LABEL" --sopin "$SO_PIN" --userpin "$USER_PIN"
if grep -qE "^token: $LABEL \(serial [0-9a-fA-F]{16}\)\$" "$T11_TMP/out"; then ok "addtoken prints 'token: $LABEL (serial HEX16)'"
else not_ok "addtoken prints 'token: $LABEL (serial HEX16)'"; show; fi
expect_fail "addtoken with an existing label fails naming it" "$LABEL" \
	"$T" addtoken --label "$LABEL" --sopin "$SO_PIN" --userpin "$USER_PIN"
expect_ok "a second token" "$T" addtoken --label other --sopin "$SO_PIN" --userpin "$USER_PIN"

expect_ok "tpm11 addkey ecc256" "$T" addkey --algorithm ecc256 --label "$LABEL" --key-label ssh --userpin "$USER_PIN"
if grep -qE '^key: ssh \(id [0-9a-fA-F]+, ecc256\)$' "$T11_TMP/out"; then ok "addkey prints 'key: ssh (id HEX, ecc256)'"
else not_ok "addkey prints 'key: ssh (id HEX, ecc256)'"; show; fi
expect_ok "tpm11 addkey rsa2048 --id 0a0b" "$T" addkey --algorithm rsa2048 --label "$LABEL" --key-label rsa --id 0a0b --userpin "$USER_PIN"
if grep -qiE '^key: rsa \(id 0a0b, rsa2048\)$' "$T11_TMP/out"; then ok "addkey --id sets the id"
else not_ok "addkey --id sets the id"; show; fi
# --id takes hex digits only: a space, a sign or "0x" is refused, not read
# as a number (sscanf's %2x took " f" and "-1").
for bad in " f" "-1" "0x01" "0g" "abc"; do
	expect_fail "addkey --id '$bad' is refused (hex digits only)" "hex digits" \
		"$T" addkey --algorithm ecc256 --label "$LABEL" --key-label badid --id "$bad" --userpin "$USER_PIN"
done
expect_fail "ssh-pubkey --id ' a' is refused (hex digits only)" "hex digits" "$T" ssh-pubkey --label "$LABEL" --id " a"
printf '%s\n' "$USER_PIN" >"$T11_TMP/pinfile"
chmod 600 "$T11_TMP/pinfile"
expect_ok "addkey --userpin-file" "$T" addkey --algorithm ecc256 --label "$LABEL" --key-label fromfile --userpin-file "$T11_TMP/pinfile"
expect_fail "addkey with no PIN and no terminal fails naming the flag" "--userpin" \
	"$T" addkey --algorithm ecc256 --label "$LABEL" --key-label nopin
expect_fail "addkey with an unknown algorithm fails" "algorithm|ecc999" \
	"$T" addkey --algorithm ecc999 --label "$LABEL" --key-label bad --userpin "$USER_PIN"
expect_fail "addkey to a missing token fails naming it" "nosuchtoken" \
	"$T" addkey --algorithm ecc256 --label nosuchtoken --key-label k --userpin "$USER_PIN"

expect_ok "tpm11 listtokens" "$T" listtokens
for f in label serial manufacturer model firmware; do
	if grep -qE "^ *-? *$f: .+" "$T11_TMP/out"; then ok "listtokens shows $f:"; else not_ok "listtokens shows $f:"; show; fi
done
grep -qE "^- label: $LABEL\$" "$T11_TMP/out" && grep -qE '^- label: other$' "$T11_TMP/out" &&
	ok "listtokens lists both tokens" || { not_ok "listtokens lists both tokens"; show; }

expect_ok "tpm11 listobjects" "$T" listobjects --label "$LABEL"
cp "$T11_TMP/out" "$T11_TMP/objects.before"
for kl in ssh rsa fromfile; do
	grep -qE "^- label: $kl\$" "$T11_TMP/objects.before" && ok "listobjects shows $kl" || { not_ok "listobjects shows $kl"; show; }
done
for f in id class algorithm; do
	grep -qE "^ +$f: .+" "$T11_TMP/objects.before" && ok "listobjects shows $f:" || { not_ok "listobjects shows $f:"; show; }
done

# A wrong PIN changes nothing.
expect_fail "addkey with a wrong PIN fails mentioning the PIN" "PIN" \
	"$T" addkey --algorithm ecc256 --label "$LABEL" --key-label wrongpin --userpin not-the-pin
run "$T" listobjects --label "$LABEL"
if cmp -s "$T11_TMP/out" "$T11_TMP/objects.before"; then ok "after the wrong PIN, listobjects is unchanged"
else not_ok "after the wrong PIN, listobjects is unchanged"; diff "$T11_TMP/objects.before" "$T11_TMP/out" | sed 's/^/# /'; fi

# verify
expect_ok "verify --userpin" "$T" verify --label "$LABEL" --userpin "$USER_PIN"
grep -q '^user PIN: ok$' "$T11_TMP/out" && ok "verify prints 'user PIN: ok'" || { not_ok "verify prints 'user PIN: ok'"; show; }
expect_ok "verify --sopin" "$T" verify --label "$LABEL" --sopin "$SO_PIN"
grep -q '^SO PIN: ok$' "$T11_TMP/out" && ok "verify prints 'SO PIN: ok'" || { not_ok "verify prints 'SO PIN: ok'"; show; }
expect_fail "verify with a wrong user PIN fails" "PIN" "$T" verify --label "$LABEL" --userpin wrong-user
expect_fail "verify with a wrong SO PIN fails" "PIN" "$T" verify --label "$LABEL" --sopin wrong-so

# changepin (user)
expect_fail "changepin with a wrong old PIN fails" "PIN" \
	"$T" changepin --label "$LABEL" --user user --old wrong-old --new "$NEW_USER_PIN"
expect_ok "changepin --user user" "$T" changepin --label "$LABEL" --user user --old "$USER_PIN" --new "$NEW_USER_PIN"
grep -q '^PIN changed$' "$T11_TMP/out" && ok "changepin prints 'PIN changed'" || { not_ok "changepin prints 'PIN changed'"; show; }
expect_ok "the new user PIN verifies" "$T" verify --label "$LABEL" --userpin "$NEW_USER_PIN"
expect_fail "the old user PIN no longer verifies" "PIN" "$T" verify --label "$LABEL" --userpin "$USER_PIN"
expect_ok "keys work with the new user PIN (addkey)" "$T" addkey --algorithm ecc256 --label "$LABEL" --key-label afterchange --userpin "$NEW_USER_PIN"

# initpin (SO sets a new user PIN without the old one)
expect_fail "initpin with a wrong SO PIN fails" "PIN" \
	"$T" initpin --label "$LABEL" --sopin wrong-so --userpin "$RESET_USER_PIN"
expect_ok "initpin by the SO" "$T" initpin --label "$LABEL" --sopin "$SO_PIN" --userpin "$RESET_USER_PIN"
grep -q '^user PIN set$' "$T11_TMP/out" && ok "initpin prints 'user PIN set'" || { not_ok "initpin prints 'user PIN set'"; show; }
expect_ok "the reset user PIN verifies" "$T" verify --label "$LABEL" --userpin "$RESET_USER_PIN"
expect_fail "the previous user PIN no longer verifies" "PIN" "$T" verify --label "$LABEL" --userpin "$NEW_USER_PIN"

# changepin (SO)
expect_ok "changepin --user so" "$T" changepin --label "$LABEL" --user so --old "$SO_PIN" --new "$NEW_SO_PIN"
expect_ok "the new SO PIN verifies" "$T" verify --label "$LABEL" --sopin "$NEW_SO_PIN"
expect_fail "the old SO PIN no longer verifies" "PIN" "$T" verify --label "$LABEL" --sopin "$SO_PIN"

# --- PINs on the command line, in files, on a terminal (issue 13 item 6) -------
# --userpin P still works (tpm2_ptool's flag) but says that ps shows it.
run "$T" verify --label "$LABEL" --userpin "$RESET_USER_PIN"
if [ "$rc" = 0 ] && grep -qiE 'visible to other users.*ps' "$T11_TMP/err" &&
	grep -q -- '--userpin-file' "$T11_TMP/err"; then
	ok "--userpin PIN works and warns on stderr that ps shows it, suggesting the prompt or --userpin-file"
else not_ok "--userpin PIN works and warns on stderr that ps shows it, suggesting the prompt or --userpin-file (exit $rc)"; show; fi
run "$T" verify --label "$LABEL" --sopin "$NEW_SO_PIN"
if [ "$rc" = 0 ] && grep -qiE 'visible to other users.*ps' "$T11_TMP/err" && grep -q -- '--sopin-file' "$T11_TMP/err"; then
	ok "--sopin PIN warns the same way"
else not_ok "--sopin PIN warns the same way (exit $rc)"; show; fi
# A PIN file others may read or write is refused, as ssh refuses such keys.
for m in 644 640 604 620 602; do
	printf '%s\n' "$RESET_USER_PIN" >"$T11_TMP/pin$m"; chmod "$m" "$T11_TMP/pin$m"
	expect_fail "a PIN file with mode $m is refused, naming the file and chmod 600" "pin$m.*chmod 600" \
		"$T" verify --label "$LABEL" --userpin-file "$T11_TMP/pin$m"
done
chmod 600 "$T11_TMP/pin644"
expect_ok "the same PIN file with mode 600 is accepted" "$T" verify --label "$LABEL" --userpin-file "$T11_TMP/pin644"
if grep -qi 'visible to other users' "$T11_TMP/err"; then not_ok "a PIN file gives no command-line warning"; show
else ok "a PIN file gives no command-line warning"; fi
# A terminal whose echo cannot be turned off: /dev/tty is a plain file here
# (bound over it in a private mount namespace), holding a PIN after room for
# the prompt. The PIN must not be read from it; the tool says why.
printf 'XXXXXXXXXX%s\n' "$RESET_USER_PIN" >"$T11_TMP/notatty"
if unshare --mount true 2>/dev/null; then
	expect_fail "a terminal that cannot turn echo off is not asked for a PIN (clear error)" "echo" \
		unshare --mount sh -c 'mount --bind "$1" /dev/tty && exec "$2" verify --label "$3"' \
		sh "$T11_TMP/notatty" "$T" "$LABEL"
else
	ok "a terminal that cannot turn echo off # SKIP unshare --mount is not permitted here"
fi
# The tool is not dumpable (prctl PR_SET_DUMPABLE 0): no core file with a
# PIN in it, no ptrace by the user's other processes. Seen from outside,
# the files in /proc/PID of a non-dumpable process belong to root: run the
# tool as nobody, held where it opens a PIN file (a FIFO), and look.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null &&
	[ -z "${T11_SANITIZE:-}" ]; then
	ND=$T11_TMP/nobody
	mkdir -p "$ND"; chmod 711 "$T11_TMP"; mkfifo "$ND/pinfifo"; chown -R nobody "$ND"
	TPM11_STORE=$ND/store setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$T" addtoken --label nd --sopin-file "$ND/pinfifo" --userpin-file "$ND/pinfifo" \
		</dev/null >/dev/null 2>&1 &
	ndpid=$!
	# Opening the FIFO's other end waits until the tool has opened it.
	owner=$(timeout 20 bash -c 'exec 8>"$1"; stat -c %u "/proc/$2/status"' _ "$ND/pinfifo" "$ndpid")
	wait "$ndpid" 2>/dev/null
	if [ "$owner" = 0 ]; then ok "the tool makes itself non-dumpable at start (/proc/PID/status of a tool run by nobody belongs to root)"
	else not_ok "the tool makes itself non-dumpable at start (/proc/PID/status of a tool run by nobody belongs to uid '$owner')"; fi
else
	ok "the tool is not dumpable # SKIP needs root, the user nobody and setpriv (and no sanitizer)"
fi

# the keys still sign after all PIN changes (through the module)
if command -v pkcs11-tool >/dev/null; then
	head -c 32 /dev/urandom >"$T11_TMP/h"
	if timeout 60 pkcs11-tool --module "$TPM11_MODULE" --token-label "$LABEL" --login --pin "$RESET_USER_PIN" \
		--sign -m ECDSA --label ssh -i "$T11_TMP/h" -o "$T11_TMP/sig" </dev/null >"$T11_TMP/out" 2>&1; then
		ok "the first key signs with the reset PIN"
	else not_ok "the first key signs with the reset PIN"; sed 's/^/# /' "$T11_TMP/out"; fi
	clean "pkcs11-tool --sign with the reset PIN"
fi

# ssh-pubkey
expect_ok "ssh-pubkey --label --key-label" "$T" ssh-pubkey --label "$LABEL" --key-label ssh
grep -qE '^ecdsa-sha2-nistp256 [A-Za-z0-9+/=]+ ssh$' "$T11_TMP/out" && ok "ssh-pubkey prints one ssh line" || { not_ok "ssh-pubkey prints one ssh line"; show; }
expect_ok "ssh-pubkey --id 0a0b" "$T" ssh-pubkey --label "$LABEL" --id 0a0b
grep -qE '^ssh-rsa [A-Za-z0-9+/=]+ rsa$' "$T11_TMP/out" && ok "ssh-pubkey --id prints the RSA key" || { not_ok "ssh-pubkey --id prints the RSA key"; show; }

# rmkey / objdel / rmtoken
expect_ok "rmkey --key-label fromfile" "$T" rmkey --label "$LABEL" --key-label fromfile
grep -q '^key removed: fromfile$' "$T11_TMP/out" && ok "rmkey prints 'key removed: fromfile'" || { not_ok "rmkey prints 'key removed: fromfile'"; show; }
run "$T" listobjects --label "$LABEL"
grep -qE '^- label: fromfile$' "$T11_TMP/out" && { not_ok "the removed key is gone"; show; } || ok "the removed key is gone"
expect_ok "objdel --id 0a0b" "$T" objdel --label "$LABEL" --id 0a0b
run "$T" listobjects --label "$LABEL"
grep -qE '^- label: rsa$' "$T11_TMP/out" && { not_ok "objdel removed the key with id 0a0b"; show; } || ok "objdel removed the key with id 0a0b"
grep -qE '^- label: ssh$' "$T11_TMP/out" && ok "other keys stay" || { not_ok "other keys stay"; show; }
expect_fail "rmkey of a missing key fails" "nokey" "$T" rmkey --label "$LABEL" --key-label nokey
expect_ok "rmtoken other" "$T" rmtoken --label other
grep -q '^token removed: other$' "$T11_TMP/out" && ok "rmtoken prints 'token removed: other'" || { not_ok "rmtoken prints 'token removed: other'"; show; }
run "$T" listtokens
grep -qE '^- label: other$' "$T11_TMP/out" && { not_ok "the removed token is gone"; show; } || ok "the removed token is gone"
grep -qE "^- label: $LABEL\$" "$T11_TMP/out" && ok "the other token stays" || { not_ok "the other token stays"; show; }
expect_fail "rmtoken of a missing token fails naming it" "nosuchtoken" "$T" rmtoken --label nosuchtoken

# --- a removed key leaves no copy of its blob in the database (issue 13
# item 7): SQLite keeps deleted rows in free pages and old pages in the WAL
# unless secure_delete overwrites them and a checkpoint empties the WAL.
# Another connection stays open throughout (as ssh-agent or a browser keeps
# the module's), so the tool's own close does not checkpoint for us.
DB=$TPM11_STORE/tpm11.sqlite3
mkfifo "$T11_TMP/holdfifo"
sqlite3 "$DB" <"$T11_TMP/holdfifo" >/dev/null 2>&1 &
t11_own_pid $!
exec 7>"$T11_TMP/holdfifo"
echo "SELECT count(*) FROM objects;" >&7
expect_ok "addkey scrub (another connection holds the store open)" \
	"$T" addkey --algorithm ecc256 --label "$LABEL" --key-label scrub --userpin "$RESET_USER_PIN"
# The private key's TPM-wrapped blob as stored; 32 bytes from its middle.
blob=$(sqlite3 "file:$DB?mode=ro" "SELECT hex(tpm_priv) FROM objects WHERE length(tpm_priv) > 0 AND instr(attrs, CAST('scrub' AS BLOB)) > 0;" 2>/dev/null | head -n 1)
chunk=${blob:$(( ${#blob} / 2 - 32 )):64}
in_files() { # the files of the store that hold $chunk
	local f
	for f in "$DB" "$DB-wal"; do
		[ -s "$f" ] && xxd -p "$f" | tr -d '\n' | grep -qi "$chunk" && echo "${f##*/}"
	done
}
if [ ${#chunk} = 64 ] && [ -n "$(in_files)" ]; then ok "the key's private blob is in the store files (found: $(in_files | tr '\n' ' '))"
else not_ok "the key's private blob is in the store files (blob ${#blob} hex digits)"; fi
expect_ok "rmkey scrub" "$T" rmkey --label "$LABEL" --key-label scrub
left=$(in_files | tr '\n' ' ')
if [ ${#chunk} = 64 ] && [ -z "$left" ]; then ok "after rmkey, no byte run of the removed blob is left in the database or its -wal"
else not_ok "after rmkey, no byte run of the removed blob is left in the database or its -wal (found in: $left)"; fi
exec 7>&-

# --- the store's modes -----------------------------------------------------------
mode=$(stat -c %a "$TPM11_STORE" 2>/dev/null)
[ "$mode" = 700 ] && ok "store directory is 0700" || not_ok "store directory is 0700 (is $mode)"
nfiles=0; bad=""
while IFS= read -r f; do
	nfiles=$((nfiles + 1))
	m=$(stat -c %a "$f"); [ "$m" = 600 ] || bad="$bad $f:$m"
done < <(find "$TPM11_STORE" -type f)
if [ "$nfiles" -gt 0 ] && [ -z "$bad" ]; then ok "every store file is 0600 ($nfiles files)"
else not_ok "every store file is 0600 ($nfiles files;$bad)"; fi
bad=$(find "$TPM11_STORE" ! -user "$(id -u)" 2>/dev/null)
[ -z "$bad" ] && ok "the store is owned by the user" || not_ok "the store is owned by the user ($bad)"

check "TPM clean after every command" tpm_is_clean
t11_done
