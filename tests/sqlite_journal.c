/*
 * The journal at the edges of a transaction group and of a down: a commit
 * that fails, a down stopped before its first step, an up run over a
 * half-reverted version, and a version reverted through its own down.
 */
#include "sqlite_util.h"

static migrate_error_t err;

static int cancel_at_version_start(const migrate_event_t *e, void *payload)
{
	(void)payload;
	return e->type == MIGRATE_EVENT_VERSION_START;
}

/*
 * The commit of a group fails (a foreign key violated by the group, found
 * by the check before commit): the journal must say nothing of the group
 * ran, so that the next up runs it again.
 */
TEST(failed_commit_leaves_the_group_pending)
{
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = tu_open(path);
	migrate_target_t *t = NULL;
	migrate_plan_t *p = tu_plan("app");

	tu_exec(db, "PRAGMA foreign_keys = ON; CREATE TABLE parent (id INTEGER PRIMARY KEY);"
		    "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))");
	CHECK_OK(migrate_target_open_sqlite(&t, db, &err), &err);
	tu_version(p, 1, "children", "{\"op\":\"sql\",\"up\":\"INSERT INTO child (id, parent_id) VALUES (1, 7)\"}",
		   "{\"op\":\"sql\",\"up\":\"INSERT INTO child (id, parent_id) VALUES (2, 7)\"}", NULL);
	CHECK(migrate_up(t, p, 0, NULL, &err) != 0);
	CHECK_HAS(err.message, "foreign");
	CHECK_INT(tu_int(db, "SELECT count(*) FROM child"), 0);
	CHECK_INT(tu_int(db, "SELECT steps_done FROM _migrate_history"), 0);
	CHECK_INT(tu_int(db, "SELECT state FROM _migrate_history"), MIGRATE_STATE_FAILED);
	/* once the parent exists, the next up runs both steps */
	tu_exec(db, "INSERT INTO parent (id) VALUES (7)");
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM child"), 2);
	CHECK_INT(tu_int(db, "SELECT state FROM _migrate_history"), MIGRATE_STATE_APPLIED);
	migrate_target_close(t);
	sqlite3_close(db);
	migrate_plan_destroy(p);
}

/* A down stopped before it undid anything, then an up: the version is applied again, not left applying. */
TEST(up_after_a_down_stopped_at_its_start)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	migrate_run_options_t o;
	migrate_check_state_t state = -1;

	tu_version(p, 1, "two tables", "{\"op\":\"sql\",\"up\":\"CREATE TABLE a (x)\",\"down\":\"DROP TABLE a\"}",
		   "{\"op\":\"sql\",\"up\":\"CREATE TABLE b (x)\",\"down\":\"DROP TABLE b\"}", NULL);
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = cancel_at_version_start;
	CHECK_INT(migrate_down(t, p, 0, &o, &err), MIGRATE_ECANCELED);
	CHECK_INT(tu_int(db, "SELECT state FROM _migrate_history"), MIGRATE_STATE_REVERTING);
	CHECK(tu_has_table(db, "a") && tu_has_table(db, "b"));
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	CHECK_INT(tu_int(db, "SELECT state FROM _migrate_history"), MIGRATE_STATE_APPLIED);
	CHECK_OK(migrate_check(t, p, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_UP_TO_DATE);
	migrate_target_close(t);
	sqlite3_close(db);
	migrate_plan_destroy(p);
}

static int cancel_after_first_step_end(const migrate_event_t *e, void *payload)
{
	(void)payload;
	return e->type == MIGRATE_EVENT_STEP_END;
}

/*
 * A version's own down undoes it at once: stopping the down right after
 * the list ran leaves no half-reverted version behind.
 */
TEST(version_down_reverts_the_version_as_one)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	migrate_version_t *v;
	migrate_run_options_t o;

	v = tu_version(p, 1, "irreversible steps", "{\"op\":\"sql\",\"up\":\"CREATE TABLE a (x)\"}",
		       "{\"op\":\"sql\",\"up\":\"CREATE TABLE b (x)\"}",
		       "{\"op\":\"sql\",\"up\":\"CREATE TABLE c (x)\"}", NULL);
	CHECK_OK(migrate_version_set_down_json(
			 v,
			 "[{\"op\":\"sql\",\"up\":\"DROP TABLE c\"},{\"op\":\"sql\",\"up\":\"DROP TABLE b\"},"
			 "{\"op\":\"sql\",\"up\":\"DROP TABLE a\"}]",
			 &err),
		 &err);
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = cancel_after_first_step_end;
	/* the cancel comes after the list ran: the version is gone in the same transaction */
	CHECK_OK(migrate_down(t, p, 0, &o, &err), &err);
	CHECK(!tu_has_table(db, "a") && !tu_has_table(db, "b") && !tu_has_table(db, "c"));
	CHECK_INT(tu_int(db, "SELECT count(*) FROM _migrate_history"), 0);
	/* and up again, then down without a cancel */
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	CHECK_OK(migrate_down(t, p, 0, NULL, &err), &err);
	CHECK(!tu_has_table(db, "a"));
	migrate_target_close(t);
	sqlite3_close(db);
	migrate_plan_destroy(p);
}

static int cancel_after_step_1(const migrate_event_t *e, void *payload)
{
	(void)payload;
	return e->type == MIGRATE_EVENT_STEP_END && e->step_index == 0;
}

/* A version an up left part-way is reverted step by step, so its irreversible steps refuse. */
TEST(version_down_not_used_for_a_part_applied_version)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	migrate_version_t *v;
	migrate_run_options_t o;

	v = tu_version(p, 1, "irreversible steps", "{\"op\":\"sql\",\"up\":\"CREATE TABLE a (x)\"}",
		       "{\"op\":\"sql\",\"up\":\"CREATE TABLE b (x)\"}", NULL);
	CHECK_OK(migrate_version_set_transactional(v, 0), &err);
	CHECK_OK(
		migrate_version_set_down_json(
			v, "[{\"op\":\"sql\",\"up\":\"DROP TABLE b\"},{\"op\":\"sql\",\"up\":\"DROP TABLE a\"}]", &err),
		&err);
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = cancel_after_step_1;
	CHECK_INT(migrate_up(t, p, 0, &o, &err), MIGRATE_ECANCELED);
	CHECK(tu_has_table(db, "a") && !tu_has_table(db, "b"));
	CHECK_INT(tu_int(db, "SELECT steps_done FROM _migrate_history"), 1);
	CHECK_INT(migrate_down(t, p, 0, NULL, &err), MIGRATE_EIRREVERSIBLE);
	CHECK(tu_has_table(db, "a"));
	/* finished by an up, the version is whole again and its own down serves */
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	CHECK_OK(migrate_down(t, p, 0, NULL, &err), &err);
	CHECK(!tu_has_table(db, "a") && !tu_has_table(db, "b"));
	migrate_target_close(t);
	sqlite3_close(db);
	migrate_plan_destroy(p);
}
