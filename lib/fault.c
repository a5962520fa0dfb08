/*
 * Fault injection, for tests of the crash-safety promise. A build with
 * MIGRATE_FAULT_INJECTION counts every fault point it passes (each
 * allocation, each driver call the engine makes, each statement or command
 * a driver sends, each journal write) and, once armed, fails or kills the
 * process at the N-th point of the chosen kinds. Without the define every
 * point is a constant 0 and the counters do not exist.
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
#endif
