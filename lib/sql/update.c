/*
 * The UPDATE of backfill and map_values: what it sets and which rows it
 * touches. How the rows are split into batches, bound and journaled is
 * each driver's own.
 *
 * map_values compares the column with its old values as text (the map's
 * keys are strings): through the dialect's text_cast.
 */
#include <string.h>

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

/* "a" = <expression>, "b" = <expression> ... */
static int assignments(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
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
		if ((rc = migrate__sql_expr(q, &expr, table, err)))
			return rc;
	}
	return 0;
}

int migrate__sql_update_head(migrate_sql_t *q, const bson_t *step, migrate_error_t *err)
{
	int rc;

	migrate__sql_append(q, "UPDATE ");
	migrate__sql_ident(q, migrate__doc_str(step, "table"));
	migrate__sql_append(q, " SET ");
	if ((rc = is_map(step) ? map_case(q, step, err) : assignments(q, step, err)))
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
