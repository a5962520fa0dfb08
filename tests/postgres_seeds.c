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

TEST(seed002_collections)
{
	const char *url = pgt_fresh_db("seed002");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = build(collections_plan);
	migrate_error_t err;

	CHECK_INT(collections_sample_data(c), 0);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	/* A collection per model of the completed jobs (the unnamed model under the default name). */
	CHECK_VALUE(c, "SELECT string_agg(model_name, ',' ORDER BY model_name) FROM collections",
		    "model-a,sentence-transformers/all-MiniLM-L6-v2");
	/* An operation per job of those models, with the mapped type and the new status name. */
	CHECK_VALUE(c,
		    "SELECT string_agg(right(o.id::text, 1) || ':' || o.type || ':' || o.status || ':' || "
		    "c.model_name, ' ' ORDER BY o.id) FROM operations o JOIN collections c ON c.id = "
		    "o.collection_id",
		    "1:index:completed:model-a 2:reindex:completed:model-a 3:index:processing:model-a "
		    "4:index:completed:sentence-transformers/all-MiniLM-L6-v2 6:index:completed:model-a");
	/* Every document of a migrated job follows its job to the collection; the others keep none. */
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM documents d JOIN operations o ON o.id = d.job_id "
			     "WHERE d.collection_id = o.collection_id"),
		  1429);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM documents WHERE collection_id IS NOT NULL"), 1429);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_index WHERE indexrelid = 'idx_documents_collection'::regclass "
			     "AND indisvalid"),
		  1);
	/* Rollback: the legacy schema as it was, data intact. */
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname IN ('collections', 'operations', "
			     "'idx_documents_collection')"),
		  0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'documents'"), 3);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM documents"), 2000);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs"), 6);
	/* And forward again. */
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM documents WHERE collection_id IS NOT NULL"), 1429);
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}
