/*
 * Seed 002: from job-centric to collection-centric on PostgreSQL. The
 * program first creates the legacy jobs and documents tables with sample
 * data when they are absent, then migrates them.
 *
 *   collections URL [--status|--rollback|--check|--render|--cycle]
 */
#include "../pg_common/cli.h"
#include "plan.h"

int main(int argc, char **argv)
{
	static const example_t ex = {"collections", collections_plan, collections_sample_data, 0};

	return example_main(&ex, argc, argv);
}
