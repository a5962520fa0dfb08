/*
 * Validation against the PostgreSQL driver without a server: the driver's
 * state with no connection. Its check lowers every step with the catalog
 * turned off; the dry run of each step lowers it again as if the catalog
 * had nothing to say.
 */
#include <string.h>

#include "fuzz.h"
#include "postgres/pg.h"

static pg_target_t pg;
static migrate_target_t target = {&migrate__postgres_driver, &pg};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_everything();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	migrate_plan_t *plan = fuzz_plan_from_input(data, size);

	if (!plan)
		return 0;
	fuzz_validate(&target, plan);
	fuzz_render_steps(&target, plan);
	migrate_plan_destroy(plan);
	return 0;
}
