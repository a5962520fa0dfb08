/*
 * The batch sizer every driver uses (lib/batch.c): it aims at 70% of the
 * time budget at the slowest recent cost per row, moves at most 4x per
 * batch and stays within the driver's bounds.
 */
#include "harness.h"
#include "internal.h"

/* The next size after one batch, from a fresh sizer. */
static int64_t next1(int64_t size, double took_ms, uint32_t budget_ms, int64_t min, int64_t max)
{
	migrate__sizer s = {{0}, 0, 0};

	return migrate__batch_next(&s, size, took_ms, budget_ms, min, max);
}

TEST(aims_below_the_budget)
{
	/* 1,000 rows took 70 ms: 140 ms is 70% of 200, so twice as many */
	CHECK_INT(next1(1000, 70, 200, 1, 1000000), 2000);
	/* 1,000 rows took 280 ms: half as many */
	CHECK_INT(next1(1000, 280, 200, 1, 1000000), 500);
	/* a budget of 0 is the default 200 ms */
	CHECK_INT(next1(1000, 70, 0, 1, 1000000), 2000);
}

/* A driver that cuts a batch at the budget aims lower (PostgreSQL: 55%). */
TEST(aims_where_the_driver_says)
{
	migrate__sizer s = {{0}, 0, 0.55};

	/* 1,000 rows took 55 ms: 110 ms is 55% of 200, so twice as many */
	CHECK_INT(migrate__batch_next(&s, 1000, 55, 200, 1, 1000000), 2000);
	/* 2,000 rows took 220 ms: 1,000 fill 110 ms */
	CHECK_INT(migrate__batch_next(&s, 2000, 220, 200, 1, 1000000), 1000);
}

TEST(moves_at_most_four_times)
{
	CHECK_INT(next1(1000, 0, 200, 1, 1000000), 4000);
	CHECK_INT(next1(1000, 1, 200, 1, 1000000), 4000);
	CHECK_INT(next1(1000, 100000, 200, 1, 1000000), 250);
}

TEST(stays_within_bounds)
{
	CHECK_INT(next1(900000, 1, 200, 1, 1000000), 1000000);
	CHECK_INT(next1(150, 100000, 200, 100, 20000), 100);
	CHECK_INT(next1(1, 100000, 200, 1, 1000000), 1);
}

/* One batch that ran fast (the machine was idle for a moment) must not size
 * the next by its speed alone: back at the usual speed, that one would hold
 * its locks past the budget. */
TEST(a_fast_batch_does_not_overrun_the_next)
{
	migrate__sizer s = {{0}, 0, 0};

	/* 10,000 rows in 100 ms: 14,000 fill 140 ms */
	CHECK_INT(migrate__batch_next(&s, 10000, 100, 200, 1, 1000000), 14000);
	/* the same rows at twice the speed: still 14,000, not 28,000 (280 ms at the usual speed) */
	CHECK_INT(migrate__batch_next(&s, 14000, 70, 200, 1, 1000000), 14000);
	/* a slower batch counts at once */
	CHECK_INT(migrate__batch_next(&s, 14000, 280, 200, 1, 1000000), 7000);
}

/* The slow batch is forgotten after MIGRATE__SIZER_WINDOW more. */
TEST(a_slow_batch_is_forgotten)
{
	migrate__sizer s = {{0}, 0, 0};
	int64_t size = 1000;
	int i;

	size = migrate__batch_next(&s, size, 140, 200, 1, 1000000); /* 0.14 ms per row: 1,000 */
	CHECK_INT(size, 1000);
	for (i = 0; i < MIGRATE__SIZER_WINDOW - 1; i++)
		CHECK_INT(migrate__batch_next(&s, 1000, 70, 200, 1, 1000000), 1000);
	CHECK_INT(migrate__batch_next(&s, 1000, 70, 200, 1, 1000000), 2000);
}
