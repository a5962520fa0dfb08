/* Seed 001 (processing jobs for map-reduce RAG) as a libmigrate plan. */
#ifndef EXAMPLE_PROCESSING_JOBS_PLAN_H
#define EXAMPLE_PROCESSING_JOBS_PLAN_H

#include <migrate/migrate.h>

/*
 * Version 1 creates minimal profiles, conversations and messages tables
 * when they are absent (the application's own tables otherwise); version 2
 * is the seed: processing_jobs with its columns, defaults and foreign
 * keys, its four indexes, messages.job_id, and the updated_at trigger.
 * Reverting version 2 is the seed's rollback.
 */
int processing_jobs_plan(migrate_plan_t **out, migrate_error_t *err);

#endif
