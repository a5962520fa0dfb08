#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ in their own tree and runs each in
# turn for a bounded time, one process at a time:
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default: 60 s, every target)
#
# The seed corpora (tests/planfiles, examples/plans, fuzz/regressions) are
# copied into a working corpus per target, FUZZ_DIR/corpus/TARGET, which
# grows from run to run. A crash, leak or timeout leaves its input in
# FUZZ_DIR/crashes/TARGET/; keep it as fuzz/regressions/NAME.json once
# fixed. Ends with a table (target, executions, corpus size, crashes) and
# exits non-zero if any target found one.
#
# Environment: FUZZ_DIR (default build-fuzz), JOBS (build, default 2),
# FUZZ_FLAGS (extra libFuzzer flags, e.g. -max_len=4096).
set -uo pipefail

cd "$(dirname "$0")/.."
root=$PWD
dir=${FUZZ_DIR:-$root/build-fuzz}
seconds=${1:-60}
[ $# -gt 0 ] && shift
jobs=${JOBS:-2}

case "$seconds" in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS] [TARGET...]" >&2
	exit 2
	;;
esac

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

gen=()
[ -f "$dir/CMakeCache.txt" ] || gen=(-G Ninja)
cmake -S "$root" -B "$dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_C_FLAGS_DEBUG=-g -O1" \
	-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DMIGRATE_SANITIZE=ON -DMIGRATE_FUZZ=ON \
	-DMIGRATE_WERROR=ON -DMIGRATE_TESTS=OFF -DMIGRATE_EXAMPLES=OFF -DMIGRATE_BENCH=OFF -DMIGRATE_TOOL=OFF >/dev/null || exit 1
cmake --build "$dir" --parallel "$jobs" || exit 1

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for exe in "$dir"/fuzz/fuzz_*; do
		[ -x "$exe" ] && [ -f "$exe" ] && targets+=("$(basename "$exe")")
	done
fi

rows=()
found=0
for t in "${targets[@]}"; do
	exe=$dir/fuzz/$t
	if [ ! -x "$exe" ]; then
		echo "fuzz.sh: no target $t in $dir/fuzz" >&2
		exit 2
	fi
	corpus=$dir/corpus/$t
	crashes=$dir/crashes/$t
	log=$dir/logs/$t.log
	mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
	for seeds in tests/planfiles examples/plans fuzz/regressions; do
		find "$seeds" -maxdepth 1 -type f -name '*.json' -exec cp -n {} "$corpus"/ \;
	done
	before=$(find "$crashes" -type f | wc -l)
	printf '\n==== %s: %d s\n' "$t" "$seconds"
	# shellcheck disable=SC2086
	"$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-dict="$root/fuzz/plan.dict" -artifact_prefix="$crashes/" ${FUZZ_FLAGS:-} "$corpus" >"$log" 2>&1
	rc=$?
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
	[ -n "$execs" ] || execs=$(sed -nE 's/^#([0-9]+).*/\1/p' "$log" | tail -n 1)
	after=$(find "$crashes" -type f | wc -l)
	new=$((after - before))
	if [ "$rc" -ne 0 ] && [ "$new" -eq 0 ]; then
		new=1 # died without an artifact: the log says why
	fi
	if [ "$new" -gt 0 ]; then
		found=1
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5
		echo "log: $log; inputs: $crashes/"
	fi
	rows+=("$(printf '%-26s %12s %8s %8s' "$t" "${execs:-?}" "$(find "$corpus" -type f | wc -l)" "$new")")
done

printf '\n%-26s %12s %8s %8s\n' target executions corpus crashes
printf '%s\n' "${rows[@]}"
exit "$found"
