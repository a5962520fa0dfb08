/*
 * Validation against the SQLite driver, on an in-memory database that
 * stays empty; then the dry run of each step the driver accepts, and of
 * the whole plan (migrate_render), which lower steps without writing.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static migrate_target_t *target;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	migrate_error_t err;

	fuzz_log_everything();
	if (migrate_target_open(&target, "sqlite::memory:", &err) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	migrate_plan_t *plan = fuzz_plan_from_input(data, size);
	migrate_error_t err;
	char *text = NULL;

	if (!plan)
		return 0;
	fuzz_validate(target, plan);
	fuzz_render_steps(target, plan);
	memset(&err, 0, sizeof err);
	if (migrate_render(target, plan, 0, &text, &err) != 0)
		fuzz_check_error(&err);
	migrate_free(text);
	migrate_plan_destroy(plan);
	return 0;
}
