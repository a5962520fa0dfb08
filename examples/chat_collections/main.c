/*
 * chat_collections: seed 004 on MongoDB.
 *
 *   chat_collections URL              create the four collections and their indexes
 *   chat_collections URL --status     has the migration been applied?
 *   chat_collections URL --rollback   drop them (WARNING: deletes all chat data)
 *
 * URL is mongodb://host:port/dbname.
 */
#include <stdio.h>
#include <string.h>

#include <migrate/migrate.h>

#include "plan.h"

static int status(migrate_target_t *t, const migrate_plan_t *plan)
{
	migrate_status_t *st = NULL;
	migrate_error_t err;
	migrate_check_state_t check = MIGRATE_CHECK_PENDING;

	if (migrate_status_get(t, plan, &st, &err) != 0 || migrate_check(t, plan, &check, &err) != 0) {
		fprintf(stderr, "status: %s\n", err.message);
		migrate_status_destroy(st);
		return 1;
	}
	for (size_t i = 0; i < migrate_status_count(st); i++) {
		const migrate_status_entry_t *e = migrate_status_entry(st, i);
		printf("%llu %s: %s (%u/%u steps)\n", (unsigned long long)e->id, e->name ? e->name : "",
		       migrate_state_name(e->state), e->steps_done, e->steps_total);
	}
	printf("%s\n", check == MIGRATE_CHECK_UP_TO_DATE ? "Migration already applied" : "Migration not applied");
	migrate_status_destroy(st);
	return 0;
}

int main(int argc, char **argv)
{
	const char *url = NULL;
	int want_status = 0, rollback = 0, rc = 1;
	migrate_plan_t *plan = NULL;
	migrate_target_t *t = NULL;
	migrate_error_t err;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--status"))
			want_status = 1;
		else if (!strcmp(argv[i], "--rollback"))
			rollback = 1;
		else if (!url && argv[i][0] != '-')
			url = argv[i];
		else
			url = NULL, i = argc;
	}
	if (!url) {
		fprintf(stderr, "usage: %s mongodb://host/db [--status | --rollback]\n", argv[0]);
		return 2;
	}
	if (chat_collections_plan(&plan, &err) != 0 || migrate_target_open(&t, url, &err) != 0) {
		fprintf(stderr, "%s\n", err.message);
		goto cleanup;
	}
	if (want_status) {
		rc = status(t, plan);
	} else if (rollback) {
		if (migrate_down(t, plan, 0, NULL, &err) != 0) {
			fprintf(stderr, "rollback failed: %s\n", err.message);
			goto cleanup;
		}
		printf("Rolled back: chat_sessions, chat_messages, token_usage and message_votes dropped\n");
		rc = 0;
	} else {
		if (migrate_up(t, plan, 0, NULL, &err) != 0) {
			fprintf(stderr, "migration failed: %s\n", err.message);
			goto cleanup;
		}
		printf("Created:");
		for (size_t i = 0; chat_collections_names[i]; i++)
			printf(" %s", chat_collections_names[i]);
		printf("\n");
		rc = status(t, plan);
	}
cleanup:
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	return rc;
}
