/*
 * What the lease locks of the drivers share (lib/postgres/lock.c in lease
 * mode, lib/mongo/lock.c): the URL options that set the lease and its
 * renewal period, and the renewal thread's wait on a monotonic clock, so
 * that a step of the wall clock neither delays a renewal past the lease
 * nor hurries it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

int migrate__lease_option(const char *where, const char *key, const char *value, size_t n, int64_t *out,
			  migrate_error_t *err)
{
	char text[24], *end;
	long long v;

	if (n == 0 || n >= sizeof text)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "%s: %s takes milliseconds (at least %d), not \"%.*s\"", where, key,
				    MIGRATE__LEASE_MIN_MS, (int)(n > 40 ? 40 : n), value);
	memcpy(text, value, n);
	text[n] = '\0';
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || text[0] == '+' || text[0] == ' ')
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "%s: %s takes milliseconds (at least %d), not \"%s\"", where, key,
				    MIGRATE__LEASE_MIN_MS, text);
	if (v < MIGRATE__LEASE_MIN_MS)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "%s: %s is %lld ms, shorter than the %d ms minimum", where, key, v,
				    MIGRATE__LEASE_MIN_MS);
	/* now + lease must not overflow, and PostgreSQL's statement_timeout is an int of ms. */
	if (v > MIGRATE__LEASE_MAX_MS)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "%s: %s is %lld ms, longer than the %d ms (a day) maximum", where, key, v,
				    MIGRATE__LEASE_MAX_MS);
	*out = (int64_t)v;
	return 0;
}

int migrate__lease_renewal(const char *where, int64_t lease_ms, int64_t renew_ms, int64_t *every, migrate_error_t *err)
{
	if (renew_ms == 0) {
		*every = lease_ms / 3 > 0 ? lease_ms / 3 : 1;
		return 0;
	}
	if (renew_ms >= lease_ms)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "%s: migrate_lease_renew_ms (%lld ms) must be shorter than the lease, "
				    "migrate_lease_ms (%lld ms)",
				    where, (long long)renew_ms, (long long)lease_ms);
	*every = renew_ms;
	return 0;
}

/* CLOCK_BOOTTIME where there is one: a suspended machine's sleep counts, as it does for the lease's holders. */
int64_t migrate__mono_ms(void)
{
	struct timespec ts;

#ifdef CLOCK_BOOTTIME
	if (clock_gettime(CLOCK_BOOTTIME, &ts) == 0)
		return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void migrate__cond_init_monotonic(pthread_cond_t *cv)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &attr);
	pthread_condattr_destroy(&attr);
}

void migrate__cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(cv, mu, &ts);
}
