#!/usr/bin/env bash
# t11-modes: direct -- completion reads the store, never the TPM
# Bash completion (tools/tpm11/tpm11.bash), driven as bash drives it: the
# script is sourced, COMP_WORDS/COMP_CWORD are set, _tpm11 is called and
# COMPREPLY is checked. Commands and flags must be what `tpm11 --help` and
# `tpm11 COMMAND --help` list (for every command); token and key labels
# come from a store with two tokens, read with the TPM gone (TPM11_TCTI
# pointing nowhere): listtokens, listobjects and ssh-pubkey need no TPM.
. "$(dirname "$0")/../lib/common.sh"
. "$T11_SRC/tests/lib/help.sh"
t11_require_build
# Under valgrind each of the tool's many --help and listing runs takes a
# second or more (minutes in all) and checks only code that tool.sh runs
# under valgrind already; the plain and asan passes run this test.
if [ "${T11_SANITIZE:-}" = valgrind ]; then
	ok "completion # SKIP compares texts; runs in the plain and asan passes"
	t11_done; exit 0
fi

SCRIPT=$T11_SRC/tools/tpm11/tpm11.bash
SO_PIN=compl-so-1234
USER_PIN=compl-user-5678

# complete WORD...: COMPREPLY for the command line "tpm11 WORD..." with the
# cursor at the end of the last word, one entry per line, sorted. Runs in
# a fresh bash with only the completion script sourced, with
# $T11_COMPL_ENV (one VAR=VALUE) added to its environment.
complete_line() {
	env ${T11_COMPL_ENV:+"$T11_COMPL_ENV"} bash -c '
		source "$1" || exit 1
		shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_tpm11 tpm11 "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" || exit 1
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"
	' complete "$SCRIPT" "$TPM11_TOOL" "$@" </dev/null | sort
}
# expect NAME "WANT LINES" WORD...: the completion equals WANT (lines, sorted).
expect() {
	local name=$1 want got
	want=$(printf '%s\n' "$2" | grep . | sort)
	shift 2
	got=$(complete_line "$@")
	if [ "$got" = "$want" ]; then ok "$name"
	else
		not_ok "$name"
		diag "tpm11 $* <TAB>"
		diag "want: $(echo $want)"
		diag "got:  $(echo $got)"
	fi
}

if bash -n "$SCRIPT"; then ok "tpm11.bash parses"; else not_ok "tpm11.bash parses"; t11_done; exit 1; fi

# --- a store with two tokens and three keys ------------------------------
swtpm_start "$T11_TMP/tpm" || { not_ok "swtpm starts"; t11_done; exit 1; }
check "tpm11 init" "$TPM11_TOOL" init
check "addtoken PKI" "$TPM11_TOOL" addtoken --label PKI --sopin "$SO_PIN" --userpin "$USER_PIN"
check "addtoken 'Two Words'" "$TPM11_TOOL" addtoken --label "Two Words" --sopin "$SO_PIN" --userpin "$USER_PIN"
check "addkey PKI ssh" "$TPM11_TOOL" addkey --algorithm ecc256 --label PKI --key-label ssh --userpin "$USER_PIN"
check "addkey PKI 'web key'" "$TPM11_TOOL" addkey --algorithm ecc256 --label PKI --key-label "web key" --userpin "$USER_PIN"
check "addkey 'Two Words' other" "$TPM11_TOOL" addkey --algorithm ecc256 --label "Two Words" --key-label other --userpin "$USER_PIN"
check "TPM clean" tpm_is_clean

# --- no TPM from here on ---------------------------------------------------
swtpm_stop "$T11_TMP/tpm"
export TPM11_TCTI="swtpm:path=$T11_TMP/nowhere.sock"
export TPM2TOOLS_TCTI=$TPM11_TCTI
diag "TPM11_TCTI=$TPM11_TCTI (no TPM there)"
check_fails "with the TPM gone, a command that needs it fails (verify)" \
	"$TPM11_TOOL" verify --label PKI --userpin "$USER_PIN"
if out=$("$TPM11_TOOL" listtokens 2>&1) && grep -qx -- "- label: PKI" <<<"$out" &&
	grep -qx -- "- label: Two Words" <<<"$out"; then
	ok "listtokens works without a TPM and lists both tokens"
else
	not_ok "listtokens works without a TPM and lists both tokens"; sed 's/^/# /' <<<"$out"
fi
if out=$("$TPM11_TOOL" listobjects --label PKI 2>&1) && grep -qx -- "- label: web key" <<<"$out"; then
	ok "listobjects works without a TPM"
else
	not_ok "listobjects works without a TPM"; sed 's/^/# /' <<<"$out"
fi
if out=$("$TPM11_TOOL" ssh-pubkey --label PKI 2>&1) && [ "$(grep -c '^ecdsa-sha2-nistp256 ' <<<"$out")" = 2 ]; then
	ok "ssh-pubkey works without a TPM"
else
	not_ok "ssh-pubkey works without a TPM"; sed 's/^/# /' <<<"$out"
fi

# --- commands and flags ----------------------------------------------------
cmds=$(t11_help_commands)
expect "tpm11 <TAB>: the commands of tpm11 --help" "$cmds" ""
expect "tpm11 add<TAB>" $'addtoken\naddkey\naddcert' add
expect "tpm11 ak <TAB>: ak's subcommands" "$(t11_help_commands ak)" ak ""
expect "tpm11 addkey --<TAB>: addkey's flags" "$(t11_help_flags addkey)" addkey --
expect "tpm11 addkey --key<TAB>" "--key-label" addkey --key
expect "flags after other flags and values" "$(t11_help_flags addkey)" --store "$TPM11_STORE" addkey --label PKI --no-login --
# every command's flags, so the lists cannot drift
bad=""
for c in $cmds; do
	if [ -n "$(t11_help_commands "$c")" ]; then
		for s in $(t11_help_commands "$c"); do
			[ "$(complete_line "$c" "$s" --)" = "$(t11_help_flags "$c" "$s" | sort)" ] || bad+=" $c-$s"
		done
	else
		[ "$(complete_line "$c" --)" = "$(t11_help_flags "$c" | sort)" ] || bad+=" $c"
	fi
done
if [ -z "$bad" ]; then ok "COMMAND --<TAB> lists the flags of COMMAND --help, for every command"
else not_ok "COMMAND --<TAB> lists the flags of COMMAND --help, for:$bad"; fi

# --- labels from the store ---------------------------------------------------
expect "addkey --label <TAB>: both tokens" $'PKI\nTwo\\ Words' addkey --label ""
expect "addkey --label T<TAB>" 'Two\ Words' addkey --label T
expect "addkey --label=<TAB>" $'PKI\nTwo\\ Words' addkey --label = ""
expect "--key-label <TAB> after --label PKI: PKI's keys" $'ssh\nweb\\ key' rmkey --label PKI --key-label ""
expect "--key-label <TAB> after --label \"Two Words\"" other rmkey --label '"Two Words"' --key-label ""
expect "--key-label <TAB> after --label Two\\ Words" other rmkey --label 'Two\ Words' --key-label ""
expect "--key-label w<TAB>" 'web\ key' ssh-pubkey --label PKI --key-label w
expect "--key-label <TAB> without --label: every token's keys" $'ssh\nweb\\ key\nother' rmkey --key-label ""
T11_COMPL_ENV=TPM11_STORE=$T11_TMP/no-store
expect "--label <TAB> reads the store that --store names" $'PKI\nTwo\\ Words' --store "$TPM11_STORE" listobjects --label ""
expect "--label <TAB> without a store: nothing" "" listobjects --label ""
T11_COMPL_ENV=
check "completing made no store where there was none" test ! -e "$T11_TMP/no-store"

# --- flag values -----------------------------------------------------------------
expect "addkey --userpin <TAB>: no PIN offered" "" addkey --label PKI --userpin ""
# values the script knows: each must be one that the flag's --help line names
for spec in "addkey --algorithm" "ak create --algorithm" "changepin --user" "attest --format"; do
	# shellcheck disable=SC2086
	vals=$(complete_line $spec "")
	line=$(t11_help_line $spec)
	miss=""
	for v in $vals; do grep -qw -- "$v" <<<"$line" || miss+=" $v"; done
	if [ -n "$vals" ] && [ -z "$miss" ]; then ok "$spec <TAB>: $(echo $vals), each named by --help"
	else not_ok "$spec <TAB>: '$(echo $vals)' not all in '$line' (missing:$miss)"; fi
done
expect "addkey --algorithm ecc<TAB>" $'ecc256\necc384' addkey --algorithm ecc
mkdir -p "$T11_TMP/files/sub" && touch "$T11_TMP/files/cert.pem"
got=$(complete_line addcert --label PKI --key-label ssh "$T11_TMP/files/c")
if [ "$got" = "$T11_TMP/files/cert.pem" ]; then ok "addcert FILE<TAB> completes a file"
else not_ok "addcert FILE<TAB> completes a file (got '$got')"; fi
got=$(complete_line --store "$T11_TMP/files/")
if [ "$got" = "$T11_TMP/files/sub" ]; then ok "--store <TAB>: directories"
else not_ok "--store <TAB>: directories (got '$got')"; fi
t11_done
