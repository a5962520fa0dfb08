/*
 * Targets and the driver registry. Built-in drivers are always known;
 * drivers registered at run time are looked up first, so an application
 * can replace a built-in scheme.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_REGISTERED 16

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static const migrate_driver_t *registered[MAX_REGISTERED];
static size_t nregistered;

/* The driver registered for `url`'s scheme, or NULL. */
static const migrate_driver_t *registered_for_url(const char *url)
{
	const migrate_driver_t *found = NULL;
	size_t i;

	pthread_mutex_lock(&registry_mutex);
	for (i = nregistered; !found && i > 0; i--)
		if (migrate__has_scheme(registered[i - 1]->schemes, url))
			found = registered[i - 1];
	pthread_mutex_unlock(&registry_mutex);
	return found;
}

/* The registered driver for `url`, else the built-in one (loading its
 * module); *out is NULL when none knows the scheme. */
static int driver_for_url(const char *url, const migrate_driver_t **out, migrate_error_t *err)
{
	*out = registered_for_url(url);
	return *out ? 0 : migrate__builtin_for_url(url, out, err);
}

int migrate_driver_init(migrate_driver_t *driver, unsigned version)
{
	if (!driver)
		return MIGRATE_EINVAL;
	if (version < 2 || version > MIGRATE_DRIVER_VERSION)
		return MIGRATE_EVERSION;
	memset(driver, 0, sizeof *driver);
	driver->version = version;
	return 0;
}

static int check_driver(const migrate_driver_t *d, migrate_error_t *err)
{
	if (!d || !d->name)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "driver is NULL or has no name");
	/* Version 1 rendered into a migrate_buf_t: its render_step cannot be called with a migrate_buf_t. */
	if (d->version < 2 || d->version > MIGRATE_DRIVER_VERSION)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EVERSION,
				    "driver %s: interface version %u is not supported (this library: 2 to %d)", d->name,
				    d->version, MIGRATE_DRIVER_VERSION);
	if (!d->apply_step || !d->history_read || !d->history_write || !d->history_delete || !d->lock_try ||
	    !d->lock_release)
		return migrate__err(
			err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
			"driver %s: apply_step, history_read/write/delete and lock_try/release are required", d->name);
	if ((d->begin != NULL) != (d->commit != NULL) || (d->begin != NULL) != (d->rollback != NULL))
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "driver %s: begin, commit and rollback go together", d->name);
	return 0;
}

int migrate_driver_register(const migrate_driver_t *driver, migrate_error_t *err)
{
	int rc = check_driver(driver, err);
	size_t i;

	if (rc)
		return rc;
	pthread_mutex_lock(&registry_mutex);
	/* The newest registration wins: a driver registered again moves to the end. */
	for (i = 0; i < nregistered && registered[i] != driver; i++)
		;
	if (i < nregistered) {
		memmove(&registered[i], &registered[i + 1], (nregistered - i - 1) * sizeof registered[0]);
		nregistered--;
	}
	if (nregistered == MAX_REGISTERED)
		rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "too many registered drivers");
	else
		registered[nregistered++] = driver;
	pthread_mutex_unlock(&registry_mutex);
	return rc;
}

int migrate_target_from_driver(migrate_target_t **out, const migrate_driver_t *driver, void *conn, migrate_error_t *err)
{
	migrate_target_t *t;
	int rc;

	if (!out)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "out is NULL");
	*out = NULL;
	if ((rc = check_driver(driver, err)))
		return rc;
	t = migrate__calloc(1, sizeof *t);
	if (!t)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	t->driver = driver;
	t->conn = conn;
	*out = t;
	return 0;
}

/* driver_for_url(), with an error naming the URL (passwords masked) when no driver knows its scheme. */
static int find_driver(const char *url, const migrate_driver_t **out, migrate_error_t *err)
{
	char safe[512];
	int rc;

	if ((rc = driver_for_url(url, out, err)))
		return rc;
	if (*out)
		return 0;
	migrate__redact_url(url, safe, sizeof safe);
	return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOTFOUND,
			    "no driver for \"%s\" (this build knows: %s and registered drivers)", safe,
			    migrate__builtin_schemes());
}

int migrate_driver_load(const char *url, migrate_error_t *err)
{
	const migrate_driver_t *d;

	if (!url)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "migrate_driver_load: url is required");
	return find_driver(url, &d, err);
}

int migrate_target_open(migrate_target_t **out, const char *url, migrate_error_t *err)
{
	const migrate_driver_t *d;
	void *conn = NULL;
	int rc;

	if (!out || !url)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_target_open: out and url are required");
	*out = NULL;
	if ((rc = find_driver(url, &d, err)))
		return rc;
	if (!d->open)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL, "driver %s cannot open URLs", d->name);
	if ((rc = d->open(url, &conn, err))) {
		/* Whatever the driver wrote, the URL and its passwords stay out of it. */
		if (err)
			migrate__scrub(err->message, sizeof err->message, url);
		return rc;
	}
	if ((rc = migrate_target_from_driver(out, d, conn, err)) && d->close)
		d->close(conn);
	return rc;
}

int migrate_target_open_flags(migrate_target_t **out, const char *url, unsigned flags, migrate_error_t *err)
{
	if (!out || !url)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_target_open_flags: out and url are required");
	*out = NULL;
	if (flags & ~(unsigned)MIGRATE_OPEN_CHECK)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_target_open_flags: unknown flags 0x%x",
				    flags & ~(unsigned)MIGRATE_OPEN_CHECK);
#ifdef MIGRATE_HAVE_POSTGRES
	/* The built-in PostgreSQL driver's URLs only: a registered driver of the scheme is the application's. */
	if ((flags & MIGRATE_OPEN_CHECK) && !registered_for_url(url)) {
		int rc = migrate__probe_open(url, out, err);
		if (rc || *out)
			return rc;
	}
#endif
	return migrate_target_open(out, url, err);
}

void migrate_target_close(migrate_target_t *target)
{
	if (!target)
		return;
	if (target->driver->close)
		target->driver->close(target->conn);
	free(target);
}

const char *migrate_target_driver_name(const migrate_target_t *target)
{
	return target ? target->driver->name : NULL;
}

void *migrate_target_native_handle(const migrate_target_t *target)
{
	if (!target || !target->driver->native_handle)
		return NULL;
	return target->driver->native_handle(target->conn);
}
