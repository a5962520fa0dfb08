/*
 * Backfill on SQLite: libmigrate's batched backfill against the single
 * UPDATE that does the same work, over N rows of a database file.
 *
 *   bench_sqlite_backfill [DIR] [ROWS ...]     (default: /tmp, 100000 1000000)
 *
 * The two expressions of the PostgreSQL benchmark: the length of a JSON
 * array column, and a count of matching rows in another table. For each,
 * the single UPDATE, libmigrate with batches sized to the 200 ms budget and
 * with fixed 1,000-row batches, on identical fresh copies of the table.
 * Printed: seconds, rows/s, throughput relative to the UPDATE, the longest
 * batch (its write transaction), the batches, and the peak resident memory
 * of the process that ran libmigrate (a child process of its own).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <migrate/migrate.h>
#include <sqlite3.h>

typedef struct result {
	double seconds;
	double max_held_ms;
	long batches;
	long rss_kib;
} result_t;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_sqlite_backfill: %s: %s\n", what, msg);
	exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die(sql, msg ? msg : "failed");
}

/* The source rows in src.db, made once per size; each run copies them. */
static void make_source(const char *dir, long rows)
{
	char path[600], sql[800];
	sqlite3 *db;

	snprintf(path, sizeof path, "%s/bench_src.db", dir);
	unlink(path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die(path, sqlite3_errmsg(db));
	exec(db, "PRAGMA journal_mode = WAL");
	snprintf(sql, sizeof sql,
		 "CREATE TABLE bench_items (id INTEGER PRIMARY KEY, tags TEXT, n INTEGER, hits INTEGER);"
		 "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < %ld) "
		 "INSERT INTO bench_items (id, tags) SELECT i, (SELECT json_group_array(x) FROM (WITH RECURSIVE "
		 "s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < i %% 8) SELECT x FROM s WHERE i %% 8 > 0)) "
		 "FROM g;"
		 "CREATE TABLE bench_events (id INTEGER PRIMARY KEY, item INTEGER);"
		 "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < %ld) "
		 "INSERT INTO bench_events SELECT i, 1 + (i * 7919) %% %ld FROM g;"
		 "CREATE INDEX bench_events_item ON bench_events (item);",
		 rows, rows * 2, rows);
	exec(db, sql);
	sqlite3_close(db);
}

/* A fresh copy of the source database: the run's own. */
static void fresh_copy(const char *dir, char *path, size_t size)
{
	char src[600], sql[1300];
	sqlite3 *db;

	snprintf(src, sizeof src, "%s/bench_src.db", dir);
	snprintf(path, size, "%s/bench_run.db", dir);
	unlink(path);
	if (sqlite3_open(src, &db) != SQLITE_OK)
		die(src, sqlite3_errmsg(db));
	snprintf(sql, sizeof sql, "VACUUM INTO '%s'", path);
	exec(db, sql);
	sqlite3_close(db);
}

static const char *const single_sql[] = {
	"UPDATE bench_items SET n = CASE WHEN json_type(tags) = 'array' THEN json_array_length(tags) ELSE 0 END",
	"UPDATE bench_items SET hits = (SELECT count(*) FROM bench_events e WHERE e.item = bench_items.id)",
};

static const char *const backfill_json[] = {
	"{\"op\":\"backfill\",\"table\":\"bench_items\",\"set\":{\"n\":{\"array_length\":\"tags\"}},\"down\":[]}",
	"{\"op\":\"backfill\",\"table\":\"bench_items\",\"set\":{\"hits\":{\"count\":{\"table\":\"bench_events\","
	"\"match\":{\"item\":\"id\"}}}},\"down\":[]}",
};
static const char *const expr_name[] = {"array_length", "count(other)"};

static result_t run_single(const char *dir, int expr)
{
	result_t r = {0, 0, 1, 0};
	char path[700];
	sqlite3 *db;
	double t0;

	fresh_copy(dir, path, sizeof path);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die(path, sqlite3_errmsg(db));
	t0 = now_s();
	exec(db, single_sql[expr]);
	r.seconds = now_s() - t0;
	r.max_held_ms = r.seconds * 1000; /* one write transaction for every row */
	sqlite3_close(db);
	return r;
}

static int on_event(const migrate_event_t *ev, void *payload)
{
	result_t *r = payload;

	if (ev->type == MIGRATE_EVENT_STEP_END) {
		r->batches = ev->batches;
		r->max_held_ms = (double)ev->longest_batch_ms;
	}
	return 0;
}

/* Runs the backfill in a child process; its peak RSS comes back through wait4. */
static result_t run_libmigrate(const char *dir, int expr, uint32_t batch_size)
{
	result_t r = {0, 0, 0, 0};
	char path[700], url[720];
	struct rusage ru;
	int fds[2], status = 0;
	pid_t pid;

	fresh_copy(dir, path, sizeof path);
	snprintf(url, sizeof url, "sqlite:%s", path);
	if (pipe(fds) != 0)
		die("pipe", "failed");
	pid = fork();
	if (pid == 0) {
		migrate_target_t *t = NULL;
		migrate_plan_t *plan = NULL;
		migrate_version_t *v = NULL;
		migrate_run_options_t o;
		migrate_error_t err;
		double t0;
		close(fds[0]);
		if (migrate_target_open(&t, url, &err) || migrate_plan_new(&plan, "bench", &err) ||
		    migrate_plan_add_version(plan, 1, "backfill", &v, &err) ||
		    migrate_version_add_step_json(v, backfill_json[expr], NULL, &err))
			die("setup", err.message);
		migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
		o.batch_size = batch_size;
		o.on_event = on_event;
		o.event_payload = &r;
		t0 = now_s();
		if (migrate_up(t, plan, 0, &o, &err))
			die("migrate_up", err.message);
		r.seconds = now_s() - t0;
		if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r)
			_exit(2);
		migrate_plan_destroy(plan);
		migrate_target_close(t);
		_exit(0);
	}
	close(fds[1]);
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    read(fds[0], &r, sizeof r) != (ssize_t)sizeof r)
		die("libmigrate run", "the child failed");
	close(fds[0]);
	r.rss_kib = ru.ru_maxrss;
	return r;
}

static void row(long rows, int expr, const char *method, const result_t *r, double base)
{
	char rss[32] = "-";

	if (r->rss_kib)
		snprintf(rss, sizeof rss, "%ld", r->rss_kib);
	printf("| %ld | %s | %s | %.2f | %.0f | %.2fx | %.1f | %ld | %s |\n", rows, expr_name[expr], method, r->seconds,
	       (double)rows / r->seconds, base / r->seconds, r->max_held_ms, r->batches, rss);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	long sizes[8] = {100000, 1000000};
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	char path[600];
	int nsizes = 2, i, expr;

	if (argc > 2)
		for (nsizes = 0; nsizes < 8 && nsizes + 2 < argc; nsizes++)
			sizes[nsizes] = strtol(argv[nsizes + 2], NULL, 10);
	printf("| rows | expression | method | seconds | rows/s | vs UPDATE | longest write txn ms | batches | peak RSS "
	       "KiB |\n|---:|---|---|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < nsizes; i++) {
		make_source(dir, sizes[i]);
		for (expr = 0; expr < 2; expr++) {
			result_t single = run_single(dir, expr), timed, fixed;
			row(sizes[i], expr, "single UPDATE", &single, single.seconds);
			timed = run_libmigrate(dir, expr, 0);
			row(sizes[i], expr, "libmigrate, 200 ms batches", &timed, single.seconds);
			fixed = run_libmigrate(dir, expr, 1000);
			row(sizes[i], expr, "libmigrate, 1000-row batches", &fixed, single.seconds);
		}
	}
	snprintf(path, sizeof path, "%s/bench_src.db", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/bench_run.db", dir);
	unlink(path);
	return 0;
}
