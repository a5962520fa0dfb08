/*
 * Fleets through PgBouncer (scripts/pgbouncer-server.sh, ctest fixtures in
 * tests/postgres.cmake): 64 processes run `up` at once through a
 * transaction pooler in lease mode and through a session pooler in the
 * default advisory mode, and every version runs exactly once; the advisory
 * mode refuses a transaction pooler with a clear message and leaves no
 * lock behind. Each test prints its figures (last finish, lock polls).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "postgres_util.h"

#define FLEET 64
#define VERSIONS 4
/* The advisory locks held on the test's database (other tests run beside it). */
#define ADVISORY_LOCKS_HERE                                                         \
	"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = " \
	"(SELECT oid FROM pg_database WHERE datname = current_database())"

static const char *pooler_url(const char *env, const char *db_url, const char *params)
{
	return pgt_other_server(env, db_url, params, "PgBouncer (scripts/install-deps.sh installs it)");
}

static migrate_plan_t *fleet_plan(void)
{
	return pgt_log_plan("fleet", VERSIONS);
}

typedef struct report {
	int rc;            /* migrate_up's answer */
	int applied;       /* versions this process applied */
	int64_t polls;     /* lock attempts */
	int64_t waited_ms; /* until the lock was taken */
	int64_t finish_ms; /* since the start signal */
	char message[200];
} report_t;

static int on_event(const migrate_event_t *ev, void *payload)
{
	report_t *r = payload;

	if (ev->type == MIGRATE_EVENT_LOCK_ACQUIRED || ev->type == MIGRATE_EVENT_LOCK_WAIT) {
		r->polls = ev->processed;
		r->waited_ms = ev->elapsed_ms;
	}
	if (ev->type == MIGRATE_EVENT_VERSION_END)
		r->applied++;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Runs `up` in `n` processes on `url` at once (each opens its target, then
 * all start together) and collects their reports; the exit status is 0,
 * or 2 for MIGRATE_ELOCKED, or 1.
 */
static void run_fleet(const char *url, int n, report_t *reports, int *status)
{
	pid_t pids[FLEET];
	int go[2], back[2], i;
	int64_t start;

	CHECK(n <= FLEET);
	CHECK(pipe(go) == 0 && pipe(back) == 0);
	for (i = 0; i < n; i++) {
		pids[i] = fork();
		CHECK(pids[i] >= 0);
		if (pids[i] == 0) {
			migrate_target_t *t = NULL;
			migrate_plan_t *plan = fleet_plan();
			migrate_run_options_t o;
			migrate_error_t err;
			report_t r;
			char b;
			int64_t t0;
			close(go[1]);
			close(back[0]);
			memset(&r, 0, sizeof r);
			if (migrate_target_open(&t, url, &err) != 0) {
				fprintf(stderr, "process %d: %s\n", i, err.message);
				_exit(3);
			}
			if (read(go[0], &b, 1) < 0) /* all start together when the pipe closes */
				_exit(4);
			t0 = now_ms();
			migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
			o.lock_timeout_ms = 60000;
			o.on_event = on_event;
			o.event_payload = &r;
			r.rc = migrate_up(t, plan, 0, &o, &err);
			r.finish_ms = now_ms() - t0;
			if (r.rc)
				snprintf(r.message, sizeof r.message, "%s", err.message);
			migrate_target_close(t);
			migrate_plan_destroy(plan);
			if (write(back[1], &r, sizeof r) != (ssize_t)sizeof r)
				_exit(5);
			_exit(r.rc == 0 ? 0 : r.rc == MIGRATE_ELOCKED ? 2 : 1);
		}
	}
	close(go[0]);
	close(back[1]);
	usleep(300000);
	start = now_ms();
	close(go[1]);
	for (i = 0; i < n; i++) {
		CHECK(read(back[0], &reports[i], sizeof reports[i]) == (ssize_t)sizeof reports[i]);
		if (reports[i].rc)
			fprintf(stderr, "process %d: %s\n", i, reports[i].message);
	}
	for (i = 0; i < n; i++) {
		int st = 0;
		CHECK(waitpid(pids[i], &st, 0) == pids[i]);
		CHECK(WIFEXITED(st));
		status[i] = WEXITSTATUS(st);
	}
	close(back[0]);
	fprintf(stderr, "%d processes done in %lld ms\n", n, (long long)(now_ms() - start));
}

/* Checks that every version ran exactly once, by one process, and prints the fleet's figures. */
static void check_fleet(PGconn *c, const char *what, const report_t *r, const int *status, int n)
{
	int i, migrators = 0, applied = 0, waiters = 0;
	int64_t last = 0, polls = 0, max_polls = 0, waited = 0;

	for (i = 0; i < n; i++) {
		CHECK_INT(status[i], 0);
		CHECK_INT(r[i].rc, 0);
		applied += r[i].applied;
		migrators += r[i].applied > 0;
		if (r[i].finish_ms > last)
			last = r[i].finish_ms;
		if (r[i].applied == 0) {
			waiters++;
			polls += r[i].polls;
			waited += r[i].waited_ms;
			if (r[i].polls > max_polls)
				max_polls = r[i].polls;
		}
	}
	CHECK_INT(migrators, 1);
	CHECK_INT(applied, VERSIONS);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM log"), VERSIONS);
	CHECK_INT(pgt_int(c, "SELECT count(DISTINCT version) FROM log"), VERSIONS);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE plan = 'fleet'"), VERSIONS);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE plan = 'fleet' AND state = 'applied'"),
		  VERSIONS);
	fprintf(stderr,
		"%s: %d processes, %d versions, 0 double applies, last finished after %lld ms; "
		"%d waiters polled the lock %.1f times on average (at most %lld), %.1f polls/s while waiting\n",
		what, n, VERSIONS, (long long)last, waiters, waiters ? (double)polls / waiters : 0.0,
		(long long)max_polls, waited ? (double)polls * 1000.0 / (double)waited : 0.0);
}

/* 64 processes on the database `tag` through the pooler of `env`; `after` must count 0 then (no lock left). */
static void fleet_through(const char *tag, const char *env, const char *params, const char *what, const char *after)
{
	const char *db = pgt_fresh_db(tag);
	const char *url = pooler_url(env, db, params);
	PGconn *c = pgt_connect(db);
	static report_t r[FLEET];
	int status[FLEET];

	run_fleet(url, FLEET, r, status);
	check_fleet(c, what, r, status, FLEET);
	CHECK_INT(pgt_int(c, after), 0);
	PQfinish(c);
}

TEST(lease_fleet_through_transaction_pooler)
{
	/* The lease is released: no row left in the lock table. */
	fleet_through("txpool", "MIGRATE_PGBOUNCER_TXN_URL_FILE", "migrate_lock=lease",
		      "lease lock through a transaction pooler", "SELECT count(*) FROM _migrate_lock");
}

TEST(advisory_fleet_through_session_pooler)
{
	fleet_through("sesspool", "MIGRATE_PGBOUNCER_SESSION_URL_FILE", NULL, "advisory lock through a session pooler",
		      ADVISORY_LOCKS_HERE);
}

/* The advisory lock through a transaction pooler: refused, by one process alone and by 16 at once. */
TEST(advisory_refuses_transaction_pooler)
{
	const char *db = pgt_fresh_db("txrefuse");
	const char *url = pooler_url("MIGRATE_PGBOUNCER_TXN_URL_FILE", db, NULL);
	PGconn *c = pgt_connect(db);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = fleet_plan();
	migrate_error_t err;
	static report_t r[16];
	int status[16], i;

	CHECK_INT(migrate_up(t, plan, 0, NULL, &err), MIGRATE_EINVAL);
	CHECK_HAS(err.message, "plan \"fleet\": this connection goes through a connection pooler in transaction mode");
	CHECK_HAS(err.message, "add migrate_lock=lease to the URL");
	migrate_target_close(t);
	migrate_plan_destroy(plan);

	run_fleet(url, 16, r, status);
	for (i = 0; i < 16; i++) {
		CHECK_INT(status[i], 1);
		CHECK_INT(r[i].rc, MIGRATE_EINVAL);
		CHECK_HAS(r[i].message, "connection pooler in transaction mode");
	}
	/* Nothing ran, nothing was recorded, and no advisory lock stays on a pooled server connection. */
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_tables WHERE tablename = 'log'"), 0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history"), 0);
	CHECK_INT(pgt_int(c, ADVISORY_LOCKS_HERE), 0);
	PQfinish(c);
}
