#!/usr/bin/env bash
# The tool's messages where a new user met wrong or missing ones (issue 15
# item 7): the lockout message names the TPM's own recovery time (a TPM
# of its own: max-tries 1, recovery 1000 s); a second key with the same
# --key-label or --id is refused at addkey, and keys that share a label
# (made through PKCS#11, where labels may repeat) make every command say
# how to pick one; --version/-V are in the help; a failed init or addtoken
# leaves no store behind; an explicit tabrmd TCTI with no bus says so
# without GLib's CRITICAL line. Runs once per TPM mode (tests/run,
# T11_TPM_MODE).
. "$(dirname "$0")/../lib/common.sh"
t11_require_build

T=$TPM11_TOOL
SO=msg-so-pin-2468
UP=msg-user-pin-1357

run() { "$@" </dev/null >"$T11_TMP/out" 2>"$T11_TMP/err"; rc=$?; }
show() { sed 's/^/# out: /' "$T11_TMP/out" | head -n 10; sed 's/^/# err: /' "$T11_TMP/err" | head -n 10; }
# expect NAME RC-TEST REGEX CMD...: the exit status passes `test "$rc" RC-TEST`
# (e.g. "= 0", "!= 0") and stdout+stderr match REGEX.
expect() {
	local name=$1 rct=$2 re=$3; shift 3
	run "$@"
	# shellcheck disable=SC2086
	if test "$rc" $rct && cat "$T11_TMP/out" "$T11_TMP/err" | grep -qE -- "$re"; then ok "$name"
	else not_ok "$name (exit $rc, want $rct and /$re/)"; show; fi
}

# --- --version, -V ------------------------------------------------------------
# the version meson.build's project() names (version.h; one source)
MVER=$(sed -n "s/^ *version : '\([0-9.]*\)',.*/\1/p" "$T11_SRC/meson.build" | head -n 1)
expect "tpm11 --version prints meson.build's version ($MVER)" "= 0" "^tpm11 ${MVER//./\\.}\$" "$T" --version
expect "tpm11 -V prints the version" "= 0" '^tpm11 [0-9]+\.[0-9]+' "$T" -V
expect "tpm11 --help lists -V, --version" "= 0" '^  -V, --version ' "$T" --help
expect "tpm11 --help lists doctor" "= 0" '^  doctor ' "$T" --help

# --- a failed init or addtoken leaves no store ----------------------------------
DEAD="swtpm:path=$T11_TMP/no-tpm.sock"
for cmd in "init" "addtoken --label X --sopin $SO --userpin $UP"; do
	store=$T11_TMP/nostore-${cmd%% *}/store
	# shellcheck disable=SC2086
	expect "$cmd with no TPM reachable fails naming the TCTI" "!= 0" "no-tpm\.sock" \
		env TPM11_TCTI="$DEAD" TPM11_STORE="$store" "$T" $cmd
	if [ ! -e "$store" ] && [ ! -e "${store%/store}" ]; then ok "$cmd with no TPM reachable leaves no store directory"
	else not_ok "$cmd with no TPM reachable leaves no store directory"; find "${store%/store}" | sed 's/^/# left: /'; fi
done
mkdir -p "$T11_TMP/emptydir"; chmod 700 "$T11_TMP/emptydir"
expect "init into an existing empty directory with no TPM fails" "!= 0" "no-tpm\.sock" \
	env TPM11_TCTI="$DEAD" TPM11_STORE="$T11_TMP/emptydir" "$T" init
if [ -z "$(ls -A "$T11_TMP/emptydir")" ]; then ok "... and writes no database into it"
else not_ok "... and writes no database into it"; ls -A "$T11_TMP/emptydir" | sed 's/^/# left: /'; fi

# --- tabrmd with no bus: a sentence, no GLib CRITICAL ------------------------------
store=$T11_TMP/busstore
expect "--tcti tabrmd:bus_type=session without a session bus says so" "!= 0" \
	"no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set" \
	env -u DBUS_SESSION_BUS_ADDRESS TPM11_STORE="$store" "$T" --tcti tabrmd:bus_type=session init
if grep -q CRITICAL "$T11_TMP/err"; then not_ok "... and no GLib CRITICAL line"; show; else ok "... and no GLib CRITICAL line"; fi
expect "--tcti tabrmd:bus_type=session with a bus address whose socket is gone says so" "!= 0" \
	"no D-Bus session bus: .*gone\.sock does not exist" \
	env DBUS_SESSION_BUS_ADDRESS="unix:path=$T11_TMP/gone.sock" TPM11_STORE="$store" \
	"$T" --tcti tabrmd:bus_type=session init
if grep -q CRITICAL "$T11_TMP/err"; then not_ok "... and no GLib CRITICAL line"; show; else ok "... and no GLib CRITICAL line"; fi
expect "--tcti tabrmd (system bus) with DBUS_SYSTEM_BUS_ADDRESS gone says so" "!= 0" \
	"no D-Bus system bus: .*gone-system\.sock does not exist" \
	env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T11_TMP/gone-system.sock" TPM11_STORE="$store" \
	"$T" --tcti tabrmd init
if grep -q CRITICAL "$T11_TMP/err"; then not_ok "... and no GLib CRITICAL line"; show; else ok "... and no GLib CRITICAL line"; fi

# --- the lockout message: the TPM's recovery time -------------------------------------
export TPM11_STORE=$T11_TMP/store-da
T11_DA_DEFAULTS=1 t11_tpm_start "$T11_TMP/tpm-da" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
check "a TPM with max-tries 1 and a recovery time of 1000 s" \
	tpm2_dictionarylockout --setup-parameters --max-tries=1 --recovery-time=1000 \
	--lockout-recovery-time=1000
check "addtoken" "$T" addtoken --label DA --sopin "$SO" --userpin "$UP"
expect "the wrong PIN says no failure is left" "!= 0" "wrong user PIN .*allows 0 more failures" \
	"$T" verify --label DA --userpin wrong-pin-1
expect "in lockout the message names at most 1000 s, read from the TPM" "!= 0" \
	"dictionary-attack lockout .*in at most 1000 s \(about 17 min\).*forgets one failure every 1000 s" \
	"$T" verify --label DA --userpin "$UP"
if grep -q "wait 0 s" "$T11_TMP/err"; then not_ok "... and never 'wait 0 s'"; show; else ok "... and never 'wait 0 s'"; fi
expect "... and it names the owner's way out" "!= 0" "tpm2_dictionarylockout --clear-lockout" \
	"$T" verify --label DA --userpin "$UP"
t11_tpm_stop "$T11_TMP/tpm-da"

# --- duplicate key labels and ids ------------------------------------------------------
export TPM11_STORE=$T11_TMP/store-dup
t11_tpm_start "$T11_TMP/tpm-dup" || { not_ok "TPM starts ($(t11_tpm_mode))"; t11_done; exit 1; }
check "addtoken" "$T" addtoken --label PKI --sopin "$SO" --userpin "$UP"
check "addkey ssh" "$T" addkey --algorithm ecc256 --label PKI --key-label ssh --id 0a0b --userpin "$UP"
expect "a second key labelled ssh is refused, naming rmkey" "!= 0" \
	'already has a key labelled "ssh".*tpm11 rmkey --label PKI --key-label ssh' \
	"$T" addkey --algorithm ecc256 --label PKI --key-label ssh --userpin "$UP"
expect "a second key with id 0a0b is refused" "!= 0" 'already has a key with id 0a0b' \
	"$T" addkey --algorithm ecc256 --label PKI --key-label other --id 0a0b --userpin "$UP"
run "$T" listobjects --label PKI
n=$(grep -c '^- label: ssh$' "$T11_TMP/out")
if [ "$n" = 2 ]; then ok "the refused keys were not made (one private and one public object named ssh)"
else not_ok "the refused keys were not made ($n objects named ssh)"; show; fi

# PKCS#11 programs may repeat labels: the tool's commands then say how to
# pick one.
if command -v pkcs11-tool >/dev/null; then
	check "pkcs11-tool makes a key labelled dup" pkcs11-tool --module "$TPM11_MODULE" \
		--token-label PKI --login --pin "$UP" --keypairgen --key-type EC:prime256v1 \
		--label dup --id 01
	check "pkcs11-tool makes another key labelled dup" pkcs11-tool --module "$TPM11_MODULE" \
		--token-label PKI --login --pin "$UP" --keypairgen --key-type EC:prime256v1 \
		--label dup --id 02
	expect "ssh-pubkey --key-label dup lists both ids and names --id" "!= 0" \
		'has 2 keys labelled "dup" \(ids 01 02\); pick one with --id HEX' \
		"$T" ssh-pubkey --label PKI --key-label dup
	expect "rmkey --key-label dup says the same" "!= 0" \
		'has 2 keys labelled "dup" \(ids 01 02\); pick one with --id HEX' \
		"$T" rmkey --label PKI --key-label dup
	expect "csr --key-label dup names --key-id" "!= 0" \
		'has 2 keys labelled "dup" \(ids 01 02\); pick one with --key-id HEX' \
		"$T" csr --label PKI --key-label dup --subject /CN=x --userpin "$UP"
	expect "ssh-pubkey --id 02 picks one" "= 0" '^ecdsa-sha2-nistp256 [A-Za-z0-9+/=]+ dup$' \
		"$T" ssh-pubkey --label PKI --id 02
	expect "doctor warns about the repeated label" "-le 1" \
		'two keys are labelled "dup"' "$T" doctor
else
	for w in "ssh-pubkey lists both ids" "rmkey says the same" "csr names --key-id" "--id picks one" "doctor warns"; do
		ok "duplicate labels through PKCS#11: $w # SKIP pkcs11-tool (opensc) is not installed"
	done
fi
check "TPM clean" tpm_is_clean
t11_done
