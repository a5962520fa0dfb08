/* Seed 002 as a plan, and its sample data; see plan.h. */
#include "plan.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_MODEL "sentence-transformers/all-MiniLM-L6-v2"

static const char *const v1[] = {
	"{\"op\":\"create_table\",\"table\":\"collections\",\"primary_key\":[\"id\"],\"columns\":["
	"{\"name\":\"id\",\"type\":\"uuid\",\"nullable\":false,\"default\":\"uuid\"},"
	"{\"name\":\"name\",\"type\":\"text\",\"nullable\":false},"
	"{\"name\":\"model_name\",\"type\":\"text\",\"nullable\":false,\"unique\":true},"
	"{\"name\":\"created_at\",\"type\":\"timestamp\",\"default\":\"now\"}]}",
	"{\"op\":\"create_table\",\"table\":\"operations\",\"primary_key\":[\"id\"],\"columns\":["
	"{\"name\":\"id\",\"type\":\"uuid\",\"nullable\":false,\"default\":\"uuid\"},"
	"{\"name\":\"collection_id\",\"type\":\"uuid\",\"nullable\":false,"
	"\"references\":{\"table\":\"collections\",\"column\":\"id\",\"on_delete\":\"cascade\"}},"
	"{\"name\":\"type\",\"type\":\"text\",\"nullable\":false},"
	"{\"name\":\"status\",\"type\":\"text\"},"
	"{\"name\":\"created_at\",\"type\":\"timestamp\",\"default\":\"now\"}]}",
	"{\"op\":\"add_column\",\"table\":\"documents\",\"column\":{\"name\":\"collection_id\",\"type\":\"uuid\","
	"\"references\":{\"table\":\"collections\",\"column\":\"id\"}}}",
	"{\"op\":\"create_index\",\"table\":\"documents\",\"name\":\"idx_documents_collection\",\"online\":true,"
	"\"keys\":[{\"column\":\"collection_id\"}]}",
};

/*
 * The seed's steps 1 and 2: a collection per model of the completed jobs,
 * then an operation per job of those models. As the guide writes them, with
 * one change: it groups by the coalesced model name, not by model_name. The
 * guide's GROUP BY makes two collections of the default model when completed
 * jobs both name it and leave it NULL, which the unique model_name refuses
 * (and step 2 would give each such job two operations with one id). Wherever
 * the guide's SQL succeeds, the two give the same rows (README.md).
 */
#define MOVE_COLLECTIONS                                                                                             \
	"INSERT INTO collections (id, name, model_name, created_at) "                                                \
	"SELECT gen_random_uuid(), 'Migrated Documents', COALESCE(model_name, '" DEFAULT_MODEL "'), NOW() "          \
	"FROM jobs WHERE status = 'completed' GROUP BY COALESCE(model_name, '" DEFAULT_MODEL "'); "                  \
	"INSERT INTO operations (id, collection_id, type, status, created_at) "                                      \
	"SELECT j.id, c.id, CASE WHEN j.job_type = 'index' THEN 'index' WHEN j.job_type = 'reindex' THEN 'reindex' " \
	"ELSE 'index' END, j.status, j.created_at FROM jobs j "
/* It changes rows only: it declares no schema object, so drift detection stays complete. */
#define MOVE_DOWN "\",\"down\":\"DELETE FROM operations; DELETE FROM collections\",\"declares\":[]}"

/* The guide's join: a job whose model_name is NULL gets no operation. */
static const char *const move_jobs =
	"{\"op\":\"sql\",\"up\":\"" MOVE_COLLECTIONS "JOIN collections c ON c.model_name = j.model_name" MOVE_DOWN;

/* COLLECTIONS_JOBS_WITHOUT_MODEL: such a job joins the default model's collection. */
static const char *const move_all_jobs =
	"{\"op\":\"sql\",\"up\":\"" MOVE_COLLECTIONS
	"JOIN collections c ON c.model_name = COALESCE(j.model_name, '" DEFAULT_MODEL "')" MOVE_DOWN;

/* "Common pitfalls 4": job statuses become operation statuses. */
static const char *const statuses =
	"{\"op\":\"map_values\",\"table\":\"operations\",\"column\":\"status\",\"map\":{\"indexing\":\"processing\"}}";

/* The seed's step 3, batched by document id; its down clears the link before the rows above go. */
static const char *const reassociate =
	"{\"op\":\"backfill\",\"table\":\"documents\",\"where\":{\"job_id\":{\"$exists\":true}},"
	"\"set\":{\"collection_id\":{\"sql\":\"SELECT o.collection_id FROM operations o WHERE o.id = documents.job_id\"}},"
	"\"down\":[{\"op\":\"sql\",\"up\":\"UPDATE documents SET collection_id = NULL\"}]}";

static const char *const checks[] = {
	"{\"op\":\"assert\",\"sql\":\"SELECT count(*) FROM documents d JOIN operations o ON o.id = d.job_id "
	"WHERE d.collection_id IS DISTINCT FROM o.collection_id\",\"expect\":0,"
	"\"message\":\"every document of a migrated job belongs to its collection\"}",
	"{\"op\":\"assert\",\"count\":{\"table\":\"operations\",\"where\":{\"status\":\"indexing\"}},\"expect\":0}",
};

static int add_all(migrate_version_t *v, const char *const *steps, size_t n, migrate_error_t *err)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if ((rc = migrate_version_add_step_json(v, steps[i], NULL, err)))
			return rc;
	return 0;
}

int collections_plan(migrate_plan_t **out, migrate_error_t *err)
{
	return collections_plan_with(out, 0, err);
}

int collections_plan_with(migrate_plan_t **out, unsigned flags, migrate_error_t *err)
{
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	int rc;

	if ((rc = migrate_plan_new(&plan, "collections", err)) ||
	    (rc = migrate_plan_add_version(plan, 1, "collections and operations", &v, err)) ||
	    (rc = add_all(v, v1, sizeof v1 / sizeof v1[0], err)) ||
	    (rc = migrate_plan_add_version(plan, 2, "jobs to collections and operations", &v, err)) ||
	    (rc = migrate_version_add_step_json(v, (flags & COLLECTIONS_JOBS_WITHOUT_MODEL) ? move_all_jobs : move_jobs,
						NULL, err)) ||
	    (rc = migrate_version_add_step_json(v, statuses, NULL, err)) ||
	    (rc = migrate_version_add_step_json(v, reassociate, NULL, err)) ||
	    (rc = add_all(v, checks, sizeof checks / sizeof checks[0], err))) {
		migrate_plan_destroy(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

/*
 * 300 jobs of four models, every eleventh without one (27), in all statuses;
 * 20,000 documents, every seventh without a job.
 */
static const char *const legacy =
	"BEGIN;"
	"CREATE TABLE jobs (id uuid PRIMARY KEY, job_type text, status text, model_name text, "
	"created_at timestamptz DEFAULT now());"
	"CREATE TABLE documents (id bigint PRIMARY KEY, job_id uuid REFERENCES jobs(id), path text);"
	"INSERT INTO jobs SELECT ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid, "
	"(ARRAY['index', 'reindex', 'export'])[1 + g % 3], "
	"(ARRAY['completed', 'completed', 'indexing', 'failed', 'pending'])[1 + g % 5], "
	"CASE WHEN g % 11 = 0 THEN NULL ELSE 'model-' || g % 4 END, now() - g * interval '1 hour' "
	"FROM generate_series(1, 300) g;"
	"INSERT INTO documents SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE "
	"('00000000-0000-0000-0000-' || lpad((1 + g % 300)::text, 12, '0'))::uuid END, '/docs/file-' || g || '.md' "
	"FROM generate_series(1, 20000) g;"
	"COMMIT";

int collections_sample_data(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT to_regclass('jobs') IS NULL");
	int missing = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't';

	PQclear(r);
	if (!missing)
		return 0;
	r = PQexec(c, legacy);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "collections: creating the sample data: %s", PQerrorMessage(c));
		PQclear(r);
		PQclear(PQexec(c, "ROLLBACK"));
		return 1;
	}
	PQclear(r);
	printf("collections: created the legacy jobs and documents tables with sample data\n");
	return 0;
}
