#!/usr/bin/env bash
# The README's first command: installs the few packages a build needs if they
# are missing, builds libmigrate and the quick-start example in build/, and
# runs it. Set BUILD_DIR to build elsewhere.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
build=${BUILD_DIR:-$root/build}

bash scripts/install-deps.sh --minimal

# A new tree uses Ninja; an existing one keeps its generator. The compiler and
# build type are those of scripts/test.sh, so the two share build/.
gen=()
[ -f "$build/CMakeCache.txt" ] || gen=(-G Ninja)
cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ >/dev/null
cmake --build "$build" --target quickstart --parallel "$(nproc)"

# The example defines the target; find the program it built.
program=$(find "$build" -path "$build/CMakeFiles" -prune -o -type f -name quickstart -perm -u+x -print | head -n 1)
if [ -z "$program" ]; then
	echo "quickstart: the build produced no quickstart program" >&2
	exit 1
fi
echo "quickstart: running ${program#"$root"/}"
cd "$build"
exec "$program"
