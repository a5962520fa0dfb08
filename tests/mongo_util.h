/*
 * Helpers of the MongoDB tests: the FerretDB server started by the test
 * fixture (scripts/ferretdb-server.sh, URL in the file named by
 * MIGRATE_MONGO_URL_FILE, or MIGRATE_MONGO_URL itself), a fresh database
 * per test, queries that check the final state on the server, and private
 * servers for the tests that kill and restart one.
 */
#ifndef MIGRATE_TEST_MONGO_UTIL_H
#define MIGRATE_TEST_MONGO_UTIL_H

#include <stdint.h>

#include <migrate/migrate.h>
#include <migrate/mongo.h>

/* The server's URL (mongodb://host:port); skips the test (fails under CI=true) when there is none. */
const char *mt_server_url(void);
/* A database of its own for this test, named after `tag` and the pid: its URL in a static buffer. */
const char *mt_fresh_db(const char *tag);
/* The URL of database `db` on server `server` (static buffer). */
const char *mt_db_url(const char *server, const char *db);
/* The database name of the last mt_fresh_db(). */
const char *mt_db(void);

/* A client on `url` (error API 2) or fails the test. */
mongoc_client_t *mt_client(const char *url);
/* Runs a command given as JSON on `db`; fails the test on error. `reply` (optional) is destroyed by the caller. */
void mt_cmd(mongoc_client_t *c, const char *db, const char *json, bson_t *reply);
/* Like mt_cmd but returns false (and fills msg) instead of failing. */
bool mt_try_cmd(mongoc_client_t *c, const char *db, const char *json, char *msg, size_t size);
/* Inserts documents given as a JSON array into `coll`. */
void mt_insert(mongoc_client_t *c, const char *db, const char *coll, const char *json_array);
/* Counts documents of `coll` matching `filter_json` (NULL: all). */
int64_t mt_count(mongoc_client_t *c, const char *db, const char *coll, const char *filter_json);
/* The first document matching `filter_json` as relaxed JSON (malloc'd), or NULL. */
char *mt_find_one(mongoc_client_t *c, const char *db, const char *coll, const char *filter_json);
/* Sorted, comma-separated names of the indexes of `coll` ("" if none). Static buffer. */
const char *mt_indexes(mongoc_client_t *c, const char *db, const char *coll);
/* The spec of index `name` on `coll` as relaxed JSON of {key, unique} (malloc'd) or NULL. */
char *mt_index_spec(mongoc_client_t *c, const char *db, const char *coll, const char *name);
/* Does the collection exist? */
bool mt_exists(mongoc_client_t *c, const char *db, const char *coll);
/* Sorted, comma-separated collection names ("" if none). Static buffer. */
const char *mt_collections(mongoc_client_t *c, const char *db);
/*
 * The whole state of a database as one string: every collection but the
 * history and lock ones, its documents in _id order and its indexes, and the
 * history records without times. Caller frees. Two databases in the same
 * state give the same string.
 */
char *mt_dump(mongoc_client_t *c, const char *db);
/* The same without the collection `skip`. */
char *mt_dump_except(mongoc_client_t *c, const char *db, const char *skip);

/* Opens a target on `url` or fails the test. */
migrate_target_t *mt_target(const char *url);
/* Appends a step given as JSON to `v` or fails the test. */
void mt_step(migrate_version_t *v, const char *json);
/* The state of version `id` of `plan` in the history, -1 if absent. */
int mt_state(migrate_target_t *t, const migrate_plan_t *plan, uint64_t id);

/*
 * After a child killed by a signal: removes the shared-memory counters file
 * (/dev/shm/mongoc-PID) libmongoc unlinks only at a normal exit.
 */
void mt_reap(long pid);

/*
 * A private FerretDB in `dir` (scripts/ferretdb-server.sh): start (port 0:
 * any; a restart with the same dir keeps the data), stop for good (the
 * data is deleted), SIGKILL (the data stays for a restart).
 */
const char *mt_private_start(const char *dir, int port);
void mt_private_stop(const char *dir);
void mt_private_kill(const char *dir);
int mt_private_port(const char *dir);

#endif
