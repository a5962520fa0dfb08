/*
 * The conformance suite: the same scenarios against every driver, through
 * the backend the test program is linked with (conformance_<driver>.c).
 *
 * The fault sweeps are the crash-safety promise made executable: for
 * N = 1, 2, ... a fresh database is seeded, a fault is armed at the N-th
 * fault point (an allocation, a driver call, a statement or command, a
 * journal write) and `up` runs into it, failing there or being killed
 * there (SIGKILL); then `up` runs again without faults, and the full dump
 * of schema, data and history must equal an uninterrupted run's, with the
 * non-idempotent steps (a counter backfill, a raw audit insert) in effect
 * exactly once. The sweep ends at the first N that the run never reaches.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance.h"
#include "harness.h"
#include "internal.h"

#define ROWS 60

static int rows(const conf_backend *b)
{
	return b->rows ? b->rows : ROWS;
}

/* The plan, in the portable vocabulary plus the backend's raw pieces. */
static char *plan_json(const conf_backend *b)
{
	static const char fmt[] =
		"{\"plan\":\"conformance\",\"versions\":["
		"{\"id\":1,\"name\":\"rename, audit table\",\"steps\":["
		"{\"op\":\"rename_table\",\"from\":\"legacy\",\"to\":\"items\"},"
		"{\"op\":\"create_table\",\"table\":\"audit\",\"columns\":[{\"name\":\"note\",\"type\":\"text\"}]},"
		"{\"op\":\"create_table\",\"table\":\"scratch\",\"primary_key\":[\"id\"],\"columns\":["
		"{\"name\":\"id\",\"type\":\"integer\",\"nullable\":false},{\"name\":\"v\",\"type\":\"text\"}]}]},"
		"{\"id\":2,\"name\":\"columns\",\"steps\":["
		"{\"op\":\"add_column\",\"table\":\"items\",\"column\":{\"name\":\"n\",\"type\":\"integer\","
		"\"default\":{\"value\":0}}},"
		"{\"op\":\"add_column\",\"table\":\"items\",\"column\":{\"name\":\"label\",\"type\":\"text\"}},"
		"{\"op\":\"rename_column\",\"table\":\"items\",\"from\":\"status\",\"to\":\"state\"},"
		"{\"op\":\"create_index\",\"table\":\"items\",\"name\":\"items_state\",\"keys\":[{\"column\":\"state\"}]}]},"
		"{\"id\":3,\"name\":\"data\",\"steps\":["
		"{\"op\":\"map_values\",\"table\":\"items\",\"column\":\"state\",\"batch_size\":%d,\"map\":{\"a\":\"x\"}},"
		"{\"op\":\"backfill\",\"table\":\"items\",\"batch_size\":%d,\"set\":{\"counter\":%s},"
		"\"down\":[{\"op\":\"backfill\",\"table\":\"items\",\"batch_size\":%d,\"set\":{\"counter\":%s}}]},"
		"{\"op\":\"backfill\",\"table\":\"items\",\"batch_size\":%d,\"where\":{\"state\":{\"$ne\":\"c\"}},"
		"\"set\":{\"n\":{\"array_length\":\"tags\"}},\"down\":[]},"
		"{\"op\":\"assert\",\"count\":{\"table\":\"items\",\"where\":{\"state\":\"x\"}},\"expect\":%d},%s]},"
		"{\"id\":4,\"name\":\"online index\",\"transactional\":false,\"steps\":["
		"{\"op\":\"create_index\",\"table\":\"items\",\"name\":\"items_n\",\"online\":true,"
		"\"keys\":[{\"column\":\"n\"}]}]},"
		"{\"id\":5,\"name\":\"drops and an enum\",\"steps\":["
		"%s"
		"{\"op\":\"drop_index\",\"table\":\"items\",\"name\":\"items_state\",\"down\":[{\"op\":"
		"\"create_index\",\"table\":\"items\",\"name\":\"items_state\",\"keys\":[{\"column\":\"state\"}]}]},"
		"{\"op\":\"drop_column\",\"table\":\"items\",\"column\":\"label\",\"down\":[{\"op\":\"add_column\","
		"\"table\":\"items\",\"column\":{\"name\":\"label\",\"type\":\"text\"}}]},"
		"{\"op\":\"drop_table\",\"table\":\"scratch\",\"down\":[{\"op\":\"create_table\",\"table\":"
		"\"scratch\",\"primary_key\":[\"id\"],\"columns\":[{\"name\":\"id\",\"type\":\"integer\","
		"\"nullable\":false},{\"name\":\"v\",\"type\":\"text\"}]}]}]}]}";
	size_t n = sizeof fmt + strlen(b->bump_expr) + strlen(b->drop_expr) + strlen(b->audit_step) + 120;
	char *s = malloc(n);
	int batch = b->batch ? b->batch : 7;

	CHECK(s != NULL);
	/* Enums are optional: a store without typed values may refuse them. */
	const char *enum_step =
		b->no_enums ? "" : "{\"op\":\"create_enum\",\"name\":\"kind\",\"values\":[\"x\",\"b\",\"c\"]},";

	snprintf(s, n, fmt, batch, batch, b->bump_expr, batch, b->drop_expr, batch, rows(b) / 3, b->audit_step,
		 enum_step);
	return s;
}

static migrate_plan_t *load_plan(const conf_backend *b, migrate_error_t *err)
{
	migrate_plan_t *plan = NULL;
	char *json = plan_json(b);

	if (migrate_plan_load_json(&plan, json, err) != 0)
		plan = NULL;
	free(json);
	return plan;
}

/* One run of up (or down to 0) from scratch: load, open, run, close. */
static int run_once(const conf_backend *b, const char *url, int down, migrate_error_t *err)
{
	migrate_plan_t *plan;
	migrate_target_t *t = NULL;
	int rc;

	memset(err, 0, sizeof *err);
	if (!(plan = load_plan(b, err)))
		return err->code ? err->code : MIGRATE_ENOMEM;
	rc = migrate_target_open(&t, url, err);
	if (rc == 0)
		rc = down ? migrate_down(t, plan, 0, NULL, err) : migrate_up(t, plan, 0, NULL, err);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	return rc;
}

static char *fresh_seeded(const conf_backend *b, const char *tag)
{
	char *url = strdup(b->fresh(tag));

	b->seed(url, rows(b));
	return url;
}

/* ---- scenarios --------------------------------------------------------- */

/* The plan validates on this driver and every step has a computed or given down. */
TEST(plan_valid)
{
	const conf_backend *b = conf_backend_get();
	migrate_error_t err;
	migrate_plan_t *plan = load_plan(b, &err);
	char *url = fresh_seeded(b, "valid"), *out = NULL, *before = b->dump(url), *after;
	migrate_target_t *t = NULL;

	CHECK(plan != NULL);
	CHECK_OK(migrate_target_open(&t, url, &err), &err);
	CHECK_OK(migrate_render(t, plan, 0, &out, &err), &err);
	CHECK_HAS(out, "-- version 1");
	CHECK_HAS(out, "-- version 5");
	CHECK_HAS(out, "items_n");
	migrate_free(out);
	migrate_target_close(t);
	after = b->dump(url);
	CHECK_STR(after, before); /* render writes nothing */
	free(before);
	free(after);
	free(url);
	migrate_plan_destroy(plan);
}

/* up, then down to nothing: the database is as it was before the plan. */
TEST(up_down_roundtrip)
{
	const conf_backend *b = conf_backend_get();
	char *url = fresh_seeded(b, "roundtrip"), *before = b->dump(url), *mid, *after;
	migrate_error_t err;

	CHECK_OK(run_once(b, url, 0, &err), &err);
	mid = b->dump(url);
	CHECK(strcmp(mid, before) != 0);
	CHECK_INT(b->audit_runs(url), 1);
	CHECK_OK(run_once(b, url, 0, &err), &err); /* up to date: nothing runs again */
	after = b->dump(url);
	CHECK_STR(after, mid);
	CHECK_INT(b->audit_runs(url), 1);
	free(after);
	CHECK_OK(run_once(b, url, 1, &err), &err);
	after = b->dump(url);
	CHECK_STR(after, before);
	CHECK_INT(b->audit_runs(url), 0);
	free(before);
	free(mid);
	free(after);
	free(url);
}

typedef struct nested {
	const conf_backend *b;
	const char *url;
	int tried, rc;
	char message[MIGRATE_ERROR_MESSAGE_SIZE];
} nested;

/* While the first run holds the lock, a second run on another connection waits and times out. */
static int try_second_run(const migrate_event_t *ev, void *payload)
{
	nested *n = payload;
	migrate_run_options_t opts;
	migrate_error_t err;
	migrate_target_t *t = NULL;
	migrate_plan_t *plan;

	if (ev->type != MIGRATE_EVENT_STEP_START || n->tried)
		return 0;
	n->tried = 1;
	plan = load_plan(n->b, &err);
	CHECK(plan != NULL);
	CHECK_OK(migrate_target_open(&t, n->url, &err), &err);
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.lock_timeout_ms = 300;
	n->rc = migrate_up(t, plan, 0, &opts, &err);
	snprintf(n->message, sizeof n->message, "%s", err.message);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	return 0;
}

TEST(lock_contention)
{
	const conf_backend *b = conf_backend_get();
	char *url = fresh_seeded(b, "lock");
	migrate_run_options_t opts;
	migrate_error_t err;
	migrate_target_t *t = NULL;
	migrate_plan_t *plan = load_plan(b, &err);
	nested n;

	memset(&n, 0, sizeof n);
	n.b = b;
	n.url = url;
	CHECK(plan != NULL);
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.on_event = try_second_run;
	opts.event_payload = &n;
	CHECK_OK(migrate_target_open(&t, url, &err), &err);
	CHECK_OK(migrate_up(t, plan, 0, &opts, &err), &err);
	CHECK(n.tried);
	CHECK_INT(n.rc, MIGRATE_ELOCKED);
	CHECK_HAS(n.message, "conformance");
	CHECK_INT(b->audit_runs(url), 1);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	free(url);
}

/* ---- fault sweeps ------------------------------------------------------ */

typedef struct sweep {
	const char *mode;
	long points, converged, absorbed, reruns, double_applies, mismatches, repairs;
} sweep;

static void report(const conf_backend *b, const sweep *s)
{
	printf("conformance %s %s sweep: %ld fault points, %ld converged (%ld absorbed by the run, %ld after a "
	       "rerun), %ld double applies, %ld lost or wrong rows, %ld repairs needed\n",
	       b->name, s->mode, s->points, s->converged, s->absorbed, s->reruns, s->double_applies, s->mismatches,
	       s->repairs);
	fflush(stdout);
}

/* After the faulted run: rerun without faults, then compare with the reference. */
static void converge(const conf_backend *b, const char *url, const char *ref, int first_rc, int down, long n, sweep *s)
{
	migrate_error_t err;
	char *dump;
	long runs;
	int rc = 0;

	if (first_rc == 0)
		s->absorbed++;
	else if ((rc = run_once(b, url, down, &err)) != 0) {
		s->repairs++;
		fprintf(stderr, "%s sweep, point %ld: the rerun failed (%d): %s\n", s->mode, n, rc, err.message);
	} else
		s->reruns++;
	dump = b->dump(url);
	runs = b->audit_runs(url);
	if (strcmp(dump, ref) != 0) {
		s->mismatches++;
		fprintf(stderr,
			"%s sweep, point %ld: the state differs from an uninterrupted run's\n--- got\n%s\n--- "
			"expected\n%s\n",
			s->mode, n, dump, ref);
	}
	if (runs != (down ? 0 : 1) && (b->raw_exactly_once || runs > 2 || runs < (down ? 0 : 1))) {
		s->double_applies++;
		fprintf(stderr, "%s sweep, point %ld: the audit step ran %ld times\n", s->mode, n, runs);
	}
	if (rc == 0 && strcmp(dump, ref) == 0)
		s->converged++;
	free(dump);
}

/* The reference: an uninterrupted run on a fresh database (and down, when `down`). */
static char *reference(const conf_backend *b, int down)
{
	char *url = fresh_seeded(b, "ref"), *ref;
	migrate_error_t err;

	CHECK_OK(run_once(b, url, 0, &err), &err);
	if (down)
		CHECK_OK(run_once(b, url, 1, &err), &err);
	ref = b->dump(url);
	free(url);
	return ref;
}

static void check_sweep(const conf_backend *b, const sweep *s)
{
	report(b, s);
	CHECK(s->points > 0);
	CHECK_INT(s->converged, s->points);
	CHECK_INT(s->double_applies, 0);
	CHECK_INT(s->mismatches, 0);
	CHECK_INT(s->repairs, 0);
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v && *v ? atol(v) : dflt;
}

/* Failures: the N-th point of `kinds` returns an error; `down` sweeps a down after a full up. */
static void fail_sweep(unsigned kinds, const char *mode, int down)
{
	const conf_backend *b = conf_backend_get();
	char *ref = reference(b, down);
	long n, stride = env_long("MIGRATE_SWEEP_STRIDE", 1);
	sweep s;

	memset(&s, 0, sizeof s);
	s.mode = mode;
	for (n = 1;; n += stride) {
		char *url = fresh_seeded(b, "sweep");
		migrate_error_t err;
		long passed;
		int rc;
		if (down)
			CHECK_OK(run_once(b, url, 0, &err), &err);
		migrate__fault_arm(kinds, n, MIGRATE__FAULT_FAIL);
		rc = run_once(b, url, down, &err);
		passed = migrate__fault_passed();
		migrate__fault_arm(0, 0, MIGRATE__FAULT_FAIL);
		CHECK(passed >= 0); /* the library was built with MIGRATE_FAULT_INJECTION */
		if (passed < n) {
			/* The whole run passed fewer points: it was never faulted, and must have succeeded. */
			CHECK_OK(rc, &err);
			free(url);
			break;
		}
		s.points++;
		if (rc != 0 && err.message[0] == '\0') {
			fprintf(stderr, "%s sweep, point %ld: failed (%d) without a message\n", mode, n, rc);
			s.repairs++;
		}
		converge(b, url, ref, rc, down, n, &s);
		free(url);
	}
	free(ref);
	check_sweep(b, &s);
}

/* Kills: the process dies (SIGKILL) at the N-th point; a new process reruns. */
static void kill_sweep(unsigned kinds, const char *mode)
{
	const conf_backend *b = conf_backend_get();
	char *ref = reference(b, 0);
	long n, stride = env_long("MIGRATE_SWEEP_STRIDE", 1);
	sweep s;

	memset(&s, 0, sizeof s);
	s.mode = mode;
	for (n = 1;; n += stride) {
		char *url = fresh_seeded(b, "sweep");
		int status = 0;
		pid_t pid;
		fflush(NULL);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			migrate_error_t err;
			migrate__fault_arm(kinds, n, MIGRATE__FAULT_KILL);
			_exit(run_once(b, url, 0, &err) == 0 ? 0 : 1);
		}
		CHECK(waitpid(pid, &status, 0) == pid);
		if (!WIFSIGNALED(status)) {
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			free(url);
			break;
		}
		CHECK_INT(WTERMSIG(status), SIGKILL);
		s.points++;
		converge(b, url, ref, 1, 0, n, &s);
		free(url);
	}
	free(ref);
	check_sweep(b, &s);
}

TEST(fail_sweep_driver)
{
	fail_sweep(MIGRATE__FAULT_DRIVER | MIGRATE__FAULT_STMT | MIGRATE__FAULT_JOURNAL, "fail", 0);
}

TEST(fail_sweep_down)
{
	fail_sweep(MIGRATE__FAULT_DRIVER | MIGRATE__FAULT_STMT | MIGRATE__FAULT_JOURNAL, "fail-down", 1);
}

TEST(kill_sweep_driver)
{
	kill_sweep(MIGRATE__FAULT_DRIVER | MIGRATE__FAULT_STMT | MIGRATE__FAULT_JOURNAL, "kill");
}

TEST(alloc_sweep)
{
	fail_sweep(MIGRATE__FAULT_ALLOC, "alloc", 0);
}
