#!/usr/bin/env bash
# The chip-profile TCTI (issue 14 item 2, tests/tcti/tcti-profile.c) in
# front of a real swtpm, driven by tpm2-tools and by tcti-send (raw
# commands through one connection):
#  - minimal: GetCapability answers lose what the chip lacks; templates,
#    TestParms and sessions that name it get the reference implementation's
#    error with the right parameter number; hidden commands get
#    TPM_RC_COMMAND_CODE; ecc256 and rsa2048 work;
#  - limits: the 4th transient object is TPM_RC_OBJECT_MEMORY and the 4th
#    loaded session TPM_RC_SESSION_MEMORY, answered by the wrapper (and with
#    lower limits where swtpm would still have room); a persistent handle
#    needs a free slot; flushed sessions free theirs;
#  - latency: 200 ms on TPM2_Sign makes tpm2_sign at least that much slower;
#  - faults: RETRY, YIELDED, TESTING, NV_RATE answered without the command
#    reaching the TPM (swtpm's log at level 20 shows all traffic); a seed
#    repeats a run; a cut response is an error, not a crash; a dropped
#    connection fails the command and the next one works;
#  - every shipped profile loads; bad profiles fail with file, line, key;
#  - the TPM is left clean.
. "$(dirname "$0")/../lib/common.sh"

if [ "${T11_SANITIZE:-}" = asan ]; then
	# tpm2-tools (not ASan-built) cannot load an ASan-built TCTI.
	echo "1..0 # SKIP tpm2-tools cannot load the ASan build's TCTI; the plain and valgrind passes run this"
	exit 0
fi

LIB=$TPM11_BUILD/tests/tcti/libtss2-tcti-tpmprofile.so
SEND=$TPM11_BUILD/tests/tcti/tcti-send
PROFILES=$T11_SRC/tests/tcti/profiles
for f in "$LIB" "$SEND"; do
	[ -e "$f" ] || { not_ok "built: $f exists"; t11_done; exit 1; }
done
SEND=$(t11_prog "$SEND")

T11_SWTPM_LOGLEVEL=20 swtpm_start "$T11_TMP/tpm" || { not_ok "swtpm starts"; t11_done; exit 1; }
DIRECT=$TPM2TOOLS_TCTI
SWLOG=$T11_TMP/tpm/swtpm.log
PLOG=$T11_TMP/profile.log
export TPM11_PROFILE_LOG=$PLOG
unset TPM11_PROFILE_FAULTS TPM11_PROFILE_SEED TPM11_PROFILE_DIR
cd "$T11_TMP" || exit 1

# via PROFILE: the tctildr string of the wrapper with PROFILE over swtpm.
via() { echo "$LIB:$1:$DIRECT"; }
# tt PROFILE CMD...: a tpm2-tools command through the wrapper.
tt() {
	local p=$1; shift
	TPM2TOOLS_TCTI=$(via "$p") "$@"
}
# send PROFILE HEX...: raw commands through one connection.
send() {
	local p=$1; shift
	$SEND -c "$(via "$p")" "$@"
}
# tpmcmd CC BODY: a command without sessions (Part 1, 18.2), in hex.
tpmcmd() { printf '8001%08x%08x%s' $((10 + ${#2} / 2)) "$1" "$2"; }
GETRANDOM=$(tpmcmd 0x17b 0008)
# StartAuthSession: tpmKey and bind TPM_RH_NULL, a 16-byte nonceCaller, no
# salt, an HMAC session, no symmetric, SHA-256.
SESSION=$(tpmcmd 0x176 "40000007400000070010$(printf '%032d' 0)0000000010000b")
flush_all() { tpm2_flushcontext -t >/dev/null 2>&1; tpm2_flushcontext -l >/dev/null 2>&1; true; }
# esys_rc FILE: the TPM response code ESAPI printed ("ErrorCode (0x...)").
esys_rc() { grep -o 'ErrorCode (0x[0-9a-fA-F]*)' "$1" | head -1 | grep -o '0x[0-9a-fA-F]*' | sed 's/0x0*/0x/'; }
# reads: commands that reached swtpm so far (its log, level 20).
reads() { grep -c 'SWTPM_IO_Read' "$SWLOG"; }
# expect_rc NAME WANT CMD...: the command fails and ESAPI reports WANT.
expect_rc() {
	local name=$1 want=$2 got; shift 2
	if "$@" >"$T11_TMP/out" 2>&1; then
		not_ok "$name (succeeded)"; sed 's/^/# /' "$T11_TMP/out" | tail -5; return
	fi
	got=$(esys_rc "$T11_TMP/out")
	if [ "$got" = "$want" ]; then ok "$name ($got)"
	else not_ok "$name: want $want, got ${got:-none}"; sed 's/^/# /' "$T11_TMP/out" | tail -5; fi
}
# logged PATTERN: the wrapper's log has a line matching PATTERN.
logged() { grep -qE "$1" "$PLOG"; }

# --- minimal: what GetCapability says ---------------------------------------
tpm2_getcap ecc-curves >"$T11_TMP/direct.curves"
tt minimal tpm2_getcap ecc-curves >"$T11_TMP/min.curves"
if grep -q NIST_P384 "$T11_TMP/direct.curves" &&
	[ "$(cat "$T11_TMP/min.curves")" = "TPM2_ECC_NIST_P256: 0x3" ]; then
	ok "minimal: ecc-curves lists NIST P-256 only (swtpm has $(wc -l <"$T11_TMP/direct.curves"))"
else not_ok "minimal: ecc-curves lists NIST P-256 only"; sed 's/^/# /' "$T11_TMP/min.curves"; fi

algs() { grep -oE '^[a-z0-9_]+:' "$1" | tr -d : | tr '\n' ' '; }
tpm2_getcap algorithms >"$T11_TMP/direct.algs"
tt minimal tpm2_getcap algorithms >"$T11_TMP/min.algs"
a=" $(algs "$T11_TMP/min.algs")"
missing=; extra=
for x in sha256 rsa ecc aes cfb hmac ecdsa ecdh oaep rsassa rsapss keyedhash symcipher; do
	case $a in *" $x "*) ;; *) missing="$missing $x" ;; esac
done
for x in sha1 sha384 sha512 sm3_256 ctr ofb cbc ecb camellia ecdaa ecschnorr sm2; do
	case $a in *" $x "*) extra="$extra $x" ;; esac
done
if [ -z "$missing$extra" ] && grep -q '^sha384:' "$T11_TMP/direct.algs"; then
	ok "minimal: algorithms has SHA-256 only of the hashes, AES in CFB mode only"
else not_ok "minimal: algorithms: missing [$missing ] present [$extra ]"; fi

tpm2_getcap commands >"$T11_TMP/direct.cmds"
tt minimal tpm2_getcap commands >"$T11_TMP/min.cmds"
if grep -q 'TPM2_CC_EncryptDecrypt2:' "$T11_TMP/direct.cmds" &&
	! grep -q 'TPM2_CC_EncryptDecrypt' "$T11_TMP/min.cmds" && grep -q 'TPM2_CC_Sign:' "$T11_TMP/min.cmds"; then
	ok "minimal: commands lacks EncryptDecrypt and EncryptDecrypt2 (and still has Sign)"
else not_ok "minimal: commands lacks EncryptDecrypt and EncryptDecrypt2"; fi

tt minimal tpm2_getcap pcrs >"$T11_TMP/min.pcrs"
if grep -q 'sha256:' "$T11_TMP/min.pcrs" && ! grep -qE 'sha1:|sha384:|sha512:' "$T11_TMP/min.pcrs"; then
	ok "minimal: only the SHA-256 PCR bank is shown"
else not_ok "minimal: only the SHA-256 PCR bank is shown"; sed 's/^/# /' "$T11_TMP/min.pcrs"; fi

tt minimal tpm2_getcap properties-fixed >"$T11_TMP/min.fixed"
prop() { grep -A1 "^$1:" "$T11_TMP/min.fixed" | sed -n 's/ *raw: *//p'; }
if [ "$(prop TPM2_PT_HR_TRANSIENT_MIN)" = 0x3 ] && [ "$(prop TPM2_PT_HR_LOADED_MIN)" = 0x3 ] &&
	[ "$(prop TPM2_PT_MAX_DIGEST)" = 0x20 ]; then
	ok "minimal: TPM_PT_HR_TRANSIENT_MIN 3, TPM_PT_HR_LOADED_MIN 3, TPM_PT_MAX_DIGEST 32"
else not_ok "minimal: fixed properties ($(prop TPM2_PT_HR_TRANSIENT_MIN) $(prop TPM2_PT_HR_LOADED_MIN) $(prop TPM2_PT_MAX_DIGEST))"; fi

# --- minimal: what it refuses, and what it does -------------------------------
: >"$PLOG"; n0=$(reads)
# Part 2: TPMI_ECC_CURVE's error is TPM_RC_CURVE; inPublic is parameter 2.
expect_rc "minimal: createprimary -G ecc384 is TPM_RC_CURVE on parameter 2" 0x2e6 \
	tt minimal tpm2_createprimary -G ecc384 -c p.ctx
# TPMI_RSA_KEY_BITS' error is TPM_RC_VALUE: what swtpm answers for rsa4096.
expect_rc "swtpm itself: createprimary -G rsa4096 is TPM_RC_VALUE on parameter 2" 0x2c4 \
	tpm2_createprimary -G rsa4096 -c p.ctx
expect_rc "minimal: createprimary -G rsa3072 is TPM_RC_VALUE on parameter 2, as swtpm for rsa4096" 0x2c4 \
	tt minimal tpm2_createprimary -G rsa3072 -c p.ctx
# tpm2_testparms prints no response code: the wrapper's log has it.
for t in ecc384:0x1e6:TPM_RC_CURVE rsa3072:0x1c4:TPM_RC_VALUE; do
	IFS=: read -r alg want what <<<"$t"
	if ! tt minimal tpm2_testparms "$alg" >/dev/null 2>&1 && logged "TestParms refused $want\$"; then
		ok "minimal: testparms $alg is $what on parameter 1 ($want)"
	else not_ok "minimal: testparms $alg is $what on parameter 1 ($want)"; sed 's/^/# /' "$PLOG"; fi
done
expect_rc "minimal: a SHA-384 session is TPM_RC_HASH on parameter 5" 0x5c3 \
	tt minimal tpm2_startauthsession -g sha384 -S s.ctx
if logged 'CreatePrimary refused 0x2e6' && logged 'CreatePrimary refused 0x2c4' &&
	! logged 'CreatePrimary sent'; then
	ok "minimal: the wrapper answered the refusals itself"
else not_ok "minimal: the wrapper answered the refusals itself"; sed 's/^/# /' "$PLOG"; fi
flush_all

check "minimal: createprimary -G ecc256 works" tt minimal tpm2_createprimary -G ecc256 -c ecc.ctx
flush_all
check "minimal: createprimary -G rsa2048 works" tt minimal tpm2_createprimary -G rsa2048 -c rsa.ctx
flush_all
check "minimal: testparms ecc256 works" tt minimal tpm2_testparms ecc256
check "minimal: testparms rsa2048 works" tt minimal tpm2_testparms rsa2048

# An AES key, made directly (tpm2_create and tpm2_load leave objects loaded).
tpm2_createprimary -G ecc256 -c prim.ctx >/dev/null && flush_all
tpm2_create -C prim.ctx -G aes128cfb -u aes.pub -r aes.priv >/dev/null && flush_all
tpm2_load -C prim.ctx -u aes.pub -r aes.priv -c aes.ctx >/dev/null && flush_all
echo "sixteen byte msg" >"$T11_TMP/msg"
check "swtpm itself: tpm2_encryptdecrypt works" tpm2_encryptdecrypt -c aes.ctx -o ct "$T11_TMP/msg"
flush_all
expect_rc "minimal: tpm2_encryptdecrypt is TPM_RC_COMMAND_CODE" 0x143 \
	tt minimal tpm2_encryptdecrypt -c aes.ctx -o ct2 "$T11_TMP/msg"
flush_all

# --- limits ---------------------------------------------------------------------
: >"$PLOG"
okc=0
for i in 1 2 3; do tt minimal tpm2_createprimary -G ecc256 -c "o$i.ctx" >/dev/null 2>&1 && okc=$((okc + 1)); done
expect_rc "minimal: with 3 objects loaded, a 4th is TPM_RC_OBJECT_MEMORY" 0x902 \
	tt minimal tpm2_createprimary -G ecc256 -c o4.ctx
if [ "$okc" = 3 ] && logged 'CreatePrimary object_memory'; then
	ok "minimal: 3 objects loaded, and the wrapper refused the 4th itself"
else not_ok "minimal: 3 objects loaded ($okc), and the wrapper refused the 4th itself"; fi
flush_all

# A persistent handle needs a free slot while its command runs.
tpm2_createprimary -G ecc256 -c pers.ctx >/dev/null && tpm2_evictcontrol -C o -c pers.ctx 0x81000010 >/dev/null
flush_all
for i in 1 2 3; do tpm2_createprimary -G ecc256 -c "o$i.ctx" >/dev/null 2>&1; done
: >"$PLOG"
expect_rc "minimal: with 3 objects loaded, ReadPublic of a persistent key is TPM_RC_OBJECT_MEMORY" 0x902 \
	tt minimal tpm2_readpublic -c 0x81000010
if logged 'ReadPublic object_memory'; then ok "minimal: the wrapper refused it itself"
else not_ok "minimal: the wrapper refused it itself"; sed 's/^/# /' "$PLOG"; fi
tpm2_flushcontext "$(tpm2_getcap handles-transient | head -1 | sed 's/^- //')" >/dev/null 2>&1
check "minimal: with 2 loaded, ReadPublic of the persistent key works" tt minimal tpm2_readpublic -c 0x81000010
tpm2_evictcontrol -C o -c 0x81000010 >/dev/null 2>&1
flush_all

printf 'max-transient 2\nmax-sessions 2\n' >"$T11_TMP/two.profile"
okc=0
for i in 1 2; do tt "$T11_TMP/two.profile" tpm2_createprimary -G ecc256 -c "o$i.ctx" >/dev/null 2>&1 && okc=$((okc + 1)); done
expect_rc "max-transient 2: the 3rd object is TPM_RC_OBJECT_MEMORY though swtpm holds 3" 0x902 \
	tt "$T11_TMP/two.profile" tpm2_createprimary -G ecc256 -c o3.ctx
check "max-transient 2: swtpm itself still takes the 3rd" tpm2_createprimary -G ecc256 -c o3.ctx
flush_all

send minimal "$SESSION" "$SESSION" "$SESSION" "$SESSION" >"$T11_TMP/sess.out"
if [ "$(grep -c 'rc=0x0 handle=0x200000' "$T11_TMP/sess.out")" = 3 ] &&
	[ "$(sed -n 4p "$T11_TMP/sess.out")" = "4 rc=0x903" ] && logged 'StartAuthSession session_memory'; then
	ok "minimal: 3 sessions start, the 4th is TPM_RC_SESSION_MEMORY from the wrapper"
else not_ok "minimal: 3 sessions start, the 4th is TPM_RC_SESSION_MEMORY"; sed 's/^/# /' "$T11_TMP/sess.out"; fi
flush_all

printf 'max-sessions 1\n' >"$T11_TMP/one.profile"
send "$T11_TMP/one.profile" "$SESSION" "$SESSION" "$(tpmcmd 0x165 02000000)" "$SESSION" >"$T11_TMP/sess1.out"
if [ "$(tr '\n' ' ' <"$T11_TMP/sess1.out")" = "1 rc=0x0 handle=0x2000000 2 rc=0x903 3 rc=0x0 4 rc=0x0 handle=0x2000000 " ]; then
	ok "max-sessions 1: a second session is refused, and FlushContext frees the slot"
else not_ok "max-sessions 1: a second session is refused, and FlushContext frees the slot"; sed 's/^/# /' "$T11_TMP/sess1.out"; fi
flush_all

# --- latency --------------------------------------------------------------------
tpm2_createprimary -G ecc256 -c kp.ctx >/dev/null && flush_all
tpm2_create -C kp.ctx -G ecc256 -u k.pub -r k.priv >/dev/null && flush_all
tpm2_load -C kp.ctx -u k.pub -r k.priv -c k.ctx >/dev/null && flush_all
printf 'latency Sign 200\n' >"$T11_TMP/sign200.profile"
: >"$T11_TMP/none.profile"
ms_of() {
	local s e
	s=$(date +%s%N)
	tt "$1" tpm2_sign -c k.ctx -g sha256 -o sig "$T11_TMP/msg" >/dev/null 2>&1 || { echo fail; return; }
	e=$(date +%s%N)
	tpm2_flushcontext -t >/dev/null 2>&1
	echo $(((e - s) / 1000000))
}
without=(); with=()
for _ in 1 2 3 4; do without+=("$(ms_of "$T11_TMP/none.profile")"); with+=("$(ms_of "$T11_TMP/sign200.profile")"); done
min() { printf '%s\n' "$@" | sort -n | head -1; }
mw=$(min "${with[@]}"); mo=$(min "${without[@]}")
# The wrapper sleeps 200 ms on every Sign: each run with it takes at
# least that, a lower bound a busy machine cannot break (load only adds
# time). A comparison with the runs without it is not a test: under load
# starting tpm2_sign alone varied by 140 ms here. That the delay is the
# profile's, on Sign only, the TCTI's log shows (next test).
slow_enough=1
for w in "${with[@]}"; do [ "$w" != fail ] && [ "$w" -ge 200 ] || slow_enough=0; done
if [[ "${with[*]} ${without[*]}" != *fail* ]] && [ "$slow_enough" = 1 ]; then
	ok "latency: 200 ms on TPM2_Sign: every tpm2_sign takes >= 200 ms (fastest $mw ms; without the profile $mo ms; runs: ${with[*]} / ${without[*]})"
else not_ok "latency: 200 ms on TPM2_Sign: every tpm2_sign takes >= 200 ms (runs: ${with[*]} / ${without[*]})"; fi
: >"$PLOG"
tt "$T11_TMP/sign200.profile" tpm2_sign -c k.ctx -g sha256 -o sig "$T11_TMP/msg" >/dev/null 2>&1
flush_all
if logged '^[0-9]+ Sign sent rc=0x0 latency=200$' && logged 'ContextLoad sent rc=0x0 latency=0$'; then
	ok "latency: Sign is delayed 200 ms, other commands 0"
else not_ok "latency: Sign is delayed 200 ms, other commands 0"; sed 's/^/# /' "$PLOG"; fi

# --- faults ---------------------------------------------------------------------
n0=$(reads)
out=$(TPM11_PROFILE_FAULTS=retry:1 send "$T11_TMP/none.profile" "$GETRANDOM")
n1=$(reads)
if [ "$out" = "1 rc=0x922" ] && [ "$n1" = "$n0" ] && [ "$n0" -gt 0 ]; then
	ok "retry 100%: the first command is TPM_RC_RETRY and nothing reached the TPM ($n0 commands in swtpm's log before and after)"
else not_ok "retry 100%: '$out', swtpm saw $n0 then $n1 commands"; fi

n0=$(reads)
TPM11_PROFILE_FAULTS=retry:1 expect_rc "retry 100%: tpm2_getrandom fails with TPM_RC_RETRY after ESAPI's resubmissions" 0x922 \
	tt "$T11_TMP/none.profile" tpm2_getrandom 8
n1=$(reads)
if [ "$n1" = "$n0" ]; then ok "retry 100%: none of tpm2_getrandom's tries reached the TPM"
else not_ok "retry 100%: swtpm saw $((n1 - n0)) commands"; fi

for f in yielded:0x908 testing:0x90a; do
	out=$(TPM11_PROFILE_FAULTS=${f%:*}:1 send "$T11_TMP/none.profile" "$GETRANDOM")
	if [ "$out" = "1 rc=${f#*:}" ]; then ok "${f%:*} 100%: the command is answered ${f#*:}"
	else not_ok "${f%:*} 100%: got '$out'"; fi
done

n0=$(reads)
out=$(TPM11_PROFILE_FAULTS=nv_rate:1 send "$T11_TMP/none.profile" "$GETRANDOM")
n1=$(reads)
TPM11_PROFILE_FAULTS=nv_rate:1 expect_rc "nv_rate 100%: tpm2_nvdefine is TPM_RC_NV_RATE" 0x920 \
	tt "$T11_TMP/none.profile" tpm2_nvdefine 0x1500016 -C o -s 8 -a "ownerread|ownerwrite"
if [ "$out" = "1 rc=0x0" ] && [ -z "$(tpm2_getcap handles-nv-index)" ] && [ "$n1" = $((n0 + 1)) ]; then
	ok "nv_rate 100%: GetRandom (no NV write) goes through; no NV index was defined"
else not_ok "nv_rate 100%: GetRandom '$out', NV indices: $(tpm2_getcap handles-nv-index | tr '\n' ' ')"; fi

gr30=(); for _ in $(seq 30); do gr30+=("$GETRANDOM"); done
faults30=retry:0.1,yielded:0.1,testing:0.1
TPM11_PROFILE_FAULTS=$faults30 TPM11_PROFILE_SEED=42 send "$T11_TMP/none.profile" "${gr30[@]}" >"$T11_TMP/run1"
TPM11_PROFILE_FAULTS=$faults30 TPM11_PROFILE_SEED=42 send "$T11_TMP/none.profile" "${gr30[@]}" >"$T11_TMP/run2"
TPM11_PROFILE_FAULTS=$faults30 TPM11_PROFILE_SEED=43 send "$T11_TMP/none.profile" "${gr30[@]}" >"$T11_TMP/run3"
nf=$(grep -cv 'rc=0x0$' "$T11_TMP/run1")
if cmp -s "$T11_TMP/run1" "$T11_TMP/run2" && ! cmp -s "$T11_TMP/run1" "$T11_TMP/run3" &&
	[ "$nf" -gt 0 ] && [ "$nf" -lt 30 ]; then
	ok "seed 42, 30% faults: two runs give the same sequence ($nf faults in 30), seed 43 another"
else not_ok "seed 42, 30% faults: runs differ or no faults ($nf)"; paste "$T11_TMP/run1" "$T11_TMP/run2" "$T11_TMP/run3" | sed 's/^/# /'; fi

TPM11_PROFILE_FAULTS=cut:1 tt "$T11_TMP/none.profile" tpm2_getrandom 8 >"$T11_TMP/cut.out" 2>&1
rc=$?
if [ "$rc" -ge 1 ] && [ "$rc" -lt 128 ] && grep -q 'not long enough' "$T11_TMP/cut.out"; then
	ok "cut: tpm2_getrandom reports the short response as an error (exit $rc), no crash"
else not_ok "cut: tpm2_getrandom exit $rc"; sed 's/^/# /' "$T11_TMP/cut.out" | tail -5; fi

# Seed 3 draws a drop, then no fault, at drop:0.5 (the generator is fixed).
: >"$PLOG"
out=$(TPM11_PROFILE_FAULTS=drop:0.5 TPM11_PROFILE_SEED=3 send "$T11_TMP/none.profile" "$GETRANDOM" "$GETRANDOM" | tr '\n' ' ')
if [ "$out" = "1 tcti=0xa000a 2 rc=0x0 " ] && logged '^1 GetRandom drop$' && logged '^2 GetRandom sent rc=0x0'; then
	ok "drop: the command fails with the TCTI's IO error, the next one reconnects and works"
else not_ok "drop: got '$out'"; sed 's/^/# /' "$PLOG"; fi
TPM11_PROFILE_FAULTS=drop:1 expect_rc "drop: tpm2_getrandom fails with TSS2_TCTI_RC_IO_ERROR" 0xa000a \
	tt "$T11_TMP/none.profile" tpm2_getrandom 8
check "drop: the next tpm2_getrandom works" tt "$T11_TMP/none.profile" tpm2_getrandom 8

# --- profiles -------------------------------------------------------------------
for f in "$PROFILES"/*.profile; do
	name=$(basename "$f" .profile)
	check "profile $name loads and answers" tt "$name" tpm2_getcap properties-fixed
done
printf '# a comment\nmax-transient 3\nlatncy Sign 5\n' >"$T11_TMP/bad.profile"
if ! tt "$T11_TMP/bad.profile" tpm2_getcap ecc-curves >"$T11_TMP/bad.out" 2>&1 &&
	grep -q "tpmprofile: $T11_TMP/bad.profile:3: unknown key 'latncy'" "$T11_TMP/bad.out"; then
	ok "an unknown key fails initialisation, naming the file, line and key"
else not_ok "an unknown key fails initialisation, naming the file, line and key"; sed 's/^/# /' "$T11_TMP/bad.out" | head -3; fi
printf 'latency Sign soon\n' >"$T11_TMP/bad2.profile"
if ! tt "$T11_TMP/bad2.profile" tpm2_getcap ecc-curves >"$T11_TMP/bad.out" 2>&1 &&
	grep -q "tpmprofile: $T11_TMP/bad2.profile:1: latency:" "$T11_TMP/bad.out"; then
	ok "a bad value fails initialisation, naming the file, line and key"
else not_ok "a bad value fails initialisation, naming the file, line and key"; sed 's/^/# /' "$T11_TMP/bad.out" | head -3; fi
if ! TPM11_PROFILE_FAULTS=retry=1 tt minimal tpm2_getcap ecc-curves >"$T11_TMP/bad.out" 2>&1 &&
	grep -q "tpmprofile: TPM11_PROFILE_FAULTS='retry=1'" "$T11_TMP/bad.out"; then
	ok "a bad TPM11_PROFILE_FAULTS fails initialisation with a message"
else not_ok "a bad TPM11_PROFILE_FAULTS fails initialisation with a message"; fi

flush_all
check "the TPM is clean (no transient objects, no loaded sessions)" tpm_is_clean
t11_done
