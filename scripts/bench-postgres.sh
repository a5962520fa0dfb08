#!/usr/bin/env bash
# Runs bench_postgres_backfill against a private PostgreSQL (scripts/pg-server.sh)
# and stops it.
#
#   scripts/bench-postgres.sh [BUILD_DIR] [--rounds N] [ROWS ...]
#
# BUILD_DIR defaults to ./build; ROWS to the program's own (100000 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
shift || true
state="$(mktemp -d)"
trap '"$PWD/scripts/pg-server.sh" stop "$state" >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
url="$("$PWD/scripts/pg-server.sh" start "$state" | tail -n 1)"
"$build/bench/bench_postgres_backfill" "$url" "$@"
