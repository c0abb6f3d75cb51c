# What `tpm11 --help` and `tpm11 COMMAND --help` list, for the tests that
# compare other things with it (tests/e2e/manpages.sh, completion.sh).
# Source after common.sh (uses $TPM11_TOOL).

# t11_help_commands [COMMAND]: the commands listed under "commands:" by
# `tpm11 [COMMAND] --help` (ak lists its subcommands), one per line.
t11_help_commands() {
	"$TPM11_TOOL" "$@" --help 2>/dev/null </dev/null |
		awk '$0 == "commands:" { on = 1; next } on && /^$/ { exit } on { print $1 }'
}

# t11_help_flags COMMAND...: the flags listed under "options:" by
# `tpm11 COMMAND... --help`, one per line.
t11_help_flags() {
	"$TPM11_TOOL" "$@" --help 2>/dev/null </dev/null |
		awk '$0 == "options:" { on = 1; next } on && /^$/ { exit } on && $1 ~ /^--/ { print $1 }'
}

# t11_help_line COMMAND... FLAG: the help line of FLAG in `tpm11 COMMAND...
# --help`.
t11_help_line() {
	local n=$(($# - 1)) flag=${!#}
	"$TPM11_TOOL" "${@:1:n}" --help 2>/dev/null </dev/null | grep -E -m1 -- "^  $flag( |\$)"
}

# t11_all_commands: every command as "CMD" or "CMD SUB" (a command whose
# help lists subcommands stands for them), one per line.
t11_all_commands() {
	local c s subs
	for c in $(t11_help_commands); do
		subs=$(t11_help_commands "$c")
		if [ -z "$subs" ]; then echo "$c"; continue; fi
		for s in $subs; do echo "$c $s"; done
	done
}
