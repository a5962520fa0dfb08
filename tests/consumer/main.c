/*
 * A program built against an installed libmigrate, as a user would build
 * it: applies a one-version plan to an in-memory SQLite database and prints
 * the version the database is at.
 */
#include <stdio.h>
#include <string.h>

#include <migrate/migrate.h>

static const char *const create_notes =
	"{\"op\": \"create_table\", \"table\": \"notes\", \"primary_key\": [\"id\"],"
	" \"columns\": [{\"name\": \"id\", \"type\": \"integer\"}, {\"name\": \"body\", \"type\": \"text\"}]}";
static const char *const notes_exist = "{\"op\": \"assert\", \"exists\": {\"table\": \"notes\", \"column\": \"body\"}}";

/* The highest applied version in the database, 0 if none. */
static int applied_version(migrate_target_t *target, const migrate_plan_t *plan, uint64_t *out, migrate_error_t *err)
{
	migrate_status_t *status = NULL;
	size_t i;
	int rc;

	*out = 0;
	rc = migrate_status_get(target, plan, &status, err);
	if (rc != 0)
		return rc;
	for (i = 0; i < migrate_status_count(status); i++) {
		const migrate_status_entry_t *e = migrate_status_entry(status, i);
		if (e->state == MIGRATE_STATE_APPLIED && e->id > *out)
			*out = e->id;
	}
	migrate_status_destroy(status);
	return 0;
}

int main(void)
{
	migrate_error_t err;
	migrate_plan_t *plan = NULL;
	migrate_version_t *v = NULL;
	migrate_target_t *target = NULL;
	uint64_t version = 0;
	migrate_check_state_t state = -1;
	int rc;

	memset(&err, 0, sizeof err);
	if (migrate_version_number() != MIGRATE_VERSION_NUMBER) {
		fprintf(stderr, "consumer: headers are %s but the library is %s\n", MIGRATE_VERSION_STRING,
			migrate_version_string());
		return 1;
	}
	rc = migrate_plan_new(&plan, "consumer", &err);
	if (rc == 0)
		rc = migrate_plan_add_version(plan, 1, "create notes", &v, &err);
	if (rc == 0)
		rc = migrate_version_add_step_json(v, create_notes, NULL, &err);
	if (rc == 0)
		rc = migrate_version_add_step_json(v, notes_exist, NULL, &err);
	if (rc == 0)
		rc = migrate_target_open(&target, "sqlite::memory:", &err);
	if (rc == 0)
		rc = migrate_up(target, plan, 0, NULL, &err);
	if (rc == 0)
		rc = migrate_check(target, plan, &state, &err);
	if (rc == 0)
		rc = applied_version(target, plan, &version, &err);
	if (rc != 0)
		fprintf(stderr, "consumer: %s: %s\n", migrate_strerror(rc), err.message);
	else if (state != MIGRATE_CHECK_UP_TO_DATE || version != 1)
		fprintf(stderr, "consumer: check state %d, version %llu\n", (int)state, (unsigned long long)version);
	else
		printf("libmigrate %s: plan %s at version %llu\n", migrate_version_string(), migrate_plan_name(plan),
		       (unsigned long long)version);
	migrate_target_close(target);
	migrate_plan_destroy(plan);
	return rc == 0 && state == MIGRATE_CHECK_UP_TO_DATE && version == 1 ? 0 : 1;
}
