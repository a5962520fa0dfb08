/* The PostgreSQL seed plan files build the plans of examples/processing_jobs, collections and jobs_table. */
#include "cli_plans.h"
#include "harness.h"

#include "../examples/collections/plan.h"
#include "../examples/jobs_table/plan.h"
#include "../examples/processing_jobs/plan.h"

TEST(seed001_matches_processing_jobs)
{
	cli_same_plan("001_processing_jobs.postgres.json", processing_jobs_plan, 1);
}

TEST(seed002_matches_collections)
{
	cli_same_plan("002_collections.postgres.json", collections_plan, 1);
}

TEST(seed003_matches_jobs_table)
{
	cli_same_plan("003_jobs_table.postgres.json", jobs_table_plan, 1);
}
