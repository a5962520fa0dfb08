/*
 * The MongoDB lease lock: 8 processes running `up` at once apply each
 * version exactly once; a holder killed while holding the lock is taken
 * over after its lease; the lease is renewed during long steps; a run
 * whose lock was taken over stops (fencing) without writing history; the
 * URL's migrate_lease_ms and migrate_lease_renew_ms, checked.
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

/*
 * Plan "lease": version 1 counts its runs in `audit`; version 2 counts its
 * runs, then sleeps for slow_ms in a custom step. Every run of a version
 * adds 1 to {_id: "v<N>"}.runs: 1 means applied exactly once.
 */
static int sleepy(migrate_target_t *t, void *native, migrate_error_t *err, void *payload)
{
	const int *ms = payload;

	(void)t;
	(void)native;
	(void)err;
	if (*ms > 0)
		usleep((useconds_t)*ms * 1000u);
	return 0;
}

static int slow_ms;

static migrate_plan_t *lease_plan(void)
{
	migrate_plan_t *p = NULL;
	migrate_version_t *v = NULL;
	migrate_error_t err;

	CHECK_OK(migrate_plan_new(&p, "lease", &err), &err);
	for (int id = 1; id <= 2; id++) {
		char step[400];
		CHECK_OK(migrate_plan_add_version(p, (uint64_t)id, id == 1 ? "first" : "slow", &v, &err), &err);
		snprintf(step, sizeof step,
			 "{\"op\":\"command\",\"up\":{\"update\":\"audit\",\"updates\":[{\"q\":{\"_id\":\"v%d\"},"
			 "\"u\":{\"$inc\":{\"runs\":1}},\"upsert\":true}]},"
			 "\"down\":{\"delete\":\"audit\",\"deletes\":[{\"q\":{\"_id\":\"v%d\"},\"limit\":0}]}}",
			 id, id);
		mt_step(v, step);
		if (id == 2)
			CHECK_OK(migrate_custom(v, "sleep", "1", sleepy, sleepy, &slow_ms, NULL, &err), &err);
	}
	return p;
}

/* The child holder: `up` of lease_plan() with version 2 sleeping `slow` ms. Exit 0, or 2 for ELOCKLOST. */
typedef struct holder {
	const char *url;
	int slow, signal;
} holder_t;

static int hold(void *arg, int ready)
{
	const holder_t *h = arg;
	migrate_plan_t *p = lease_plan();
	migrate_target_t *t = NULL;
	migrate_run_options_t o;
	migrate_error_t err;
	harness_pause_t pause = {ready, 2, h->signal};
	int rc;

	slow_ms = h->slow;
	if (migrate_target_open(&t, h->url, &err) != 0)
		return 3;
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = harness_pause_at_version;
	o.event_payload = &pause;
	rc = migrate_up(t, p, 0, &o, &err);
	if (rc)
		fprintf(stderr, "holder %ld: %s\n", (long)getpid(), err.message);
	migrate_target_close(t);
	migrate_plan_destroy(p);
	return rc == 0 ? 0 : rc == MIGRATE_ELOCKLOST ? 2 : 1;
}

/* The runs of version `id` recorded in `audit`. */
static int64_t runs(mongoc_client_t *c, int id)
{
	char filter[64];

	snprintf(filter, sizeof filter, "{\"_id\":\"v%d\",\"runs\":1}", id);
	if (mt_count(c, mt_db(), "audit", filter) == 1)
		return 1;
	snprintf(filter, sizeof filter, "{\"_id\":\"v%d\"}", id);
	return mt_count(c, mt_db(), "audit", filter) == 0 ? 0 : -1; /* -1: more than once */
}

/* Forgets version 2 (its history and its run) for the next case. */
static void reset_two(mongoc_client_t *c)
{
	mt_cmd(c, mt_db(), "{\"delete\":\"_migrate_history\",\"deletes\":[{\"q\":{\"version\":2},\"limit\":0}]}", NULL);
	mt_cmd(c, mt_db(), "{\"delete\":\"audit\",\"deletes\":[{\"q\":{\"_id\":\"v2\"},\"limit\":0}]}", NULL);
}

/*
 * The URL's lease (migrate_lease_ms=600, migrate_lease_renew_ms=200): a
 * custom step three times longer than the lease keeps the lock (the
 * renewal thread), so a second process can neither take it nor apply
 * anything twice; a holder killed with SIGKILL is taken over within the
 * lease and one poll; one paused with SIGSTOP past its lease is taken
 * over, and once resumed it is fenced off: nothing of it is recorded.
 */
TEST(url_lease_renewed_taken_over_and_fenced)
{
	const char *fresh = mt_fresh_db("urllease");
	char url[700];
	migrate_plan_t *p = lease_plan();
	migrate_target_t *t;
	migrate_run_options_t o;
	migrate_error_t err;
	mongoc_client_t *c;
	holder_t h;
	int status;
	int64_t start, took;
	pid_t pid;

	snprintf(url, sizeof url, "%s&migrate_lease_ms=600&migrate_lease_renew_ms=200", fresh);
	unsetenv("MIGRATE_MONGO_LEASE_MS");
	c = mt_client(url);
	t = mt_target(url);
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);

	/* A 1.8 s step under a 0.6 s lease: past the lease the lock is still held, and a waiter waits. */
	h = (holder_t){url, 1800, 0};
	pid = harness_fork_ready(hold, &h);
	start = harness_mono_ms();
	usleep(1000 * 1000);
	o.lock_timeout_ms = 0;
	CHECK_INT(migrate_up(t, p, 0, &o, &err), MIGRATE_ELOCKED);
	o.lock_timeout_ms = 20000;
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	took = harness_mono_ms() - start;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), 0);
	CHECK(took >= 1700);
	CHECK_INT(runs(c, 1), 1);
	CHECK_INT(runs(c, 2), 1);
	CHECK_INT(mt_count(c, mt_db(), "_migrate_history", "{\"state\":\"applied\"}"), 2);
	fprintf(stderr,
		"mongo: a 1.8 s step under a 0.6 s lease (renewed every 0.2 s) kept the lock; the waiter "
		"finished after %lld ms\n",
		(long long)took);

	/* SIGKILL at the start of version 2: taken over once the lease expires. */
	reset_two(c);
	h = (holder_t){url, 0, SIGKILL};
	pid = harness_fork_ready(hold, &h);
	start = harness_mono_ms();
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
	mt_reap(pid);
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	took = harness_mono_ms() - start;
	CHECK(took < 600 + 1000);
	CHECK_INT(runs(c, 2), 1);
	CHECK_INT(mt_count(c, mt_db(), "_migrate_history", "{\"state\":\"applied\"}"), 2);
	fprintf(stderr,
		"mongo: a holder killed with SIGKILL (lease 600 ms) was taken over and its work done in %lld ms\n",
		(long long)took);

	/* SIGSTOP at the start of version 2, past the lease: taken over; once resumed, fenced off. */
	reset_two(c);
	h = (holder_t){url, 0, SIGSTOP};
	pid = harness_fork_ready(hold, &h);
	CHECK(waitpid(pid, &status, WUNTRACED) == pid && WIFSTOPPED(status));
	start = harness_mono_ms();
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	took = harness_mono_ms() - start;
	CHECK(took >= 400 && took < 600 + 1000);
	fprintf(stderr,
		"mongo: a holder paused with SIGSTOP (lease 600 ms) was taken over and its work done in %lld ms\n",
		(long long)took);
	{
		char *mine = mt_find_one(c, mt_db(), "_migrate_history", "{\"version\":2}");
		char *after;
		CHECK(mine != NULL);
		kill(pid, SIGCONT);
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status));
		CHECK_INT(WEXITSTATUS(status), 2); /* MIGRATE_ELOCKLOST */
		/* Nothing the resumed holder did is recorded: version 2 ran once, its history as we left it. */
		CHECK_INT(runs(c, 2), 1);
		after = mt_find_one(c, mt_db(), "_migrate_history", "{\"version\":2}");
		CHECK_STR(after, mine);
		CHECK_INT(mt_count(c, mt_db(), "_migrate_history", "{\"state\":\"applied\"}"), 2);
		CHECK_INT(mt_count(c, mt_db(), "_migrate_locks", NULL), 0);
		free(after);
		free(mine);
	}
	fprintf(stderr, "mongo: the resumed holder was fenced off: exit MIGRATE_ELOCKLOST, nothing of it recorded\n");
	mongoc_client_destroy(c);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

/* At the lock's taking: expires_at - acquired_at of the lock document of plan "lease". */
typedef struct lease_probe {
	mongoc_client_t *c;
	int64_t *lease;
} lease_probe_t;

static int read_lease(const migrate_event_t *ev, void *payload)
{
	const lease_probe_t *lp = payload;
	mongoc_collection_t *coll;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_t *q;
	bson_iter_t a, e;

	if (ev->type != MIGRATE_EVENT_LOCK_ACQUIRED)
		return 0;
	coll = mongoc_client_get_collection(lp->c, mt_db(), "_migrate_locks");
	q = BCON_NEW("_id", BCON_UTF8("lease"));
	cur = mongoc_collection_find_with_opts(coll, q, NULL, NULL);
	if (mongoc_cursor_next(cur, &doc) && bson_iter_init_find(&a, doc, "acquired_at") &&
	    bson_iter_init_find(&e, doc, "expires_at"))
		*lp->lease = bson_iter_date_time(&e) - bson_iter_date_time(&a);
	mongoc_cursor_destroy(cur);
	bson_destroy(q);
	mongoc_collection_destroy(coll);
	return 0;
}

/* Bad lease options: MIGRATE_EINVAL naming the option, and nothing written. */
TEST(url_lease_options_checked)
{
	const char *fresh = mt_fresh_db("leaseopts");
	static const struct {
		const char *params, *says;
	} bad[] = {
		{"migrate_lease_ms=abc", "migrate_lease_ms takes milliseconds"},
		{"migrate_lease_ms=", "migrate_lease_ms takes milliseconds"},
		{"migrate_lease_ms=-5", "migrate_lease_ms takes milliseconds"},
		{"migrate_lease_ms=50", "migrate_lease_ms is 50 ms, shorter than the 100 ms minimum"},
		/* now + lease would overflow: refused, not taken as expired at once */
		{"migrate_lease_ms=9223372036854775807", "longer than the 86400000 ms (a day) maximum"},
		{"migrate_lease_renew_ms=99", "migrate_lease_renew_ms is 99 ms"},
		{"migrate_lease_ms=600&migrate_lease_renew_ms=600", "migrate_lease_renew_ms (600 ms) must be shorter"},
		{"migrate_lease_renew_ms=900&migrate_lease_ms=500", "migrate_lease_renew_ms (900 ms) must be shorter"},
		/* Without migrate_lease_ms, the default lease (30 s) bounds the period. */
		{"migrate_lease_renew_ms=30000", "migrate_lease_ms (30000 ms)"},
		{"migrate_lease_millis=5", "unknown option migrate_lease_millis"},
	};
	char server[600], url[800];
	mongoc_client_t *c;

	unsetenv("MIGRATE_MONGO_LEASE_MS");
	snprintf(server, sizeof server, "%s", fresh);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		migrate_target_t *t = NULL;
		migrate_error_t err;
		snprintf(url, sizeof url, "%s&%s", server, bad[i].params);
		CHECK_INT(migrate_target_open(&t, url, &err), MIGRATE_EINVAL);
		CHECK(t == NULL);
		CHECK_HAS(err.message, bad[i].says);
	}
	/* Good ones open (names are case-insensitive), and the lock document carries the URL's lease. */
	c = mt_client(server);
	{
		migrate_plan_t *p = lease_plan();
		migrate_target_t *t;
		migrate_run_options_t o;
		migrate_error_t err;
		int64_t lease = -1;
		lease_probe_t probe = {c, &lease};
		snprintf(url, sizeof url, "%s&MIGRATE_LEASE_MS=800&migrate_lease_renew_ms=100", server);
		t = mt_target(url);
		migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
		o.on_event = read_lease;
		o.event_payload = &probe;
		CHECK_OK(migrate_up(t, p, 1, &o, &err), &err);
		CHECK_INT(lease, 800);
		migrate_target_close(t);
		migrate_plan_destroy(p);
	}
	/* Nothing was written by the refused URLs; the good one applied version 1. */
	CHECK_INT(mt_count(c, mt_db(), "_migrate_history", NULL), 1);
	CHECK_INT(mt_count(c, mt_db(), "_migrate_locks", NULL), 0);
	mongoc_client_destroy(c);
}
