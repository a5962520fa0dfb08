/*
 * Both MongoDB seeds end to end on FerretDB, verified by querying the
 * server: seed 000 (sessions -> jobs, with the optional array removal and
 * the rollback of its section 7) and seed 004 (chat collections).
 */
#include <stdlib.h>
#include <string.h>

#include "../examples/chat_collections/plan.h"
#include "../examples/sessions_to_jobs/plan.h"
#include "harness.h"
#include "mongo_util.h"

#define N 60

static int64_t int_of(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	return bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_NUMBER(&it) ? bson_iter_as_int64(&it) : -1;
}

/* Section 6 and the post-migration checks, each by a query of its own. */
static void verify_jobs(mongoc_client_t *c, const char *db, bool arrays_dropped)
{
	mongoc_collection_t *jobs = mongoc_client_get_collection(c, db, "jobs");
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_t empty = BSON_INITIALIZER;
	int n = 0;
	char *spec;

	CHECK_INT(mt_count(c, db, "jobs", NULL), N);
	CHECK_INT(mt_count(c, db, "sessions", NULL), 0);
	CHECK_INT(mt_count(c, db, "jobs",
			   "{\"status\":{\"$in\":[\"pending\",\"planning\",\"searching\","
			   "\"implementing\",\"executing\"]}}"),
		  0);
	CHECK_INT(mt_count(c, db, "jobs", "{\"status\":\"processing\"}"), 44); /* 5 of every 7 sample statuses */
	CHECK_INT(mt_count(c, db, "jobs", "{\"session_ids\":{\"$size\":0}}"), N);
	CHECK_INT(mt_count(c, db, "jobs", "{\"tools_in_progress\":0}"), N);
	CHECK_INT(mt_count(c, db, "jobs", "{\"tool_ids\":{\"$exists\":true}}"), arrays_dropped ? 0 : N - N / 5);
	CHECK_STR(mt_indexes(c, db, "jobs"), "_id_,created_at_1,job_id_1,status_1,user_id_1,user_id_1_status_1");
	CHECK_STR(mt_indexes(c, db, "sessions"),
		  "_id_,created_at_1,job_id_1,session_id_1,status_1,user_id_1,user_id_1_status_1");
	spec = mt_index_spec(c, db, "jobs", "job_id_1");
	CHECK_STR(spec, "{ \"key\" : { \"job_id\" : 1 }, \"unique\" : true }");
	free(spec);
	spec = mt_index_spec(c, db, "sessions", "user_id_1_status_1");
	CHECK_STR(spec, "{ \"key\" : { \"user_id\" : 1, \"status\" : 1 }, \"unique\" : false }");
	free(spec);
	/* Counters equal the old arrays' lengths (0 for missing or null), job by job. */
	cur = mongoc_collection_find_with_opts(jobs, &empty, NULL, NULL);
	while (mongoc_cursor_next(cur, &doc)) {
		bson_iter_t it;
		int i;
		CHECK(bson_iter_init_find(&it, doc, "job_id") && BSON_ITER_HOLDS_UTF8(&it));
		i = atoi(bson_iter_utf8(&it, NULL) + 4);
		CHECK_INT(int_of(doc, "tools_completed"), i % 5 == 4 ? 0 : i % 5);
		CHECK_INT(int_of(doc, "tools_failed"), i % 3 == 0 ? 0 : i % 2);
		n++;
	}
	mongoc_cursor_destroy(cur);
	CHECK_INT(n, N);
	mongoc_collection_destroy(jobs);
}

TEST(seed000_sessions_to_jobs)
{
	const char *url = mt_fresh_db("seed000");
	char dburl[600];
	mongoc_client_t *c;
	migrate_plan_t *plan = NULL, *with_drop = NULL;
	migrate_target_t *t;
	migrate_error_t err;
	bson_error_t e;
	migrate_check_state_t state;

	snprintf(dburl, sizeof dburl, "%s", url);
	c = mt_client(dburl);
	CHECK(sessions_to_jobs_sample(c, mt_db(), N, &e) == 0);
	CHECK_OK(sessions_to_jobs_plan(&plan, 0, &err), &err);
	CHECK_OK(sessions_to_jobs_plan(&with_drop, 1, &err), &err);
	t = mt_target(dburl);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	verify_jobs(c, mt_db(), false);
	CHECK_OK(migrate_check(t, plan, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_UP_TO_DATE);

	/* The rollback of section 7: sessions is the old collection again, the new one gone. */
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	CHECK(!mt_exists(c, mt_db(), "jobs"));
	CHECK_INT(mt_count(c, mt_db(), "sessions", NULL), N);
	CHECK_INT(mt_count(c, mt_db(), "sessions", "{\"tools_completed\":{\"$exists\":true}}"), 0);
	CHECK_INT(mt_count(c, mt_db(), "sessions", "{\"session_ids\":{\"$exists\":true}}"), 0);
	CHECK_INT(mt_count(c, mt_db(), "sessions", "{\"tool_ids\":{\"$exists\":true}}"), N - N / 5);
	CHECK_STR(mt_indexes(c, mt_db(), "sessions"), "_id_");
	CHECK_INT(mt_count(c, mt_db(), "_migrate_history", NULL), 0);
	/* Version 4 kept the five statuses it folded: every document has its own back, the kept collection is gone. */
	{
		static const char *const statuses[] = {"pending",   "planning",  "searching", "implementing",
						       "executing", "completed", "failed"};
		for (int k = 0; k < 7; k++) {
			char q[64];
			int want = 0;
			for (int i = 0; i < N; i++)
				want += i % 7 == k;
			snprintf(q, sizeof q, "{\"status\":\"%s\"}", statuses[k]);
			CHECK_INT(mt_count(c, mt_db(), "sessions", q), want);
		}
		CHECK_INT(mt_count(c, mt_db(), "sessions", "{\"status\":\"processing\"}"), 0);
		CHECK(!mt_exists(c, mt_db(), "jobs_status_kept"));
	}

	/* Forward again, with the optional removal of the old arrays (3.4) after the counters. */
	CHECK_OK(migrate_up(t, with_drop, 0, NULL, &err), &err);
	verify_jobs(c, mt_db(), true);
	CHECK_INT(mt_state(t, with_drop, 5), MIGRATE_STATE_APPLIED);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	migrate_plan_destroy(with_drop);
	mongoc_client_destroy(c);
}

TEST(seed004_chat_collections)
{
	const char *url = mt_fresh_db("seed004");
	char dburl[600];
	mongoc_client_t *c;
	migrate_plan_t *plan = NULL;
	migrate_target_t *t;
	migrate_error_t err;
	char msg[300];
	char *spec;
	migrate_check_state_t state;

	snprintf(dburl, sizeof dburl, "%s", url);
	c = mt_client(dburl);
	CHECK_OK(chat_collections_plan(&plan, &err), &err);
	t = mt_target(dburl);
	CHECK_OK(migrate_check(t, plan, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_PENDING);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_STR(mt_collections(c, mt_db()),
		  "_migrate_history,_migrate_locks,chat_messages,chat_sessions,message_votes,token_usage");
	CHECK_STR(mt_indexes(c, mt_db(), "chat_sessions"),
		  "_id_,created_at_-1,id_unique,is_active_1,session_type_1,user_id_1,user_id_1_created_at_-1,"
		  "user_id_1_is_active_1");
	CHECK_STR(mt_indexes(c, mt_db(), "chat_messages"),
		  "_id_,created_at_-1,id_unique,role_1,session_id_1,session_id_1_created_at_1,status_1,user_id_1,"
		  "user_id_1_created_at_-1");
	CHECK_STR(mt_indexes(c, mt_db(), "token_usage"),
		  "_id_,created_at_-1,id_unique,message_id_1,model_1,model_1_created_at_-1,session_id_1,"
		  "user_id_1_created_at_-1");
	CHECK_STR(mt_indexes(c, mt_db(), "message_votes"),
		  "_id_,created_at_-1,id_unique,message_id_1,message_id_1_user_id_1,user_id_1,vote_type_1");
	spec = mt_index_spec(c, mt_db(), "message_votes", "message_id_1_user_id_1");
	CHECK_STR(spec, "{ \"key\" : { \"message_id\" : 1, \"user_id\" : 1 }, \"unique\" : true }");
	free(spec);
	/* One vote per user per message, enforced by the server. */
	mt_insert(
		c, mt_db(), "message_votes",
		"[{\"id\":\"v1\",\"message_id\":\"m1\",\"user_id\":\"u1\",\"vote_type\":\"up\",\"_schema_version\":\"1.0.0\"}]");
	CHECK(!mt_try_cmd(c, mt_db(),
			  "{\"insert\":\"message_votes\",\"documents\":[{\"id\":\"v2\",\"message_id\":\"m1\","
			  "\"user_id\":\"u1\",\"vote_type\":\"down\"}]}",
			  msg, sizeof msg) ||
	      mt_count(c, mt_db(), "message_votes", NULL) == 1);
	CHECK_INT(mt_count(c, mt_db(), "message_votes", NULL), 1);
	CHECK_INT(
		mt_count(c, mt_db(), "_migrate_history",
			 "{\"plan\":\"chat_collections\",\"name\":\"create_chat_collections\",\"state\":\"applied\"}"),
		1);
	CHECK_OK(migrate_check(t, plan, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_UP_TO_DATE);
	/* Rollback: every chat collection dropped, the history entry gone. */
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	CHECK_STR(mt_collections(c, mt_db()), "_migrate_history,_migrate_locks");
	CHECK_INT(mt_count(c, mt_db(), "_migrate_history", NULL), 0);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	mongoc_client_destroy(c);
}
