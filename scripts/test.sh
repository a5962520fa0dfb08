#!/usr/bin/env bash
# The README's second command, and what CI runs (.ci/run): installs whatever
# is missing, then builds and tests two trees with warnings as errors:
#
#   build/       gcc, RelWithDebInfo: the whole CTest suite
#   build-asan/  clang, AddressSanitizer + UndefinedBehaviorSanitizer: the
#                whole suite again (and the clang build), plus a short run of
#                each libFuzzer target of fuzz/ (scripts/fuzz.sh runs longer)
#
# and between the two the static checks of scripts/lint.sh, each one step:
# clang-format, clang-tidy and cppcheck (docs/development.md).
#
# It keeps going after a failure so one run reports everything, ends with a
# plain line "N passed, M failed, K skipped" and exits non-zero if anything
# failed (a configure or build failure counts as one failure).
#
# Environment: BUILD_DIR, ASAN_BUILD_DIR (tree locations), JOBS (default 2),
# MIGRATE_SKIP_DEPS=1 (do not run install-deps.sh), MIGRATE_SKIP_ASAN=1
# (only the main tree), MIGRATE_ASAN_SWEEP_STRIDE (the sanitized tree's
# fault sweeps try every Nth point, default 3), CI=true (a test whose server
# cannot start fails), MIGRATE_SKIP_LINT (static checks not to run, e.g.
# "format" or "tidy cppcheck"; 1 for all), and scripts/lint.sh's LINT_PATHS,
# LINT_EXCLUDE and FORMAT_PATHS (what the checks cover).
set -uo pipefail

cd "$(dirname "$0")/.."
root=$PWD
main_dir=${BUILD_DIR:-$root/build}
asan_dir=${ASAN_BUILD_DIR:-$root/build-asan}
jobs=${JOBS:-2}

export CTEST_OUTPUT_ON_FAILURE=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ -f "$root/tests/lsan.supp" ]; then
	export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}
fi

passed=0
failed=0
skipped=0
failures=()

fail() {
	failed=$((failed + 1))
	failures+=("$1")
}

section() {
	printf '\n==== %s (%ds)\n' "$1" "$SECONDS"
}

# configure DIR ARGS...: a new tree uses Ninja; an existing one keeps its generator.
configure() {
	local dir=$1
	shift
	local gen=()
	[ -f "$dir/CMakeCache.txt" ] || gen=(-G Ninja)
	cmake -S "$root" -B "$dir" "${gen[@]}" -DMIGRATE_WERROR=ON -DMIGRATE_TESTS=ON -DMIGRATE_EXAMPLES=ON "$@"
}

# build DIR: everything, going on past errors to report them all.
build() {
	local keep=(-k)
	grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$1/CMakeCache.txt" && keep=(-k 0)
	cmake --build "$1" --parallel "$jobs" -- "${keep[@]}"
}

# run_tests DIR NAME: the CTest suite; adds its counts to the totals.
run_tests() {
	local dir=$1 name=$2 log="$1/ctest.log"
	# The conformance suite's fault sweeps append their counts here.
	export MIGRATE_SWEEP_REPORT="$dir/sweeps.txt"
	rm -f "$MIGRATE_SWEEP_REPORT"
	(cd "$dir" && ctest --output-on-failure -j"$jobs") 2>&1 | tee "$log"
	if [ -s "$MIGRATE_SWEEP_REPORT" ]; then
		echo "fault sweeps ($name):"
		sort "$MIGRATE_SWEEP_REPORT"
	fi
	local summary total tfailed tskipped
	summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
	if [ -z "$summary" ]; then
		fail "$name: ctest ran no tests"
		return
	fi
	tfailed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$summary")
	total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
	tskipped=$(grep -cE '^[[:space:]]*[0-9]+ - .*\(Skipped\)$' "$log")
	passed=$((passed + total - tfailed - tskipped))
	skipped=$((skipped + tskipped))
	failed=$((failed + tfailed))
	[ "$tfailed" -eq 0 ] || failures+=("$name: $tfailed tests (see $log)")
}

# tree DIR NAME CONFIGURE-ARGS...: configure, build and test one tree.
tree() {
	local dir=$1 name=$2
	shift 2
	section "$name: configure"
	if ! configure "$dir" "$@"; then
		fail "$name: configure"
		return
	fi
	section "$name: build"
	# A partial build still runs its tests: the missing programs fail, the rest report.
	build "$dir" || fail "$name: build"
	section "$name: test"
	run_tests "$dir" "$name"
}

# lint NAME: one static check of scripts/lint.sh, against the gcc tree's
# compile commands; one pass or one failure.
lint() {
	local name=$1
	case " ${MIGRATE_SKIP_LINT:-} " in
	" 1 " | *" $name "*)
		skipped=$((skipped + 1))
		return
		;;
	esac
	section "lint: $name"
	if BUILD_DIR="$main_dir" JOBS="$jobs" bash scripts/lint.sh "$name"; then
		passed=$((passed + 1))
	else
		fail "lint: $name (scripts/lint.sh $name)"
	fi
}

if [ -z "${MIGRATE_SKIP_DEPS:-}" ]; then
	section "dependencies"
	bash scripts/install-deps.sh || fail "install-deps.sh"
fi

tree "$main_dir" "gcc" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
	-DMIGRATE_SANITIZE=OFF -DMIGRATE_BENCH=ON

for check in format tidy cppcheck; do
	lint "$check"
done

if [ -z "${MIGRATE_SKIP_ASAN:-}" ]; then
	# The gcc tree sweeps every fault point of the conformance suite; the
	# sanitized tree, several times slower, samples every third one.
	export MIGRATE_SWEEP_STRIDE=${MIGRATE_ASAN_SWEEP_STRIDE:-3}
	tree "$asan_dir" "clang-asan" -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_C_FLAGS_DEBUG=-g -O1" \
		"-DCMAKE_CXX_FLAGS_DEBUG=-g -O1" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
		-DMIGRATE_SANITIZE=ON -DMIGRATE_FUZZ=ON -DMIGRATE_BENCH=OFF
fi

section "summary"
for f in "${failures[@]}"; do
	echo "FAILED: $f"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
