#!/usr/bin/env bash
# t11-modes: abrmd -- processes use the TPM at the same moment, and a direct swtpm's 3 object slots cannot serve them (TESTING.md): that needs a resource manager
# Many processes on one store (issue 4, item 3), all through tpm2-abrmd,
# in parallel loops for a bounded time:
#   - p11check (log in, sign with every fixed key, verify) x2
#   - pkcs11-tool --sign, verified with openssl against the public key
#   - tpm11 addkey / sign with the new key / tpm11 rmkey
#   - tpm11 listobjects: every listed key has its public and private object
#   - tpm11 listtokens + tpm11 verify
#   - ssh-keygen -D
#   - ssh logins to a loopback sshd with PKCS11Provider=the module
#   - ssh logins through an ssh-agent that loaded the module (ssh-add -s)
# Every command must succeed, no output may mention "database is locked"
# or "busy", and at the end the store is consistent (integrity_check, no
# orphan rows, every key pair complete and signing) and the TPM is clean
# (after the set-up steps and at the end; not between the loops' runs,
# which overlap).
#
# Duration: 30 s (CI), 300 s with T11_LONG=1, or $T11_MP_SECS.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/rel-lib.bash"
t11_require_build
rel_require_prog P11CHECK p11check

if t11_long; then SECS=${T11_MP_SECS:-300}; else SECS=${T11_MP_SECS:-30}; fi
T=$TPM11_TOOL
PIN=mp-user-1234
SO=mp-so-1234
LOGS=$T11_TMP/mp
mkdir -p "$LOGS"
DB=$TPM11_STORE/tpm11.sqlite3

export T11_TPM_MODE=abrmd
t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts (abrmd)"; t11_done; exit 1; }
check_clean "tpm11 init" "$T" init
rel_make_token MP "$SO" "$PIN" "fixed-p256 ecc256" "fixed-rsa rsa2048" "fixed-p384 ecc384"

# Public key of fixed-p256 for the pkcs11-tool loop.
key_id() { "$T" listobjects --label MP | awk -v l="$1" '$0 == "- label: " l {f=1} f && /id:/ {print $2; exit}'; }
P256_ID=$(key_id fixed-p256)
P11=(timeout 60 pkcs11-tool --module "$TPM11_MODULE" --token-label MP)
check_clean "public key of fixed-p256 read" "${P11[@]}" --read-object --type pubkey --id "$P256_ID" -o "$T11_TMP/p256.der"
check "public key converted to PEM" openssl pkey -pubin -inform DER -in "$T11_TMP/p256.der" -out "$T11_TMP/p256.pem"

# sshd accepting the fixed keys; an agent holding them.
timeout 60 ssh-keygen -D "$TPM11_MODULE" </dev/null 2>/dev/null | grep ' fixed-' >"$T11_TMP/fixed.pub"
if [ "$(wc -l <"$T11_TMP/fixed.pub")" = 3 ]; then ok "ssh-keygen -D shows the 3 fixed keys"
else not_ok "ssh-keygen -D shows the 3 fixed keys"; sed 's/^/# /' "$T11_TMP/fixed.pub"; fi
t11_clean "ssh-keygen -D"
have_ssh=0
if sshd_start "$T11_TMP/sshd"; then
	cp "$T11_TMP/fixed.pub" "$T11_SSHD_DIR/authorized_keys"
	t11_askpass "$T11_TMP/askpass" "$PIN"
	if agent_start "$T11_TMP/agent" &&
		SSH_ASKPASS="$T11_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
			timeout 60 ssh-add -s "$TPM11_MODULE" </dev/null >"$T11_TMP/add.out" 2>&1; then
		ok "ssh-agent holds the token's keys (ssh-add -s)"; have_ssh=1
	else
		not_ok "ssh-agent holds the token's keys (ssh-add -s)"; sed 's/^/# /' "$T11_TMP/add.out"
	fi
else
	not_ok "sshd starts"
fi

# --- the loops ------------------------------------------------------------------
# Each loop body gets the iteration number; its output goes to the loop's
# log; its status to the loop's result file.

body_p11check() { "$P11CHECK" --token MP --pin "$PIN" --prefix fixed- --min-keys 3; }

body_pkcs11tool() {
	local h=$LOGS/h.$BASHPID s=$LOGS/s.$BASHPID
	head -c 32 /dev/urandom >"$h"
	"${P11[@]}" --login --pin "$PIN" --sign -m ECDSA --signature-format openssl \
		--id "$P256_ID" -i "$h" -o "$s" || return 1
	openssl pkeyutl -verify -pubin -inkey "$T11_TMP/p256.pem" -in "$h" -sigfile "$s"
}

body_addrm() {
	local kl=tmp-$1 alg=ecc256
	[ $(($1 % 4)) = 0 ] && alg=rsa2048
	timeout 60 "$T" addkey --label MP --algorithm "$alg" --key-label "$kl" --userpin "$PIN" || return 1
	timeout 60 "$P11CHECK" --token MP --pin "$PIN" --prefix "$kl" --min-keys 1 || return 1
	timeout 60 "$T" rmkey --label MP --key-label "$kl"
}

# Every id in a listing has exactly one public and one private object.
pairs_complete() {
	awk '/^- label:/ {cls=""} /^  class:/ {cls=$2} /^  id:/ {n[$2 " " cls]++; ids[$2]=1}
	     END { bad=0; for (i in ids) if (n[i " public-key"] != 1 || n[i " private-key"] != 1) {
	             print "incomplete pair: id " i " public " n[i " public-key"]+0 " private " n[i " private-key"]+0; bad=1 }
	           exit bad }' "$1"
}

body_list() {
	local o=$LOGS/list.$BASHPID
	timeout 60 "$T" listobjects --label MP >"$o" || return 1
	cat "$o"
	pairs_complete "$o"
}

body_tokens() {
	timeout 60 "$T" listtokens && timeout 60 "$T" verify --label MP --userpin "$PIN"
}

body_keygen() {
	local o=$LOGS/keygen.$BASHPID
	timeout 60 ssh-keygen -D "$TPM11_MODULE" >"$o" || return 1
	cat "$o"
	[ "$(grep -c ' fixed-' "$o")" = 3 ]
}

body_ssh() {
	local out
	out=$(SSH_ASKPASS="$T11_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
		SSH_AUTH_SOCK='' t11_ssh -o PKCS11Provider="$TPM11_MODULE" -- echo LOGGED_IN) || return 1
	[ "$out" = LOGGED_IN ]
}

body_agent() {
	local out
	out=$(t11_ssh -o BatchMode=yes -o IdentityFile=none -- echo LOGGED_IN) || return 1
	[ "$out" = LOGGED_IN ]
}

END=$(($(date +%s) + SECS))
run_loop() {
	local name=$1 n=0
	: >"$LOGS/$name.res"
	while [ "$(date +%s)" -lt "$END" ]; do
		n=$((n + 1))
		echo "=== $name $n" >>"$LOGS/$name.log"
		if "body_$2" "$n" >>"$LOGS/$name.log" 2>&1; then echo ok >>"$LOGS/$name.res"
		else echo "FAIL $n" >>"$LOGS/$name.res"; fi
	done
}

LOOPS=("p11check-1 p11check" "p11check-2 p11check" "pkcs11-tool pkcs11tool" "addkey-rmkey addrm"
	"listobjects list" "listtokens-verify tokens" "ssh-keygen-D keygen")
[ "$have_ssh" = 1 ] && LOOPS+=("ssh-provider ssh" "ssh-agent agent")
diag "${#LOOPS[@]} loops for $SECS s"
pids=()
for l in "${LOOPS[@]}"; do
	read -r lname lbody <<<"$l"
	run_loop "$lname" "$lbody" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done

total=0
for l in "${LOOPS[@]}"; do
	read -r lname _ <<<"$l"
	set -- "$lname"
	runs=$(wc -l <"$LOGS/$1.res")
	fails=$(grep -c '^FAIL' "$LOGS/$1.res")
	total=$((total + runs))
	if [ "$runs" -gt 0 ] && [ "$fails" = 0 ]; then
		ok "loop $1: $runs runs, all succeeded"
	else
		not_ok "loop $1: $runs runs, $fails failed"
		first=$(grep -m1 '^FAIL' "$LOGS/$1.res" | awk '{print $2}')
		[ -n "$first" ] && awk -v h="=== $1 $first" '$0 == h {f=1; next} /^=== / {f=0} f' "$LOGS/$1.log" |
			tail -n 20 | sed 's/^/# /'
	fi
done
diag "$total commands in $SECS s"

if grep -iE 'database is locked|busy' "$LOGS"/*.log >"$T11_TMP/busy" 2>/dev/null; then
	not_ok "no output mentions 'database is locked' or 'busy'"; head -n 10 "$T11_TMP/busy" | sed 's/^/# /'
else
	ok "no output mentions 'database is locked' or 'busy'"
fi

# --- the store afterwards ------------------------------------------------------------
check "sqlite3 integrity_check" bash -c "[ \"\$(sqlite3 '$DB' 'PRAGMA integrity_check;')\" = ok ]"
orph=$(sqlite3 "$DB" 'SELECT count(*) FROM objects WHERE token_id NOT IN (SELECT id FROM tokens);')
if [ "$orph" = 0 ]; then ok "no object rows without a token"; else not_ok "no object rows without a token ($orph)"; fi
check "tpm11 listobjects at the end" "$T" listobjects --label MP
cp "$T11_TMP/last.out" "$T11_TMP/final.list"
check "every listed key has its public and private object" pairs_complete "$T11_TMP/final.list"
n_tmp=$(grep -c '^- label: tmp-' "$T11_TMP/final.list")
if [ "$n_tmp" = 0 ]; then ok "no temporary key left"; else not_ok "no temporary key left ($n_tmp)"; fi
check_clean "every key signs (p11check, all keys)" "$P11CHECK" --token MP --pin "$PIN" --variants --min-keys 3

if [ "$have_ssh" = 1 ]; then
	kill "$SSH_AGENT_PID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$SSH_AGENT_PID" 2>/dev/null || break; sleep 0.1; done
fi
check "TPM clean after the loops" tpm_is_clean

t11_done
