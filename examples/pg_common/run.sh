#!/bin/sh
# Runs a PostgreSQL seed example the way a user would, against a database of
# its own on the test server: up, status, readiness, rollback, up again.
#   run.sh PROGRAM STATE_DIR DBNAME [extra mode...]
# Exits 77 (skipped) when no server runs, unless CI=true.
set -e
prog=$1 state=$2 db=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -f "$state/url" ]; then
	if [ "$CI" = "true" ]; then
		echo "no PostgreSQL server (scripts/pg-server.sh start failed)" >&2
		exit 1
	fi
	echo "no PostgreSQL server: example SKIPPED" >&2
	exit 77
fi
url=$("$here/../../scripts/pg-server.sh" createdb "$state" "$db")
echo "== $prog $url"
"$prog" "$url"
"$prog" "$url" --status
"$prog" "$url" --check
echo "== again: nothing to do"
"$prog" "$url"
echo "== rollback"
"$prog" "$url" --rollback
"$prog" "$url" --status
if "$prog" "$url" --check; then
	echo "ready after the rollback" >&2
	exit 1
fi
echo "== up again"
"$prog" "$url"
"$prog" "$url" --check
for mode in "$@"; do
	echo "== $mode"
	"$prog" "$url" "$mode"
done
