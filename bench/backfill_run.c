#include "backfill_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <migrate/migrate.h>

void bench_die(const char *what, const char *msg)
{
	fprintf(stderr, "bench: %s: %s\n", what, msg);
	exit(1);
}

/* The step's end tells its batches and the longest one. */
static int on_event(const migrate_event_t *ev, void *payload)
{
	bench_result_t *r = payload;

	if (ev->type == MIGRATE_EVENT_STEP_END) {
		r->batches = (long)ev->batches;
		r->max_held_ms = (double)ev->longest_batch_ms;
	}
	return 0;
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

bench_result_t bench_summary(const bench_result_t *rounds, int n)
{
	bench_result_t s = {0, 0, 0, 0};
	double secs[BENCH_MAX_ROUNDS], batches[BENCH_MAX_ROUNDS];
	int i;

	if (n > BENCH_MAX_ROUNDS)
		n = BENCH_MAX_ROUNDS;
	for (i = 0; i < n; i++) {
		secs[i] = rounds[i].seconds;
		batches[i] = (double)rounds[i].batches;
		if (rounds[i].max_held_ms > s.max_held_ms)
			s.max_held_ms = rounds[i].max_held_ms;
		if (rounds[i].rss_kib > s.rss_kib)
			s.rss_kib = rounds[i].rss_kib;
	}
	qsort(secs, (size_t)n, sizeof secs[0], by_double);
	qsort(batches, (size_t)n, sizeof batches[0], by_double);
	s.seconds = n % 2 ? secs[n / 2] : (secs[n / 2 - 1] + secs[n / 2]) / 2;
	s.batches = (long)batches[n / 2];
	return s;
}

int bench_args(int argc, char **argv, int first, long sizes[8], int kept, int *rounds)
{
	int i, n = 0;

	for (i = first; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			*rounds = (int)strtol(argv[++i], NULL, 10);
		else if (n < 8)
			sizes[n++] = strtol(argv[i], NULL, 10);
	}
	if (*rounds < 1 || *rounds > BENCH_MAX_ROUNDS)
		bench_die("--rounds", "between 1 and 64");
	return n ? n : kept;
}

void bench_rounds(int nmethods, int rounds, bench_result_t (*run)(void *ctx, int method), void *ctx,
		  bench_result_t (*runs)[BENCH_MAX_ROUNDS])
{
	int round, m;

	for (round = 0; round < rounds && round < BENCH_MAX_ROUNDS; round++)
		for (m = 0; m < nmethods; m++) {
			int method = (m + round) % nmethods;

			runs[method][round] = run(ctx, method);
		}
}

bench_ratio_t bench_paired(const bench_result_t *base, const bench_result_t *runs, int n)
{
	bench_ratio_t r = {0, 0, 0};
	double v[BENCH_MAX_ROUNDS];
	int i;

	if (n > BENCH_MAX_ROUNDS)
		n = BENCH_MAX_ROUNDS;
	for (i = 0; i < n; i++)
		v[i] = base[i].seconds / runs[i].seconds;
	if (n < 1)
		return r;
	qsort(v, (size_t)n, sizeof v[0], by_double);
	r.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	r.min = v[0];
	r.max = v[n - 1];
	return r;
}

double bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bench_result_t bench_run_backfill(const char *url, const char *step_json, uint32_t batch_size)
{
	bench_result_t r = {0, 0, 0, 0};
	struct rusage ru;
	int fds[2], status = 0;
	pid_t pid;

	if (pipe(fds) != 0)
		bench_die("pipe", "failed");
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
		    migrate_version_add_step_json(v, step_json, NULL, &err))
			bench_die("setup", err.message);
		migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
		o.batch_size = batch_size;
		o.on_event = on_event;
		o.event_payload = &r;
		t0 = bench_now_s();
		if (migrate_up(t, plan, 0, &o, &err))
			bench_die("migrate_up", err.message);
		r.seconds = bench_now_s() - t0;
		if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r)
			_exit(2);
		migrate_plan_destroy(plan);
		migrate_target_close(t);
		_exit(0);
	}
	close(fds[1]);
	if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    read(fds[0], &r, sizeof r) != (ssize_t)sizeof r)
		bench_die("libmigrate run", "the child failed");
	close(fds[0]);
	r.rss_kib = ru.ru_maxrss;
	return r;
}
