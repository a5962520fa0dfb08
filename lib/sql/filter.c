/*
 * Filters (`where`): the MongoDB-style subset of docs/steps.md lowered to a
 * parenthesised SQL boolean expression with bound values.
 *
 * Where SQL and MongoDB disagree the MongoDB meaning is kept, so that one
 * plan selects the same rows on every driver: $ne and $nin also match NULL
 * (a missing field), and a null operand means IS NULL.
 */
#include <string.h>

#include "sql.h"

static int filter(migrate_sql_t *q, const bson_t *f, const char *qual, migrate_error_t *err);

static void column(migrate_sql_t *q, const char *qual, const char *col)
{
	if (qual) {
		migrate__sql_ident(q, qual);
		migrate__sql_append(q, ".");
	}
	migrate__sql_ident(q, col);
}

static void sub_doc(const bson_iter_t *it, bson_t *out)
{
	const uint8_t *data;
	uint32_t len;

	if (BSON_ITER_HOLDS_DOCUMENT(it))
		bson_iter_document(it, &len, &data);
	else
		bson_iter_array(it, &len, &data);
	bson_init_static(out, data, len);
}

/* col = v, or col IS NULL. */
static int eq(migrate_sql_t *q, const char *qual, const char *col, const bson_iter_t *v, migrate_error_t *err)
{
	column(q, qual, col);
	if (BSON_ITER_HOLDS_NULL(v)) {
		migrate__sql_append(q, " IS NULL");
		return 0;
	}
	migrate__sql_append(q, " = ");
	return migrate__sql_value(q, v, err);
}

/* MongoDB's $ne: NULL differs from every value. */
static int ne(migrate_sql_t *q, const char *qual, const char *col, const bson_iter_t *v, migrate_error_t *err)
{
	int rc;

	if (BSON_ITER_HOLDS_NULL(v)) {
		column(q, qual, col);
		migrate__sql_append(q, " IS NOT NULL");
		return 0;
	}
	migrate__sql_append(q, "(");
	column(q, qual, col);
	migrate__sql_append(q, " IS NULL OR ");
	column(q, qual, col);
	migrate__sql_append(q, " <> ");
	if ((rc = migrate__sql_value(q, v, err)))
		return rc;
	migrate__sql_append(q, ")");
	return 0;
}

static int compare(migrate_sql_t *q, const char *qual, const char *col, const char *sqlop, const bson_iter_t *v,
		   migrate_error_t *err)
{
	if (BSON_ITER_HOLDS_NULL(v)) {
		/* Only $lte/$gte null match, and then only NULL. */
		if (strchr(sqlop, '=')) {
			column(q, qual, col);
			migrate__sql_append(q, " IS NULL");
		} else {
			migrate__sql_append(q, "0 = 1");
		}
		return 0;
	}
	column(q, qual, col);
	migrate__sql_printf(q, " %s ", sqlop);
	return migrate__sql_value(q, v, err);
}

/* $in / $nin: NULL members of the list become IS NULL tests, the others an IN list. */
static int in_list(migrate_sql_t *q, const char *qual, const char *col, const bson_iter_t *arr, bool negate,
		   migrate_error_t *err)
{
	bson_iter_t a;
	bool has_null = false, first = true;
	int rc, nvals = 0;

	bson_iter_recurse(arr, &a);
	while (bson_iter_next(&a)) {
		if (BSON_ITER_HOLDS_NULL(&a))
			has_null = true;
		else
			nvals++;
	}
	if (nvals == 0) {
		if (!has_null) {
			migrate__sql_append(q, negate ? "1 = 1" : "0 = 1");
			return 0;
		}
		column(q, qual, col);
		migrate__sql_append(q, negate ? " IS NOT NULL" : " IS NULL");
		return 0;
	}
	migrate__sql_append(q, "(");
	/* $in with null also matches NULL; $nin matches NULL unless null is listed. */
	if (has_null != negate) {
		column(q, qual, col);
		migrate__sql_append(q, " IS NULL OR ");
	} else if (negate) {
		column(q, qual, col);
		migrate__sql_append(q, " IS NOT NULL AND ");
	}
	column(q, qual, col);
	migrate__sql_append(q, negate ? " NOT IN (" : " IN (");
	bson_iter_recurse(arr, &a);
	while (bson_iter_next(&a)) {
		if (BSON_ITER_HOLDS_NULL(&a))
			continue;
		if (!first)
			migrate__sql_append(q, ", ");
		first = false;
		if ((rc = migrate__sql_value(q, &a, err)))
			return rc;
	}
	migrate__sql_append(q, "))");
	return 0;
}

static int operator(migrate_sql_t *q, const char *qual, const char *col, const bson_iter_t *op, migrate_error_t *err)
{
	static const char *const cmp[][2] = {{"$lt", "<"}, {"$lte", "<="}, {"$gt", ">"}, {"$gte", ">="}};
	const char *name = bson_iter_key(op);
	size_t i;

	if (!strcmp(name, "$eq"))
		return eq(q, qual, col, op, err);
	if (!strcmp(name, "$ne"))
		return ne(q, qual, col, op, err);
	for (i = 0; i < sizeof cmp / sizeof cmp[0]; i++)
		if (!strcmp(name, cmp[i][0]))
			return compare(q, qual, col, cmp[i][1], op, err);
	if ((!strcmp(name, "$in") || !strcmp(name, "$nin")) && BSON_ITER_HOLDS_ARRAY(op))
		return in_list(q, qual, col, op, name[1] == 'n', err);
	if (!strcmp(name, "$exists") && BSON_ITER_HOLDS_BOOL(op)) {
		column(q, qual, col);
		migrate__sql_append(q, bson_iter_bool(op) ? " IS NOT NULL" : " IS NULL");
		return 0;
	}
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "where.%s: unsupported operator %s", col, name);
}

static int condition(migrate_sql_t *q, const char *qual, const char *col, const bson_iter_t *cond, migrate_error_t *err)
{
	bson_t ops;
	bson_iter_t it;
	bool first = true;
	int rc;

	if (!BSON_ITER_HOLDS_DOCUMENT(cond))
		return eq(q, qual, col, cond, err);
	sub_doc(cond, &ops);
	migrate__sql_append(q, "(");
	bson_iter_init(&it, &ops);
	while (bson_iter_next(&it)) {
		if (!first)
			migrate__sql_append(q, " AND ");
		first = false;
		if ((rc = operator(q, qual, col, &it, err)))
			return rc;
	}
	if (first)
		migrate__sql_append(q, "1 = 1");
	migrate__sql_append(q, ")");
	return 0;
}

static int list(migrate_sql_t *q, const bson_iter_t *arr, const char *join, const char *qual, migrate_error_t *err)
{
	bson_iter_t a;
	bson_t sub;
	bool first = true;
	int rc;

	if (!BSON_ITER_HOLDS_ARRAY(arr))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "where: %s needs an array of filters",
				    bson_iter_key(arr));
	migrate__sql_append(q, "(");
	bson_iter_recurse(arr, &a);
	while (bson_iter_next(&a)) {
		if (!BSON_ITER_HOLDS_DOCUMENT(&a))
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "where: %s holds a non-object",
					    bson_iter_key(arr));
		if (!first)
			migrate__sql_append(q, join);
		first = false;
		sub_doc(&a, &sub);
		if ((rc = filter(q, &sub, qual, err)))
			return rc;
	}
	if (first)
		migrate__sql_append(q, strcmp(join, " OR ") ? "1 = 1" : "0 = 1");
	migrate__sql_append(q, ")");
	return 0;
}

static int filter(migrate_sql_t *q, const bson_t *f, const char *qual, migrate_error_t *err)
{
	bson_iter_t it;
	bool first = true;
	int rc;

	migrate__sql_append(q, "(");
	if (f && bson_iter_init(&it, f)) {
		while (bson_iter_next(&it)) {
			const char *key = bson_iter_key(&it);
			if (!first)
				migrate__sql_append(q, " AND ");
			first = false;
			if (!strcmp(key, "$and"))
				rc = list(q, &it, " AND ", qual, err);
			else if (!strcmp(key, "$or"))
				rc = list(q, &it, " OR ", qual, err);
			else if (key[0] == '$' || key[0] == '\0')
				rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN,
						  "where: unsupported operator %s", key);
			else
				rc = condition(q, qual, key, &it, err);
			if (rc)
				return rc;
		}
	}
	if (first)
		migrate__sql_append(q, "1 = 1");
	migrate__sql_append(q, ")");
	return 0;
}

int migrate__sql_where(migrate_sql_t *q, const bson_t *f, const char *qualifier, migrate_error_t *err)
{
	return filter(q, f, qualifier, err);
}
