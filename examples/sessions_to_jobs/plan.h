/*
 * Seed 000 (sessions -> jobs) as a libmigrate plan for MongoDB, and sample
 * data in the old shape. Shared by the example program and the tests.
 */
#ifndef SESSIONS_TO_JOBS_PLAN_H
#define SESSIONS_TO_JOBS_PLAN_H

#include <migrate/migrate.h>
#include <mongoc/mongoc.h>

/*
 * The plan "sessions_to_jobs":
 *   1  rename sessions -> jobs, create the new sessions (seed 2.1, 2.2)
 *   2  new job fields, status mapping, initial counters (3.1 - 3.3)
 *   3  the eleven indexes (4.1, 4.2)
 *   4  the verification queries of 6 as assertions
 *   5  only with `drop_arrays`: remove tool_ids and tool_failure_ids (3.4)
 * `down` reverts 4 .. 1, which is the rollback of 7 (drop the new sessions,
 * rename jobs back); statuses mapped to "processing" cannot be told apart
 * again, so they stay mapped (the seed restores them from a backup).
 */
int sessions_to_jobs_plan(migrate_plan_t **out, int drop_arrays, migrate_error_t *err);

/*
 * Inserts `n` sessions in the old shape (status among the old values,
 * tool_ids and tool_failure_ids arrays, some missing or null) into `db`.
 * Returns 0, or -1 with `error` filled.
 */
int sessions_to_jobs_sample(mongoc_client_t *client, const char *db, int n, bson_error_t *error);

#endif
