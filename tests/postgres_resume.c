/*
 * Crash safety on PostgreSQL: a process killed (SIGKILL) at every step
 * boundary and in the middle of backfills, then re-run, reaches exactly the
 * state of an uninterrupted run; a failed or interrupted concurrent index
 * build leaves an INVALID index that is reported, dropped and rebuilt; a
 * connection terminated mid-backfill gives a clear error and the re-run
 * completes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "postgres_util.h"

static migrate_plan_t *resume_plan(void)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	migrate_version_t *v;

	CHECK_OK(migrate_plan_new(&plan, "resume", &err), &err);
	v = pgt_version(plan, 1, "items");
	pgt_step(v, "{\"op\":\"create_table\",\"table\":\"items\",\"primary_key\":[\"id\"],\"columns\":["
		    "{\"name\":\"id\",\"type\":\"integer\",\"nullable\":false},{\"name\":\"tags\",\"type\":\"json\"},"
		    "{\"name\":\"status\",\"type\":\"text\"}]}");
	pgt_step(
		v,
		"{\"op\":\"create_table\",\"table\":\"events\",\"primary_key\":[\"id\"],\"columns\":["
		"{\"name\":\"id\",\"type\":\"integer\",\"nullable\":false},{\"name\":\"item\",\"type\":\"integer\"}]}");
	pgt_step(
		v,
		"{\"op\":\"sql\",\"up\":\"INSERT INTO items SELECT g, (SELECT coalesce(jsonb_agg(x), '[]') FROM "
		"generate_series(1, g % 5) x), (ARRAY['pending','planning','done'])[1 + g % 3] FROM "
		"generate_series(1, 3000) g; INSERT INTO events SELECT g, 1 + g % 1500 FROM generate_series(1, 2000) g\","
		"\"down\":\"DELETE FROM events; DELETE FROM items\"}");
	v = pgt_version(plan, 2, "counters");
	pgt_step(v, "{\"op\":\"add_column\",\"table\":\"items\",\"column\":{\"name\":\"n\",\"type\":\"integer\","
		    "\"default\":{\"value\":0}}}");
	pgt_step(v, "{\"op\":\"add_column\",\"table\":\"items\",\"column\":{\"name\":\"hits\",\"type\":\"bigint\"}}");
	pgt_step(v, "{\"op\":\"add_column\",\"table\":\"items\",\"column\":{\"name\":\"touched\",\"type\":\"integer\","
		    "\"default\":{\"value\":0}}}");
	pgt_step(v, "{\"op\":\"add_column\",\"table\":\"items\",\"column\":{\"name\":\"uid\","
		    "\"type\":\"uuid\",\"default\":\"uuid\",\"nullable\":false,\"unique\":true}}");
	pgt_step(v, "{\"op\":\"map_values\",\"table\":\"items\",\"column\":\"status\",\"batch_size\":400,"
		    "\"map\":{\"pending\":\"processing\",\"planning\":\"processing\"}}");
	pgt_step(v, "{\"op\":\"backfill\",\"table\":\"items\",\"batch_size\":450,\"set\":{\"n\":{\"array_length\":"
		    "\"tags\"},\"hits\":{\"count\":{\"table\":\"events\",\"match\":{\"item\":\"id\"}}},"
		    "\"touched\":{\"sql\":\"touched + 1\"}},\"down\":[]}");
	pgt_step(v, "{\"op\":\"create_index\",\"table\":\"items\",\"name\":\"items_n\",\"online\":true,"
		    "\"keys\":[{\"column\":\"n\"}]}");
	v = pgt_version(plan, 3, "more");
	pgt_step(v, "{\"op\":\"rename_column\",\"table\":\"items\",\"from\":\"hits\",\"to\":\"event_count\"}");
	pgt_step(v, "{\"op\":\"backfill\",\"table\":\"items\",\"batch_size\":700,\"where\":{\"n\":{\"$gte\":2}},"
		    "\"set\":{\"status\":{\"sql\":\"status || '+'\"}},\"down\":[]}");
	pgt_step(v, "{\"op\":\"assert\",\"count\":{\"table\":\"items\",\"where\":{\"status\":\"processing\"}},"
		    "\"expect\":800}");
	return plan;
}

/* Everything a run changes: schema, indexes and their validity, data, history. */
static char *fingerprint(const char *url)
{
	PGconn *c = pgt_connect(url);
	char *s = pgt_value(c,
			    "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM ("
			    "SELECT 'col:' || table_name || '.' || column_name || ':' || data_type || ':' || "
			    "coalesce(column_default, '') || is_nullable AS x FROM information_schema.columns "
			    "WHERE table_schema = 'public' AND table_name <> '_migrate_history' "
			    "UNION ALL SELECT 'idx:' || indexdef FROM pg_indexes WHERE schemaname = 'public' "
			    "UNION ALL SELECT 'valid:' || c.relname || i.indisvalid FROM pg_index i JOIN pg_class c ON "
			    "c.oid = i.indexrelid WHERE c.relnamespace = 'public'::regnamespace "
			    "UNION ALL SELECT 'item:' || (to_jsonb(t) - 'uid')::text FROM items t "
			    "UNION ALL SELECT 'uids:' || count(DISTINCT uid) || ':' || count(uid) FROM items "
			    "UNION ALL SELECT 'hist:' || version || state || steps_done || coalesce(checkpoint, '') || "
			    "coalesce(error, '') FROM _migrate_history) s");
	PQfinish(c);
	return s;
}

typedef struct killer {
	int at; /* kill at this boundary event */
	int seen;
} killer_t;

static int kill_at(const migrate_event_t *ev, void *payload)
{
	killer_t *k = payload;

	if (ev->type == MIGRATE_EVENT_STEP_START || ev->type == MIGRATE_EVENT_STEP_END ||
	    ev->type == MIGRATE_EVENT_PROGRESS || ev->type == MIGRATE_EVENT_VERSION_END) {
		if (++k->seen == k->at)
			kill(getpid(), SIGKILL);
	}
	return 0;
}

/*
 * Runs `up` of make()'s plan in a child that kills itself at boundary `at`;
 * returns the number of boundaries seen if it finished.
 */
static int run_killed_plan(const char *url, int at, migrate_plan_t *(*make)(void))
{
	int status = 0, fds[2];
	pid_t pid;

	CHECK(pipe(fds) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		migrate_target_t *t = NULL;
		migrate_plan_t *plan = make();
		migrate_run_options_t o;
		migrate_error_t err;
		killer_t k = {at, 0};
		int rc;
		close(fds[0]);
		migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
		o.on_event = kill_at;
		o.event_payload = &k;
		if (migrate_target_open(&t, url, &err) != 0)
			_exit(3);
		rc = migrate_up(t, plan, 0, &o, &err);
		if (rc)
			fprintf(stderr, "child: %s\n", err.message);
		if (write(fds[1], &k.seen, sizeof k.seen) != (ssize_t)sizeof k.seen)
			_exit(4);
		_exit(rc ? 1 : 0);
	}
	close(fds[1]);
	CHECK(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status)) {
		CHECK_INT(WTERMSIG(status), SIGKILL);
		close(fds[0]);
		return -1;
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	{
		int seen = 0;
		CHECK(read(fds[0], &seen, sizeof seen) == (ssize_t)sizeof seen);
		close(fds[0]);
		return seen;
	}
}

static int run_killed(const char *url, int at)
{
	return run_killed_plan(url, at, resume_plan);
}

static void up_all(const char *url)
{
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = resume_plan();
	migrate_error_t err;

	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

TEST(kill_at_every_boundary)
{
	char ref_url[600], *ref, *got;
	int boundaries, at;

	snprintf(ref_url, sizeof ref_url, "%s", pgt_fresh_db("kill_ref"));
	boundaries = run_killed(ref_url, 0); /* never kills: counts the boundaries */
	CHECK(boundaries > 20);
	ref = fingerprint(ref_url);
	{
		/* Every row updated exactly once by the non-idempotent backfill. */
		PGconn *c = pgt_connect(ref_url);
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM items WHERE touched = 1"), 3000);
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM items WHERE event_count IS NULL"), 0);
		PQfinish(c);
	}
	for (at = 1; at <= boundaries; at++) {
		char tag[32];
		const char *url;
		snprintf(tag, sizeof tag, "kill%d", at);
		url = pgt_fresh_db(tag);
		{
			/* Batches sized by time may be fewer in this run than in the
			 * reference: then it finishes before boundary `at`. */
			int seen = run_killed(url, at);
			CHECK(seen == -1 || seen < at);
		}
		/* A second kill later on in the resumed run, then a clean finish. */
		if (at + 7 <= boundaries && at % 3 == 0)
			run_killed(url, 7);
		up_all(url);
		got = fingerprint(url);
		if (strcmp(got, ref) != 0)
			harness_fail(__FILE__, __LINE__,
				     "killed at boundary %d of %d: the state differs from an "
				     "uninterrupted run",
				     at, boundaries);
		free(got);
	}
	free(ref);
}

static migrate_plan_t *unique_plan(void)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	migrate_version_t *v;

	CHECK_OK(migrate_plan_new(&plan, "uniq", &err), &err);
	v = pgt_version(plan, 1, "unique email");
	pgt_step(v, "{\"op\":\"create_index\",\"table\":\"users\",\"name\":\"users_email\",\"unique\":true,"
		    "\"online\":true,\"keys\":[{\"column\":\"email\"}]}");
	return plan;
}

TEST(invalid_index_reported_and_rebuilt)
{
	const char *url = pgt_fresh_db("invalid");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = unique_plan();
	migrate_error_t err;
	int rc;

	pgt_exec(c, "CREATE TABLE users (id integer PRIMARY KEY, email text)");
	pgt_exec(c, "INSERT INTO users SELECT g, 'u' || (g % 900) || '@x' FROM generate_series(1, 1000) g");
	rc = migrate_up(t, plan, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_EDB);
	CHECK_HAS(err.message, "version 1");
	CHECK_HAS(err.message, "could not create unique index \"users_email\"");
	CHECK_HAS(err.message, "is duplicated");
	CHECK_HAS(err.message, "the INVALID index the failed build left was dropped");
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname = 'users_email'"), 0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE state = 'failed' AND error LIKE "
			     "'%is duplicated%'"),
		  1);

	/* An INVALID index of that name left by a build that died: detected, dropped, rebuilt. */
	PQclear(PQexec(c, "CREATE UNIQUE INDEX CONCURRENTLY users_email ON users (email)"));
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_index WHERE indexrelid = 'users_email'::regclass "
			     "AND NOT indisvalid"),
		  1);
	pgt_exec(c, "DELETE FROM users WHERE id > 900");
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_index WHERE indexrelid = 'users_email'::regclass "
			     "AND indisvalid AND indisunique"),
		  1);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE state = 'applied'"), 1);
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

TEST(index_build_killed_midway)
{
	const char *url = pgt_fresh_db("cickill");
	PGconn *c = pgt_connect(url), *blocker = pgt_connect(url);
	migrate_plan_t *plan = unique_plan();
	migrate_target_t *t;
	migrate_error_t err;
	pid_t pid;
	int status, i;
	int64_t backend = -1;

	pgt_exec(c, "CREATE TABLE users (id integer PRIMARY KEY, email text)");
	pgt_exec(c, "INSERT INTO users SELECT g, 'u' || g || '@x' FROM generate_series(1, 1000) g");
	/* An open snapshot makes CREATE INDEX CONCURRENTLY wait after it has made the (invalid) index. */
	pgt_exec(blocker, "BEGIN ISOLATION LEVEL REPEATABLE READ");
	pgt_exec(blocker, "SELECT count(*) FROM users");
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		migrate_target_t *ct = NULL;
		if (migrate_target_open(&ct, url, &err) == 0)
			migrate_up(ct, plan, 0, NULL, &err);
		_exit(0);
	}
	for (i = 0; i < 200 && backend < 0; i++) {
		usleep(50000);
		backend = pgt_int(c, "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CREATE UNIQUE INDEX "
				     "CONCURRENTLY%' AND wait_event_type = 'Lock'");
	}
	CHECK(backend > 0);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	/* The server ends the orphaned build as it would on a lost client; the index stays INVALID. */
	{
		char sql[100];
		snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld)", (long long)backend);
		pgt_exec(c, sql);
	}
	pgt_exec(blocker, "COMMIT");
	for (i = 0; i < 100 && pgt_int(c, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
					  "'CREATE UNIQUE INDEX CONCURRENTLY%'") > 0;
	     i++)
		usleep(50000);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_index WHERE indexrelid = 'users_email'::regclass "
			     "AND NOT indisvalid"),
		  1);
	t = pgt_target(url);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_index WHERE indexrelid = 'users_email'::regclass "
			     "AND indisvalid"),
		  1);
	PQfinish(blocker);
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

typedef struct terminator {
	PGconn *admin;
	int backend;
	int done;
} terminator_t;

static int terminate_on_progress(const migrate_event_t *ev, void *payload)
{
	terminator_t *x = payload;

	if (ev->type == MIGRATE_EVENT_PROGRESS && !x->done) {
		char sql[100];
		snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", x->backend);
		pgt_exec(x->admin, sql);
		x->done = 1;
	}
	return 0;
}

TEST(connection_terminated_mid_backfill)
{
	const char *url = pgt_fresh_db("terminate");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	migrate_run_options_t o;
	migrate_error_t err;
	terminator_t x;
	int rc;

	pgt_exec(c, "CREATE TABLE big (id bigint PRIMARY KEY, arr integer[], n integer)");
	pgt_exec(c, "INSERT INTO big SELECT g, array_fill(1, ARRAY[g % 7]), NULL FROM generate_series(1, 5000) g");
	CHECK_OK(migrate_plan_new(&plan, "term", &err), &err);
	v = pgt_version(plan, 1, "count");
	pgt_step(v, "{\"op\":\"backfill\",\"table\":\"big\",\"batch_size\":500,"
		    "\"set\":{\"n\":{\"array_length\":\"arr\"}},\"down\":[]}");
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	x.admin = c;
	x.backend = PQbackendPID(migrate_target_native_handle(t));
	x.done = 0;
	o.on_event = terminate_on_progress;
	o.event_payload = &x;
	rc = migrate_up(t, plan, 0, &o, &err);
	CHECK_INT(rc, MIGRATE_ECONNECT);
	CHECK_HAS(err.message, "version 1 (\"count\"), step 1 (backfill)");
	CHECK_HAS(err.message, "the connection to PostgreSQL was lost");
	CHECK_HAS(err.message, "terminating connection due to administrator command");
	migrate_target_close(t);
	/* One batch committed with its checkpoint; the re-run continues after it. */
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM big WHERE n IS NOT NULL"), 500);
	CHECK_VALUE_HAS(c, "SELECT checkpoint FROM _migrate_history", "\"done\":500");
	t = pgt_target(url);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM big WHERE n = coalesce(array_length(arr, 1), 0)"), 5000);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE state = 'applied'"), 1);
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

/*
 * A batch whose COMMIT fails (a deferred constraint trigger refusing it) is
 * rolled back with its checkpoint: the failure record keeps the checkpoint
 * the database holds, so the next run redoes that batch and no row is
 * skipped or updated twice. `add` sets the plan: a `counter + 1` backfill,
 * or an add_column whose generated uuid default fills the rows in batches.
 */
static void deferred_commit_failure(int add)
{
	const char *url = pgt_fresh_db(add ? "deferred_uuid" : "deferred_backfill");
	PGconn *c = pgt_connect(url);
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	migrate_target_t *t;
	migrate_run_options_t opts;
	migrate_error_t err;

	pgt_exec(c, "CREATE TABLE items (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0); "
		    "INSERT INTO items SELECT g, 0 FROM generate_series(1, 50) g; "
		    "CREATE TABLE trip (armed boolean); INSERT INTO trip VALUES (true); "
		    "CREATE FUNCTION trip() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
		    "IF NEW.id = 22 AND (SELECT armed FROM trip) THEN RAISE EXCEPTION 'deferred check refused row 22'; "
		    "END IF; RETURN NULL; END $$; "
		    "CREATE CONSTRAINT TRIGGER items_trip AFTER UPDATE ON items DEFERRABLE INITIALLY DEFERRED "
		    "FOR EACH ROW EXECUTE FUNCTION trip()");
	CHECK_OK(migrate_plan_new(&plan, "deferred", &err), &err);
	v = pgt_version(plan, 1, "fill");
	if (add)
		pgt_step(v, "{\"op\":\"add_column\",\"table\":\"items\",\"column\":{\"name\":\"uid\",\"type\":\"uuid\","
			    "\"default\":\"uuid\",\"nullable\":false}}");
	else
		pgt_step(v,
			 "{\"op\":\"backfill\",\"table\":\"items\",\"set\":{\"n\":{\"sql\":\"n + 1\"}},\"down\":[]}");
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.batch_size = 7;

	t = pgt_target(url);
	CHECK_INT(migrate_up(t, plan, 0, &opts, &err), MIGRATE_EDB);
	CHECK_HAS(err.message, "deferred check refused row 22");
	migrate_target_close(t);
	/* Rows 1..21 committed with their checkpoint; the batch of 22..28 did not, nor did its checkpoint. */
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE state = 'failed' AND checkpoint LIKE "
			     "'%\"done\":21%'"),
		  1);
	pgt_exec(c, "UPDATE trip SET armed = false");

	t = pgt_target(url);
	CHECK_OK(migrate_up(t, plan, 0, &opts, &err), &err);
	migrate_target_close(t);
	if (add) {
		CHECK_INT(pgt_int(c, "SELECT count(DISTINCT uid) FROM items"), 50);
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' "
				     "AND column_name = 'uid' AND is_nullable = 'NO'"),
			  1);
	} else {
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM items WHERE n = 1"), 50);
	}
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE state = 'applied' AND checkpoint IS NULL"),
		  1);
	PQfinish(c);
	migrate_plan_destroy(plan);
}

TEST(backfill_commit_fails_deferred)
{
	deferred_commit_failure(0);
}

TEST(add_column_uuid_commit_fails_deferred)
{
	deferred_commit_failure(1);
}

/* The step's end: its batches and the longest one. */
static int on_step_end(const migrate_event_t *e, void *payload)
{
	int64_t *longest = payload;

	if (e->type == MIGRATE_EVENT_STEP_END)
		*longest = e->longest_batch_ms;
	return 0;
}

/*
 * A batch sized by time that runs past its budget (one row stalls for a
 * second, the first time it is written) is cut: the server cancels it, its
 * rows are left as they were and the batch runs again smaller, so that no
 * batch held its locks for the second. Every row is written once. A batch
 * of a fixed size is never cut: it holds the second.
 */
static void over_budget(int fixed)
{
	const char *url = pgt_fresh_db(fixed ? "budget_fixed" : "budget_timed");
	PGconn *c = pgt_connect(url);
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	migrate_target_t *t;
	migrate_run_options_t opts;
	migrate_error_t err;
	int64_t longest = -1;

	pgt_exec(c, "CREATE TABLE items (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0); "
		    "INSERT INTO items SELECT g, 0 FROM generate_series(1, 20000) g; "
		    "CREATE SEQUENCE stalls; "
		    "CREATE FUNCTION stall(i integer) RETURNS integer LANGUAGE plpgsql AS $$ BEGIN "
		    "IF i = 15000 THEN IF nextval('stalls') = 1 THEN PERFORM pg_sleep(1); END IF; END IF; "
		    "RETURN 0; END $$");
	CHECK_OK(migrate_plan_new(&plan, "budget", &err), &err);
	v = pgt_version(plan, 1, "fill");
	pgt_step(v, fixed ? "{\"op\":\"backfill\",\"table\":\"items\",\"batch_size\":5000,"
			    "\"set\":{\"n\":{\"sql\":\"n + 1 + stall(id)\"}},\"down\":[]}"
			  : "{\"op\":\"backfill\",\"table\":\"items\",\"set\":{\"n\":{\"sql\":\"n + 1 + stall(id)\"}},"
			    "\"down\":[]}");
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.on_event = on_step_end;
	opts.event_payload = &longest;

	t = pgt_target(url);
	CHECK_OK(migrate_up(t, plan, 0, &opts, &err), &err);
	migrate_target_close(t);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM items WHERE n = 1"), 20000);
	if (fixed) {
		CHECK_INT(pgt_int(c, "SELECT last_value FROM stalls"), 1);
		CHECK(longest >= 1000);
	} else {
		/* Stalled once, cancelled, written again without the stall. */
		CHECK_INT(pgt_int(c, "SELECT last_value FROM stalls"), 2);
		CHECK(longest >= 0 && longest < 1000);
	}
	PQfinish(c);
	migrate_plan_destroy(plan);
}

TEST(batch_past_its_budget_cut_and_done_again)
{
	over_budget(0);
}

TEST(fixed_batch_never_cut)
{
	over_budget(1);
}

/*
 * A cut bounds every statement of a batch, its history write included: when
 * that write is what passes the cut (here a trigger on the history stalls
 * it once, as a loaded server might), the batch is cut and done again
 * smaller like one whose UPDATE passed it, not the run's failure. Every row
 * is written once.
 */
TEST(history_write_past_the_cut_is_a_cut)
{
	const char *url = pgt_fresh_db("journal_cut");
	PGconn *c = pgt_connect(url);
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	migrate_target_t *t;
	migrate_run_options_t opts;
	migrate_error_t err;

	pgt_exec(c, "CREATE TABLE items (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0); "
		    "INSERT INTO items SELECT g, 0 FROM generate_series(1, 3000) g; "
		    "CREATE SEQUENCE stalls; "
		    "CREATE FUNCTION stall_history() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
		    "IF NEW.checkpoint LIKE '%\"done\":1000}' THEN IF nextval('stalls') = 1 THEN "
		    "PERFORM pg_sleep(2); END IF; END IF; RETURN NEW; END $$");
	CHECK_OK(migrate_plan_new(&plan, "journal_cut", &err), &err);
	v = pgt_version(plan, 1, "marker");
	pgt_step(v,
		 "{\"op\":\"create_table\",\"table\":\"marker\",\"columns\":[{\"name\":\"x\",\"type\":\"integer\"}]}");
	v = pgt_version(plan, 2, "fill");
	pgt_step(v, "{\"op\":\"backfill\",\"table\":\"items\",\"set\":{\"n\":{\"sql\":\"n + 1\"}},\"down\":[]}");
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.batch_time_ms = 200;

	t = pgt_target(url);
	CHECK_OK(migrate_up(t, plan, 1, &opts, &err), &err);
	/* The history exists now: its write of the first batch's checkpoint stalls, once. */
	pgt_exec(c, "CREATE TRIGGER stall_history BEFORE INSERT OR UPDATE ON _migrate_history FOR EACH ROW "
		    "EXECUTE FUNCTION stall_history()");
	CHECK_OK(migrate_up(t, plan, 0, &opts, &err), &err);
	migrate_target_close(t);
	/* The stall happened (is_called: the sequence was used, once). */
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM stalls WHERE is_called AND last_value = 1"), 1);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM items WHERE n = 1"), 3000);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE state = 'applied'"), 2);
	PQfinish(c);
	migrate_plan_destroy(plan);
}

/*
 * Batches sized by time over a dense integer key are ranges of its values
 * (no statement finds a batch's last key): on a table whose keys end at
 * int4's largest value, half of them present, a counter backfill with a
 * filter and kept old values, killed after each first batch, is resumed
 * until done; every row is written once. Then down restores the kept
 * values, and an uninterrupted up covers rows added beyond the largest key
 * while it runs, sending no OFFSET query.
 */
static migrate_plan_t *range_plan(void)
{
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	migrate_error_t err;

	CHECK_OK(migrate_plan_new(&plan, "ranges", &err), &err);
	v = pgt_version(plan, 1, "counters");
	pgt_step(v, "{\"op\":\"backfill\",\"table\":\"edge\",\"where\":{\"state\":{\"$ne\":\"c\"}},"
		    "\"set\":{\"n\":{\"sql\":\"n + 1\"}},\"keep\":\"edge_n_kept\"}");
	pgt_step(v, "{\"op\":\"backfill\",\"table\":\"grow\",\"set\":{\"n\":{\"sql\":\"n + 1\"}},\"down\":[]}");
	pgt_step(v, "{\"op\":\"backfill\",\"table\":\"gaps\",\"set\":{\"n\":{\"sql\":\"n + 1\"}},\"down\":[]}");
	return plan;
}

typedef struct range_seen {
	int bigint, offset;
	PGconn *c;
	int grown;
	int64_t gap_batches;
} range_seen_t;

static void see_statements(int level, const char *message, void *payload)
{
	range_seen_t *s = payload;

	(void)level;
	if (strstr(message, "UPDATE \"edge\"") && strstr(message, "::bigint"))
		s->bigint++;
	if (strstr(message, "OFFSET"))
		s->offset++;
}

/* While "grow" is being written: rows beyond its largest key. */
static int grow_table(const migrate_event_t *ev, void *payload)
{
	range_seen_t *s = payload;

	if (ev->type == MIGRATE_EVENT_PROGRESS && ev->step_index == 1 && !s->grown) {
		pgt_exec(s->c, "INSERT INTO grow SELECT g, 0 FROM generate_series(5001, 5010) g");
		s->grown = 1;
	}
	if (ev->type == MIGRATE_EVENT_STEP_END && ev->step_index == 2)
		s->gap_batches = ev->batches;
	return 0;
}

TEST(range_batches_killed_resumed_restored)
{
	const char *range_url = pgt_fresh_db("ranges");
	PGconn *c;
	migrate_plan_t *plan;
	migrate_target_t *t;
	migrate_run_options_t o;
	migrate_error_t err;
	range_seen_t seen = {0, 0, NULL, 0, -1};
	int runs = 0;

	c = pgt_connect(range_url);
	pgt_exec(c, "CREATE TABLE edge (id integer PRIMARY KEY, state text, n integer NOT NULL DEFAULT 0); "
		    "INSERT INTO edge SELECT 2147483647 - 2 * g, (ARRAY['a','b','c'])[1 + g % 3], 0 "
		    "FROM generate_series(0, 5999) g; "
		    "CREATE TABLE grow (id bigint PRIMARY KEY, n integer NOT NULL DEFAULT 0); "
		    "INSERT INTO grow SELECT g, 0 FROM generate_series(1, 5000) g; ANALYZE edge, grow; "
		    /* Statistics that make a key with a gap of 10^12 look dense. */
		    "CREATE TABLE gaps (id bigint PRIMARY KEY, n integer NOT NULL DEFAULT 0) "
		    "WITH (autovacuum_enabled = off); "
		    "INSERT INTO gaps SELECT g, 0 FROM generate_series(1, 10) g; "
		    "INSERT INTO gaps SELECT 1000000000000 + g, 0 FROM generate_series(1, 10) g; "
		    "UPDATE pg_class SET reltuples = 1e12 WHERE oid = 'gaps'::regclass");
	/* Killed at each run's second boundary (its first batch, or a step's
	 * end), until a run finishes. */
	while (run_killed_plan(range_url, 2, range_plan) < 0)
		CHECK(++runs < 100);
	CHECK(runs > 5); /* the first batch of each run has 1000 key values: 12000 of them */
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM edge WHERE n = 1 AND state <> 'c'"), 4000);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM edge WHERE n = 0 AND state = 'c'"), 2000);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM edge_n_kept"), 4000);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM grow WHERE n = 1"), 5000);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM gaps WHERE n = 1"), 20);

	/* Down: the kept values back; "grow"'s backfill declares no down. */
	plan = range_plan();
	t = pgt_target(range_url);
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM edge WHERE n = 0"), 6000);
	pgt_exec(c, "UPDATE grow SET n = 0; UPDATE gaps SET n = 0; "
		    "UPDATE pg_class SET reltuples = 1e12 WHERE oid = 'gaps'::regclass");

	/* Uninterrupted: ranges bound as bigint, no OFFSET walk; rows added meanwhile written too. */
	seen.c = pgt_connect(range_url);
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = grow_table;
	o.event_payload = &seen;
	migrate_log_set_handler(see_statements, &seen);
	CHECK_OK(migrate_up(t, plan, 0, &o, &err), &err);
	migrate_log_set_handler(NULL, NULL);
	CHECK(seen.bigint > 0);
	CHECK_INT(seen.offset, 0);
	CHECK_INT(seen.grown, 1);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM edge WHERE n = 1"), 4000);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM grow WHERE n = 1"), 5010);
	/* The gap cost one batch: after the first ten keys, the next batch starts at the next key. */
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM gaps WHERE n = 1"), 20);
	CHECK(seen.gap_batches >= 2 && seen.gap_batches <= 4);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	PQfinish(seen.c);
	PQfinish(c);
}

/* One time-sized counter backfill of "t" with `where`, run with `on_event`. */
static int backfill_with(const char *url, const char *where, migrate_event_fn on_event, void *payload,
			 migrate_error_t *err)
{
	migrate_plan_t *plan = NULL;
	migrate_target_t *t = pgt_target(url);
	migrate_run_options_t o;
	migrate_version_t *v;
	migrate_buf_t *step = migrate__buf_new("{\"op\":\"backfill\",\"table\":\"t\",");
	int rc;

	migrate_buf_printf(step, "%s\"set\":{\"n\":{\"sql\":\"n + 1\"}},\"down\":[]}", where);
	CHECK_OK(migrate_plan_new(&plan, "edge", err), err);
	v = pgt_version(plan, 1, "fill");
	pgt_step(v, step->str);
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = on_event;
	o.event_payload = payload;
	rc = migrate_up(t, plan, 0, &o, err);
	if (rc) {
		/* The connection is usable after the failure: the same error again, not a stuck pipeline. */
		migrate_error_t again;
		CHECK_INT(migrate_up(t, plan, 0, &o, &again), rc);
	}
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	migrate__buf_free(step, true);
	return rc;
}

static int cancel_at_progress(const migrate_event_t *ev, void *payload)
{
	(void)payload;
	return ev->type == MIGRATE_EVENT_PROGRESS;
}

/* After the batch that reaches the largest key: rows beyond it. */
static int add_beyond(const migrate_event_t *ev, void *payload)
{
	PGconn *c = payload;

	if (ev->type == MIGRATE_EVENT_PROGRESS && ev->processed == 1500)
		pgt_exec(c, "INSERT INTO t SELECT g, 0 FROM generate_series(1501, 1510) g");
	return 0;
}

/*
 * Range batches at their edges: a statement libpq refuses to send (70,000
 * parameters) is the step's failure, recorded, with the lock released and
 * the connection usable; batches that write no row (a filter matching
 * none) still let the run be cancelled; rows added beyond the largest key
 * after the batch that reached it are written.
 */
TEST(range_batches_at_their_edges)
{
	const char *url = pgt_fresh_db("range_edges");
	PGconn *c = pgt_connect(url);
	migrate_buf_t *in = migrate__buf_new("\"where\":{\"id\":{\"$in\":[1");
	migrate_error_t err;
	int i;

	pgt_exec(c, "CREATE TABLE t (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0); "
		    "INSERT INTO t SELECT g, 0 FROM generate_series(1, 20000) g; ANALYZE t");
	for (i = 2; i <= 70000; i++)
		migrate_buf_printf(in, ",%d", i);
	migrate_buf_append(in, "]}},");
	CHECK_INT(backfill_with(url, in->str, NULL, NULL, &err), MIGRATE_EDB);
	CHECK_HAS(err.message, "backfill of \"t\"");
	CHECK_HAS(err.message, "parameters");
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE plan = 'edge' AND state = 'failed'"), 1);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
			     "(SELECT oid FROM pg_database WHERE datname = current_database())"),
		  0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM t WHERE n <> 0"), 0);
	migrate__buf_free(in, true);

	pgt_exec(c, "DELETE FROM _migrate_history");
	CHECK_INT(backfill_with(url, "\"where\":{\"n\":{\"$eq\":5}},", cancel_at_progress, NULL, &err),
		  MIGRATE_ECANCELED);

	pgt_exec(c, "DELETE FROM _migrate_history; DELETE FROM t WHERE id > 1500; ANALYZE t");
	CHECK_OK(backfill_with(url, "", add_beyond, c, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM t WHERE n = 1"), 1510);
	PQfinish(c);
}

/*
 * A never-analyzed table's rows are counted (count(*)) for the progress
 * total only: where the server's own statement_timeout cuts that count but
 * every batch fits, the step runs without the total (it failed when the
 * step's start became one statement, before its count was let fail).
 */
TEST(count_past_the_servers_timeout_is_not_the_steps_failure)
{
	const char *url = pgt_fresh_db("count_timeout");
	PGconn *c = pgt_connect(url);
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	migrate_target_t *t;
	migrate_run_options_t opts;
	migrate_error_t err;
	int rc;

	pgt_exec(c, "CREATE TABLE items (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0) "
		    "WITH (autovacuum_enabled = false); "
		    "INSERT INTO items SELECT g, 0 FROM generate_series(1, 1000000) g");
	CHECK_INT(pgt_int(c, "SELECT reltuples::bigint FROM pg_class WHERE relname = 'items'"), -1);
	CHECK_OK(migrate_plan_new(&plan, "count_timeout", &err), &err);
	v = pgt_version(plan, 1, "marker");
	pgt_step(v,
		 "{\"op\":\"create_table\",\"table\":\"marker\",\"columns\":[{\"name\":\"x\",\"type\":\"integer\"}]}");
	v = pgt_version(plan, 2, "fill");
	pgt_step(v, "{\"op\":\"backfill\",\"table\":\"items\",\"batch_size\":500,\"where\":{\"id\":{\"$lte\":1000}},"
		    "\"set\":{\"n\":{\"sql\":\"n + 1\"}},\"down\":[]}");
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	t = pgt_target(url);
	CHECK_OK(migrate_up(t, plan, 1, &opts, &err), &err);
	migrate_target_close(t);
	/* The server's own statement_timeout: every batch fits (a few ms), the count does not. */
	pgt_exec(
		c,
		"DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET statement_timeout = 30', current_database()); "
		"EXECUTE format('ALTER DATABASE %I SET max_parallel_workers_per_gather = 0', current_database()); END $$");
	t = pgt_target(url);
	rc = migrate_up(t, plan, 0, &opts, &err);
	CHECK_OK(rc, &err);
	migrate_target_close(t);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM items WHERE n = 1"), 1000);
	PQfinish(c);
	migrate_plan_destroy(plan);
}

/* Counts the cuts; a run that cuts forever is stopped (exit 3). */
static void count_cuts(int level, const char *message, void *payload)
{
	int *cuts = payload;

	(void)level;
	if (strstr(message, "cancelled, done again smaller")) {
		if (++*cuts >= 40) {
			fprintf(stderr, "40 cuts and counting: the cut batch never gets smaller\n");
			_exit(3);
		}
	}
}

/*
 * The server's own statement_timeout (200 ms) below the aim (55% of a
 * 1,000 ms budget) is the cut, and batches are sized to it (about 120 ms;
 * a batch slowed past it by the machine is cut and done again at most half
 * as large, and the smallest, 100 rows, take ~6 ms), so the step ends.
 * Before, batches were sized to the whole budget: a cut batch came back as
 * large or larger and was cut forever (stopped here at 40 cuts).
 */
TEST(cut_at_the_servers_timeout_shrinks)
{
	const char *url = pgt_fresh_db("srvcut");
	PGconn *c = pgt_connect(url);
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	migrate_target_t *t;
	migrate_run_options_t opts;
	migrate_error_t err;
	int rc, cuts = 0;

	pgt_exec(c, "CREATE TABLE items (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0); "
		    "INSERT INTO items SELECT g, 0 FROM generate_series(1, 20000) g; ANALYZE items; "
		    "CREATE FUNCTION slow(integer) RETURNS integer LANGUAGE sql AS "
		    "$$ SELECT $1 + 1 + 0 * (SELECT count(*) FROM generate_series(1, 500))::integer $$");
	CHECK_OK(migrate_plan_new(&plan, "srvcut", &err), &err);
	v = pgt_version(plan, 1, "marker");
	pgt_step(v,
		 "{\"op\":\"create_table\",\"table\":\"marker\",\"columns\":[{\"name\":\"x\",\"type\":\"integer\"}]}");
	v = pgt_version(plan, 2, "fill");
	pgt_step(v, "{\"op\":\"backfill\",\"table\":\"items\",\"set\":{\"n\":{\"sql\":\"slow(n)\"}},\"down\":[]}");
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.batch_time_ms = 1000;
	t = pgt_target(url);
	CHECK_OK(migrate_up(t, plan, 1, &opts, &err), &err);
	migrate_target_close(t);
	pgt_exec(
		c,
		"DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET statement_timeout = 200', current_database()); END $$");
	migrate_log_set_handler(count_cuts, &cuts);
	t = pgt_target(url);
	rc = migrate_up(t, plan, 0, &opts, &err);
	migrate_log_set_handler(NULL, NULL);
	CHECK_OK(rc, &err);
	migrate_target_close(t);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM items WHERE n = 1"), 20000);
	PQfinish(c);
	migrate_plan_destroy(plan);
}
