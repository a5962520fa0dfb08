#!/usr/bin/env bash
# The static checks of docs/development.md, one per run; scripts/test.sh runs
# each as one step of its summary.
#
#   scripts/lint.sh format     clang-format --dry-run --Werror: the C files of
#                              FORMAT_PATHS agree with .clang-format
#   scripts/lint.sh tidy       clang-tidy (.clang-tidy) over the sources of LINT_PATHS
#   scripts/lint.sh cppcheck   cppcheck (warning, performance, portability;
#                              .cppcheck-suppressions) over the same sources
#
# tidy and cppcheck take the compile commands of a configured tree
# (BUILD_DIR/compile_commands.json; every configure of the project writes it).
# Each prints its findings and exits non-zero if there is any.
#
# Environment:
#   BUILD_DIR      the configured tree (default build)
#   LINT_PATHS     directories whose sources tidy and cppcheck check (default: lib)
#   LINT_EXCLUDE   a file listing sources they skip, one path a line, `#`
#                  comments (default scripts/lint-exclude.txt)
#   FORMAT_PATHS   directories the format check covers
#                  (default: lib include examples tests bench fuzz)
#   JOBS           parallel processes (default 2)
set -uo pipefail

cd "$(dirname "$0")/.."
root=$PWD
build_dir=${BUILD_DIR:-$root/build}
lint_paths=${LINT_PATHS:-lib}
exclude_file=${LINT_EXCLUDE:-$root/scripts/lint-exclude.txt}
format_paths=${FORMAT_PATHS:-lib include examples tests bench fuzz}
jobs=${JOBS:-2}

need() {
	if ! command -v "$1" >/dev/null; then
		echo "lint: $1 is not installed (scripts/install-deps.sh installs it)" >&2
		exit 1
	fi
}

# The compile commands of the sources to check, one entry a file, written
# to $1: those under LINT_PATHS, less LINT_EXCLUDE's. Include directories
# outside the source tree are dropped, for cppcheck, which need not (and
# cannot always) parse the system's and the client libraries' headers.
select_commands() {
	if [ ! -f "$build_dir/compile_commands.json" ]; then
		echo "lint: no $build_dir/compile_commands.json: configure the project first (BUILD_DIR)" >&2
		exit 1
	fi
	python3 - "$build_dir/compile_commands.json" "$1" "$root" "$exclude_file" $lint_paths <<'EOF'
import json, os, shlex, sys

src, dst, root, exclude_file, paths = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
exclude = set()
if os.path.exists(exclude_file):
    for line in open(exclude_file):
        line = line.split("#", 1)[0].strip()
        if line:
            exclude.add(os.path.join(root, line))
prefixes = [os.path.join(root, p.rstrip("/")) + "/" for p in paths]
seen, out = set(), []
for e in json.load(open(src)):
    f = os.path.normpath(os.path.join(e["directory"], e["file"]))
    if f in seen or f in exclude or not any(f.startswith(p) for p in prefixes):
        continue
    seen.add(f)
    args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
    kept, i = [], 0
    while i < len(args):
        a = args[i]
        if a in ("-I", "-isystem"):
            d, i = args[i + 1], i + 2
            if os.path.join(e["directory"], d).startswith(root + "/"):
                kept += ["-I", d]
            continue
        if a.startswith("-I") and not os.path.join(e["directory"], a[2:]).startswith(root + "/"):
            i += 1
            continue
        kept.append(a)
        i += 1
    out.append({"directory": e["directory"], "file": f, "command": shlex.join(kept)})
json.dump(out, open(dst, "w"), indent=1)
print(f"lint: {len(out)} sources under {' '.join(paths)}, {len(exclude)} excluded", file=sys.stderr)
EOF
}

sources_of() {
	python3 -c 'import json, sys; print("\n".join(e["file"] for e in json.load(open(sys.argv[1]))))' "$1"
}

run_format() {
	need clang-format
	local files bad=0 n=0 f
	# shellcheck disable=SC2086 # the paths are words
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		files=$(git ls-files -- $format_paths | grep -E '\.[ch]$')
	else
		files=$(find $format_paths -name '*.[ch]' 2>/dev/null | sort)
	fi
	for f in $files; do
		n=$((n + 1))
		if ! clang-format --dry-run --Werror "$f" 2>/dev/null; then
			echo "$f: not as .clang-format lays it out (clang-format -i $f)"
			bad=$((bad + 1))
		fi
	done
	echo "lint format: $bad of $n files differ from .clang-format"
	[ "$bad" -eq 0 ]
}

run_tidy() {
	need clang-tidy
	need python3
	local dir="$build_dir/lint"
	mkdir -p "$dir"
	select_commands "$dir/tidy.json" || return 1
	# clang-tidy reads the build's own database (the selection only lists
	# the files); gcc's warning options clang does not know are not findings.
	sources_of "$dir/tidy.json" | xargs -P "$jobs" -n 1 clang-tidy -p "$build_dir" --quiet \
		--extra-arg=-Wno-unknown-warning-option 2>&1 | grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' |
		tee "$dir/tidy.log"
	local rc=${PIPESTATUS[1]} findings
	findings=$(grep -cE ': (warning|error): ' "$dir/tidy.log")
	echo "lint tidy: $findings findings"
	[ "$rc" -eq 0 ] && [ "$findings" -eq 0 ]
}

run_cppcheck() {
	need cppcheck
	need python3
	local dir="$build_dir/lint"
	mkdir -p "$dir/cppcheck"
	select_commands "$dir/cppcheck/compile_commands.json" || return 1
	cppcheck --project="$dir/cppcheck/compile_commands.json" --std=c11 -j "$jobs" --quiet \
		--enable=warning,performance,portability --inline-suppr \
		--suppressions-list="$root/.cppcheck-suppressions" --error-exitcode=1 \
		--template='{file}:{line}:{column}: {severity}: {message} [{id}]' 2>&1 | tee "$dir/cppcheck.log"
	local rc=${PIPESTATUS[0]}
	echo "lint cppcheck: $(grep -c ': \(error\|warning\|performance\|portability\|style\|information\): ' "$dir/cppcheck.log") findings"
	[ "$rc" -eq 0 ]
}

case "${1:-}" in
format) run_format ;;
tidy) run_tidy ;;
cppcheck) run_cppcheck ;;
*)
	echo "usage: $0 format|tidy|cppcheck" >&2
	exit 2
	;;
esac
