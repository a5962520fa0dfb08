/*
 * Steps lowered to PostgreSQL: the dialect handed to the shared lowering
 * of lib/sql (types, defaults, array lengths, enum columns), the DDL
 * statement of each schema op, and the table of every op (at the end).
 */
#include <stdlib.h>
#include <string.h>

#include "pg.h"

void migrate__pg_ident(migrate_buf_t *out, const char *name)
{
	migrate__sql_quote_ident(out, name);
}

char *migrate__pg_column_type(pg_target_t *t, const char *table, const char *column, char *category)
{
	migrate_buf_t *qt;
	const char *p[2];
	PGresult *res = NULL;
	migrate_error_t e;
	char *type = NULL;

	*category = 0;
	if (!t || !t->conn || t->no_catalog || migrate__pg_lost(t) || PQtransactionStatus(t->conn) == PQTRANS_INERROR)
		return NULL;
	qt = migrate__buf_new(NULL);
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
	migrate__buf_free(qt, true);
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
	migrate_buf_t *c = migrate__buf_new(NULL);

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
	migrate__buf_free(c, true);
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

/* ---- the DDL statement of each schema op ---- */

static int build_create_table(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	return migrate__sql_create_table(q, step, NULL, err);
}

static int build_drop_table(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	return drop(q, step, "TABLE", "table", err);
}

static int build_rename_table(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	const char *from, *to;
	int rc;

	if ((rc = ident_field(step, "from", &from, err)) || (rc = ident_field(step, "to", &to, err)))
		return rc;
	migrate__sql_append(q, "ALTER TABLE ");
	migrate__sql_ident(q, from);
	migrate__sql_append(q, " RENAME TO ");
	migrate__sql_ident(q, to);
	return 0;
}

static int build_add_column(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	const char *table;
	bson_t column;
	int rc;

	if ((rc = ident_field(step, "table", &table, err)))
		return rc;
	migrate__doc_sub(step, "column", &column);
	return migrate__sql_add_column(q, table, &column, err);
}

static int build_drop_column(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	return alter(q, step, "table", "DROP COLUMN", "column", NULL, err);
}

static int build_rename_column(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	return alter(q, step, "table", "RENAME COLUMN", "from", "to", err);
}

static int build_create_index(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	return migrate__sql_create_index(q, step, NULL, 0, err);
}

int migrate__pg_build_index_concurrently(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	return migrate__sql_create_index(q, step, "CONCURRENTLY", 0, err);
}

static int build_drop_index(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	return drop(q, step, "INDEX", "name", err);
}

static int build_create_enum(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	bson_t values;
	bson_iter_t it;
	const char *name;
	int rc, first = 1;

	if ((rc = ident_field(step, "name", &name, err)))
		return rc;
	migrate__doc_sub(step, "values", &values);
	migrate__sql_append(q, "CREATE TYPE ");
	migrate__sql_ident(q, name);
	migrate__sql_append(q, " AS ENUM (");
	bson_iter_init(&it, &values);
	while (bson_iter_next(&it)) {
		uint32_t len;
		const char *v = bson_iter_utf8(&it, &len);
		if (!first)
			migrate__sql_append(q, ", ");
		first = 0;
		if ((rc = migrate__sql_quote_string(q->text, v, len, err)))
			return rc;
	}
	migrate__sql_append(q, ")");
	return 0;
}

static int build_drop_enum(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	return drop(q, step, "TYPE", "name", err);
}

/* ---- each op, rendered (x->out) or applied ---- */

static void append_statement(migrate_buf_t *out, const char *sql)
{
	size_t n = strlen(sql);

	migrate_buf_append(out, sql);
	while (n > 0 && (sql[n - 1] == ' ' || sql[n - 1] == '\n' || sql[n - 1] == '\t'))
		n--;
	if (n == 0 || sql[n - 1] != ';')
		migrate_buf_append(out, ";");
	migrate_buf_append(out, "\n");
}

/* One DDL statement: shown, or run in a savepoint under the run's lock_timeout, retried on lock timeouts. */
static int ddl(migrate__lower *x, int (*build)(migrate_sql_t *, const bson_t *, migrate_error_t *))
{
	pg_target_t *t = x->conn;
	migrate_sql_t q;
	int rc;

	if ((rc = literal_safe(t, x->err)))
		return rc;
	migrate__sql_init(&q, &migrate__pg_dialect, t);
	if ((rc = build(&q, x->doc, x->err)) == 0) {
		if (x->out)
			append_statement(x->out, migrate__sql_text(&q));
		else
			rc = migrate__pg_run_retrying(t, migrate__sql_text(&q), x->exec, 0, migrate__ops[x->op].name,
						      x->err);
	}
	migrate__sql_free(&q);
	return rc;
}

static int create_table(migrate__lower *x)
{
	return ddl(x, build_create_table);
}

static int drop_table(migrate__lower *x)
{
	return ddl(x, build_drop_table);
}

static int rename_table(migrate__lower *x)
{
	return ddl(x, build_rename_table);
}

/* A column with a volatile default or NOT NULL on a big table is added in phases (add_column.c). */
static int add_column(migrate__lower *x)
{
	pg_target_t *t = x->conn;
	int rc;

	if (!migrate__pg_add_column_phased(x->doc))
		return ddl(x, build_add_column);
	if ((rc = literal_safe(t, x->err)))
		return rc;
	if (x->out)
		return migrate__pg_add_column_render(t, x->doc, x->out, x->err);
	if (t->in_txn)
		return ddl(x, build_add_column);
	return migrate__pg_add_column_apply(t, x->doc, x->exec, x->err);
}

/* With keep, every row's value is copied first, in the same transaction. */
static int drop_column(migrate__lower *x)
{
	int rc;

	if (bson_has_field(x->doc, "keep") && (rc = migrate__pg_keep_all(x->conn, x->doc, x->exec, x->out, x->err)))
		return rc;
	return ddl(x, build_drop_column);
}

static int rename_column(migrate__lower *x)
{
	return ddl(x, build_rename_column);
}

static bool online(const migrate__lower *x)
{
	return migrate__doc_bool(x->doc, "online", false);
}

/* "online": true builds CONCURRENTLY outside any transaction (apply.c); in a transactional version, plainly. */
static int create_index(migrate__lower *x)
{
	pg_target_t *t = x->conn;
	int rc;

	if (!online(x))
		return ddl(x, build_create_index);
	if ((rc = literal_safe(t, x->err)))
		return rc;
	if (x->out) {
		migrate_buf_append(x->out, "-- outside a transaction; an INVALID index from an earlier failed build "
					   "is dropped first\n");
		return ddl(x, migrate__pg_build_index_concurrently);
	}
	if (t->in_txn)
		return ddl(x, build_create_index);
	return migrate__pg_online_index(t, x->doc, x->exec, x->err);
}

static int drop_index(migrate__lower *x)
{
	return ddl(x, build_drop_index);
}

static int create_enum(migrate__lower *x)
{
	return ddl(x, build_create_enum);
}

static int drop_enum(migrate__lower *x)
{
	return ddl(x, build_drop_enum);
}

/* map_values and backfill: keyset batches, each its own transaction (batch.c). */
static int batched(migrate__lower *x)
{
	if (x->out)
		return migrate__pg_batch_render(x->conn, x->doc, migrate__ops[x->op].name, x->out, x->err);
	return migrate__pg_batch_apply(x->conn, x->doc, migrate__ops[x->op].name, x->exec, x->err);
}

/*
 * The kept table's key: its columns other than the restored ones. The
 * table is found as the step's statements name it, unqualified, through
 * the search_path; *exists = 0 when it is not there.
 */
static int kept_keys(pg_target_t *t, const bson_t *step, int *exists, char ***keys, size_t *n, migrate_error_t *err)
{
	const char *from = migrate__doc_str(step, "from");
	migrate_buf_t *qt = migrate__buf_new(NULL);
	const char *p[1];
	PGresult *res = NULL;
	int rc, i;

	migrate__pg_ident(qt, from);
	p[0] = qt->str;
	rc = migrate__pg_exec(t,
			      "SELECT a.attname FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid "
			      "AND a.attnum > 0 AND NOT a.attisdropped WHERE c.oid = to_regclass($1) ORDER BY a.attnum",
			      1, p, &res, "reading the kept table's columns", err);
	if (rc)
		goto done;
	*exists = PQntuples(res) > 0;
	for (i = 0; i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);
		char **more;
		if (PQgetisnull(res, i, 0) || migrate__sql_restored(step, name))
			continue;
		if (!(more = migrate__realloc(*keys, (*n + 1) * sizeof(*more))) ||
		    !(more[*n] = migrate__strdup(name))) {
			if (more)
				*keys = more;
			rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
			goto done;
		}
		*keys = more;
		++*n;
	}
	if (*exists && *n == 0)
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
				  "restore: \"%s\" holds no key column besides the restored ones", from);
done:
	PQclear(res);
	migrate__buf_free(qt, true);
	return rc;
}

/* restore's "definition": the dropped column added back, as add_column would. */
static int add_back(migrate__lower *x)
{
	migrate__lower y = *x;
	bson_t step;
	int rc;

	if (!migrate__sql_restore_add(x->doc, &step))
		return 0;
	y.doc = &step;
	rc = add_column(&y);
	bson_destroy(&step);
	return rc;
}

/*
 * restore: a dropped column added back (definition), then the kept values
 * set back by key and the kept table dropped, in one query (transactional
 * with the version). A kept table that is gone
 * was restored and dropped already: nothing to do. Rendered before the
 * kept table exists, the key is a placeholder.
 */
static int restore(migrate__lower *x)
{
	pg_target_t *t = x->conn;
	const char *from = migrate__doc_str(x->doc, "from");
	char **keys = NULL, *placeholder[] = {"<key of the kept rows>"};
	size_t n = 0;
	int exists = 0, catalog, rc = 0;
	migrate_sql_t q;

	catalog = t && t->conn && !t->no_catalog && !migrate__pg_lost(t) &&
		  PQtransactionStatus(t->conn) != PQTRANS_INERROR;
	if ((catalog || !x->out) && (rc = kept_keys(t, x->doc, &exists, &keys, &n, x->err)))
		goto done;
	if (!exists && !x->out) {
		migrate__log(MIGRATE_LOG_INFO, "postgres: restore: \"%s\" is gone: restored already", from);
		goto done;
	}
	if ((rc = add_back(x)))
		goto done;
	migrate__sql_init(&q, &migrate__pg_dialect, t);
	migrate__sql_restore(&q, x->doc, exists ? keys : placeholder, exists ? n : 1);
	migrate__sql_append(&q, ";\nDROP TABLE ");
	migrate__sql_ident(&q, from);
	if (x->out)
		append_statement(x->out, migrate__sql_text(&q));
	else
		rc = migrate__pg_run_retrying(t, migrate__sql_text(&q), x->exec, 0, "restore", x->err);
	migrate__sql_free(&q);
done:
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	return rc;
}

/* Raw SQL; in a version with "transactional": false, sent alone as a simple query (apply.c). */
static int sql(migrate__lower *x)
{
	pg_target_t *t = x->conn;
	const char *up = migrate__doc_str(x->doc, "up");

	if (x->out) {
		append_statement(x->out, up);
		return 0;
	}
	if (t->in_txn)
		return migrate__pg_run_retrying(t, up, x->exec, 0, "sql step", x->err);
	return migrate__pg_sql_alone(t, up, x->exec, x->err);
}

static int assert_(migrate__lower *x)
{
	if (x->out)
		return migrate__pg_render_assert(x->conn, x->doc, x->out, x->err);
	return migrate__pg_assert(x->conn, x->doc, x->err);
}

static int check_command(migrate__lower *x)
{
	return migrate__err(x->err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
			    "command steps are for MongoDB; use a sql step on PostgreSQL");
}

static unsigned flags_add_column(const migrate__lower *x)
{
	return migrate__pg_add_column_phased(x->doc) ? MIGRATE_STEP_NO_TXN : 0;
}

static unsigned flags_create_index(const migrate__lower *x)
{
	return online(x) ? MIGRATE_STEP_NO_TXN : 0;
}

/* Raw SQL may refuse a transaction block (CREATE INDEX CONCURRENTLY, VACUUM ...). */
static unsigned flags_sql(const migrate__lower *x)
{
	(void)x;
	return MIGRATE_STEP_AUTOCOMMIT;
}

/* Every op on PostgreSQL: check, flags, render, apply (one function does both). */
static const migrate__lowering ops[MIGRATE_OP_COUNT] = {
	[MIGRATE_OP_CREATE_TABLE] = {NULL, NULL, create_table, create_table},
	[MIGRATE_OP_DROP_TABLE] = {NULL, NULL, drop_table, drop_table},
	[MIGRATE_OP_RENAME_TABLE] = {NULL, NULL, rename_table, rename_table},
	[MIGRATE_OP_ADD_COLUMN] = {NULL, flags_add_column, add_column, add_column},
	[MIGRATE_OP_DROP_COLUMN] = {NULL, NULL, drop_column, drop_column},
	[MIGRATE_OP_RENAME_COLUMN] = {NULL, NULL, rename_column, rename_column},
	[MIGRATE_OP_CREATE_INDEX] = {NULL, flags_create_index, create_index, create_index},
	[MIGRATE_OP_DROP_INDEX] = {NULL, NULL, drop_index, drop_index},
	[MIGRATE_OP_CREATE_ENUM] = {NULL, NULL, create_enum, create_enum},
	[MIGRATE_OP_DROP_ENUM] = {NULL, NULL, drop_enum, drop_enum},
	[MIGRATE_OP_MAP_VALUES] = {NULL, migrate__lower_no_txn, batched, batched},
	[MIGRATE_OP_BACKFILL] = {NULL, migrate__lower_no_txn, batched, batched},
	[MIGRATE_OP_SQL] = {NULL, flags_sql, sql, sql},
	[MIGRATE_OP_COMMAND] = {check_command, NULL, NULL, NULL},
	[MIGRATE_OP_ASSERT] = {NULL, NULL, assert_, assert_},
	[MIGRATE_OP_RESTORE] = {NULL, NULL, restore, restore},
};

int migrate__pg_check_step(void *conn, const migrate_step_t *step, migrate_error_t *err)
{
	pg_target_t *t = conn;
	migrate_buf_t *scratch;
	int rc, saved = t->no_catalog;

	if ((rc = migrate__lower_check(ops, "postgres", conn, step, err)))
		return rc;
	/* Lowering the step finds everything this driver cannot express, without touching the database. */
	scratch = migrate__buf_new(NULL);
	t->no_catalog = 1;
	rc = migrate__lower_render(ops, "postgres", conn, step, scratch, err);
	t->no_catalog = saved;
	migrate__buf_free(scratch, true);
	return rc;
}

unsigned migrate__pg_step_flags(void *conn, const migrate_step_t *step)
{
	return migrate__lower_flags(ops, conn, step);
}

int migrate__pg_render_step(void *conn, const migrate_step_t *step, migrate_buf_t *out, migrate_error_t *err)
{
	return migrate__lower_render(ops, "postgres", conn, step, out, err);
}

int migrate__pg_apply_step(void *conn, const migrate_step_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	return migrate__lower_apply(ops, "postgres", conn, step, exec, err);
}
