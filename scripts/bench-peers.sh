#!/usr/bin/env bash
# Runs bench/peers.py: the migrate tool of a build tree against goose on a
# private PostgreSQL (scripts/pg-server.sh). goose is installed with
# `go install` into ~/.cache/libmigrate/bin when missing.
#
#   scripts/bench-peers.sh [BUILD_DIR] [--durable] [bench/peers.py arguments ...]
#
# --durable: the server keeps fsync and synchronous_commit on (what a
# production server pays per commit); by default it is a throwaway test
# server without them (scripts/pg-server.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	build=$1
	shift
fi
# --durable anywhere; the other arguments go to bench/peers.py.
args=()
for a in "$@"; do
	if [ "$a" = "--durable" ]; then
		export PG_SERVER_DURABLE=1
	else
		args+=("$a")
	fi
done
GOOSE_VERSION=v3.26.0
bin="${XDG_CACHE_HOME:-$HOME/.cache}/libmigrate/bin"
if [ ! -x "$bin/goose" ]; then
	command -v go >/dev/null || { echo "bench-peers.sh: go is needed to install goose" >&2; exit 1; }
	mkdir -p "$bin"
	GOBIN="$bin" go install "github.com/pressly/goose/v3/cmd/goose@$GOOSE_VERSION"
fi
state="$(mktemp -d)"
trap '"$PWD/scripts/pg-server.sh" stop "$state" >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
url="$("$PWD/scripts/pg-server.sh" start "$state" | tail -n 1)"
python3 bench/peers.py --migrate "$build/migrate" --goose "$bin/goose" --pg "$url" ${args[@]+"${args[@]}"}
