/*
 * Every op of the step catalog lowered to SQLite. Most ops become a short
 * list of statements that is either run (apply_step) or printed
 * (render_step), so what render shows is what apply sends. The exceptions
 * have files of their own: enums (enum.c), table rebuilds (rebuild.c),
 * batched updates (backfill.c) and asserts (assert.c).
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

/*
 * An op's function both renders (x->out set) and applies (x->exec set), so
 * that what render shows is what apply sends.
 */
typedef migrate__lower lower_ctx_t;
#define CONN(x) ((sq_conn_t *)(x)->conn)
#define RENDERING(x) ((x)->out != NULL)

static migrate_sql_t *add(lower_ctx_t *x, sq_stmts_t *l)
{
	migrate_sql_t *q = migrate__sq_stmts_add(l, CONN(x));

	if (!q)
		migrate__err(x->err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	return q;
}

static int finish(lower_ctx_t *x, sq_stmts_t *l, int rc)
{
	if (rc == 0) {
		if (RENDERING(x))
			migrate__sq_stmts_render(l, x->out);
		else
			rc = migrate__sq_stmts_run(CONN(x), l, x->err);
	}
	migrate__sq_stmts_free(l);
	return rc;
}

static int op_create_table(lower_ctx_t *x)
{
	sq_stmts_t l = {0};
	migrate_sql_t *q = add(x, &l);

	return finish(x, &l, q ? migrate__sql_create_table(q, x->doc, NULL, x->err) : MIGRATE_ENOMEM);
}

static int op_drop_table(lower_ctx_t *x)
{
	sq_stmts_t l = {0};
	migrate_sql_t *q = add(x, &l);
	const char *table = migrate__sql_doc_ident(x->doc, "table", x->err);

	if (!q || !table)
		return finish(x, &l, q ? MIGRATE_EPLAN : MIGRATE_ENOMEM);
	migrate__sql_append(q, "DROP TABLE ");
	migrate__sql_ident(q, table);
	return finish(x, &l, 0);
}

/* ALTER TABLE "t" RENAME [COLUMN "a"] TO "b"; `table` is NULL for a table rename. */
static int rename_stmt(lower_ctx_t *x, const char *table)
{
	sq_stmts_t l = {0};
	migrate_sql_t *q = add(x, &l);
	const char *from = migrate__sql_doc_ident(x->doc, "from", x->err);
	const char *to = from ? migrate__sql_doc_ident(x->doc, "to", x->err) : NULL;

	if (!q || !to)
		return finish(x, &l, q ? MIGRATE_EPLAN : MIGRATE_ENOMEM);
	migrate__sql_append(q, "ALTER TABLE ");
	migrate__sql_ident(q, table ? table : from);
	if (table) {
		migrate__sql_append(q, " RENAME COLUMN ");
		migrate__sql_ident(q, from);
	} else {
		migrate__sql_append(q, " RENAME");
	}
	migrate__sql_append(q, " TO ");
	migrate__sql_ident(q, to);
	return finish(x, &l, 0);
}

static int op_rename_table(lower_ctx_t *x)
{
	return rename_stmt(x, NULL);
}

static int op_rename_column(lower_ctx_t *x)
{
	const char *table = migrate__sql_doc_ident(x->doc, "table", x->err);

	return table ? rename_stmt(x, table) : MIGRATE_EPLAN;
}

/* Renders a rebuild: its statements, or a description when the table does not exist yet. */
static int render_rebuild(lower_ctx_t *x, const char *table, const sq_change_t *ch, const char *why)
{
	sq_stmts_t l = {0};
	int rc;

	migrate_buf_printf(x->out, "-- %s: SQLite's ALTER TABLE cannot do this; the table is rebuilt\n", why);
	rc = migrate__sq_rebuild_stmts(CONN(x), table, ch, &l, x->err);
	if (rc == MIGRATE_ENOTFOUND) {
		migrate_buf_t *name = migrate__buf_new(NULL);
		migrate__sql_quote_ident(name, table);
		migrate_buf_printf(x->out,
				   "-- (%s does not exist yet: CREATE TABLE with the new definition, "
				   "INSERT ... SELECT, DROP TABLE, ALTER TABLE ... RENAME, recreate indexes and "
				   "triggers)\n",
				   name->str);
		migrate__buf_free(name, true);
		rc = 0;
	}
	if (rc == 0) {
		migrate_buf_append(x->out, "SAVEPOINT migrate_rebuild;\n");
		migrate__sq_stmts_render(&l, x->out);
		migrate_buf_append(x->out, "RELEASE migrate_rebuild;\n");
	}
	migrate__sq_stmts_free(&l);
	return rc;
}

static int op_add_column(lower_ctx_t *x)
{
	sq_stmts_t l = {0};
	migrate_sql_t *q;
	bson_t col;
	sq_change_t ch = {NULL, NULL};
	const char *table = migrate__sql_doc_ident(x->doc, "table", x->err);

	if (!table || !migrate__doc_sub(x->doc, "column", &col))
		return migrate__err(x->err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN,
				    "add_column: table and column are required");
	if (migrate__sq_add_column_native(&col)) {
		if (!(q = add(x, &l)))
			return MIGRATE_ENOMEM;
		return finish(x, &l, migrate__sql_add_column(q, table, &col, x->err));
	}
	ch.add_column = &col;
	if (RENDERING(x))
		return render_rebuild(x, table, &ch,
				      "add_column with UNIQUE, an expression default or NOT NULL "
				      "without a default");
	return migrate__sq_rebuild(CONN(x), table, &ch, x->err);
}

/*
 * DROP INDEX for the indexes made by CREATE INDEX that have `column` as a
 * key: PostgreSQL drops them with the column, and SQLite refuses to drop an
 * indexed column.
 */
static int index_drops(lower_ctx_t *x, const char *table, const char *column, sq_stmts_t *l)
{
	migrate_sql_t q, *s;
	sqlite3_stmt *st = NULL;
	int rc;

	migrate__sql_init(&q, &migrate__sq_dialect, CONN(x));
	migrate__sql_append(&q, "SELECT il.name FROM pragma_index_list(");
	migrate__sql_param_str(&q, table);
	migrate__sql_append(&q, ") AS il WHERE il.origin = 'c' AND EXISTS (SELECT 1 FROM pragma_index_xinfo(il.name) "
				"AS ix WHERE ix.key AND ix.name = ");
	migrate__sql_param_str(&q, column);
	migrate__sql_append(&q, " COLLATE NOCASE) ORDER BY il.name");
	if ((rc = migrate__sq_prepare_q(CONN(x), &q, &st, x->err)))
		goto cleanup;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(s = add(x, l))) {
			rc = MIGRATE_ENOMEM;
			goto cleanup;
		}
		migrate__sql_append(s, "DROP INDEX ");
		migrate__sql_ident(s, (const char *)sqlite3_column_text(st, 0));
	}
	rc = rc == SQLITE_DONE ? 0 : migrate__sq_err(CONN(x), x->err, "listing indexes");
cleanup:
	sqlite3_finalize(st);
	migrate__sql_free(&q);
	return rc;
}

/*
 * The native ALTER TABLE DROP COLUMN, in a savepoint; when SQLite refuses
 * (the column is in a key, a UNIQUE, CHECK or FOREIGN KEY constraint ...)
 * the savepoint is rolled back and the table rebuilt without the column.
 */
static int op_drop_column(lower_ctx_t *x)
{
	sq_stmts_t l = {0};
	migrate_sql_t *q;
	sq_change_t ch = {NULL, NULL};
	const char *table = migrate__sql_doc_ident(x->doc, "table", x->err);
	const char *column = table ? migrate__sql_doc_ident(x->doc, "column", x->err) : NULL;
	int rc;

	if (!column)
		return MIGRATE_EPLAN;
	/* keep: every row's value copied first, in the same transaction. */
	if (bson_has_field(x->doc, "keep") && (rc = migrate__sq_keep_all(CONN(x), x->doc, x->out, x->err)))
		return rc;
	if ((rc = index_drops(x, table, column, &l)) || !(q = add(x, &l)))
		return finish(x, &l, rc ? rc : MIGRATE_ENOMEM);
	migrate__sql_append(q, "ALTER TABLE ");
	migrate__sql_ident(q, table);
	migrate__sql_append(q, " DROP COLUMN ");
	migrate__sql_ident(q, column);
	if (RENDERING(x)) {
		migrate_buf_append(x->out, "-- (rebuilt instead, as for add_column, when SQLite refuses to drop the "
					   "column: it is in a key, a UNIQUE, CHECK or FOREIGN KEY constraint)\n");
		return finish(x, &l, 0);
	}
	if ((rc = migrate__sq_exec(CONN(x), "SAVEPOINT migrate_drop_column", x->err)))
		return finish(x, &l, rc);
	rc = migrate__sq_stmts_run(CONN(x), &l, x->err);
	migrate__sq_stmts_free(&l);
	if (rc == MIGRATE_EDB && (sqlite3_errcode(CONN(x)->db) & 0xff) == SQLITE_ERROR) {
		sqlite3_exec(CONN(x)->db, "ROLLBACK TO migrate_drop_column", NULL, NULL, NULL);
		ch.drop_column = column;
		rc = migrate__sq_rebuild(CONN(x), table, &ch, x->err);
	}
	if (rc) {
		sqlite3_exec(CONN(x)->db, "ROLLBACK TO migrate_drop_column; RELEASE migrate_drop_column", NULL, NULL,
			     NULL);
		return rc;
	}
	return migrate__sq_exec(CONN(x), "RELEASE migrate_drop_column", x->err);
}

static int op_create_index(lower_ctx_t *x)
{
	sq_stmts_t l = {0};
	migrate_sql_t *q = add(x, &l);

	/* "online" needs nothing on SQLite: an index build is one write transaction either way. */
	return finish(x, &l, q ? migrate__sql_create_index(q, x->doc, NULL, 0, x->err) : MIGRATE_ENOMEM);
}

static int op_drop_index(lower_ctx_t *x)
{
	sq_stmts_t l = {0};
	migrate_sql_t *q = add(x, &l);
	const char *name = migrate__sql_doc_ident(x->doc, "name", x->err);

	if (!q || !name)
		return finish(x, &l, q ? MIGRATE_EPLAN : MIGRATE_ENOMEM);
	migrate__sql_append(q, "DROP INDEX ");
	migrate__sql_ident(q, name);
	return finish(x, &l, 0);
}

static int op_create_enum(lower_ctx_t *x)
{
	return migrate__sq_create_enum(CONN(x), x->doc, RENDERING(x), x->out, x->err);
}

static int op_drop_enum(lower_ctx_t *x)
{
	return migrate__sq_drop_enum(CONN(x), x->doc, RENDERING(x), x->out, x->err);
}

static int op_batched(lower_ctx_t *x)
{
	if (RENDERING(x))
		return migrate__sq_render_batched(CONN(x), x->doc, x->out, x->err);
	return migrate__sq_batched(CONN(x), x->doc, x->exec, x->err);
}

/* The kept table's key: its columns other than the restored ones. */
static int kept_keys(lower_ctx_t *x, const char *from, char ***keys, size_t *n)
{
	migrate_sql_t q;
	sqlite3_stmt *st = NULL;
	int rc;

	migrate__sql_init(&q, &migrate__sq_dialect, CONN(x));
	migrate__sql_append(&q, "SELECT name FROM pragma_table_info(");
	migrate__sql_param_str(&q, from);
	migrate__sql_append(&q, ") ORDER BY cid");
	if ((rc = migrate__sq_prepare_q(CONN(x), &q, &st, x->err)))
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char **more;
		if (migrate__sql_restored(x->doc, name))
			continue;
		if (!(more = migrate__realloc(*keys, (*n + 1) * sizeof(*more))) ||
		    !(more[*n] = migrate__strdup(name))) {
			if (more)
				*keys = more;
			rc = migrate__err(x->err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
			goto done;
		}
		*keys = more;
		++*n;
	}
	rc = rc == SQLITE_DONE ? 0 : migrate__sq_err(CONN(x), x->err, "reading the kept table's columns");
	if (rc == 0 && *n == 0)
		rc = migrate__err(x->err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
				  "restore: \"%s\" holds no key column besides the restored ones", from);
done:
	sqlite3_finalize(st);
	migrate__sql_free(&q);
	return rc;
}

/* restore's "definition": the dropped column added back, as add_column would. */
static int add_back(lower_ctx_t *x)
{
	lower_ctx_t y = *x;
	bson_t step;
	int rc;

	if (!migrate__sql_restore_add(x->doc, &step))
		return 0;
	y.doc = &step;
	rc = op_add_column(&y);
	bson_destroy(&step);
	return rc;
}

/*
 * restore: a dropped column added back (definition), the kept values set
 * back by key, then the kept table dropped (one transaction with the
 * version). A kept table that is gone was restored and dropped already:
 * nothing to do.
 */
static int op_restore(lower_ctx_t *x)
{
	const char *from = migrate__doc_str(x->doc, "from");
	char **keys = NULL, *placeholder[] = {"<key of the kept rows>"};
	size_t n = 0;
	int exists = 0, rc;
	sq_stmts_t l = {0};
	migrate_sql_t *q;

	if ((rc = migrate__sq_exists(CONN(x), "table", from, &exists, x->err)))
		return rc;
	if (!exists && !RENDERING(x)) {
		migrate__log(MIGRATE_LOG_INFO, "sqlite: restore: \"%s\" is gone: restored already", from);
		return 0;
	}
	if ((rc = add_back(x)))
		return rc;
	if (exists && (rc = kept_keys(x, from, &keys, &n)))
		goto done;
	if (!(q = add(x, &l))) {
		rc = MIGRATE_ENOMEM;
		goto done;
	}
	migrate__sql_restore(q, x->doc, exists ? keys : placeholder, exists ? n : 1);
	if (!(q = add(x, &l))) {
		rc = MIGRATE_ENOMEM;
		goto done;
	}
	migrate__sql_append(q, "DROP TABLE ");
	migrate__sql_ident(q, from);
	rc = finish(x, &l, 0);
	l.n = 0;
done:
	migrate__sq_stmts_free(&l);
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	return rc;
}

/* Raw SQL, several statements allowed. On the down path the engine passes {"up": <down>}. */
static int op_sql(lower_ctx_t *x)
{
	const char *up = migrate__doc_str(x->doc, "up");

	if (RENDERING(x)) {
		size_t n = strlen(up);
		while (n > 0 && (up[n - 1] == ' ' || up[n - 1] == '\n' || up[n - 1] == '\t' || up[n - 1] == '\r'))
			n--;
		migrate_buf_append(x->out, up);
		migrate_buf_append(x->out, n > 0 && up[n - 1] == ';' ? "\n" : ";\n");
		return 0;
	}
	return migrate__sq_exec(CONN(x), up, x->err);
}

static int op_assert(lower_ctx_t *x)
{
	return migrate__sq_assert(CONN(x), x->doc, RENDERING(x), x->out, x->err);
}

static int check_command(lower_ctx_t *x)
{
	return migrate__err(x->err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
			    "command steps are MongoDB only; use a sql step on SQLite");
}

static int check_assert(lower_ctx_t *x)
{
	if (bson_has_field(x->doc, "command"))
		return migrate__err(x->err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
				    "assert command is MongoDB only; use assert sql on SQLite");
	return 0;
}

static int check_backfill(lower_ctx_t *x)
{
	bson_t set;
	bson_iter_t it, e;

	if (!migrate__doc_sub(x->doc, "set", &set))
		return 0;
	bson_iter_init(&it, &set);
	while (bson_iter_next(&it))
		if (BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &e) && bson_iter_find(&e, "mongo"))
			return migrate__err(x->err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
					    "set.%s: {\"mongo\": ...} expressions are MongoDB only; use "
					    "{\"sql\": ...} or a portable expression on SQLite",
					    bson_iter_key(&it));
	return 0;
}

/* Every op on SQLite: check, flags, render, apply (one function does both). */
static const migrate__lowering ops[MIGRATE_OP_COUNT] = {
	[MIGRATE_OP_CREATE_TABLE] = {NULL, NULL, op_create_table, op_create_table},
	[MIGRATE_OP_DROP_TABLE] = {NULL, NULL, op_drop_table, op_drop_table},
	[MIGRATE_OP_RENAME_TABLE] = {NULL, NULL, op_rename_table, op_rename_table},
	[MIGRATE_OP_ADD_COLUMN] = {NULL, NULL, op_add_column, op_add_column},
	[MIGRATE_OP_DROP_COLUMN] = {NULL, NULL, op_drop_column, op_drop_column},
	[MIGRATE_OP_RENAME_COLUMN] = {NULL, NULL, op_rename_column, op_rename_column},
	[MIGRATE_OP_CREATE_INDEX] = {NULL, NULL, op_create_index, op_create_index},
	[MIGRATE_OP_DROP_INDEX] = {NULL, NULL, op_drop_index, op_drop_index},
	[MIGRATE_OP_CREATE_ENUM] = {NULL, NULL, op_create_enum, op_create_enum},
	[MIGRATE_OP_DROP_ENUM] = {NULL, NULL, op_drop_enum, op_drop_enum},
	[MIGRATE_OP_MAP_VALUES] = {NULL, migrate__lower_no_txn, op_batched, op_batched},
	[MIGRATE_OP_BACKFILL] = {check_backfill, migrate__lower_no_txn, op_batched, op_batched},
	[MIGRATE_OP_SQL] = {NULL, NULL, op_sql, op_sql},
	[MIGRATE_OP_COMMAND] = {check_command, NULL, NULL, NULL},
	[MIGRATE_OP_ASSERT] = {check_assert, NULL, op_assert, op_assert},
	[MIGRATE_OP_RESTORE] = {NULL, NULL, op_restore, op_restore},
};

/* Ops that rewrite the stored schema, which SQLite re-parses (see migrate__sq_stored_schema_dqs). */
static bool reworks_stored_schema(migrate_op_t op)
{
	return op == MIGRATE_OP_RENAME_TABLE || op == MIGRATE_OP_DROP_COLUMN || op == MIGRATE_OP_RENAME_COLUMN;
}

int migrate__sq_check_step(void *conn, const migrate_step_t *step, migrate_error_t *err)
{
	return migrate__lower_check(ops, "sqlite", conn, step, err);
}

unsigned migrate__sq_step_flags(void *conn, const migrate_step_t *step)
{
	return migrate__lower_flags(ops, conn, step);
}

int migrate__sq_render_step(void *conn, const migrate_step_t *step, migrate_buf_t *out, migrate_error_t *err)
{
	sq_conn_t *c = conn;
	int rc;

	c->rendering = 1;
	rc = migrate__lower_render(ops, "sqlite", conn, step, out, err);
	c->rendering = 0;
	return rc;
}

int migrate__sq_apply_step(void *conn, const migrate_step_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	bool stored = reworks_stored_schema(migrate_step_op(step));
	int rc;

	if (stored && (rc = migrate__sq_stored_schema_dqs(conn, 1, err)))
		return rc;
	rc = migrate__lower_apply(ops, "sqlite", conn, step, exec, err);
	if (stored && migrate__sq_stored_schema_dqs(conn, 0, NULL))
		migrate__log(MIGRATE_LOG_WARNING, "SQLite: cannot turn double-quoted strings in DDL off again");
	return rc;
}
