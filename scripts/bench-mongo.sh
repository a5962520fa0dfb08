#!/usr/bin/env bash
# Runs the MongoDB benchmarks against a private FerretDB (built by
# scripts/install-ferretdb.sh, data in /dev/shm when available) and stops it.
#
#   scripts/bench-mongo.sh [BUILD_DIR] [bench arguments ...]
#       bench_mongo_backfill: the counter backfill, libmigrate in place and
#       rewriting against the seed's loop and the best script (its
#       arguments default to the program's own: --write 2000 5000 10000
#       --noop 100000 1000000)
#   scripts/bench-mongo.sh [BUILD_DIR] --seed000 N [N ...]
#       bench/seed000_mongo.py: the whole of seed 000 at N documents, up and
#       down 0, against the seed's own script (pymongo is installed if missing)
#
# FERRETDB_BACKEND=postgresql runs FerretDB's PostgreSQL backend over a
# private PostgreSQL (scripts/pg-server.sh) instead of its SQLite backend.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
shift || true
"$PWD/scripts/install-ferretdb.sh" >/dev/null
state="$(mktemp -d)"
cleanup() {
	"$PWD/scripts/ferretdb-server.sh" destroy "$state/ferretdb" || true
	[ ! -d "$state/postgres" ] || bash "$PWD/scripts/pg-server.sh" stop "$state/postgres" || true
	rm -rf "$state"
}
trap cleanup EXIT
if [ "${FERRETDB_BACKEND:-sqlite}" = postgresql ]; then
	bash "$PWD/scripts/pg-server.sh" start "$state/postgres" >/dev/null
	FERRETDB_POSTGRESQL_URL="$(bash "$PWD/scripts/pg-server.sh" createdb "$state/postgres" ferretdb | tail -n 1)"
	export FERRETDB_POSTGRESQL_URL
fi
url="$("$PWD/scripts/ferretdb-server.sh" start "$state/ferretdb")"
echo "FerretDB backend: ${FERRETDB_BACKEND:-sqlite}"
if [ "${1:-}" = --seed000 ]; then
	shift
	python3 -c 'import pymongo' 2>/dev/null || python3 -m pip install -q pymongo 2>/dev/null ||
		python3 -m pip install -q --break-system-packages pymongo
	python3 bench/seed000_mongo.py "$build/migrate" "$url" "$@"
else
	"$build/bench/bench_mongo_backfill" "$url" "$@"
fi
