/*
 * Table rebuilds: the procedure of the SQLite documentation ("Making Other
 * Kinds Of Table Schema Changes", https://sqlite.org/lang_altertable.html)
 * for the changes ALTER TABLE cannot make: adding a column with a
 * non-constant default, a UNIQUE constraint or NOT NULL without a default,
 * and dropping a column that is part of a key or constraint.
 *
 * The new definition is the table's stored CREATE TABLE text with one
 * column definition added or removed, so everything else (CHECK
 * constraints, collations, WITHOUT ROWID ...) is kept. The text is split at
 * its top-level commas with a tokenizer that knows SQLite's quotes and
 * comments. Then, inside a savepoint: create the new table, copy the rows
 * (rowids included), drop the old table, rename the new one, recreate the
 * indexes and triggers, and check foreign keys.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

#define REBUILD_PREFIX "_migrate_rebuild_"

typedef struct item {
	char *text;   /* the column definition or table constraint, trimmed */
	char *column; /* the column name (dequoted) of a column definition, else NULL */
} item_t;

typedef struct table_def {
	item_t *items;
	size_t n;
	char *suffix; /* what follows the closing parenthesis: " WITHOUT ROWID", " STRICT" ... */
} table_def_t;

static void def_free(table_def_t *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->items[i].text);
		free(d->items[i].column);
	}
	free(d->items);
	free(d->suffix);
	memset(d, 0, sizeof *d);
}

/* Past a quoted token starting at p ('...', "...", `...` or [...]). */
static const char *skip_quoted(const char *p)
{
	char close = (char)(*p == '[' ? ']' : *p);

	for (p++; *p; p++) {
		if (*p == close) {
			if (close != ']' && p[1] == close) {
				p++;
				continue;
			}
			return p + 1;
		}
	}
	return p;
}

/* Past a comment starting at p, or p itself when none starts there. */
static const char *skip_comment(const char *p)
{
	if (p[0] == '-' && p[1] == '-') {
		while (*p && *p != '\n')
			p++;
		return p;
	}
	if (p[0] == '/' && p[1] == '*') {
		const char *e = strstr(p + 2, "*/");
		return e ? e + 2 : p + strlen(p);
	}
	return p;
}

static const char *skip_space(const char *p)
{
	const char *q;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if ((q = skip_comment(p)) == p)
			return p;
		p = q;
	}
}

static bool is_word_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '$' || (unsigned char)ch >= 0x80;
}

/*
 * The identifier token at p, dequoted, into a new string; *end past it.
 * NULL when p is not an identifier.
 */
static char *ident_at(const char *p, const char **end)
{
	migrate_buf_t *s;
	const char *e;

	if (*p == '"' || *p == '`' || *p == '[' || *p == '\'') {
		char close = (char)(*p == '[' ? ']' : *p);
		e = skip_quoted(p);
		*end = e;
		s = migrate__buf_new(NULL);
		for (p++; p < e; p++) {
			if (*p == close) {
				if (close == ']' || p[1] != close)
					break;
				p++;
			}
			migrate_buf_append_c(s, *p);
		}
		return migrate__buf_free(s, false);
	}
	if (!is_word_char(*p) || isdigit((unsigned char)*p))
		return NULL;
	for (e = p; is_word_char(*e); e++)
		;
	*end = e;
	return bson_strndup(p, (size_t)(e - p));
}

static bool starts_constraint(const char *p)
{
	static const char *const words[] = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", NULL};
	size_t i, n;

	for (i = 0; words[i]; i++) {
		n = strlen(words[i]);
		if (sqlite3_strnicmp(p, words[i], (int)n) == 0 && !is_word_char(p[n]))
			return true;
	}
	return false;
}

static int push_item(table_def_t *d, const char *start, const char *end)
{
	item_t *items;
	const char *p, *e;
	item_t it = {NULL, NULL};

	while (start < end && isspace((unsigned char)*start))
		start++;
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	if (!(it.text = bson_strndup(start, (size_t)(end - start))))
		return -1;
	p = skip_space(it.text);
	/* A bare constraint keyword starts a table constraint; anything else names a column. */
	if (!starts_constraint(p))
		it.column = ident_at(p, &e);
	if (!(items = migrate__realloc(d->items, (d->n + 1) * sizeof *items))) {
		free(it.text);
		free(it.column);
		return -1;
	}
	d->items = items;
	d->items[d->n++] = it;
	return 0;
}

/* Splits CREATE TABLE text into its column definitions and table constraints. */
static int def_parse(const char *sql, table_def_t *d, migrate_error_t *err)
{
	const char *p = sql, *start = NULL;
	int depth = 0;

	memset(d, 0, sizeof *d);
	while (*p) {
		const char *q = skip_comment(p);
		if (q != p) {
			p = q;
			continue;
		}
		if (*p == '\'' || *p == '"' || *p == '`' || *p == '[') {
			p = skip_quoted(p);
			continue;
		}
		if (*p == '(') {
			if (depth++ == 0)
				start = p + 1;
		} else if (*p == ')' && depth > 0) {
			if (--depth == 0) {
				if (push_item(d, start, p) || !(d->suffix = bson_strdup(p + 1)))
					goto oom;
				return 0;
			}
		} else if (*p == ',' && depth == 1) {
			if (push_item(d, start, p))
				goto oom;
			start = p + 1;
		}
		p++;
	}
	def_free(d);
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB, "cannot parse the table definition: %s", sql);
oom:
	def_free(d);
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
}

/* Whether the first parenthesised group of a table constraint names `column`. */
static bool constraint_uses(const char *text, const char *column)
{
	const char *p = text, *e;
	int depth = 0;

	while (*p) {
		const char *q = skip_comment(p);
		char *id;
		if (q != p) {
			p = q;
			continue;
		}
		if (*p == '(') {
			depth++;
			p++;
			continue;
		}
		if (*p == ')') {
			if (--depth == 0)
				return false;
			p++;
			continue;
		}
		if (*p == '\'') {
			p = skip_quoted(p); /* a string, not a name */
			continue;
		}
		if ((id = ident_at(p, &e)) != NULL) {
			bool same = depth > 0 && sqlite3_stricmp(id, column) == 0;
			bson_free(id);
			if (same)
				return true;
			p = e;
			continue;
		}
		p++;
	}
	return false;
}

/* The stored CREATE TABLE text of `table` (caller frees), MIGRATE_ENOTFOUND if none. */
static int table_sql(sq_conn_t *c, const char *table, char **out, migrate_error_t *err)
{
	migrate_sql_t q;
	sqlite3_stmt *st = NULL;
	int rc;

	*out = NULL;
	migrate__sql_init(&q, &migrate__sq_dialect, c);
	migrate__sql_append(&q, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ");
	migrate__sql_param_str(&q, table);
	migrate__sql_append(&q, " COLLATE NOCASE");
	if ((rc = migrate__sq_prepare_q(c, &q, &st, err)))
		goto cleanup;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		rc = (*out = migrate__strdup((const char *)sqlite3_column_text(st, 0)))
			     ? 0
			     : migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOTFOUND, "no such table: \"%s\"", table);
	} else {
		rc = migrate__sq_err(c, err, "reading the schema");
	}
cleanup:
	sqlite3_finalize(st);
	migrate__sql_free(&q);
	return rc;
}

/* The columns rows are copied through (not generated, not dropped), as a list "a", "b". */
typedef struct table_cols {
	migrate_buf_t *list;
	int has_int_pk; /* an INTEGER PRIMARY KEY column already carries the rowid */
	bson_t names;   /* every column name, lower-cased, as keys */
} table_cols_t;

static int read_columns(sq_conn_t *c, const char *table, const char *dropped, table_cols_t *tc, migrate_error_t *err)
{
	migrate_sql_t q;
	sqlite3_stmt *st = NULL;
	int npk = 0, int_pk = 0, rc;

	tc->list = migrate__buf_new(NULL);
	bson_init(&tc->names);
	migrate__sql_init(&q, &migrate__sq_dialect, c);
	migrate__sql_append(&q, "SELECT name, type, pk, hidden FROM pragma_table_xinfo(");
	migrate__sql_param_str(&q, table);
	migrate__sql_append(&q, ")");
	if ((rc = migrate__sq_prepare_q(c, &q, &st, err)))
		goto cleanup;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *type = (const char *)sqlite3_column_text(st, 1);
		char *lower = bson_strdup(name);
		char *p;
		for (p = lower; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		bson_append_bool(&tc->names, lower, -1, true);
		bson_free(lower);
		if (sqlite3_column_int(st, 2) > 0) {
			npk++;
			int_pk = type && sqlite3_stricmp(type, "INTEGER") == 0;
		}
		if (sqlite3_column_int(st, 3) != 0 || (dropped && sqlite3_stricmp(name, dropped) == 0))
			continue;
		if (tc->list->len)
			migrate_buf_append(tc->list, ", ");
		migrate__sql_quote_ident(tc->list, name);
	}
	rc = rc == SQLITE_DONE ? 0 : migrate__sq_err(c, err, "reading the columns");
	tc->has_int_pk = npk == 1 && int_pk;
cleanup:
	sqlite3_finalize(st);
	migrate__sql_free(&q);
	return rc;
}

static const char *free_rowid_alias(const bson_t *names)
{
	static const char *const aliases[] = {"rowid", "_rowid_", "oid", NULL};
	size_t i;

	for (i = 0; aliases[i]; i++)
		if (!bson_has_field(names, aliases[i]))
			return aliases[i];
	return NULL;
}

const char *migrate__sq_rowid_alias(sq_conn_t *c, const char *table, migrate_error_t *err, int *rc)
{
	table_cols_t tc = {0};
	table_def_t d;
	char *sql = NULL;
	const char *alias = NULL;

	if ((*rc = table_sql(c, table, &sql, err)))
		return NULL;
	if ((*rc = def_parse(sql, &d, err))) {
		free(sql);
		return NULL;
	}
	if (sqlite3_strglob("*[Ww][Ii][Tt][Hh][Oo][Uu][Tt]*", d.suffix) != 0 &&
	    (*rc = read_columns(c, table, NULL, &tc, err)) == 0) {
		alias = free_rowid_alias(&tc.names);
	}
	if (tc.list) {
		migrate__buf_free(tc.list, true);
		bson_destroy(&tc.names);
	}
	def_free(&d);
	free(sql);
	return alias;
}

static migrate_sql_t *add(sq_stmts_t *l, sq_conn_t *c, migrate_error_t *err)
{
	migrate_sql_t *q = migrate__sq_stmts_add(l, c);

	if (!q)
		migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	return q;
}

/* The new definition: the items with the change applied. */
static int new_definition(migrate_sql_t *q, const table_def_t *d, const char *tmp, const sq_change_t *ch,
			  migrate_error_t *err)
{
	size_t i, last_col = 0;
	bool first = true, found = !ch->drop_column;
	int rc;

	for (i = 0; i < d->n; i++)
		if (d->items[i].column)
			last_col = i;
	migrate__sql_append(q, "CREATE TABLE ");
	migrate__sql_ident(q, tmp);
	migrate__sql_append(q, " (");
	for (i = 0; i < d->n; i++) {
		const item_t *it = &d->items[i];
		if (ch->drop_column) {
			if (it->column && sqlite3_stricmp(it->column, ch->drop_column) == 0) {
				found = true;
				continue;
			}
			/* Constraints over the dropped column go with it, as in PostgreSQL. */
			if (!it->column && constraint_uses(it->text, ch->drop_column))
				continue;
		}
		if (!first)
			migrate__sql_append(q, ", ");
		first = false;
		migrate__sql_append(q, it->text);
		if (ch->add_column && i == last_col) {
			migrate__sql_append(q, ", ");
			if ((rc = migrate__sql_column_def(q, ch->add_column, err)))
				return rc;
		}
	}
	migrate__sql_append(q, ")");
	migrate__sql_append(q, d->suffix);
	if (!found)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB, "no such column: \"%s\"", ch->drop_column);
	return 0;
}

/* CREATE INDEX and CREATE TRIGGER statements of the table, except indexes over a dropped column. */
static int saved_schema(sq_conn_t *c, const char *table, const char *dropped, sq_stmts_t *out, migrate_error_t *err)
{
	migrate_sql_t q, *s;
	sqlite3_stmt *st = NULL;
	int rc;

	migrate__sql_init(&q, &migrate__sq_dialect, c);
	migrate__sql_append(&q, "SELECT m.sql, (SELECT count(*) FROM pragma_index_xinfo(m.name) AS x WHERE m.type = "
				"'index' AND x.key AND x.name = ");
	migrate__sql_param_str(&q, dropped ? dropped : "");
	migrate__sql_append(&q, " COLLATE NOCASE) FROM sqlite_master AS m WHERE m.tbl_name = ");
	migrate__sql_param_str(&q, table);
	migrate__sql_append(&q, " COLLATE NOCASE AND m.type IN ('index', 'trigger') AND m.sql IS NOT NULL "
				"ORDER BY m.type, m.name");
	if ((rc = migrate__sq_prepare_q(c, &q, &st, err)))
		goto cleanup;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (dropped && sqlite3_column_int(st, 1) > 0)
			continue;
		if (!(s = add(out, c, err))) {
			rc = MIGRATE_ENOMEM;
			goto cleanup;
		}
		migrate__sql_append(s, (const char *)sqlite3_column_text(st, 0));
	}
	rc = rc == SQLITE_DONE ? 0 : migrate__sq_err(c, err, "reading the schema");
cleanup:
	sqlite3_finalize(st);
	migrate__sql_free(&q);
	return rc;
}

static int legacy_alter(sq_conn_t *c, int64_t *value, migrate_error_t *err)
{
	migrate_sql_t q;
	int rc;

	migrate__sql_init(&q, &migrate__sq_dialect, c);
	migrate__sql_append(&q, "PRAGMA legacy_alter_table");
	rc = migrate__sq_query_int(c, &q, value, err);
	migrate__sql_free(&q);
	return rc;
}

int migrate__sq_rebuild_stmts(sq_conn_t *c, const char *table, const sq_change_t *ch, sq_stmts_t *out,
			      migrate_error_t *err)
{
	table_def_t d = {0};
	table_cols_t tc = {0};
	migrate_buf_t *tmp = migrate__buf_new(REBUILD_PREFIX);
	migrate_sql_t *q;
	const char *rowid = NULL;
	char *sql = NULL;
	int64_t legacy = 0;
	int rc;

	migrate_buf_append(tmp, table);
	if ((rc = table_sql(c, table, &sql, err)) || (rc = def_parse(sql, &d, err)) ||
	    (rc = read_columns(c, table, ch->drop_column, &tc, err)) || (rc = legacy_alter(c, &legacy, err)))
		goto cleanup;
	/* Keep rowids (backfill checkpoints and references may rely on them) unless a column is the rowid. */
	if (!tc.has_int_pk && sqlite3_strglob("*[Ww][Ii][Tt][Hh][Oo][Uu][Tt]*", d.suffix) != 0)
		rowid = free_rowid_alias(&tc.names);
	rc = MIGRATE_ENOMEM;
	if (!(q = add(out, c, err)) || (rc = new_definition(q, &d, tmp->str, ch, err)))
		goto cleanup;
	rc = MIGRATE_ENOMEM;
	if (!(q = add(out, c, err)))
		goto cleanup;
	migrate__sql_append(q, "INSERT INTO ");
	migrate__sql_ident(q, tmp->str);
	migrate__sql_printf(q, " (%s%s%s) SELECT %s%s%s FROM ", rowid ? rowid : "", rowid ? ", " : "", tc.list->str,
			    rowid ? rowid : "", rowid ? ", " : "", tc.list->str);
	migrate__sql_ident(q, table);
	if (!(q = add(out, c, err)))
		goto cleanup;
	migrate__sql_append(q, "DROP TABLE ");
	migrate__sql_ident(q, table);
	/*
	 * Legacy mode renames without rewriting or checking views and triggers
	 * that name the table: they refer to the old name, which is what the
	 * new table takes.
	 */
	if (!(q = add(out, c, err)))
		goto cleanup;
	migrate__sql_append(q, "PRAGMA legacy_alter_table = ON");
	if (!(q = add(out, c, err)))
		goto cleanup;
	migrate__sql_append(q, "ALTER TABLE ");
	migrate__sql_ident(q, tmp->str);
	migrate__sql_append(q, " RENAME TO ");
	migrate__sql_ident(q, table);
	if (!(q = add(out, c, err)))
		goto cleanup;
	migrate__sql_printf(q, "PRAGMA legacy_alter_table = %s", legacy ? "ON" : "OFF");
	rc = saved_schema(c, table, ch->drop_column, out, err);
cleanup:
	if (tc.list) {
		migrate__buf_free(tc.list, true);
		bson_destroy(&tc.names);
	}
	migrate__buf_free(tmp, true);
	def_free(&d);
	free(sql);
	return rc;
}

/* Foreign keys of the rebuilt table, when the connection enforces them (the procedure's last check). */
static int fk_check_table(sq_conn_t *c, const char *table, migrate_error_t *err)
{
	migrate_sql_t q;
	sqlite3_stmt *st = NULL;
	int rc;

	if (!c->fk_restore)
		return 0;
	migrate__sql_init(&q, &migrate__sq_dialect, c);
	migrate__sql_append(&q, "SELECT \"table\", \"parent\" FROM pragma_foreign_key_check(");
	migrate__sql_param_str(&q, table);
	migrate__sql_append(&q, ")");
	if ((rc = migrate__sq_prepare_q(c, &q, &st, err)))
		goto cleanup;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
				  "SQLite: after rebuilding \"%s\": a row of \"%s\" references a missing row of \"%s\"",
				  table, (const char *)sqlite3_column_text(st, 0),
				  (const char *)sqlite3_column_text(st, 1));
	else
		rc = rc == SQLITE_DONE ? 0 : migrate__sq_err(c, err, "foreign_key_check");
cleanup:
	sqlite3_finalize(st);
	migrate__sql_free(&q);
	return rc;
}

int migrate__sq_rebuild(sq_conn_t *c, const char *table, const sq_change_t *ch, migrate_error_t *err)
{
	sq_stmts_t l = {0};
	int64_t legacy = 0;
	int rc;

	if ((rc = legacy_alter(c, &legacy, err)) || (rc = migrate__sq_exec(c, "SAVEPOINT migrate_rebuild", err)))
		return rc;
	if ((rc = migrate__sq_rebuild_stmts(c, table, ch, &l, err)) || (rc = migrate__sq_stmts_run(c, &l, err)) ||
	    (rc = fk_check_table(c, table, err))) {
		sqlite3_exec(c->db, "ROLLBACK TO migrate_rebuild; RELEASE migrate_rebuild", NULL, NULL, NULL);
		/* A failed rebuild must not leave legacy renames on for later steps. */
		sqlite3_exec(c->db, legacy ? "PRAGMA legacy_alter_table = ON" : "PRAGMA legacy_alter_table = OFF", NULL,
			     NULL, NULL);
		if (rc == MIGRATE_ENOTFOUND) {
			/* ENOTFOUND serves render; to a run, a missing table is a database error. */
			rc = MIGRATE_EDB;
			if (err)
				err->code = rc;
		}
		goto cleanup;
	}
	rc = migrate__sq_exec(c, "RELEASE migrate_rebuild", err);
cleanup:
	migrate__sq_stmts_free(&l);
	return rc;
}

int migrate__sq_add_column_native(const bson_t *col)
{
	bson_iter_t it;
	bson_t sub;
	bool has_default = false, null_default = true;

	if (migrate__doc_bool(col, "unique", false))
		return 0;
	if (bson_iter_init_find(&it, col, "default")) {
		/* "now", "uuid" and {"sql": ...} are expressions: ADD COLUMN takes constants only. */
		if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !migrate__doc_sub(col, "default", &sub) ||
		    !bson_iter_init_find(&it, &sub, "value"))
			return 0;
		has_default = true;
		null_default = BSON_ITER_HOLDS_NULL(&it);
	}
	if (!migrate__doc_bool(col, "nullable", true) && (!has_default || null_default))
		return 0;
	/* With foreign keys on, an added REFERENCES column must default to NULL. */
	if (bson_has_field(col, "references") && !null_default)
		return 0;
	return 1;
}
