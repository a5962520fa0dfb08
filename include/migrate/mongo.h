/*
 * libmigrate: the MongoDB driver's wrapper for a client the application
 * already has. Include only when you use MongoDB; it pulls in <mongoc/mongoc.h>.
 *
 * URLs: migrate_target_open() accepts "mongodb://host[:port]/dbname?options"
 * (the database name is required). The MongoDB driver has no transactions:
 * every step runs on its own and is idempotent or checkpointed per batch.
 * The lock is a lease document in `_migrate_locks`, renewed by a background
 * thread on a client of its own while a run holds it; the history lives in
 * `_migrate_history`, written with majority write concern and fenced by the
 * lock's owner token.
 */
#ifndef MIGRATE_MONGO_H
#define MIGRATE_MONGO_H

#include <mongoc/mongoc.h>

#include "migrate.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Wraps `client` and the database `dbname` in a target. The client is
 * borrowed: libmigrate never destroys it, and it must outlive the target.
 * Like any mongoc_client_t it must not be used by another thread while the
 * target runs. The lock's renewal thread opens a client of its own from
 * mongoc_client_get_uri(client).
 * Errors: MIGRATE_EINVAL (NULL arguments or a bad database name),
 * MIGRATE_ENOMEM.
 */
MIGRATE_EXPORT(int) migrate_target_open_mongo(migrate_target_t **out, mongoc_client_t *client, const char *dbname,
					      migrate_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
