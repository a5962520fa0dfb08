/*
 * Crash injection: a child process runs `up` and kills itself (SIGKILL) at
 * its k-th event, for every k until a run completes before reaching k; the
 * next run must converge to exactly the database an uninterrupted run
 * makes: nothing lost, nothing applied twice. The same with cancellation
 * (the event callback returning non-zero) instead of a kill.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sqlite_util.h"

static migrate_error_t err;

/* Versions with transactional groups, rebuilds, enums and batched (non-idempotent) backfills. */
static migrate_plan_t *crash_plan(void)
{
	migrate_plan_t *p = tu_plan("crash");

	tu_version(
		p, 1, "items", "{\"op\":\"create_enum\",\"name\":\"state\",\"values\":[\"new\",\"old\",\"gone\"]}",
		"{\"op\":\"create_table\",\"table\":\"items\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\"},"
		"{\"name\":\"name\",\"type\":\"text\"},{\"name\":\"counter\",\"type\":\"integer\",\"default\":{\"value\":0}},"
		"{\"name\":\"status\",\"type\":\"text\"},{\"name\":\"tool_ids\",\"type\":\"json\"},"
		"{\"name\":\"n\",\"type\":\"integer\"}],\"primary_key\":[\"id\"]}",
		"{\"op\":\"sql\",\"up\":\"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 40) "
		"INSERT INTO items (id, name, status, tool_ids) SELECT i, 'n' || i, CASE i % 3 WHEN 0 THEN 'pending' "
		"WHEN 1 THEN 'planning' ELSE 'done' END, CASE WHEN i % 2 THEN '[1,2]' END FROM s\"}",
		NULL);
	tu_version(
		p, 2, "columns",
		"{\"op\":\"add_column\",\"table\":\"items\",\"column\":{\"name\":\"flag\",\"type\":\"integer\","
		"\"default\":{\"value\":0}}}",
		"{\"op\":\"add_column\",\"table\":\"items\",\"column\":{\"name\":\"code\",\"type\":\"text\","
		"\"unique\":true}}",
		"{\"op\":\"create_index\",\"table\":\"items\",\"name\":\"items_status\",\"keys\":[{\"column\":\"status\"}]}",
		NULL);
	tu_version(
		p, 3, "backfills",
		"{\"op\":\"backfill\",\"table\":\"items\",\"batch_size\":6,\"set\":{\"counter\":{\"sql\":\"counter + 1\"}}}",
		"{\"op\":\"backfill\",\"table\":\"items\",\"batch_size\":9,\"set\":{\"n\":{\"array_length\":\"tool_ids\"},"
		"\"counter\":{\"sql\":\"counter + 10\"}}}",
		NULL);
	tu_version(p, 4, "statuses",
		   "{\"op\":\"map_values\",\"table\":\"items\",\"column\":\"status\",\"batch_size\":5,"
		   "\"map\":{\"pending\":\"processing\",\"planning\":\"processing\"}}",
		   "{\"op\":\"rename_column\",\"table\":\"items\",\"from\":\"name\",\"to\":\"title\"}",
		   "{\"op\":\"drop_column\",\"table\":\"items\",\"column\":\"flag\",\"down\":[]}", NULL);
	tu_version(p, 5, "more",
		   "{\"op\":\"create_table\",\"table\":\"log\",\"columns\":[{\"name\":\"s\",\"type\":\"enum:state\"}]}",
		   "{\"op\":\"sql\",\"up\":\"INSERT INTO log VALUES ('new'); INSERT INTO log VALUES ('old')\"}",
		   "{\"op\":\"assert\",\"count\":{\"table\":\"items\",\"where\":{\"counter\":11}},\"expect\":40}",
		   NULL);
	return p;
}

typedef struct stopper {
	int k, seen;
	int kill; /* SIGKILL at the k-th event, else cancel */
} stopper_t;

static int on_event(const migrate_event_t *e, void *payload)
{
	stopper_t *s = payload;

	(void)e;
	if (++s->seen != s->k)
		return 0;
	if (s->kill)
		raise(SIGKILL);
	return 1;
}

/* Runs `up` on a borrowed connection; returns its code. */
static int run_up(const char *path, stopper_t *s)
{
	sqlite3 *db = tu_open(path);
	migrate_target_t *t = NULL;
	migrate_plan_t *p = crash_plan();
	migrate_run_options_t o;
	int rc;

	/* A killed process loses nothing that reached the OS, so no fsync is needed here. */
	tu_exec(db, "PRAGMA synchronous = OFF");
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = s ? on_event : NULL;
	o.event_payload = s;
	o.lock_timeout_ms = 5000;
	CHECK_OK(migrate_target_open_sqlite(&t, db, &err), &err);
	rc = migrate_up(t, p, 0, &o, &err);
	migrate_target_close(t);
	migrate_plan_destroy(p);
	sqlite3_close(db);
	return rc;
}

static char *dump_of(const char *path)
{
	sqlite3 *db = tu_open(path);
	char *d = tu_dump(db);

	sqlite3_close(db);
	return d;
}

static char *reference(void)
{
	const char *path = harness_path("reference.sqlite");
	int rc = run_up(path, NULL);

	if (rc)
		harness_fail(__FILE__, __LINE__, "reference run: %d %s", rc, err.message);
	return dump_of(harness_path("reference.sqlite"));
}

static void remove_db(const char *path)
{
	char p[1100];

	unlink(path);
	snprintf(p, sizeof p, "%s-journal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-migrate.lock", path);
	unlink(p);
}

TEST(kill_at_every_event)
{
	char *ref = reference(), *got;
	char path[1100];
	int k, status, killed = 0;

	CHECK_HAS(ref, "i40, t'n40', i11, t'processing', NULL, i0, NULL");
	snprintf(path, sizeof path, "%s", harness_path("crash.sqlite"));
	for (k = 1; k < 1000; k++) {
		pid_t pid;
		remove_db(path);
		fflush(NULL);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			stopper_t s = {k, 0, 1};
			_exit(run_up(path, &s) == 0 ? 0 : 3);
		}
		CHECK(waitpid(pid, &status, 0) == pid);
		if (WIFEXITED(status)) {
			/* the run finished before its k-th event: every point was tried */
			CHECK_INT(WEXITSTATUS(status), 0);
			break;
		}
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		killed++;
		if (run_up(path, NULL) != 0)
			harness_fail(__FILE__, __LINE__, "resume after a kill at event %d: %s", k, err.message);
		got = dump_of(path);
		if (strcmp(got, ref) != 0)
			harness_fail(__FILE__, __LINE__,
				     "killed at event %d, the resumed database differs:\n%s\n---- expected:\n%s", k,
				     got, ref);
		bson_free(got);
	}
	fprintf(stderr, "killed at %d event points, every resumed run matched\n", killed);
	CHECK(killed > 30);
	bson_free(ref);
}

TEST(cancel_at_every_event)
{
	char *ref = reference(), *got;
	char path[1100];
	int k, rc, canceled = 0;

	snprintf(path, sizeof path, "%s", harness_path("cancel.sqlite"));
	for (k = 1; k < 1000; k++) {
		stopper_t s = {k, 0, 0};
		remove_db(path);
		rc = run_up(path, &s);
		if (rc == 0 && s.seen < k)
			break;
		if (rc == 0) {
			/* canceled by the last event of the run: nothing was left to stop */
			continue;
		}
		if (rc != MIGRATE_ECANCELED)
			harness_fail(__FILE__, __LINE__, "cancel at event %d returned %d: %s", k, rc, err.message);
		canceled++;
		if (run_up(path, NULL) != 0)
			harness_fail(__FILE__, __LINE__, "resume after a cancel at event %d: %s", k, err.message);
		got = dump_of(path);
		if (strcmp(got, ref) != 0)
			harness_fail(__FILE__, __LINE__,
				     "canceled at event %d, the resumed database differs:\n%s\n---- expected:\n%s", k,
				     got, ref);
		bson_free(got);
	}
	fprintf(stderr, "canceled at %d event points, every resumed run matched\n", canceled);
	CHECK(canceled > 10);
	bson_free(ref);
}
