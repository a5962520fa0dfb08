/*
 * What the backfill benchmarks share: one libmigrate run of a one-step
 * backfill plan, in a child process of its own, so that its peak resident
 * memory can be read through wait4.
 */
#ifndef BENCH_BACKFILL_RUN_H
#define BENCH_BACKFILL_RUN_H

#include <stdint.h>

typedef struct bench_result {
	double seconds;
	double max_held_ms; /* the longest batch, from its first statement to its commit */
	long batches;
	long rss_kib; /* the peak resident memory of the process that ran libmigrate */
} bench_result_t;

/* Monotonic seconds. */
double bench_now_s(void);
/* Prints "bench: what: msg" and exits 1. */
void bench_die(const char *what, const char *msg);

/* Runs `step_json` as version 1 of a plan "bench" on `url` with batch_size
 * (0: sized by time); exits the benchmark on any error. */
bench_result_t bench_run_backfill(const char *url, const char *step_json, uint32_t batch_size);

#define BENCH_MAX_ROUNDS 64

/* Runs each of nmethods methods `rounds` times (at most BENCH_MAX_ROUNDS),
 * the methods taking turns in an order that rotates each round, so that a
 * slow moment of the machine does not fall on one method:
 * runs[m][r] = run(ctx, m) of round r. */
void bench_rounds(int nmethods, int rounds, bench_result_t (*run)(void *ctx, int method), void *ctx,
		  bench_result_t (*runs)[BENCH_MAX_ROUNDS]);

/* Reads "[--rounds N] [ROWS ...]" from argv[first..]: *rounds (unchanged
 * when not given; exits unless 1..BENCH_MAX_ROUNDS) and up to 8 sizes into
 * sizes, which keeps its own when none is given. Returns the sizes' count,
 * given or kept (`kept`). */
int bench_args(int argc, char **argv, int first, long sizes[8], int kept, int *rounds);

/* The summary of n rounds of one method: the median seconds and batches,
 * the longest batch of any round, the largest peak memory. */
bench_result_t bench_summary(const bench_result_t *rounds, int n);

/* How much faster a method ran than `base`, round by round: the median, the
 * smallest and the largest over n rounds of base[i].seconds / runs[i].seconds.
 * Each round runs its methods within seconds of each other, so a slow phase of
 * the machine (minutes long on a shared host) weighs on both sides of a ratio
 * instead of on whichever method it happened to fall. */
typedef struct bench_ratio {
	double median, min, max;
} bench_ratio_t;
bench_ratio_t bench_paired(const bench_result_t *base, const bench_result_t *runs, int n);

#endif
