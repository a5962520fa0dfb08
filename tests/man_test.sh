#!/usr/bin/env bash
# Tests the manual page man/migrate.1:
#   - groff renders it without a warning;
#   - its EXIT STATUS section is the exit-code table of docs/cli.md, word for word;
#   - with the binary, every command and option `migrate --help` lists is in it.
#
#   man_test.sh MAN_PAGE CLI_MD [MIGRATE_BINARY]
set -u
page=$1
cli_md=$2
migrate=${3:-}
failures=0

fail()
{
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# Rendering: every warning category on, output discarded.
warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
if [[ -n $warnings ]]; then
	fail "groff warns about $page:"
	echo "$warnings"
fi
text=$(groff -man -Tutf8 -P-cbou "$page" 2>/dev/null) || fail "groff cannot render $page"

# The exit codes: "CODE<TAB>MEANING" lines from both, compared.
table_md=$(sed -n '/^## Exit codes/,/^## /p' "$cli_md" |
	sed -n 's/^| \([0-9][0-9]*\) | \(.*\) |$/\1\t\2/p' | tr -d '`')
table_man=$(sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$page" |
	awk '/^\.B [0-9]+$/ { code = $2; next } code != "" && !/^\./ { print code "\t" $0; code = "" }' |
	sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\\[u2026\]/…/g' -e 's/\\&//g')
if [[ -z $table_md ]]; then
	fail "no exit-code table in $cli_md"
elif [[ $table_md != "$table_man" ]]; then
	fail "the exit codes of $page differ from docs/cli.md's table:"
	diff <(echo "$table_md") <(echo "$table_man")
fi

# Everything `migrate --help` lists.
if [[ -n $migrate ]]; then
	help=$("$migrate" --help) || {
		fail "$migrate --help exited with $?"
		exit 1
	}
	commands=$(sed -n '/^commands:/,/^$/p' <<<"$help" | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p')
	options=$(sed -n '/^options:/,/^$/p' <<<"$help" | grep -o -- '--\?-[A-Za-z][A-Za-z-]*' | grep -v '^---')
	[[ -n $commands && -n $options ]] || fail "no commands or options found in migrate --help"
	# A command is the first word of a line of the COMMANDS section.
	section=$(sed -n '/^COMMANDS$/,/^OPTIONS$/p' <<<"$text")
	for c in $commands; do
		grep -qE "^ +$c( |$)" <<<"$section" || fail "command $c is not in the COMMANDS section"
	done
	# An option is a word of the OPTIONS section's item lines.
	section=$(sed -n '/^OPTIONS$/,/^ENVIRONMENT$/p' <<<"$text")
	for o in $options; do
		grep -qE -- "(^|[ ,])$o([ ,]|$)" <<<"$section" || fail "option $o is not in the OPTIONS section"
	done
	for v in MIGRATE_URL DATABASE_URL MIGRATE_PLAN PGPASSWORD; do
		grep -q "$v" <<<"$(sed -n '/^ENVIRONMENT$/,/^EXIT STATUS$/p' <<<"$text")" ||
			fail "$v is not in the ENVIRONMENT section"
	done
fi

if ((failures)); then
	echo "$failures man page check(s) failed"
	exit 1
fi
echo "migrate.1: renders cleanly and matches docs/cli.md and migrate --help"
