/*
 * Fault injection, for tests of the crash-safety promise. A build with
 * MIGRATE_FAULT_INJECTION counts every fault point it passes (each
 * allocation, each driver call the engine makes, each statement or command
 * a driver sends, each journal write) and, once armed, fails or kills the
 * process at the N-th point of the chosen kinds. Without the define every
 * point is a constant 0 and the counters do not exist.
 *
 * The same builds have a synthetic clock for the sizing of batches by time:
 * once set, a batch is taken to have lasted a fixed time per row, so that
 * batch sizes, and with them the fault points a run passes, are the same
 * in every run (the real durations vary with the machine's load).
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "internal.h"

#ifdef MIGRATE_FAULT_INJECTION
#include <stdatomic.h>

static atomic_uint armed_kinds;
static atomic_long armed_at, passed;
static atomic_int armed_mode;
static atomic_long clock_us_per_row;

void migrate__fault_arm(unsigned kinds, long n, int mode)
{
	atomic_store(&armed_kinds, 0u);
	atomic_store(&passed, 0);
	atomic_store(&armed_at, n);
	atomic_store(&armed_mode, mode);
	atomic_store(&armed_kinds, kinds);
}

long migrate__fault_passed(void)
{
	return atomic_load(&passed);
}

static int fires(unsigned kind)
{
	long n;

	if (!(atomic_load(&armed_kinds) & kind))
		return 0;
	n = atomic_fetch_add(&passed, 1) + 1;
	if (n != atomic_load(&armed_at))
		return 0;
	if (atomic_load(&armed_mode) == MIGRATE__FAULT_KILL)
		raise(SIGKILL);
	return 1;
}

int migrate__fault(unsigned kind, const char *what, migrate_error_t *err)
{
	if (!fires(kind))
		return 0;
	if (kind == MIGRATE__FAULT_ALLOC)
		return migrate__err(err, MIGRATE_DOMAIN_RUN, MIGRATE_ENOMEM, "out of memory (injected at %s)", what);
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB, "injected fault at %s", what);
}

int migrate__fault_alloc(void)
{
	return fires(MIGRATE__FAULT_ALLOC);
}

void migrate__fault_clock(double ms_per_row)
{
	atomic_store(&clock_us_per_row, ms_per_row > 0 ? (long)(ms_per_row * 1000.0 + 0.5) : 0);
}

double migrate__fault_took(double real_ms, int64_t rows)
{
	long us = atomic_load(&clock_us_per_row);

	return us ? (double)us * (double)rows / 1000.0 : real_ms;
}
#else
void migrate__fault_arm(unsigned kinds, long n, int mode)
{
	(void)kinds;
	(void)n;
	(void)mode;
}

long migrate__fault_passed(void)
{
	return -1;
}

void migrate__fault_clock(double ms_per_row)
{
	(void)ms_per_row;
}
#endif
