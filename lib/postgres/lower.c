/*
 * Steps lowered to PostgreSQL: the dialect handed to the shared lowering
 * of lib/sql (types, defaults, array lengths, enum columns), and the DDL
 * statement of each schema op.
 */
#include <stdlib.h>
#include <string.h>

#include "pg.h"

void migrate__pg_ident(bson_string_t *out, const char *name)
{
	migrate__sql_quote_ident(out, name);
}

char *migrate__pg_column_type(pg_target_t *t, const char *table, const char *column, char *category)
{
	bson_string_t *qt;
	const char *p[2];
	PGresult *res = NULL;
	migrate_error_t e;
	char *type = NULL;

	*category = 0;
	if (!t || !t->conn || t->no_catalog || migrate__pg_lost(t) || PQtransactionStatus(t->conn) == PQTRANS_INERROR)
		return NULL;
	qt = bson_string_new(NULL);
	migrate__pg_ident(qt, table);
	p[0] = qt->str;
	p[1] = column;
	if (migrate__pg_exec(
		    t,
		    "SELECT format_type(a.atttypid, a.atttypmod), t.typcategory, t.typname "
		    "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
		    "WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
		    2, p, &res, "reading the column type", &e) == 0 &&
	    PQntuples(res) == 1) {
		const char *name = PQgetvalue(res, 0, 2);
		*category = PQgetvalue(res, 0, 1)[0];
		if (strcmp(name, "jsonb") == 0)
			*category = 'j';
		else if (strcmp(name, "json") == 0)
			*category = 'J';
		type = migrate__strdup(PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	bson_string_free(qt, true);
	return type;
}

/*
 * The length of an array column: native arrays and json/jsonb arrays have
 * different functions, so the column's type is read from the catalog; a
 * column not created yet (render of a pending plan) gets the form that
 * works for every type through to_jsonb().
 */
static int pg_array_length(migrate_sql_t *q, const char *table, const char *column, migrate_error_t *err)
{
	char category;
	char *type = migrate__pg_column_type(q->ctx, table, column, &category);
	bson_string_t *c = bson_string_new(NULL);

	(void)err;
	migrate__pg_ident(c, column);
	if (type && category == 'A')
		migrate__sql_printf(q, "COALESCE(array_length(%s, 1), 0)", c->str);
	else if (type && category == 'j')
		migrate__sql_printf(q, "(CASE WHEN jsonb_typeof(%s) = 'array' THEN jsonb_array_length(%s) ELSE 0 END)",
				    c->str, c->str);
	else if (type && category == 'J')
		migrate__sql_printf(q, "(CASE WHEN json_typeof(%s) = 'array' THEN json_array_length(%s) ELSE 0 END)",
				    c->str, c->str);
	else
		migrate__sql_printf(
			q,
			"(CASE WHEN jsonb_typeof(to_jsonb(%s)) = 'array' THEN jsonb_array_length(to_jsonb(%s)) "
			"ELSE 0 END)",
			c->str, c->str);
	free(type);
	bson_string_free(c, true);
	return 0;
}

/* enum:<name> is a type of its own, made by create_enum. */
static int pg_enum_column(migrate_sql_t *q, const char *enum_name, const char *column, migrate_error_t *err)
{
	(void)column;
	(void)err;
	migrate__sql_ident(q, enum_name);
	return 0;
}

const migrate_sql_dialect_t migrate__pg_dialect = {
	"postgres",
	MIGRATE_SQL_PARAM_DOLLAR,
	{"text", "integer", "bigint", "double precision", "boolean", "uuid", "jsonb", "timestamptz", "bytea"},
	"now()",
	"gen_random_uuid()",
	"TRUE",
	"FALSE",
	pg_array_length,
	pg_enum_column,
	"::text",
	migrate__pg_exists_query,
};

static int ident_field(const bson_t *step, const char *key, const char **out, migrate_error_t *err)
{
	*out = migrate__sql_doc_ident(step, key, err);
	return *out ? 0 : MIGRATE_EPLAN;
}

/* Literals in DDL are quoted '...' with quotes doubled; that is only safe with standard strings. */
static int literal_safe(pg_target_t *t, migrate_error_t *err)
{
	const char *scs = t && t->conn ? PQparameterStatus(t->conn, "standard_conforming_strings") : NULL;

	if (scs && strcmp(scs, "off") == 0)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
				    "standard_conforming_strings is off on this connection; libmigrate renders DDL "
				    "literals for standard strings only");
	return 0;
}

static int create_enum(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	bson_t values;
	bson_iter_t it;
	const char *name;
	int rc, first = 1;

	if ((rc = ident_field(step, "name", &name, err)))
		return rc;
	if (!migrate__doc_sub(step, "values", &values))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "values: is required");
	migrate__sql_append(q, "CREATE TYPE ");
	migrate__sql_ident(q, name);
	migrate__sql_append(q, " AS ENUM (");
	bson_iter_init(&it, &values);
	while (bson_iter_next(&it)) {
		uint32_t len;
		const char *v;
		if (!BSON_ITER_HOLDS_UTF8(&it))
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "values: must hold strings");
		v = bson_iter_utf8(&it, &len);
		if (!first)
			migrate__sql_append(q, ", ");
		first = 0;
		if ((rc = migrate__sql_quote_string(q->text, v, len, err)))
			return rc;
	}
	migrate__sql_append(q, ")");
	return 0;
}

/* ALTER TABLE "t" <verb> "a" [TO "b"]. */
static int alter(migrate_sql_t *q, const bson_t *step, const char *table_key, const char *verb, const char *a_key,
		 const char *b_key, migrate_error_t *err)
{
	const char *table, *a = NULL, *b = NULL;
	int rc;

	if ((rc = ident_field(step, table_key, &table, err)) || (a_key && (rc = ident_field(step, a_key, &a, err))) ||
	    (b_key && (rc = ident_field(step, b_key, &b, err))))
		return rc;
	migrate__sql_append(q, "ALTER TABLE ");
	migrate__sql_ident(q, table);
	migrate__sql_printf(q, " %s", verb);
	if (a) {
		migrate__sql_append(q, " ");
		migrate__sql_ident(q, a);
	}
	if (b) {
		migrate__sql_append(q, " TO ");
		migrate__sql_ident(q, b);
	}
	return 0;
}

static int drop(migrate_sql_t *q, const bson_t *step, const char *what, const char *key, migrate_error_t *err)
{
	const char *name;
	int rc;

	if ((rc = ident_field(step, key, &name, err)))
		return rc;
	migrate__sql_printf(q, "DROP %s ", what);
	migrate__sql_ident(q, name);
	return 0;
}

int migrate__pg_lower_ddl(pg_target_t *t, const bson_t *step, const char *op, int concurrently, migrate_sql_t *q,
			  migrate_error_t *err)
{
	bson_t column;
	int rc;

	if ((rc = literal_safe(t, err)))
		return rc;
	if (!strcmp(op, "create_table"))
		return migrate__sql_create_table(q, step, NULL, err);
	if (!strcmp(op, "drop_table"))
		return drop(q, step, "TABLE", "table", err);
	if (!strcmp(op, "rename_table")) {
		const char *from, *to;
		if ((rc = ident_field(step, "from", &from, err)) || (rc = ident_field(step, "to", &to, err)))
			return rc;
		migrate__sql_append(q, "ALTER TABLE ");
		migrate__sql_ident(q, from);
		migrate__sql_append(q, " RENAME TO ");
		migrate__sql_ident(q, to);
		return 0;
	}
	if (!strcmp(op, "add_column")) {
		const char *table;
		if ((rc = ident_field(step, "table", &table, err)))
			return rc;
		if (!migrate__doc_sub(step, "column", &column))
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "column: must be an object");
		return migrate__sql_add_column(q, table, &column, err);
	}
	if (!strcmp(op, "drop_column"))
		return alter(q, step, "table", "DROP COLUMN", "column", NULL, err);
	if (!strcmp(op, "rename_column"))
		return alter(q, step, "table", "RENAME COLUMN", "from", "to", err);
	if (!strcmp(op, "create_index"))
		return migrate__sql_create_index(q, step, concurrently ? "CONCURRENTLY" : NULL, 0, err);
	if (!strcmp(op, "drop_index"))
		return drop(q, step, "INDEX", "name", err);
	if (!strcmp(op, "create_enum"))
		return create_enum(q, step, err);
	if (!strcmp(op, "drop_enum"))
		return drop(q, step, "TYPE", "name", err);
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED, "the postgres driver has no op \"%s\"",
			    op);
}
