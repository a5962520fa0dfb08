#!/usr/bin/env bash
# Starts and stops a private FerretDB for the MongoDB tests: SQLite backend,
# or PostgreSQL backend when FERRETDB_POSTGRESQL_URL names a database.
#
#   scripts/ferretdb-server.sh start DIR [PORT]   # prints mongodb://127.0.0.1:PORT
#   scripts/ferretdb-server.sh stop DIR           # the data stays for a restart
#   scripts/ferretdb-server.sh kill DIR           # SIGKILL, for crash tests
#   scripts/ferretdb-server.sh destroy DIR        # stop and delete the data
#
# DIR holds the state, the log and the files `pid`, `port`, `url` and
# `datadir`. The SQLite files go to a fresh directory in /dev/shm when it
# is there (FERRETDB_TMPFS=0: DIR/data), so that the tests do not wait on
# the disk's fsync; a restart with the same DIR finds the same data.
# Without PORT a free loopback port is chosen. `start` returns once the
# server accepts connections. The binary is $FERRETDB, else the one
# scripts/install-ferretdb.sh builds (run it first; this script does not
# build). FERRETDB_POSTGRESQL_URL (postgresql://user@host:port/db) selects
# FerretDB's PostgreSQL backend (--handler=postgresql) over that database;
# DIR remembers the choice for restarts.
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
	sed -n '2,20p' "$0" >&2
	exit 2
fi

cache="${MIGRATE_CACHE:-$HOME/.cache/libmigrate}"
bin="${FERRETDB:-$cache/bin/ferretdb}"

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		if ! port_open "$p"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

data_dir() {
	if [ -s "$dir/datadir" ]; then
		cat "$dir/datadir"
		return
	fi
	local d="$dir/data"
	if [ "${FERRETDB_TMPFS:-1}" != 0 ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
		d="$(mktemp -d /dev/shm/ferretdb-XXXXXX)"
	fi
	echo "$d" >"$dir/datadir"
	echo "$d"
}

alive() {
	[ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null
}

start() {
	local port="${1:-}" attempt pid i
	if [ ! -x "$bin" ]; then
		echo "ferretdb-server: no FerretDB binary at $bin (run scripts/install-ferretdb.sh)" >&2
		exit 1
	fi
	mkdir -p "$dir"
	dir="$(cd "$dir" && pwd)"
	local data
	data="$(data_dir)"
	mkdir -p "$data"
	if alive; then
		cat "$dir/url"
		return 0
	fi
	local backend=(--handler=sqlite --sqlite-url="file:$data/")
	if [ -n "${FERRETDB_POSTGRESQL_URL:-}" ]; then
		echo "$FERRETDB_POSTGRESQL_URL" >"$dir/postgresql_url"
	fi
	if [ -s "$dir/postgresql_url" ]; then
		backend=(--handler=postgresql --postgresql-url="$(cat "$dir/postgresql_url")")
	fi
	for attempt in 1 2 3 4 5; do
		[ -n "${1:-}" ] || port="$(free_port)"
		"$bin" "${backend[@]}" \
			--listen-addr="127.0.0.1:$port" --state-dir="$dir" \
			--telemetry=disable --debug-addr=- --log-level=warn \
			>>"$dir/ferretdb.log" 2>&1 </dev/null &
		pid=$!
		echo "$pid" >"$dir/pid"
		echo "$port" >"$dir/port"
		echo "mongodb://127.0.0.1:$port" >"$dir/url"
		for i in $(seq 1 300); do
			if ! kill -0 "$pid" 2>/dev/null; then
				break
			fi
			if port_open "$port"; then
				cat "$dir/url"
				return 0
			fi
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rm -f "$dir/pid"
		# A fixed port that does not come up is not retried elsewhere.
		[ -z "${1:-}" ] || break
	done
	echo "ferretdb-server: FerretDB did not start; last lines of $dir/ferretdb.log:" >&2
	tail -n 20 "$dir/ferretdb.log" >&2 || true
	exit 1
}

stop() {
	local sig="$1" pid i
	alive || {
		rm -f "$dir/pid"
		return 0
	}
	pid="$(cat "$dir/pid")"
	kill "-$sig" "$pid" 2>/dev/null || true
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$dir/pid"
}

case "$cmd" in
start) start "${3:-}" ;;
stop) stop TERM ;;
kill) stop KILL ;;
destroy)
	stop TERM
	if [ -s "$dir/datadir" ]; then
		rm -rf "$(cat "$dir/datadir")"
		rm -f "$dir/datadir"
	fi
	rm -rf "$dir/data" "$dir/postgresql_url"
	;;
*)
	echo "ferretdb-server: unknown command $cmd" >&2
	exit 2
	;;
esac
