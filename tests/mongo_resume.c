/*
 * Crash and resume on MongoDB: a process killed (SIGKILL) at every step
 * boundary and in the middle of backfills, and the server killed during a
 * backfill; each time the next run converges to exactly the state of an
 * uninterrupted run (same documents, counters, indexes and history).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../examples/sessions_to_jobs/plan.h"
#include "harness.h"
#include "mongo_util.h"

#define SAMPLE 24
#define BATCH 8

static void sample(const char *url, const char *db)
{
	mongoc_client_t *c = mt_client(url);
	bson_error_t e;

	if (sessions_to_jobs_sample(c, db, SAMPLE, &e) != 0)
		harness_fail(__FILE__, __LINE__, "sample: %s", e.message);
	mongoc_client_destroy(c);
}

static migrate_plan_t *plan(void)
{
	migrate_plan_t *p = NULL;
	migrate_error_t err;

	CHECK_OK(sessions_to_jobs_plan(&p, 1, &err), &err);
	return p;
}

static int run_up(const char *url, migrate_event_fn fn, void *payload, migrate_error_t *err)
{
	migrate_plan_t *p = plan();
	migrate_target_t *t = NULL;
	migrate_run_options_t opts;
	int rc;

	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.batch_size = BATCH;
	opts.on_event = fn;
	opts.event_payload = payload;
	rc = migrate_target_open(&t, url, err);
	if (rc == 0)
		rc = migrate_up(t, p, 0, &opts, err);
	migrate_target_close(t);
	migrate_plan_destroy(p);
	return rc;
}

/* The state an uninterrupted run reaches, from the same sample. */
static char *reference(const char *server)
{
	char db[64];
	const char *url;
	mongoc_client_t *c;
	migrate_error_t err;
	char *dump;

	snprintf(db, sizeof db, "t_ref_%ld", (long)getpid());
	url = mt_db_url(server, db);
	c = mt_client(url);
	mt_cmd(c, db, "{\"dropDatabase\":1}", NULL);
	sample(url, db);
	CHECK_OK(run_up(url, NULL, NULL, &err), &err);
	dump = mt_dump(c, db);
	CHECK_HAS(dump, "\"state\" : \"applied\"");
	mt_cmd(c, db, "{\"dropDatabase\":1}", NULL);
	mongoc_client_destroy(c);
	return dump;
}

/* Kill point: the n-th event of the kinds counted (step ends, first progress of a step). */
typedef struct killer {
	int countdown;
} killer_t;

static int kill_at(const migrate_event_t *ev, void *payload)
{
	killer_t *k = payload;
	bool counts = ev->type == MIGRATE_EVENT_STEP_END || ev->type == MIGRATE_EVENT_STEP_START ||
		      (ev->type == MIGRATE_EVENT_PROGRESS && ev->processed <= BATCH);

	if (counts && --k->countdown == 0)
		kill(getpid(), SIGKILL);
	return 0;
}

TEST(killed_at_every_step_boundary_and_mid_backfill)
{
	const char *server = mt_server_url();
	char *want = reference(server);
	int point;

	setenv("MIGRATE_MONGO_LEASE_MS", "600", 1);
	for (point = 1;; point++) {
		char tag[32];
		const char *url;
		char dburl[600];
		mongoc_client_t *c;
		migrate_error_t err;
		int status = 0;
		pid_t pid;
		char *got;

		snprintf(tag, sizeof tag, "kill%d", point);
		url = mt_fresh_db(tag);
		snprintf(dburl, sizeof dburl, "%s", url);
		sample(dburl, mt_db());
		pid = fork();
		if (pid == 0) {
			killer_t k = {point};
			migrate_error_t cerr;
			_exit(run_up(dburl, kill_at, &k, &cerr) == 0 ? 0 : 3);
		}
		waitpid(pid, &status, 0);
		if (WIFEXITED(status)) {
			CHECK_INT(WEXITSTATUS(status), 0);
			break; /* past the last kill point: the run finished */
		}
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		mt_reap(pid);
		/* The next run waits out the dead holder's lease, then resumes from the journal. */
		CHECK_OK(run_up(dburl, NULL, NULL, &err), &err);
		c = mt_client(dburl);
		got = mt_dump(c, mt_db());
		if (strcmp(got, want) != 0)
			harness_fail(__FILE__, __LINE__, "killed at point %d: state differs\n--- got\n%s\n--- want\n%s",
				     point, got, want);
		free(got);
		mt_cmd(c, mt_db(), "{\"dropDatabase\":1}", NULL);
		mongoc_client_destroy(c);
	}
	CHECK(point > 30); /* every step of the five versions, and the backfills' batches */
	free(want);
}

/* The server killed during a backfill: a clear error, and the run after its restart completes. */
typedef struct server_killer {
	const char *dir;
	int done;
} server_killer_t;

static int kill_server(const migrate_event_t *ev, void *payload)
{
	server_killer_t *s = payload;

	if (!s->done && ev->type == MIGRATE_EVENT_PROGRESS && ev->op && !strcmp(ev->op, "backfill")) {
		s->done = 1;
		mt_private_kill(s->dir);
	}
	return 0;
}

TEST(server_killed_mid_backfill)
{
	char dir[600];
	const char *server;
	char srv[256], url[600];
	server_killer_t sk;
	migrate_error_t err;
	mongoc_client_t *c;
	char *want, *got;
	int rc, port;

	mt_server_url(); /* skips without FerretDB */
	snprintf(dir, sizeof dir, "%s", harness_path("ferretdb"));
	server = mt_private_start(dir, 0);
	snprintf(srv, sizeof srv, "%s", server);
	port = mt_private_port(dir);
	want = reference(srv);
	snprintf(url, sizeof url, "%s", mt_db_url(srv, "crashdb"));
	sample(url, "crashdb");
	setenv("MIGRATE_MONGO_LEASE_MS", "600", 1);
	sk.dir = dir;
	sk.done = 0;
	rc = run_up(url, kill_server, &sk, &err);
	CHECK(sk.done);
	if (rc != MIGRATE_ECONNECT && rc != MIGRATE_EDB)
		harness_fail(__FILE__, __LINE__, "up returned %d (%s), expected a connection error", rc, err.message);
	CHECK_HAS(err.message, "backfill");
	fprintf(stderr, "error while the server was down: %s\n", err.message);

	mt_private_start(dir, port);
	CHECK_OK(run_up(url, NULL, NULL, &err), &err);
	c = mt_client(url);
	got = mt_dump(c, "crashdb");
	CHECK_STR(got, want);
	free(got);
	free(want);
	mongoc_client_destroy(c);
	mt_private_stop(dir);
}
