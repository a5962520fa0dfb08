/**
 * @file
 * @brief libmigrate: the MongoDB driver's wrapper for a client the
 * application already has.
 *
 * Include only when you use MongoDB; it pulls in `<mongoc/mongoc.h>`.
 *
 * URLs: migrate_target_open() accepts "mongodb://host[:port]/dbname?options"
 * (the database name is required). The MongoDB driver has no transactions:
 * every step runs on its own and is idempotent or checkpointed per batch.
 * The lock is a lease document in `_migrate_locks`, renewed by a background
 * thread on a client of its own while a run holds it; the history lives in
 * `_migrate_history`, written with majority write concern and fenced by the
 * lock's owner token. libmigrate's URL options, removed before libmongoc
 * sees the URL: migrate_history=NAME, migrate_rewrite=auto|0|1,
 * migrate_lease_ms=N (the lease, 30000; at least 100) and
 * migrate_lease_renew_ms=N (the renewal period, a third of the lease; at
 * least 100 and shorter than the lease). A bad one is MIGRATE_EINVAL
 * naming it (docs/operations.md).
 */
#ifndef MIGRATE_MONGO_H
#define MIGRATE_MONGO_H

#include <mongoc/mongoc.h>

#include "migrate.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Wraps a MongoDB client and one of its databases in a target. Like any
 * `mongoc_client_t` the client must not be used by another thread while
 * the target runs. The lock's renewal thread opens a client of its own from
 * `mongoc_client_get_uri(client)`.
 *
 * In the shared library the MongoDB driver is a module, loaded by the
 * first call.
 *
 * @param[out] out receives the target, owned by the caller: close it with
 *        migrate_target_close(). NULL on failure.
 * @param client the client, borrowed: libmigrate never destroys it, and it
 *        must outlive the target.
 * @param dbname the database to migrate. Copied.
 * @param[out] err optional error details.
 * @return 0, MIGRATE_EINVAL (a NULL argument or a bad database name),
 *         MIGRATE_ENOTFOUND (the driver module is not installed),
 *         MIGRATE_EVERSION (a driver module of another build) or
 *         MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_target_open_mongo(migrate_target_t **out, mongoc_client_t *client, const char *dbname,
					      migrate_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
