/* The conformance suite's SQLite backend: a database file per scenario run. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"
#include "harness.h"
#include "sqlite_util.h"

static const char *fresh(const char *tag)
{
	static char url[1200];
	static unsigned seq;
	char name[200];

	snprintf(name, sizeof name, "%s_%u.db", tag, ++seq);
	snprintf(url, sizeof url, "sqlite:%s", harness_path(name));
	unlink(url + 7);
	return url;
}

static void seed(const char *url, int rows)
{
	sqlite3 *db = tu_open(url + 7);
	char sql[600];

	tu_exec(db, "CREATE TABLE legacy (id INTEGER PRIMARY KEY NOT NULL, tags TEXT, status TEXT, counter INTEGER)");
	snprintf(sql, sizeof sql,
		 "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < %d) "
		 "INSERT INTO legacy SELECT x, CASE x %% 4 WHEN 0 THEN '[]' WHEN 1 THEN '[1]' WHEN 2 THEN '[1,2]' "
		 "ELSE '[1,2,3]' END, CASE x %% 3 WHEN 0 THEN 'a' WHEN 1 THEN 'b' ELSE 'c' END, x * 10 FROM g",
		 rows);
	tu_exec(db, sql);
	sqlite3_close(db);
}

static char *dump(const char *url)
{
	sqlite3 *db = tu_open(url + 7);
	char *d = tu_dump_except(db, "audit"), *copy = strdup(d);

	bson_free(d);
	sqlite3_close(db);
	return copy;
}

static long audit_runs(const char *url)
{
	sqlite3 *db = tu_open(url + 7);
	long n = tu_has_table(db, "audit") ? (long)tu_int(db, "SELECT count(*) FROM audit") : 0;

	sqlite3_close(db);
	return n;
}

static const conf_backend backend = {
	.name = "sqlite",
	.raw_exactly_once = 1,
	.fresh = fresh,
	.seed = seed,
	.dump = dump,
	.audit_runs = audit_runs,
	.audit_step = CONF_SQL_AUDIT_STEP,
	.bump_expr = CONF_SQL_BUMP,
	.drop_expr = CONF_SQL_DROP,
};

const conf_backend *conf_backend_get(void)
{
	return &backend;
}
