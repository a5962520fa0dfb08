/* Seed 000 (sessions -> jobs) as a libmigrate plan; see plan.h. */
#include "plan.h"

#include <stdio.h>
#include <string.h>

static const char *const v1[] = {"{\"op\":\"rename_table\",\"from\":\"sessions\",\"to\":\"jobs\"}",
				 "{\"op\":\"create_table\",\"table\":\"sessions\",\"columns\":["
				 "{\"name\":\"session_id\",\"type\":\"text\",\"nullable\":false},"
				 "{\"name\":\"job_id\",\"type\":\"text\",\"nullable\":false},"
				 "{\"name\":\"user_id\",\"type\":\"text\",\"nullable\":false},"
				 "{\"name\":\"tool_requirement\",\"type\":\"json\"},"
				 "{\"name\":\"status\",\"type\":\"text\"},"
				 "{\"name\":\"tool_id\",\"type\":\"text\"},"
				 "{\"name\":\"tool_failure_id\",\"type\":\"text\"},"
				 "{\"name\":\"error_message\",\"type\":\"text\"},"
				 "{\"name\":\"created_at\",\"type\":\"timestamp\"},"
				 "{\"name\":\"updated_at\",\"type\":\"timestamp\"}]}",
				 NULL};

static const char *const v2[] = {
	"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"session_ids\",\"type\":\"json\","
	"\"default\":{\"value\":[]}}}",
	"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"tools_completed\",\"type\":\"integer\","
	"\"default\":{\"value\":0}}}",
	"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"tools_failed\",\"type\":\"integer\","
	"\"default\":{\"value\":0}}}",
	"{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"tools_in_progress\",\"type\":\"integer\","
	"\"default\":{\"value\":0}}}",
	/* Several old values become one: no map inverts it, so the old ones are kept and the rollback restores them. */
	"{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"status\",\"map\":{\"pending\":\"processing\","
	"\"planning\":\"processing\",\"searching\":\"processing\",\"implementing\":\"processing\","
	"\"executing\":\"processing\"},\"keep\":\"jobs_status_kept\"}",
	/* The per-document loop of 3.3 as one batched, resumable backfill. */
	"{\"op\":\"backfill\",\"table\":\"jobs\",\"set\":{\"tools_completed\":{\"array_length\":\"tool_ids\"},"
	"\"tools_failed\":{\"array_length\":\"tool_failure_ids\"},\"tools_in_progress\":{\"value\":0}},"
	"\"down\":[]}",
	NULL};

static const char *const v3[] = {
	"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"job_id_1\",\"unique\":true,"
	"\"keys\":[{\"column\":\"job_id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"user_id_1\",\"keys\":[{\"column\":\"user_id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"status_1\",\"keys\":[{\"column\":\"status\"}]}",
	"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"user_id_1_status_1\","
	"\"keys\":[{\"column\":\"user_id\"},{\"column\":\"status\"}]}",
	"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"created_at_1\",\"keys\":[{\"column\":\"created_at\"}]}",
	"{\"op\":\"create_index\",\"table\":\"sessions\",\"name\":\"session_id_1\",\"unique\":true,"
	"\"keys\":[{\"column\":\"session_id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"sessions\",\"name\":\"job_id_1\",\"keys\":[{\"column\":\"job_id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"sessions\",\"name\":\"user_id_1\",\"keys\":[{\"column\":\"user_id\"}]}",
	"{\"op\":\"create_index\",\"table\":\"sessions\",\"name\":\"status_1\",\"keys\":[{\"column\":\"status\"}]}",
	"{\"op\":\"create_index\",\"table\":\"sessions\",\"name\":\"user_id_1_status_1\","
	"\"keys\":[{\"column\":\"user_id\"},{\"column\":\"status\"}]}",
	"{\"op\":\"create_index\",\"table\":\"sessions\",\"name\":\"created_at_1\","
	"\"keys\":[{\"column\":\"created_at\"}]}",
	NULL};

/* Section 6 (and the post-migration checks) as assertions. */
static const char *const v4[] = {
	"{\"op\":\"assert\",\"count\":{\"table\":\"jobs\"},\"expect\":{\"$gte\":0}}",
	"{\"op\":\"assert\",\"unique\":{\"table\":\"jobs\",\"columns\":[\"job_id\"]},"
	"\"message\":\"job_id must stay unique\"}",
	"{\"op\":\"assert\",\"no_match\":{\"table\":\"jobs\",\"where\":{\"$or\":[{\"tools_completed\":{\"$exists\":false}},"
	"{\"tools_failed\":{\"$exists\":false}},{\"tools_in_progress\":{\"$exists\":false}}]}},"
	"\"message\":\"every job has its counters\"}",
	"{\"op\":\"assert\",\"no_match\":{\"table\":\"jobs\",\"where\":{\"status\":{\"$in\":[\"pending\",\"planning\","
	"\"searching\",\"implementing\",\"executing\"]}}},\"message\":\"old statuses are mapped\"}",
	"{\"op\":\"assert\",\"count\":{\"table\":\"sessions\"},\"expect\":0,"
	"\"message\":\"sessions starts empty (new sessions come with the first requests)\"}",
	"{\"op\":\"assert\",\"exists\":{\"table\":\"sessions\",\"index\":\"session_id_1\"}}",
	"{\"op\":\"assert\",\"exists\":{\"table\":\"sessions\",\"index\":\"created_at_1\"}}",
	"{\"op\":\"assert\",\"exists\":{\"table\":\"jobs\",\"index\":\"job_id_1\"}}",
	NULL};

static const char *const v5[] = {
	"{\"op\":\"drop_column\",\"table\":\"jobs\",\"column\":\"tool_ids\",\"down\":[]}",
	"{\"op\":\"drop_column\",\"table\":\"jobs\",\"column\":\"tool_failure_ids\",\"down\":[]}", NULL};

static int add(migrate_plan_t *p, uint64_t id, const char *name, const char *const *steps, migrate_error_t *err)
{
	migrate_version_t *v = NULL;
	int rc = migrate_plan_add_version(p, id, name, &v, err);

	for (size_t i = 0; rc == 0 && steps[i]; i++)
		rc = migrate_version_add_step_json(v, steps[i], NULL, err);
	return rc;
}

int sessions_to_jobs_plan(migrate_plan_t **out, int drop_arrays, migrate_error_t *err)
{
	migrate_plan_t *p = NULL;
	int rc = migrate_plan_new(&p, "sessions_to_jobs", err);

	if (rc == 0)
		rc = add(p, 1, "rename sessions to jobs, new sessions", v1, err);
	if (rc == 0)
		rc = add(p, 2, "job fields, status mapping, counters", v2, err);
	if (rc == 0)
		rc = add(p, 3, "indexes", v3, err);
	if (rc == 0)
		rc = add(p, 4, "verification", v4, err);
	if (rc == 0 && drop_arrays)
		rc = add(p, 5, "remove tool_ids and tool_failure_ids", v5, err);
	if (rc) {
		migrate_plan_destroy(p);
		p = NULL;
	}
	*out = p;
	return rc;
}

int sessions_to_jobs_sample(mongoc_client_t *client, const char *db, int n, bson_error_t *error)
{
	static const char *const statuses[] = {"pending",   "planning",  "searching", "implementing",
					       "executing", "completed", "failed"};
	mongoc_collection_t *coll = mongoc_client_get_collection(client, db, "sessions");
	mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(coll, NULL);
	bson_t reply;
	bool ok;

	for (int i = 0; i < n; i++) {
		bson_t doc = BSON_INITIALIZER, arr, req;
		char buf[64], key[16];
		const char *k;
		bson_oid_t oid;

		/* Fixed ids: two runs over the same sample give the same documents. */
		snprintf(buf, sizeof buf, "65%022x", (unsigned)i + 1);
		bson_oid_init_from_string(&oid, buf);
		BSON_APPEND_OID(&doc, "_id", &oid);
		snprintf(buf, sizeof buf, "job_%06d", i);
		BSON_APPEND_UTF8(&doc, "job_id", buf);
		snprintf(buf, sizeof buf, "user_%d", i % 7);
		BSON_APPEND_UTF8(&doc, "user_id", buf);
		BSON_APPEND_UTF8(&doc, "operation_type", "generate");
		BSON_APPEND_UTF8(&doc, "status", statuses[i % 7]);
		bson_append_array_begin(&doc, "tool_requirements", -1, &arr);
		for (int r = 0; r < 1 + i % 3; r++) {
			bson_uint32_to_string((uint32_t)r, &k, key, sizeof key);
			bson_append_document_begin(&arr, k, -1, &req);
			BSON_APPEND_UTF8(&req, "description", "Calculate molecular weight");
			BSON_APPEND_UTF8(&req, "input", "SMILES string");
			BSON_APPEND_UTF8(&req, "output", "Molecular weight in g/mol");
			bson_append_document_end(&arr, &req);
		}
		bson_append_array_end(&doc, &arr);
		/* tool_ids: an array of 0..4 ids, missing for every 5th session. */
		if (i % 5 != 4) {
			bson_append_array_begin(&doc, "tool_ids", -1, &arr);
			for (int t = 0; t < i % 5; t++) {
				bson_uint32_to_string((uint32_t)t, &k, key, sizeof key);
				snprintf(buf, sizeof buf, "tool_%d_%d", i, t);
				BSON_APPEND_UTF8(&arr, k, buf);
			}
			bson_append_array_end(&doc, &arr);
		}
		/* tool_failure_ids: null for every 3rd session, else 0..1 ids. */
		if (i % 3 == 0) {
			BSON_APPEND_NULL(&doc, "tool_failure_ids");
		} else {
			bson_append_array_begin(&doc, "tool_failure_ids", -1, &arr);
			if (i % 2)
				BSON_APPEND_UTF8(&arr, "0", "failure");
			bson_append_array_end(&doc, &arr);
		}
		BSON_APPEND_NULL(&doc, "error_message");
		BSON_APPEND_DATE_TIME(&doc, "created_at", 1700000000000LL + i * 1000LL);
		BSON_APPEND_DATE_TIME(&doc, "updated_at", 1700000000000LL + i * 1000LL);
		mongoc_bulk_operation_insert(bulk, &doc);
		bson_destroy(&doc);
	}
	ok = n == 0 || mongoc_bulk_operation_execute(bulk, &reply, error);
	if (n)
		bson_destroy(&reply);
	mongoc_bulk_operation_destroy(bulk);
	mongoc_collection_destroy(coll);
	return ok ? 0 : -1;
}
