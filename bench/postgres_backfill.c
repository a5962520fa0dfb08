/*
 * Counter backfill on PostgreSQL: libmigrate's batched backfill against the
 * single server-side UPDATE that does the same work, over N rows.
 *
 *   bench_postgres_backfill URL [--rounds N] [ROWS ...]
 *                               (default: 3 rounds of 100000 and 1000000)
 *
 * Two expressions, as in seed 000's counters: the length of a JSON array
 * column, and a count of matching rows in another table. For each, the
 * single UPDATE, libmigrate with batches sized to the 200 ms budget, and
 * libmigrate with fixed 1,000-row batches run on identical fresh copies of
 * the table. Printed: seconds, rows/s, throughput relative to the UPDATE
 * and to the same work cut by hand into key ranges, the longest time one
 * transaction held its row locks, the number of batches, and the peak
 * resident memory of the process that ran libmigrate (each libmigrate run
 * is a child process of its own). Each method runs N rounds, the methods
 * taking turns in an order that rotates each round (so that a slow moment
 * of the machine does not fall on one method); seconds and batches are the
 * medians, the longest lock and the memory the worst of any round, and a
 * ratio is the median of the rounds' own ratios, with their range: on a
 * shared host the same UPDATE takes 4 s in one minute and 6 s in the next,
 * and a ratio of two medians taken minutes apart measures that instead.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include "backfill_run.h"

typedef bench_result_t result_t;

#define now_s bench_now_s
#define die bench_die

static void exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		die(sql, PQerrorMessage(c));
	PQclear(r);
}

/* The source rows, made once per size: tags arrays of 0..7 elements; events pointing at items. */
static void make_source(PGconn *c, long rows)
{
	char sql[600];

	exec(c, "DROP TABLE IF EXISTS bench_src, bench_events");
	snprintf(sql, sizeof sql,
		 "CREATE TABLE bench_src AS SELECT g::bigint AS id, (SELECT coalesce(jsonb_agg(x), '[]') FROM "
		 "generate_series(1, g %% 8) x) AS tags FROM generate_series(1, %ld) g",
		 rows);
	exec(c, sql);
	snprintf(sql, sizeof sql,
		 "CREATE TABLE bench_events AS SELECT g::bigint AS id, 1 + (g::bigint * 7919) %% %ld AS item "
		 "FROM generate_series(1, %ld) g",
		 rows, rows * 2);
	exec(c, sql);
	exec(c, "ALTER TABLE bench_events ADD PRIMARY KEY (id)");
	exec(c, "CREATE INDEX bench_events_item ON bench_events (item)");
	/* Both vacuumed now: autovacuum would otherwise visit them during the first runs. */
	exec(c, "VACUUM ANALYZE bench_src, bench_events");
}

/* A fresh copy of the table to update, vacuumed and analysed, autovacuum off. */
static void fresh_copy(PGconn *c)
{
	exec(c, "DROP TABLE IF EXISTS bench_items");
	exec(c, "CREATE TABLE bench_items WITH (autovacuum_enabled = off) AS "
		"SELECT id, tags, NULL::integer AS n, NULL::bigint AS hits FROM bench_src");
	exec(c, "ALTER TABLE bench_items ADD PRIMARY KEY (id)");
	exec(c, "VACUUM ANALYZE bench_items");
	exec(c, "DELETE FROM _migrate_history");
	exec(c, "CHECKPOINT");
}

static const char *const single_sql[] = {
	"UPDATE bench_items SET n = CASE WHEN jsonb_typeof(tags) = 'array' THEN jsonb_array_length(tags) ELSE 0 END",
	"UPDATE bench_items SET hits = (SELECT count(*) FROM bench_events e WHERE e.item = bench_items.id)",
};

static const char *const backfill_json[] = {
	"{\"op\":\"backfill\",\"table\":\"bench_items\",\"set\":{\"n\":{\"array_length\":\"tags\"}},\"down\":[]}",
	"{\"op\":\"backfill\",\"table\":\"bench_items\",\"set\":{\"hits\":{\"count\":{\"table\":\"bench_events\","
	"\"match\":{\"item\":\"id\"}}}},\"down\":[]}",
};
static const char *const expr_name[] = {"array_length", "count(other)"};

static result_t run_single(PGconn *c, int expr)
{
	result_t r = {0, 0, 1, 0};
	double t0;

	fresh_copy(c);
	t0 = now_s();
	exec(c, single_sql[expr]);
	r.seconds = now_s() - t0;
	r.max_held_ms = r.seconds * 1000; /* one statement holds every row lock until it ends */
	return r;
}

/* The single UPDATE cut by hand into key ranges of HAND_ROWS rows, one transaction each. */
#define HAND_ROWS 20000
static result_t run_hand(PGconn *c, int expr, long rows)
{
	result_t r = {0, 0, 0, 0};
	char sql[400], lo[24], hi[24];
	const char *values[2] = {lo, hi};
	double t0, b0, held;
	long from;

	fresh_copy(c);
	snprintf(sql, sizeof sql, "%s WHERE id > $1::bigint AND id <= $2::bigint", single_sql[expr]);
	t0 = now_s();
	for (from = 0; from < rows; from += HAND_ROWS) {
		PGresult *res;

		snprintf(lo, sizeof lo, "%ld", from);
		snprintf(hi, sizeof hi, "%ld", from + HAND_ROWS);
		b0 = now_s();
		exec(c, "BEGIN");
		res = PQexecParams(c, sql, 2, NULL, values, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			die(sql, PQerrorMessage(c));
		PQclear(res);
		exec(c, "COMMIT");
		held = (now_s() - b0) * 1000;
		if (held > r.max_held_ms)
			r.max_held_ms = held;
		r.batches++;
	}
	r.seconds = now_s() - t0;
	return r;
}

static result_t run_libmigrate(PGconn *c, const char *url, int expr, uint32_t batch_size)
{
	fresh_copy(c);
	return bench_run_backfill(url, backfill_json[expr], batch_size);
}

/* Every row was written: a method that skipped rows would look fast. */
static void verify(PGconn *c, int expr)
{
	PGresult *r = PQexec(c, expr == 0 ? "SELECT count(*) FROM bench_items WHERE n IS NULL"
					  : "SELECT count(*) FROM bench_items WHERE hits IS NULL");

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		die("verify", PQerrorMessage(c));
	if (strcmp(PQgetvalue(r, 0, 0), "0") != 0)
		die("verify", "rows were left unwritten");
	PQclear(r);
}

typedef struct method_ctx {
	PGconn *c;
	const char *url;
	int expr;
	long rows;
} method_ctx_t;

/* Method 0: the single UPDATE; 1: libmigrate sized by time; 2: in 1,000-row batches; 3: by hand. */
static result_t run_method(void *payload, int method)
{
	const method_ctx_t *m = payload;
	result_t r = method == 0   ? run_single(m->c, m->expr)
		     : method == 3 ? run_hand(m->c, m->expr, m->rows)
				   : run_libmigrate(m->c, m->url, m->expr, method == 1 ? 0 : 1000);

	verify(m->c, m->expr);
	return r;
}

/* "1.02x (0.93-1.10)": the median of the rounds' ratios and their range; "-" for none. */
static void ratio_text(char *out, size_t size, const bench_ratio_t *q)
{
	if (q->median <= 0)
		snprintf(out, size, "-");
	else
		snprintf(out, size, "%.2fx (%.2f-%.2f)", q->median, q->min, q->max);
}

static void row(long rows, int expr, const char *method, const result_t *r, const bench_ratio_t *vs_single,
		const bench_ratio_t *vs_hand)
{
	char rss[32] = "-", single[48], hand[48];

	if (r->rss_kib)
		snprintf(rss, sizeof rss, "%ld", r->rss_kib);
	ratio_text(single, sizeof single, vs_single);
	ratio_text(hand, sizeof hand, vs_hand);
	printf("%-9ld %-13s %-27s %8.2f %10.0f %19s %19s %12.1f %8ld %10s\n", rows, expr_name[expr], method, r->seconds,
	       (double)rows / r->seconds, single, hand, r->max_held_ms, r->batches, rss);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	long sizes[8] = {100000, 1000000};
	int nsizes, rounds = 3, i, expr;
	PGconn *c;

	if (argc < 2) {
		fprintf(stderr, "usage: %s URL [--rounds N] [ROWS ...]\n", argv[0]);
		return 2;
	}
	nsizes = bench_args(argc, argv, 2, sizes, 2, &rounds);
	c = PQconnectdb(argv[1]);
	if (PQstatus(c) != CONNECTION_OK)
		die("connect", PQerrorMessage(c));
	exec(c, "SET client_min_messages = warning");
	exec(c, "CREATE TABLE IF NOT EXISTS _migrate_history (plan text, version numeric(20,0), name text, "
		"checksum text, state text NOT NULL, steps_done integer NOT NULL DEFAULT 0, checkpoint text, "
		"started_at timestamptz, finished_at timestamptz, duration_ms bigint, applied_by text, error text, "
		"lib_version text, PRIMARY KEY (plan, version))");
	printf("%d rounds each; seconds and batches: medians; max lock and peak RSS: the worst round;\n"
	       "vs UPD and vs hand: the median (and range) of the rounds' own ratios, throughput over the\n"
	       "single UPDATE's and over the hand-written batches' of the same round\n\n",
	       rounds);
	printf("%-9s %-13s %-27s %8s %10s %19s %19s %12s %8s %10s\n", "rows", "expression", "method", "seconds",
	       "rows/s", "vs UPD", "vs hand", "max lock ms", "batches", "peak RSS");
	printf("%-9s %-13s %-27s %8s %10s %19s %19s %12s %8s %10s\n", "", "", "", "", "", "", "", "(one txn)", "",
	       "KiB");
	for (i = 0; i < nsizes; i++) {
		make_source(c, sizes[i]);
		for (expr = 0; expr < 2; expr++) {
			static bench_result_t runs[4][BENCH_MAX_ROUNDS];
			method_ctx_t ctx = {c, argv[1], expr, sizes[i]};
			result_t single, hand, timed, fixed;
			bench_ratio_t q[6], none;

			bench_rounds(4, rounds, run_method, &ctx, runs);
			single = bench_summary(runs[0], rounds);
			hand = bench_summary(runs[3], rounds);
			timed = bench_summary(runs[1], rounds);
			fixed = bench_summary(runs[2], rounds);
			none = bench_paired(runs[0], runs[0], 0);
			q[0] = bench_paired(runs[0], runs[0], rounds);
			q[1] = bench_paired(runs[0], runs[3], rounds);
			q[2] = bench_paired(runs[0], runs[1], rounds);
			q[3] = bench_paired(runs[3], runs[1], rounds);
			q[4] = bench_paired(runs[0], runs[2], rounds);
			q[5] = bench_paired(runs[3], runs[2], rounds);
			row(sizes[i], expr, "single UPDATE", &single, &q[0], &none);
			row(sizes[i], expr, "by hand, 20000-row ranges", &hand, &q[1], &none);
			row(sizes[i], expr, "libmigrate, 200 ms batches", &timed, &q[2], &q[3]);
			row(sizes[i], expr, "libmigrate, 1000-row batches", &fixed, &q[4], &q[5]);
		}
	}
	exec(c, "DROP TABLE IF EXISTS bench_src, bench_events, bench_items");
	PQfinish(c);
	return 0;
}
