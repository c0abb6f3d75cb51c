#!/usr/bin/env bash
# t11-modes: direct -- doctor starts the TPMs its cases need itself (a swtpm behind tpm2-abrmd, direct swtpms), whatever the mode
# tpm11 doctor (issue 15 item 5): a healthy set-up (swtpm behind
# tpm2-abrmd, a store with a token and a key, p11-kit's module directory
# naming the built module, an ssh-agent that allows it) exits 0 and its
# --json parses, every check ok but the software-TPM warning; then each
# broken set-up exits 1 with the right FAIL line and its fix: no TPM, a
# store of another user, a group-writable store, a model-1 store, a
# 0-byte store, a TPM in lockout (its own swtpm), objects left loaded in a
# direct swtpm (one; then the TPM full of them, which tpm11 itself frees
# and doctor only reports), a token whose NV index was removed, a p11-kit module file
# naming a missing path, an ssh-agent that refuses the module. Doctor
# changes nothing: the store's bytes and the TPM's handles are the same
# afterwards.
#
# p11-kit's module directories are shown a directory of the test's own
# through scripts/p11kit-ns (a private mount namespace; nothing outside
# changes); where that cannot be made, the p11-kit checks are skipped.
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

T=$TPM11_TOOL
SO=doctor-so-pin-1122
UP=doctor-user-pin-3344
NS=$T11_SRC/scripts/p11kit-ns
MOD=$(realpath "$TPM11_MODULE")

# doctor TAG [VAR=VALUE...] [-- ARGS...]: runs `tpm11 doctor` (text, then
# --json) in p11-kit's test view when there is one; the output in
# $T11_TMP/doc.TAG.txt and .json, statuses in drc (text) and jrc (json).
P11DIR=$T11_TMP/p11-modules
mkdir -p "$P11DIR"
have_ns=0
"$NS" "$P11DIR" true 2>"$T11_TMP/ns.err" && have_ns=1
doctor() {
	local tag=$1 envs=() args=()
	shift
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
	[ "${1:-}" = "--" ] && { shift; args=("$@"); }
	local pre=()
	[ "$have_ns" = 1 ] && pre=("$NS" "$P11DIR")
	env "${envs[@]}" "${pre[@]}" "$T" doctor "${args[@]}" </dev/null \
		>"$T11_TMP/doc.$tag.txt" 2>"$T11_TMP/doc.$tag.err"
	drc=$?
	env "${envs[@]}" "${pre[@]}" "$T" doctor --json "${args[@]}" </dev/null \
		>"$T11_TMP/doc.$tag.json" 2>>"$T11_TMP/doc.$tag.err"
	jrc=$?
}
show() {
	sed 's/^/# /' "$T11_TMP/doc.$1.txt" | head -n 40
	sed 's/^/# err: /' "$T11_TMP/doc.$1.err" | head -n 10
}
# jq-like questions about the JSON: jcheck TAG NAME STATUS DETAIL_RE FIX_RE
# succeeds when a check NAME has STATUS, its detail matches DETAIL_RE and
# its fix FIX_RE (Python regular expressions, searched).
jcheck() {
	python3 - "$T11_TMP/doc.$1.json" "${@:2}" <<'EOF'
import json, re, sys
doc = json.load(open(sys.argv[1]))
name, status, dre, fre = sys.argv[2:6]
for c in doc["checks"]:
    if c["name"] == name and c["status"] == status and re.search(dre, c["detail"]) and re.search(fre, c["fix"]):
        sys.exit(0)
print("no check %s/%s matching /%s/ /%s/ in:" % (name, status, dre, fre))
for c in doc["checks"]:
    print("  %s %s: %s | fix: %s" % (c["status"], c["name"], c["detail"], c["fix"]))
sys.exit(1)
EOF
}
# broken TAG NAME DETAIL_RE FIX_RE: the run TAG exited 1 (text and JSON),
# its text has the FAIL line of NAME followed by a fix line, and the JSON
# agrees.
broken() {
	local tag=$1 name=$2 dre=$3 fre=$4
	if [ "$drc" = 1 ] && [ "$jrc" = 1 ]; then ok "$tag: doctor exits 1"
	else not_ok "$tag: doctor exits 1 (text $drc, json $jrc)"; show "$tag"; fi
	if grep -A1 -E "^FAIL +$name +.*$dre" "$T11_TMP/doc.$tag.txt" | grep -qE "^ +fix: .*$fre"; then
		ok "$tag: FAIL $name: /$dre/, with its fix /$fre/"
	else not_ok "$tag: FAIL $name: /$dre/, with its fix /$fre/"; show "$tag"; fi
	if jcheck "$tag" "$name" fail "$dre" "$fre" >"$T11_TMP/jc" 2>&1; then ok "$tag: --json says the same"
	else not_ok "$tag: --json says the same"; sed 's/^/# /' "$T11_TMP/jc"; fi
}

# --- a healthy set-up ---------------------------------------------------------
swtpm_start "$T11_TMP/tpm" || { not_ok "swtpm starts"; t11_done; exit 1; }
DIRECT=$TPM11_TCTI
abrmd_start "$T11_TMP/tpm" || { not_ok "tpm2-abrmd starts"; t11_done; exit 1; }
check "init" "$T" init
check "addtoken" "$T" addtoken --label PKI --sopin "$SO" --userpin "$UP"
check "addkey" "$T" addkey --algorithm ecc256 --label PKI --key-label ssh --userpin "$UP"
printf 'module: %s\n' "$MOD" >"$P11DIR/tpm11.module"
agent_start "$T11_TMP/agent" || not_ok "ssh-agent starts"

sum_before=$(cat "$TPM11_STORE"/tpm11.sqlite3* | sha256sum)
doctor healthy
if [ "$drc" = 0 ] && [ "$jrc" = 0 ]; then ok "healthy: doctor exits 0"
else not_ok "healthy: doctor exits 0 (text $drc, json $jrc)"; show healthy; fi
check "healthy: --json parses (python3 -m json.tool)" python3 -m json.tool "$T11_TMP/doc.healthy.json"
sed 's/^/# /' "$T11_TMP/doc.healthy.txt"
if [ "$have_ns" = 1 ]; then
	want="tcti resource-manager tpm tpm-algorithms lockout leftovers store store-schema store-integrity tpm-primary tokens token-pins p11-kit module ssh-agent"
else
	want="tcti resource-manager tpm tpm-algorithms lockout leftovers store store-schema store-integrity tpm-primary tokens token-pins module ssh-agent"
	ok "healthy: p11-kit's module directory shown to doctor # SKIP no private mount namespace: $(head -1 "$T11_TMP/ns.err")"
fi
if python3 - "$T11_TMP/doc.healthy.json" "$want" >"$T11_TMP/jc" 2>&1 <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
want = sys.argv[2].split()
names = [c["name"] for c in doc["checks"]]
bad = []
for w in want:
    if w not in names:
        bad.append("missing check " + w)
for c in doc["checks"]:
    for k in ("name", "status", "detail", "fix"):
        if not isinstance(c.get(k), str):
            bad.append("%s: %s is not a string" % (c.get("name"), k))
    # the one warning a healthy set-up on swtpm has: a software TPM
    expect = "warn" if c["name"] == "tpm" else "ok"
    if c["status"] != expect:
        bad.append("%s is %s (%s)" % (c["name"], c["status"], c["detail"]))
if doc.get("schema") != 1 or doc.get("healthy") is not True or doc.get("problems") != 0 or doc.get("warnings") != 1:
    bad.append("top level: %r" % {k: v for k, v in doc.items() if k != "checks"})
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
then ok "healthy: every check ok but the software-TPM warning, with the schema's fields"
else not_ok "healthy: every check ok but the software-TPM warning, with the schema's fields"; sed 's/^/# /' "$T11_TMP/jc"; fi
if jcheck healthy tcti ok 'tabrmd:.*bus_type=session \(set by TPM11_TCTI\)' '^$' >/dev/null &&
	jcheck healthy resource-manager ok 'tpm2-abrmd' '' >/dev/null &&
	jcheck healthy tpm warn 'software TPM' 'device:/dev/tpmrm0' >/dev/null &&
	jcheck healthy tokens ok 'token "PKI" .*1 key' '' >/dev/null &&
	jcheck healthy token-pins ok 'token "PKI": its PIN indices 0x[0-9a-f]{8} \(user\)' '' >/dev/null &&
	jcheck healthy store-schema ok 'schema 3' '' >/dev/null &&
	jcheck healthy ssh-agent ok "accepts $MOD" '' >/dev/null; then
	ok "healthy: the details name the TCTI and why, the resource manager, the software TPM, the token, its PIN indices, the schema, the agent"
else not_ok "healthy: the details name what they should"; show healthy; fi
if [ "$have_ns" = 1 ]; then
	if jcheck healthy p11-kit ok "tpm11.module -> $MOD" '' >/dev/null; then ok "healthy: p11-kit's tpm11.module is found"
	else not_ok "healthy: p11-kit's tpm11.module is found"; show healthy; fi
fi
sum_after=$(cat "$TPM11_STORE"/tpm11.sqlite3* | sha256sum)
if [ "$sum_before" = "$sum_after" ]; then ok "doctor changed no byte of the store"
else not_ok "doctor changed no byte of the store"; fi
if TPM2TOOLS_TCTI="$DIRECT" tpm_is_clean >"$T11_TMP/clean" 2>&1; then ok "doctor left nothing loaded in the TPM"
else not_ok "doctor left nothing loaded in the TPM"; sed 's/^/# /' "$T11_TMP/clean"; fi

# --- no TPM: reported, and the store is still checked ---------------------------------
doctor notpm TPM11_TCTI="swtpm:path=$T11_TMP/no-tpm.sock"
broken notpm tcti 'no TPM reachable through TCTI swtpm:path=.*no-tpm\.sock' 'set TPM11_TCTI to one that runs'
if jcheck notpm store-schema ok 'schema 3' '' >/dev/null && jcheck notpm tokens ok 'token "PKI"' '' >/dev/null; then
	ok "notpm: the store and its tokens are still checked"
else not_ok "notpm: the store and its tokens are still checked"; show notpm; fi
if grep -q CRITICAL "$T11_TMP/doc.notpm.err"; then not_ok "notpm: nothing on stderr from the TCTI"; show notpm
else ok "notpm: nothing on stderr from the TCTI"; fi

# --- stores that tpm11 refuses --------------------------------------------------------
# copy_store NAME: a copy of the healthy store in $T11_TMP/NAME.
copy_store() { rm -rf "${T11_TMP:?}/$1"; cp -a "$TPM11_STORE" "$T11_TMP/$1"; }

copy_store gw
chmod 660 "$T11_TMP/gw/tpm11.sqlite3"
doctor groupwritable TPM11_STORE="$T11_TMP/gw"
broken groupwritable store 'tpm11\.sqlite3 is writable by others \(mode 0660\)' 'chmod 600 .*gw/tpm11\.sqlite3'

if [ "$(id -u)" = 0 ]; then
	copy_store other
	chown -R nobody "$T11_TMP/other"
	doctor otheruser TPM11_STORE="$T11_TMP/other"
	broken otheruser store 'belongs to nobody \(uid [0-9]+\), not to you' 'set TPM11_STORE \(or --store\) to a directory of yours'
else
	ok "a store of another user # SKIP not root (chown)"
fi

copy_store model1
check "a model-1 store (schema 1)" sqlite3 "$T11_TMP/model1/tpm11.sqlite3" "PRAGMA user_version=1;"
doctor model1 TPM11_STORE="$T11_TMP/model1"
broken model1 store-schema "holds 1 token of tpm11's first key model \\(schema 1\\)" 'run `tpm11 migrate`'

copy_store empty
rm -f "$T11_TMP/empty"/tpm11.sqlite3-*
: >"$T11_TMP/empty/tpm11.sqlite3"
doctor empty TPM11_STORE="$T11_TMP/empty"
broken empty store-schema 'is empty \(0 bytes\)' 'restore the file from a backup \(docs/design\.md, "Backing up a store"\)'

doctor nostore TPM11_STORE="$T11_TMP/no-store-here"
broken nostore store 'no-store-here: no store here' '`tpm11 init` makes it'

# --- an ssh-agent that refuses the module ----------------------------------------------
out=$(ssh-agent -s -a "$T11_TMP/agent2.sock" -P '/usr/lib*/*' </dev/null)
pid2=$(printf '%s\n' "$out" | sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p')
t11_own_pid "$pid2"
doctor agent SSH_AGENT_PID="$pid2" SSH_AUTH_SOCK="$T11_TMP/agent2.sock"
broken agent ssh-agent "ssh-agent \\(PID $pid2\\) refuses $MOD \\(allow-list /usr/lib\\*/\\*\\)" "start ssh-agent with -P '$MOD'"

# --- a p11-kit module file that names a missing path ---------------------------------------
if [ "$have_ns" = 1 ]; then
	printf 'module: %s\n' "$T11_TMP/gone/libtpm11.so" >"$P11DIR/tpm11.module"
	doctor p11kit -- --module "$MOD"
	broken p11kit p11-kit "tpm11\\.module names .*gone/libtpm11\\.so, which does not exist" 'install the module again'
	printf 'module: %s\n' "$MOD" >"$P11DIR/tpm11.module"
else
	ok "a p11-kit module file naming a missing path # SKIP $(head -1 "$T11_TMP/ns.err")"
fi

# --- a TPM in lockout, its own swtpm --------------------------------------------------------
export TPM11_STORE=$T11_TMP/store-da
T11_DA_DEFAULTS=1 swtpm_start "$T11_TMP/tpm-da" || { not_ok "swtpm starts"; t11_done; exit 1; }
check "a TPM with max-tries 1, recovery 1000 s" tpm2_dictionarylockout --setup-parameters \
	--max-tries=1 --recovery-time=1000 --lockout-recovery-time=1000
check "addtoken" "$T" addtoken --label DA --sopin "$SO" --userpin "$UP"
check_fails "a wrong PIN" "$T" verify --label DA --userpin wrong-pin-0
doctor lockout
broken lockout lockout 'locked out for at most 1000 s more \(1 failure counted, 1 allowed' 'tpm2_dictionarylockout --clear-lockout'
swtpm_stop "$T11_TMP/tpm-da"

# --- a direct swtpm: leftover objects, then a token whose NV index is gone ------------------------
export TPM11_STORE=$T11_TMP/store-direct
swtpm_start "$T11_TMP/tpm-direct" || { not_ok "swtpm starts"; t11_done; exit 1; }
check "addtoken" "$T" addtoken --label GONE --sopin "$SO" --userpin "$UP"
check "a primary left loaded by tpm2_createprimary" tpm2_createprimary -Q -C o -c "$T11_TMP/primary.ctx"
doctor leftovers
broken leftovers leftovers '1 transient object and 0 sessions are loaded \(0x80[0-9a-f]{6}\)' 'tpm2_flushcontext --transient-object'
if jcheck leftovers resource-manager warn 'reaches the TPM directly' 'tpm2-abrmd' >/dev/null; then
	ok "leftovers: a direct swtpm is named as having no resource manager"
else not_ok "leftovers: a direct swtpm is named as having no resource manager"; show leftovers; fi
if [ -n "$(tpm2_getcap handles-transient)" ]; then ok "leftovers: doctor flushed nothing of another program's"
else not_ok "leftovers: doctor flushed nothing of another program's"; fi
# A TPM full of leftovers (swtpm holds 3): doctor says the slots are taken,
# not that the primary key is gone, and still flushes nothing; tpm11
# itself then frees them when it needs a slot.
check "two more primaries left loaded: the TPM is full" bash -c \
	'tpm2_createprimary -Q -C o -c "$1/p2.ctx" && tpm2_createprimary -Q -C o -c "$1/p3.ctx"' _ "$T11_TMP"
doctor full
broken full tpm-primary 'no free object slot to read the primary key 0x81000001 \(0x902' 'free the slots'
if grep -q "is not in this TPM" "$T11_TMP/doc.full.txt"; then not_ok "full: not mistaken for a missing primary key"; show full
else ok "full: not mistaken for a missing primary key"; fi
if [ "$(tpm2_getcap handles-transient | grep -c 0x80)" = 3 ]; then ok "full: doctor flushed nothing"
else not_ok "full: doctor flushed nothing"; fi
check "full: tpm11 verify frees the leftovers and works" "$T" verify --label GONE --userpin "$UP"
check "full: ... and left the TPM clean" tpm_is_clean
nv=$(tpm2_getcap handles-nv-index | sed -n 's/^- \(0x131[0-9A-Fa-f]*\).*/\1/p' | head -1)
nv=$(printf '0x%08x' "$nv")
check "the token's first PIN index ($nv) removed with tpm2_nvundefine" tpm2_nvundefine -C o "$nv"
doctor nvgone
broken nvgone token-pins "token \"GONE\": .*index $nv is not in this TPM" 'tpm11 rmtoken --label GONE'
check "TPM clean" tpm_is_clean
t11_done
