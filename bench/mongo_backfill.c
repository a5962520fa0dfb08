/*
 * Counter backfill on MongoDB (FerretDB): libmigrate's batched backfill
 * against the per-document loop of seed 000 section 3.3 (find every job,
 * then one update per job), over N documents in the seed's shape.
 *
 *   bench_mongo_backfill URL [--write N ...] [--noop N ...] [--rss N ...]
 *
 * URL is mongodb://host:port (databases bench_* are created and dropped).
 * --write N: both on N documents whose counters must all be written
 *            (default 2000 5000 10000).
 * --noop N:  both on N documents whose counters already hold the right
 *            values, so that the server finds each document but writes
 *            nothing; this is how memory is measured on collections of
 *            100,000 and 1,000,000 documents (default 100000 1000000; the
 *            per-document loop only up to 100,000).
 * --rss N:   libmigrate alone on N documents with 10-document batches,
 *            canceled after 2 batches: peak resident memory once it reads a
 *            collection of N documents through its cursor (default 100000
 *            1000000), for servers on which a whole run over N documents
 *            takes too long (FerretDB 1.24: each document update scans the
 *            collection).
 * Printed per run: seconds, documents/s, libmigrate's speed relative to the
 * loop, and the peak resident memory of the process that ran it (each run
 * is a child process of its own).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <migrate/migrate.h>
#include <mongoc/mongoc.h>

typedef struct result {
	double seconds;
	long rss_kib;
	int ok;
} result_t;

static const char *server;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_mongo_backfill: %s: %s\n", what, msg);
	exit(1);
}

static void quiet_log(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
	if (level <= MONGOC_LOG_LEVEL_WARNING && !strstr(message, "endSessions"))
		mongoc_log_default_handler(level, domain, message, data);
}

static mongoc_client_t *client(void)
{
	mongoc_client_t *c = mongoc_client_new(server);

	if (!c)
		die("client", server);
	mongoc_client_set_error_api(c, 2);
	return c;
}

static void drop_db(mongoc_client_t *c, const char *db)
{
	bson_t *cmd = BCON_NEW("dropDatabase", BCON_INT32(1));
	bson_error_t e;

	if (!mongoc_client_command_simple(c, db, cmd, NULL, NULL, &e))
		die("dropDatabase", e.message);
	bson_destroy(cmd);
}

/* Jobs in the old shape: tool_ids of 0..4 ids (missing for every 5th), tool_failure_ids null or 0..1. */
static void fill(mongoc_client_t *c, const char *db, long n, int with_counters)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(c, db, "jobs");
	bson_error_t e;
	long i = 0;

	while (i < n) {
		mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(coll, NULL);
		bson_t reply;
		for (long k = 0; k < 10000 && i < n; k++, i++) {
			bson_t doc = BSON_INITIALIZER, arr;
			char buf[48], key[16];
			const char *ks;
			int tools = i % 5 == 4 ? 0 : (int)(i % 5), failed = i % 3 == 0 ? 0 : (int)(i % 2);
			snprintf(buf, sizeof buf, "job_%08ld", i);
			BSON_APPEND_UTF8(&doc, "job_id", buf);
			BSON_APPEND_UTF8(&doc, "user_id", "user_1");
			BSON_APPEND_UTF8(&doc, "status", "completed");
			if (i % 5 != 4) {
				bson_append_array_begin(&doc, "tool_ids", -1, &arr);
				for (int t = 0; t < tools; t++) {
					bson_uint32_to_string((uint32_t)t, &ks, key, sizeof key);
					snprintf(buf, sizeof buf, "tool_%ld_%d", i, t);
					BSON_APPEND_UTF8(&arr, ks, buf);
				}
				bson_append_array_end(&doc, &arr);
			}
			if (i % 3 == 0) {
				BSON_APPEND_NULL(&doc, "tool_failure_ids");
			} else {
				bson_append_array_begin(&doc, "tool_failure_ids", -1, &arr);
				if (i % 2)
					BSON_APPEND_UTF8(&arr, "0", "failure");
				bson_append_array_end(&doc, &arr);
			}
			if (with_counters) {
				BSON_APPEND_INT32(&doc, "tools_completed", tools);
				BSON_APPEND_INT32(&doc, "tools_failed", failed);
				BSON_APPEND_INT32(&doc, "tools_in_progress", 0);
			}
			mongoc_bulk_operation_insert(bulk, &doc);
			bson_destroy(&doc);
		}
		if (!mongoc_bulk_operation_execute(bulk, &reply, &e))
			die("insert", e.message);
		bson_destroy(&reply);
		mongoc_bulk_operation_destroy(bulk);
	}
	mongoc_collection_destroy(coll);
}

static int64_t array_len(const bson_t *doc, const char *key)
{
	bson_iter_t it, a;
	int64_t n = 0;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_ARRAY(&it))
		return 0;
	bson_iter_recurse(&it, &a);
	while (bson_iter_next(&a))
		n++;
	return n;
}

/*
 * Seed 000, 3.3: db.jobs.find().forEach(job => db.jobs.updateOne({_id}, {$set: counters})).
 * The update is sent as an update with multi: true on {_id} (the same
 * document): FerretDB 1.24 leaks a connection per multi: false update and
 * stops answering after 100 of them on one connection.
 */
static void loop_child(const char *db)
{
	mongoc_client_t *c = client();
	mongoc_collection_t *coll = mongoc_client_get_collection(c, db, "jobs");
	bson_t empty = BSON_INITIALIZER;
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, &empty, NULL, NULL);
	const bson_t *doc;
	bson_error_t e;

	while (mongoc_cursor_next(cur, &doc)) {
		bson_iter_t id;
		bson_t sel = BSON_INITIALIZER, *upd;
		bson_iter_init_find(&id, doc, "_id");
		bson_append_iter(&sel, "_id", -1, &id);
		upd = BCON_NEW("$set", "{", "tools_completed", BCON_INT32((int32_t)array_len(doc, "tool_ids")),
			       "tools_failed", BCON_INT32((int32_t)array_len(doc, "tool_failure_ids")),
			       "tools_in_progress", BCON_INT32(0), "}");
		if (!mongoc_collection_update_many(coll, &sel, upd, NULL, NULL, &e))
			die("loop update", e.message);
		bson_destroy(upd);
		bson_destroy(&sel);
	}
	if (mongoc_cursor_error(cur, &e))
		die("loop find", e.message);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
}

static int rss_cancel;

/* --rss: stop after 2 batches. */
static int count_batches(const migrate_event_t *ev, void *payload)
{
	int *left = payload;

	return ev->type == MIGRATE_EVENT_PROGRESS && --*left <= 0;
}

static void migrate_child(const char *db)
{
	migrate_run_options_t opts;
	int left = 2, rc;
	char url[512];
	migrate_plan_t *p = NULL;
	migrate_version_t *v = NULL;
	migrate_target_t *t = NULL;
	migrate_error_t err;

	snprintf(url, sizeof url, "%s/%s", server, db);
	if (migrate_plan_new(&p, "bench", &err) || migrate_plan_add_version(p, 1, "counters", &v, &err) ||
	    migrate_version_add_step_json(v,
					  "{\"op\":\"backfill\",\"table\":\"jobs\",\"set\":{"
					  "\"tools_completed\":{\"array_length\":\"tool_ids\"},"
					  "\"tools_failed\":{\"array_length\":\"tool_failure_ids\"},"
					  "\"tools_in_progress\":{\"value\":0}}}",
					  NULL, &err) ||
	    migrate_target_open(&t, url, &err))
		die("libmigrate", err.message);
	migrate_run_options_init(&opts, MIGRATE_RUN_OPTIONS_VERSION);
	if (rss_cancel) {
		opts.batch_size = 10;
		opts.on_event = count_batches;
		opts.event_payload = &left;
	}
	rc = migrate_up(t, p, 0, &opts, &err);
	if (rc && !(rss_cancel && rc == MIGRATE_ECANCELED))
		die("libmigrate", err.message);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

/* Runs `fn` in a child process: its wall time and peak resident memory. */
static result_t run_child(void (*fn)(const char *), const char *db)
{
	result_t r = {0, 0, 0};
	struct rusage ru;
	int status = 0;
	double t0 = now_s();
	pid_t pid = fork();

	if (pid == 0) {
		fn(db);
		_exit(0);
	}
	wait4(pid, &status, 0, &ru);
	r.seconds = now_s() - t0;
	r.rss_kib = ru.ru_maxrss;
	r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	return r;
}

/* The counters are there on every job, with the expected values. */
static void verify(mongoc_client_t *c, const char *db, long n)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(c, db, "jobs");
	bson_t *q = BCON_NEW("tools_in_progress", BCON_INT32(0));
	bson_error_t e;
	int64_t k = mongoc_collection_count_documents(coll, q, NULL, NULL, NULL, &e);

	if (k != n)
		die("verify", "a job lacks its counters");
	bson_destroy(q);
	/* tools_completed is 3 for every i with i % 5 == 3. */
	q = BCON_NEW("tools_completed", BCON_INT32(3));
	k = mongoc_collection_count_documents(coll, q, NULL, NULL, NULL, &e);
	if (k != n / 5 + (n % 5 > 3))
		die("verify", "tools_completed is wrong");
	bson_destroy(q);
	mongoc_collection_destroy(coll);
}

static void bench_rss(long n)
{
	mongoc_client_t *c = client();
	result_t lib;

	drop_db(c, "bench_lib");
	fill(c, "bench_lib", n, 0);
	rss_cancel = 1;
	lib = run_child(migrate_child, "bench_lib");
	rss_cancel = 0;
	if (!lib.ok)
		die("libmigrate", "failed");
	drop_db(c, "bench_lib");
	printf("%-6s %9ld | %9s %10s %8s | %9.2f %10s %8ld | %7s  (10-document batches, canceled after 2)\n", "rss", n,
	       "-", "-", "-", lib.seconds, "-", lib.rss_kib, "-");
	fflush(stdout);
	mongoc_client_destroy(c);
}

static void bench(long n, int noop, int with_loop)
{
	mongoc_client_t *c = client();
	result_t loop = {0, 0, 0}, lib;

	if (with_loop) {
		drop_db(c, "bench_loop");
		fill(c, "bench_loop", n, noop);
		loop = run_child(loop_child, "bench_loop");
		if (!loop.ok)
			die("loop", "failed");
		verify(c, "bench_loop", n);
		drop_db(c, "bench_loop");
	}
	drop_db(c, "bench_lib");
	fill(c, "bench_lib", n, noop);
	lib = run_child(migrate_child, "bench_lib");
	if (!lib.ok)
		die("libmigrate", "failed");
	verify(c, "bench_lib", n);
	drop_db(c, "bench_lib");
	if (with_loop)
		printf("%-6s %9ld | %9.2f %10.0f %8ld | %9.2f %10.0f %8ld | %6.2fx\n", noop ? "noop" : "write", n,
		       loop.seconds, n / loop.seconds, loop.rss_kib, lib.seconds, n / lib.seconds, lib.rss_kib,
		       loop.seconds / lib.seconds);
	else
		printf("%-6s %9ld | %9s %10s %8s | %9.2f %10.0f %8ld | %7s\n", noop ? "noop" : "write", n, "-", "-",
		       "-", lib.seconds, n / lib.seconds, lib.rss_kib, "-");
	fflush(stdout);
	mongoc_client_destroy(c);
}

int main(int argc, char **argv)
{
	long writes[32] = {2000, 5000, 10000}, noops[32] = {100000, 1000000}, rss[32] = {100000, 1000000};
	int nw = 3, nn = 2, nr = 2, mode = 0, given_w = 0, given_n = 0, given_r = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s mongodb://host:port [--write N ...] [--noop N ...]\n", argv[0]);
		return 2;
	}
	server = argv[1];
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--write")) {
			mode = 1;
			if (!given_w++)
				nw = 0;
		} else if (!strcmp(argv[i], "--noop")) {
			mode = 2;
			if (!given_n++)
				nn = 0;
		} else if (!strcmp(argv[i], "--rss")) {
			mode = 3;
			if (!given_r++)
				nr = 0;
		} else if (mode == 3 && nr < 32) {
			rss[nr++] = atol(argv[i]);
		} else if (mode == 1 && nw < 32) {
			writes[nw++] = atol(argv[i]);
		} else if (mode == 2 && nn < 32) {
			noops[nn++] = atol(argv[i]);
		}
	}
	if (given_w || given_n || given_r) {
		nw = given_w ? nw : 0;
		nn = given_n ? nn : 0;
		nr = given_r ? nr : 0;
	}
	mongoc_init();
	mongoc_log_set_handler(quiet_log, NULL);
	printf("counter backfill (seed 000, 3.3) on %s\n", server);
	printf("%-6s %9s | %-30s | %-30s | %s\n", "", "", "per-document loop", "libmigrate backfill", "speed");
	printf("%-6s %9s | %9s %10s %8s | %9s %10s %8s | %s\n", "kind", "docs", "seconds", "docs/s", "RSS KiB",
	       "seconds", "docs/s", "RSS KiB", "lib/loop");
	for (int i = 0; i < nw; i++)
		bench(writes[i], 0, 1);
	for (int i = 0; i < nn; i++)
		bench(noops[i], 1, noops[i] <= 100000);
	for (int i = 0; i < nr; i++)
		bench_rss(rss[i]);
	return 0;
}
