/*
 * The MongoDB lease lock: 8 processes running `up` at once apply each
 * version exactly once; a holder killed while holding the lock is taken
 * over after its lease; the lease is renewed during long steps; a run
 * whose lock was taken over stops (fencing) without writing history.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../examples/sessions_to_jobs/plan.h"
#include "harness.h"
#include "mongo_util.h"

static migrate_plan_t *plan(void)
{
	migrate_plan_t *p = NULL;
	migrate_error_t err;

	CHECK_OK(sessions_to_jobs_plan(&p, 0, &err), &err);
	return p;
}

static void sample(const char *url, int n)
{
	mongoc_client_t *c = mt_client(url);
	bson_error_t e;

	if (sessions_to_jobs_sample(c, mt_db(), n, &e) != 0)
		harness_fail(__FILE__, __LINE__, "sample: %s", e.message);
	mongoc_client_destroy(c);
}

/* Each child appends "pid version\n" to a shared file for every version it applied. */
typedef struct applied_log {
	const char *path;
} applied_log_t;

static int log_applied(const migrate_event_t *ev, void *payload)
{
	applied_log_t *l = payload;
	FILE *f;

	if (ev->type == MIGRATE_EVENT_VERSION_END && (f = fopen(l->path, "a")) != NULL) {
		fprintf(f, "%ld %llu\n", (long)getpid(), (unsigned long long)ev->version_id);
		fclose(f);
	}
	return 0;
}

TEST(eight_processes_apply_each_version_once)
{
	const char *url = mt_fresh_db("eight");
	char dburl[600], logpath[600];
	int go[2], status, ok = 0;
	pid_t pids[8];
	mongoc_client_t *c;
	FILE *f;
	int count[6] = {0};
	long pid;
	unsigned long long v;

	snprintf(dburl, sizeof dburl, "%s", url);
	snprintf(logpath, sizeof logpath, "%s", harness_path("applied.log"));
	sample(dburl, 30);
	CHECK(pipe(go) == 0);
	for (int i = 0; i < 8; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char byte;
			migrate_plan_t *p = plan();
			migrate_target_t *t = NULL;
			migrate_run_options_t opts;
			migrate_error_t err;
			applied_log_t l = {logpath};
			int rc;
			close(go[1]);
			/* Every child starts when the parent closes the pipe. */
			if (read(go[0], &byte, 1) < 0)
				_exit(4);
			migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
			opts.lock_timeout_ms = 120000;
			opts.on_event = log_applied;
			opts.event_payload = &l;
			rc = migrate_target_open(&t, dburl, &err);
			if (rc == 0)
				rc = migrate_up(t, p, 0, &opts, &err);
			if (rc)
				fprintf(stderr, "child %ld: %d %s\n", (long)getpid(), rc, err.message);
			migrate_target_close(t);
			migrate_plan_destroy(p);
			_exit(rc == 0 ? 0 : 3);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < 8; i++) {
		waitpid(pids[i], &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			ok++;
	}
	CHECK_INT(ok, 8);
	f = fopen(logpath, "r");
	CHECK(f != NULL);
	while (fscanf(f, "%ld %llu", &pid, &v) == 2)
		if (v < 6)
			count[v]++;
	fclose(f);
	for (int i = 1; i <= 4; i++)
		if (count[i] != 1)
			harness_fail(__FILE__, __LINE__, "version %d applied %d times", i, count[i]);
	c = mt_client(dburl);
	CHECK_INT(mt_count(c, mt_db(), "_migrate_history", "{\"state\":\"applied\"}"), 4);
	CHECK_INT(mt_count(c, mt_db(), "jobs", NULL), 30);
	CHECK_INT(mt_count(c, mt_db(), "_migrate_locks", NULL), 0);
	mongoc_client_destroy(c);
}

static int die_on_step(const migrate_event_t *ev, void *payload)
{
	if (ev->type == MIGRATE_EVENT_STEP_START)
		kill(getpid(), SIGKILL);
	return 0;
}

TEST(dead_holder_is_taken_over_after_lease)
{
	const char *url = mt_fresh_db("takeover");
	char dburl[600];
	migrate_plan_t *p = plan();
	migrate_target_t *t;
	migrate_run_options_t opts;
	migrate_error_t err;
	int status;
	pid_t pid;
	int64_t start;
	char msg[64];

	snprintf(dburl, sizeof dburl, "%s", url);
	sample(dburl, 10);
	setenv("MIGRATE_MONGO_LEASE_MS", "2000", 1);
	pid = fork();
	if (pid == 0) {
		migrate_target_t *ct = NULL;
		migrate_run_options_t o;
		migrate_error_t e;
		migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
		o.on_event = die_on_step;
		if (migrate_target_open(&ct, dburl, &e) == 0)
			migrate_up(ct, p, 0, &o, &e);
		_exit(3);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status));
	mt_reap(pid);

	t = mt_target(dburl);
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	/* Held by the dead process until its lease ends: a clear message naming it. */
	opts.lock_timeout_ms = 0;
	CHECK_INT(migrate_up(t, p, 0, &opts, &err), MIGRATE_ELOCKED);
	snprintf(msg, sizeof msg, ":%ld (lease until", (long)pid);
	CHECK_HAS(err.message, msg);
	/* Then taken over, and the version the dead run began is resumed. */
	start = (int64_t)time(NULL);
	opts.lock_timeout_ms = 20000;
	CHECK_OK(migrate_up(t, p, 0, &opts, &err), &err);
	CHECK((int64_t)time(NULL) - start <= 10);
	CHECK_INT(mt_state(t, p, 4), MIGRATE_STATE_APPLIED);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

/* A long step outlives several leases: the renewal keeps the lock, other runs wait. */
typedef struct prober {
	const char *url;
	int probes, refused;
} prober_t;

static int probe_lock(const migrate_event_t *ev, void *payload)
{
	prober_t *pr = payload;

	if (ev->type == MIGRATE_EVENT_PROGRESS) {
		/* Another process tries once while this run works. */
		pid_t pid = fork();
		int status;
		if (pid == 0) {
			migrate_plan_t *p = plan();
			migrate_target_t *t = NULL;
			migrate_run_options_t o;
			migrate_error_t e;
			int rc;
			migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
			o.lock_timeout_ms = 0;
			rc = migrate_target_open(&t, pr->url, &e);
			if (rc == 0)
				rc = migrate_up(t, p, 0, &o, &e);
			_exit(rc == MIGRATE_ELOCKED ? 0 : 1);
		}
		waitpid(pid, &status, 0);
		pr->probes++;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			pr->refused++;
	}
	return 0;
}

TEST(lease_renewed_during_long_steps)
{
	const char *url = mt_fresh_db("renew");
	char dburl[600];
	migrate_plan_t *p = plan();
	migrate_target_t *t;
	migrate_run_options_t opts;
	migrate_error_t err;
	prober_t pr = {NULL, 0, 0};

	snprintf(dburl, sizeof dburl, "%s", url);
	pr.url = dburl;
	sample(dburl, 12);
	setenv("MIGRATE_MONGO_LEASE_MS", "600", 1);
	t = mt_target(dburl);
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.batch_size = 2;
	opts.batch_pause_ms = 250; /* each backfill lasts several leases */
	opts.on_event = probe_lock;
	opts.event_payload = &pr;
	CHECK_OK(migrate_up(t, p, 0, &opts, &err), &err);
	CHECK(pr.probes >= 20);
	CHECK_INT(pr.refused, pr.probes);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

/* Fencing: a run whose lease was taken over stops at its next history write. */
typedef struct thief {
	const char *url;
	int done;
} thief_t;

static int steal_lock(const migrate_event_t *ev, void *payload)
{
	thief_t *th = payload;

	if (!th->done && ev->type == MIGRATE_EVENT_STEP_END) {
		mongoc_client_t *c = mt_client(th->url);
		th->done = 1;
		mt_cmd(c, mt_db(),
		       "{\"update\":\"_migrate_locks\",\"updates\":[{\"q\":{\"_id\":\"sessions_to_jobs\"},"
		       "\"u\":{\"$set\":{\"owner\":\"thief\",\"host\":\"elsewhere\",\"pid\":42,"
		       "\"expires_at\":{\"$date\":\"2100-01-01T00:00:00Z\"}}},\"multi\":true}]}",
		       NULL);
		mongoc_client_destroy(c);
	}
	return 0;
}

TEST(lost_lock_stops_without_writing)
{
	const char *url = mt_fresh_db("fence");
	char dburl[600];
	migrate_plan_t *p = plan();
	migrate_target_t *t;
	migrate_run_options_t opts;
	migrate_error_t err;
	thief_t th = {NULL, 0};
	mongoc_client_t *c;

	snprintf(dburl, sizeof dburl, "%s", url);
	th.url = dburl;
	sample(dburl, 10);
	t = mt_target(dburl);
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.on_event = steal_lock;
	opts.event_payload = &th;
	CHECK_INT(migrate_up(t, p, 0, &opts, &err), MIGRATE_ELOCKLOST);
	CHECK_HAS(err.message, "lost the lock");
	CHECK_HAS(err.message, "elsewhere:42");
	c = mt_client(dburl);
	/* Version 1's journal stops where the lock was lost (its first step): nothing written after. */
	{
		char *h = mt_find_one(c, mt_db(), "_migrate_history", "{\"version\":1}");
		CHECK(h != NULL);
		if (!strstr(h, "\"steps_done\" : 0") && !strstr(h, "\"steps_done\" : 1"))
			harness_fail(__FILE__, __LINE__, "history written after the lock was lost: %s", h);
		CHECK_HAS(h, "\"state\" : \"applying\"");
		free(h);
	}
	CHECK_INT(mt_count(c, mt_db(), "_migrate_history", "{\"state\":\"applied\"}"), 0);
	/* The thief's lock is untouched. */
	CHECK_INT(mt_count(c, mt_db(), "_migrate_locks", "{\"owner\":\"thief\"}"), 1);
	mongoc_client_destroy(c);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}
