#!/usr/bin/env bash
# Build FerretDB (the MongoDB wire-protocol server the MongoDB driver is tested
# against) into a cache folder. Idempotent: an existing binary of the right
# version is kept. Prints the path of the binary on success.
#
#   scripts/install-ferretdb.sh            # builds v1.24.2 (or a neighbour)
#   FERRETDB_VERSION=v1.24.1 scripts/install-ferretdb.sh
#
# The first build fetches modules from the Go module proxy and compiles for
# several minutes on a small machine.
set -euo pipefail

cache="${MIGRATE_CACHE:-$HOME/.cache/libmigrate}"
bindir="$cache/bin"
want="${FERRETDB_VERSION:-v1.24.2}"
# Neighbouring releases tried, in order, when the wanted one does not build
# with the machine's Go.
fallbacks="${FERRETDB_FALLBACKS:-v1.24.1 v1.24.0}"

mkdir -p "$bindir"

installed_version() {
	# FerretDB prints "version: v1.24.2" among other lines.
	"$1" --version 2>/dev/null | awk '/^version:/ {print $2; exit}'
}

if [ -x "$bindir/ferretdb" ]; then
	have="$(installed_version "$bindir/ferretdb" || true)"
	case " $want $fallbacks " in
	*" $have "*)
		echo "$bindir/ferretdb"
		exit 0
		;;
	esac
fi

if ! command -v go >/dev/null 2>&1; then
	echo "install-ferretdb: go is not installed (apt-get install golang-go)" >&2
	exit 1
fi

export GOTOOLCHAIN=local
export GOBIN="$bindir"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

# `go install pkg@version` also asks the proxy for the module's version list
# (to report deprecations); a proxy that serves the pinned version but refuses
# the list (403) makes it fail before building. Besides, the module zip ships
# an empty build/version/version.txt, and a binary built with FerretDB as its
# main module panics at start-up without it ("Invalid build/version/version.txt
# file content"). So the fallback builds a copy of the module source, pinned by
# its own go.mod and go.sum, with version.txt filled in as upstream's
# `task gen-version` would.
build_from_module_dir() {
	local v="$1" dir tmp rc
	dir="$(cd / && go mod download -json "github.com/FerretDB/FerretDB@$v" |
		awk -F'"' '/"Dir":/ {print $4}')" || return 1
	[ -n "$dir" ] && [ -d "$dir" ] || return 1
	tmp="$(mktemp -d)"
	cp -r "$dir/." "$tmp/"
	chmod -R u+w "$tmp"
	echo "$v" >"$tmp/build/version/version.txt"
	rc=0
	(cd "$tmp" && go install ./cmd/ferretdb) || rc=$?
	rm -rf "$tmp"
	return $rc
}

# A build counts only if the binary starts and reports its version.
works() {
	[ -n "$(installed_version "$bindir/ferretdb" || true)" ]
}

log="$cache/ferretdb-build.log"
: >"$log"
for v in $want $fallbacks; do
	echo "install-ferretdb: building FerretDB $v with $(go version)" >&2
	if go install "github.com/FerretDB/FerretDB/cmd/ferretdb@$v" >>"$log" 2>&1 && works; then
		echo "$bindir/ferretdb"
		exit 0
	fi
	echo "install-ferretdb: 'go install ...@$v' failed (see $log); building from the module directory" >&2
	if build_from_module_dir "$v" >>"$log" 2>&1 && works; then
		echo "$bindir/ferretdb"
		exit 0
	fi
	echo "install-ferretdb: FerretDB $v failed to build; see $log" >&2
	tail -n 20 "$log" >&2
done
exit 1
