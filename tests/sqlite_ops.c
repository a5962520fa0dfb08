/*
 * Every op of the step catalog on SQLite, up and down, with the schema and
 * the data checked by plain SQLite queries.
 */
#include "drift.h"
#include "sqlite_util.h"

static migrate_error_t err;

static void up(migrate_target_t *t, migrate_plan_t *p, uint64_t to)
{
	CHECK_OK(migrate_up(t, p, to, NULL, &err), &err);
}

static void down(migrate_target_t *t, migrate_plan_t *p, uint64_t to)
{
	CHECK_OK(migrate_down(t, p, to, NULL, &err), &err);
}

TEST(create_table_types)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db;
	const char *s;

	tu_version(
		p, 1, "parents",
		"{\"op\":\"create_table\",\"table\":\"parents\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\"},"
		"{\"name\":\"code\",\"type\":\"text\",\"unique\":true,\"nullable\":false}],\"primary_key\":[\"id\"]}",
		NULL);
	tu_version(p, 2, "every type",
		   "{\"op\":\"create_table\",\"table\":\"things\",\"columns\":["
		   "{\"name\":\"a\",\"type\":\"text\",\"default\":{\"value\":\"it's\"}},"
		   "{\"name\":\"b\",\"type\":\"integer\",\"default\":{\"value\":7}},"
		   "{\"name\":\"c\",\"type\":\"bigint\"},"
		   "{\"name\":\"d\",\"type\":\"double\",\"default\":{\"value\":1.5}},"
		   "{\"name\":\"e\",\"type\":\"boolean\",\"default\":{\"value\":true},\"nullable\":false},"
		   "{\"name\":\"f\",\"type\":\"uuid\",\"default\":\"uuid\"},"
		   "{\"name\":\"g\",\"type\":\"json\",\"default\":{\"value\":[1,\"x\"]}},"
		   "{\"name\":\"h\",\"type\":\"timestamp\",\"default\":\"now\"},"
		   "{\"name\":\"i\",\"type\":\"bytes\"},"
		   "{\"name\":\"j\",\"type\":{\"sql\":\"NUMERIC\"},\"default\":{\"sql\":\"1 + 2\"}},"
		   "{\"name\":\"parent\",\"type\":\"integer\",\"references\":{\"table\":\"parents\",\"column\":\"id\","
		   "\"on_delete\":\"cascade\"}}],"
		   "\"primary_key\":[\"b\",\"c\"]}",
		   NULL);
	up(t, p, 0);

	db = tu_open(path);
	CHECK_STR(tu_text1(db, "SELECT type FROM pragma_table_info('things') WHERE name = ?", "a"), "TEXT");
	CHECK_STR(tu_text1(db, "SELECT type FROM pragma_table_info('things') WHERE name = ?", "b"), "INTEGER");
	CHECK_STR(tu_text1(db, "SELECT type FROM pragma_table_info('things') WHERE name = ?", "c"), "INTEGER");
	CHECK_STR(tu_text1(db, "SELECT type FROM pragma_table_info('things') WHERE name = ?", "d"), "REAL");
	CHECK_STR(tu_text1(db, "SELECT type FROM pragma_table_info('things') WHERE name = ?", "e"), "INTEGER");
	CHECK_STR(tu_text1(db, "SELECT type FROM pragma_table_info('things') WHERE name = ?", "f"), "TEXT");
	CHECK_STR(tu_text1(db, "SELECT type FROM pragma_table_info('things') WHERE name = ?", "g"), "TEXT");
	CHECK_STR(tu_text1(db, "SELECT type FROM pragma_table_info('things') WHERE name = ?", "h"), "TEXT");
	CHECK_STR(tu_text1(db, "SELECT type FROM pragma_table_info('things') WHERE name = ?", "i"), "BLOB");
	CHECK_STR(tu_text1(db, "SELECT type FROM pragma_table_info('things') WHERE name = ?", "j"), "NUMERIC");
	CHECK_INT(tu_int1(db, "SELECT \"notnull\" FROM pragma_table_info('things') WHERE name = ?", "e"), 1);
	CHECK_INT(tu_int1(db, "SELECT pk FROM pragma_table_info('things') WHERE name = ?", "b"), 1);
	CHECK_INT(tu_int1(db, "SELECT pk FROM pragma_table_info('things') WHERE name = ?", "c"), 2);
	CHECK_STR(tu_text(db, "SELECT \"table\" || '.' || \"to\" || ' ' || on_delete FROM "
			      "pragma_foreign_key_list('things')"),
		  "parents.id CASCADE");
	/* the UNIQUE constraint on parents.code is an automatic index */
	CHECK_INT(tu_int(db, "SELECT count(*) FROM pragma_index_list('parents') WHERE \"unique\" AND origin = 'u'"), 1);

	/* defaults, evaluated by SQLite */
	tu_exec(db, "PRAGMA foreign_keys = ON; INSERT INTO parents (id, code) VALUES (1, 'p');"
		    "INSERT INTO things (c, parent) VALUES (10, 1), (11, 1)");
	CHECK_STR(tu_text(db, "SELECT a FROM things WHERE c = 10"), "it's");
	CHECK_INT(tu_int(db, "SELECT b FROM things WHERE c = 10"), 7);
	CHECK_STR(tu_text(db, "SELECT d FROM things WHERE c = 10"), "1.5");
	CHECK_INT(tu_int(db, "SELECT e FROM things WHERE c = 10"), 1);
	CHECK_STR(tu_text(db, "SELECT g FROM things WHERE c = 10"), "[1,\"x\"]");
	CHECK_INT(tu_int(db, "SELECT j FROM things WHERE c = 10"), 3);
	s = tu_text(db, "SELECT f FROM things WHERE c = 10");
	CHECK_INT(strlen(s), 36);
	CHECK(s[8] == '-' && s[13] == '-' && s[14] == '4' && s[18] == '-' && strchr("89ab", s[19]) && s[23] == '-');
	CHECK_INT(tu_int(db, "SELECT count(DISTINCT f) FROM things"), 2);
	s = tu_text(db, "SELECT h FROM things WHERE c = 10");
	CHECK_INT(strlen(s), 24);
	CHECK(s[4] == '-' && s[10] == 'T' && s[23] == 'Z');
	CHECK_INT(tu_int(db, "SELECT abs(julianday(h) - julianday('now')) < 0.01 FROM things WHERE c = 10"), 1);
	/* the reference cascades */
	tu_exec(db, "DELETE FROM parents");
	CHECK_INT(tu_int(db, "SELECT count(*) FROM things"), 0);

	down(t, p, 1);
	CHECK(!tu_has_table(db, "things"));
	CHECK(tu_has_table(db, "parents"));
	down(t, p, 0);
	CHECK(!tu_has_table(db, "parents"));
	CHECK_INT(tu_int(db, "SELECT count(*) FROM _migrate_history"), 0);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(renames)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);

	tu_exec(db,
		"CREATE TABLE sessions (id INTEGER PRIMARY KEY, status TEXT); INSERT INTO sessions VALUES (1, 'x')");
	tu_version(p, 1, "rename", "{\"op\":\"rename_table\",\"from\":\"sessions\",\"to\":\"jobs\"}",
		   "{\"op\":\"rename_column\",\"table\":\"jobs\",\"from\":\"status\",\"to\":\"state\"}", NULL);
	up(t, p, 0);
	CHECK(!tu_has_table(db, "sessions"));
	CHECK(tu_has_table(db, "jobs"));
	CHECK(tu_has_column(db, "jobs", "state"));
	CHECK(!tu_has_column(db, "jobs", "status"));
	CHECK_STR(tu_text(db, "SELECT state FROM jobs WHERE id = 1"), "x");
	down(t, p, 0);
	CHECK(tu_has_table(db, "sessions"));
	CHECK(!tu_has_table(db, "jobs"));
	CHECK(tu_has_column(db, "sessions", "status"));
	CHECK_STR(tu_text(db, "SELECT status FROM sessions WHERE id = 1"), "x");
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(add_column_native)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	char *render = NULL;

	tu_exec(db,
		"CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO jobs (name) VALUES ('a'), ('b')");
	tu_version(p, 1, "counters",
		   "{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"session_ids\",\"type\":\"json\","
		   "\"default\":{\"value\":[]}}}",
		   "{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"tools_completed\",\"type\":"
		   "\"integer\",\"nullable\":false,\"default\":{\"value\":0}}}",
		   "{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"note\",\"type\":\"text\"}}", NULL);
	CHECK_OK(migrate_render(t, p, 0, &render, &err), &err);
	CHECK_HAS(render, "ALTER TABLE \"jobs\" ADD COLUMN \"session_ids\" TEXT DEFAULT '[]'");
	CHECK_HAS(render, "ALTER TABLE \"jobs\" ADD COLUMN \"tools_completed\" INTEGER NOT NULL DEFAULT 0");
	migrate_free(render);
	up(t, p, 0);
	CHECK_STR(tu_text(db, "SELECT group_concat(session_ids || ':' || tools_completed || ':' || "
			      "coalesce(note, 'null'), ',') FROM jobs"),
		  "[]:0:null,[]:0:null");
	CHECK_INT(tu_int(db, "SELECT \"notnull\" FROM pragma_table_info('jobs') WHERE name = 'tools_completed'"), 1);
	/* native: the table was not rebuilt, rowids and the original text are kept */
	CHECK_HAS(tu_text(db, "SELECT sql FROM sqlite_master WHERE name = 'jobs'"), "CREATE TABLE jobs (id INTEGER");
	down(t, p, 0);
	CHECK(!tu_has_column(db, "jobs", "session_ids"));
	CHECK(!tu_has_column(db, "jobs", "tools_completed"));
	CHECK(!tu_has_column(db, "jobs", "note"));
	CHECK_INT(tu_int(db, "SELECT count(*) FROM jobs"), 2);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(add_column_rebuild_now)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	char *render = NULL;

	tu_exec(db,
		"CREATE TABLE \"we\"\"ird\" (name TEXT NOT NULL CHECK (length(name) < 10), -- a comment, with comma\n"
		" n INTEGER DEFAULT (1 + 1), CONSTRAINT c1 UNIQUE (name));"
		"CREATE INDEX we_n ON \"we\"\"ird\" (n DESC);"
		"CREATE TABLE log (msg TEXT);"
		"CREATE TRIGGER we_log AFTER INSERT ON \"we\"\"ird\" BEGIN INSERT INTO log VALUES (new.name); END;"
		"CREATE VIEW we_view AS SELECT name FROM \"we\"\"ird\";"
		"INSERT INTO \"we\"\"ird\" (rowid, name) VALUES (5, 'a'), (9, 'b');");
	tu_version(p, 1, "created_at",
		   "{\"op\":\"add_column\",\"table\":\"we\\\"ird\",\"column\":{\"name\":\"created_at\",\"type\":"
		   "\"timestamp\",\"default\":\"now\",\"nullable\":false}}",
		   "{\"op\":\"add_column\",\"table\":\"we\\\"ird\",\"column\":{\"name\":\"token\",\"type\":\"uuid\","
		   "\"default\":\"uuid\",\"unique\":true}}",
		   NULL);
	CHECK_OK(migrate_render(t, p, 0, &render, &err), &err);
	CHECK_HAS(render, "INSERT INTO \"_migrate_rebuild_we\"\"ird\"");
	CHECK_HAS(render, "ALTER TABLE \"_migrate_rebuild_we\"\"ird\" RENAME TO \"we\"\"ird\"");
	migrate_free(render);
	up(t, p, 0);
	/* every existing row got the expression's value, rowids kept */
	CHECK_INT(tu_int(db, "SELECT count(*) FROM \"we\"\"ird\" WHERE created_at LIKE '____-__-__T__:__:__.___Z'"), 2);
	CHECK_INT(tu_int(db, "SELECT count(DISTINCT token) FROM \"we\"\"ird\""), 2);
	CHECK_STR(tu_text(db, "SELECT group_concat(rowid || name, ',') FROM \"we\"\"ird\""), "5a,9b");
	CHECK_INT(tu_int(db, "SELECT \"notnull\" FROM pragma_table_info('we\"ird') WHERE name = 'created_at'"), 1);
	/* constraints, the comment's table, indexes, triggers and views survive */
	CHECK_HAS(tu_text(db, "SELECT sql FROM sqlite_master WHERE name = 'we\"ird'"), "CHECK (length(name) < 10)");
	CHECK_HAS(tu_text(db, "SELECT sql FROM sqlite_master WHERE name = 'we\"ird'"), "CONSTRAINT c1 UNIQUE (name)");
	CHECK(tu_has_index(db, "we_n"));
	CHECK_INT(tu_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'we_log' AND type = 'trigger'"), 1);
	tu_exec(db, "INSERT INTO \"we\"\"ird\" (name) VALUES ('c')");
	CHECK_STR(tu_text(db, "SELECT group_concat(msg) FROM log"), "a,b,c");
	CHECK_INT(tu_int(db, "SELECT count(*) FROM we_view"), 3);
	CHECK(sqlite3_exec(db,
			   "UPDATE \"we\"\"ird\" SET token = (SELECT token FROM \"we\"\"ird\" WHERE name = 'a') "
			   "WHERE name = 'b'",
			   NULL, NULL, NULL) == SQLITE_CONSTRAINT);
	CHECK(!tu_has_table(db, "_migrate_rebuild_we\"ird"));
	CHECK_INT(tu_int(db, "PRAGMA legacy_alter_table"), 0);
	down(t, p, 0);
	CHECK(!tu_has_column(db, "we\"ird", "created_at"));
	CHECK(!tu_has_column(db, "we\"ird", "token"));
	CHECK(tu_has_index(db, "we_n"));
	CHECK_INT(tu_int(db, "SELECT count(*) FROM \"we\"\"ird\""), 3);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(add_column_not_null_without_default)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	migrate_status_t *st = NULL;

	tu_exec(db, "CREATE TABLE empty (a TEXT); CREATE TABLE full (a TEXT); INSERT INTO full VALUES ('x')");
	tu_version(p, 1, "ok",
		   "{\"op\":\"add_column\",\"table\":\"empty\",\"column\":{\"name\":\"b\",\"type\":\"text\","
		   "\"nullable\":false}}",
		   NULL);
	tu_version(p, 2, "fails", "{\"op\":\"sql\",\"up\":\"CREATE TABLE marker (x)\"}",
		   "{\"op\":\"add_column\",\"table\":\"full\",\"column\":{\"name\":\"b\",\"type\":\"text\","
		   "\"nullable\":false}}",
		   NULL);
	CHECK_INT(migrate_up(t, p, 0, NULL, &err), MIGRATE_EDB);
	CHECK_HAS(err.message, "NOT NULL");
	CHECK_INT(tu_int(db, "SELECT \"notnull\" FROM pragma_table_info('empty') WHERE name = 'b'"), 1);
	/* version 2 is one transaction: nothing of it is left */
	CHECK(!tu_has_table(db, "marker"));
	CHECK(!tu_has_column(db, "full", "b"));
	CHECK_INT(tu_int(db, "SELECT state FROM _migrate_history WHERE version = 2"), MIGRATE_STATE_FAILED);
	CHECK_OK(migrate_status_get(t, p, &st, &err), &err);
	CHECK_INT(migrate_status_entry(st, 1)->state, MIGRATE_STATE_FAILED);
	migrate_status_destroy(st);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(drop_column_native_and_rebuild)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);

	tu_exec(db, "CREATE TABLE jobs (id INTEGER PRIMARY KEY, job_id TEXT UNIQUE, tool_ids TEXT, user_id TEXT,"
		    " status TEXT, CHECK (status <> 'bad'));"
		    "CREATE INDEX jobs_tools ON jobs (tool_ids);"
		    "CREATE INDEX jobs_user_tools ON jobs (user_id, tool_ids);"
		    "CREATE INDEX jobs_user ON jobs (user_id);"
		    "INSERT INTO jobs VALUES (1, 'j1', '[1]', 'u1', 'ok'), (2, 'j2', '[]', 'u2', 'ok');");
	tu_version(p, 1, "drop", "{\"op\":\"drop_column\",\"table\":\"jobs\",\"column\":\"tool_ids\",\"down\":[]}",
		   "{\"op\":\"drop_column\",\"table\":\"jobs\",\"column\":\"job_id\",\"down\":[]}", NULL);
	up(t, p, 0);
	CHECK(!tu_has_column(db, "jobs", "tool_ids"));
	CHECK(!tu_has_column(db, "jobs", "job_id"));
	/* indexes over the dropped column went with it, the others stay */
	CHECK(!tu_has_index(db, "jobs_tools"));
	CHECK(!tu_has_index(db, "jobs_user_tools"));
	CHECK(tu_has_index(db, "jobs_user"));
	CHECK_INT(tu_int(db, "SELECT count(*) FROM pragma_index_list('jobs') WHERE origin = 'u'"), 0);
	CHECK_HAS(tu_text(db, "SELECT sql FROM sqlite_master WHERE name = 'jobs'"), "CHECK (status <> 'bad')");
	CHECK_STR(tu_text(db, "SELECT group_concat(id || user_id || status, ',') FROM jobs"), "1u1ok,2u2ok");
	/* down: [] declared that nothing is needed */
	down(t, p, 0);
	CHECK(!tu_has_column(db, "jobs", "job_id"));
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(drop_column_in_primary_key_without_rowid)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);

	tu_exec(db, "CREATE TABLE kv (k TEXT, ns TEXT, v TEXT, PRIMARY KEY (ns, k)) WITHOUT ROWID;"
		    "INSERT INTO kv VALUES ('a', 'n', '1');");
	tu_version(p, 1, "drop", "{\"op\":\"drop_column\",\"table\":\"kv\",\"column\":\"v\",\"down\":[]}", NULL);
	up(t, p, 0);
	CHECK(!tu_has_column(db, "kv", "v"));
	CHECK_HAS(tu_text(db, "SELECT sql FROM sqlite_master WHERE name = 'kv'"), "WITHOUT ROWID");
	CHECK_STR(tu_text(db, "SELECT k || ns FROM kv"), "an");
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(indexes)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	const char *sql;

	tu_exec(db, "CREATE TABLE jobs (id INTEGER PRIMARY KEY, job_id TEXT, user_id TEXT, status TEXT, n INTEGER);");
	tu_version(
		p, 1, "indexes",
		"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"jobs_job_id\",\"keys\":[{\"column\":\"job_id\"}],"
		"\"unique\":true}",
		"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"jobs_user_status\",\"keys\":[{\"column\":"
		"\"user_id\"},{\"column\":\"status\",\"order\":\"desc\"}],\"online\":true}",
		"{\"op\":\"create_index\",\"table\":\"jobs\",\"name\":\"jobs_active\",\"keys\":[{\"column\":\"user_id\"}],"
		"\"unique\":true,\"where\":{\"status\":{\"$nin\":[\"done\",\"it's\"]},\"n\":{\"$gte\":2}}}",
		NULL);
	up(t, p, 0);
	CHECK_INT(tu_int(db, "SELECT \"unique\" FROM pragma_index_list('jobs') WHERE name = 'jobs_job_id'"), 1);
	CHECK_INT(tu_int(db, "SELECT \"unique\" FROM pragma_index_list('jobs') WHERE name = 'jobs_user_status'"), 0);
	CHECK_STR(
		tu_text(db,
			"SELECT group_concat(name || ':' || \"desc\", ',') FROM pragma_index_xinfo('jobs_user_status')"
			" WHERE key"),
		"user_id:0,status:1");
	CHECK_INT(tu_int(db, "SELECT partial FROM pragma_index_list('jobs') WHERE name = 'jobs_active'"), 1);
	sql = tu_text(db, "SELECT sql FROM sqlite_master WHERE name = 'jobs_active'");
	CHECK_HAS(sql, "'it''s'");
	CHECK_HAS(sql, "\"n\" >= 2");
	/* unique enforced; partial uniqueness only over matching rows */
	tu_exec(db, "INSERT INTO jobs (job_id, user_id, status, n) VALUES ('a', 'u', 'done', 5), ('b', 'u', 'done', 5),"
		    " ('c', 'u', 'run', 5), ('d', 'u', 'it''s', 5), ('e', 'u', 'run', 1)");
	CHECK(sqlite3_exec(db, "INSERT INTO jobs (job_id, user_id, status, n) VALUES ('f', 'u', 'run', 3)", NULL, NULL,
			   NULL) == SQLITE_CONSTRAINT);
	CHECK(sqlite3_exec(db, "INSERT INTO jobs (job_id) VALUES ('a')", NULL, NULL, NULL) == SQLITE_CONSTRAINT);
	down(t, p, 0);
	CHECK(!tu_has_index(db, "jobs_job_id"));
	CHECK(!tu_has_index(db, "jobs_user_status"));
	CHECK(!tu_has_index(db, "jobs_active"));
	migrate_plan_destroy(p);

	p = tu_plan("other");
	tu_exec(db, "CREATE INDEX old_idx ON jobs (n)");
	tu_version(p, 1, "drop", "{\"op\":\"drop_index\",\"table\":\"jobs\",\"name\":\"old_idx\",\"down\":[]}", NULL);
	up(t, p, 0);
	CHECK(!tu_has_index(db, "old_idx"));
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(enums)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	char *render = NULL;

	tu_version(p, 1, "status enum",
		   "{\"op\":\"create_enum\",\"name\":\"jobstatus\",\"values\":[\"pending\",\"processing\",\"it's\"]}",
		   "{\"op\":\"create_table\",\"table\":\"jobs\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\"},"
		   "{\"name\":\"status\",\"type\":\"enum:jobstatus\",\"default\":{\"value\":\"pending\"},"
		   "\"nullable\":false}],\"primary_key\":[\"id\"]}",
		   NULL);
	tu_version(p, 2, "second column",
		   "{\"op\":\"add_column\",\"table\":\"jobs\",\"column\":{\"name\":\"previous\",\"type\":"
		   "\"enum:jobstatus\"}}",
		   NULL);
	/* render knows the enum created by an earlier rendered step */
	CHECK_OK(migrate_render(t, p, 0, &render, &err), &err);
	CHECK_HAS(render,
		  "CONSTRAINT \"migrate_enum_jobstatus\" CHECK (\"status\" IN ('pending', 'processing', 'it''s'))");
	migrate_free(render);
	up(t, p, 0);
	CHECK_STR(tu_text(db, "SELECT \"values\" FROM _migrate_enums WHERE name = 'jobstatus'"),
		  "[\"pending\",\"processing\",\"it's\"]");
	tu_exec(db, "INSERT INTO jobs (id) VALUES (1); INSERT INTO jobs (id, status, previous) VALUES (2, 'it''s', "
		    "'pending')");
	CHECK_STR(tu_text(db, "SELECT status FROM jobs WHERE id = 1"), "pending");
	CHECK(sqlite3_exec(db, "INSERT INTO jobs (id, status) VALUES (3, 'bogus')", NULL, NULL, NULL) ==
	      SQLITE_CONSTRAINT);
	CHECK_HAS(sqlite3_errmsg(db), "migrate_enum_jobstatus");
	CHECK(sqlite3_exec(db, "UPDATE jobs SET previous = 'nope'", NULL, NULL, NULL) == SQLITE_CONSTRAINT);
	migrate_plan_destroy(p);

	/* drop_enum refuses while a table uses it */
	p = tu_plan("drop");
	tu_version(p, 1, "drop enum", "{\"op\":\"drop_enum\",\"name\":\"jobstatus\",\"down\":[]}", NULL);
	CHECK_INT(migrate_up(t, p, 0, NULL, &err), MIGRATE_EDB);
	CHECK_HAS(err.message, "jobstatus");
	CHECK_HAS(err.message, "jobs");
	CHECK_INT(tu_int(db, "SELECT count(*) FROM _migrate_enums"), 1);
	tu_exec(db, "DROP TABLE jobs");
	up(t, p, 0);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM _migrate_enums"), 0);
	migrate_plan_destroy(p);

	/* an unknown enum is named in the error */
	p = tu_plan("unknown");
	tu_version(p, 1, "bad",
		   "{\"op\":\"create_table\",\"table\":\"x\",\"columns\":[{\"name\":\"s\",\"type\":"
		   "\"enum:nosuch\"}]}",
		   NULL);
	CHECK_INT(migrate_up(t, p, 0, NULL, &err), MIGRATE_EDB);
	CHECK_HAS(err.message, "\"nosuch\"");
	CHECK(!tu_has_table(db, "x"));
	migrate_plan_destroy(p);
	sqlite3_close(db);
	migrate_target_close(t);
}

TEST(enum_down)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);

	tu_version(p, 1, "e", "{\"op\":\"create_enum\",\"name\":\"color\",\"values\":[\"red\",\"blue\"]}", NULL);
	tu_version(
		p, 2, "t",
		"{\"op\":\"create_table\",\"table\":\"paint\",\"columns\":[{\"name\":\"c\",\"type\":\"enum:color\"}]}",
		NULL);
	up(t, p, 0);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM _migrate_enums"), 1);
	down(t, p, 0);
	CHECK(!tu_has_table(db, "paint"));
	CHECK_INT(tu_int(db, "SELECT count(*) FROM _migrate_enums"), 0);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(sql_steps)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);

	tu_version(p, 1, "raw",
		   "{\"op\":\"sql\",\"up\":\"CREATE TABLE a (x); INSERT INTO a VALUES (1); INSERT INTO a VALUES (2);\","
		   "\"down\":\"DROP TABLE a\"}",
		   NULL);
	up(t, p, 0);
	CHECK_INT(tu_int(db, "SELECT sum(x) FROM a"), 3);
	down(t, p, 0);
	CHECK(!tu_has_table(db, "a"));
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(asserts)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);

	tu_exec(db,
		"CREATE TABLE jobs (id INTEGER PRIMARY KEY, job_id TEXT, status TEXT);"
		"CREATE INDEX jobs_status ON jobs (status);"
		"INSERT INTO jobs (job_id, status) VALUES ('a', 'done'), ('b', 'run'), (NULL, 'run'), (NULL, 'run');"
		"CREATE TABLE sessions (id INTEGER);");
	tu_version(
		p, 1, "holds", "{\"op\":\"assert\",\"count\":{\"table\":\"sessions\"},\"expect\":0}",
		"{\"op\":\"assert\",\"count\":{\"table\":\"jobs\",\"where\":{\"status\":\"run\"}},\"expect\":{\"$gte\":3}}",
		"{\"op\":\"assert\",\"unique\":{\"table\":\"jobs\",\"columns\":[\"job_id\"]}}",
		"{\"op\":\"assert\",\"no_match\":{\"table\":\"jobs\",\"where\":{\"status\":{\"$in\":[\"bad\",\"worse\"]}}}}",
		"{\"op\":\"assert\",\"exists\":{\"table\":\"jobs\"}}",
		"{\"op\":\"assert\",\"exists\":{\"table\":\"jobs\",\"column\":\"job_id\"}}",
		"{\"op\":\"assert\",\"exists\":{\"table\":\"jobs\",\"index\":\"jobs_status\"}}",
		"{\"op\":\"assert\",\"sql\":\"SELECT group_concat(status) FROM jobs WHERE job_id = 'a'\",\"expect\":\"done\"}",
		"{\"op\":\"assert\",\"sql\":\"SELECT count(*) FROM jobs\",\"expect\":4}", NULL);
	up(t, p, 0);
	migrate_plan_destroy(p);

	p = tu_plan("count");
	tu_version(p, 1, "fails",
		   "{\"op\":\"assert\",\"count\":{\"table\":\"jobs\"},\"expect\":0,\"message\":\"jobs must be empty\"}",
		   NULL);
	CHECK_INT(migrate_up(t, p, 0, NULL, &err), MIGRATE_EASSERT);
	CHECK_HAS(err.message, "is 4, expected = 0");
	CHECK_HAS(err.message, "jobs must be empty");
	migrate_plan_destroy(p);

	p = tu_plan("unique");
	tu_version(p, 1, "fails", "{\"op\":\"assert\",\"unique\":{\"table\":\"jobs\",\"columns\":[\"status\"]}}", NULL);
	CHECK_INT(migrate_up(t, p, 0, NULL, &err), MIGRATE_EASSERT);
	migrate_plan_destroy(p);

	p = tu_plan("no_match");
	tu_version(p, 1, "fails", "{\"op\":\"assert\",\"no_match\":{\"table\":\"jobs\",\"where\":{\"job_id\":null}}}",
		   NULL);
	CHECK_INT(migrate_up(t, p, 0, NULL, &err), MIGRATE_EASSERT);
	migrate_plan_destroy(p);

	p = tu_plan("exists");
	tu_version(p, 1, "fails", "{\"op\":\"assert\",\"exists\":{\"table\":\"jobs\",\"column\":\"nope\"}}", NULL);
	CHECK_INT(migrate_up(t, p, 0, NULL, &err), MIGRATE_EASSERT);
	CHECK_HAS(err.message, "nope");
	migrate_plan_destroy(p);

	p = tu_plan("sql");
	tu_version(p, 1, "fails", "{\"op\":\"assert\",\"sql\":\"SELECT 'x'\",\"expect\":\"y\"}", NULL);
	CHECK_INT(migrate_up(t, p, 0, NULL, &err), MIGRATE_EASSERT);
	CHECK_HAS(err.message, "returned x, expected \"y\"");
	migrate_plan_destroy(p);
	sqlite3_close(db);
	migrate_target_close(t);
}

TEST(unsupported_steps)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db;

	tu_version(p, 1, "ok", "{\"op\":\"sql\",\"up\":\"CREATE TABLE a (x)\"}", NULL);
	tu_version(p, 2, "mongo", "{\"op\":\"command\",\"up\":{\"ping\":1}}", NULL);
	CHECK_INT(migrate_up(t, p, 0, NULL, &err), MIGRATE_EUNSUPPORTED);
	CHECK_HAS(err.message, "command");
	migrate_plan_destroy(p);

	p = tu_plan("app");
	tu_version(p, 1, "mongo expr",
		   "{\"op\":\"backfill\",\"table\":\"a\",\"set\":{\"x\":{\"mongo\":{\"$size\":\"$y\"}}}}", NULL);
	CHECK_INT(migrate_up(t, p, 0, NULL, &err), MIGRATE_EUNSUPPORTED);
	CHECK_HAS(err.message, "mongo");
	migrate_plan_destroy(p);

	p = tu_plan("app");
	tu_version(p, 1, "assert command", "{\"op\":\"assert\",\"command\":{\"ping\":1},\"expect\":{\"ok\":1}}", NULL);
	CHECK_INT(migrate_up(t, p, 0, NULL, &err), MIGRATE_EUNSUPPORTED);
	migrate_plan_destroy(p);

	/* nothing was written: not even the history */
	db = tu_open(path);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM sqlite_master"), 0);
	sqlite3_close(db);
	migrate_target_close(t);
}

static int custom_up(migrate_target_t *target, void *native, migrate_error_t *e, void *payload)
{
	(void)target;
	(void)e;
	(void)payload;
	return sqlite3_exec(native, "CREATE TABLE from_custom (x)", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

TEST(borrowed_connection)
{
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = tu_open(path);
	migrate_target_t *t = NULL;
	migrate_plan_t *p = tu_plan("app");
	migrate_version_t *v;

	CHECK_OK(migrate_target_open_sqlite(&t, db, &err), &err);
	CHECK_STR(migrate_target_driver_name(t), "sqlite");
	CHECK(migrate_target_native_handle(t) == db);
	v = tu_version(p, 1, "custom", NULL);
	CHECK_OK(migrate_custom(v, "make table", "1", custom_up, NULL, NULL, NULL, &err), &err);
	up(t, p, 0);
	migrate_target_close(t);
	/* still open and usable */
	CHECK(tu_has_table(db, "from_custom"));
	CHECK_INT(tu_int(db, "SELECT state FROM _migrate_history"), MIGRATE_STATE_APPLIED);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM _migrate_lock"), 0);
	sqlite3_close(db);
	migrate_plan_destroy(p);
}

TEST(urls)
{
	migrate_target_t *t = NULL;
	migrate_plan_t *p = tu_plan("app");
	char url[1200];
	sqlite3 *db;

	tu_version(p, 1, "t", "{\"op\":\"sql\",\"up\":\"CREATE TABLE a (x)\"}", NULL);
	CHECK_OK(migrate_target_open(&t, "sqlite::memory:", &err), &err);
	up(t, p, 0);
	CHECK(tu_has_table(migrate_target_native_handle(t), "a"));
	migrate_target_close(t);

	snprintf(url, sizeof url, "sqlite://%s", harness_path("abs.sqlite"));
	CHECK(harness_path("abs.sqlite")[0] == '/');
	CHECK_OK(migrate_target_open(&t, url, &err), &err);
	up(t, p, 0);
	migrate_target_close(t);
	db = tu_open(harness_path("abs.sqlite"));
	CHECK(tu_has_table(db, "a"));
	sqlite3_close(db);

	CHECK_INT(migrate_target_open(&t, "sqlite://relative.db", &err), MIGRATE_ECONNECT);
	CHECK_HAS(err.message, "absolute");
	CHECK_INT(migrate_target_open(&t, "sqlite:", &err), MIGRATE_ECONNECT);
	snprintf(url, sizeof url, "sqlite:%s/no/such/dir/x.db", harness_tmpdir());
	CHECK_INT(migrate_target_open(&t, url, &err), MIGRATE_ECONNECT);
	migrate_plan_destroy(p);
}

TEST(foreign_keys_on_rebuild_keeps_children)
{
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = tu_open(path);
	migrate_target_t *t = NULL;
	migrate_plan_t *p = tu_plan("app");

	tu_exec(db,
		"PRAGMA foreign_keys = ON;"
		"CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT UNIQUE);"
		"CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE);"
		"INSERT INTO parent VALUES (1, 'a'), (2, 'b'); INSERT INTO child VALUES (10, 1), (11, 2);");
	CHECK_OK(migrate_target_open_sqlite(&t, db, &err), &err);
	tu_version(p, 1, "rebuild parent",
		   "{\"op\":\"add_column\",\"table\":\"parent\",\"column\":{\"name\":\"at\",\"type\":\"timestamp\","
		   "\"default\":\"now\"}}",
		   "{\"op\":\"drop_column\",\"table\":\"parent\",\"column\":\"name\",\"down\":[]}", NULL);
	up(t, p, 0);
	/* dropping the old parent table fired no ON DELETE CASCADE */
	CHECK_INT(tu_int(db, "SELECT count(*) FROM child"), 2);
	CHECK_INT(tu_int(db, "PRAGMA foreign_keys"), 1);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	tu_exec(db, "DELETE FROM parent WHERE id = 1");
	CHECK_INT(tu_int(db, "SELECT count(*) FROM child"), 1);
	migrate_target_close(t);
	sqlite3_close(db);
	migrate_plan_destroy(p);
}

TEST(render_every_op)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);
	char *r = NULL;

	tu_version(
		p, 1, "all",
		"{\"op\":\"create_table\",\"table\":\"jobs\",\"columns\":[{\"name\":\"id\",\"type\":\"integer\"},"
		"{\"name\":\"tool_ids\",\"type\":\"json\"},{\"name\":\"n\",\"type\":\"integer\"}],\"primary_key\":[\"id\"]}",
		"{\"op\":\"backfill\",\"table\":\"jobs\",\"set\":{\"n\":{\"array_length\":\"tool_ids\"}},"
		"\"where\":{\"n\":null}}",
		"{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"tool_ids\",\"map\":{\"x\":\"y\"}}",
		"{\"op\":\"drop_column\",\"table\":\"jobs\",\"column\":\"n\"}",
		"{\"op\":\"drop_table\",\"table\":\"jobs\"}", NULL);
	CHECK_OK(migrate_render(t, p, 0, &r, &err), &err);
	CHECK_HAS(r, "CREATE TABLE \"jobs\" (\"id\" INTEGER, \"tool_ids\" TEXT, \"n\" INTEGER, PRIMARY KEY (\"id\"))");
	CHECK_HAS(r, "UPDATE \"jobs\" SET \"n\" = COALESCE(CASE WHEN json_valid(\"tool_ids\") THEN "
		     "json_array_length(\"tool_ids\") END, 0) WHERE rowid > ? AND rowid <= ? AND (\"n\" IS NULL)");
	CHECK_HAS(r, "<last key of this batch>");
	CHECK_HAS(r, "UPDATE \"jobs\" SET \"tool_ids\" = CASE WHEN \"tool_ids\" = ? THEN ? ELSE \"tool_ids\" END");
	CHECK_HAS(r, "parameters: 'x', 'y'");
	CHECK_HAS(r, "ALTER TABLE \"jobs\" DROP COLUMN \"n\"");
	CHECK_HAS(r, "DROP TABLE \"jobs\"");
	migrate_free(r);
	/* render wrote nothing */
	CHECK_INT(tu_int(db, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE '_migrate%'"), 0);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

TEST(filters_select_like_mongodb)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("app");
	sqlite3 *db = tu_open(path);

#define COUNT(where, n) "{\"op\":\"assert\",\"count\":{\"table\":\"f\",\"where\":" where "},\"expect\":" #n "}"
	tu_exec(db,
		"CREATE TABLE f (a INTEGER, s TEXT, b INTEGER, d REAL);"
		"INSERT INTO f VALUES (1, 'x', 1, 0.5), (2, 'y', 0, 1.5), (3, NULL, 1, NULL), (NULL, 'x', NULL, 2.5),"
		" (5, 'it''s', 0, 3.5)");
	tu_version(p, 1, "filters", COUNT("{\"s\":\"x\"}", 2), COUNT("{\"s\":null}", 1),
		   COUNT("{\"s\":{\"$eq\":\"y\"}}", 1), COUNT("{\"s\":{\"$ne\":\"x\"}}", 3),
		   COUNT("{\"s\":{\"$ne\":null}}", 4), COUNT("{\"s\":{\"$in\":[\"x\",\"y\"]}}", 3),
		   COUNT("{\"s\":{\"$in\":[\"x\",null]}}", 3), COUNT("{\"s\":{\"$nin\":[\"x\"]}}", 3),
		   COUNT("{\"s\":{\"$nin\":[\"x\",null]}}", 2), COUNT("{\"s\":{\"$in\":[]}}", 0),
		   COUNT("{\"s\":{\"$nin\":[]}}", 5), COUNT("{\"s\":{\"$exists\":false}}", 1),
		   COUNT("{\"s\":{\"$exists\":true}}", 4), COUNT("{\"a\":{\"$gt\":1,\"$lte\":3}}", 2),
		   COUNT("{\"a\":{\"$lt\":null}}", 0), COUNT("{\"a\":{\"$lte\":null}}", 1),
		   COUNT("{\"d\":{\"$gte\":1.5}}", 3), COUNT("{\"$or\":[{\"a\":1},{\"s\":\"it's\"}]}", 2),
		   COUNT("{\"$and\":[{\"a\":{\"$gte\":2}},{\"s\":{\"$exists\":true}}]}", 2), COUNT("{\"b\":true}", 2),
		   COUNT("{\"b\":false,\"a\":{\"$ne\":2}}", 1), COUNT("{}", 5), NULL);
#undef COUNT
	up(t, p, 0);
	CHECK_INT(tu_int(db, "SELECT state FROM _migrate_history"), MIGRATE_STATE_APPLIED);
	sqlite3_close(db);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

/*
 * A schema written when double-quoted strings were literals ("x" in a
 * CHECK) still loads with them off; the ops that make SQLite parse the
 * stored schema again (ALTER TABLE's checks, a rebuild's copy of the
 * definition) must keep working on it.
 */
TEST(stored_schema_with_double_quoted_strings)
{
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = tu_open(path);
	migrate_target_t *t;
	migrate_plan_t *p = tu_plan("app");

	tu_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT CHECK (status <> \"x\"), other TEXT, "
		    "gone TEXT UNIQUE); INSERT INTO t VALUES (1, 'a', 'b', 'c')");
	t = tu_target(path);
	tu_version(p, 1, "legacy", "{\"op\":\"rename_column\",\"table\":\"t\",\"from\":\"other\",\"to\":\"o2\"}",
		   "{\"op\":\"drop_column\",\"table\":\"t\",\"column\":\"gone\"}",
		   "{\"op\":\"rename_table\",\"from\":\"t\",\"to\":\"t2\"}", NULL);
	up(t, p, 0);
	CHECK(tu_has_column(db, "t2", "o2"));
	CHECK(!tu_has_column(db, "t2", "gone"));
	CHECK_INT(tu_int(db, "SELECT count(*) FROM t2 WHERE id = 1 AND status = 'a' AND o2 = 'b'"), 1);
	/* the CHECK still compares with the string */
	CHECK_INT(sqlite3_exec(db, "INSERT INTO t2 (status) VALUES ('x')", NULL, NULL, NULL), SQLITE_CONSTRAINT);
	migrate_target_close(t);
	migrate_plan_destroy(p);
	sqlite3_close(db);
}

/*
 * keep on SQLite is keyed by the declared primary key, never a bare rowid:
 * a row deleted and another inserted after up (which takes its rowid) does
 * not receive the deleted row's old value on the way down.
 */
TEST(keep_by_primary_key)
{
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = tu_open(path);
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("keep");

	tu_exec(db, "CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT);"
		    "INSERT INTO jobs VALUES ('a', 'pending'), ('b', 'done'), ('c', 'planning')");
	tu_version(p, 1, "fold",
		   "{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"status\",\"keep\":\"jobs_kept\","
		   "\"map\":{\"pending\":\"processing\",\"planning\":\"processing\"}}",
		   NULL);
	up(t, p, 0);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM jobs_kept WHERE id IN ('a', 'c')"), 2);
	/* 'c' goes and 'd' comes, with the rowid 'c' had. */
	tu_exec(db, "DELETE FROM jobs WHERE id = 'c'; INSERT INTO jobs VALUES ('d', 'processing')");
	down(t, p, 0);
	CHECK_STR(tu_text(db, "SELECT group_concat(id || '=' || status, ',') FROM (SELECT * FROM jobs ORDER BY id)"),
		  "a=pending,b=done,d=processing");
	CHECK(!tu_has_table(db, "jobs_kept"));
	migrate_plan_destroy(p);
	migrate_target_close(t);
	sqlite3_close(db);
}

/*
 * drop_column with keep: every row's value is kept with the drop, and the
 * down adds the column back as its definition says, then sets each value
 * back, NULLs included.
 */
TEST(drop_column_keep)
{
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = tu_open(path);
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("dropkeep"), *bad = NULL;
	char *out = NULL;

	tu_exec(db, "CREATE TABLE jobs (id TEXT PRIMARY KEY, note TEXT DEFAULT 'none', n INTEGER);"
		    "CREATE INDEX jobs_note ON jobs (note);"
		    "INSERT INTO jobs VALUES ('a', 'hello', 1), ('b', NULL, 2), ('c', 'bye', 3)");
	tu_version(p, 1, "drop note",
		   "{\"op\":\"drop_column\",\"table\":\"jobs\",\"column\":\"note\",\"keep\":\"jobs_note_kept\","
		   "\"definition\":{\"name\":\"note\",\"type\":\"text\",\"default\":{\"value\":\"none\"}}}",
		   NULL);
	CHECK_OK(migrate_render(t, p, 0, &out, &err), &err);
	CHECK_HAS(out, "INSERT INTO \"jobs_note_kept\" (\"id\", \"note\") SELECT \"id\", \"note\" FROM \"jobs\" WHERE "
		       "true ON CONFLICT DO NOTHING");
	migrate_free(out);
	up(t, p, 0);
	CHECK_INT(tu_int(db, "SELECT count(*) FROM pragma_table_info('jobs') WHERE name = 'note'"), 0);
	CHECK_STR(tu_text(db, "SELECT group_concat(id || '=' || coalesce(note, 'NULL'), ',') FROM "
			      "(SELECT * FROM jobs_note_kept ORDER BY id)"),
		  "a=hello,b=NULL,c=bye");
	down(t, p, 0);
	CHECK_STR(tu_text(db, "SELECT group_concat(id || '=' || coalesce(note, 'NULL') || '/' || n, ',') FROM "
			      "(SELECT * FROM jobs ORDER BY id)"),
		  "a=hello/1,b=NULL/2,c=bye/3");
	CHECK_STR(tu_text(db, "SELECT dflt_value FROM pragma_table_info('jobs') WHERE name = 'note'"), "'none'");
	CHECK(!tu_has_table(db, "jobs_note_kept"));
	/* Without its definition, or NOT NULL without a default, it is refused when the plan is read. */
	CHECK_INT(migrate_plan_load_json(&bad,
					 "{\"plan\":\"b\",\"versions\":[{\"id\":1,\"name\":\"d\",\"steps\":[{\"op\":"
					 "\"drop_column\",\"table\":\"jobs\",\"column\":\"n\",\"keep\":\"k\"}]}]}",
					 &err),
		  MIGRATE_EPLAN);
	CHECK_HAS(err.message, "versions[0].steps[0].definition: is required");
	CHECK_INT(migrate_plan_load_json(
			  &bad,
			  "{\"plan\":\"b\",\"versions\":[{\"id\":1,\"name\":\"d\",\"steps\":[{\"op\":"
			  "\"drop_column\",\"table\":\"jobs\",\"column\":\"n\",\"keep\":\"k\",\"definition\":"
			  "{\"name\":\"n\",\"type\":\"integer\",\"nullable\":false}}]}]}",
			  &err),
		  MIGRATE_EPLAN);
	CHECK_HAS(err.message, "definition: is NOT NULL without a default");
	migrate_plan_destroy(p);
	migrate_target_close(t);
	sqlite3_close(db);
}

/* keep is refused, before anything is written, into a table that exists, or from a table without a key. */
TEST(keep_refused)
{
	const char *path = harness_path("db.sqlite");
	sqlite3 *db = tu_open(path);
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = tu_plan("keep"), *q = tu_plan("keyless");

	tu_exec(db, "CREATE TABLE jobs (id INTEGER PRIMARY KEY, status TEXT); INSERT INTO jobs VALUES (1, 'pending');"
		    "CREATE TABLE archive (id INTEGER, status TEXT); INSERT INTO archive VALUES (7, 'old');"
		    "CREATE TABLE loose (status TEXT); INSERT INTO loose VALUES ('pending')");
	tu_version(p, 1, "fold",
		   "{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"status\",\"keep\":\"archive\","
		   "\"map\":{\"pending\":\"processing\"}}",
		   NULL);
	CHECK_INT(migrate_up(t, p, 0, NULL, &err), MIGRATE_ESTATE);
	CHECK_HAS(err.message, "\"archive\" exists already");
	CHECK_STR(tu_text(db, "SELECT status FROM jobs"), "pending");
	CHECK_INT(tu_int(db, "SELECT count(*) FROM archive"), 1);
	tu_version(q, 1, "fold",
		   "{\"op\":\"map_values\",\"table\":\"loose\",\"column\":\"status\",\"keep\":\"loose_kept\","
		   "\"map\":{\"pending\":\"processing\"}}",
		   NULL);
	CHECK_INT(migrate_up(t, q, 0, NULL, &err), MIGRATE_EUNSUPPORTED);
	CHECK_HAS(err.message, "has no primary key");
	CHECK_STR(tu_text(db, "SELECT status FROM loose"), "pending");
	CHECK(!tu_has_table(db, "loose_kept"));
	migrate_plan_destroy(p);
	migrate_plan_destroy(q);
	migrate_target_close(t);
	sqlite3_close(db);
}

/* Drift (check --schema): a clean database reports nothing; each change made behind the library's back is found. */
TEST(check_schema)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = drift_plan(1);
	migrate_schema_report_t *r;
	sqlite3 *db;

	up(t, p, 0);
	r = drift_report(t, p);
	CHECK_INT(migrate_schema_report_count(r), 0);
	CHECK_INT(migrate_schema_report_state(r), MIGRATE_CHECK_UP_TO_DATE);
	CHECK_INT(migrate_schema_report_partial(r), 0);
	migrate_schema_report_destroy(r);

	db = tu_open(path);
	tu_exec(db, "DROP TABLE extra_t; DROP INDEX jobs_status_idx; ALTER TABLE jobs DROP COLUMN note;"
		    "ALTER TABLE jobs DROP COLUMN n; ALTER TABLE jobs ADD COLUMN n TEXT;"
		    "CREATE INDEX rogue_idx ON jobs (n); ALTER TABLE jobs ADD COLUMN rogue INTEGER;"
		    "CREATE TABLE not_in_plan (x INTEGER)");
	CHECK(!tu_has_table(db, "extra_t"));
	CHECK(!tu_has_index(db, "jobs_status_idx"));
	CHECK(!tu_has_column(db, "jobs", "note"));
	CHECK_STR(tu_text(db, "SELECT type FROM pragma_table_info('jobs') WHERE name = 'n'"), "TEXT");
	sqlite3_close(db);

	r = drift_report(t, p);
	drift_check_sql(r, "INTEGER", "TEXT");
	CHECK_DRIFT(r, MIGRATE_DRIFT_EXTRA, "jobs.rogue", NULL, 1);
	CHECK_INT(migrate_schema_report_count(r), 6);
	migrate_schema_report_destroy(r);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

/* A raw step that declares what it makes keeps the comparison complete. */
TEST(check_schema_declared)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = drift_plan(0);
	migrate_schema_report_t *r;
	sqlite3 *db;

	drift_add_declared(p, "{\"op\":\"sql\",\"up\":\"CREATE INDEX jobs_raw_idx ON jobs (n); "
			      "CREATE TABLE raw_t (a TEXT)\",\"down\":\"DROP TABLE raw_t; DROP INDEX jobs_raw_idx\"}");
	up(t, p, 0);
	r = drift_report(t, p);
	CHECK_INT(migrate_schema_report_count(r), 0);
	CHECK_INT(migrate_schema_report_partial(r), 0);
	migrate_schema_report_destroy(r);

	db = tu_open(path);
	tu_exec(db, "DROP INDEX jobs_raw_idx; DROP TABLE raw_t; CREATE INDEX rogue_idx ON jobs (name)");
	CHECK(!tu_has_index(db, "jobs_raw_idx"));
	CHECK(tu_has_index(db, "rogue_idx"));
	sqlite3_close(db);
	r = drift_report(t, p);
	drift_check_declared(r);
	migrate_schema_report_destroy(r);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

/* A raw step makes the comparison partial: the tables it could have changed are checked for what is missing only. */
TEST(check_schema_raw_step)
{
	const char *path = harness_path("db.sqlite");
	migrate_target_t *t = tu_target(path);
	migrate_plan_t *p = drift_plan(0);
	migrate_version_t *v;
	migrate_schema_report_t *r;
	sqlite3 *db;

	v = tu_version(p, 3, "raw", "{\"op\":\"sql\",\"up\":\"ALTER TABLE jobs ADD COLUMN raw_col TEXT\"}", NULL);
	(void)v;
	up(t, p, 0);
	r = drift_report(t, p);
	CHECK_INT(migrate_schema_report_count(r), 0);
	CHECK_INT(migrate_schema_report_partial(r), 3);
	migrate_schema_report_destroy(r);

	db = tu_open(path);
	tu_exec(db, "DROP INDEX jobs_name_idx");
	CHECK(!tu_has_index(db, "jobs_name_idx"));
	sqlite3_close(db);
	r = drift_report(t, p);
	CHECK_DRIFT(r, MIGRATE_DRIFT_MISSING, "jobs.jobs_name_idx", NULL, 2);
	CHECK_INT(migrate_schema_report_count(r), 1);
	migrate_schema_report_destroy(r);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

static long statements;

static void count_statement(int level, const char *message, void *payload)
{
	(void)level;
	(void)payload;
	if (strncmp(message, "sqlite: ", 8) == 0)
		statements++;
}

/* Statements sent by an up from empty to `n` trivial versions, and by the down back to 0. */
static void trivial_run(const char *name, int n, long *up_count, long *down_count)
{
	migrate_target_t *t = tu_target(harness_path(name));
	migrate_plan_t *p = tu_plan("trivial");
	char json[160];
	int i;

	for (i = 1; i <= n; i++) {
		snprintf(
			json, sizeof json,
			"{\"op\":\"create_table\",\"table\":\"t%d\",\"columns\":[{\"name\":\"id\",\"type\":\"bigint\"}]}",
			i);
		tu_version(p, (uint64_t)i, "table", json, NULL);
	}
	migrate_log_set_handler(count_statement, NULL);
	statements = 0;
	up(t, p, 0);
	*up_count = statements;
	statements = 0;
	down(t, p, 0);
	*down_count = statements;
	migrate_log_set_handler(NULL, NULL);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

/*
 * A trivial version costs four statements each way: BEGIN IMMEDIATE, its
 * DDL, the history write (up) or delete (down), COMMIT. Whether foreign
 * keys are on is asked of the connection, and whether the history table
 * exists only when a statement on it fails.
 */
TEST(four_statements_per_version)
{
	long up10, down10, up20, down20;

	trivial_run("ten.db", 10, &up10, &down10);
	trivial_run("twenty.db", 20, &up20, &down20);
	CHECK_INT((int)(up20 - up10), 40);
	CHECK_INT((int)(down20 - down10), 40);
}
