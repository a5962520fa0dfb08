/*
 * The UPDATE of backfill and map_values: what it sets and which rows it
 * touches. How the rows are split into batches, bound and journaled is
 * each driver's own.
 *
 * map_values compares the column with its old values as text (the map's
 * keys are strings): through the dialect's text_cast.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sql.h"

static bool is_map(const bson_t *step)
{
	return migrate__op_find(migrate__doc_str(step, "op")) == MIGRATE_OP_MAP_VALUES;
}

/* "c" = CASE WHEN "c"<cast> = <old> THEN <new> ... ELSE "c" END */
static int map_case(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	const char *column = migrate__doc_str(step, "column");
	bson_t map;
	bson_iter_t it;
	int rc;

	migrate__doc_sub(step, "map", &map);
	migrate__sql_ident(q, column);
	migrate__sql_append(q, " = CASE");
	bson_iter_init(&it, &map);
	while (bson_iter_next(&it)) {
		migrate__sql_append(q, " WHEN ");
		migrate__sql_ident(q, column);
		migrate__sql_append(q, q->d->text_cast);
		migrate__sql_append(q, " = ");
		migrate__sql_param_str(q, bson_iter_key(&it));
		migrate__sql_append(q, " THEN ");
		if ((rc = migrate__sql_value(q, &it, err)))
			return rc;
	}
	migrate__sql_append(q, " ELSE ");
	migrate__sql_ident(q, column);
	migrate__sql_append(q, " END");
	return 0;
}

/* "a" = <expression>, "b" = <expression> ...; the column `given` = `value`, as is */
static int assignments(migrate_sql_t *q, const bson_t *step, const char *given, const char *value, migrate_error_t *err)
{
	const char *table = migrate__doc_str(step, "table");
	bson_t set, expr;
	bson_iter_t it;
	const uint8_t *data;
	uint32_t len;
	bool first = true;
	int rc;

	migrate__doc_sub(step, "set", &set);
	bson_iter_init(&it, &set);
	while (bson_iter_next(&it)) {
		bson_iter_document(&it, &len, &data);
		bson_init_static(&expr, data, len);
		if (!first)
			migrate__sql_append(q, ", ");
		first = false;
		migrate__sql_ident(q, bson_iter_key(&it));
		migrate__sql_append(q, " = ");
		if (given && !strcmp(bson_iter_key(&it), given))
			migrate__sql_append(q, value);
		else if ((rc = migrate__sql_expr(q, &expr, table, err)))
			return rc;
	}
	return 0;
}

int migrate__sql_update_set(migrate_sql_t *q, const bson_t *step, const char *given, const char *value,
			    migrate_error_t *err)
{
	migrate__sql_append(q, "UPDATE ");
	migrate__sql_ident(q, migrate__doc_str(step, "table"));
	migrate__sql_append(q, " SET ");
	return is_map(step) ? map_case(q, step, err) : assignments(q, step, given, value, err);
}

int migrate__sql_update_head(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	int rc;

	if ((rc = migrate__sql_update_set(q, step, NULL, NULL, err)))
		return rc;
	migrate__sql_append(q, " WHERE ");
	return 0;
}

int migrate__sql_row_filter(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	bson_t where, map;
	bson_iter_t it;
	bool first = true, map_values = is_map(step),
	     has_where = migrate__doc_sub(step, "where", &where) && !bson_empty(&where);
	int rc;

	/* No where: every row, (1 = 1), or for map_values only the IN list. */
	if ((has_where || !map_values) && (rc = migrate__sql_where(q, has_where ? &where : NULL, NULL, err)))
		return rc;
	if (!map_values)
		return 0;
	/* Only rows holding one of the old values need writing. */
	if (has_where)
		migrate__sql_append(q, " AND ");
	migrate__sql_ident(q, migrate__doc_str(step, "column"));
	migrate__sql_append(q, q->d->text_cast);
	migrate__sql_append(q, " IN (");
	migrate__doc_sub(step, "map", &map);
	bson_iter_init(&it, &map);
	while (bson_iter_next(&it)) {
		if (!first)
			migrate__sql_append(q, ", ");
		first = false;
		migrate__sql_param_str(q, bson_iter_key(&it));
	}
	migrate__sql_append(q, ")");
	return 0;
}

/* ---- keep and restore ---- */

/*
 * <keys>, <cols> of a step with keep. `named`: each key "AS" itself, so
 * that a table created from the list names its columns as the keys (SQLite
 * names a selected rowid after its INTEGER PRIMARY KEY alias).
 */
static void keep_columns(migrate_sql_t *q, const bson_t *step, char *const *keys, size_t nkeys, bool named)
{
	const char *cols[256];
	size_t n = migrate__kept_columns(step, cols, sizeof cols / sizeof cols[0]);

	for (size_t i = 0; i < nkeys; i++) {
		if (i)
			migrate__sql_append(q, ", ");
		migrate__sql_ident(q, keys[i]);
		if (named) {
			migrate__sql_append(q, " AS ");
			migrate__sql_ident(q, keys[i]);
		}
	}
	for (size_t i = 0; i < n; i++) {
		migrate__sql_append(q, ", ");
		migrate__sql_ident(q, cols[i]);
	}
}

void migrate__sql_keep_create(migrate_sql_t *q, const bson_t *step, char *const *keys, size_t nkeys)
{
	migrate__sql_append(q, "CREATE TABLE IF NOT EXISTS ");
	migrate__sql_ident(q, migrate__doc_str(step, "keep"));
	migrate__sql_append(q, " AS SELECT ");
	keep_columns(q, step, keys, nkeys, true);
	migrate__sql_append(q, " FROM ");
	migrate__sql_ident(q, migrate__doc_str(step, "table"));
	migrate__sql_append(q, " WHERE 1 = 0");
}

#define KEEP_KEY_SUFFIX "__migrate_key"

/*
 * The kept table's key index: "<keep>__migrate_key", or "_migrate_key_"
 * and a hash of the keep when that is longer than an identifier, which
 * PostgreSQL would truncate (a 63-byte keep to its own table's name, two
 * long keeps to one name).
 */
static void keep_index_name(const char *keep, char *out, size_t size)
{
	uint64_t h = 14695981039346656037u;
	const unsigned char *s;

	if (strlen(keep) + strlen(KEEP_KEY_SUFFIX) <= MIGRATE_IDENT_MAX) {
		snprintf(out, size, "%s" KEEP_KEY_SUFFIX, keep);
		return;
	}
	for (s = (const unsigned char *)keep; *s; s++)
		h = (h ^ *s) * 1099511628211u;
	snprintf(out, size, "_migrate_key_%016llx", (unsigned long long)h);
}

void migrate__sql_keep_index(migrate_sql_t *q, const bson_t *step, char *const *keys, size_t nkeys)
{
	char name[MIGRATE_IDENT_MAX + 1];

	/* Unlikely to be taken already: IF NOT EXISTS would then leave the kept table without its key. */
	keep_index_name(migrate__doc_str(step, "keep"), name, sizeof name);
	migrate__sql_append(q, "CREATE UNIQUE INDEX IF NOT EXISTS ");
	migrate__sql_ident(q, name);
	migrate__sql_append(q, " ON ");
	migrate__sql_ident(q, migrate__doc_str(step, "keep"));
	migrate__sql_append(q, " (");
	migrate__sql_ident_list(q, keys, nkeys, "");
	migrate__sql_append(q, ")");
}

void migrate__sql_keep_insert(migrate_sql_t *q, const bson_t *step, char *const *keys, size_t nkeys)
{
	migrate__sql_append(q, "INSERT INTO ");
	migrate__sql_ident(q, migrate__doc_str(step, "keep"));
	migrate__sql_append(q, " (");
	keep_columns(q, step, keys, nkeys, false);
	migrate__sql_append(q, ") SELECT ");
	keep_columns(q, step, keys, nkeys, false);
	migrate__sql_append(q, " FROM ");
	migrate__sql_ident(q, migrate__doc_str(step, "table"));
	migrate__sql_append(q, " WHERE ");
}

void migrate__sql_keep_tail(migrate_sql_t *q)
{
	migrate__sql_append(q, " ON CONFLICT DO NOTHING");
}

bool migrate__sql_restored(const bson_t *step, const char *name)
{
	bson_t cols;
	bson_iter_t it;

	migrate__doc_sub(step, "columns", &cols);
	bson_iter_init(&it, &cols);
	while (bson_iter_next(&it))
		if (!strcmp(bson_iter_utf8(&it, NULL), name))
			return true;
	return false;
}

bool migrate__sql_restore_add(const bson_t *step, bson_t *add)
{
	bson_t def;

	if (!migrate__doc_sub(step, "definition", &def))
		return false;
	bson_init(add);
	BSON_APPEND_UTF8(add, "op", "add_column");
	BSON_APPEND_UTF8(add, "table", migrate__doc_str(step, "table"));
	BSON_APPEND_DOCUMENT(add, "column", &def);
	return true;
}

/* The kept table's alias in the restore: never the restored table's name (SQLite matches names in any case). */
static const char *kept_alias(const char *table)
{
	return strcasecmp(table, "_migrate_kept") == 0 ? "_migrate_kept2" : "_migrate_kept";
}

void migrate__sql_restore(migrate_sql_t *q, const bson_t *step, char *const *keys, size_t nkeys)
{
	const char *table = migrate__doc_str(step, "table"), *alias = kept_alias(table);
	bson_t cols;
	bson_iter_t it;
	bool first = true;

	migrate__sql_append(q, "UPDATE ");
	migrate__sql_ident(q, table);
	migrate__sql_append(q, " SET ");
	migrate__doc_sub(step, "columns", &cols);
	bson_iter_init(&it, &cols);
	while (bson_iter_next(&it)) {
		if (!first)
			migrate__sql_append(q, ", ");
		first = false;
		migrate__sql_ident(q, bson_iter_utf8(&it, NULL));
		migrate__sql_append(q, " = ");
		migrate__sql_ident(q, alias);
		migrate__sql_append(q, ".");
		migrate__sql_ident(q, bson_iter_utf8(&it, NULL));
	}
	migrate__sql_append(q, " FROM ");
	migrate__sql_ident(q, migrate__doc_str(step, "from"));
	migrate__sql_append(q, " AS ");
	migrate__sql_ident(q, alias);
	migrate__sql_append(q, " WHERE ");
	for (size_t i = 0; i < nkeys; i++) {
		if (i)
			migrate__sql_append(q, " AND ");
		migrate__sql_ident(q, table);
		migrate__sql_append(q, ".");
		migrate__sql_ident(q, keys[i]);
		migrate__sql_append(q, " = ");
		migrate__sql_ident(q, alias);
		migrate__sql_append(q, ".");
		migrate__sql_ident(q, keys[i]);
	}
}
