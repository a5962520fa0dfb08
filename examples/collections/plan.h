/* Seed 002 (job-centric to collection-centric) as a libmigrate plan. */
#ifndef EXAMPLE_COLLECTIONS_PLAN_H
#define EXAMPLE_COLLECTIONS_PLAN_H

#include <libpq-fe.h>

#include <migrate/migrate.h>

/*
 * Version 1: the collections and operations tables and
 * documents.collection_id (indexed online). Version 2: the data migration:
 * a collection per embedding model of the completed jobs, an operation per
 * job, the status terminology change (indexing -> processing), and every
 * document re-associated with its job's collection in batches.
 */
int collections_plan(migrate_plan_t **out, migrate_error_t *err);

/*
 * Jobs whose model_name is NULL join the default model's collection and get
 * an operation (the guide's SQL skips them; README.md).
 */
#define COLLECTIONS_JOBS_WITHOUT_MODEL 1u

/* collections_plan, with COLLECTIONS_* flags. */
int collections_plan_with(migrate_plan_t **out, unsigned flags, migrate_error_t *err);

/*
 * The legacy job-centric schema with sample data (300 jobs, 27 of them
 * without a model, and 20,000 documents), created when the jobs table is absent. 0 on success.
 */
int collections_sample_data(PGconn *c);

#endif
