/* Seed 003 (the jobs table for async operations) as a libmigrate plan. */
#ifndef EXAMPLE_JOBS_TABLE_PLAN_H
#define EXAMPLE_JOBS_TABLE_PLAN_H

#include <migrate/migrate.h>

/* One version: the jobstatus enum, the jobs table and its five indexes. */
int jobs_table_plan(migrate_plan_t **out, migrate_error_t *err);

#endif
