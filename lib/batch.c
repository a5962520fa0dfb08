/*
 * Sizing the batches of a batched step, for every driver: the next batch
 * from how long the last one held its locks against the run's time budget
 * (migrate_run_options_t.batch_time_ms).
 */
#include "internal.h"

int64_t migrate__batch_next(int64_t size, double took_ms, uint32_t budget_ms, int64_t min, int64_t max)
{
	/* Aim below the budget, so that a batch slower than the last one
	 * (a cold page, a checkpoint) still ends inside it. */
	double target = (budget_ms ? budget_ms : 200) * 0.7, want;

	if (took_ms < 1)
		took_ms = 1;
	want = (double)size * target / took_ms;
	/* At most 4x either way per batch: one odd batch moves the size little. */
	if (want > (double)size * 4)
		want = (double)size * 4;
	if (want < (double)size / 4)
		want = (double)size / 4;
	if (want < (double)min)
		want = (double)min;
	if (want > (double)max)
		want = (double)max;
	return (int64_t)want;
}
