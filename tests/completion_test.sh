#!/usr/bin/env bash
# Tests completion/migrate.bash: sources it and calls its function the way
# bash does on Tab (COMP_WORDS, COMP_CWORD), then checks COMPREPLY.
#
#   completion_test.sh COMPLETION_FILE [MIGRATE_BINARY]
#
# With the binary, also checks that every command and option its --help
# lists is offered.
set -u
completion=$1
migrate=${2:-}
failures=0

# shellcheck source=../completion/migrate.bash
source "$completion" || exit 1
if [[ $(complete -p migrate 2>/dev/null) != *"-F _migrate"* ]]; then
	echo "FAIL: sourcing $completion does not register _migrate for migrate"
	exit 1
fi

# complete_words WORD... : completes the last word, leaves the sorted
# candidates in REPLY_TEXT (one per line).
complete_words()
{
	COMP_WORDS=(migrate "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_migrate migrate "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	REPLY_TEXT=$(printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort)
}

# expect WORDS... -- CANDIDATES...: the completion of WORDS is exactly CANDIDATES.
expect()
{
	local words=() want=()
	while [[ $1 != -- ]]; do
		words+=("$1")
		shift
	done
	shift
	want=("$@")
	complete_words "${words[@]}"
	local expected=""
	((${#want[@]})) && expected=$(printf '%s\n' "${want[@]}" | LC_ALL=C sort)
	[[ -z $REPLY_TEXT ]] && REPLY_TEXT=""
	if [[ $REPLY_TEXT != "$expected" ]]; then
		echo "FAIL: migrate ${words[*]}<Tab>"
		echo "  expected: $(echo $expected)"
		echo "  got:      $(echo $REPLY_TEXT)"
		failures=$((failures + 1))
	fi
}

# offers WORDS... -- CANDIDATE...: the completion of WORDS includes each CANDIDATE.
offers()
{
	local words=()
	while [[ $1 != -- ]]; do
		words+=("$1")
		shift
	done
	shift
	complete_words "${words[@]}"
	local c
	for c in "$@"; do
		if ! grep -qxF -- "$c" <<<"$REPLY_TEXT"; then
			echo "FAIL: migrate ${words[*]}<Tab> does not offer $c"
			failures=$((failures + 1))
		fi
	done
}

all_commands=(status plan up down rollback redo check verify lint baseline repair new fmt import version help)

# Commands, first or after options and their arguments.
expect "" -- "${all_commands[@]}"
expect re -- redo repair
expect v -- verify version
expect --url sqlite:x.db -p plan.json "" -- "${all_commands[@]}"
expect -j --lock-timeout 5 st -- status
# Options.
expect --allow- -- --allow-amended --allow-out-of-order
expect --p -- --password-file --pause --plan
offers - -- -u -p -j -q -v -h -V --url --plan --password-file --json --quiet --verbose --lock-timeout \
	--batch-size --pause --allow-out-of-order --allow-amended --timestamp --schema --help --version
expect up --j -- --json
# Option arguments: numbers get nothing, URLs a scheme.
expect --lock-timeout "" --
expect --batch-size 1 --
expect -u postg -- postgresql:// postgres://
expect --url=mon -- mongodb://
# After the command: help takes a command, others nothing.
expect help re -- redo repair
expect help status "" --
expect up "" --
expect status st --

# --plan completes files and directories.
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/plans"
touch "$dir/plan.json" "$dir/other.txt"
expect --plan "$dir/pl" -- "$dir/plan.json" "$dir/plans"
expect -p "$dir/o" -- "$dir/other.txt"
expect "--plan=$dir/plan." -- "$dir/plan.json"
expect status -p "$dir/plans" -- "$dir/plans"

# Everything `migrate --help` lists is offered.
if [[ -n $migrate ]]; then
	help=$("$migrate" --help) || {
		echo "FAIL: $migrate --help exited with $?"
		exit 1
	}
	commands=$(sed -n '/^commands:/,/^$/p' <<<"$help" | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p')
	options=$(sed -n '/^options:/,/^$/p' <<<"$help" | grep -o -- '--\?-[A-Za-z][A-Za-z-]*' | grep -v '^---')
	[[ -n $commands && -n $options ]] || {
		echo "FAIL: no commands or options found in migrate --help"
		exit 1
	}
	# shellcheck disable=SC2086
	offers "" -- $commands
	# shellcheck disable=SC2086
	offers - -- $options
fi

if ((failures)); then
	echo "$failures completion check(s) failed"
	exit 1
fi
echo "bash completion: all checks passed"
