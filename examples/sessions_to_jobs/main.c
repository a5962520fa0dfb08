/*
 * sessions_to_jobs: seed 000 on MongoDB.
 *
 *   sessions_to_jobs URL                 migrate (creating sample data first
 *                                        when the database has none)
 *   sessions_to_jobs URL --drop-arrays   also remove tool_ids/tool_failure_ids
 *   sessions_to_jobs URL --status        show every version's state
 *   sessions_to_jobs URL --rollback      the rollback of section 7
 *
 * URL is mongodb://host:port/dbname. --sample N sets the number of sample
 * sessions (default 1000); --no-sample never creates them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <migrate/migrate.h>
#include <mongoc/mongoc.h>

#include "plan.h"

/* FerretDB has no endSessions; libmongoc warns about it when a client ends. */
static void quiet_log(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
	if (!strstr(message, "endSessions"))
		mongoc_log_default_handler(level, domain, message, data);
}

static int on_event(const migrate_event_t *ev, void *payload)
{
	const char *dir = ev->direction == MIGRATE_DIRECTION_DOWN ? "down" : "up";

	switch (ev->type) {
	case MIGRATE_EVENT_VERSION_START:
		printf("%s %llu: %s\n", dir, (unsigned long long)ev->version_id,
		       ev->version_name ? ev->version_name : "");
		break;
	case MIGRATE_EVENT_STEP_END:
		printf("  step %d/%d %s done\n", ev->step_index + 1, ev->step_count, ev->op ? ev->op : "");
		break;
	case MIGRATE_EVENT_PROGRESS:
		printf("    %lld of ~%lld documents\n", (long long)ev->processed, (long long)ev->total);
		break;
	case MIGRATE_EVENT_LOCK_WAIT:
	case MIGRATE_EVENT_WARNING: printf("  %s\n", ev->message ? ev->message : ""); break;
	default: break;
	}
	fflush(stdout);
	return 0;
}

static int print_status(migrate_target_t *t, const migrate_plan_t *plan)
{
	migrate_status_t *st = NULL;
	migrate_error_t err;

	if (migrate_status_get(t, plan, &st, &err) != 0) {
		fprintf(stderr, "status: %s\n", err.message);
		return 1;
	}
	for (size_t i = 0; i < migrate_status_count(st); i++) {
		const migrate_status_entry_t *e = migrate_status_entry(st, i);
		printf("%3llu  %-9s %-40s steps %u/%u%s%s\n", (unsigned long long)e->id, migrate_state_name(e->state),
		       e->name ? e->name : "", e->steps_done, e->steps_total, e->in_plan ? "" : "  (not in plan)",
		       e->checksum_matches ? "" : "  (checksum differs)");
	}
	migrate_status_destroy(st);
	return 0;
}

/* Sample data only into a database that has neither sessions, jobs nor history. */
static int maybe_sample(const char *url, int n, int *created)
{
	mongoc_uri_t *uri = mongoc_uri_new(url);
	mongoc_client_t *client;
	mongoc_database_t *db;
	bson_error_t e;
	int rc = 0;

	*created = 0;
	if (!uri) {
		fprintf(stderr, "bad URL\n");
		return 1;
	}
	client = mongoc_client_new_from_uri(uri);
	db = mongoc_client_get_database(client, mongoc_uri_get_database(uri));
	if (!mongoc_database_has_collection(db, "sessions", &e) && !mongoc_database_has_collection(db, "jobs", &e) &&
	    !mongoc_database_has_collection(db, "_migrate_history", &e)) {
		if (e.code) {
			fprintf(stderr, "cannot read the database: %s\n", e.message);
			rc = 1;
		} else if (sessions_to_jobs_sample(client, mongoc_uri_get_database(uri), n, &e) != 0) {
			fprintf(stderr, "sample data: %s\n", e.message);
			rc = 1;
		} else {
			*created = n;
		}
	}
	mongoc_database_destroy(db);
	mongoc_client_destroy(client);
	mongoc_uri_destroy(uri);
	return rc;
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	int status = 0, rollback = 0, drop_arrays = 0, sample = 1000, created = 0, rc = 1;
	migrate_plan_t *plan = NULL;
	migrate_target_t *t = NULL;
	migrate_run_options_t opts;
	migrate_error_t err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--status"))
			status = 1;
		else if (!strcmp(argv[i], "--rollback"))
			rollback = 1;
		else if (!strcmp(argv[i], "--drop-arrays"))
			drop_arrays = 1;
		else if (!strcmp(argv[i], "--no-sample"))
			sample = 0;
		else if (!strcmp(argv[i], "--sample") && i + 1 < argc)
			sample = atoi(argv[++i]);
		else if (!url && argv[i][0] != '-')
			url = argv[i];
		else {
			fprintf(stderr,
				"usage: %s mongodb://host/db [--status] [--rollback] [--drop-arrays] "
				"[--sample N | --no-sample]\n",
				argv[0]);
			return 2;
		}
	}
	if (!url) {
		fprintf(stderr, "usage: %s mongodb://host/db [--status] [--rollback] [--drop-arrays]\n", argv[0]);
		return 2;
	}
	mongoc_init();
	mongoc_log_set_handler(quiet_log, NULL);
	if (sessions_to_jobs_plan(&plan, drop_arrays, &err) != 0) {
		fprintf(stderr, "plan: %s\n", err.message);
		goto cleanup;
	}
	if (migrate_target_open(&t, url, &err) != 0) {
		fprintf(stderr, "%s\n", err.message);
		goto cleanup;
	}
	if (status) {
		rc = print_status(t, plan);
		goto cleanup;
	}
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.on_event = on_event;
	if (rollback) {
		if (migrate_down(t, plan, 0, &opts, &err) != 0) {
			fprintf(stderr, "rollback failed: %s\n", err.message);
			goto cleanup;
		}
		printf("rolled back: the new sessions collection is dropped and jobs is sessions again\n");
		rc = 0;
		goto cleanup;
	}
	if (sample > 0 && maybe_sample(url, sample, &created) != 0)
		goto cleanup;
	if (created)
		printf("created %d sample sessions\n", created);
	if (migrate_up(t, plan, 0, &opts, &err) != 0) {
		fprintf(stderr, "migration failed: %s\n", err.message);
		goto cleanup;
	}
	printf("migrated; status:\n");
	rc = print_status(t, plan);
cleanup:
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	return rc;
}
