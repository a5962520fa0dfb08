/*
 * Seed 003: the jobs table (jobstatus enum, five indexes) on PostgreSQL,
 * with the readiness check the seed asks for: /readyz fails while the table
 * is missing or a version is pending, and passes after up.
 *
 *   jobs_table URL [--status|--rollback|--check|--render|--cycle]
 *
 * --cycle runs up -> down -> up and checks readiness after each.
 */
#include "../pg_common/cli.h"
#include "plan.h"

static int ready(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT to_regclass('jobs') IS NOT NULL");
	int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't';

	PQclear(r);
	return ok;
}

int main(int argc, char **argv)
{
	static const example_t ex = {"jobs_table", jobs_table_plan, NULL, ready, 0};

	return example_main(&ex, argc, argv);
}
