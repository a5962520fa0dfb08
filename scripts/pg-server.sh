#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL server for tests, examples and
# benchmarks: initdb + pg_ctl from Debian's packages, in a temporary
# directory, listening on a unix socket in that directory and on 127.0.0.1
# at a free port. Run as root, the server runs as an unprivileged user
# (PG_SERVER_USER, else "postgres" when it exists, else "nobody").
#
#   pg-server.sh start STATE_DIR   starts a server; prints its URL and writes it
#                                  to STATE_DIR/url (TCP) and STATE_DIR/socket_url
#   pg-server.sh stop STATE_DIR    stops it and removes its data
#   pg-server.sh url STATE_DIR     prints the URL of a running server
#   pg-server.sh crash STATE_DIR   crashes it (pg_ctl stop -m immediate: WAL
#                                  still in the server's memory is lost) and
#                                  starts it again on the same port, through
#                                  crash recovery
#   pg-server.sh createdb STATE_DIR NAME
#                                  (re)creates database NAME; prints its URL
#   pg-server.sh standby STATE_DIR PRIMARY_STATE_DIR
#                                  starts a hot standby of the server of
#                                  PRIMARY_STATE_DIR (pg_basebackup -R,
#                                  streaming replication) on another port;
#                                  `stop` and `url` work on it as on a server
#
# When PostgreSQL is not installed, `start` fails under CI=true and
# otherwise warns loudly and exits 0 without a URL, so the tests skip.
#
# STATE_DIR only holds small files (url, the data directory's path); the
# cluster itself lives under $TMPDIR (default /tmp), which any user can
# reach, so the build directory may sit anywhere.
#
# Environment: PG_BINDIR (default: the newest /usr/lib/postgresql/*/bin,
# preferring 15), PG_SERVER_USER, PG_SERVER_DURABLE=1 (keep fsync,
# synchronous_commit and full_page_writes on, as a production server does;
# for benchmarks of what a commit costs).
# Without it the server trades durability for speed.
set -euo pipefail

die() {
	echo "pg-server.sh: $*" >&2
	exit 1
}

find_bindir() {
	if [[ -n "${PG_BINDIR:-}" ]]; then
		if [[ -x "$PG_BINDIR/initdb" ]]; then echo "$PG_BINDIR"; fi
		return 0
	fi
	if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
		echo /usr/lib/postgresql/15/bin
		return
	fi
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [[ -x "$d/initdb" ]]; then
			echo "$d"
			return
		fi
	done
	if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; fi
	return 0
}

# The user the server runs as: ourselves, unless we are root (PostgreSQL
# refuses to run as root).
server_user() {
	if [[ $(id -u) -ne 0 ]]; then
		id -un
	elif [[ -n "${PG_SERVER_USER:-}" ]]; then
		echo "$PG_SERVER_USER"
	elif getent passwd postgres >/dev/null; then
		echo postgres
	else
		echo nobody
	fi
}

# Runs a command as the server user.
as_user() {
	local user=$1
	shift
	if [[ $(id -u) -ne 0 ]]; then
		"$@"
	else
		# setpriv keeps the environment and needs no login shell (nobody has none).
		setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"
	fi
}

port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
	local state=$1 primary=${2:-}
	mkdir -p "$state"
	state=$(cd "$state" && pwd)
	if [[ -f "$state/datadir" ]] && [[ -d "$(cat "$state/datadir")" ]]; then
		echo "pg-server.sh: a server may still run from $state; stopping it first" >&2
		stop "$state" || true
	fi
	local bindir user dir
	bindir=$(find_bindir)
	if [[ -z "$bindir" ]]; then
		if [[ "${CI:-}" == "true" ]]; then
			die "initdb not found: install Debian's postgresql package (apt-get install postgresql)"
		fi
		echo "pg-server.sh: WARNING: initdb not found (apt-get install postgresql); the PostgreSQL tests will be SKIPPED" >&2
		rm -f "$state/url"
		return 0
	fi
	user=$(server_user)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/migrate-pg.XXXXXX")
	chmod 755 "$dir"
	[[ $(id -u) -eq 0 ]] && chown "$user:$(id -gn "$user")" "$dir"
	echo "$dir" >"$state/datadir"
	echo "$user" >"$state/user"

	if [[ -n "$primary" ]]; then
		# A copy of the primary that replays its WAL as it comes (-R writes
		# primary_conninfo and standby.signal); initdb's pg_hba.conf trusts
		# replication connections from 127.0.0.1.
		[[ -f "$primary/port" ]] || die "no server in $primary"
		if ! as_user "$user" "$bindir/pg_basebackup" -D "$dir/data" -R -X stream -c fast --no-sync \
			-h 127.0.0.1 -p "$(cat "$primary/port")" -U postgres >"$dir/initdb.log" 2>&1; then
			cat "$dir/initdb.log" >&2
			rm -rf "$dir"
			rm -f "$state/datadir"
			die "pg_basebackup failed (log above)"
		fi
	elif ! as_user "$user" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust \
		--encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		rm -rf "$dir"
		rm -f "$state/datadir"
		die "initdb failed (log above)"
	fi

	local port tries=0
	while :; do
		port=$((20000 + RANDOM % 30000))
		tries=$((tries + 1))
		if port_busy "$port"; then
			continue
		fi
		# Throwaway data: durability off for speed, unless PG_SERVER_DURABLE=1
		# (benchmarks of what a production server pays per commit); room for
		# the 8-process tests and parallel test cases.
		local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
		[[ "${PG_SERVER_DURABLE:-0}" == 1 ]] && durability=""
		local options="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 \
$durability -c shared_buffers=128MB -c log_min_messages=warning -c unix_socket_permissions=0777"
		if as_user "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
			-o "$options" start >/dev/null 2>&1; then
			echo "$options" >"$state/options"
			break
		fi
		if [[ $tries -ge 5 ]]; then
			cat "$dir/server.log" >&2 || true
			rm -rf "$dir"
			rm -f "$state/datadir"
			die "could not start PostgreSQL (log above)"
		fi
	done

	local url="postgresql://postgres@127.0.0.1:$port/postgres"
	echo "$port" >"$state/port"
	echo "$url" >"$state/url"
	echo "postgresql:///postgres?host=$dir&port=$port&user=postgres" >"$state/socket_url"
	echo "$url"
}

stop() {
	local state=$1
	[[ -f "$state/datadir" ]] || { echo "pg-server.sh: no server recorded in $state" >&2; return 0; }
	local dir bindir user
	dir=$(cat "$state/datadir")
	bindir=$(find_bindir)
	user=$(cat "$state/user" 2>/dev/null || server_user)
	if [[ -f "$dir/data/postmaster.pid" ]]; then
		if [[ -z "$bindir" ]] ||
			! as_user "$user" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1; then
			# pg_ctl could not do it (another user's cluster?): signal the postmaster itself.
			local pid
			pid=$(head -n 1 "$dir/data/postmaster.pid")
			echo "pg-server.sh: pg_ctl stop failed for $dir; sending SIGQUIT to $pid" >&2
			kill -QUIT "$pid" 2>/dev/null || true
			sleep 1
		fi
	fi
	case "$dir" in
	*/migrate-pg.*) rm -rf "$dir" ;;
	esac
	rm -f "$state/datadir" "$state/url" "$state/socket_url" "$state/port" "$state/user" "$state/options"
}

# Crashes the server (pg_ctl stop -m immediate: no checkpoint, and WAL still
# in its shared buffers, not yet written, is lost; what the kernel holds
# unflushed survives, so this is not a power cut) and starts it again on the
# same port, through crash recovery. A server already down is only started.
crash() {
	local state=$1 dir bindir user
	[[ -f "$state/datadir" && -f "$state/options" ]] ||
		die "no server in $state (or one started before pg-server.sh recorded its options)"
	dir=$(cat "$state/datadir")
	bindir=$(find_bindir)
	user=$(cat "$state/user" 2>/dev/null || server_user)
	if [[ -f "$dir/data/postmaster.pid" ]]; then
		as_user "$user" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1 ||
			die "could not stop the server in $dir"
	fi
	as_user "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$(cat "$state/options")" \
		start >/dev/null 2>&1 || { cat "$dir/server.log" >&2; die "could not restart the server in $dir"; }
}

createdb() {
	local state=$1 name=$2 url
	[[ -f "$state/url" ]] || die "no server in $state"
	url=$(cat "$state/url")
	[[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]] || die "database names here are [a-z_][a-z0-9_]*"
	PGOPTIONS="-c client_min_messages=warning" "$(find_bindir)/psql" -q -v ON_ERROR_STOP=1 "$url" \
		-c "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name" >/dev/null
	echo "${url%/*}/$name"
}

# Sourced (scripts/pgbouncer-server.sh): only the functions above.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
	return 0
fi

if [[ $# -eq 3 && "$1" == createdb ]]; then
	createdb "$2" "$3"
	exit 0
fi
if [[ $# -eq 3 && "$1" == standby ]]; then
	if [[ ! -f "$3/url" ]]; then
		# The primary was skipped (no PostgreSQL): so is its standby.
		[[ "${CI:-}" == "true" ]] && die "no server in $3 to make a standby of"
		echo "pg-server.sh: WARNING: no server in $3; the standby tests will be SKIPPED" >&2
		exit 0
	fi
	start "$2" "$3"
	exit 0
fi
[[ $# -eq 2 ]] || die "usage: pg-server.sh start|stop|crash|url STATE_DIR, or createdb STATE_DIR NAME"
case "$1" in
start) start "$2" ;;
stop) stop "$2" ;;
crash) crash "$2" ;;
url) [[ -f "$2/url" ]] || die "no server in $2"; cat "$2/url" ;;
*) die "unknown command $1" ;;
esac
