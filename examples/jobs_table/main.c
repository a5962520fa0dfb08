/*
 * Seed 003: the jobs table (jobstatus enum, five indexes) on PostgreSQL,
 * with the readiness check the seed asks for: /readyz fails while the table
 * is missing or a version is pending, and passes after up. The probe is the
 * library's drift check (migrate_check_schema, `migrate check --schema`):
 * the enum with its labels, the table with its columns and the five
 * indexes must all be there as the applied versions made them.
 *
 *   jobs_table URL [--status|--rollback|--check|--render|--cycle]
 *
 * --cycle runs up -> down -> up and checks readiness after each.
 */
#include "../pg_common/cli.h"
#include "plan.h"

int main(int argc, char **argv)
{
	static const example_t ex = {"jobs_table", jobs_table_plan, NULL, 0};

	return example_main(&ex, argc, argv);
}
