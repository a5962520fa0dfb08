/*
 * The seeds' example plans end to end on PostgreSQL: the schema each plan
 * makes is compared, in the catalogs, with the schema the seed's own SQL
 * makes in another database; the data migration of seed 002 is checked row
 * by row; each rollback leaves what the seed's rollback leaves.
 */
#include <stdlib.h>
#include <string.h>

#include "../examples/collections/plan.h"
#include "../examples/jobs_table/plan.h"
#include "../examples/processing_jobs/plan.h"
#include "drift.h"
#include "harness.h"
#include "postgres_util.h"

/* Columns (position, type, NOT NULL, default), constraints, indexes and triggers of a table. */
static char *table_shape(PGconn *c, const char *table)
{
	char sql[2000];

	snprintf(
		sql, sizeof sql,
		"SELECT string_agg(x, E'\\n' ORDER BY x) FROM ("
		"SELECT 'col ' || a.attnum || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || "
		"a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS x FROM pg_attribute a "
		"LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
		"WHERE a.attrelid = '%s'::regclass AND a.attnum > 0 AND NOT a.attisdropped "
		"UNION ALL SELECT 'con ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
		"WHERE conrelid = '%s'::regclass "
		"UNION ALL SELECT 'idx ' || pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = '%s'::regclass "
		"UNION ALL SELECT 'trg ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = '%s'::regclass "
		"AND NOT tgisinternal) s",
		table, table, table, table);
	return pgt_value(c, sql);
}

static void same_shape(PGconn *mine, PGconn *seed, const char *table)
{
	char *a = table_shape(mine, table), *b = table_shape(seed, table);

	if (!a || !b || strcmp(a, b) != 0)
		harness_fail(__FILE__, __LINE__, "table %s differs from the seed's:\n--- plan:\n%s\n--- seed:\n%s",
			     table, a ? a : "(none)", b ? b : "(none)");
	free(a);
	free(b);
}

static migrate_plan_t *build(int (*fn)(migrate_plan_t **, migrate_error_t *))
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;

	CHECK_OK(fn(&plan, &err), &err);
	return plan;
}

static const char *const seed001_prerequisites =
	"CREATE TABLE IF NOT EXISTS profiles (user_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), display_name text); "
	"CREATE TABLE IF NOT EXISTS conversations (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
	"user_id uuid REFERENCES profiles(user_id), title text, created_at timestamptz DEFAULT now()); "
	"CREATE TABLE IF NOT EXISTS messages (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
	"conversation_id uuid REFERENCES conversations(id), role text, content text, created_at timestamptz DEFAULT now())";

/* Seed 001's SQL, as written in the seed. */
static const char *const seed001 =
	"CREATE TABLE processing_jobs (\n"
	"    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),\n"
	"    user_id UUID NOT NULL REFERENCES profiles(user_id),\n"
	"    conversation_id UUID NOT NULL REFERENCES conversations(id),\n"
	"    message_id UUID REFERENCES messages(id),\n"
	"    job_type TEXT NOT NULL,\n"
	"    status TEXT DEFAULT 'queued',\n"
	"    user_query TEXT NOT NULL,\n"
	"    intent_data JSONB,\n"
	"    progress FLOAT DEFAULT 0.0,\n"
	"    total_items INTEGER DEFAULT 0,\n"
	"    total_batches INTEGER DEFAULT 0,\n"
	"    processed_items INTEGER DEFAULT 0,\n"
	"    processed_batches INTEGER DEFAULT 0,\n"
	"    failed_batches INTEGER DEFAULT 0,\n"
	"    current_phase TEXT DEFAULT 'queued',\n"
	"    result JSONB,\n"
	"    aggregation_details JSONB,\n"
	"    intermediate_results JSONB,\n"
	"    error_message TEXT,\n"
	"    error_details JSONB,\n"
	"    started_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),\n"
	"    completed_at TIMESTAMP WITH TIME ZONE,\n"
	"    estimated_completion_seconds INTEGER,\n"
	"    actual_duration_seconds FLOAT,\n"
	"    processing_metadata JSONB,\n"
	"    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),\n"
	"    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW()\n"
	");\n"
	"CREATE INDEX idx_processing_jobs_user_status ON processing_jobs(user_id, status);\n"
	"CREATE INDEX idx_processing_jobs_conversation ON processing_jobs(conversation_id);\n"
	"CREATE INDEX idx_processing_jobs_status ON processing_jobs(status);\n"
	"CREATE INDEX idx_processing_jobs_created_at ON processing_jobs(created_at);\n"
	"ALTER TABLE messages ADD COLUMN job_id UUID REFERENCES processing_jobs(id);\n"
	"CREATE OR REPLACE FUNCTION update_updated_at_column()\n"
	"RETURNS TRIGGER AS $$\n"
	"BEGIN\n"
	"    NEW.updated_at = NOW();\n"
	"    RETURN NEW;\n"
	"END;\n"
	"$$ language 'plpgsql';\n"
	"CREATE TRIGGER update_processing_jobs_updated_at BEFORE UPDATE ON processing_jobs\n"
	"FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();\n";

TEST(seed001_processing_jobs)
{
	char seed_url[600];
	const char *url;
	PGconn *seed, *c;
	migrate_target_t *t;
	migrate_plan_t *plan = build(processing_jobs_plan);
	migrate_error_t err;

	snprintf(seed_url, sizeof seed_url, "%s", pgt_fresh_db("seed001_sql"));
	seed = pgt_connect(seed_url);
	pgt_exec(seed, seed001_prerequisites);
	pgt_exec(seed, seed001);
	url = pgt_fresh_db("seed001");
	c = pgt_connect(url);
	t = pgt_target(url);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	same_shape(c, seed, "processing_jobs");
	same_shape(c, seed, "messages");

	/* The trigger keeps updated_at current, as the seed's does. */
	pgt_exec(c, "INSERT INTO profiles DEFAULT VALUES");
	pgt_exec(c, "INSERT INTO conversations (user_id) SELECT user_id FROM profiles");
	pgt_exec(c, "INSERT INTO processing_jobs (user_id, conversation_id, job_type, user_query) "
		    "SELECT p.user_id, c.id, 'aggregation', 'Test query' FROM profiles p, conversations c");
	pgt_exec(c, "UPDATE processing_jobs SET updated_at = now() - interval '1 day'");
	pgt_exec(c, "UPDATE processing_jobs SET status = 'running'");
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM processing_jobs WHERE updated_at > now() - interval '1 hour' "
			     "AND progress = 0 AND current_phase = 'queued'"),
		  1);
	pgt_exec(c, "DELETE FROM processing_jobs");

	/* The rollback drops what the seed's rollback drops, and keeps the function. */
	CHECK_OK(migrate_down(t, plan, 1, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname LIKE '%processing_jobs%'"), 0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'messages' "
			     "AND column_name = 'job_id'"),
		  0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_proc WHERE proname = 'update_updated_at_column'"), 1);
	pgt_exec(seed, "DROP TRIGGER IF EXISTS update_processing_jobs_updated_at ON processing_jobs; "
		       "ALTER TABLE messages DROP COLUMN IF EXISTS job_id; DROP TABLE IF EXISTS processing_jobs");
	same_shape(c, seed, "messages");
	PQfinish(seed);
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

static const char *const seed003 =
	"CREATE TYPE jobstatus AS ENUM ('pending', 'running', 'completed', 'failed', 'cancelled');\n"
	"CREATE TABLE jobs (\n"
	"    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),\n"
	"    tool_name VARCHAR(100) NOT NULL,\n"
	"    status jobstatus NOT NULL DEFAULT 'pending',\n"
	"    trace_id VARCHAR(36) NOT NULL,\n"
	"    parameters JSONB NOT NULL,\n"
	"    result JSONB,\n"
	"    error_message TEXT,\n"
	"    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),\n"
	"    started_at TIMESTAMPTZ,\n"
	"    completed_at TIMESTAMPTZ,\n"
	"    expires_at TIMESTAMPTZ NOT NULL\n"
	");\n"
	"CREATE INDEX idx_jobs_status ON jobs(status);\n"
	"CREATE INDEX idx_jobs_created_at ON jobs(created_at);\n"
	"CREATE INDEX idx_jobs_tool_name ON jobs(tool_name);\n"
	"CREATE INDEX idx_jobs_trace_id ON jobs(trace_id);\n"
	"CREATE INDEX idx_jobs_expires_at ON jobs(expires_at);\n";

/*
 * Seed 003's readiness probe is the library's drift check: clean after up;
 * an index dropped and an enum label renamed by hand are each reported
 * with version 2, which made them.
 */
static void seed003_drift(PGconn *c, migrate_target_t *t, migrate_plan_t *plan)
{
	migrate_schema_report_t *r = NULL;
	migrate_error_t err;

	CHECK_OK(migrate_check_schema(t, plan, &r, &err), &err);
	CHECK_INT(migrate_schema_report_count(r), 0);
	migrate_schema_report_destroy(r);
	pgt_exec(c, "DROP INDEX idx_jobs_trace_id");
	pgt_exec(c, "ALTER TYPE jobstatus RENAME VALUE 'cancelled' TO 'canceled'");
	CHECK_VALUE(c, "SELECT to_regclass('idx_jobs_trace_id') IS NULL", "t");
	CHECK_OK(migrate_check_schema(t, plan, &r, &err), &err);
	CHECK_INT(migrate_schema_report_state(r), MIGRATE_CHECK_UP_TO_DATE);
	CHECK_DRIFT(r, MIGRATE_DRIFT_MISSING, "jobs.idx_jobs_trace_id", NULL, 2);
	CHECK_DRIFT(r, MIGRATE_DRIFT_DIFFERENT, "jobstatus", "values", 2);
	CHECK_INT(migrate_schema_report_count(r), 2);
	migrate_schema_report_destroy(r);
}

TEST(seed003_jobs_table)
{
	char seed_url[600];
	const char *url;
	PGconn *seed, *c;
	migrate_target_t *t;
	migrate_plan_t *plan = build(jobs_table_plan);
	migrate_error_t err;
	migrate_check_state_t state;
	int i;

	snprintf(seed_url, sizeof seed_url, "%s", pgt_fresh_db("seed003_sql"));
	seed = pgt_connect(seed_url);
	pgt_exec(seed, seed003);
	url = pgt_fresh_db("seed003");
	c = pgt_connect(url);
	t = pgt_target(url);
	/* up -> down -> up, with the readiness answer of each state. */
	for (i = 0; i < 2; i++) {
		CHECK_OK(migrate_check(t, plan, &state, &err), &err);
		CHECK_INT(state, MIGRATE_CHECK_PENDING);
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname = 'jobs'"), 0);
		CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
		CHECK_OK(migrate_check(t, plan, &state, &err), &err);
		CHECK_INT(state, MIGRATE_CHECK_UP_TO_DATE);
		same_shape(c, seed, "jobs");
		CHECK_VALUE(c,
			    "SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum "
			    "WHERE enumtypid = 'jobstatus'::regtype",
			    "pending,running,completed,failed,cancelled");
		pgt_exec(c, "INSERT INTO jobs (tool_name, trace_id, parameters, expires_at) "
			    "VALUES ('pubmed', 'trace-1', '{}', now() + interval '1 day')");
		CHECK_VALUE(c, "SELECT status FROM jobs", "pending");
		if (i == 0) {
			CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
			CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_type WHERE typname = 'jobstatus'"), 0);
		}
	}
	seed003_drift(c, t, plan);
	PQfinish(seed);
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

/* The guide's manual steps 1 to 3 as it prints them, and pitfall 4's status name. */
static const char *const seed002_guide_sql =
	"INSERT INTO collections (id, name, model_name, created_at) SELECT gen_random_uuid(), 'Migrated Documents', "
	"COALESCE(model_name, 'sentence-transformers/all-MiniLM-L6-v2'), NOW() FROM jobs WHERE status = 'completed' "
	"GROUP BY model_name; "
	"INSERT INTO operations (id, collection_id, type, status, created_at) SELECT j.id, c.id, CASE WHEN j.job_type "
	"= 'index' THEN 'index' WHEN j.job_type = 'reindex' THEN 'reindex' ELSE 'index' END, j.status, j.created_at "
	"FROM jobs j JOIN collections c ON c.model_name = j.model_name; "
	"UPDATE documents d SET collection_id = (SELECT c.id FROM collections c JOIN operations o ON o.collection_id "
	"= c.id WHERE o.id = d.job_id LIMIT 1); "
	"UPDATE operations SET status = 'processing' WHERE status = 'indexing'";

/*
 * Every migrated row, with the collections named by their model (their ids
 * are random) and the jobs' times compared (the sample's are relative to now()), as one digest.
 */
static const char *const seed002_rows =
	"SELECT md5(string_agg(x, E'\n' ORDER BY x)) FROM ("
	"SELECT 'c ' || name || ' ' || model_name AS x FROM collections UNION ALL "
	"SELECT 'o ' || o.id || ' ' || o.type || ' ' || coalesce(o.status, '-') || ' ' || c.model_name || ' ' || "
	"(o.created_at = j.created_at) FROM operations o JOIN collections c ON c.id = o.collection_id "
	"JOIN jobs j ON j.id = o.id UNION ALL "
	"SELECT 'd ' || d.id || ' ' || coalesce(c.model_name, '-') FROM documents d "
	"LEFT JOIN collections c ON c.id = d.collection_id) s";

TEST(seed002_collections)
{
	char *url = strdup(pgt_fresh_db("seed002")), *guide_url = strdup(pgt_fresh_db("seed002_guide"));
	PGconn *c = pgt_connect(url), *guide = pgt_connect(guide_url);
	migrate_target_t *t = pgt_target(url), *gt = pgt_target(guide_url);
	migrate_plan_t *plan = build(collections_plan);
	migrate_error_t err;
	char *mine, *theirs;

	CHECK_INT(collections_sample_data(c), 0);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	/* The guide's own SQL on the same data, after version 1 made its tables. */
	CHECK_INT(collections_sample_data(guide), 0);
	CHECK_OK(migrate_up(gt, plan, 1, NULL, &err), &err);
	pgt_exec(guide, seed002_guide_sql);
	mine = pgt_value(c, seed002_rows);
	theirs = pgt_value(guide, seed002_rows);
	CHECK(mine && theirs && !strcmp(mine, theirs));
	free(mine);
	free(theirs);
	/* A collection named as the guide names it per model of the completed jobs (the unnamed model under
	 * the default name); an operation per job that names a model: 273 of the 300. */
	CHECK_VALUE(c,
		    "SELECT string_agg(DISTINCT name, ',') || ' ' || string_agg(model_name, ',' ORDER BY model_name) "
		    "FROM collections",
		    "Migrated Documents model-0,model-1,model-2,model-3,sentence-transformers/all-MiniLM-L6-v2");
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM operations"), 273);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM operations o JOIN jobs j ON j.id = o.id WHERE j.model_name IS NULL"),
		  0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM operations WHERE status = 'indexing'"), 0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM operations WHERE status = 'processing'"),
		  pgt_int(c, "SELECT count(*) FROM jobs WHERE status = 'indexing' AND model_name IS NOT NULL"));
	/* Every document of a migrated job follows its job to the collection; the others keep none. */
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM documents d JOIN operations o ON o.id = d.job_id "
			     "WHERE d.collection_id = o.collection_id"),
		  pgt_int(c, "SELECT count(*) FROM documents d JOIN jobs j ON j.id = d.job_id "
			     "WHERE j.model_name IS NOT NULL"));
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM documents d LEFT JOIN operations o ON o.id = d.job_id "
			     "WHERE d.collection_id IS NOT NULL AND o.id IS NULL"),
		  0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_index WHERE indexrelid = 'idx_documents_collection'::regclass "
			     "AND indisvalid"),
		  1);
	/* Rollback: the legacy schema as it was, data intact. */
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname IN ('collections', 'operations', "
			     "'idx_documents_collection')"),
		  0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'documents'"), 3);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM documents"), 20000);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs"), 300);
	/* And forward again, to the same rows. */
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	mine = pgt_value(c, seed002_rows);
	theirs = pgt_value(guide, seed002_rows);
	CHECK(mine && theirs && !strcmp(mine, theirs));
	free(mine);
	free(theirs);
	PQfinish(c);
	PQfinish(guide);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
	migrate_target_close(gt);
	free(url);
	free(guide_url);
}

/* The option the guide does not have: jobs without a model join the default model's collection. */
TEST(seed002_jobs_without_model)
{
	const char *url = pgt_fresh_db("seed002_all");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL;
	migrate_error_t err;

	CHECK_OK(collections_plan_with(&plan, COLLECTIONS_JOBS_WITHOUT_MODEL, &err), &err);
	CHECK_INT(collections_sample_data(c), 0);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM operations"), 300);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM operations o JOIN jobs j ON j.id = o.id JOIN collections c ON "
			     "c.id = o.collection_id WHERE j.model_name IS NULL AND c.model_name = "
			     "'sentence-transformers/all-MiniLM-L6-v2'"),
		  27);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM documents WHERE job_id IS NOT NULL AND collection_id IS NULL"), 0);
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}
