/*
 * The batch sizer every driver uses (lib/batch.c): it aims at 70% of the
 * time budget, moves at most 4x per batch and stays within the driver's
 * bounds.
 */
#include "harness.h"
#include "internal.h"

TEST(aims_below_the_budget)
{
	/* 1,000 rows took 70 ms: 140 ms is 70% of 200, so twice as many */
	CHECK_INT(migrate__batch_next(1000, 70, 200, 1, 1000000), 2000);
	/* 1,000 rows took 280 ms: half as many */
	CHECK_INT(migrate__batch_next(1000, 280, 200, 1, 1000000), 500);
	/* a budget of 0 is the default 200 ms */
	CHECK_INT(migrate__batch_next(1000, 70, 0, 1, 1000000), 2000);
}

TEST(moves_at_most_four_times)
{
	CHECK_INT(migrate__batch_next(1000, 0, 200, 1, 1000000), 4000);
	CHECK_INT(migrate__batch_next(1000, 1, 200, 1, 1000000), 4000);
	CHECK_INT(migrate__batch_next(1000, 100000, 200, 1, 1000000), 250);
}

TEST(stays_within_bounds)
{
	CHECK_INT(migrate__batch_next(900000, 1, 200, 1, 1000000), 1000000);
	CHECK_INT(migrate__batch_next(150, 100000, 200, 100, 20000), 100);
	CHECK_INT(migrate__batch_next(1, 100000, 200, 1, 1000000), 1);
}
