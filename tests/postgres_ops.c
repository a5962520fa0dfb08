/*
 * Every op of the step catalog on a real PostgreSQL, up and down, checked
 * in the catalogs and the data; render, check and status; hostile
 * identifiers and values.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drift.h"
#include "harness.h"
#include "postgres_util.h"

static migrate_plan_t *ops_plan(void)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	migrate_version_t *v;

	CHECK_OK(migrate_plan_new(&plan, "ops", &err), &err);
	v = pgt_version(plan, 1, "schema");
	pgt_step(v, "{\"op\":\"create_enum\",\"name\":\"mood\",\"values\":[\"happy\",\"sad\",\"it's\"]}");
	pgt_step(v, "{\"op\":\"create_table\",\"table\":\"people\",\"primary_key\":[\"id\"],\"columns\":["
		    "{\"name\":\"id\",\"type\":\"bigint\",\"nullable\":false},"
		    "{\"name\":\"name\",\"type\":\"text\",\"nullable\":false},"
		    "{\"name\":\"mood\",\"type\":\"enum:mood\",\"default\":{\"value\":\"happy\"}},"
		    "{\"name\":\"data\",\"type\":\"json\",\"default\":{\"value\":{\"a\":[1,2]}}},"
		    "{\"name\":\"tags\",\"type\":\"json\"},"
		    "{\"name\":\"created\",\"type\":\"timestamp\",\"default\":\"now\"},"
		    "{\"name\":\"uid\",\"type\":\"uuid\",\"default\":\"uuid\",\"unique\":true},"
		    "{\"name\":\"score\",\"type\":\"double\",\"default\":{\"value\":1.5}},"
		    "{\"name\":\"flag\",\"type\":\"boolean\",\"default\":{\"value\":true}},"
		    "{\"name\":\"n\",\"type\":\"integer\",\"default\":{\"sql\":\"40 + 2\"}},"
		    "{\"name\":\"blob\",\"type\":\"bytes\"},"
		    "{\"name\":\"code\",\"type\":{\"sql\":\"varchar(10)\"}}]}");
	pgt_step(v, "{\"op\":\"create_table\",\"table\":\"pets\",\"primary_key\":[\"id\"],\"columns\":["
		    "{\"name\":\"id\",\"type\":\"integer\",\"nullable\":false},"
		    "{\"name\":\"owner\",\"type\":\"bigint\",\"references\":{\"table\":\"people\",\"column\":\"id\","
		    "\"on_delete\":\"cascade\"}},"
		    "{\"name\":\"kind\",\"type\":\"text\"}]}");

	v = pgt_version(plan, 2, "evolve");
	pgt_step(v, "{\"op\":\"add_column\",\"table\":\"people\",\"column\":{\"name\":\"nick\",\"type\":\"text\","
		    "\"default\":{\"value\":\"x'y\"}}}");
	pgt_step(v, "{\"op\":\"rename_column\",\"table\":\"people\",\"from\":\"nick\",\"to\":\"nickname\"}");
	pgt_step(v, "{\"op\":\"create_index\",\"table\":\"people\",\"name\":\"people_name\",\"unique\":true,"
		    "\"keys\":[{\"column\":\"name\"},{\"column\":\"created\",\"order\":\"desc\"}],"
		    "\"where\":{\"mood\":\"happy\"}}");
	pgt_step(v, "{\"op\":\"rename_table\",\"from\":\"pets\",\"to\":\"animals\"}");

	v = pgt_version(plan, 3, "online index");
	pgt_step(v, "{\"op\":\"create_index\",\"table\":\"people\",\"name\":\"people_created\",\"online\":true,"
		    "\"keys\":[{\"column\":\"created\"}]}");

	v = pgt_version(plan, 4, "data");
	pgt_step(v, "{\"op\":\"sql\",\"up\":\"CREATE TABLE side (x integer); INSERT INTO side VALUES (1), (2)\","
		    "\"down\":\"DROP TABLE side\"}");
	pgt_step(v, "{\"op\":\"assert\",\"exists\":{\"table\":\"side\"}}");
	pgt_step(v, "{\"op\":\"assert\",\"count\":{\"table\":\"side\",\"where\":{\"x\":{\"$gte\":1}}},\"expect\":2}");
	pgt_step(v, "{\"op\":\"map_values\",\"table\":\"people\",\"column\":\"mood\",\"map\":{\"sad\":\"it's\"},"
		    "\"batch_size\":2}");
	pgt_step(v, "{\"op\":\"backfill\",\"table\":\"people\",\"batch_size\":3,"
		    "\"set\":{\"n\":{\"array_length\":\"tags\"},\"score\":{\"count\":{\"table\":\"animals\","
		    "\"match\":{\"owner\":\"id\"},\"where\":{\"kind\":{\"$ne\":\"fish\"}}}},"
		    "\"nickname\":{\"column\":\"name\"}},\"where\":{\"id\":{\"$lte\":5}},\"down\":[]}");
	pgt_step(v, "{\"op\":\"assert\",\"unique\":{\"table\":\"people\",\"columns\":[\"name\"]}}");
	pgt_step(v, "{\"op\":\"assert\",\"no_match\":{\"table\":\"people\",\"where\":{\"mood\":\"sad\"}}}");
	pgt_step(v, "{\"op\":\"assert\",\"sql\":\"SELECT count(*) FROM animals\",\"expect\":3}");

	v = pgt_version(plan, 5, "drops");
	pgt_step(
		v,
		"{\"op\":\"drop_index\",\"table\":\"people\",\"name\":\"people_name\",\"down\":["
		"{\"op\":\"create_index\",\"table\":\"people\",\"name\":\"people_name\",\"keys\":[{\"column\":\"name\"}]}]}");
	pgt_step(v, "{\"op\":\"drop_column\",\"table\":\"people\",\"column\":\"code\",\"down\":["
		    "{\"op\":\"add_column\",\"table\":\"people\",\"column\":{\"name\":\"code\",\"type\":\"text\"}}]}");
	pgt_step(v, "{\"op\":\"create_enum\",\"name\":\"tmp_enum\",\"values\":[\"a\"]}");
	pgt_step(v, "{\"op\":\"drop_enum\",\"name\":\"tmp_enum\",\"down\":["
		    "{\"op\":\"create_enum\",\"name\":\"tmp_enum\",\"values\":[\"a\"]}]}");
	pgt_step(v, "{\"op\":\"create_table\",\"table\":\"gone\",\"columns\":[{\"name\":\"x\",\"type\":\"text\"}]}");
	pgt_step(v, "{\"op\":\"drop_table\",\"table\":\"gone\",\"down\":["
		    "{\"op\":\"create_table\",\"table\":\"gone\",\"columns\":[{\"name\":\"x\",\"type\":\"text\"}]}]}");
	return plan;
}

static void seed_rows(PGconn *c)
{
	pgt_exec(c, "INSERT INTO people (id, name, mood, tags) VALUES "
		    "(1, 'ann', 'happy', '[1,2,3]'), (2, 'bob', 'sad', '[]'), (3, 'cy', 'sad', NULL), "
		    "(4, 'di', 'happy', '\"scalar\"'), (5, 'ed', 'sad', '[[1],[2]]'), (6, 'fay', 'sad', '[9]')");
	pgt_exec(c, "INSERT INTO pets VALUES (1, 1, 'cat'), (2, 1, 'fish'), (3, 2, 'dog')");
}

TEST(ops_up_down)
{
	const char *url = pgt_fresh_db("ops");
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = ops_plan();
	PGconn *c = pgt_connect(url);
	migrate_error_t err;
	char *s;
	migrate_check_state_t state = -1;

	CHECK_OK(migrate_check(t, plan, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_PENDING);
	CHECK_OK(migrate_up(t, plan, 1, NULL, &err), &err);
	seed_rows(c);
	CHECK_OK(migrate_up(t, plan, 4, NULL, &err), &err);
	s = pgt_value(c, "SELECT pg_get_indexdef('people_name'::regclass)");
	CHECK_STR(s, "CREATE UNIQUE INDEX people_name ON public.people USING btree (name, created DESC) "
		     "WHERE (mood = 'happy'::mood)");
	free(s);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_OK(migrate_check(t, plan, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_UP_TO_DATE);

	/* Types, defaults and constraints as the catalog sees them. */
	s = pgt_value(c, "SELECT string_agg(column_name || ':' || data_type, ',' ORDER BY ordinal_position) "
			 "FROM information_schema.columns WHERE table_name = 'people'");
	CHECK_STR(s, "id:bigint,name:text,mood:USER-DEFINED,data:jsonb,tags:jsonb,created:timestamp with time zone,"
		     "uid:uuid,score:double precision,flag:boolean,n:integer,blob:bytea,nickname:text");
	free(s);
	s = pgt_value(c, "SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum "
			 "WHERE enumtypid = 'mood'::regtype");
	CHECK_STR(s, "happy,sad,it's");
	free(s);
	s = pgt_value(
		c,
		"SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'people'::regclass "
		"AND adnum = (SELECT attnum FROM pg_attribute WHERE attrelid = 'people'::regclass AND attname = 'nickname')");
	CHECK_STR(s, "'x''y'::text");
	free(s);
	s = pgt_value(c,
		      "SELECT confdeltype FROM pg_constraint WHERE conrelid = 'animals'::regclass AND contype = 'f'");
	CHECK_STR(s, "c");
	free(s);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname = 'people_name'"), 0);
	CHECK_INT(pgt_int(c,
			  "SELECT count(*) FROM pg_index WHERE indexrelid = 'people_created'::regclass AND indisvalid"),
		  1);
	CHECK_INT(pgt_int(c,
			  "SELECT count(*) FROM pg_attribute WHERE attrelid = 'people'::regclass AND attname = 'code' "
			  "AND NOT attisdropped"),
		  0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_type WHERE typname = 'tmp_enum'"), 0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname = 'gone'"), 0);

	/* The data: map_values, backfill with array_length, count and column, limited by where. */
	s = pgt_value(c,
		      "SELECT string_agg(id || ':' || mood || ':' || coalesce(n::text, '-') || ':' || score || ':' || "
		      "coalesce(nickname, '-'), ' ' ORDER BY id) FROM people");
	CHECK_STR(s, "1:happy:3:1:ann 2:it's:0:1:bob 3:it's:0:0:cy 4:happy:0:0:di 5:it's:2:0:ed 6:it's:42:1.5:x'y");
	free(s);
	s = pgt_value(c, "SELECT string_agg(x::text, ',' ORDER BY x) FROM side");
	CHECK_STR(s, "1,2");
	free(s);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE plan = 'ops' AND state = 'applied'"), 5);

	/* Down to version 3: map_values reverted, side dropped, v5 undone by its explicit downs. */
	CHECK_OK(migrate_down(t, plan, 3, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname = 'side'"), 0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM people WHERE mood = 'sad'"), 4);
	CHECK_INT(pgt_int(c,
			  "SELECT count(*) FROM pg_attribute WHERE attrelid = 'people'::regclass AND attname = 'code' "
			  "AND NOT attisdropped"),
		  1);
	/* Down to nothing: everything gone but the history table. */
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname IN ('people', 'pets', 'animals', "
			     "'people_name', 'people_created')"),
		  0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_type WHERE typname = 'mood'"), 0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE plan = 'ops'"), 0);
	/* And up again from scratch. */
	CHECK_OK(migrate_up(t, plan, 1, NULL, &err), &err);
	seed_rows(c);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE plan = 'ops' AND state = 'applied'"), 5);

	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

TEST(render_and_check)
{
	const char *url = pgt_fresh_db("render");
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = ops_plan();
	PGconn *c = pgt_connect(url);
	migrate_error_t err;
	char *out = NULL;

	CHECK_OK(migrate_render(t, plan, 0, &out, &err), &err);
	CHECK_HAS(out, "CREATE TYPE \"mood\" AS ENUM ('happy', 'sad', 'it''s')");
	CHECK_HAS(out, "CREATE TABLE \"people\" (\"id\" bigint NOT NULL, \"name\" text NOT NULL, \"mood\" \"mood\" "
		       "DEFAULT 'happy'");
	CHECK_HAS(out, "\"uid\" uuid DEFAULT gen_random_uuid() UNIQUE");
	CHECK_HAS(out, "REFERENCES \"people\" (\"id\") ON DELETE CASCADE");
	CHECK_HAS(out, "CREATE INDEX CONCURRENTLY \"people_created\" ON \"people\" (\"created\")");
	CHECK_HAS(
		out,
		"CREATE UNIQUE INDEX \"people_name\" ON \"people\" (\"name\", \"created\" DESC) WHERE (\"mood\" = 'happy');");
	CHECK_HAS(out, "WITH r AS ((SELECT \"id\" AS _migrate_k0, 1 AS _migrate_more FROM \"people\" WHERE");
	migrate_free(out);
	/* render writes nothing */
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname IN ('people', '_migrate_history')"), 0);
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

TEST(transactional_version_all_or_nothing)
{
	const char *url = pgt_fresh_db("txn");
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	PGconn *c = pgt_connect(url);
	migrate_error_t err;
	int rc;

	CHECK_OK(migrate_plan_new(&plan, "txn", &err), &err);
	v = pgt_version(plan, 1, "fails halfway");
	pgt_step(v, "{\"op\":\"create_table\",\"table\":\"a\",\"columns\":[{\"name\":\"x\",\"type\":\"integer\"}]}");
	pgt_step(v, "{\"op\":\"sql\",\"up\":\"INSERT INTO a VALUES (1)\",\"down\":\"DELETE FROM a\"}");
	pgt_step(v, "{\"op\":\"assert\",\"count\":{\"table\":\"a\"},\"expect\":2,\"message\":\"two rows wanted\"}");
	rc = migrate_up(t, plan, 0, NULL, &err);
	CHECK_INT(rc, MIGRATE_EASSERT);
	CHECK_HAS(err.message, "1 rows counted, expected = 2");
	CHECK_HAS(err.message, "two rows wanted");
	CHECK_HAS(err.message, "version 1");
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname = 'a'"), 0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE state = 'failed' AND steps_done = 0"), 1);
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

TEST(hostile_identifiers_and_values)
{
	const char *url = pgt_fresh_db("hostile");
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	PGconn *c = pgt_connect(url);
	migrate_error_t err;
	char *s;

	CHECK_OK(migrate_plan_new(&plan, "x\"; DROP TABLE y; --", &err), &err);
	v = pgt_version(plan, 1, "it's \"evil\"");
	pgt_step(v, "{\"op\":\"create_table\",\"table\":\"t\\\"; DROP TABLE z; --\",\"primary_key\":[\"i'd\"],"
		    "\"columns\":[{\"name\":\"i'd\",\"type\":\"integer\",\"nullable\":false},"
		    "{\"name\":\"v\\\"al\",\"type\":\"text\",\"default\":{\"value\":\"'); DROP TABLE z; --\\\\\"}}]}");
	pgt_step(v, "{\"op\":\"create_enum\",\"name\":\"e\\\"num\",\"values\":[\"a'b\",\"c\\\\d\",\"\xc3\xa9\"]}");
	pgt_step(v, "{\"op\":\"sql\",\"up\":\"CREATE TABLE z (x int); INSERT INTO \\\"t\\\"\\\"; DROP TABLE z; --\\\" "
		    "(\\\"i'd\\\") SELECT g FROM generate_series(1, 7) g\",\"down\":\"DROP TABLE z\"}");
	pgt_step(v, "{\"op\":\"map_values\",\"table\":\"t\\\"; DROP TABLE z; --\",\"column\":\"v\\\"al\","
		    "\"map\":{\"'); DROP TABLE z; --\\\\\":\"x'); DROP TABLE z; --\"},\"batch_size\":2}");
	pgt_step(v, "{\"op\":\"backfill\",\"table\":\"t\\\"; DROP TABLE z; --\",\"batch_size\":2,"
		    "\"set\":{\"v\\\"al\":{\"value\":\"o'k\\\\\"}},\"where\":{\"i'd\":{\"$in\":[2,\"3\"]},"
		    "\"v\\\"al\":{\"$ne\":\"'; DROP TABLE z\"}},\"down\":[]}");
	pgt_step(v, "{\"op\":\"create_index\",\"table\":\"t\\\"; DROP TABLE z; --\",\"name\":\"i\\\"x\","
		    "\"keys\":[{\"column\":\"v\\\"al\"}],\"where\":{\"v\\\"al\":{\"$ne\":\"'; DROP TABLE z; --\"}}}");
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname = 't\"; DROP TABLE z; --'"), 1);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname = 'z'"), 1);
	s = pgt_value(c, "SELECT string_agg(\"v\"\"al\", '|' ORDER BY \"i'd\") FROM \"t\"\"; DROP TABLE z; --\"");
	CHECK_STR(s, "x'); DROP TABLE z; --|o'k\\|o'k\\|x'); DROP TABLE z; --|x'); DROP TABLE z; --|"
		     "x'); DROP TABLE z; --|x'); DROP TABLE z; --");
	free(s);
	s = pgt_value(c, "SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum e JOIN pg_type t "
			 "ON t.oid = e.enumtypid WHERE t.typname = 'e\"num'");
	CHECK_STR(s, "a'b,c\\d,\xc3\xa9");
	free(s);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname = 'i\"x' AND relkind = 'i'"), 1);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE plan = 'x\"; DROP TABLE y; --' "
			     "AND name = 'it''s \"evil\"' AND state = 'applied'"),
		  1);
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname IN ('z', 't\"; DROP TABLE z; --')"), 0);
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

TEST(url_options_and_errors)
{
	char url[700], db[600];
	migrate_target_t *t = NULL;
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	PGconn *c;
	migrate_error_t err;
	int rc;

	snprintf(db, sizeof db, "%s", pgt_fresh_db("urlopt"));
	snprintf(url, sizeof url, "%s?migrate_schema=mig%%20rate&application_name=opt_test&migrate_lock_timeout_ms=100",
		 db);
	t = pgt_target(url);
	CHECK_OK(migrate_plan_new(&plan, "p", &err), &err);
	v = pgt_version(plan, 1, "one");
	pgt_step(v, "{\"op\":\"create_table\",\"table\":\"a\",\"columns\":[{\"name\":\"x\",\"type\":\"integer\"}]}");
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	c = pgt_connect(db);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM \"mig rate\"._migrate_history WHERE state = 'applied'"), 1);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname = '_migrate_history' "
			     "AND relnamespace = 'public'::regnamespace"),
		  0);
	PQfinish(c);
	migrate_target_close(t);

	/* Unknown libmigrate parameters are refused; passwords never appear in errors. */
	rc = migrate_target_open(&t, "postgresql://u:s3cret@127.0.0.1:1/db?migrate_bogus=1", &err);
	CHECK_INT(rc, MIGRATE_EINVAL);
	CHECK_HAS(err.message, "migrate_bogus");
	rc = migrate_target_open(&t, "postgresql://u:s3cret@127.0.0.1:1/db?connect_timeout=2", &err);
	CHECK_INT(rc, MIGRATE_ECONNECT);
	CHECK(strstr(err.message, "s3cret") == NULL);
	CHECK_HAS(err.message, "127.0.0.1");
	migrate_plan_destroy(plan);
}

TEST(borrowed_connection)
{
	const char *url = pgt_fresh_db("borrowed");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = NULL;
	migrate_postgres_options_t o;
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	migrate_error_t err;

	CHECK_OK(migrate_postgres_options_init(&o, MIGRATE_POSTGRES_OPTIONS_VERSION), &err);
	o.schema = "meta";
	CHECK_OK(migrate_target_open_postgres_opts(&t, c, &o, &err), &err);
	CHECK(migrate_target_native_handle(t) == (void *)c);
	CHECK_OK(migrate_plan_new(&plan, "b", &err), &err);
	v = pgt_version(plan, 1, "one");
	pgt_step(v, "{\"op\":\"create_table\",\"table\":\"a\",\"columns\":[{\"name\":\"x\",\"type\":\"integer\"}]}");
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	migrate_target_close(t);
	/* The connection is still ours and usable. */
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM meta._migrate_history WHERE state = 'applied'"), 1);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM a"), 0);
	o.version = 99;
	CHECK_INT(migrate_target_open_postgres_opts(&t, c, &o, &err), MIGRATE_EVERSION);
	/* Inside the application's own transaction, libmigrate refuses rather than commit it. */
	CHECK_OK(migrate_target_open_postgres(&t, c, &err), &err);
	pgt_exec(c, "BEGIN");
	v = pgt_version(plan, 2, "two");
	pgt_step(v, "{\"op\":\"create_table\",\"table\":\"b\",\"columns\":[{\"name\":\"x\",\"type\":\"integer\"}]}");
	CHECK_INT(migrate_up(t, plan, 0, NULL, &err), MIGRATE_ESTATE);
	CHECK_HAS(err.message, "already inside a transaction");
	pgt_exec(c, "ROLLBACK");
	migrate_target_close(t);
	PQfinish(c);
	migrate_plan_destroy(plan);
}

/*
 * Outside a transaction (a non-transactional version's sql step, a
 * concurrent index build) the statement runs with the session's
 * client_connection_check_interval at 1 s, so a killed run's backend ends
 * it instead of holding the plan's lock; on an application's connection
 * the session's own settings are back afterwards.
 */
TEST(session_settings_outside_transactions_restored)
{
	const char *url = pgt_fresh_db("session_settings");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = NULL;
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	migrate_error_t err;

	if (PQserverVersion(c) < 140000)
		harness_skip("client_connection_check_interval needs PostgreSQL 14");
	pgt_exec(c, "SET client_connection_check_interval = '7s'; SET statement_timeout = '9s'; "
		    "CREATE TABLE src (x integer)");
	CHECK_OK(migrate_target_open_postgres(&t, c, &err), &err);
	CHECK_OK(migrate_plan_new(&plan, "s", &err), &err);
	v = pgt_version(plan, 1, "alone");
	CHECK_OK(migrate_version_set_transactional(v, 0), &err);
	pgt_step(v, "{\"op\":\"sql\",\"up\":\"CREATE TABLE seen AS SELECT "
		    "current_setting('client_connection_check_interval') AS v\",\"down\":\"DROP TABLE seen\"}");
	pgt_step(v, "{\"op\":\"create_index\",\"table\":\"src\",\"name\":\"src_x\",\"online\":true,"
		    "\"keys\":[{\"column\":\"x\"}]}");
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	migrate_target_close(t);
	CHECK_VALUE(c, "SELECT v FROM seen", "1s");
	CHECK_VALUE(c, "SELECT count(*) FROM pg_index WHERE indexrelid = 'src_x'::regclass AND indisvalid", "1");
	CHECK_VALUE(c, "SHOW client_connection_check_interval", "7s");
	CHECK_VALUE(c, "SHOW statement_timeout", "9s");
	PQfinish(c);
	migrate_plan_destroy(plan);
}

TEST(add_column_volatile_default_without_rewrite)
{
	const char *url = pgt_fresh_db("addcol");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL;
	migrate_version_t *v;
	migrate_error_t err;
	char *before, *after, *out = NULL;

	pgt_exec(c, "CREATE TABLE acc (id integer PRIMARY KEY, name text)");
	pgt_exec(c, "INSERT INTO acc SELECT g, 'n' || g FROM generate_series(1, 5000) g");
	before = pgt_value(c, "SELECT pg_relation_filenode('acc')");
	CHECK_OK(migrate_plan_new(&plan, "addcol", &err), &err);
	v = pgt_version(plan, 1, "uuid column");
	pgt_step(v, "{\"op\":\"add_column\",\"table\":\"acc\",\"column\":{\"name\":\"uid\",\"type\":\"uuid\","
		    "\"default\":\"uuid\",\"nullable\":false,\"unique\":true}}");
	CHECK_OK(migrate_render(t, plan, 0, &out, &err), &err);
	CHECK_HAS(out, "ALTER TABLE \"acc\" ADD COLUMN \"uid\" uuid UNIQUE; ALTER TABLE \"acc\" ALTER COLUMN \"uid\" "
		       "SET DEFAULT gen_random_uuid();");
	CHECK_HAS(out, "CHECK (\"uid\" IS NOT NULL) NOT VALID;");
	migrate_free(out);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	/* No table rewrite: the same file; every row filled, distinct; NOT NULL, the default, no leftovers. */
	after = pgt_value(c, "SELECT pg_relation_filenode('acc')");
	CHECK_STR(after, before);
	CHECK_INT(pgt_int(c, "SELECT count(DISTINCT uid) FROM acc"), 5000);
	CHECK_VALUE(c, "SELECT attnotnull::text FROM pg_attribute WHERE attrelid = 'acc'::regclass AND attname = 'uid'",
		    "true");
	CHECK_VALUE(c, "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'acc'::regclass",
		    "gen_random_uuid()");
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'acc'::regclass AND contype = 'c'"),
		  0);
	pgt_exec(c, "INSERT INTO acc (id) VALUES (0)");
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM acc WHERE id = 0 AND uid IS NOT NULL"), 1);
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'acc'"), 2);
	free(before);
	free(after);
	PQfinish(c);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

/* Frontend messages in a libpq trace of either kind (each given as "\tName"). */
static int count_messages(FILE *f, const char *a, const char *b)
{
	char line[4096];
	int n = 0;

	rewind(f);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "F\t", 2) && (strstr(line, a) || strstr(line, b)))
			n++;
	return n;
}

/* Statements: a Parse (extended protocol) or a Query. */
static int count_statements(FILE *f)
{
	return count_messages(f, "\tParse\t", "\tQuery\t");
}

/* Round trips: a simple Query, or the Sync ending extended-protocol messages (one per pipeline). */
static int count_round_trips(FILE *f)
{
	return count_messages(f, "\tSync", "\tQuery\t");
}

/* A plan of `n` versions of one sql step each. */
static migrate_plan_t *sql_plan(const char *name, uint64_t n)
{
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	uint64_t id;

	CHECK_OK(migrate_plan_new(&plan, name, &err), &err);
	for (id = 1; id <= n; id++)
		pgt_step(pgt_version(plan, id, "v"), "{\"op\":\"sql\",\"up\":\"SELECT 1\",\"down\":\"SELECT 1\"}");
	return plan;
}

/* migrate_check() with the frontend messages of `c` traced to `trace`. */
static migrate_check_state_t traced_check(PGconn *c, migrate_target_t *t, const migrate_plan_t *plan, FILE *trace)
{
	migrate_check_state_t state = -1;
	migrate_error_t err;

	PQtrace(c, trace);
	PQsetTraceFlags(c, PQTRACE_SUPPRESS_TIMESTAMPS);
	CHECK_OK(migrate_check(t, plan, &state, &err), &err);
	PQuntrace(c);
	return state;
}

TEST(check_is_one_statement_without_lock)
{
	const char *url = pgt_fresh_db("check");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = NULL;
	migrate_plan_t *plan = sql_plan("many", 1000);
	migrate_error_t err;
	FILE *trace = tmpfile();
	migrate_check_state_t state = -1;

	CHECK(trace != NULL);
	CHECK_OK(migrate_target_open_postgres(&t, c, &err), &err);
	CHECK_OK(migrate_baseline(t, plan, 1000, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE state = 'applied'"), 1000);
	CHECK_INT(traced_check(c, t, plan, trace), MIGRATE_CHECK_UP_TO_DATE);
	CHECK_INT(count_statements(trace), 1);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"),
		  0);
	/* A pending version is seen by the same single statement. */
	pgt_step(pgt_version(plan, 1001, "new"), "{\"op\":\"sql\",\"up\":\"SELECT 1\",\"down\":\"SELECT 1\"}");
	CHECK_OK(migrate_check(t, plan, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_PENDING);
	fclose(trace);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	PQfinish(c);
}

/* Whether a frontend message of the trace contains `text`. */
static int trace_has(FILE *f, const char *text)
{
	return count_messages(f, text, text) > 0;
}

/*
 * check reads only what it compares (version, checksum, state), and sees
 * through that smaller read what the full one showed: an edited checksum, a
 * failed version, inside the application's open transaction too. status
 * still reads every column.
 */
TEST(check_reads_only_what_it_compares)
{
	const char *url = pgt_fresh_db("check_states");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = NULL;
	migrate_plan_t *plan = sql_plan("states", 3);
	migrate_status_t *status = NULL;
	migrate_error_t err;
	FILE *trace = tmpfile();
	migrate_check_state_t state = -1;

	CHECK(trace != NULL);
	CHECK_OK(migrate_target_open_postgres(&t, c, &err), &err);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_INT(traced_check(c, t, plan, trace), MIGRATE_CHECK_UP_TO_DATE);
	CHECK_INT(count_statements(trace), 1);
	CHECK(trace_has(trace, "SELECT version::text, checksum, state FROM"));
	CHECK(!trace_has(trace, "applied_by"));
	/* An edited checksum, then a failed version: the worst is told. */
	pgt_exec(c, "UPDATE _migrate_history SET checksum = repeat('0', 64) WHERE version = 2");
	CHECK_OK(migrate_check(t, plan, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_MISMATCH);
	pgt_exec(c, "UPDATE _migrate_history SET checksum = NULL WHERE version = 2");
	CHECK_OK(migrate_check(t, plan, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_MISMATCH);
	pgt_exec(c, "UPDATE _migrate_history SET state = 'failed' WHERE version = 3");
	pgt_exec(c, "BEGIN");
	CHECK_OK(migrate_check(t, plan, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_MISMATCH);
	CHECK_INT(PQtransactionStatus(c), PQTRANS_INTRANS);
	pgt_exec(c, "ROLLBACK");
	pgt_exec(c, "DELETE FROM _migrate_history WHERE version = 2");
	CHECK_OK(migrate_check(t, plan, &state, &err), &err);
	CHECK_INT(state, MIGRATE_CHECK_FAILED);
	/* status reads the rest of the record. */
	CHECK_OK(migrate_status_get(t, plan, &status, &err), &err);
	CHECK_INT(migrate_status_count(status), 3);
	CHECK(migrate_status_entry(status, 0)->applied_by != NULL);
	CHECK_INT(migrate_status_entry(status, 2)->state, MIGRATE_STATE_FAILED);
	migrate_status_destroy(status);
	fclose(trace);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	PQfinish(c);
}

/*
 * A sql step of a "transactional": false version runs with no transaction
 * block around it, so statements that refuse one work there: an index
 * built and dropped CONCURRENTLY. In a transactional version they still
 * fail, and nothing is left behind.
 */
TEST(non_transactional_sql_concurrently)
{
	const char *url = pgt_fresh_db("concurrently");
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL, *txn = NULL;
	migrate_version_t *v;
	PGconn *c = pgt_connect(url);
	migrate_error_t err;

	CHECK_OK(migrate_plan_new(&plan, "online", &err), &err);
	v = pgt_version(plan, 1, "table");
	pgt_step(v, "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"x\",\"type\":\"integer\"}]}");
	pgt_step(v,
		 "{\"op\":\"sql\",\"up\":\"INSERT INTO t SELECT generate_series(1, 100)\",\"down\":\"DELETE FROM t\"}");
	v = pgt_version(plan, 2, "index");
	CHECK_OK(migrate_version_set_transactional(v, 0), &err);
	pgt_step(v, "{\"op\":\"sql\",\"up\":\"CREATE INDEX CONCURRENTLY t_x ON t (x)\","
		    "\"down\":\"DROP INDEX CONCURRENTLY t_x\"}");
	pgt_step(v, "{\"op\":\"sql\",\"up\":\"CREATE UNIQUE INDEX CONCURRENTLY t_x_unique ON t (x);\","
		    "\"down\":\"DROP INDEX CONCURRENTLY t_x_unique;\"}");
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_index WHERE indexrelid IN ('t_x'::regclass, "
			     "'t_x_unique'::regclass) AND indisvalid AND indisready"),
		  2);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE version = 2 AND state = 'applied' AND "
			     "steps_done = 2"),
		  1);
	CHECK_OK(migrate_down(t, plan, 1, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname IN ('t_x', 't_x_unique')"), 0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM t"), 100);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE version = 2"), 0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE version = 1 AND state = 'applied'"), 1);
	/* up again after the down */
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_index WHERE indexrelid = 't_x'::regclass AND indisvalid"), 1);

	/* a transactional version is unchanged: the statement meets its transaction block */
	CHECK_OK(migrate_plan_new(&txn, "in_txn", &err), &err);
	v = pgt_version(txn, 1, "index in a transaction");
	pgt_step(v, "{\"op\":\"sql\",\"up\":\"CREATE INDEX CONCURRENTLY t_x_in_txn ON t (x)\"}");
	CHECK(migrate_up(t, txn, 0, NULL, &err) != 0);
	CHECK_HAS(err.message, "25001");
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname = 't_x_in_txn'"), 0);
	PQfinish(c);
	migrate_plan_destroy(txn);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
}

/* The round trips of an up (down: 0) or a down to `version`, counted from libpq's trace of `c`. */
static int traced_round_trips(PGconn *c, migrate_target_t *t, migrate_plan_t *plan, uint64_t version, int down)
{
	FILE *trace = tmpfile();
	migrate_error_t err;
	int n;

	CHECK(trace != NULL);
	PQtrace(c, trace);
	PQsetTraceFlags(c, PQTRACE_SUPPRESS_TIMESTAMPS);
	if (down)
		CHECK_OK(migrate_down(t, plan, version, NULL, &err), &err);
	else
		CHECK_OK(migrate_up(t, plan, version, NULL, &err), &err);
	PQuntrace(c);
	n = count_round_trips(trace);
	fclose(trace);
	return n;
}

/*
 * A trivial version costs two round trips: BEGIN with its SET LOCAL, the
 * savepoint, the DDL and its release in one; the one history write with
 * the COMMIT in the other (a pipeline); reverting one, the same. Each run
 * also pays its own (history table, lock, history read, the one commit
 * that waits, unlock).
 */
TEST(two_round_trips_per_version)
{
	const char *url = pgt_fresh_db("roundtrips");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = NULL;
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	char json[200];
	uint64_t id;
	int n10, n20, down;

	CHECK_OK(migrate_plan_new(&plan, "trips", &err), &err);
	for (id = 1; id <= 20; id++) {
		snprintf(
			json, sizeof json,
			"{\"op\":\"create_table\",\"table\":\"t%d\",\"columns\":[{\"name\":\"id\",\"type\":\"bigint\"}]}",
			(int)id);
		pgt_step(pgt_version(plan, id, "v"), json);
	}
	CHECK_OK(migrate_target_open_postgres(&t, c, &err), &err);
	n10 = traced_round_trips(c, t, plan, 10, 0);
	n20 = traced_round_trips(c, t, plan, 20, 0);
	/* The same run overhead both times (the history's check, the lock, the
	 * history read, the one commit that waits, the unlock): the ten more
	 * versions cost two each. */
	fprintf(stderr, "round trips: %d for versions 1-10 (the history table's creation too), %d for 11-20\n", n10,
		n20);
	CHECK(n20 <= 10 * 2 + 5);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE state = 'applied'"), 20);
	/* Down the same: the inverse in one, the history's delete with the COMMIT in the other (no
	 * mark of the version as reverting before its transaction: that transaction's write says it). */
	down = traced_round_trips(c, t, plan, 10, 1);
	fprintf(stderr, "round trips: %d for reverting versions 20-11\n", down);
	CHECK(down <= 10 * 2 + 6); /* and the run's own */
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history"), 10);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_class WHERE relname IN ('t10', 't11', 't20')"), 1);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	PQfinish(c);
}

/*
 * Ends the server's WAL exactly on a page boundary and waits for the
 * walwriter to flush it: the insert position is then past the next page's
 * header, where nothing is written until something else writes WAL.
 */
static void wal_on_page_boundary(PGconn *c)
{
	int64_t page = pgt_int(c, "SELECT current_setting('wal_block_size')::bigint"), at, over, left;
	char sql[200];
	int tries;

	/* What a message record costs beyond its text (measured within one page: no page header). */
	for (tries = 0, over = -1; tries < 10 && over < 0; tries++) {
		int64_t end;
		at = pgt_int(c, "SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn");
		pgt_exec(c, "SELECT pg_logical_emit_message(false, 'x', repeat('a', 1000))");
		end = pgt_int(c, "SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn");
		if (at / page == end / page)
			over = end - at - 1000;
	}
	CHECK(over > 0);
	for (tries = 0; tries < 10; tries++) {
		at = pgt_int(c, "SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn");
		left = page - at % page;
		if (left < over + 8 || left % 8) {
			pgt_exec(c, "SELECT pg_logical_emit_message(false, 'x', repeat('a', 1000))");
			continue;
		}
		snprintf(sql, sizeof sql, "SELECT pg_logical_emit_message(false, 'x', repeat('a', %lld))",
			 (long long)(left - over));
		pgt_exec(c, sql);
		if (pgt_int(c, "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint % "
			       "current_setting('wal_block_size')::bigint") <= 40)
			break;
	}
	CHECK(tries < 10);
	while (pgt_int(c, "SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint % "
			  "current_setting('wal_block_size')::bigint") != 0)
		usleep(10000);
}

static int boundary_on_event(const migrate_event_t *ev, void *payload)
{
	/* After the commit of the down's last write, before the run's end waits. */
	if (ev->type == MIGRATE_EVENT_VERSION_END && ev->direction == MIGRATE_DIRECTION_DOWN)
		wal_on_page_boundary(payload);
	return 0;
}

/*
 * A down to 0 that empties the history has no row to lock at its end: it
 * still ends with one commit that waits, at once, even when the server's
 * WAL ends on a page boundary (an idle server does not flush past it). On
 * a server of its own: the suite's, which the other tests write to at the
 * same time, cannot be held on a page boundary.
 */
TEST(sync_without_a_history_row)
{
	const char *url = pgt_private_server();
	PGconn *c = pgt_connect(url), *side = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL;
	migrate_run_options_t o;
	migrate_error_t err;
	int64_t start, took = 0;
	int i;

	CHECK_OK(migrate_plan_new(&plan, "emptied", &err), &err);
	pgt_step(pgt_version(plan, 1, "t"),
		 "{\"op\":\"create_table\",\"table\":\"t\",\"columns\":[{\"name\":\"n\",\"type\":\"integer\"}]}");
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = boundary_on_event;
	o.event_payload = side;
	for (i = 0; i < 3; i++) {
		CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
		start = harness_mono_ms();
		CHECK_OK(migrate_down(t, plan, 0, &o, &err), &err);
		took += harness_mono_ms() - start;
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history"), 0);
	}
	fprintf(stderr, "three downs to 0 ending on a page boundary: %lld ms\n", (long long)took);
	CHECK(took < 3000);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	PQfinish(side);
	PQfinish(c);
	pgt_private_server_stop();
}

static int lock_history_on_event(const migrate_event_t *ev, void *payload)
{
	/* After the last version's commit, before the run's end: someone locks the history table. */
	if (ev->type == MIGRATE_EVENT_VERSION_END)
		pgt_exec(payload, "BEGIN; LOCK TABLE _migrate_history IN EXCLUSIVE MODE");
	return 0;
}

/*
 * The run's final commit that waits takes a row lock on the history: a
 * LOCK TABLE held on it keeps it waiting no longer than the target's
 * lock_timeout, and the run that had succeeded fails, to converge on the
 * next one.
 */
TEST(sync_waits_for_the_history_table_within_lock_timeout)
{
	const char *db = pgt_fresh_db("synclock");
	PGconn *c = pgt_connect(db), *side = pgt_connect(db);
	migrate_plan_t *plan = sql_plan("synclock", 1);
	migrate_target_t *t = NULL;
	migrate_run_options_t o;
	migrate_error_t err;
	char url[600];
	int64_t start, took;

	snprintf(url, sizeof url, "%s?migrate_lock_timeout_ms=300", db);
	CHECK_OK(migrate_target_open(&t, url, &err), &err);
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = lock_history_on_event;
	o.event_payload = side;
	start = harness_mono_ms();
	CHECK_INT(migrate_up(t, plan, 0, &o, &err), MIGRATE_EDB);
	took = harness_mono_ms() - start;
	CHECK_HAS(err.message, "making the run's commits durable");
	CHECK_HAS(err.message, "55P03");
	CHECK(took < 5000);
	pgt_exec(side, "COMMIT");
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE state = 'applied'"), 1);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	PQfinish(side);
	PQfinish(c);
}

/* The child of a_run_after_a_killed_one_waits: `up` of two versions, killed as version 2 starts. */
static int killed_at_version_2(void *arg, int ready)
{
	migrate_plan_t *plan = sql_plan("unsynced", 2);
	migrate_target_t *t = NULL;
	migrate_run_options_t o;
	migrate_error_t err;
	harness_pause_t p = {ready, 2, SIGKILL};

	if (migrate_target_open(&t, arg, &err) != 0)
		return 3;
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = harness_pause_at_version;
	o.event_payload = &p;
	migrate_up(t, plan, 0, &o, &err);
	return 1;
}

/*
 * A run killed after a commit and before its end's wait leaves a version
 * whose commit did not wait: the next run, even one with nothing to do,
 * ends with a commit that waits, before it reports the version applied.
 */
TEST(a_run_after_a_killed_one_waits)
{
	const char *url = pgt_fresh_db("unsynced");
	migrate_plan_t *plan = sql_plan("unsynced", 2);
	migrate_target_t *t = NULL;
	migrate_error_t err;
	FILE *trace = tmpfile();
	PGconn *c;
	int status = 0;
	pid_t pid;

	CHECK(trace != NULL);
	pid = harness_fork_ready(killed_at_version_2, (void *)url);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	c = pgt_connect(url);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE version = 1 AND state = 'applied'"), 1);
	CHECK_OK(migrate_target_open_postgres(&t, c, &err), &err);
	PQtrace(c, trace);
	PQsetTraceFlags(c, PQTRACE_SUPPRESS_TIMESTAMPS);
	CHECK_OK(migrate_up(t, plan, 1, NULL, &err), &err);
	PQuntrace(c);
	CHECK_INT(count_messages(trace, "FOR KEY SHARE", "pg_logical_emit_message"), 1);
	fclose(trace);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	PQfinish(c);
}

/*
 * Batches never pay for JIT compilation: a batch's estimated cost can pass
 * jit_above_cost and LLVM then holds its row locks for about 100 ms. Each
 * batch's transaction turns jit off (the backfill records what it saw).
 */
TEST(batches_run_without_jit)
{
	const char *url = pgt_fresh_db("nojit");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL;
	migrate_run_options_t o;
	migrate_error_t err;

	pgt_exec(c, "CREATE TABLE items (id bigint PRIMARY KEY, j text);"
		    "INSERT INTO items (id) SELECT g FROM generate_series(1, 10) g");
	CHECK_VALUE(c, "SHOW jit", "on");
	CHECK_OK(migrate_plan_new(&plan, "nojit", &err), &err);
	pgt_step(pgt_version(plan, 1, "jit seen"),
		 "{\"op\":\"backfill\",\"table\":\"items\",\"set\":{\"j\":{\"sql\":\"current_setting('jit')\"}},"
		 "\"down\":[]}");
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.batch_size = 3;
	CHECK_OK(migrate_up(t, plan, 0, &o, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM items WHERE j = 'off'"), 10);
	/* and the session's own setting is untouched */
	CHECK_VALUE(c, "SHOW jit", "on");
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	PQfinish(c);
}

/* ---- keep and restore ---- */

typedef struct keep_events {
	int progress;  /* PROGRESS events seen: one per committed batch */
	int cancel_at; /* cancel the run at this PROGRESS event (0: never) */
} keep_events_t;

static int keep_on_event(const migrate_event_t *ev, void *payload)
{
	keep_events_t *k = payload;

	if (ev->type != MIGRATE_EVENT_PROGRESS)
		return 0;
	return ++k->progress == k->cancel_at;
}

/* Every row of `table` as text, NULLs and all, in key order: equal when the data is. */
static char *rows_of(PGconn *c, const char *table, const char *order)
{
	char sql[300];

	snprintf(sql, sizeof sql, "SELECT string_agg(x::text, '|' ORDER BY %s) FROM %s x", order, table);
	return pgt_value(c, sql);
}

static int table_exists(PGconn *c, const char *name)
{
	char sql[300];
	char *s;
	int found;

	snprintf(sql, sizeof sql, "SELECT to_regclass('%s') IS NOT NULL", name);
	s = pgt_value(c, sql);
	found = s && !strcmp(s, "t");
	free(s);
	return found;
}

static void jobs_table(PGconn *c)
{
	/* Every third status NULL, every fifth group NULL; statuses the map rewrites and some it does not. */
	pgt_exec(c, "CREATE TABLE jobs (id integer PRIMARY KEY, status text, grp integer, note text);"
		    "INSERT INTO jobs SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE "
		    "(ARRAY['pending','planning','done','pending'])[1 + g % 4] END, "
		    "CASE WHEN g % 5 = 0 THEN NULL ELSE g % 2 END, 'n' || g FROM generate_series(1, 40) g");
}

#define JOBS_MAP                                                                                            \
	"{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"status\",\"keep\":\"jobs_status_kept\","    \
	"\"map\":{\"pending\":\"processing\",\"planning\":\"processing\"},\"where\":{\"grp\":{\"$ne\":0}}," \
	"\"batch_size\":3}"

/*
 * map_values with keep, in several batches: the rows it rewrites (those
 * of the where, NULL groups and NULL statuses left alone) keep their old
 * values in the kept table, and down sets every one back and drops it.
 * Up again after the down works the same. On the code before restore had
 * a PostgreSQL row, the down failed ("the postgres driver has no op").
 */
TEST(keep_map_values_down_restores_exactly)
{
	const char *url = pgt_fresh_db("keep_map");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL;
	migrate_run_options_t o;
	migrate_error_t err;
	keep_events_t ev = {0, 0};
	char *before, *after;
	int64_t rewritten;

	jobs_table(c);
	before = rows_of(c, "jobs", "id");
	/* $ne matches NULLs too (as on MongoDB). */
	rewritten = pgt_int(c, "SELECT count(*) FROM jobs WHERE grp IS DISTINCT FROM 0 AND "
			       "status IN ('pending', 'planning')");
	CHECK_INT(rewritten, 15);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs WHERE grp = 0 AND status IN ('pending', 'planning')"), 5);
	CHECK_OK(migrate_plan_new(&plan, "keep", &err), &err);
	pgt_step(pgt_version(plan, 1, "map"), JOBS_MAP);
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = keep_on_event;
	o.event_payload = &ev;
	for (int round = 0; round < 2; round++) {
		ev.progress = 0;
		CHECK_OK(migrate_up(t, plan, 0, &o, &err), &err);
		CHECK(ev.progress >= 3);
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs WHERE status = 'processing'"), rewritten);
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs WHERE status IN ('pending', 'planning')"), 5);
		/* One kept row per rewritten row, with its old value and its key's type. */
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs_status_kept"), rewritten);
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs_status_kept k JOIN jobs j USING (id) "
				     "WHERE j.status = 'processing' AND k.status IN ('pending', 'planning')"),
			  rewritten);
		CHECK_VALUE(
			c,
			"SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ',' ORDER BY attnum) "
			"FROM pg_attribute WHERE attrelid = 'jobs_status_kept'::regclass AND attnum > 0",
			"id:integer,status:text");
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_index WHERE indrelid = 'jobs_status_kept'::regclass "
				     "AND indisunique"),
			  1);

		CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
		after = rows_of(c, "jobs", "id");
		CHECK_STR(after, before);
		free(after);
		CHECK(!table_exists(c, "jobs_status_kept"));
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs WHERE status = 'processing'"), 0);
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs WHERE status IS NULL"), 13);
		CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history"), 0);
	}
	free(before);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
	PQfinish(c);
}

/*
 * backfill with keep of two columns, over a composite primary key (text
 * and integer) and a kept table whose name needs quoting: NULLs kept as
 * NULLs, a where, several batches; down restores both columns exactly.
 */
TEST(keep_backfill_two_columns_down_restores_exactly)
{
	const char *url = pgt_fresh_db("keep_backfill");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	char *before, *after;

	pgt_exec(c, "CREATE TABLE pairs (ns text, k integer, a text, b numeric(6, 2), c integer, "
		    "PRIMARY KEY (ns, k));"
		    "INSERT INTO pairs SELECT (ARRAY['x', 'y''z'])[1 + g % 2], g, "
		    "CASE WHEN g % 4 = 0 THEN NULL ELSE 'a' || g END, CASE WHEN g % 5 = 0 THEN NULL ELSE g / 4.0 END, "
		    "g % 3 FROM generate_series(1, 25) g");
	before = rows_of(c, "pairs", "ns, k");
	CHECK_OK(migrate_plan_new(&plan, "keep2", &err), &err);
	pgt_step(pgt_version(plan, 1, "backfill"),
		 "{\"op\":\"backfill\",\"table\":\"pairs\",\"keep\":\"pairs \\\"kept\\\"\",\"batch_size\":4,"
		 "\"set\":{\"a\":{\"sql\":\"upper(coalesce(a, 'none'))\"},\"b\":{\"value\":0}},"
		 "\"where\":{\"c\":{\"$ne\":0}}}");
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pairs WHERE c <> 0 AND b = 0 AND a = upper(a)"), 17);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pairs WHERE c = 0 AND (b IS NULL OR b <> 0)"), 8);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM \"pairs \"\"kept\"\"\""), 17);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM \"pairs \"\"kept\"\"\" WHERE a IS NULL"), 4);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM \"pairs \"\"kept\"\"\" WHERE b IS NULL"), 4);
	CHECK_VALUE(c,
		    "SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ',' ORDER BY attnum) "
		    "FROM pg_attribute WHERE attrelid = '\"pairs \"\"kept\"\"\"'::regclass AND attnum > 0",
		    "ns:text,k:integer,a:text,b:numeric(6,2)");
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	after = rows_of(c, "pairs", "ns, k");
	CHECK_STR(after, before);
	CHECK(!table_exists(c, "\"pairs \"\"kept\"\"\""));
	free(after);
	free(before);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
	PQfinish(c);
}

/*
 * drop_column with keep: the drop keeps every row's value (NULLs included)
 * in the same transaction; the down adds the column back as its definition
 * says (type, NOT NULL, default) and sets each value back.
 */
TEST(keep_drop_column_down_restores_exactly)
{
	const char *url = pgt_fresh_db("keep_drop");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	char *before, *after, *shape = NULL;
	const char *columns =
		"SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod) || ':' || "
		"attnotnull || ':' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ',' ORDER BY attnum) "
		"FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
		"WHERE attrelid = 'notes'::regclass AND attnum > 0 AND NOT attisdropped";

	pgt_exec(c, "CREATE TABLE notes (id integer PRIMARY KEY, body text, score numeric(6, 2) NOT NULL DEFAULT 1.5);"
		    "INSERT INTO notes SELECT g, 'b' || g, CASE WHEN g % 3 = 0 THEN 1.5 ELSE g / 4.0 END "
		    "FROM generate_series(1, 30) g");
	before = rows_of(c, "notes", "id");
	shape = pgt_value(c, columns);
	CHECK_OK(migrate_plan_new(&plan, "keepdrop", &err), &err);
	pgt_step(pgt_version(plan, 1, "drop"),
		 "{\"op\":\"drop_column\",\"table\":\"notes\",\"column\":\"score\",\"keep\":\"notes_score_kept\","
		 "\"definition\":{\"name\":\"score\",\"type\":{\"sql\":\"numeric(6, 2)\"},\"nullable\":false,"
		 "\"default\":{\"value\":1.5}}}");
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'notes'::regclass "
			     "AND attname = 'score' AND NOT attisdropped"),
		  0);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM notes_score_kept"), 30);
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	after = rows_of(c, "notes", "id");
	CHECK_STR(after, before);
	free(after);
	after = pgt_value(c, columns);
	CHECK_STR(after, shape);
	CHECK(!table_exists(c, "notes_score_kept"));
	free(after);
	free(shape);
	free(before);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
	PQfinish(c);
}

/*
 * A run canceled between batches keeps what its committed batches wrote;
 * the resumed run keeps the rest (no row twice: the backfill adds one),
 * and down restores the values from before the first run exactly.
 */
TEST(keep_resumed_after_cancel_restores_exactly)
{
	const char *url = pgt_fresh_db("keep_resume");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL;
	migrate_run_options_t o;
	migrate_error_t err;
	keep_events_t ev = {0, 2};
	char *before, *after;

	jobs_table(c);
	before = rows_of(c, "jobs", "id");
	CHECK_OK(migrate_plan_new(&plan, "keep_resume", &err), &err);
	pgt_step(pgt_version(plan, 1, "count and map"),
		 "{\"op\":\"backfill\",\"table\":\"jobs\",\"keep\":\"jobs_grp_kept\",\"batch_size\":7,"
		 "\"set\":{\"grp\":{\"sql\":\"coalesce(grp, 10) + 1\"}}}");
	pgt_step(pgt_version(plan, 2, "map"), JOBS_MAP);
	migrate_run_options_init(&o, MIGRATE_RUN_OPTIONS_VERSION);
	o.on_event = keep_on_event;
	o.event_payload = &ev;
	CHECK_INT(migrate_up(t, plan, 0, &o, &err), MIGRATE_ECANCELED);
	/* Two batches committed, each with its kept rows; the rest untouched and not kept. */
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs_grp_kept"), 14);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs j JOIN jobs_grp_kept k USING (id) "
			     "WHERE j.grp = coalesce(k.grp, 10) + 1"),
		  14);
	CHECK_INT(pgt_int(c, "SELECT max(id) FROM jobs_grp_kept"), 14);
	CHECK_VALUE_HAS(c, "SELECT checkpoint FROM _migrate_history", "\"done\":14");
	/* The second cancel lands in the map_values, after a batch of it. */
	ev.progress = 0;
	ev.cancel_at = 5;
	CHECK_INT(migrate_up(t, plan, 0, &o, &err), MIGRATE_ECANCELED);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs_grp_kept"), 40);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs_status_kept"), 3);
	ev.cancel_at = 0;
	CHECK_OK(migrate_up(t, plan, 0, &o, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs_grp_kept"), 40);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs WHERE grp = 1"), 16);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM jobs_status_kept"),
		  pgt_int(c, "SELECT count(*) FROM jobs WHERE status = 'processing'"));
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	after = rows_of(c, "jobs", "id");
	CHECK_STR(after, before);
	CHECK(!table_exists(c, "jobs_grp_kept"));
	CHECK(!table_exists(c, "jobs_status_kept"));
	free(after);
	free(before);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
	PQfinish(c);
}

/*
 * The kept table lives where the step's table does: unqualified, through
 * the search_path, not in the history's schema. Restore finds it there.
 */
TEST(keep_follows_the_search_path)
{
	const char *url = pgt_fresh_db("keep_schema");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = NULL;
	migrate_postgres_options_t po;
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	char *before, *after;

	pgt_exec(c, "CREATE SCHEMA app; CREATE SCHEMA meta; SET search_path TO app");
	jobs_table(c);
	before = rows_of(c, "app.jobs", "id");
	CHECK_OK(migrate_postgres_options_init(&po, MIGRATE_POSTGRES_OPTIONS_VERSION), &err);
	po.schema = "meta";
	CHECK_OK(migrate_target_open_postgres_opts(&t, c, &po, &err), &err);
	CHECK_OK(migrate_plan_new(&plan, "keep_schema", &err), &err);
	pgt_step(pgt_version(plan, 1, "map"), JOBS_MAP);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK(table_exists(c, "app.jobs_status_kept"));
	CHECK(!table_exists(c, "public.jobs_status_kept"));
	CHECK(!table_exists(c, "meta.jobs_status_kept"));
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM meta._migrate_history WHERE state = 'applied'"), 1);
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	after = rows_of(c, "app.jobs", "id");
	CHECK_STR(after, before);
	CHECK(!table_exists(c, "app.jobs_status_kept"));
	free(after);
	free(before);
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	PQfinish(c);
}

/* The unique indexes on `table` (the kept table's key). */
static int64_t unique_indexes(PGconn *c, const char *table)
{
	char sql[512];

	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
		 "WHERE t.relname = '%s' AND i.indisunique",
		 table);
	return pgt_int(c, sql);
}

/*
 * A kept table's key index is named within PostgreSQL's 63 bytes: the
 * name "<keep>__migrate_key" of a 63-byte keep was truncated to the kept
 * table's own name, so IF NOT EXISTS skipped the index and the kept table
 * had no key (a row kept twice, and the down restoring either value).
 * Two long keeps with a common start each have their own.
 */
TEST(keep_long_names_have_their_key)
{
	const char *url = pgt_fresh_db("keep_long");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL;
	migrate_error_t err;
	char step[512];
	/* 63 bytes, the longest identifier; then two of 55 sharing their first 51. */
	const char *k63 = "kept_status_of_jobs_kept_status_of_jobs_kept_status_of_jobs_063";
	const char *k55a = "kept_status_of_jobs_kept_status_of_jobs_kept_statu_aaaa";
	const char *k55b = "kept_status_of_jobs_kept_status_of_jobs_kept_statu_bbbb";

	CHECK_INT(strlen(k63), 63);
	jobs_table(c);
	CHECK_OK(migrate_plan_new(&plan, "keep_long", &err), &err);
	snprintf(step, sizeof step,
		 "{\"op\":\"map_values\",\"table\":\"jobs\",\"column\":\"status\",\"keep\":\"%s\","
		 "\"map\":{\"pending\":\"processing\"}}",
		 k63);
	pgt_step(pgt_version(plan, 1, "k63"), step);
	snprintf(step, sizeof step,
		 "{\"op\":\"backfill\",\"table\":\"jobs\",\"keep\":\"%s\",\"set\":{\"note\":{\"value\":\"a\"}}}", k55a);
	pgt_step(pgt_version(plan, 2, "k55a"), step);
	snprintf(step, sizeof step,
		 "{\"op\":\"backfill\",\"table\":\"jobs\",\"keep\":\"%s\",\"set\":{\"grp\":{\"value\":7}}}", k55b);
	pgt_step(pgt_version(plan, 3, "k55b"), step);
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK(table_exists(c, k63));
	CHECK_INT(unique_indexes(c, k63), 1);
	CHECK_INT(unique_indexes(c, k55a), 1);
	CHECK_INT(unique_indexes(c, k55b), 1);
	CHECK_OK(migrate_down(t, plan, 0, NULL, &err), &err);
	CHECK(!table_exists(c, k63));
	migrate_target_close(t);
	migrate_plan_destroy(plan);
	PQfinish(c);
}

/*
 * plan shows the kept table, the copy of each batch's old values and the
 * restore; a restore whose kept table is gone (restored already) does
 * nothing; a table without a primary key has no key to keep by.
 */
TEST(keep_render_gone_and_keyless)
{
	const char *url = pgt_fresh_db("keep_render");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL, *restore = NULL, *keyless = NULL;
	migrate_error_t err;
	char *out = NULL;

	jobs_table(c);
	CHECK_OK(migrate_plan_new(&plan, "keep_render", &err), &err);
	pgt_step(pgt_version(plan, 1, "map"), JOBS_MAP);
	CHECK_OK(migrate_render(t, plan, 0, &out, &err), &err);
	CHECK_HAS(out,
		  "CREATE TABLE IF NOT EXISTS \"jobs_status_kept\" AS SELECT \"id\" AS \"id\", \"status\" "
		  "FROM \"jobs\" WHERE 1 = 0;\nCREATE UNIQUE INDEX IF NOT EXISTS \"jobs_status_kept__migrate_key\" ON "
		  "\"jobs_status_kept\" (\"id\");\n");
	CHECK_HAS(out, "INSERT INTO \"jobs_status_kept\" (\"id\", \"status\") SELECT \"id\", \"status\" FROM "
		       "\"jobs\" WHERE (\"id\") > ($1) AND (\"id\") <= ($2) AND (((\"grp\" IS NULL OR \"grp\" <> $3))) "
		       "AND \"status\"::text IN ($4, $5) FOR NO KEY UPDATE ON CONFLICT DO NOTHING;\n");
	CHECK(strstr(out, "INSERT INTO") < strstr(out, "UPDATE \"jobs\" SET"));
	migrate_free(out);
	CHECK(!table_exists(c, "jobs_status_kept"));

	/* A restore step of its own: its key is read from the kept table, a placeholder until there is one. */
	CHECK_OK(migrate_plan_new(&restore, "restore", &err), &err);
	pgt_step(pgt_version(restore, 1, "restore"),
		 "{\"op\":\"restore\",\"table\":\"jobs\",\"from\":\"jobs_status_kept\",\"columns\":[\"status\"]}");
	CHECK_OK(migrate_render(t, restore, 0, &out, &err), &err);
	CHECK_HAS(out, "UPDATE \"jobs\" SET \"status\" = \"_migrate_kept\".\"status\" FROM \"jobs_status_kept\" AS "
		       "\"_migrate_kept\" WHERE \"jobs\".\"<key of the kept rows>\" = \"_migrate_kept\".\"<key of the "
		       "kept rows>\";\nDROP TABLE \"jobs_status_kept\";\n");
	migrate_free(out);
	pgt_exec(c, "CREATE TABLE jobs_status_kept (id integer, status text)");
	CHECK_OK(migrate_render(t, restore, 0, &out, &err), &err);
	CHECK_HAS(out, "WHERE \"jobs\".\"id\" = \"_migrate_kept\".\"id\";\nDROP TABLE \"jobs_status_kept\";\n");
	migrate_free(out);
	/* Gone: nothing to set back, the step succeeds and changes nothing. */
	pgt_exec(c, "DROP TABLE jobs_status_kept");
	CHECK_OK(migrate_up(t, restore, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE plan = 'restore' AND state = 'applied'"), 1);

	/* Without a primary key: refused before anything is written or kept. */
	pgt_exec(c, "CREATE TABLE heap (x integer, s text); INSERT INTO heap VALUES (1, 'a'), (2, NULL)");
	CHECK_OK(migrate_plan_new(&keyless, "keyless", &err), &err);
	pgt_step(pgt_version(keyless, 1, "keyless"),
		 "{\"op\":\"backfill\",\"table\":\"heap\",\"keep\":\"heap_kept\",\"set\":{\"s\":{\"value\":\"b\"}}}");
	CHECK_INT(migrate_render(t, keyless, 0, &out, &err), MIGRATE_EUNSUPPORTED);
	CHECK_HAS(err.message, "table \"heap\" has no primary key: backfill with \"keep\" needs one");
	CHECK_INT(migrate_up(t, keyless, 0, NULL, &err), MIGRATE_EUNSUPPORTED);
	CHECK_HAS(err.message, "has no primary key");
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM heap WHERE s = 'b'"), 0);
	CHECK(!table_exists(c, "heap_kept"));

	migrate_plan_destroy(keyless);
	migrate_plan_destroy(restore);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
	PQfinish(c);
}

/*
 * A restore step on its own (as a plan may write one): each kept row's
 * values set back by the kept table's key (its columns but the restored
 * ones, here two), rows it does not hold left alone, the kept table
 * dropped; the same step run again finds it gone and does nothing.
 */
TEST(restore_sets_back_by_key_and_drops_the_kept_table)
{
	const char *url = pgt_fresh_db("restore");
	PGconn *c = pgt_connect(url);
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *plan = NULL;
	migrate_error_t err;

	pgt_exec(c, "CREATE TABLE kv (ns text, k integer, v text, w integer, PRIMARY KEY (ns, k));"
		    "INSERT INTO kv VALUES ('a', 1, 'new', 0), ('a', 2, 'new', 0), ('b', 1, 'new', 0), "
		    "('b', 2, 'new', 0);"
		    "CREATE TABLE kv_kept AS SELECT ns, k, v, w FROM kv WHERE false;"
		    "INSERT INTO kv_kept VALUES ('a', 1, 'old', 1), ('b', 1, NULL, NULL), ('b', 2, '', 2)");
	CHECK_OK(migrate_plan_new(&plan, "restore", &err), &err);
	pgt_step(pgt_version(plan, 1, "restore"),
		 "{\"op\":\"restore\",\"table\":\"kv\",\"from\":\"kv_kept\",\"columns\":[\"v\",\"w\"]}");
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_VALUE(c, "SELECT string_agg(x::text, '|' ORDER BY ns, k) FROM kv x",
		    "(a,1,old,1)|(a,2,new,0)|(b,1,,)|(b,2,\"\",2)");
	CHECK(!table_exists(c, "kv_kept"));
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE state = 'applied'"), 1);
	/* Run again (its version forgotten): the kept table is gone, so it was restored already. */
	pgt_exec(c, "UPDATE kv SET v = 'later'; DELETE FROM _migrate_history");
	CHECK_OK(migrate_up(t, plan, 0, NULL, &err), &err);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM kv WHERE v = 'later'"), 4);
	CHECK_INT(pgt_int(c, "SELECT count(*) FROM _migrate_history WHERE state = 'applied'"), 1);
	migrate_plan_destroy(plan);
	migrate_target_close(t);
	PQfinish(c);
}

/* A raw step that declares what it makes keeps the comparison complete. */
TEST(check_schema_declared)
{
	const char *url = pgt_fresh_db("drift_declared");
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *p = drift_plan(1);
	migrate_schema_report_t *r;
	migrate_error_t err;
	PGconn *c;

	drift_add_declared(p, "{\"op\":\"sql\",\"up\":\"CREATE INDEX jobs_raw_idx ON jobs (n); "
			      "CREATE TABLE raw_t (a text)\",\"down\":\"DROP TABLE raw_t; DROP INDEX jobs_raw_idx\"}");
	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	r = drift_report(t, p);
	CHECK_INT(migrate_schema_report_count(r), 0);
	CHECK_INT(migrate_schema_report_partial(r), 0);
	migrate_schema_report_destroy(r);

	c = pgt_connect(url);
	pgt_exec(c, "DROP INDEX jobs_raw_idx; DROP TABLE raw_t; CREATE INDEX rogue_idx ON jobs (name)");
	CHECK_VALUE(c, "SELECT to_regclass('jobs_raw_idx') IS NULL AND to_regclass('raw_t') IS NULL", "t");
	PQfinish(c);
	r = drift_report(t, p);
	drift_check_declared(r);
	migrate_schema_report_destroy(r);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}

/* Drift (check --schema): a clean database reports nothing; each change made behind the library's back is found. */
TEST(check_schema)
{
	const char *url = pgt_fresh_db("drift");
	migrate_target_t *t = pgt_target(url);
	migrate_plan_t *p = drift_plan(1);
	migrate_schema_report_t *r;
	migrate_error_t err;
	PGconn *c;

	CHECK_OK(migrate_up(t, p, 0, NULL, &err), &err);
	r = drift_report(t, p);
	CHECK_INT(migrate_schema_report_count(r), 0);
	CHECK_INT(migrate_schema_report_state(r), MIGRATE_CHECK_UP_TO_DATE);
	migrate_schema_report_destroy(r);

	c = pgt_connect(url);
	pgt_exec(c, "DROP TABLE extra_t");
	pgt_exec(c, "DROP INDEX jobs_status_idx");
	pgt_exec(c, "ALTER TABLE jobs DROP COLUMN note");
	pgt_exec(c, "ALTER TABLE jobs ALTER COLUMN n TYPE bigint");
	pgt_exec(c, "ALTER TABLE jobs ALTER COLUMN name DROP NOT NULL");
	pgt_exec(c, "ALTER TABLE jobs ALTER COLUMN status DROP DEFAULT");
	pgt_exec(c, "ALTER TABLE jobs DROP CONSTRAINT jobs_pkey");
	pgt_exec(c, "ALTER TABLE jobs ADD COLUMN rogue integer");
	pgt_exec(c, "ALTER TYPE jobstatus RENAME VALUE 'done' TO 'finished'");
	pgt_exec(c, "CREATE INDEX rogue_idx ON jobs (n)");
	pgt_exec(c, "CREATE TABLE not_in_plan (x integer)");
	CHECK_VALUE(c, "SELECT to_regclass('extra_t') IS NULL", "t");
	CHECK_VALUE(c, "SELECT to_regclass('jobs_status_idx') IS NULL", "t");
	CHECK_VALUE(c, "SELECT count(*) FROM pg_index WHERE indrelid = 'jobs'::regclass AND indisprimary", "0");
	CHECK_VALUE(c, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'jobs'::regclass AND attname = 'note'", "0");
	CHECK_VALUE(c,
		    "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'jobs'::regclass "
		    "AND attname = 'n'",
		    "bigint");
	CHECK_VALUE(c,
		    "SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum "
		    "WHERE enumtypid = 'jobstatus'::regtype",
		    "pending,running,finished");
	PQfinish(c);

	r = drift_report(t, p);
	drift_check_sql(r, "integer", "bigint");
	CHECK_DRIFT(r, MIGRATE_DRIFT_DIFFERENT, "jobs.name", "nullable", 1);
	CHECK_DRIFT(r, MIGRATE_DRIFT_DIFFERENT, "jobs.status", "default", 1);
	CHECK_DRIFT(r, MIGRATE_DRIFT_DIFFERENT, "jobs", "columns", 1);
	CHECK_STR(migrate_finding_object_type(drift_find(r, MIGRATE_DRIFT_DIFFERENT, "jobs", "columns")),
		  "primary_key");
	CHECK_STR(migrate_finding_expected(drift_find(r, MIGRATE_DRIFT_DIFFERENT, "jobs", "columns")), "(id)");
	CHECK_STR(migrate_finding_actual(drift_find(r, MIGRATE_DRIFT_DIFFERENT, "jobs", "columns")), "()");
	CHECK_DRIFT(r, MIGRATE_DRIFT_EXTRA, "jobs.rogue", NULL, 1);
	CHECK_DRIFT(r, MIGRATE_DRIFT_DIFFERENT, "jobstatus", "values", 1);
	CHECK_STR(migrate_finding_actual(drift_find(r, MIGRATE_DRIFT_DIFFERENT, "jobstatus", "values")),
		  "pending, running, finished");
	CHECK_INT(migrate_schema_report_count(r), 10);
	migrate_schema_report_destroy(r);
	migrate_target_close(t);
	migrate_plan_destroy(p);
}
