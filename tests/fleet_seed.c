/*
 * The fleet test's shared part (tests/fleet_seed.h): seed 000's plan, the
 * sums its data must end with, and the run and checks of the fleet.
 */
#include "fleet_seed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FLEET_PROCESSES 64
/* The sanitized tree runs ten times slower: it migrates a tenth of the rows. */
#define SANITIZED_SHARE 10

#if defined(__SANITIZE_ADDRESS__)
#define FLEET_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FLEET_SANITIZED 1
#endif
#endif

const char *const fleet_statuses[7] = {"pending",   "planning",  "searching", "implementing",
				       "executing", "completed", "failed"};

long fleet_seed_rows(const fleet_seed_driver_t *d)
{
	const char *rows = getenv("MIGRATE_FLEET_ROWS");

	if (rows && *rows) {
		char *end;
		long n = strtol(rows, &end, 10);
		if (*end || n <= 0)
			harness_fail(__FILE__, __LINE__, "MIGRATE_FLEET_ROWS=%s: not a positive number of rows", rows);
		return n;
	}
#ifdef FLEET_SANITIZED
	return d->rows / SANITIZED_SHARE;
#else
	return d->rows;
#endif
}

/* Why the line's rows are not the 200,000 (NULL: they are). */
static const char *fewer(const fleet_seed_driver_t *d)
{
	const char *rows = getenv("MIGRATE_FLEET_ROWS");

	if (rows && *rows)
		return "set by MIGRATE_FLEET_ROWS";
#ifdef FLEET_SANITIZED
	return "a tenth: sanitized build";
#else
	return d->fewer;
#endif
}

static migrate_plan_t *load_plan(const char *driver)
{
	char path[1200];
	migrate_plan_t *p = NULL;
	migrate_error_t err;

	snprintf(path, sizeof path, "%s/examples/plans/000_sessions_to_jobs.%s.json", MIGRATE_SOURCE_DIR, driver);
	CHECK_OK(migrate_plan_load_file(&p, path, &err), &err);
	return p;
}

migrate_plan_t *fleet_seed_sql_plan(void)
{
	return load_plan("sqlite");
}

migrate_plan_t *fleet_seed_mongo_plan(void)
{
	return load_plan("mongo");
}

void fleet_sql_sums(int64_t (*query)(void *conn, const char *sql), void *conn, fleet_sums_t *out)
{
	out->rows = query(conn, "SELECT count(*) FROM jobs");
	out->processing = query(conn, "SELECT count(*) FROM jobs WHERE status = 'processing'");
	out->old_statuses = query(conn, "SELECT count(*) FROM jobs WHERE status IN "
					"('pending', 'planning', 'searching', 'implementing', 'executing')");
	out->new_sessions = query(conn, "SELECT count(*) FROM sessions");
	out->completed = query(conn, "SELECT coalesce(sum(tools_completed), 0) FROM jobs");
	out->completed_by_id = query(conn, "SELECT coalesce(sum(id * tools_completed), 0) FROM jobs");
	out->failed = query(conn, "SELECT coalesce(sum(tools_failed), 0) FROM jobs");
	out->failed_by_id = query(conn, "SELECT coalesce(sum(id * tools_failed), 0) FROM jobs");
	out->in_progress = query(conn, "SELECT coalesce(sum(tools_in_progress), 0) FROM jobs");
}

/* What the plan makes of the formula's rows 1..n. */
static void expected_sums(int64_t n, fleet_sums_t *out)
{
	int64_t x;

	memset(out, 0, sizeof *out);
	out->rows = n;
	for (x = 1; x <= n; x++) {
		out->processing += x % 7 < 5;
		out->completed += FLEET_TOOLS(x);
		out->completed_by_id += x * FLEET_TOOLS(x);
		out->failed += FLEET_FAILURES(x);
		out->failed_by_id += x * FLEET_FAILURES(x);
	}
}

static void check_sums(const fleet_sums_t *got, const fleet_sums_t *want)
{
	CHECK_INT(got->rows, want->rows);
	CHECK_INT(got->processing, want->processing);
	CHECK_INT(got->old_statuses, 0);
	CHECK_INT(got->new_sessions, 0);
	CHECK_INT(got->completed, want->completed);
	CHECK_INT(got->completed_by_id, want->completed_by_id);
	CHECK_INT(got->failed, want->failed);
	CHECK_INT(got->failed_by_id, want->failed_by_id);
	CHECK_INT(got->in_progress, 0);
}

/* The history, read through the library: every version applied once, by the one process that migrated. */
static void check_history(const fleet_seed_driver_t *d, const char *url, const fleet_t *f, size_t versions)
{
	migrate_target_t *t = NULL;
	migrate_plan_t *plan = d->plan();
	migrate_status_t *st = NULL;
	migrate_error_t err;
	char by[32] = "";
	size_t i;

	for (i = 0; i < (size_t)f->processes; i++)
		if (f->reports[i].applied)
			snprintf(by, sizeof by, ":%ld", f->reports[i].pid);
	CHECK_OK(migrate_target_open(&t, url, &err), &err);
	CHECK_OK(migrate_status_get(t, plan, &st, &err), &err);
	CHECK_INT(migrate_status_count(st), versions);
	for (i = 0; i < versions; i++) {
		const migrate_status_entry_t *e = migrate_status_entry(st, i);
		const char *tail = e->applied_by ? strrchr(e->applied_by, ':') : NULL;

		CHECK_INT(e->state, MIGRATE_STATE_APPLIED);
		CHECK_INT(e->checksum_matches, 1);
		CHECK_STR(tail, by);
	}
	migrate_status_destroy(st);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
}

void fleet_seed_run(const fleet_seed_driver_t *d, const char *label, const char *url, const char *read_url,
		    int64_t lock_timeout_ms, fleet_figures_t *out)
{
	static fleet_t f;
	fleet_figures_t fig;
	fleet_sums_t got, want;
	migrate_plan_t *plan = d->plan();
	int versions = (int)migrate_plan_version_count(plan);
	long rows = fleet_seed_rows(d);
	int64_t before = 0;

	migrate_plan_destroy(plan);
	if (!read_url)
		read_url = url;
	memset(&f, 0, sizeof f);
	f.url = url;
	f.plan = d->plan;
	f.processes = FLEET_PROCESSES;
	f.lock_timeout_ms = lock_timeout_ms ? lock_timeout_ms : 120000;
	if (d->server_count)
		before = d->server_count(read_url);
	fleet_run(&f);
	fleet_check(&f, versions, &fig);
	if (d->server_count)
		fig.server = d->server_count(read_url) - before;
	check_history(d, url, &f, (size_t)versions);
	expected_sums(rows, &want);
	d->sums(read_url, &got);
	check_sums(&got, &want);
	CHECK_INT(d->locks_left(read_url), 0);
	fleet_print(label ? label : d->name, &f, versions, rows, fewer(d), &fig);
	if (out)
		*out = fig;
}
