# bash completion for tpm11(1)                              -*- shell-script -*-
#
# Commands and flags come from the tool itself (`tpm11 --help`, `tpm11
# COMMAND --help`), so they cannot drift from it. Token labels come from
# `tpm11 listtokens`, key labels from `tpm11 listobjects`: both read only
# the store (the one --store names, else $TPM11_STORE, else the default),
# never the TPM and never a PIN. tests/e2e/completion.sh drives it.

# _tpm11_help WORD...: the help text of `tpm11 [--store DIR] WORD... --help`.
_tpm11_help()
{
	"$_tpm11_prog" "$@" --help 2>/dev/null </dev/null
}

# _tpm11_section NAME: the first words of the lines under "NAME:" of the
# help text on stdin (the command list, or the option list).
_tpm11_section()
{
	awk -v s="$1:" '$0 == s { on = 1; next } on && /^$/ { exit } on { print $1 }'
}

# _tpm11_takes_file: whether the usage line of the help text on stdin has
# a FILE argument that is not a flag's value (addcert, verify-attestation).
_tpm11_takes_file()
{
	awk 'NR == 1 { for (i = 2; i <= NF; i++)
		if ($i == "FILE" && $(i - 1) !~ /^[[(]?--[a-z-]+$/) f = 1 }
		END { exit !f }'
}

# _tpm11_unquote WORD: WORD as typed (Two\ Words, "Two Words", 'Two Words'
# or a quote not yet closed) without its quoting.
_tpm11_unquote()
{
	local w=$1
	case $w in
	\"*) w=${w#\"}; w=${w%\"} ;;
	\'*) w=${w#\'}; w=${w%\'} ;;
	*) w=${w//\\/} ;;
	esac
	printf '%s' "$w"
}

# _tpm11_reply CUR: COMPREPLY = the lines of stdin that start with CUR,
# each quoted for the command line (labels may hold spaces).
_tpm11_reply()
{
	local cur=$1 line
	COMPREPLY=()
	while IFS= read -r line; do
		[[ -n $line && $line == "$cur"* ]] || continue
		COMPREPLY+=("$(printf '%q' "$line")")
	done
}

# _tpm11_labels: the token labels of the store.
_tpm11_labels()
{
	"$_tpm11_prog" "${_tpm11_globals[@]}" listtokens 2>/dev/null </dev/null |
		sed -n 's/^- label: //p'
}

# _tpm11_key_labels [TOKEN]: the labels of the keys on TOKEN (default: on
# every token), each once.
_tpm11_key_labels()
{
	local tokens=("$@") t
	[ ${#tokens[@]} -gt 0 ] || mapfile -t tokens < <(_tpm11_labels)
	for t in "${tokens[@]}"; do
		"$_tpm11_prog" "${_tpm11_globals[@]}" listobjects --label "$t" 2>/dev/null </dev/null
	done | awk '/^- label: / { l = substr($0, 10); next }
		/^  class: .*key$/ && !seen[l]++ { print l }'
}

_tpm11()
{
	local cur prev i w cmd=() tok="" help opt line
	local _tpm11_prog _tpm11_globals=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=""
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# `--flag=value`: bash splits at "=" (COMP_WORDBREAKS).
	if [ "$cur" = "=" ]; then
		cur=""
	elif [ "$prev" = "=" ] && [ "$COMP_CWORD" -gt 1 ]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	cur=$(_tpm11_unquote "$cur")
	_tpm11_prog=${COMP_WORDS[0]/#\~/$HOME}

	# The words before the cursor: global options (kept for listtokens),
	# the command (and ak's subcommand), and --label's value.
	i=1
	while [ "$i" -lt "$COMP_CWORD" ]; do
		w=${COMP_WORDS[i]}
		case $w in
		--store | --path | --tcti | --label)
			if [ "${COMP_WORDS[i + 1]:-}" = "=" ]; then i=$((i + 1)); fi
			if [ $((i + 1)) -lt "$COMP_CWORD" ]; then
				i=$((i + 1))
				if [ "$w" = --label ]; then
					tok=$(_tpm11_unquote "${COMP_WORDS[i]}")
				else
					_tpm11_globals+=("$w" "$(_tpm11_unquote "${COMP_WORDS[i]}")")
				fi
			fi ;;
		-*) ;;
		*)
			if [ ${#cmd[@]} -eq 0 ] || { [ "${cmd[0]}" = ak ] && [ ${#cmd[@]} -eq 1 ]; }; then
				cmd+=("$w")
			fi ;;
		esac
		i=$((i + 1))
	done

	case $prev in
	--store | --path)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		compopt -o filenames 2>/dev/null
		return 0 ;;
	--tcti)
		COMPREPLY=()
		return 0 ;;
	esac
	if [ ${#cmd[@]} -eq 0 ]; then
		help=$(_tpm11_help)
		if [[ $cur == -* ]]; then
			_tpm11_reply "$cur" < <(grep -o -- '--[a-z][a-z-]*' <<<"$help" | sort -u)
		else
			_tpm11_reply "$cur" < <(_tpm11_section commands <<<"$help")
		fi
		return 0
	fi
	help=$(_tpm11_help "${cmd[@]}")
	# ak: the subcommand first.
	if grep -qx 'commands:' <<<"$help"; then
		_tpm11_reply "$cur" < <(_tpm11_section commands <<<"$help")
		return 0
	fi

	# The value of the flag before the cursor. A flag's help line says
	# whether it takes one ("--flag VALUE"; "--flag [PIN]" may have one).
	if [[ $prev == --* && $cur != -* ]]; then
		line=$(grep -E -m1 -- "^  $prev( |\$)" <<<"$help")
		case $line in
		"  $prev VALUE"*)
			case $prev in
			--label) _tpm11_reply "$cur" < <(_tpm11_labels) ;;
			--key-label)
				# of the token --label names, else of every token
				_tpm11_reply "$cur" < <(_tpm11_key_labels ${tok:+"$tok"}) ;;
			--algorithm)
				_tpm11_reply "$cur" < <(grep -oE '\b(ecc|rsa)[0-9]+\b' <<<"$line") ;;
			--user) _tpm11_reply "$cur" < <(printf '%s\n' so user) ;;
			--format) _tpm11_reply "$cur" < <(printf '%s\n' json webauthn acme) ;;
			*)
				# Flags whose value is a file.
				if [[ $line == *[Ff]ile* || $prev == --*-out || $prev == --expect-* ]]; then
					mapfile -t COMPREPLY < <(compgen -f -- "$cur")
					compopt -o filenames 2>/dev/null
				else
					COMPREPLY=()
				fi ;;
			esac
			return 0 ;;
		"  $prev [PIN]"*)
			COMPREPLY=()  # a PIN: never guessed, never offered
			return 0 ;;
		esac
	fi

	if [[ $cur == -* ]] || ! _tpm11_takes_file <<<"$help"; then
		_tpm11_reply "$cur" < <(_tpm11_section options <<<"$help")
	else
		# A command that takes a FILE argument (addcert, verify-attestation).
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		compopt -o filenames 2>/dev/null
	fi
	return 0
}
complete -F _tpm11 tpm11
