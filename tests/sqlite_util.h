/*
 * Helpers for the SQLite driver tests: raw queries to assert the database's
 * state, plan building from JSON steps, and a dump of a whole database.
 */
#ifndef MIGRATE_TEST_SQLITE_UTIL_H
#define MIGRATE_TEST_SQLITE_UTIL_H

#include <bson/bson.h>
#include <sqlite3.h>

#include <migrate/sqlite.h>

#include "harness.h"

/* Opens a raw connection (busy timeout set); fails the test on error. */
sqlite3 *tu_open(const char *path);
void tu_exec(sqlite3 *db, const char *sql);
/* The first column of the first row as an integer (0 without rows). */
long long tu_int(sqlite3 *db, const char *sql);
/* The first column of the first row as text, in a static buffer ("(null)" for NULL, "(none)" without rows). */
const char *tu_text(sqlite3 *db, const char *sql);
/* The same, with one text parameter bound. */
long long tu_int1(sqlite3 *db, const char *sql, const char *param);
const char *tu_text1(sqlite3 *db, const char *sql, const char *param);

/* A target on a file of the test's temporary directory, opened by URL. */
migrate_target_t *tu_target(const char *path);
/* The URL of a path ("sqlite:<path>"), in a static buffer. */
const char *tu_url(const char *path);

/* A new plan, failing the test on error. */
migrate_plan_t *tu_plan(const char *name);
/* Adds version `id` made of the NULL-terminated JSON steps. */
migrate_version_t *tu_version(migrate_plan_t *plan, uint64_t id, const char *name, ...);

/* Every table's schema and rows (sorted), with the history's volatile fields left out. Free with bson_free(). */
char *tu_dump(sqlite3 *db);
/* The same without the table `skip` and libmigrate's own tables' schema (bson_free it). */
char *tu_dump_except(sqlite3 *db, const char *skip);

/* Whether a table / index / column exists. */
int tu_has_table(sqlite3 *db, const char *name);
int tu_has_index(sqlite3 *db, const char *name);
int tu_has_column(sqlite3 *db, const char *table, const char *column);

#endif
