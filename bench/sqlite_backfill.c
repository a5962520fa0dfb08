/*
 * Backfill on SQLite: libmigrate's batched backfill against the single
 * UPDATE that does the same work, over N rows of a database file.
 *
 *   bench_sqlite_backfill [DIR] [--rounds N] [ROWS ...]
 *                         (default: /tmp, 3 rounds of 100000 and 1000000)
 *
 * The two expressions of the PostgreSQL benchmark: the length of a JSON
 * array column, and a count of matching rows in another table. For each,
 * the single UPDATE, libmigrate with batches sized to the 200 ms budget and
 * with fixed 1,000-row batches, on identical fresh copies of the table.
 * Printed: seconds, rows/s, throughput relative to the UPDATE, the longest
 * batch (its write transaction), the batches, and the peak resident memory
 * of the process that ran libmigrate (a child process of its own). As in
 * the PostgreSQL benchmark, the methods take turns for N rounds; seconds
 * and batches are medians, the longest batch and the memory the worst
 * round, and the ratio the median (and range) of the rounds' own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "backfill_run.h"

typedef bench_result_t result_t;

#define now_s bench_now_s
#define die bench_die

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

static result_t run_libmigrate(const char *dir, int expr, uint32_t batch_size)
{
	char path[700], url[720];

	fresh_copy(dir, path, sizeof path);
	snprintf(url, sizeof url, "sqlite:%s", path);
	return bench_run_backfill(url, backfill_json[expr], batch_size);
}

typedef struct method_ctx {
	const char *dir;
	int expr;
} method_ctx_t;

/* Method 0: the single UPDATE; 1: libmigrate sized by time; 2: in 1,000-row batches. */
static result_t run_method(void *payload, int method)
{
	const method_ctx_t *m = payload;

	return method == 0 ? run_single(m->dir, m->expr) : run_libmigrate(m->dir, m->expr, method == 1 ? 0 : 1000);
}

static void row(long rows, int expr, const char *method, const result_t *r, const bench_ratio_t *q)
{
	char rss[32] = "-";

	if (r->rss_kib)
		snprintf(rss, sizeof rss, "%ld", r->rss_kib);
	printf("| %ld | %s | %s | %.2f | %.0f | %.2fx (%.2f-%.2f) | %.1f | %ld | %s |\n", rows, expr_name[expr], method,
	       r->seconds, (double)rows / r->seconds, q->median, q->min, q->max, r->max_held_ms, r->batches, rss);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const char *const method_name[] = {"single UPDATE", "libmigrate, 200 ms batches",
						  "libmigrate, 1000-row batches"};
	long sizes[8] = {100000, 1000000};
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	char path[600];
	int nsizes, rounds = 3, i, expr, m;

	nsizes = bench_args(argc, argv, 2, sizes, 2, &rounds);
	printf("%d rounds each; seconds and batches: medians; the longest batch and peak RSS: the worst round; vs "
	       "UPDATE: the median (and range) of the rounds' own ratios\n\n",
	       rounds);
	printf("| rows | expression | method | seconds | rows/s | vs UPDATE | longest write txn ms | batches | peak RSS "
	       "KiB |\n|---:|---|---|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < nsizes; i++) {
		make_source(dir, sizes[i]);
		for (expr = 0; expr < 2; expr++) {
			static bench_result_t runs[3][BENCH_MAX_ROUNDS];
			method_ctx_t ctx = {dir, expr};

			bench_rounds(3, rounds, run_method, &ctx, runs);
			for (m = 0; m < 3; m++) {
				result_t r = bench_summary(runs[m], rounds);
				bench_ratio_t q = bench_paired(runs[0], runs[m], rounds);

				row(sizes[i], expr, method_name[m], &r, &q);
			}
		}
	}
	snprintf(path, sizeof path, "%s/bench_src.db", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/bench_run.db", dir);
	unlink(path);
	return 0;
}
