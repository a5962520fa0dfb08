/* Seed 003 as a plan; see plan.h. */
#include "plan.h"

#include <stdio.h>

static const char *const jobstatus = "{\"op\":\"create_enum\",\"name\":\"jobstatus\","
				     "\"values\":[\"pending\",\"running\",\"completed\",\"failed\",\"cancelled\"]}";

static const char *const jobs =
	"{\"op\":\"create_table\",\"table\":\"jobs\",\"primary_key\":[\"id\"],\"columns\":["
	"{\"name\":\"id\",\"type\":\"uuid\",\"nullable\":false,\"default\":\"uuid\"},"
	"{\"name\":\"tool_name\",\"type\":{\"sql\":\"varchar(100)\"},\"nullable\":false},"
	"{\"name\":\"status\",\"type\":\"enum:jobstatus\",\"nullable\":false,\"default\":{\"value\":\"pending\"}},"
	"{\"name\":\"trace_id\",\"type\":{\"sql\":\"varchar(36)\"},\"nullable\":false},"
	"{\"name\":\"parameters\",\"type\":\"json\",\"nullable\":false},"
	"{\"name\":\"result\",\"type\":\"json\"},"
	"{\"name\":\"error_message\",\"type\":\"text\"},"
	"{\"name\":\"created_at\",\"type\":\"timestamp\",\"nullable\":false,\"default\":\"now\"},"
	"{\"name\":\"started_at\",\"type\":\"timestamp\"},"
	"{\"name\":\"completed_at\",\"type\":\"timestamp\"},"
	"{\"name\":\"expires_at\",\"type\":\"timestamp\",\"nullable\":false}]}";

static const char *const indexed[] = {"status", "created_at", "tool_name", "trace_id", "expires_at"};

int jobs_table_plan(migrate_plan_t **out, migrate_error_t *err)
{
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	char step[300];
	size_t i;
	int rc;

	if ((rc = migrate_plan_new(&plan, "jobs_table", err)) ||
	    (rc = migrate_plan_add_version(plan, 2, "add_jobs_table_for_async_operations", &v, err)) ||
	    (rc = migrate_version_add_step_json(v, jobstatus, NULL, err)) ||
	    (rc = migrate_version_add_step_json(v, jobs, NULL, err)))
		goto fail;
	for (i = 0; i < sizeof indexed / sizeof indexed[0]; i++) {
		snprintf(
			step, sizeof step,
			"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"idx_jobs_%s\",\"keys\":[{\"column\":\"%s\"}]}",
			indexed[i], indexed[i]);
		if ((rc = migrate_version_add_step_json(v, step, NULL, err)))
			goto fail;
	}
	*out = plan;
	return 0;
fail:
	migrate_plan_destroy(plan);
	return rc;
}
