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

static int count_expr(migrate_sql_t *q, const bson_iter_t *it, const char *table, migrate_error_t *err)
{
	bson_t cnt, match, where;
	bson_iter_t m;
	const uint8_t *data;
	uint32_t len;
	const char *other, *alias = count_alias(table);
	bool has_where;
	int rc;

	if (!BSON_ITER_HOLDS_DOCUMENT(it))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "count: must be an object");
	bson_iter_document(it, &len, &data);
	bson_init_static(&cnt, data, len);
	if (!(other = migrate__sql_doc_ident(&cnt, "table", err)))
		return MIGRATE_EPLAN;
	if (!migrate__doc_sub(&cnt, "match", &match) || bson_count_keys(&match) == 0)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN,
				    "count.match: must be a non-empty object");
	has_where = migrate__doc_sub(&cnt, "where", &where);

	migrate__sql_append(q, "(SELECT count(*) FROM ");
	migrate__sql_ident(q, other);
	migrate__sql_printf(q, " AS %s WHERE ", alias);
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
		migrate__sql_ident(q, table);
		migrate__sql_append(q, ".");
		migrate__sql_ident(q, ours);
		migrate__sql_append(q, " AND ");
	}
	if ((rc = migrate__sql_where(q, has_where ? &where : NULL, alias, err)))
		return rc;
	migrate__sql_append(q, ")");
	return 0;
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
