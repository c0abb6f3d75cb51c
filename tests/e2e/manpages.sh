#!/usr/bin/env bash
# t11-modes: direct -- --help and the man pages touch no TPM
# The man pages and the tool's --help must not drift: for every command
# that `tpm11 --help` lists (and every subcommand that `tpm11 ak --help`
# lists), each --flag that `tpm11 COMMAND --help` prints is an option of
# that command's section in docs/man/tpm11.1.scd (or of GLOBAL OPTIONS),
# and each option the section lists is one that --help prints. An option
# is a line of the section that starts with the flag ("*--label* _LABEL_");
# flags mentioned in running text are not compared. A section for a
# command this build's --help does not list (a command being written on
# another branch) is a skip, not a failure. Then: both pages render with
# scdoc and groff without a warning, and tpm11(7) names the module's
# environment variables.
. "$(dirname "$0")/../lib/common.sh"
. "$T11_SRC/tests/lib/help.sh"
t11_require_build
# Under valgrind each of the tool's many --help and listing runs takes a
# second or more (minutes in all) and checks only code that tool.sh runs
# under valgrind already; the plain and asan passes run this test.
if [ "${T11_SANITIZE:-}" = valgrind ]; then
	ok "man pages # SKIP compares texts; runs in the plain and asan passes"
	t11_done; exit 0
fi

PAGE1=$T11_SRC/docs/man/tpm11.1.scd
PAGE7=$T11_SRC/docs/man/tpm11.7.scd

# section PAGE TITLE LEVEL: the lines of the section "# TITLE" (LEVEL #)
# or "## TITLE" (LEVEL ##) up to the next heading of that level or above.
section() {
	awk -v t="$2" -v lvl="$3" '
		/^#+ / { h = $1; name = substr($0, length(h) + 2)
			if (on && length(h) <= length(lvl)) exit
			if (h == lvl && name == t) { on = 1; next } }
		on' "$1"
}
# options: the flags of the option lines on stdin, one per line.
options() {
	grep -E '^\*--' | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u
}

# not_ok_todo NAME REASON: a known gap (TAP "# TODO"): reported, not failed.
not_ok_todo() {
	T11_TAP_N=$((T11_TAP_N + 1))
	echo "not ok $T11_TAP_N - $1 # TODO $2"
}

[ -f "$PAGE1" ] && [ -f "$PAGE7" ] || { not_ok "docs/man/tpm11.1.scd and tpm11.7.scd exist"; t11_done; exit 1; }

global=$(section "$PAGE1" "GLOBAL OPTIONS" "#" | options)
for f in --store --tcti --help; do
	if grep -qx -- "$f" <<<"$global"; then ok "GLOBAL OPTIONS lists $f"
	else not_ok "GLOBAL OPTIONS lists $f"; fi
done
# Each global option of the page is in `tpm11 --help` and works. One that
# works but is not in the help text yet is a known gap (TODO), not drift.
"$TPM11_TOOL" --help >"$T11_TMP/top" 2>&1 </dev/null
for f in $global; do
	if grep -q -- "$f\b" "$T11_TMP/top"; then
		ok "global option $f of the page is in tpm11 --help"
	elif "$TPM11_TOOL" "$f" >/dev/null 2>&1 </dev/null; then
		not_ok_todo "global option $f of the page is in tpm11 --help" "tpm11 accepts it but --help does not list it (issue 15 item 7)"
	else
		not_ok "global option $f of the page is in tpm11 --help (and tpm11 $f fails)"
	fi
done

t11_all_commands >"$T11_TMP/commands"
n=$(wc -l <"$T11_TMP/commands")
if [ "$n" -ge 10 ]; then ok "tpm11 --help lists $n commands"
else not_ok "tpm11 --help lists commands (found $n)"; sed 's/^/# /' "$T11_TMP/top"; fi

while IFS= read -r cmd; do
	# shellcheck disable=SC2086
	help_flags=$(t11_help_flags $cmd | sort -u)
	sec=$(section "$PAGE1" "$cmd" "##")
	if [ -z "$sec" ]; then
		not_ok "tpm11(1) has a section \"$cmd\""
		continue
	fi
	page_flags=$(options <<<"$sec")
	missing=$(comm -23 <(echo "$help_flags") <(sort -u <(echo "$page_flags") <(echo "$global")) | grep . | tr '\n' ' ')
	extra=$(comm -13 <(echo "$help_flags") <(echo "$page_flags") | grep . | tr '\n' ' ')
	if [ -z "$missing" ]; then ok "$cmd: every flag of --help is in tpm11(1) ($(echo $help_flags | wc -w) flags)"
	else not_ok "$cmd: flags in --help but not in the page's section: $missing"; fi
	if [ -z "$extra" ]; then ok "$cmd: every flag of tpm11(1) is in --help"
	else not_ok "$cmd: flags in the page's section but not in --help: $extra"; fi
done <"$T11_TMP/commands"

# Sections of the page that this build's --help does not list.
while IFS= read -r title; do
	if grep -qxF -- "$title" "$T11_TMP/commands"; then continue; fi
	if grep -q "^$title " "$T11_TMP/commands"; then continue; fi # ak: its subcommands
	ok "tpm11(1) section \"$title\" is a command of tpm11 --help # SKIP not in this build's tpm11 --help (written on another branch?)"
done < <(sed -n 's/^## //p' "$PAGE1")

# objdel is rmkey's other name; --help says so, the page must too.
if section "$PAGE1" rmkey "##" | grep -q objdel; then ok "tpm11(1) names objdel under rmkey"
else not_ok "tpm11(1) names objdel under rmkey"; fi

# The module's page: its environment.
env7=$(section "$PAGE7" ENVIRONMENT "#")
for v in TPM11_TCTI TPM11_STORE TPM11_LOG; do
	if grep -q "^\*${v//_/\\\\_}\*" <<<"$env7"; then ok "tpm11(7) ENVIRONMENT describes $v"
	else not_ok "tpm11(7) ENVIRONMENT describes $v"; fi
done
for s in P11-KIT OPENSSH FILES; do
	if [ -n "$(section "$PAGE7" "$s" "#")" ]; then ok "tpm11(7) has a $s section"
	else not_ok "tpm11(7) has a $s section"; fi
done

# Rendering: scdoc accepts the pages, groff has nothing to warn about.
if ! command -v scdoc >/dev/null; then
	ok "pages render # SKIP scdoc is not installed (scripts/install-deps build)"
else
	for p in "$PAGE1" "$PAGE7"; do
		name=$(basename "$p" .scd)
		if scdoc <"$p" >"$T11_TMP/$name" 2>"$T11_TMP/$name.err"; then
			ok "scdoc renders $name"
		else
			not_ok "scdoc renders $name"; sed 's/^/# /' "$T11_TMP/$name.err"; continue
		fi
		if ! command -v groff >/dev/null; then
			ok "groff renders $name without warnings # SKIP groff is not installed"
			continue
		fi
		LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$T11_TMP/$name" >"$T11_TMP/$name.warn" 2>&1
		if [ -s "$T11_TMP/$name.warn" ]; then
			not_ok "groff renders $name without warnings"; sed 's/^/# /' "$T11_TMP/$name.warn" | head
		else
			ok "groff renders $name without warnings"
		fi
	done
fi

# A build with the man pages has rendered them from these sources.
for name in tpm11.1 tpm11.7; do
	built=$TPM11_BUILD/docs/man/$name
	if [ ! -f "$built" ]; then
		ok "$name built # SKIP this build has no man pages (-Dman=disabled, or scdoc missing)"
	elif [ -f "$T11_TMP/$name" ] && ! cmp -s <(grep -v '^\.TH' "$built") <(grep -v '^\.TH' "$T11_TMP/$name"); then
		not_ok "$built is the rendering of docs/man/$name.scd (rebuild: ninja -C $TPM11_BUILD)"
	else
		ok "$name built from its source"
	fi
done
t11_done
