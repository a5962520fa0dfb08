/*
 * Concurrent runs and the lock: 8 processes starting `up` at once apply
 * every version exactly once; a lock held by a killed process is free; a
 * busy lock names its holder; the lock file is removed by the last target
 * to close, and kept while another holds a lock on it.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sqlite_util.h"

#define NPROC 8
#define NVERSIONS 6

static migrate_error_t err;

/* Whether "<path>-migrate.lock" exists. */
static int lock_file_exists(const char *path)
{
	char p[1200];

	snprintf(p, sizeof p, "%s-migrate.lock", path);
	return access(p, F_OK) == 0;
}

/* Every version creates a table (fails if run twice) and increments a counter. */
static migrate_plan_t *counting_plan(void)
{
	migrate_plan_t *p = tu_plan("shared");
	char create[200], incr[200];
	uint64_t v;

	tu_version(
		p, 1, "counter",
		"{\"op\":\"create_table\",\"table\":\"counter\",\"columns\":[{\"name\":\"n\",\"type\":\"integer\"}]}",
		"{\"op\":\"sql\",\"up\":\"INSERT INTO counter VALUES (0)\"}", NULL);
	for (v = 2; v <= NVERSIONS; v++) {
		snprintf(create, sizeof create,
			 "{\"op\":\"create_table\",\"table\":\"t%u\",\"columns\":[{\"name\":\"x\",\"type\":\"text\"}]}",
			 (unsigned)v);
		snprintf(incr, sizeof incr, "{\"op\":\"sql\",\"up\":\"UPDATE counter SET n = n + 1\"}");
		tu_version(p, v, "step", create, incr, NULL);
	}
	return p;
}

static int child_up(const char *path, int start_fd)
{
	migrate_target_t *t = NULL;
	migrate_plan_t *p = counting_plan();
	migrate_run_options_t o;
	char c;
	int rc;

	/* everyone starts at the same moment */
	if (read(start_fd, &c, 1) < 0)
		return 10;
	if (migrate_target_open(&t, tu_url(path), &err))
		return 11;
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.lock_timeout_ms = 30000;
	rc = migrate_up(t, p, 0, &o, &err);
	if (rc && rc != MIGRATE_ELOCKED)
		fprintf(stderr, "child %d: %d %s\n", (int)getpid(), rc, err.message);
	migrate_target_close(t);
	migrate_plan_destroy(p);
	return rc == 0 ? 0 : rc == MIGRATE_ELOCKED ? 2 : 1;
}

TEST(eight_processes_apply_each_version_once)
{
	char path[1100];
	int fds[2], i, ok = 0, locked = 0, status;
	pid_t pids[NPROC];
	sqlite3 *db;

	snprintf(path, sizeof path, "%s", harness_path("shared.sqlite"));
	CHECK(pipe(fds) == 0);
	fflush(NULL);
	for (i = 0; i < NPROC; i++) {
		pids[i] = fork();
		CHECK(pids[i] >= 0);
		if (pids[i] == 0) {
			close(fds[1]);
			_exit(child_up(path, fds[0]));
		}
	}
	close(fds[0]);
	/* closing the write end wakes every reader at once */
	close(fds[1]);
	for (i = 0; i < NPROC; i++) {
		CHECK(waitpid(pids[i], &status, 0) == pids[i]);
		CHECK(WIFEXITED(status));
		CHECK(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 2);
		ok += WEXITSTATUS(status) == 0;
		locked += WEXITSTATUS(status) == 2;
	}
	CHECK(ok >= 1);
	fprintf(stderr, "%d processes succeeded, %d timed out on the lock\n", ok, locked);
	db = tu_open(path);
	CHECK_INT(tu_int(db, "SELECT n FROM counter"), NVERSIONS - 1);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM counter"), 1);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM _migrate_history WHERE plan = 'shared' AND state = 2"), NVERSIONS);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name GLOB 't[0-9]'"),
		  NVERSIONS - 1);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM _migrate_lock"), 0);
	sqlite3_close(db);
	CHECK(!lock_file_exists(path));
}

static int park(const migrate_event_t *e, void *payload)
{
	int fd = *(int *)payload;

	if (e->type == MIGRATE_EVENT_VERSION_START && e->version_id == 2) {
		if (write(fd, "r", 1) != 1)
			_exit(5);
		for (;;)
			pause();
	}
	return 0;
}

/* The time the lock was taken (monotonic ms), into the int64_t the payload points to. */
static int note_acquired(const migrate_event_t *e, void *payload)
{
	if (e->type == MIGRATE_EVENT_LOCK_ACQUIRED)
		*(int64_t *)payload = harness_mono_ms();
	return 0;
}

TEST(lock_of_killed_process_is_free)
{
	int64_t start_ms, acquired_ms = 0;
	char path[1100], host[256], expect[400], c;
	int fds[2], status;
	pid_t pid;
	migrate_target_t *t;
	migrate_plan_t *p;
	migrate_run_options_t o;
	sqlite3 *db;

	snprintf(path, sizeof path, "%s", harness_path("lock.sqlite"));
	CHECK(pipe(fds) == 0);
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		t = tu_target(path);
		p = counting_plan();
		migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
		o.on_event = park;
		o.event_payload = &fds[1];
		migrate_up(t, p, 0, &o, &err);
		_exit(6);
	}
	close(fds[1]);
	CHECK(read(fds[0], &c, 1) == 1);

	/* the holder is alive: busy, and the error names it */
	t = tu_target(path);
	p = counting_plan();
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.lock_timeout_ms = 0;
	CHECK_INT(migrate_up(t, p, 0, &o, &err), MIGRATE_ELOCKED);
	gethostname(host, sizeof host);
	snprintf(expect, sizeof expect, "held by %s:%d since ", host, (int)pid);
	CHECK_HAS(err.message, expect);

	/* killed: the kernel released its lock at once, and the next run takes it and resumes */
	start_ms = harness_mono_ms();
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	o.lock_timeout_ms = 2000;
	o.on_event = note_acquired;
	o.event_payload = &acquired_ms;
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	CHECK(acquired_ms > 0);
	printf("sqlite: lock taken over %lld ms after SIGKILL of its holder\n", (long long)(acquired_ms - start_ms));
	CHECK(acquired_ms - start_ms < 1000);
	db = tu_open(path);
	CHECK_INT(tu_int(db, "SELECT n FROM counter"), NVERSIONS - 1);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM _migrate_history WHERE state = 2"), NVERSIONS);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM _migrate_lock"), 0);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

typedef struct nested {
	const char *path;
	int rc;
	int tried;
	int kept; /* the lock file outlived the second target, the first holding its lock */
	char message[MIGRATE_ERROR_MESSAGE_SIZE];
} nested_t;

/* While one target holds the lock, another target in the same process is refused too. */
static int try_second(const migrate_event_t *e, void *payload)
{
	nested_t *n = payload;
	migrate_target_t *t;
	migrate_plan_t *p;
	migrate_run_options_t o;
	migrate_error_t e2;

	if (e->type != MIGRATE_EVENT_VERSION_START || n->tried)
		return 0;
	n->tried = 1;
	t = tu_target(n->path);
	p = counting_plan();
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.lock_timeout_ms = 300;
	n->rc = migrate_up(t, p, 0, &o, &e2);
	snprintf(n->message, sizeof n->message, "%s", e2.message);
	migrate_target_close(t);
	n->kept = lock_file_exists(n->path);
	migrate_plan_destroy(p);
	return 0;
}

TEST(same_process_second_target_waits)
{
	nested_t n;
	migrate_target_t *t;
	migrate_plan_t *p = counting_plan(), *other = tu_plan("other");
	migrate_run_options_t o;

	memset(&n, 0, sizeof n);
	n.path = harness_path("same.sqlite");
	t = tu_target(n.path);
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = try_second;
	o.event_payload = &n;
	CHECK_OK(migrate_up(t, p, 0, &o, &err), &err);
	CHECK(n.tried);
	CHECK_INT(n.rc, MIGRATE_ELOCKED);
	CHECK_HAS(n.message, "held by");
	CHECK(n.kept);
	/* another plan has a lock of its own */
	tu_version(other, 1, "x", "{\"op\":\"sql\",\"up\":\"CREATE TABLE other_t (x)\"}", NULL);
	CHECK_OK(migrate_up(t, other, 0, NULL, &err), &err);
	CHECK(lock_file_exists(n.path));
	migrate_target_close(t);
	CHECK(!lock_file_exists(n.path));
	migrate_plan_destroy(p);
	migrate_plan_destroy(other);
}

/*
 * Opening a target reads the file's schema (so that it overlaps a plan's
 * loading), but without the busy timeout: while another connection holds
 * the file's exclusive lock, open returns at once instead of waiting the
 * 10 s timeout here and again at the first statement; that statement waits
 * for the lock as before, and answers once it is free.
 */
static void *release_later(void *payload)
{
	sqlite3 *holder = payload;

	usleep(300 * 1000);
	sqlite3_exec(holder, "COMMIT", NULL, NULL, NULL);
	return NULL;
}

TEST(open_does_not_wait_for_a_held_lock)
{
	const char *path = harness_path("held.sqlite");
	migrate_target_t *t = NULL;
	migrate_plan_t *p = counting_plan();
	migrate_check_state_t state;
	sqlite3 *holder = NULL;
	pthread_t thread;
	int64_t t0, opened, checked;

	CHECK_INT(sqlite3_open(path, &holder), SQLITE_OK);
	CHECK_INT(
		sqlite3_exec(holder, "CREATE TABLE a (x); BEGIN EXCLUSIVE; INSERT INTO a VALUES (1)", NULL, NULL, NULL),
		SQLITE_OK);
	t0 = harness_mono_ms();
	CHECK_OK(migrate_target_open(&t, tu_url(path), &err), &err);
	opened = harness_mono_ms() - t0;
	CHECK(opened < 2000);
	CHECK_INT(pthread_create(&thread, NULL, release_later, holder), 0);
	CHECK_OK(migrate_check(t, p, &state, &err), &err);
	checked = harness_mono_ms() - t0;
	pthread_join(thread, NULL);
	CHECK_INT(state, MIGRATE_CHECK_PENDING);
	CHECK(checked >= 250); /* it waited for the lock */
	migrate_target_close(t);
	sqlite3_close(holder);
	migrate_plan_destroy(p);
}
