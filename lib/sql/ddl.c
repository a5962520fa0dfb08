/*
 * DDL rendering: column definitions, CREATE TABLE, ADD COLUMN, CREATE INDEX.
 * DDL takes no parameters, so defaults and partial-index predicates are
 * rendered as escaped literals.
 */
#include <string.h>

#include "sql.h"

int migrate__sql_default(migrate_sql_t *q, const bson_iter_t *it, migrate_error_t *err)
{
	bson_t sub;
	bson_iter_t v;
	const uint8_t *data;
	uint32_t len;

	if (BSON_ITER_HOLDS_UTF8(it)) {
		const char *s = bson_iter_utf8(it, NULL);
		if (!strcmp(s, "now")) {
			migrate__sql_append(q, q->d->default_now);
			return 0;
		}
		if (!strcmp(s, "uuid")) {
			migrate__sql_append(q, q->d->default_uuid);
			return 0;
		}
	} else if (BSON_ITER_HOLDS_DOCUMENT(it)) {
		bson_iter_document(it, &len, &data);
		bson_init_static(&sub, data, len);
		if (bson_iter_init_find(&v, &sub, "value"))
			return migrate__sql_literal(q->d, q->text, &v, err);
		if (bson_iter_init_find(&v, &sub, "sql") && BSON_ITER_HOLDS_UTF8(&v)) {
			migrate__sql_append(q, "(");
			migrate__sql_append(q, bson_iter_utf8(&v, NULL));
			migrate__sql_append(q, ")");
			return 0;
		}
	}
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN,
			    "default: must be \"now\", \"uuid\", {\"value\": v} or {\"sql\": expr}");
}

static int column_type(migrate_sql_t *q, const bson_t *col, const char *name, migrate_error_t *err)
{
	bson_iter_t it, raw;
	const char *t;
	int i;

	if (!bson_iter_init_find(&it, col, "type"))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "column %s: type is required", name);
	if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
		if (!bson_iter_recurse(&it, &raw) || !bson_iter_find(&raw, "sql") || !BSON_ITER_HOLDS_UTF8(&raw))
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN,
					    "column %s: type must be a name or {\"sql\": ...}", name);
		migrate__sql_append(q, bson_iter_utf8(&raw, NULL));
		return 0;
	}
	t = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";
	if (!strncmp(t, "enum:", 5)) {
		if (!q->d->enum_column)
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
					    "column %s: the %s driver has no enum types", name, q->d->name);
		return q->d->enum_column(q, t + 5, name, err);
	}
	if ((i = migrate__sql_type_index(t)) < 0)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "column %s: unknown type \"%s\"", name,
				    t);
	migrate__sql_append(q, q->d->types[i]);
	return 0;
}

static int references(migrate_sql_t *q, const bson_t *col, migrate_error_t *err)
{
	bson_t ref;
	const char *table, *column, *action;

	if (!migrate__doc_sub(col, "references", &ref))
		return 0;
	if (!(table = migrate__sql_doc_ident(&ref, "table", err)) ||
	    !(column = migrate__sql_doc_ident(&ref, "column", err)))
		return MIGRATE_EPLAN;
	migrate__sql_append(q, " REFERENCES ");
	migrate__sql_ident(q, table);
	migrate__sql_append(q, " (");
	migrate__sql_ident(q, column);
	migrate__sql_append(q, ")");
	if ((action = migrate__doc_str(&ref, "on_delete"))) {
		const char *sqlact = migrate__sql_on_delete(action);
		if (!sqlact)
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN,
					    "references.on_delete: unknown action \"%s\"", action);
		migrate__sql_printf(q, " ON DELETE %s", sqlact);
	}
	return 0;
}

int migrate__sql_column_def(migrate_sql_t *q, const bson_t *col, migrate_error_t *err)
{
	bson_iter_t dflt;
	const char *name;
	int rc;

	if (!(name = migrate__sql_doc_ident(col, "name", err)))
		return MIGRATE_EPLAN;
	migrate__sql_ident(q, name);
	migrate__sql_append(q, " ");
	if ((rc = column_type(q, col, name, err)))
		return rc;
	if (!migrate__doc_bool(col, "nullable", true))
		migrate__sql_append(q, " NOT NULL");
	if (bson_iter_init_find(&dflt, col, "default")) {
		migrate__sql_append(q, " DEFAULT ");
		if ((rc = migrate__sql_default(q, &dflt, err)))
			return rc;
	}
	if (migrate__doc_bool(col, "unique", false))
		migrate__sql_append(q, " UNIQUE");
	return references(q, col, err);
}

/* Appends ("a", "b") from an array of column names. */
static int name_list(migrate_sql_t *q, const bson_t *arr, const char *what, migrate_error_t *err)
{
	bson_iter_t it;
	bool first = true;

	migrate__sql_append(q, "(");
	bson_iter_init(&it, arr);
	while (bson_iter_next(&it)) {
		uint32_t len;
		const char *s = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, &len) : NULL;
		if (!s || !*s || strlen(s) != len)
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "%s: must hold column names",
					    what);
		if (!first)
			migrate__sql_append(q, ", ");
		first = false;
		migrate__sql_ident(q, s);
	}
	migrate__sql_append(q, ")");
	return 0;
}

int migrate__sql_create_table(migrate_sql_t *q, const bson_t *step, const char *name, migrate_error_t *err)
{
	bson_t cols, pk, col;
	bson_iter_t it;
	const uint8_t *data;
	uint32_t len;
	bool first = true;
	int rc;

	if (!name && !(name = migrate__sql_doc_ident(step, "table", err)))
		return MIGRATE_EPLAN;
	if (!migrate__doc_sub(step, "columns", &cols))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "columns: is required");
	migrate__sql_append(q, "CREATE TABLE ");
	migrate__sql_ident(q, name);
	migrate__sql_append(q, " (");
	bson_iter_init(&it, &cols);
	while (bson_iter_next(&it)) {
		if (!BSON_ITER_HOLDS_DOCUMENT(&it))
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "columns: must hold objects");
		bson_iter_document(&it, &len, &data);
		bson_init_static(&col, data, len);
		if (!first)
			migrate__sql_append(q, ", ");
		first = false;
		if ((rc = migrate__sql_column_def(q, &col, err)))
			return rc;
	}
	if (migrate__doc_sub(step, "primary_key", &pk)) {
		migrate__sql_append(q, ", PRIMARY KEY ");
		if ((rc = name_list(q, &pk, "primary_key", err)))
			return rc;
	}
	migrate__sql_append(q, ")");
	return 0;
}

int migrate__sql_add_column(migrate_sql_t *q, const char *table, const bson_t *column, migrate_error_t *err)
{
	migrate__sql_append(q, "ALTER TABLE ");
	migrate__sql_ident(q, table);
	migrate__sql_append(q, " ADD COLUMN ");
	return migrate__sql_column_def(q, column, err);
}

int migrate__sql_create_index(migrate_sql_t *q, const bson_t *step, const char *modifier, int if_not_exists,
			      migrate_error_t *err)
{
	bson_t keys, key, where;
	bson_iter_t it;
	const uint8_t *data;
	uint32_t len;
	const char *table, *name, *col, *order;
	bool first = true;
	int rc, saved;

	if (!(table = migrate__sql_doc_ident(step, "table", err)) ||
	    !(name = migrate__sql_doc_ident(step, "name", err)))
		return MIGRATE_EPLAN;
	if (!migrate__doc_sub(step, "keys", &keys))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "keys: is required");
	migrate__sql_append(q, migrate__doc_bool(step, "unique", false) ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
	if (modifier) {
		migrate__sql_append(q, modifier);
		migrate__sql_append(q, " ");
	}
	if (if_not_exists)
		migrate__sql_append(q, "IF NOT EXISTS ");
	migrate__sql_ident(q, name);
	migrate__sql_append(q, " ON ");
	migrate__sql_ident(q, table);
	migrate__sql_append(q, " (");
	bson_iter_init(&it, &keys);
	while (bson_iter_next(&it)) {
		if (!BSON_ITER_HOLDS_DOCUMENT(&it))
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "keys: must hold objects");
		bson_iter_document(&it, &len, &data);
		bson_init_static(&key, data, len);
		if (!(col = migrate__sql_doc_ident(&key, "column", err)))
			return MIGRATE_EPLAN;
		if (!first)
			migrate__sql_append(q, ", ");
		first = false;
		migrate__sql_ident(q, col);
		order = migrate__doc_str(&key, "order");
		if (order && !strcmp(order, "desc"))
			migrate__sql_append(q, " DESC");
	}
	migrate__sql_append(q, ")");
	if (migrate__doc_sub(step, "where", &where) && bson_count_keys(&where) > 0) {
		/* Index predicates cannot take parameters: literals, escaped. */
		migrate__sql_append(q, " WHERE ");
		saved = q->literal;
		q->literal = 1;
		rc = migrate__sql_where(q, &where, NULL, err);
		q->literal = saved;
		if (rc)
			return rc;
	}
	return 0;
}
