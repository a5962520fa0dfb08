/* The conformance suite's PostgreSQL backend: a database per scenario run on the test server. */
#include <bson/bson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "harness.h"
#include "postgres_util.h"

static const char *fresh(const char *tag)
{
	return pgt_fresh_db(tag);
}

static void seed(const char *url, int rows)
{
	PGconn *c = PQconnectdb(url);
	char sql[600];

	CHECK(PQstatus(c) == CONNECTION_OK);
	pgt_exec(c, "CREATE TABLE legacy (id integer PRIMARY KEY, tags jsonb, status text, counter integer)");
	snprintf(sql, sizeof sql,
		 "INSERT INTO legacy SELECT g, (ARRAY['[]','[1]','[1,2]','[1,2,3]'])[1 + g %% 4]::jsonb, "
		 "(ARRAY['a','b','c'])[1 + g %% 3], g * 10 FROM generate_series(1, %d) g",
		 rows);
	pgt_exec(c, sql);
	PQfinish(c);
}

/* The plan's objects only: not libmigrate's own tables, not the audit table (counted apart). */
static char *dump(const char *url)
{
	static const char schema_sql[] =
		"SELECT coalesce(string_agg(line, E'\\n' ORDER BY line), '') FROM ("
		"SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' "
		"|| coalesce(column_default, '') AS line FROM information_schema.columns WHERE table_schema = "
		"current_schema() AND (table_name NOT LIKE '\\_migrate\\_%' AND table_name <> 'audit') UNION ALL "
		"SELECT 'index ' || t.relname || ' valid=' || i.indisvalid || ' ' || pg_get_indexdef(i.indexrelid) "
		"FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid WHERE t.relnamespace = "
		"current_schema()::regnamespace AND (t.relname NOT LIKE '\\_migrate\\_%' AND t.relname <> 'audit') UNION ALL "
		"SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) "
		"FROM pg_constraint WHERE connamespace = current_schema()::regnamespace AND "
		"(conrelid::regclass::text NOT LIKE '\\_migrate\\_%' AND conrelid::regclass::text <> 'audit') UNION ALL "
		"SELECT 'enum ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM "
		"pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname) x";
	PGconn *c = PQconnectdb(url);
	bson_string_t *out = bson_string_new("schema:\n");
	PGresult *tables;
	char *s, *res;
	int i;

	CHECK(PQstatus(c) == CONNECTION_OK);
	s = pgt_value(c, schema_sql);
	bson_string_append_printf(out, "%s\n", s);
	free(s);
	tables = PQexec(
		c, "SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = "
		   "current_schema() AND (table_name NOT LIKE '\\_migrate\\_%' AND table_name <> 'audit') ORDER BY 1");
	CHECK(PQresultStatus(tables) == PGRES_TUPLES_OK);
	for (i = 0; i < PQntuples(tables); i++) {
		char q[300];
		snprintf(q, sizeof q, "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM %s t",
			 PQgetvalue(tables, i, 0));
		s = pgt_value(c, q);
		bson_string_append_printf(out, "table %s:\n%s\n", PQgetvalue(tables, i, 0), s);
		free(s);
	}
	PQclear(tables);
	if (pgt_int(c, "SELECT count(*) FROM information_schema.tables WHERE table_name = '_migrate_history' AND "
		       "table_schema = current_schema()") > 0) {
		s = pgt_value(c, "SELECT coalesce(string_agg(concat_ws(' ', plan, version, name, checksum, state, "
				 "steps_done, checkpoint, error), E'\\n' ORDER BY plan, version), '') FROM "
				 "_migrate_history");
		if (*s)
			bson_string_append_printf(out, "history:\n%s\n", s);
		free(s);
	}
	PQfinish(c);
	res = strdup(out->str);
	bson_string_free(out, true);
	return res;
}

static long audit_runs(const char *url)
{
	PGconn *c = PQconnectdb(url);
	long n;

	CHECK(PQstatus(c) == CONNECTION_OK);
	n = (long)pgt_int(c, "SELECT CASE WHEN to_regclass('audit') IS NULL THEN 0 ELSE "
			     "(xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM audit', false, true, "
			     "'')))[1]::text::int END");
	PQfinish(c);
	return n;
}

static const conf_backend backend = {
	.name = "postgres",
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
