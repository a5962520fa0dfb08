#!/bin/sh
# Runs the static-linking recipe of README.md ("Linking the static
# library") word for word: the sh block after the "static recipe" marker,
# with `app.c` a copy of tests/consumer/main.c and `cc` the test's compiler
# in strict mode.
#
#   static_recipe.sh README C_COMPILER MAIN_C OUT_DIR [SANITIZE_FLAGS]
#
# PKG_CONFIG_PATH must name the installed tree's pkgconfig directory.
set -eu
readme=$1
compiler=$2
main_c=$3
out=$4
sanitize=${5:-}

recipe=$(sed -n '/^<!-- static recipe:/,/^```$/p' "$readme" | sed -e '1,/^```sh$/d' -e '/^```$/d')
if [ -z "$recipe" ]; then
	echo "no static recipe block in $readme" >&2
	exit 1
fi
cp "$main_c" "$out/app.c"
cd "$out"
cc() {
	# shellcheck disable=SC2086 # the flags are words
	"$compiler" $sanitize -std=c99 -Wall -Wextra -Wpedantic -Werror "$@"
}
printf 'recipe:\n%s\n' "$recipe"
eval "$recipe"
test -x app
