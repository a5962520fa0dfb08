/**
 * @file
 * @brief libmigrate: the PostgreSQL driver's wrapper for a connection the
 * application already has.
 *
 * Include only when you use PostgreSQL; it pulls in `<libpq-fe.h>`.
 *
 * Targets opened from a URL ("postgresql://..." or "postgres://...") accept
 * these libmigrate parameters in the query string; they are removed before
 * the URL reaches libpq, and every other parameter (and libpq's PG*
 * environment variables) is honoured as libpq documents:
 *
 *     migrate_schema=NAME          schema of the history and lease tables (public)
 *     migrate_lock=advisory|lease  session advisory lock (default; it refuses a
 *                                  pooler in transaction mode with MIGRATE_EINVAL),
 *                                  or a lease row for poolers in transaction mode
 *     migrate_lease_ms=N           lease duration, renewed on every history write
 *                                  and by a thread (300000; at least 100)
 *     migrate_lease_renew_ms=N     the thread's period (a third of the lease;
 *                                  at least 100 and shorter than the lease)
 *     migrate_lock_timeout_ms=N    lock_timeout of DDL and batches (5000; 0: none)
 *     migrate_statement_timeout_ms=N  statement_timeout of DDL and batches (0: none)
 *     migrate_retries=N            attempts of a statement that hit lock_timeout (8)
 *
 * The same settings, but migrate_lease_renew_ms, are the fields of
 * migrate_postgres_options_t for a wrapped connection (whose lease is
 * renewed every third of it). A bad value is MIGRATE_EINVAL naming it.
 */
#ifndef MIGRATE_POSTGRES_H
#define MIGRATE_POSTGRES_H

#include <libpq-fe.h>

#include "migrate.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Lock mode of migrate_postgres_options_t: pg_try_advisory_lock on the
 * session (the default). Behind a pooler in transaction mode, where it
 * would not protect the run, runs fail with MIGRATE_EINVAL instead.
 */
#define MIGRATE_PG_LOCK_ADVISORY 0
/**
 * Lock mode of migrate_postgres_options_t: a row of `<schema>._migrate_lock`
 * with an expiry, for poolers in transaction mode. While a run holds it, a
 * thread renews it every third of the lease (a URL's migrate_lease_renew_ms)
 * on a connection of its own.
 */
#define MIGRATE_PG_LOCK_LEASE 1

/** The struct version of migrate_postgres_options_t that these headers define. */
#define MIGRATE_POSTGRES_OPTIONS_VERSION 1

/**
 * Options of a PostgreSQL target. Initialise with
 * migrate_postgres_options_init(); fields are only ever appended.
 */
typedef struct migrate_postgres_options {
	unsigned version;             /**< #MIGRATE_POSTGRES_OPTIONS_VERSION */
	const char *schema;           /**< history schema; NULL: "public" (copied) */
	int lock_mode;                /**< #MIGRATE_PG_LOCK_ADVISORY or #MIGRATE_PG_LOCK_LEASE */
	int64_t lease_ms;             /**< lease duration (default 300000; at most 86400000, else MIGRATE_EINVAL) */
	int64_t lock_timeout_ms;      /**< DDL and batch lock_timeout (default 5000; 0: none) */
	int64_t statement_timeout_ms; /**< DDL and batch statement_timeout (default 0: none) */
	uint32_t retries;             /**< attempts on lock_timeout, with backoff (default 8) */
} migrate_postgres_options_t;

/** An initialiser of migrate_postgres_options_t with the defaults. */
#define MIGRATE_POSTGRES_OPTIONS_INIT                                                                \
	{                                                                                            \
		MIGRATE_POSTGRES_OPTIONS_VERSION, NULL, MIGRATE_PG_LOCK_ADVISORY, 300000, 5000, 0, 8 \
	}

/**
 * Fills PostgreSQL options with the defaults of a struct version.
 *
 * @param[out] opts the options to fill.
 * @param version #MIGRATE_POSTGRES_OPTIONS_VERSION.
 * @return 0, MIGRATE_EINVAL (`opts` is NULL) or MIGRATE_EVERSION (an
 *         unknown version).
 */
MIGRATE_EXPORT(int) migrate_postgres_options_init(migrate_postgres_options_t *opts, unsigned version);

/**
 * Wraps an open PostgreSQL connection in a target, with the default
 * options. Session settings changed for a step are restored after it.
 *
 * Transactions: libmigrate begins and commits its own, so the connection
 * must be idle (no transaction open) whenever a run uses it. A run that
 * finds the caller's transaction open fails with MIGRATE_ESTATE (domain
 * MIGRATE_DOMAIN_DRIVER) rather than commit the caller's work; commit or
 * roll back first. Do not use the connection from another thread while a
 * run is using it.
 *
 * Schemas: the steps' DDL and data statements name tables unqualified (as
 * the plan writes them), so they follow the connection's search_path as
 * the caller has set it. The history (and lease) tables are always
 * qualified with the `schema` option ("public" by default) whatever the
 * search_path: set `schema` when the application's tables live elsewhere
 * and the history should sit beside them.
 *
 * In the shared library the PostgreSQL driver is a module, loaded by the
 * first call.
 *
 * @param[out] out receives the target, owned by the caller: close it with
 *        migrate_target_close(). NULL on failure.
 * @param conn the connection, borrowed: libmigrate never closes it, and it
 *        must outlive the target.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (`out` or `conn` is NULL), MIGRATE_ECONNECT
 *         (`conn` is not connected), MIGRATE_ENOTFOUND (the driver module
 *         is not installed), MIGRATE_EVERSION (a driver module of another
 *         build) or MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_target_open_postgres(migrate_target_t **out, PGconn *conn, migrate_error_t *err);

/**
 * Wraps an open PostgreSQL connection in a target, with options; otherwise
 * as migrate_target_open_postgres().
 *
 * @param[out] out receives the target, owned by the caller: close it with
 *        migrate_target_close(). NULL on failure.
 * @param conn the connection, borrowed: libmigrate never closes it, and it
 *        must outlive the target.
 * @param opts the options, or NULL for the defaults. Copied (`schema`
 *        included).
 * @param[out] err optional error details.
 * @return as migrate_target_open_postgres(), and MIGRATE_EVERSION (an
 *         unknown `opts->version`) and MIGRATE_EINVAL (a bad schema name or
 *         lock mode, or a negative duration).
 */
MIGRATE_EXPORT(int) migrate_target_open_postgres_opts(migrate_target_t **out, PGconn *conn,
						      const migrate_postgres_options_t *opts, migrate_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
