/*
 * Sizing the batches of a batched step, for every driver: the next batch
 * from how long the last ones held their locks against the run's time
 * budget (migrate_run_options_t.batch_time_ms).
 */
#include "internal.h"

int64_t migrate__batch_next(migrate__sizer *s, int64_t size, double took_ms, uint32_t budget_ms, int64_t min,
			    int64_t max)
{
	/* Aim below the budget, so that a batch slower than the last ones
	 * (a cold page, a checkpoint) still ends inside it. */
	double target = (budget_ms ? budget_ms : 200) * (s->aim > 0 ? s->aim : 0.7), per_row, want;
	unsigned i;

	if (took_ms < 1)
		took_ms = 1;
	per_row = took_ms / (double)(size > 0 ? size : 1);
	/* Sized by the slowest of the last few batches per row, not by the
	 * last alone: a batch that ran fast (a core to itself for a moment)
	 * would otherwise make the next one as much larger, and that one,
	 * back at the usual speed, overrun the budget. */
	s->per_row[s->n++ % MIGRATE__SIZER_WINDOW] = per_row;
	for (i = 0; i < MIGRATE__SIZER_WINDOW && i < s->n; i++)
		if (s->per_row[i] > per_row)
			per_row = s->per_row[i];
	want = target / per_row;
	/* At most 4x either way per batch: one odd batch moves the size little. */
	if (want > (double)size * 4)
		want = (double)size * 4;
	if (want < (double)size / 4)
		want = (double)size / 4;
	if (want < (double)min)
		want = (double)min;
	if (want > (double)max)
		want = (double)max;
	return (int64_t)(want + 0.5);
}
