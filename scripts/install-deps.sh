#!/usr/bin/env bash
# Installs what libmigrate needs on Debian (or Ubuntu), skipping packages that
# are already there, so a second run costs a few dpkg queries.
#
#   scripts/install-deps.sh            everything: drivers, test servers, tools
#   scripts/install-deps.sh --minimal  only what building the library and the
#                                      quick start needs
#
# Runs apt-get as root, or through sudo when it is available. Afterwards it
# runs scripts/install-ferretdb.sh, if present, for the MongoDB test server.
set -euo pipefail

cd "$(dirname "$0")/.."

minimal=(build-essential cmake ninja-build pkg-config libbson-dev libsqlite3-dev)
full=("${minimal[@]}" libssl-dev clang libmongoc-dev libpq-dev postgresql postgresql-contrib
	valgrind cppcheck clang-tidy clang-format doxygen python3-pytest python3-venv python3-pip groff-base
	default-jdk-headless maven)
# clang's sanitizer and libFuzzer runtimes: their own package on Debian 12,
# part of libclang-common-*-dev on older releases.
if apt-cache show libclang-rt-dev >/dev/null 2>&1; then
	full+=(libclang-rt-dev)
fi

# PgBouncer, for the connection pooler tests (scripts/pgbouncer-server.sh).
full+=(pgbouncer)

packages=("${full[@]}")
case "${1:-}" in
--minimal) packages=("${minimal[@]}") ;;
"") ;;
*)
	echo "usage: $0 [--minimal]" >&2
	exit 2
	;;
esac

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if ! command -v apt-get >/dev/null; then
		echo "install-deps: no apt-get; install these yourself: ${missing[*]}" >&2
		exit 1
	fi
	sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null; then
			echo "install-deps: not root and no sudo; as root run: apt-get install ${missing[*]}" >&2
			exit 1
		fi
		sudo=(sudo)
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -q
	"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
	echo "install-deps: all ${#packages[@]} packages present"
fi

# The CLI tests validate the plan files against docs/plan.schema.json.
if [ "${1:-}" != "--minimal" ] && command -v python3 >/dev/null && ! python3 -c 'import jsonschema' 2>/dev/null; then
	echo "install-deps: installing the python3 jsonschema package"
	python3 -m pip install -q jsonschema 2>/dev/null ||
		python3 -m pip install -q --break-system-packages jsonschema ||
		echo "install-deps: could not install jsonschema (apt-get install python3-jsonschema)" >&2
fi

# The switching tests (tests/foreign_test.py, docs/switching.md) run the
# original tools first: goose and golang-migrate, built once with go into
# ~/.cache/libmigrate (a few seconds when present: nothing is done).
cache="${XDG_CACHE_HOME:-$HOME/.cache}/libmigrate"
go_tool() { # BIN_PATH MODULE@VERSION [TAGS]
	[ -x "$1" ] && return 0
	if ! command -v go >/dev/null; then
		echo "install-deps: go is needed to build $(basename "$1") for the switching tests" >&2
		return 1
	fi
	echo "install-deps: building $2 into $(dirname "$1")"
	mkdir -p "$(dirname "$1")"
	GOBIN="$(dirname "$1")" go install ${3:+-tags "$3"} "$2"
}
# Flyway: its jars from Maven Central (the tests run it through the small
# main of tests/foreign/runner/, compiled by the test).
flyway_jars() {
	local dir="$cache/flyway" version=13.12.2
	[ -f "$dir/jars/flyway-core-$version.jar" ] && return 0
	if ! command -v mvn >/dev/null; then
		echo "install-deps: maven is needed to fetch Flyway for the switching tests" >&2
		return 1
	fi
	echo "install-deps: fetching Flyway $version into $dir/jars"
	mkdir -p "$dir"
	cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>libmigrate</groupId><artifactId>flyway-runner</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.flywaydb</groupId><artifactId>flyway-core</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.flywaydb</groupId><artifactId>flyway-database-postgresql</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.postgresql</groupId><artifactId>postgresql</artifactId><version>42.7.4</version></dependency>
  </dependencies>
</project>
POM
	(cd "$dir" && mvn -q -B dependency:copy-dependencies -DoutputDirectory="$dir/jars")
}
if [ "${1:-}" != "--minimal" ]; then
	flyway_jars || echo "install-deps: Flyway not installed: the switching tests will fail under CI" >&2
	go_tool "$cache/bin/goose" github.com/pressly/goose/v3/cmd/goose@v3.30.1 ||
		echo "install-deps: goose not installed: the switching tests will fail under CI" >&2
	go_tool "$cache/golang-migrate/bin/migrate" github.com/golang-migrate/migrate/v4/cmd/migrate@v4.20.1 \
		"postgres mongodb" || echo "install-deps: golang-migrate not installed: the switching tests will fail under CI" >&2
fi

if [ "${1:-}" != "--minimal" ] && [ -f scripts/install-ferretdb.sh ]; then
	bash scripts/install-ferretdb.sh
fi
