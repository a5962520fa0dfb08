#!/usr/bin/env bash
# ctest entry of the sessions_to_jobs example: runs it with only a URL on a
# fresh database of the fixture's FerretDB, then --status, --drop-arrays and
# --rollback, checking what each prints. Skips (77) without a server unless
# CI=true.
set -euo pipefail
prog="$1"
url_file="${MIGRATE_MONGO_URL_FILE:-}"
if [ -z "$url_file" ] || [ ! -s "$url_file" ]; then
	[ "${CI:-}" = true ] && { echo "no MongoDB server (fixture failed)" >&2; exit 1; }
	echo "SKIP: no MongoDB server -- example skipped" >&2
	exit 77
fi
url="$(cat "$url_file")/example_s2j_$$"
out="$("$prog" "$url" --sample 300)"
echo "$out"
grep -q "created 300 sample sessions" <<<"$out"
grep -Eq "^  4  applied .*steps 8/8" <<<"$out"
# A second run has nothing to do.
"$prog" "$url" | grep -Eq "^  3  applied"
"$prog" "$url" --status | grep -Eq "^  1  applied"
# The optional removal of the old arrays.
"$prog" "$url" --drop-arrays | grep -Eq "^  5  applied"
# The rollback of section 7 (version 5 is only in the --drop-arrays plan).
"$prog" "$url" --drop-arrays --rollback | grep -q "rolled back"
"$prog" "$url" --status | grep -Eq "^  1  pending"
echo "example sessions_to_jobs: OK"
