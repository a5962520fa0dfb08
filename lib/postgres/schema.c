/*
 * Drift detection on PostgreSQL: one query over pg_catalog whose single
 * value is the JSON document schema_read returns. Tables and enums are
 * resolved like the steps' unqualified names, through the search_path
 * (to_regclass, to_regtype of the quoted name). Column types are compared
 * as format_type() spells them; an enum column's as "enum:<name>"; raw
 * {"sql": ...} types are not compared (the catalog spells them its own way:
 * varchar(36) is "character varying(36)"). An index left invalid by a
 * failed online build is reported as such.
 */
#include <stdlib.h>

#include "pg.h"

/* $1: {"tables": [names], "enums": [names]} as JSON. */
static const char catalog_sql[] =
	"WITH w AS (SELECT $1::jsonb AS j), "
	"t AS (SELECT n AS name, c.oid FROM w, jsonb_array_elements_text(w.j->'tables') AS n "
	"JOIN pg_class c ON c.oid = to_regclass(quote_ident(n)) AND c.relkind IN ('r', 'p')) "
	"SELECT jsonb_build_object("
	"'tables', COALESCE((SELECT jsonb_object_agg(t.name, jsonb_build_object("
	"'columns', COALESCE((SELECT jsonb_object_agg(a.attname, jsonb_build_object("
	"'type', CASE WHEN ty.typtype = 'e' THEN 'enum:' || ty.typname ELSE format_type(a.atttypid, a.atttypmod) END, "
	"'nullable', NOT a.attnotnull, 'default', a.atthasdef)) "
	"FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid "
	"WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped), '{}'::jsonb), "
	"'primary_key', COALESCE((SELECT jsonb_agg(a.attname ORDER BY k.ord) FROM pg_index i "
	"CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
	"JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
	"WHERE i.indrelid = t.oid AND i.indisprimary), '[]'::jsonb), "
	"'indexes', COALESCE((SELECT jsonb_object_agg(ic.relname, jsonb_build_object("
	"'unique', i.indisunique, 'where', i.indpred IS NOT NULL, 'valid', i.indisvalid, "
	"'constraint', EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid "
	"AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u')), "
	"'keys', (SELECT jsonb_agg(jsonb_build_object('column', a.attname, 'order', "
	"CASE WHEN (i.indoption[k.ord - 1] & 1) = 1 THEN 'desc' ELSE 'asc' END) ORDER BY k.ord) "
	"FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
	"LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0 "
	"WHERE k.ord <= i.indnkeyatts))) "
	"FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = t.oid), '{}'::jsonb))) "
	"FROM t), '{}'::jsonb), "
	"'enums', COALESCE((SELECT jsonb_object_agg(n, (SELECT jsonb_agg(e.enumlabel ORDER BY e.enumsortorder) "
	"FROM pg_enum e WHERE e.enumtypid = to_regtype(quote_ident(n)))) "
	"FROM w, jsonb_array_elements_text(w.j->'enums') AS n "
	"WHERE EXISTS (SELECT 1 FROM pg_type ty WHERE ty.oid = to_regtype(quote_ident(n)) AND ty.typtype = 'e')), "
	"'{}'::jsonb))::text";

int migrate__pg_schema_read(void *conn, const bson_t *wanted, bson_t *out, migrate_error_t *err)
{
	pg_target_t *t = conn;
	char *want = migrate__sql_schema_wanted(wanted);
	const char *values[1];
	PGresult *res = NULL;
	int rc;

	if (!want)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	values[0] = want;
	if ((rc = migrate__pg_exec(t, catalog_sql, 1, values, &res, "reading the catalog", err)) == 0)
		rc = migrate__sql_schema_parse(PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : NULL, out, err);
	PQclear(res);
	free(want);
	return rc;
}

void migrate__pg_schema_type(void *conn, const bson_t *column, migrate_buf_t *out)
{
	/* migrate__pg_dialect's types, as format_type() names them. */
	static const char *const names[MIGRATE_SQL_TYPE_COUNT] = {
		"text", "integer", "bigint", "double precision", "boolean", "uuid", "jsonb", "timestamp with time zone",
		"bytea"};

	(void)conn;
	migrate__sql_schema_type(names, NULL, false, column, out);
}
