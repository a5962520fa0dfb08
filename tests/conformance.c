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
 *
 * The sweeps run the synthetic plan below and, through conf_seed_sweep(),
 * every seed plan of examples/plans on its driver, from its seed's data.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
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
		"{\"op\":\"create_table\",\"table\":\"scratch\",\"validate\":true,\"primary_key\":[\"id\"],"
		"\"columns\":["
		"{\"name\":\"id\",\"type\":\"integer\",\"nullable\":false},{\"name\":\"v\",\"type\":\"text\"}]}]},"
		"{\"id\":2,\"name\":\"columns\",\"steps\":["
		"{\"op\":\"add_column\",\"table\":\"items\",\"column\":{\"name\":\"n\",\"type\":\"integer\","
		"\"default\":{\"value\":0}}},"
		"{\"op\":\"add_column\",\"table\":\"items\",\"column\":{\"name\":\"label\",\"type\":\"text\"}},"
		"{\"op\":\"rename_column\",\"table\":\"items\",\"from\":\"status\",\"to\":\"state\"},"
		"{\"op\":\"create_index\",\"table\":\"items\",\"name\":\"items_state\",\"keys\":[{\"column\":\"state\"}]}]},"
		"{\"id\":3,\"name\":\"data\",\"steps\":["
		"{\"op\":\"map_values\",\"table\":\"items\",\"column\":\"state\",\"batch_size\":%d,%s\"map\":{\"a\":\"x\"}},"
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
		"%s"
		"{\"op\":\"drop_table\",\"table\":\"scratch\",\"keep\":\"scratch_dropped\"}]}]}";
	size_t n = sizeof fmt + strlen(b->bump_expr) + strlen(b->drop_expr) + strlen(b->audit_step) + 400;
	char *s = malloc(n);
	int batch = b->batch ? b->batch : 7;

	CHECK(s != NULL);
	/* Enums are optional: a store without typed values may refuse them. */
	const char *enum_step =
		b->no_enums ? "" : "{\"op\":\"create_enum\",\"name\":\"kind\",\"values\":[\"x\",\"b\",\"c\"]},";

	/* The old states are kept, so that the down sets each back exactly (restore). */
	const char *keep = b->no_keep ? "" : "\"keep\":\"items_state_kept\",";

	/* The dropped column is kept, so that the down adds it back with its values (restore). */
	const char *drop_label =
		b->no_keep
			? "{\"op\":\"drop_column\",\"table\":\"items\",\"column\":\"label\",\"down\":[{\"op\":"
			  "\"add_column\",\"table\":\"items\",\"column\":{\"name\":\"label\",\"type\":\"text\"}}]},"
			: "{\"op\":\"drop_column\",\"table\":\"items\",\"column\":\"label\",\"keep\":\"items_label_kept\","
			  "\"definition\":{\"name\":\"label\",\"type\":\"text\"}},";

	snprintf(s, n, fmt, batch, keep, batch, b->bump_expr, batch, b->drop_expr, batch, rows(b) / 3, b->audit_step,
		 enum_step, drop_label);
	return s;
}

/*
 * What a sweep runs: a plan (the synthetic one above, or a seed's plan file),
 * the data it starts from and the run's batch size.
 */
typedef struct scenario {
	const char *name;
	const char *plan_file; /* NULL: plan_json() */
	void (*seed)(const char *url);
	uint32_t batch_size;
	const char *const *canon;
	int audit;              /* the plan has the raw audit step, which must take effect exactly once */
	const char *plan_json;  /* NULL: plan_file's */
	uint32_t batch_time_ms; /* see conf_scenario */
	double ms_per_row;
	const char *(*fresh)(const char *tag);
	const char *const *reaches;
	long stride; /* of the sweep (0: 1), times MIGRATE_SWEEP_STRIDE's */
} scenario;

static void seed_synthetic(const char *url)
{
	conf_backend_get()->seed(url, rows(conf_backend_get()));
}

static const scenario synthetic = {.name = "conformance", .seed = seed_synthetic, .audit = 1};

static migrate_plan_t *load_plan(const scenario *sc, migrate_error_t *err)
{
	migrate_plan_t *plan = NULL;
	char *json;

	if (sc->plan_json)
		return migrate_plan_load_json(&plan, sc->plan_json, err) == 0 ? plan : NULL;
	if (sc->plan_file) {
		char path[1024];
		snprintf(path, sizeof path, "%s/examples/plans/%s", MIGRATE_SOURCE_DIR, sc->plan_file);
		return migrate_plan_load_file(&plan, path, err) == 0 ? plan : NULL;
	}
	json = plan_json(conf_backend_get());
	if (migrate_plan_load_json(&plan, json, err) != 0)
		plan = NULL;
	free(json);
	return plan;
}

/* One run of up (or down to 0) from scratch: load, open, run, close. */
static int run_once(const scenario *sc, const char *url, int down, migrate_error_t *err)
{
	migrate_run_options_t opts;
	migrate_plan_t *plan;
	migrate_target_t *t = NULL;
	int rc;

	memset(err, 0, sizeof *err);
	if (!(plan = load_plan(sc, err)))
		return err->code ? err->code : MIGRATE_ENOMEM;
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	opts.batch_size = sc->batch_size;
	opts.batch_time_ms = sc->batch_time_ms;
	migrate__fault_clock(sc->ms_per_row);
	rc = migrate_target_open(&t, url, err);
	if (rc == 0)
		rc = down ? migrate_down(t, plan, 0, &opts, err) : migrate_up(t, plan, 0, &opts, err);
	migrate__fault_clock(0);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	return rc;
}

static char *fresh_seeded(const scenario *sc, const char *tag)
{
	char *url = strdup(sc->fresh ? sc->fresh(tag) : conf_backend_get()->fresh(tag));

	CHECK(url != NULL);
	if (sc->seed)
		sc->seed(url);
	return url;
}

static char *dump(const scenario *sc, const char *url)
{
	return conf_backend_get()->dump(url, sc->canon);
}

/* ---- scenarios --------------------------------------------------------- */

/* The plan validates on this driver and every step has a computed or given down. */
TEST(plan_valid)
{
	migrate_error_t err;
	migrate_plan_t *plan = load_plan(&synthetic, &err);
	char *url = fresh_seeded(&synthetic, "valid"), *out = NULL, *before = dump(&synthetic, url), *after;
	migrate_target_t *t = NULL;

	CHECK(plan != NULL);
	CHECK_OK(migrate_target_open(&t, url, &err), &err);
	CHECK_OK(migrate_render(t, plan, 0, &out, &err), &err);
	CHECK_HAS(out, "-- version 1");
	CHECK_HAS(out, "-- version 5");
	CHECK_HAS(out, "items_n");
	migrate_free(out);
	migrate_target_close(t);
	after = dump(&synthetic, url);
	CHECK_STR(after, before); /* render writes nothing */
	free(before);
	free(after);
	free(url);
	migrate_plan_destroy(plan);
}

/*
 * A drop_table that keeps loses nothing: the table with its rows is under
 * the kept name after up (drift detection agrees), and down gives back the
 * database as it was, row for row.
 */
TEST(drop_table_keep)
{
	static const char json[] = "{\"plan\":\"keep\",\"versions\":[{\"id\":1,\"name\":\"drop\",\"steps\":["
				   "{\"op\":\"drop_table\",\"table\":\"legacy\",\"keep\":\"legacy_dropped\"}]}]}";
	char *url = fresh_seeded(&synthetic, "dropkeep"), *before = dump(&synthetic, url), *mid, *after;
	migrate_schema_report_t *r = NULL;
	int rc;
	migrate_plan_t *plan = NULL;
	migrate_target_t *t = NULL;
	migrate_error_t err;

	CHECK_OK(migrate_plan_load_json(&plan, json, &err), &err);
	CHECK_OK(migrate_target_open(&t, url, &err), &err);
	/* Handed to an in-tree driver as it is (no engine path does), it is refused, never run as a drop. */
	if (!strcmp(t->driver->name, "sqlite") || !strcmp(t->driver->name, "postgres") ||
	    !strcmp(t->driver->name, "mongo")) {
		CHECK_INT(t->driver->check_step(t->conn, plan->versions[0]->steps[0], &err), MIGRATE_EINTERNAL);
		CHECK_HAS(err.message, "a drop_table that keeps");
	}
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	mid = dump(&synthetic, url);
	CHECK(strstr(mid, "legacy_dropped") != NULL);
	/* Drift detection, where the driver has it, agrees: the model renamed the table too. */
	rc = migrate_check_schema(t, plan, &r, &err);
	if (rc != MIGRATE_EUNSUPPORTED) {
		CHECK_OK(rc, &err);
		CHECK_INT(migrate_schema_report_count(r), 0);
		migrate_schema_report_destroy(r);
	}
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	after = dump(&synthetic, url);
	CHECK_STR(after, before);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	free(before);
	free(mid);
	free(after);
	free(url);
}

/* up, then down to nothing: the database is as it was before the plan. */
TEST(up_down_roundtrip)
{
	const conf_backend *b = conf_backend_get();
	char *url = fresh_seeded(&synthetic, "roundtrip"), *before = dump(&synthetic, url), *mid, *after;
	migrate_error_t err;

	CHECK_OK(run_once(&synthetic, url, 0, &err), &err);
	mid = dump(&synthetic, url);
	CHECK(strcmp(mid, before) != 0);
	CHECK_INT(b->audit_runs(url), 1);
	CHECK_OK(run_once(&synthetic, url, 0, &err), &err); /* up to date: nothing runs again */
	after = dump(&synthetic, url);
	CHECK_STR(after, mid);
	CHECK_INT(b->audit_runs(url), 1);
	free(after);
	CHECK_OK(run_once(&synthetic, url, 1, &err), &err);
	after = dump(&synthetic, url);
	CHECK_STR(after, before);
	CHECK_INT(b->audit_runs(url), 0);
	free(before);
	free(mid);
	free(after);
	free(url);
}

typedef struct nested {
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
	plan = load_plan(&synthetic, &err);
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
	char *url = fresh_seeded(&synthetic, "lock");
	migrate_run_options_t opts;
	migrate_error_t err;
	migrate_target_t *t = NULL;
	migrate_plan_t *plan = load_plan(&synthetic, &err);
	nested n;

	memset(&n, 0, sizeof n);
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

#define STORE_FAULTS (MIGRATE__FAULT_DRIVER | MIGRATE__FAULT_STMT | MIGRATE__FAULT_JOURNAL)

typedef struct sweep {
	const scenario *sc;
	const char *mode;
	long points, converged, absorbed, reruns, double_applies, mismatches, repairs;
	double seconds;
	long reached[CONF_REACHES_MAX]; /* per entry of sc->reaches: the log lines that held it */
} sweep;

/* Counts the log lines holding each of the scenario's `reaches`. */
static void count_reaches(int level, const char *message, void *payload)
{
	sweep *s = payload;
	int i;

	(void)level;
	for (i = 0; i < CONF_REACHES_MAX && s->sc->reaches[i]; i++)
		if (strstr(message, s->sc->reaches[i]))
			s->reached[i]++;
}

/* Each of the scenario's `reaches` was logged (printing how often). */
static int reaches_ok(const sweep *s)
{
	int i, ok = 1;

	for (i = 0; i < CONF_REACHES_MAX && s->sc->reaches[i]; i++) {
		printf("  %ld log lines with \"%s\"\n", s->reached[i], s->sc->reaches[i]);
		if (s->reached[i] == 0) {
			fprintf(stderr, "%s %s sweep: no run logged \"%s\"\n", s->sc->name, s->mode, s->sc->reaches[i]);
			ok = 0;
		}
	}
	fflush(stdout);
	return ok;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints the sweep's counts; true when every point converged with nothing lost, doubled or repaired. */
static int sweep_ok(const sweep *s)
{
	const char *report = getenv("MIGRATE_SWEEP_REPORT");
	char line[600];
	FILE *f;

	snprintf(line, sizeof line,
		 "conformance %s %s %s sweep: %ld fault points, %ld converged (%ld absorbed by the run, %ld after a "
		 "rerun), %ld double applies, %ld lost or wrong rows, %ld repairs needed; %.1f s\n",
		 conf_backend_get()->name, s->sc->name, s->mode, s->points, s->converged, s->absorbed, s->reruns,
		 s->double_applies, s->mismatches, s->repairs, s->seconds);
	fputs(line, stdout);
	fflush(stdout);
	/* scripts/test.sh collects every sweep's line into one report. */
	if (report && *report && (f = fopen(report, "a")) != NULL) {
		fputs(line, f);
		fclose(f);
	}
	return s->points > 0 && s->converged == s->points && s->double_applies == 0 && s->mismatches == 0 &&
	       s->repairs == 0;
}

/* After the faulted run: rerun without faults, then compare with the reference. */
static void converge(const char *url, const char *ref, int first_rc, int down, long n, sweep *s)
{
	const scenario *sc = s->sc;
	migrate_error_t err;
	char *got;
	long runs;
	int rc = 0;

	if (first_rc == 0)
		s->absorbed++;
	else if ((rc = run_once(sc, url, down, &err)) != 0) {
		s->repairs++;
		fprintf(stderr, "%s %s sweep, point %ld: the rerun failed (%d): %s\n", sc->name, s->mode, n, rc,
			err.message);
	} else
		s->reruns++;
	got = dump(sc, url);
	if (strcmp(got, ref) != 0) {
		s->mismatches++;
		fprintf(stderr,
			"%s %s sweep, point %ld: the state differs from an uninterrupted run's\n--- got\n%s\n--- "
			"expected\n%s\n",
			sc->name, s->mode, n, got, ref);
	}
	if (sc->audit) {
		const conf_backend *b = conf_backend_get();
		runs = b->audit_runs(url);
		if (runs != (down ? 0 : 1) && (b->raw_exactly_once || runs > 2 || runs < (down ? 0 : 1))) {
			s->double_applies++;
			fprintf(stderr, "%s %s sweep, point %ld: the audit step ran %ld times\n", sc->name, s->mode, n,
				runs);
		}
	}
	if (rc == 0 && strcmp(got, ref) == 0)
		s->converged++;
	free(got);
}

/* The reference: an uninterrupted run on a fresh database (and down, when `down`). */
static char *reference(const scenario *sc, int down)
{
	char *url = fresh_seeded(sc, "ref"), *ref;
	migrate_error_t err;

	CHECK_OK(run_once(sc, url, 0, &err), &err);
	if (down)
		CHECK_OK(run_once(sc, url, 1, &err), &err);
	ref = dump(sc, url);
	free(url);
	return ref;
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v && *v ? atol(v) : dflt;
}

/* Failures: the N-th point of `kinds` returns an error; `down` sweeps a down after a full up. */
static int fail_sweep(const scenario *sc, unsigned kinds, const char *mode, int down)
{
	char *ref = reference(sc, down);
	long n, stride = env_long("MIGRATE_SWEEP_STRIDE", 1) * (sc->stride > 0 ? sc->stride : 1);
	double start = now_seconds();
	sweep s;

	/* The store's points, one by one: every path the scenario is meant for is gone through. */
	int ok, reach = sc->reaches && kinds == STORE_FAULTS && stride == 1;

	memset(&s, 0, sizeof s);
	s.sc = sc;
	s.mode = mode;
	if (reach)
		migrate_log_set_handler(count_reaches, &s);
	for (n = 1;; n += stride) {
		char *url = fresh_seeded(sc, "sweep");
		migrate_error_t err;
		long passed;
		int rc;
		if (down)
			CHECK_OK(run_once(sc, url, 0, &err), &err);
		migrate__fault_arm(kinds, n, MIGRATE__FAULT_FAIL);
		rc = run_once(sc, url, down, &err);
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
			fprintf(stderr, "%s %s sweep, point %ld: failed (%d) without a message\n", sc->name, mode, n,
				rc);
			s.repairs++;
		}
		converge(url, ref, rc, down, n, &s);
		free(url);
	}
	if (reach)
		migrate_log_set_handler(NULL, NULL);
	free(ref);
	s.seconds = now_seconds() - start;
	ok = sweep_ok(&s);
	return (!reach || reaches_ok(&s)) && ok;
}

/* Kills: the process dies (SIGKILL) at the N-th point; a new process reruns. */
static int kill_sweep(const scenario *sc, unsigned kinds, const char *mode)
{
	char *ref = reference(sc, 0);
	long n, stride = env_long("MIGRATE_SWEEP_STRIDE", 1) * (sc->stride > 0 ? sc->stride : 1);
	double start = now_seconds();
	sweep s;

	memset(&s, 0, sizeof s);
	s.sc = sc;
	s.mode = mode;
	for (n = 1;; n += stride) {
		char *url = fresh_seeded(sc, "sweep");
		int status = 0;
		pid_t pid;
		fflush(NULL);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			migrate_error_t err;
			migrate__fault_arm(kinds, n, MIGRATE__FAULT_KILL);
			_exit(run_once(sc, url, 0, &err) == 0 ? 0 : 1);
		}
		CHECK(waitpid(pid, &status, 0) == pid);
		if (!WIFSIGNALED(status)) {
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			free(url);
			break;
		}
		CHECK_INT(WTERMSIG(status), SIGKILL);
		s.points++;
		converge(url, ref, 1, 0, n, &s);
		free(url);
	}
	free(ref);
	s.seconds = now_seconds() - start;
	return sweep_ok(&s);
}

TEST(fail_sweep_driver)
{
	CHECK(fail_sweep(&synthetic, STORE_FAULTS, "fail", 0));
}

TEST(fail_sweep_down)
{
	CHECK(fail_sweep(&synthetic, STORE_FAULTS, "fail-down", 1));
}

TEST(kill_sweep_driver)
{
	CHECK(kill_sweep(&synthetic, STORE_FAULTS, "kill"));
}

TEST(alloc_sweep)
{
	CHECK(fail_sweep(&synthetic, MIGRATE__FAULT_ALLOC, "alloc", 0));
}

/*
 * Drift detection on every driver: after up, the synthetic plan's schema
 * (a raw step included) reports nothing, and a failure at each of its
 * fault points (an allocation, the catalog read, a statement) is a clean
 * error with a message, never a crash, a leak or a half-made report.
 */
TEST(check_schema_faults)
{
	char *url = fresh_seeded(&synthetic, "drift");
	migrate_schema_report_t *r = NULL;
	migrate_plan_t *plan;
	migrate_target_t *t = NULL;
	migrate_error_t err;
	long n, passed = 0;
	int rc;

	CHECK_OK(run_once(&synthetic, url, 0, &err), &err);
	CHECK((plan = load_plan(&synthetic, &err)) != NULL);
	CHECK_OK(migrate_target_open(&t, url, &err), &err);
	rc = migrate_check_schema(t, plan, &r, &err);
	if (rc == MIGRATE_EUNSUPPORTED) { /* a driver without schema_read */
		CHECK_HAS(err.message, "drift detection is not supported");
		CHECK(r == NULL);
	} else {
		CHECK_OK(rc, &err);
		CHECK_INT(migrate_schema_report_count(r), 0);
		CHECK(migrate_schema_report_partial(r) > 0); /* the raw audit step */
		migrate_schema_report_destroy(r);
		for (n = 1; passed >= n - 1; n++) {
			r = NULL;
			memset(&err, 0, sizeof err);
			migrate__fault_arm(MIGRATE__FAULT_ALL & ~MIGRATE__FAULT_JOURNAL, n, MIGRATE__FAULT_FAIL);
			rc = migrate_check_schema(t, plan, &r, &err);
			passed = migrate__fault_passed();
			migrate__fault_arm(0, 0, MIGRATE__FAULT_FAIL);
			CHECK(passed >= 0);
			if (passed < n) {
				CHECK_OK(rc, &err); /* never faulted */
				CHECK_INT(migrate_schema_report_count(r), 0);
			} else {
				CHECK(rc != 0 && r == NULL && err.message[0] != '\0');
			}
			migrate_schema_report_destroy(r);
		}
	}
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	free(url);
}

static int sweep_mode(const scenario *sc, int mode)
{
	if (mode == CONF_SWEEP_KILL)
		return kill_sweep(sc, STORE_FAULTS, "kill");
	if (mode == CONF_SWEEP_ALLOC)
		return fail_sweep(sc, MIGRATE__FAULT_ALLOC, "alloc", 0);
	return fail_sweep(sc, STORE_FAULTS, "fail", 0);
}

/* A seed plan from its seed's data (see conf_seed): the fail, kill or allocation sweep. */
int conf_seed_sweep(const conf_seed *seed, int mode)
{
	scenario sc = {.name = seed->plan_file,
		       .plan_file = seed->plan_file,
		       .seed = seed->seed,
		       .batch_size = seed->batch_size,
		       .canon = seed->canon};

	return sweep_mode(&sc, mode);
}

int conf_scenario_sweep(const conf_scenario *cs, int mode)
{
	scenario sc = {.name = cs->name,
		       .plan_json = cs->plan_json,
		       .seed = cs->seed,
		       .batch_time_ms = cs->batch_time_ms,
		       .ms_per_row = cs->ms_per_row,
		       .fresh = cs->fresh,
		       .reaches = cs->reaches,
		       .stride = mode == CONF_SWEEP_ALLOC ? cs->alloc_stride : 1};

	return sweep_mode(&sc, mode);
}
