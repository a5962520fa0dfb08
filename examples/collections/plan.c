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

/* The seed's steps 1 and 2: collections from the completed jobs' models, then an operation per job. */
static const char *const move_jobs =
	"{\"op\":\"sql\",\"up\":\""
	"INSERT INTO collections (id, name, model_name, created_at) "
	"SELECT gen_random_uuid(), 'Migrated Documents (' || COALESCE(model_name, '" DEFAULT_MODEL "') || ')', "
	"COALESCE(model_name, '" DEFAULT_MODEL "'), NOW() FROM jobs WHERE status = 'completed' "
	"GROUP BY COALESCE(model_name, '" DEFAULT_MODEL "'); "
	"INSERT INTO operations (id, collection_id, type, status, created_at) "
	"SELECT j.id, c.id, CASE WHEN j.job_type = 'index' THEN 'index' WHEN j.job_type = 'reindex' THEN 'reindex' "
	"ELSE 'index' END, j.status, j.created_at FROM jobs j "
	"JOIN collections c ON c.model_name = COALESCE(j.model_name, '" DEFAULT_MODEL "')\","
	"\"down\":\"DELETE FROM operations; DELETE FROM collections\"}";

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
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	int rc;

	if ((rc = migrate_plan_new(&plan, "collections", err)) ||
	    (rc = migrate_plan_add_version(plan, 1, "collections and operations", &v, err)) ||
	    (rc = add_all(v, v1, sizeof v1 / sizeof v1[0], err)) ||
	    (rc = migrate_plan_add_version(plan, 2, "jobs to collections and operations", &v, err)) ||
	    (rc = migrate_version_add_step_json(v, move_jobs, NULL, err)) ||
	    (rc = migrate_version_add_step_json(v, statuses, NULL, err)) ||
	    (rc = migrate_version_add_step_json(v, reassociate, NULL, err)) ||
	    (rc = add_all(v, checks, sizeof checks / sizeof checks[0], err))) {
		migrate_plan_destroy(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

static const char *const legacy =
	"BEGIN;"
	"CREATE TABLE jobs (id uuid PRIMARY KEY, job_type text, status text, model_name text, "
	"created_at timestamptz DEFAULT now());"
	"CREATE TABLE documents (id bigint PRIMARY KEY, job_id uuid REFERENCES jobs(id), path text);"
	"INSERT INTO jobs VALUES "
	"('00000000-0000-0000-0000-000000000001', 'index', 'completed', 'model-a', now() - interval '5 days'),"
	"('00000000-0000-0000-0000-000000000002', 'reindex', 'completed', 'model-a', now() - interval '4 days'),"
	"('00000000-0000-0000-0000-000000000003', 'index', 'indexing', 'model-a', now() - interval '3 days'),"
	"('00000000-0000-0000-0000-000000000004', 'index', 'completed', NULL, now() - interval '2 days'),"
	"('00000000-0000-0000-0000-000000000005', 'index', 'failed', 'model-b', now() - interval '1 day'),"
	"('00000000-0000-0000-0000-000000000006', 'export', 'completed', 'model-a', now());"
	"INSERT INTO documents SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE "
	"('00000000-0000-0000-0000-00000000000' || (1 + g % 6))::uuid END, '/docs/file-' || g || '.md' "
	"FROM generate_series(1, 2000) g;"
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
