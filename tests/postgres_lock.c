/*
 * Locking on PostgreSQL: 8 processes running `up` at once apply every
 * version exactly once; a busy lock names its holder; a dead holder never
 * keeps it; the lease-table mode for transaction poolers, with takeover
 * after expiry and fencing of history writes.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "postgres_util.h"

static migrate_plan_t *log_plan(void)
{
	return pgt_log_plan("race", 4);
}

TEST(eight_processes_at_once)
{
	const char *url = pgt_fresh_db("race");
	PGconn *c = pgt_connect(url);
	pid_t pids[8];
	int go[2], i, ok = 0;

	CHECK(pipe(go) == 0);
	for (i = 0; i < 8; i++) {
		pids[i] = fork();
		CHECK(pids[i] >= 0);
		if (pids[i] == 0) {
			migrate_target_t *t = NULL;
			migrate_plan_t *plan = log_plan();
			migrate_run_options_t o;
			migrate_error_t err;
			char b;
			int rc;
			close(go[1]);
			if (migrate_target_open(&t, url, &err) != 0)
				_exit(3);
			if (read(go[0], &b, 1) < 0) /* all start together when the pipe closes */
				_exit(4);
			migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
			o.lock_timeout_ms = 60000;
			rc = migrate_up(t, plan, 0, &o, &err);
			if (rc)
				fprintf(stderr, "process %d: %s\n", i, err.message);
			migrate_target_close(t);
			_exit(rc == 0 ? 0 : rc == MIGRATE_ELOCKED ? 2 : 1);
		}
	}
	close(go[0]);
	usleep(300000);
	close(go[1]);
	for (i = 0; i < 8; i++) {
		int status = 0;
		CHECK(waitpid(pids[i], &status, 0) == pids[i]);
		CHECK(WIFEXITED(status));
		CHECK(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 2);
		ok += WEXITSTATUS(status) == 0;
	}
	CHECK_INT(ok, 8);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM log"), 4);
	CHECK_INT(pgt_int(c, "SELECT count(DISTINCT version) FROM log"), 4);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE plan = 'race' AND state = 'applied'"), 4);
	PQfinish(c);
}

/* Tells the parent through the pipe in *payload that the lock is held, then keeps it a while. */
static int hold_at_start(const migrate_event_t *ev, void *payload)
{
	int fd = *(int *)payload;

	if (ev->type == MIGRATE_EVENT_VERSION_START) {
		if (fd >= 0 && write(fd, "x", 1) != 1)
			_exit(5);
		sleep(3);
	}
	return 0;
}

static int count_waits(const migrate_event_t *ev, void *payload)
{
	if (ev->type == MIGRATE_EVENT_LOCK_WAIT)
		++*(int *)payload;
	return 0;
}

/* Starts a child that takes the plan's lock and holds it (sleeping in a callback); returns its pid. */
static pid_t start_holder(const char *url, const char *app, int extra)
{
	int fds[2];
	char b;
	pid_t pid;

	CHECK(pipe(fds) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		migrate_target_t *t = NULL;
		migrate_plan_t *plan = log_plan();
		migrate_run_options_t o;
		migrate_error_t err;
		char u[700];
		close(fds[0]);
		snprintf(u, sizeof u, "%s?application_name=%s", url, app);
		if (migrate_target_open(&t, u, &err) != 0)
			_exit(3);
		if (extra) /* a version still pending, so that the holder has something to hold the lock for */
			pgt_step(pgt_version(plan, 5, "extra"),
				 "{\"op\":\"sql\",\"up\":\"SELECT 1\",\"down\":\"SELECT 1\"}");
		migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
		o.on_event = hold_at_start;
		o.event_payload = &fds[1];
		migrate_up(t, plan, 0, &o, &err);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &b, 1) != 1)
		harness_fail(__FILE__, __LINE__, "the holder never took the lock");
	close(fds[0]);
	return pid;
}

TEST(busy_lock_names_holder_and_dead_holder_releases)
{
	const char *url = pgt_fresh_db("holder");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = log_plan();
	migrate_run_options_t o;
	migrate_error_t err;
	int waits = 0, status, rc;
	pid_t pid = start_holder(url, "holder_app", 0);

	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.lock_timeout_ms = 0;
	rc = migrate_up(t, plan, 0, &o, &err);
	CHECK_INT(rc, MIGRATE_ELOCKED);
	CHECK_HAS(err.message, "plan \"race\" is locked by PostgreSQL backend pid ");
	CHECK_HAS(err.message, "application_name \"holder_app\"");
	CHECK_HAS(err.message, "connected since ");
	/* Waiting reports LOCK_WAIT events, then succeeds once the holder finishes. */
	o.lock_timeout_ms = 30000;
	o.on_event = count_waits;
	o.event_payload = &waits;
	CHECK_OK(migrate_up(t, plan, 0, &o, &err), &err);
	CHECK(waits > 0);
	CHECK(waitpid(pid, &status, 0) == pid);

	/* A holder killed with SIGKILL does not keep the lock. */
	pid = start_holder(url, "doomed_app", 1);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	o.lock_timeout_ms = 10000;
	o.on_event = NULL;
	pgt_step(pgt_version(plan, 5, "extra"), "{\"op\":\"sql\",\"up\":\"SELECT 1\",\"down\":\"SELECT 1\"}");
	CHECK_OK(migrate_up(t, plan, 0, &o, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE plan = 'race' AND state = 'applied'"), 5);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
			     "(SELECT oid FROM pg_database WHERE datname = current_database())"),
		  0);
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

typedef struct thief {
	PGconn *c;
	int done;
} thief_t;

static int steal_lease(const migrate_event_t *ev, void *payload)
{
	thief_t *x = payload;

	if (ev->type == MIGRATE_EVENT_STEP_START && ev->version_id == 3 && !x->done) {
		pgt_exec(x->c, "UPDATE _migrate_lock SET owner = 'thief', holder = 'another run'");
		x->done = 1;
	}
	return 0;
}

TEST(lease_mode)
{
	char url[700];
	PGconn *c;
	migrate_target_t *t;
	migrate_plan_t *plan = log_plan();
	migrate_run_options_t o;
	migrate_error_t err;
	thief_t x;
	int rc;

	snprintf(url, sizeof url, "%s?migrate_lock=lease&migrate_lease_ms=60000", pgt_fresh_db("lease"));
	c = pgt_connect(pgt_server_url());
	PQfinish(c);
	{
		/* the database URL without our parameters, for the checking connection */
		char plain[700];
		snprintf(plain, sizeof plain, "%.*s", (int)(strchr(url, '?') - url), url);
		c = pgt_connect(plain);
	}
	t = pgt_target(url);
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.lock_timeout_ms = 0;
	CHECK_OK(migrate_up(t, plan, 1, &o, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_lock"), 0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
			     "(SELECT oid FROM pg_database WHERE datname = current_database())"),
		  0);

	/* A live lease of another run: refused, naming the holder. */
	pgt_exec(c, "INSERT INTO _migrate_lock VALUES ('race', 'other', 'build-host:42 (deploy, pid 7)', now(), "
		    "now() + interval '1 hour')");
	rc = migrate_up(t, plan, 0, &o, &err);
	CHECK_INT(rc, MIGRATE_ELOCKED);
	CHECK_HAS(err.message, "locked by build-host:42 (deploy, pid 7)");
	CHECK_HAS(err.message, "expires at");
	/* An expired one (its holder died): taken over. */
	pgt_exec(c, "UPDATE _migrate_lock SET expires_at = now() - interval '1 second'");
	CHECK_OK(migrate_up(t, plan, 2, &o, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_lock"), 0);

	/* Fencing: when another run takes the lease over mid-run, our next history write fails. */
	x.c = c;
	x.done = 0;
	o.on_event = steal_lease;
	o.event_payload = &x;
	rc = migrate_up(t, plan, 0, &o, &err);
	CHECK_INT(rc, MIGRATE_ELOCKLOST);
	CHECK_HAS(err.message, "taken over by another run");
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM log WHERE version = 3"), 0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE state = 'applied'"), 2);
	pgt_exec(c, "DELETE FROM _migrate_lock");
	o.on_event = NULL;
	CHECK_OK(migrate_up(t, plan, 0, &o, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM log"), 4);
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

typedef struct retries {
	int n;
	char last[600];
} retries_t;

static int count_retries(const migrate_event_t *ev, void *payload)
{
	retries_t *r = payload;

	if (ev->type == MIGRATE_EVENT_RETRY) {
		r->n++;
		snprintf(r->last, sizeof r->last, "%s", ev->message ? ev->message : "");
	}
	return 0;
}

/* A child that holds a lock on `table` conflicting with every DDL for `ms` milliseconds. */
static pid_t block_table(const char *url, const char *table, int ms)
{
	int fds[2];
	char b;
	pid_t pid;

	CHECK(pipe(fds) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		PGconn *c = pgt_connect(url);
		char sql[200];
		close(fds[0]);
		pgt_exec(c, "BEGIN");
		snprintf(sql, sizeof sql, "LOCK TABLE %s IN ACCESS SHARE MODE", table);
		pgt_exec(c, sql);
		if (write(fds[1], "x", 1) != 1)
			_exit(2);
		usleep((useconds_t)ms * 1000);
		pgt_exec(c, "COMMIT");
		PQfinish(c);
		_exit(0);
	}
	close(fds[1]);
	CHECK(read(fds[0], &b, 1) == 1);
	close(fds[0]);
	return pid;
}

TEST(lock_timeout_retried_with_events)
{
	const char *db = pgt_fresh_db("retry");
	char url[700];
	PGconn *c = pgt_connect(db);
	migrate_target_t *t;
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	migrate_run_options_t o;
	migrate_error_t err;
	retries_t r = {0, ""};
	pid_t blocker;
	int status, rc;

	pgt_exec(c, "CREATE TABLE busy (id integer PRIMARY KEY)");
	snprintf(url, sizeof url, "%s?migrate_lock_timeout_ms=100&migrate_retries=3", db);
	t = pgt_target(url);
	CHECK_OK(migrate_plan_new(&plan, "retry", &err), &err);
	v = pgt_version(plan, 1, "ddl on a busy table");
	pgt_step(v, "{\"op\":\"add_column\",\"table\":\"busy\",\"column\":{\"name\":\"x\",\"type\":\"text\"}}");
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = count_retries;
	o.event_payload = &r;

	/* Held longer than three attempts last: lock_timeout errors, each retry reported. */
	blocker = block_table(db, "busy", 3000);
	rc = migrate_up(t, plan, 0, &o, &err);
	CHECK_INT(rc, MIGRATE_EDB);
	CHECK_HAS(err.message, "lock timeout");
	CHECK_HAS(err.message, "55P03");
	CHECK_INT(r.n, 2);
	CHECK_HAS(r.last, "attempt 2 of 3 failed, retrying in 500 ms");
	CHECK(waitpid(blocker, &status, 0) == blocker);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'busy'"), 1);

	/* Released during the retries: the DDL goes through. */
	migrate_target_close(t);
	snprintf(url, sizeof url, "%s?migrate_lock_timeout_ms=100&migrate_retries=10", db);
	t = pgt_target(url);
	r.n = 0;
	blocker = block_table(db, "busy", 300);
	CHECK_OK(migrate_up(t, plan, 0, &o, &err), &err);
	CHECK(r.n >= 1);
	CHECK(waitpid(blocker, &status, 0) == blocker);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'busy'"), 2);
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

/*
 * Versions 1 (a table) and 2 (a row, after a single statement sleeping as
 * long as the table delay says for the connection's application_name) of
 * plan "lease".
 */
static migrate_plan_t *sleepy_plan(void)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;

	CHECK_OK(migrate_plan_new(&plan, "lease", &err), &err);
	pgt_step(pgt_version(plan, 1, "table"),
		 "{\"op\":\"create_table\",\"table\":\"log\",\"columns\":[{\"name\":\"version\",\"type\":\"integer\"},"
		 "{\"name\":\"pid\",\"type\":\"integer\"}]}");
	pgt_step(pgt_version(plan, 2, "slow row"),
		 "{\"op\":\"sql\",\"up\":\"INSERT INTO log SELECT 2, pg_backend_pid() FROM pg_sleep(coalesce("
		 "(SELECT s FROM delay WHERE app = current_setting('application_name')), 0))\","
		 "\"down\":\"DELETE FROM log WHERE version = 2\"}");
	return plan;
}

/* The child of start_lease_child: `up` of sleepy_plan() as application "slow". Exit: 0, or 2 for ELOCKLOST. */
typedef struct lease_child {
	const char *url;
	int signal;
} lease_child_t;

static int lease_child(void *arg, int ready)
{
	const lease_child_t *lc = arg;
	migrate_target_t *t = NULL;
	migrate_plan_t *plan = sleepy_plan();
	migrate_run_options_t o;
	migrate_error_t err;
	harness_pause_t p = {ready, 2, lc->signal};
	char u[800];
	int rc;

	snprintf(u, sizeof u, "%s&application_name=slow", lc->url);
	if (migrate_target_open(&t, u, &err) != 0)
		return 3;
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = harness_pause_at_version;
	o.event_payload = &p;
	rc = migrate_up(t, plan, 0, &o, &err);
	if (rc)
		fprintf(stderr, "child: %s\n", err.message);
	migrate_target_close(t);
	return rc == 0 ? 0 : rc == MIGRATE_ELOCKLOST ? 2 : 1;
}

/* A child running lease_child; returns when it starts version 2 (then raising `sig`, 0: none). */
static pid_t start_lease_child(const char *url, int sig)
{
	lease_child_t lc = {url, sig};

	return harness_fork_ready(lease_child, &lc);
}

/*
 * Lease mode: a single statement three times longer than the lease keeps
 * the lock (the renewal thread), so a waiter neither takes it over nor
 * applies anything twice; a holder killed with SIGKILL is taken over
 * within lease + one poll; one paused with SIGSTOP past its lease is taken
 * over, and once resumed its writes are fenced off: nothing it did after
 * losing the lease is recorded.
 */
TEST(lease_renewed_during_long_statements_taken_over_and_fenced)
{
	const char *db = pgt_fresh_db("renew");
	PGconn *c = pgt_connect(db);
	char url[700];
	migrate_target_t *t;
	migrate_plan_t *plan = sleepy_plan();
	migrate_run_options_t o;
	migrate_error_t err;
	int status;
	int64_t start, took;
	pid_t pid;

	snprintf(url, sizeof url, "%s?migrate_lock=lease&migrate_lease_ms=400&migrate_lease_renew_ms=100", db);
	t = pgt_target(url);
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.lock_timeout_ms = 20000;
	pgt_exec(c, "CREATE TABLE delay (app text, s float8); INSERT INTO delay VALUES ('slow', 1.2)");

	/* A 1.2 s statement under a 0.4 s lease: the waiter waits for it, then finds nothing to do. */
	pid = start_lease_child(url, 0);
	start = harness_mono_ms();
	CHECK_OK(migrate_up(t, plan, 0, &o, &err), &err);
	took = harness_mono_ms() - start;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), 0);
	CHECK(took >= 1000);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM log"), 1);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE plan = 'lease' AND state = 'applied'"), 2);
	fprintf(stderr,
		"a 1.2 s statement under a 0.4 s lease (renewed every 0.1 s) kept the lock; the waiter finished after "
		"%lld ms\n",
		(long long)took);

	/* SIGKILL during version 2: taken over once the lease expires. */
	pgt_exec(c, "DELETE FROM _migrate_history WHERE version = 2; DELETE FROM log; UPDATE delay SET s = 1.5");
	pid = start_lease_child(url, 0);
	kill(pid, SIGKILL);
	start = harness_mono_ms();
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK_OK(migrate_up(t, plan, 0, &o, &err), &err);
	took = harness_mono_ms() - start;
	CHECK(took < 400 + 1000);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM log"), 1);
	fprintf(stderr, "a holder killed with SIGKILL (lease 400 ms) was taken over and its work done in %lld ms\n",
		(long long)took);

	/* SIGSTOP at the start of version 2, past the lease: taken over; once resumed, fenced off. */
	pgt_exec(c, "DELETE FROM _migrate_history WHERE version = 2; DELETE FROM log");
	pid = start_lease_child(url, SIGSTOP);
	CHECK(waitpid(pid, &status, WUNTRACED) == pid && WIFSTOPPED(status));
	start = harness_mono_ms();
	CHECK_OK(migrate_up(t, plan, 0, &o, &err), &err);
	took = harness_mono_ms() - start;
	CHECK(took >= 300 && took < 400 + 1000);
	fprintf(stderr, "a holder paused with SIGSTOP (lease 400 ms) was taken over and its work done in %lld ms\n",
		(long long)took);
	{
		char *mine = pgt_value(c, "SELECT applied_by FROM _migrate_history WHERE version = 2");
		kill(pid, SIGCONT);
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status));
		CHECK_INT(WEXITSTATUS(status), 2); /* MIGRATE_ELOCKLOST */
		/* Nothing the resumed holder wrote is recorded: one row, by us; the history as we left it. */
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM log"), 1);
		CHECK_VALUE(c, "SELECT applied_by FROM _migrate_history WHERE version = 2", mine);
		CHECK_INT(
			pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE plan = 'lease' AND state = 'applied'"),
			2);
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_lock"), 0);
		free(mine);
	}
	fprintf(stderr, "the resumed holder was fenced off: exit MIGRATE_ELOCKLOST, nothing of it recorded\n");
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

/* Bad lease options of a URL: MIGRATE_EINVAL naming the option, and nothing written. */
TEST(lease_options_checked)
{
	const char *db = pgt_fresh_db("leaseopts");
	static const struct {
		const char *params, *says;
	} bad[] = {
		{"migrate_lease_ms=abc", "migrate_lease_ms takes milliseconds"},
		{"migrate_lease_ms=-5", "migrate_lease_ms takes milliseconds"},
		{"migrate_lease_ms=0", "migrate_lease_ms is 0 ms, shorter than the 100 ms minimum"},
		/* statement_timeout is an int of ms: a longer lease could never be renewed */
		{"migrate_lease_ms=2147483648", "longer than the 86400000 ms (a day) maximum"},
		{"migrate_lease_renew_ms=20", "migrate_lease_renew_ms is 20 ms"},
		{"migrate_lease_ms=500&migrate_lease_renew_ms=500", "migrate_lease_renew_ms (500 ms) must be shorter"},
		/* Without migrate_lease_ms, the default lease (300 s) bounds the period. */
		{"migrate_lease_renew_ms=300000", "migrate_lease_ms (300000 ms)"},
	};
	char url[800];
	PGconn *c = pgt_connect(db);

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		migrate_target_t *t = NULL;
		migrate_error_t err;
		snprintf(url, sizeof url, "%s?migrate_lock=lease&%s", db, bad[i].params);
		CHECK_INT(migrate_target_open(&t, url, &err), MIGRATE_EINVAL);
		CHECK(t == NULL);
		CHECK_HAS(err.message, bad[i].says);
	}
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '\\_migrate%'"), 0);
	/* A good pair: the run takes a lease of the URL's length. */
	{
		migrate_plan_t *plan = log_plan();
		migrate_target_t *t;
		migrate_error_t err;
		snprintf(url, sizeof url, "%s?migrate_lock=lease&migrate_lease_ms=800&migrate_lease_renew_ms=700", db);
		t = pgt_target(url);
		CHECK_OK(migrate_up(t, plan, 1, NULL, &err), &err);
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE state = 'applied'"), 1);
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_lock"), 0);
		migrate_target_close(t);
		migrate_plan_destroy(plan);
	}
	PQfinish(c);
}
