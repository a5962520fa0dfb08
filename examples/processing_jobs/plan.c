/* Seed 001 as a plan; see plan.h. */
#include "plan.h"

#include <stddef.h>

static const char *const prerequisites =
	"{\"op\":\"sql\",\"down\":\"-- the application's tables stay\",\"up\":"
	"\"CREATE TABLE IF NOT EXISTS profiles (user_id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
	"display_name text); "
	"CREATE TABLE IF NOT EXISTS conversations (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
	"user_id uuid REFERENCES profiles(user_id), title text, created_at timestamptz DEFAULT now()); "
	"CREATE TABLE IF NOT EXISTS messages (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
	"conversation_id uuid REFERENCES conversations(id), role text, content text, "
	"created_at timestamptz DEFAULT now())\"}";

#define FK(t, c) ",\"references\":{\"table\":\"" t "\",\"column\":\"" c "\"}"

static const char *const create_processing_jobs =
	"{\"op\":\"create_table\",\"table\":\"processing_jobs\",\"primary_key\":[\"id\"],\"columns\":["
	"{\"name\":\"id\",\"type\":\"uuid\",\"nullable\":false,\"default\":\"uuid\"},"
	"{\"name\":\"user_id\",\"type\":\"uuid\",\"nullable\":false" FK(
		"profiles",
		"user_id") "},"
			   "{\"name\":\"conversation_id\",\"type\":\"uuid\",\"nullable\":false" FK(
				   "conversations",
				   "id") "},"
					 "{\"name\":\"message_id\",\"type\":\"uuid\"" FK(
						 "messages",
						 "id") "},"
						       "{\"name\":\"job_type\",\"type\":\"text\",\"nullable\":false},"
						       "{\"name\":\"status\",\"type\":\"text\",\"default\":{\"value\":\"queued\"}},"
						       "{\"name\":\"user_query\",\"type\":\"text\",\"nullable\":false},"
						       "{\"name\":\"intent_data\",\"type\":\"json\"},"
						       "{\"name\":\"progress\",\"type\":\"double\",\"default\":{\"value\":0.0}},"
						       "{\"name\":\"total_items\",\"type\":\"integer\",\"default\":{\"value\":0}},"
						       "{\"name\":\"total_batches\",\"type\":\"integer\",\"default\":{\"value\":0}},"
						       "{\"name\":\"processed_items\",\"type\":\"integer\",\"default\":{\"value\":0}},"
						       "{\"name\":\"processed_batches\",\"type\":\"integer\",\"default\":{\"value\":0}},"
						       "{\"name\":\"failed_batches\",\"type\":\"integer\",\"default\":{\"value\":0}},"
						       "{\"name\":\"current_phase\",\"type\":\"text\",\"default\":{\"value\":\"queued\"}},"
						       "{\"name\":\"result\",\"type\":\"json\"},"
						       "{\"name\":\"aggregation_details\",\"type\":\"json\"},"
						       "{\"name\":\"intermediate_results\",\"type\":\"json\"},"
						       "{\"name\":\"error_message\",\"type\":\"text\"},"
						       "{\"name\":\"error_details\",\"type\":\"json\"},"
						       "{\"name\":\"started_at\",\"type\":\"timestamp\",\"default\":\"now\"},"
						       "{\"name\":\"completed_at\",\"type\":\"timestamp\"},"
						       "{\"name\":\"estimated_completion_seconds\",\"type\":\"integer\"},"
						       "{\"name\":\"actual_duration_seconds\",\"type\":\"double\"},"
						       "{\"name\":\"processing_metadata\",\"type\":\"json\"},"
						       "{\"name\":\"created_at\",\"type\":\"timestamp\",\"default\":\"now\"},"
						       "{\"name\":\"updated_at\",\"type\":\"timestamp\",\"default\":\"now\"}]}";

static const char *const indexes[] = {
	"{\"op\":\"create_index\",\"table\":\"processing_jobs\",\"name\":\"idx_processing_jobs_user_status\","
	"\"keys\":[{\"column\":\"user_id\"},{\"column\":\"status\"}]}",
	"{\"op\":\"create_index\",\"table\":\"processing_jobs\",\"name\":\"idx_processing_jobs_conversation\","
	"\"keys\":[{\"column\":\"conversation_id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"processing_jobs\",\"name\":\"idx_processing_jobs_status\","
	"\"keys\":[{\"column\":\"status\"}]}",
	"{\"op\":\"create_index\",\"table\":\"processing_jobs\",\"name\":\"idx_processing_jobs_created_at\","
	"\"keys\":[{\"column\":\"created_at\"}]}",
};

static const char *const add_job_id =
	"{\"op\":\"add_column\",\"table\":\"messages\",\"column\":{\"name\":\"job_id\",\"type\":\"uuid\"" FK(
		"processing_jobs", "id") "}}";

/* The function may be shared by other tables' triggers: the seed's rollback keeps it, and so does ours. */
static const char *const trigger_function =
	"{\"op\":\"sql\",\"down\":\"-- kept: other tables' triggers may use it\",\"up\":\"CREATE OR REPLACE FUNCTION update_updated_at_column() "
	"RETURNS TRIGGER AS $$\\nBEGIN\\n    NEW.updated_at = NOW();\\n    RETURN NEW;\\nEND;\\n$$ language 'plpgsql'\"}";

static const char *const trigger =
	"{\"op\":\"sql\",\"up\":\"CREATE TRIGGER update_processing_jobs_updated_at BEFORE UPDATE ON processing_jobs "
	"FOR EACH ROW EXECUTE FUNCTION update_updated_at_column()\","
	"\"down\":\"DROP TRIGGER IF EXISTS update_processing_jobs_updated_at ON processing_jobs\"}";

int processing_jobs_plan(migrate_plan_t **out, migrate_error_t *err)
{
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	size_t i;
	int rc;

	if ((rc = migrate_plan_new(&plan, "processing_jobs", err)) ||
	    (rc = migrate_plan_add_version(plan, 1, "profiles, conversations, messages (when absent)", &v, err)) ||
	    (rc = migrate_version_add_step_json(v, prerequisites, NULL, err)) ||
	    (rc = migrate_plan_add_version(plan, 2, "processing_jobs and messages.job_id", &v, err)) ||
	    (rc = migrate_version_add_step_json(v, create_processing_jobs, NULL, err)))
		goto fail;
	for (i = 0; i < sizeof indexes / sizeof indexes[0]; i++)
		if ((rc = migrate_version_add_step_json(v, indexes[i], NULL, err)))
			goto fail;
	if ((rc = migrate_version_add_step_json(v, add_job_id, NULL, err)) ||
	    (rc = migrate_version_add_step_json(v, trigger_function, NULL, err)) ||
	    (rc = migrate_version_add_step_json(v, trigger, NULL, err)))
		goto fail;
	*out = plan;
	return 0;
fail:
	migrate_plan_destroy(plan);
	return rc;
}
