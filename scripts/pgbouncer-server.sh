#!/usr/bin/env bash
# Starts and stops a throwaway PgBouncer (Debian's pgbouncer package) in
# front of the test server of scripts/pg-server.sh, for the connection
# pooler tests. It listens on 127.0.0.1 at a free port (no unix socket),
# forwards every database name to the server (a `*` entry), and lets the
# server's user "postgres" in without a password, as the test server does
# (auth_type trust; the user is listed in its auth_file).
#
#   pgbouncer-server.sh start STATE_DIR PG_STATE_DIR MODE
#                     MODE is transaction or session; prints the URL of the
#                     pooler's "postgres" database and writes it to
#                     STATE_DIR/url; a database of the server is reached by
#                     replacing the URL's last path segment
#   pgbouncer-server.sh stop STATE_DIR
#
# When pgbouncer or the server is missing, `start` fails under CI=true and
# otherwise warns loudly and exits 0 without a URL, so the tests skip.
# Run as root, PgBouncer (which refuses root) runs as the server's user.
set -euo pipefail

# as_user and port_busy, as for the server.
# shellcheck source=pg-server.sh
source "$(dirname "${BASH_SOURCE[0]}")/pg-server.sh"

die() {
	echo "pgbouncer-server.sh: $*" >&2
	exit 1
}

missing() {
	if [[ "${CI:-}" == "true" ]]; then
		die "$1"
	fi
	echo "pgbouncer-server.sh: WARNING: $1; the PgBouncer tests will be SKIPPED" >&2
	rm -f "$state/url"
	exit 0
}

start() {
	local pg_state=$1 mode=$2 bin dir user pgport port tries=0
	case "$mode" in
	transaction | session) ;;
	*) die "MODE is transaction or session, not \"$mode\"" ;;
	esac
	if [[ -f "$state/dir" ]]; then
		stop || true
	fi
	bin=$(command -v pgbouncer || true)
	[[ -z "$bin" && -x /usr/sbin/pgbouncer ]] && bin=/usr/sbin/pgbouncer
	[[ -n "$bin" ]] || missing "pgbouncer not found (scripts/install-deps.sh installs it)"
	[[ -f "$pg_state/port" ]] || missing "no PostgreSQL server in $pg_state (scripts/pg-server.sh)"
	pgport=$(cat "$pg_state/port")
	user=$(cat "$pg_state/user" 2>/dev/null || id -un)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/migrate-pgbouncer.XXXXXX")
	chmod 755 "$dir"
	[[ $(id -u) -eq 0 ]] && chown "$user:$(id -gn "$user")" "$dir"
	echo "$dir" >"$state/dir"
	echo '"postgres" ""' >"$dir/users.txt"
	while :; do
		port=$((20000 + RANDOM % 30000))
		tries=$((tries + 1))
		port_busy "$port" && continue
		# Pools smaller than the 64-process tests in transaction mode (the
		# point of a transaction pooler); in session mode one server
		# connection per client, so no client waits for a server.
		cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$pgport
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = $mode
max_client_conn = 400
default_pool_size = $([[ $mode == transaction ]] && echo 16 || echo 100)
max_db_connections = 120
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
log_connections = 0
log_disconnections = 0
EOF
		[[ $(id -u) -eq 0 ]] && chown "$user" "$dir/pgbouncer.ini" "$dir/users.txt"
		if as_user "$user" "$bin" -d -q "$dir/pgbouncer.ini" >"$dir/start.log" 2>&1; then
			local i
			for i in $(seq 50); do
				port_busy "$port" && break
				sleep 0.1
			done
			if port_busy "$port"; then
				break
			fi
		fi
		if [[ $tries -ge 5 ]]; then
			cat "$dir/start.log" "$dir/pgbouncer.log" >&2 2>/dev/null || true
			stop || true
			die "could not start pgbouncer (log above)"
		fi
	done
	local url="postgresql://postgres@127.0.0.1:$port/postgres"
	echo "$port" >"$state/port"
	echo "$url" >"$state/url"
	echo "$url"
}

stop() {
	[[ -f "$state/dir" ]] || return 0
	local dir pid
	dir=$(cat "$state/dir")
	if [[ -f "$dir/pgbouncer.pid" ]]; then
		pid=$(cat "$dir/pgbouncer.pid")
		# Throwaway: a moment for a clean exit (it takes about a second), then SIGKILL.
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 5); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	case "$dir" in
	*/migrate-pgbouncer.*) rm -rf "$dir" ;;
	esac
	rm -f "$state/dir" "$state/url" "$state/port"
}

[[ $# -ge 2 ]] || die "usage: pgbouncer-server.sh start STATE_DIR PG_STATE_DIR MODE, or stop STATE_DIR"
state=$2
mkdir -p "$state"
state=$(cd "$state" && pwd)
case "$1" in
start)
	[[ $# -eq 4 ]] || die "usage: pgbouncer-server.sh start STATE_DIR PG_STATE_DIR MODE"
	start "$3" "$4"
	;;
stop) stop ;;
*) die "unknown command $1" ;;
esac
