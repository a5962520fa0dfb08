#!/usr/bin/env bash
# Runs bench_startup against the migrate tool of a build tree, SQLite, a
# private PostgreSQL (directly, and through a PgBouncer in session mode in
# front of it where pgbouncer is installed) and (with --mongo) a private
# FerretDB, and stops them.
#
#   scripts/bench-startup.sh [BUILD_DIR] [--mongo] [bench arguments ...]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
shift || true
with_mongo=0
if [ "${1:-}" = "--mongo" ]; then
	with_mongo=1
	shift
fi
state="$(mktemp -d)"
cleanup() {
	"$PWD/scripts/pgbouncer-server.sh" stop "$state/pgb" >/dev/null 2>&1 || true
	"$PWD/scripts/pg-server.sh" stop "$state/pg" >/dev/null 2>&1 || true
	[ "$with_mongo" = 1 ] && "$PWD/scripts/ferretdb-server.sh" destroy "$state/fd" >/dev/null 2>&1 || true
	rm -rf "$state"
}
trap cleanup EXIT
args=(--cli "$build/migrate")
args+=(--pg "$("$PWD/scripts/pg-server.sh" start "$state/pg" | tail -n 1)")
pooled="$(CI='' "$PWD/scripts/pgbouncer-server.sh" start "$state/pgb" "$state/pg" session 2>/dev/null | tail -n 1 || true)"
[ -n "$pooled" ] && args+=(--pgbouncer "$pooled")
if [ "$with_mongo" = 1 ]; then
	"$PWD/scripts/install-ferretdb.sh" >/dev/null
	args+=(--mongo "$("$PWD/scripts/ferretdb-server.sh" start "$state/fd" | tail -n 1)/bench_startup")
fi
"$build/bench/bench_startup" "${args[@]}" "$@"
