/*
 * Backfill expressions (docs/steps.md) lowered to SQL expressions that
 * compute a value for the current row of the table being updated.
 */
#include <string.h>
#include <strings.h>

#include "sql.h"

/*
 * The alias of the counted table inside a count subquery (it may be the
 * updated table itself); never the updated table's name, which would then
 * name the counted table inside (SQLite's names, and PostgreSQL's unquoted
 * alias, match in any case).
 */
#define COUNT_ALIAS "_migrate_c"
#define COUNT_ALIAS_2 "_migrate_c2"

static const char *count_alias(const char *table)
{
	return strcasecmp(table, COUNT_ALIAS) == 0 ? COUNT_ALIAS_2 : COUNT_ALIAS;
}

/*
 * The conditions of a count's rows, aliased `alias`, for the row `row` of
 * `table` (an identifier, quoted, or with `row_alias` an alias, as is):
 * alias."x" = row."y" AND ... AND <where>. *other: the counted table.
 */
static int count_rows(migrate_sql_t *q, const bson_t *cnt, const char *table, const char *row, bool row_alias,
		      const char *alias, migrate_error_t *err)
{
	bson_t match, where;
	bson_iter_t m;
	bool has_where = migrate__doc_sub(cnt, "where", &where);

	migrate__doc_sub(cnt, "match", &match);
	bson_iter_init(&m, &match);
	while (bson_iter_next(&m)) {
		uint32_t olen;
		const char *ours = BSON_ITER_HOLDS_UTF8(&m) ? bson_iter_utf8(&m, &olen) : NULL;
		if (!ours || strlen(ours) != olen || !*ours)
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN,
					    "count.match.%s: must name a column of %s", bson_iter_key(&m), table);
		migrate__sql_printf(q, "%s.", alias);
		migrate__sql_ident(q, bson_iter_key(&m));
		migrate__sql_append(q, " = ");
		if (row_alias)
			migrate__sql_append(q, row);
		else
			migrate__sql_ident(q, row);
		migrate__sql_append(q, ".");
		migrate__sql_ident(q, ours);
		migrate__sql_append(q, " AND ");
	}
	return migrate__sql_where(q, has_where ? &where : NULL, alias, err);
}

/* The count's object at `it`, in `cnt`, and its counted table; NULL (with the error) when malformed. */
static const char *count_of(const bson_iter_t *it, bson_t *cnt, migrate_error_t *err)
{
	bson_t match;
	const uint8_t *data;
	uint32_t len;
	const char *other;

	if (!BSON_ITER_HOLDS_DOCUMENT(it)) {
		migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "count: must be an object");
		return NULL;
	}
	bson_iter_document(it, &len, &data);
	bson_init_static(cnt, data, len);
	if (!(other = migrate__sql_doc_ident(cnt, "table", err)))
		return NULL;
	if (!migrate__doc_sub(cnt, "match", &match) || bson_count_keys(&match) == 0) {
		migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "count.match: must be a non-empty object");
		return NULL;
	}
	return other;
}

static int count_expr(migrate_sql_t *q, const bson_iter_t *it, const char *table, migrate_error_t *err)
{
	bson_t cnt;
	const char *other, *alias = count_alias(table);
	int rc;

	if (!(other = count_of(it, &cnt, err)))
		return MIGRATE_EPLAN;
	migrate__sql_append(q, "(SELECT count(*) FROM ");
	migrate__sql_ident(q, other);
	migrate__sql_printf(q, " AS %s WHERE ", alias);
	if ((rc = count_rows(q, &cnt, table, table, false, alias, err)))
		return rc;
	migrate__sql_append(q, ")");
	return 0;
}

bool migrate__sql_count_keyed(const bson_t *step, const char *key, migrate_sql_count_t *out)
{
	bson_t set, expr, cnt, match;
	bson_iter_t it, e, m;
	const uint8_t *data;
	uint32_t len;

	memset(out, 0, sizeof *out);
	if (!migrate__doc_sub(step, "set", &set))
		return false;
	bson_iter_init(&it, &set);
	while (bson_iter_next(&it)) {
		if (!BSON_ITER_HOLDS_DOCUMENT(&it))
			continue;
		bson_iter_document(&it, &len, &data);
		bson_init_static(&expr, data, len);
		/* An expression's kind is its first key (migrate__sql_expr). */
		if (!bson_iter_init(&e, &expr) || !bson_iter_next(&e) || strcmp(bson_iter_key(&e), "count") != 0 ||
		    !BSON_ITER_HOLDS_DOCUMENT(&e))
			continue;
		bson_iter_document(&e, &len, &data);
		bson_init_static(&cnt, data, len);
		if (!migrate__doc_str(&cnt, "table") || !migrate__doc_sub(&cnt, "match", &match) ||
		    bson_count_keys(&match) != 1 || !bson_iter_init(&m, &match) || !bson_iter_next(&m) ||
		    !BSON_ITER_HOLDS_UTF8(&m) || strcmp(bson_iter_utf8(&m, NULL), key) != 0)
			continue;
		out->column = bson_iter_key(&it);
		out->table = migrate__doc_str(&cnt, "table");
		out->matched = bson_iter_key(&m);
		out->count = e;
		return true;
	}
	return false;
}

int migrate__sql_count_join(migrate_sql_t *q, const migrate_sql_count_t *c, const char *table, const char *row,
			    const char *alias, migrate_error_t *err)
{
	bson_t cnt;
	const char *other;

	if (!(other = count_of(&c->count, &cnt, err)))
		return MIGRATE_EPLAN;
	migrate__sql_ident(q, other);
	migrate__sql_printf(q, " AS %s ON ", alias);
	return count_rows(q, &cnt, table, row, true, alias, err);
}

int migrate__sql_expr(migrate_sql_t *q, const bson_t *expr, const char *table, migrate_error_t *err)
{
	bson_iter_t it;
	const char *kind, *s;
	uint32_t len;

	if (!bson_iter_init(&it, expr) || !bson_iter_next(&it))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "an expression must not be empty");
	kind = bson_iter_key(&it);
	if (!strcmp(kind, "value"))
		return migrate__sql_value(q, &it, err);
	if (!strcmp(kind, "column") || !strcmp(kind, "array_length")) {
		s = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, &len) : NULL;
		if (!s || !*s || strlen(s) != len)
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "%s: must name a column", kind);
		if (kind[0] == 'c') {
			migrate__sql_ident(q, s);
			return 0;
		}
		if (!q->d->array_length)
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
					    "array_length is not supported by the %s driver", q->d->name);
		return q->d->array_length(q, table, s, err);
	}
	if (!strcmp(kind, "count"))
		return count_expr(q, &it, table, err);
	if (!strcmp(kind, "sql")) {
		if (!BSON_ITER_HOLDS_UTF8(&it))
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "sql: must be a string");
		migrate__sql_append(q, "(");
		migrate__sql_append(q, bson_iter_utf8(&it, NULL));
		migrate__sql_append(q, ")");
		return 0;
	}
	if (!strcmp(kind, "mongo"))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
				    "the %s driver cannot evaluate {\"mongo\": ...} expressions (MongoDB only); use "
				    "{\"sql\": ...} or a portable expression",
				    q->d->name);
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED, "unknown expression \"%s\"", kind);
}
