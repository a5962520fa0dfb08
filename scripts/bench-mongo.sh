#!/usr/bin/env bash
# Runs bench_mongo_backfill against a private FerretDB (built by
# scripts/install-ferretdb.sh, data in /dev/shm when available) and stops it.
#
#   scripts/bench-mongo.sh [BUILD_DIR] [bench arguments ...]
#
# BUILD_DIR defaults to ./build; the bench arguments default to the
# program's own (--write 2000 5000 10000 --noop 100000 1000000).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
shift || true
"$PWD/scripts/install-ferretdb.sh" >/dev/null
state="$(mktemp -d)"
trap '"$PWD/scripts/ferretdb-server.sh" destroy "$state"; rm -rf "$state"' EXIT
url="$("$PWD/scripts/ferretdb-server.sh" start "$state")"
"$build/bench/bench_mongo_backfill" "$url" "$@"
