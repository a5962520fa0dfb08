/* Seed 000's SQLite plan file builds the quick start's plan (examples/quickstart). */
#include "cli_plans.h"
#include "harness.h"

/* The quick start builds its plan in a static function of its program: take the whole file. */
#define main quickstart_main
#include "../examples/quickstart/quickstart.c"
#undef main

/* Its plan is named "quickstart"; the file's "sessions_to_jobs". */
TEST(seed000_sqlite_matches_quickstart)
{
	cli_same_plan("000_sessions_to_jobs.sqlite.json", build_plan, 0);
}
