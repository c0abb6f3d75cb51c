#!/usr/bin/env bash
# Crash loop (issue 4, item 5): SIGKILL at a random point (0-80 ms after
# start) of, in turn:
#   tpm11 addkey, tpm11 changepin (user PIN alternating between two
#   values), tpm11 initpin (SO sets the other value), tpm11 rmtoken /
#   addtoken (of a second token), tpm11 rmkey, and a signing process
#   (pkcs11-tool --sign, or p11check signing in a loop).
# Runs once per TPM mode (tests/run, T11_TPM_MODE): through tpm2-abrmd,
# which flushes what a killed client left loaded in the TPM, and on a
# direct swtpm (also through the minimal chip profile), which keeps it (a
# killed process cannot clean up): there the next clients must work all
# the same.
# After every kill:
#   - the store opens: tpm11 listtokens succeeds; PRAGMA integrity_check ok;
#   - no orphan rows: no object whose token is gone, no public key without
#     its private key or the reverse (sqlite3 and tpm11 listobjects);
#   - exactly one of the two user PINs works (tpm11 verify);
#   - every listed private key signs, verified with OpenSSL (p11check);
#   - the second token, when it exists, opens with its user and SO PIN;
#   - the TPM is clean after those checks. On a direct swtpm it may still
#     hold what the killed processes left (a deliberate SIGKILL), but
#     nothing more: no handle that was not there right after a kill.
# Kills that land (the process was still running): 14 in the default run
# (each of the seven operations about twice; the run fits CI's budget) or
# 200 with T11_LONG=1, 6 (20 with T11_LONG=1) in the valgrind pass of
# tests/run, where each check runs under valgrind ($T11_KILLS overrides).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/rel-lib.bash"
t11_require_build
rel_require_prog P11CHECK p11check

if [ "${T11_SANITIZE:-}" = valgrind ]; then
	if t11_long; then KILLS=${T11_KILLS:-20}; else KILLS=${T11_KILLS:-6}; fi
elif t11_long; then KILLS=${T11_KILLS:-200}
else KILLS=${T11_KILLS:-14}; fi
MAX_ITER=$((KILLS * 4))
T=$TPM11_TOOL
PIN_A=crash-user-aaaa
PIN_B=crash-user-bbbb
SO=crash-so-1234
VPIN=crash-vol-user-1
VSO=crash-vol-so-1
DB=$TPM11_STORE/tpm11.sqlite3

MODE=$(t11_tpm_mode)
t11_tpm_start "$T11_TMP/tpm" || { not_ok "TPM starts ($MODE)"; t11_done; exit 1; }
check_clean "tpm11 init" "$T" init
rel_make_token CR "$SO" "$PIN_A" "base-p256 ecc256" "base-rsa rsa2048"
check_clean "tpm11 addtoken VOL" "$T" addtoken --label VOL --sopin "$VSO" --userpin "$VPIN"
CUR=$PIN_A

other() { if [ "$1" = "$PIN_A" ]; then echo "$PIN_B"; else echo "$PIN_A"; fi; }
key_id() { "$T" listobjects --label CR | awk -v l="$1" '$0 == "- label: " l {f=1} f && /id:/ {print $2; exit}'; }
BASE_ID=$(key_id base-p256)
head -c 32 /dev/urandom >"$T11_TMP/h32"

pairs_complete() {
	awk '/^- label:/ {cls=""} /^  class:/ {cls=$2} /^  id:/ {n[$2 " " cls]++; ids[$2]=1}
	     END { bad=0; for (i in ids) if (n[i " public-key"] != 1 || n[i " private-key"] != 1) {
	             print "incomplete pair: id " i " public " n[i " public-key"]+0 " private " n[i " private-key"]+0; bad=1 }
	           exit bad }' "$1"
}

# Failures by check, with the first few iterations' details.
declare -A FAILS=()
note_fail() {
	local what=$1; shift
	FAILS[$what]=$(( ${FAILS[$what]:-0} + 1 ))
	if [ "${FAILS[$what]}" -le 3 ]; then
		diag "iteration $iter ($op): $what"
		[ $# -gt 0 ] && printf '%s\n' "$@" | tail -n 15 | sed 's/^/#   /'
	fi
}

# handles: the transient objects and loaded sessions in the TPM (the swtpm
# itself), one per line, sorted.
handles() {
	{ TPM2TOOLS_TCTI=$T11_RAW_TCTI tpm2_getcap handles-transient
	  TPM2TOOLS_TCTI=$T11_RAW_TCTI tpm2_getcap handles-loaded-session; } 2>/dev/null | sort
}
# only_in A B: the lines of B that are not in A (both sorted).
only_in() { comm -13 <(printf '%s\n' "$1" | sed '/^$/d') <(printf '%s\n' "$2" | sed '/^$/d'); }
# LEFT: what killed processes left in the TPM and is still there (direct
# mode; through tpm2-abrmd always empty). After the checks of an iteration
# the TPM may hold that and nothing more.
LEFT=""
check_left() {
	local now extra
	now=$(handles)
	extra=$(only_in "$LEFT" "$now")
	[ -z "$extra" ] || note_fail "TPM clean after the checks (but for what killed processes left)" \
		"left by killed processes: $(echo ${LEFT:-none})" "more: $(echo $extra)"
	LEFT=$(only_in "$extra" "$now")
}

# check_store: every check after a kill. Sets CUR to the PIN that works.
check_store() {
	local out a b n_pub n_priv
	if ! out=$(timeout 60 "$T" listtokens 2>&1); then note_fail "store opens (tpm11 listtokens)" "$out"; fi
	out=$(sqlite3 "$DB" 'PRAGMA integrity_check;' 2>&1)
	[ "$out" = ok ] || note_fail "PRAGMA integrity_check" "$out"
	out=$(sqlite3 "$DB" 'SELECT count(*) FROM objects WHERE token_id NOT IN (SELECT id FROM tokens);' 2>&1)
	[ "$out" = 0 ] || note_fail "no objects without a token" "$out"
	# Key objects carry TPM blobs on the private half only; no
	# certificates are made here, so the halves must balance per token.
	out=$(sqlite3 "$DB" 'SELECT token_id, sum(tpm_priv IS NULL), sum(tpm_priv IS NOT NULL) FROM objects GROUP BY token_id HAVING sum(tpm_priv IS NULL) != sum(tpm_priv IS NOT NULL);' 2>&1)
	[ -z "$out" ] || note_fail "public and private rows balance per token (sqlite3)" "$out"
	if timeout 60 "$T" listobjects --label CR >"$T11_TMP/objs" 2>&1; then
		pairs_complete "$T11_TMP/objs" >"$T11_TMP/pairs" || note_fail "every key pair complete (listobjects)" "$(cat "$T11_TMP/pairs")"
	else
		note_fail "tpm11 listobjects" "$(cat "$T11_TMP/objs")"
	fi
	# Exactly one of the two PINs; the last one known first.
	timeout 60 "$T" verify --label CR --userpin "$CUR" >/dev/null 2>&1; a=$?
	timeout 60 "$T" verify --label CR --userpin "$(other "$CUR")" >/dev/null 2>&1; b=$?
	if [ "$a" = 0 ] && [ "$b" != 0 ]; then :
	elif [ "$a" != 0 ] && [ "$b" = 0 ]; then CUR=$(other "$CUR")
	else note_fail "exactly one of the two user PINs works (old: $a, new: $b)"; fi
	if ! out=$(timeout 120 "$P11CHECK" --token CR --pin "$CUR" --min-keys 2 2>&1); then
		note_fail "every private key signs (p11check)" "$out"
	fi
	if grep -q '^- label: VOL$' <<<"$("$T" listtokens 2>/dev/null)"; then
		out=$(timeout 60 "$T" verify --label VOL --userpin "$VPIN" --sopin "$VSO" 2>&1) ||
			note_fail "the second token opens with its PINs" "$out"
	fi
}

# start_op: starts the next operation in the background; sets op and pid.
NAKEYS=0
start_op() {
	local k=$((iter % 8)) n
	n=$(grep -c '^- label: a-' "$T11_TMP/objs" 2>/dev/null)
	case $k in
	0 | 4)
		if [ "${n:-0}" -ge 6 ]; then
			local victim
			victim=$(grep -m1 '^- label: a-' "$T11_TMP/objs" | sed 's/^- label: //')
			op="rmkey $victim"
			"$T" rmkey --label CR --key-label "$victim" >"$T11_TMP/op.out" 2>&1 &
		else
			NAKEYS=$((NAKEYS + 1))
			local alg=ecc256; [ $((NAKEYS % 3)) = 0 ] && alg=rsa2048
			op="addkey a-$iter ($alg)"
			"$T" addkey --label CR --algorithm "$alg" --key-label "a-$iter" --userpin "$CUR" >"$T11_TMP/op.out" 2>&1 &
		fi ;;
	1) op="changepin"
	   "$T" changepin --label CR --user user --old "$CUR" --new "$(other "$CUR")" >"$T11_TMP/op.out" 2>&1 & ;;
	2) op="initpin"
	   "$T" initpin --label CR --sopin "$SO" --userpin "$(other "$CUR")" >"$T11_TMP/op.out" 2>&1 & ;;
	3 | 7)
		if grep -q '^- label: VOL$' <<<"$("$T" listtokens 2>/dev/null)"; then
			op="rmtoken VOL"
			"$T" rmtoken --label VOL >"$T11_TMP/op.out" 2>&1 &
		else
			op="addtoken VOL"
			"$T" addtoken --label VOL --sopin "$VSO" --userpin "$VPIN" >"$T11_TMP/op.out" 2>&1 &
		fi ;;
	5) op="pkcs11-tool --sign"
	   pkcs11-tool --module "$TPM11_MODULE" --token-label CR --login --pin "$CUR" \
		--sign -m ECDSA --id "$BASE_ID" -i "$T11_TMP/h32" -o "$T11_TMP/sig" >"$T11_TMP/op.out" 2>&1 & ;;
	6) op="signing loop (p11check --rounds 30)"
	   "$P11CHECK" --token CR --pin "$CUR" --rounds 30 >"$T11_TMP/op.out" 2>&1 & ;;
	esac
	pid=$!
}

landed=0; iter=0
declare -A LANDED_BY=()
t0=$(date +%s)
"$T" listobjects --label CR >"$T11_TMP/objs" 2>&1
while [ "$landed" -lt "$KILLS" ] && [ "$iter" -lt "$MAX_ITER" ]; do
	iter=$((iter + 1))
	[ "$MODE" != abrmd ] && BEFORE=$(handles)
	start_op
	# (x T11_SAN_SLOW in the sanitizer passes, where everything is slower)
	sleep "$(awk -v r=$((RANDOM % 81)) -v f="${T11_SAN_SLOW:-1}" 'BEGIN { printf "%.3f", r * f / 1000 }')"
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null; rc=$?
	if [ "$rc" = 137 ]; then
		landed=$((landed + 1))
		LANDED_BY[${op%% *}]=$(( ${LANDED_BY[${op%% *}]:-0} + 1 ))
		# A deliberate SIGKILL: on a direct swtpm what it left stays.
		[ "$MODE" != abrmd ] && LEFT=$(printf '%s\n' "$LEFT" "$(only_in "$BEFORE" "$(handles)")" | sed '/^$/d' | sort -u)
	elif [ "$rc" != 0 ]; then
		note_fail "an operation that ran to its end succeeded (exit $rc)" "$(cat "$T11_TMP/op.out")"
	fi
	check_store
	check_left
done
secs=$(($(date +%s) - t0))

by=""
for k in $(printf '%s\n' "${!LANDED_BY[@]}" | sort); do by="$by${by:+, }$k ${LANDED_BY[$k]}"; done
if [ "$landed" -ge "$KILLS" ]; then ok "$landed kills landed in $iter iterations ($secs s; $by)"
else not_ok "$landed kills landed in $iter iterations, wanted $KILLS ($by)"; fi
for what in "store opens (tpm11 listtokens)" "PRAGMA integrity_check" "no objects without a token" \
	"public and private rows balance per token (sqlite3)" "every key pair complete (listobjects)" \
	"exactly one of the two user PINs works" "every private key signs (p11check)" \
	"the second token opens with its PINs" "an operation that ran to its end succeeded" \
	"TPM clean after the checks (but for what killed processes left)"; do
	n=0
	for k in "${!FAILS[@]}"; do case $k in "$what"*) n=$((n + FAILS[$k])) ;; esac; done
	if [ "$n" = 0 ]; then ok "after every kill: $what"
	else not_ok "after every kill: $what ($n failures)"; fi
done

if [ "$MODE" = abrmd ]; then
	check "TPM clean after the loop" tpm_is_clean
else
	diag "left in the TPM by killed processes: $(echo $LEFT)"
fi

t11_done
