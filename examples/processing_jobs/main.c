/*
 * Seed 001: the processing_jobs table for map-reduce RAG on PostgreSQL.
 *
 *   processing_jobs URL [--status|--rollback|--check|--render|--cycle]
 *
 * With only a URL it applies the plan (plan.c) and leaves the database
 * migrated; --rollback is the seed's rollback (version 2 reverted).
 */
#include <stdlib.h>
#include <string.h>

#include "../pg_common/cli.h"
#include "plan.h"

int main(int argc, char **argv)
{
	static const example_t ex = {"processing_jobs", processing_jobs_plan, NULL, 1};

	return example_main(&ex, argc, argv);
}
