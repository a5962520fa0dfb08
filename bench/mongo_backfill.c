/*
 * Counter backfill on MongoDB (FerretDB): libmigrate's backfill, in place
 * (MIGRATE_MONGO_REWRITE=0: batched updates by _id) and on the rewrite path
 * (=1: the collection copied with the new counters and swapped in), against
 * the per-document loop of seed 000 section 3.3 (find every job, then one
 * update per job) and the best hand-written script (one update_many per
 * array length and counter), over N documents in the seed's shape.
 *
 *   bench_mongo_backfill URL [--write N ...] [--noop N ...] [--rss N ...]
 *
 * URL is mongodb://host:port (databases bench_* are created and dropped).
 * --write N: every contender on N documents whose counters must all be
 *            written (default 2000 5000 10000).
 * --noop N:  every contender on N documents whose counters already hold
 *            the right values, so that the server finds each document but
 *            writes nothing (default 100000 1000000; the scripts only up to
 *            10,000).
 * --rss N:   libmigrate alone on N documents with 10-document batches,
 *            canceled after 2 batches: peak resident memory once it reads a
 *            collection of N documents through its cursor (default 100000
 *            1000000), for servers on which a whole run over N documents
 *            takes too long (FerretDB 1.24: each document update scans the
 *            collection).
 * Printed per run, as a table: seconds, documents/s, the commands its
 * client started (libmongoc command monitoring; libmigrate runs on a
 * borrowed client, so its lock-renewal thread's own client is not counted)
 * in all and per 1,000 documents, the peak resident memory of the process
 * that ran it (each run is a child process of its own), and its speed
 * relative to the faster script.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <migrate/migrate.h>
#include <migrate/mongo.h>
#include <mongoc/mongoc.h>

typedef struct result {
	double seconds;
	long rss_kib;
	long commands; /* started by the run's client; -1 unknown */
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

/*
 * fill() in a child process of its own. Every measured run is a child of
 * this process and starts with a copy of its memory, so a heap grown by
 * inserting N documents here would be counted in each run's peak resident
 * memory, as if libmigrate's memory grew with N.
 */
static void fill_apart(const char *db, long n, int with_counters)
{
	int status = 0;
	pid_t pid = fork();

	if (pid < 0)
		die("fork", "failed");
	if (pid == 0) {
		mongoc_client_t *c = client();

		fill(c, db, n, with_counters);
		mongoc_client_destroy(c);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("fill", "the inserting process failed");
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

/* ---- commands: every command the run's client starts (libmongoc APM) ---- */

static long commands;
static int result_fd = -1;

static void count_command(const mongoc_apm_command_started_t *ev)
{
	(void)ev;
	commands++;
}

/* A client that counts the commands it starts. */
static mongoc_client_t *counting_client(void)
{
	mongoc_client_t *c = client();
	mongoc_apm_callbacks_t *cb = mongoc_apm_callbacks_new();

	mongoc_apm_set_command_started_cb(cb, count_command);
	mongoc_client_set_apm_callbacks(c, cb, NULL);
	mongoc_apm_callbacks_destroy(cb);
	commands = 0;
	return c;
}

/* The child's command count, to its parent (run_child). */
static void report_commands(void)
{
	if (result_fd >= 0 && write(result_fd, &commands, sizeof commands) != (ssize_t)sizeof commands)
		_exit(3);
}

/*
 * Seed 000, 3.3: db.jobs.find().forEach(job => db.jobs.updateOne({_id}, {$set: counters})).
 * The update is sent as an update with multi: true on {_id} (the same
 * document): FerretDB 1.24 leaks a connection per multi: false update and
 * stops answering after 100 of them on one connection.
 */
static void loop_child(const char *db)
{
	mongoc_client_t *c = counting_client();
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
	report_commands();
	mongoc_client_destroy(c);
}

/* One update_many({filter}, {$set: {field: value}}). */
static void update_many(mongoc_collection_t *coll, bson_t *filter, const char *field, int32_t value)
{
	bson_t *upd = BCON_NEW("$set", "{", field, BCON_INT32(value), "}");
	bson_error_t e;

	if (!mongoc_collection_update_many(coll, filter, upd, NULL, NULL, &e))
		die("script update", e.message);
	bson_destroy(upd);
	bson_destroy(filter);
}

/*
 * The best hand-written script: one update_many per array length, for each
 * counter ({arr: {$size: k}} -> k, anything not an array -> 0), and one for
 * tools_in_progress; lengths probed with {arr.k: {$exists: true}} until none
 * is that long. Commands: about two per length and counter.
 */
static void script_child(const char *db)
{
	static const char *const arrays[] = {"tool_ids", "tool_failure_ids"};
	static const char *const counters[] = {"tools_completed", "tools_failed"};
	mongoc_client_t *c = counting_client();
	mongoc_collection_t *coll = mongoc_client_get_collection(c, db, "jobs");
	bson_error_t e;

	for (int a = 0; a < 2; a++) {
		update_many(coll, BCON_NEW(arrays[a], "{", "$not", "{", "$type", BCON_UTF8("array"), "}", "}"),
			    counters[a], 0);
		for (int32_t k = 0;; k++) {
			char path[64];
			bson_t *q;
			int64_t longer;
			update_many(coll, BCON_NEW(arrays[a], "{", "$size", BCON_INT32(k), "}"), counters[a], k);
			snprintf(path, sizeof path, "%s.%d", arrays[a], k);
			q = BCON_NEW(path, "{", "$exists", BCON_BOOL(true), "}");
			longer = mongoc_collection_count_documents(coll, q, NULL, NULL, NULL, &e);
			bson_destroy(q);
			if (longer < 0)
				die("script count", e.message);
			if (longer == 0)
				break;
		}
	}
	update_many(coll, bson_new(), "tools_in_progress", 0);
	mongoc_collection_destroy(coll);
	report_commands();
	mongoc_client_destroy(c);
}

static int rss_cancel;
static const char *rewrite_mode = "0";

/* --rss: stop after 2 batches. */
static int count_batches(const migrate_event_t *ev, void *payload)
{
	int *left = payload;

	return ev->type == MIGRATE_EVENT_PROGRESS && --*left <= 0;
}

/* libmigrate's backfill through a borrowed client, so that its commands are counted. */
static void migrate_child(const char *db)
{
	migrate_run_options_t opts;
	int left = 2, rc;
	mongoc_client_t *c;
	migrate_plan_t *p = NULL;
	migrate_version_t *v = NULL;
	migrate_target_t *t = NULL;
	migrate_error_t err;

	setenv("MIGRATE_MONGO_REWRITE", rewrite_mode, 1);
	c = counting_client();
	if (migrate_plan_new(&p, "bench", &err) || migrate_plan_add_version(p, 1, "counters", &v, &err) ||
	    migrate_version_add_step_json(v,
					  "{\"op\":\"backfill\",\"table\":\"jobs\",\"set\":{"
					  "\"tools_completed\":{\"array_length\":\"tool_ids\"},"
					  "\"tools_failed\":{\"array_length\":\"tool_failure_ids\"},"
					  "\"tools_in_progress\":{\"value\":0}}}",
					  NULL, &err) ||
	    migrate_target_open_mongo(&t, c, db, &err))
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
	report_commands();
	mongoc_client_destroy(c);
}

/* Runs `fn` in a child process: its wall time, peak resident memory and commands. */
static result_t run_child(void (*fn)(const char *), const char *db)
{
	result_t r = {0, 0, 0, 0};
	struct rusage ru;
	int status = 0, fds[2];
	double t0 = now_s();
	pid_t pid;

	if (pipe(fds) != 0)
		die("pipe", "failed");
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		result_fd = fds[1];
		fn(db);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &r.commands, sizeof r.commands) != (ssize_t)sizeof r.commands)
		r.commands = -1;
	close(fds[0]);
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

static void row(const char *kind, long n, const char *who, result_t r, double best)
{
	char ratio[16] = "-", per[24] = "-";

	if (best > 0)
		snprintf(ratio, sizeof ratio, "%.2fx", best / r.seconds);
	if (r.commands >= 0)
		snprintf(per, sizeof per, "%.2f", r.commands * 1000.0 / (double)n);
	printf("| %s | %ld | %s | %.2f | %.0f | %ld | %s | %ld | %s |\n", kind, n, who, r.seconds, n / r.seconds,
	       r.commands, per, r.rss_kib, ratio);
	fflush(stdout);
}

static result_t timed(mongoc_client_t *c, void (*fn)(const char *), long n, int noop, const char *what)
{
	result_t r;

	drop_db(c, "bench_run");
	fill_apart("bench_run", n, noop);
	r = run_child(fn, "bench_run");
	if (!r.ok)
		die(what, "failed");
	verify(c, "bench_run", n);
	drop_db(c, "bench_run");
	return r;
}

static void bench_rss(long n)
{
	mongoc_client_t *c = client();
	result_t lib;

	drop_db(c, "bench_run");
	fill_apart("bench_run", n, 0);
	rss_cancel = 1;
	rewrite_mode = "0";
	lib = run_child(migrate_child, "bench_run");
	rss_cancel = 0;
	if (!lib.ok)
		die("libmigrate", "failed");
	drop_db(c, "bench_run");
	row("rss", n, "libmigrate in place, 10-document batches, canceled after 2", lib, 0);
	mongoc_client_destroy(c);
}

/* Each contender on the same data; ratios against the fastest script. */
static void bench(long n, int noop, int with_scripts)
{
	mongoc_client_t *c = client();
	const char *kind = noop ? "noop" : "write";
	result_t loop = {0, 0, -1, 0}, script = {0, 0, -1, 0}, in_place, rewrite;
	double best = 0;

	if (with_scripts) {
		loop = timed(c, loop_child, n, noop, "loop");
		script = timed(c, script_child, n, noop, "script");
		best = loop.seconds < script.seconds ? loop.seconds : script.seconds;
	}
	rewrite_mode = "0";
	in_place = timed(c, migrate_child, n, noop, "libmigrate");
	rewrite_mode = "1";
	rewrite = timed(c, migrate_child, n, noop, "libmigrate");
	if (with_scripts) {
		row(kind, n, "seed's per-document loop", loop, best);
		row(kind, n, "update_many per array length", script, best);
	}
	row(kind, n, "libmigrate, in place", in_place, best);
	row(kind, n, "libmigrate, rewrite", rewrite, best);
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
	printf("counter backfill (seed 000, 3.3) on %s\n\n", server);
	printf("| kind | documents | run | seconds | docs/s | commands | per 1,000 docs | peak RSS KiB | vs best script "
	       "|\n|---|---|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < nw; i++)
		bench(writes[i], 0, 1);
	for (int i = 0; i < nn; i++)
		bench(noops[i], 1, noops[i] <= 10000);
	for (int i = 0; i < nr; i++)
		bench_rss(rss[i]);
	return 0;
}
