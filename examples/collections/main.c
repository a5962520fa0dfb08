/*
 * Seed 002: from job-centric to collection-centric on PostgreSQL. The
 * program first creates the legacy jobs and documents tables with sample
 * data when they are absent, then migrates them.
 *
 *   collections URL [--status|--rollback|--check|--render|--cycle]
 */
#include "../pg_common/cli.h"
#include "plan.h"

static int ready(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT to_regclass('collections') IS NOT NULL");
	int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't';

	PQclear(r);
	return ok;
}

int main(int argc, char **argv)
{
	static const example_t ex = {"collections", collections_plan, collections_sample_data, ready, 0};

	return example_main(&ex, argc, argv);
}
