/*
 * The queries of assert steps (docs/steps.md "assert"). Each driver runs
 * them and reads the answer its own way; exists asks the database's
 * catalog, through the dialect.
 */
#include <string.h>

#include "sql.h"

/* SELECT count(*) FROM "t" WHERE <where>, or (any) SELECT EXISTS (SELECT 1 FROM "t" WHERE <where>). */
static int count_rows(migrate_sql_t *q, const bson_t *arg, bool any, migrate_error_t *err)
{
	bson_t where;
	int rc;

	migrate__sql_append(q, any ? "SELECT EXISTS (SELECT 1 FROM " : "SELECT count(*) FROM ");
	migrate__sql_ident(q, migrate__doc_str(arg, "table"));
	migrate__sql_append(q, " WHERE ");
	if ((rc = migrate__sql_where(q, migrate__doc_sub(arg, "where", &where) ? &where : NULL, NULL, err)))
		return rc;
	if (any)
		migrate__sql_append(q, ")");
	return 0;
}

/*
 * SELECT "a"<cast> || ', ' || "b"<cast>, count(*) FROM "t"
 * WHERE "a" IS NOT NULL AND "b" IS NOT NULL GROUP BY "a", "b" HAVING count(*) > 1
 */
static void duplicates(migrate_sql_t *q, const bson_t *arg)
{
	migrate_buf_t *values = migrate__buf_new(NULL), *notnull = migrate__buf_new(NULL),
		      *list = migrate__buf_new(NULL);
	bson_t cols;
	bson_iter_t it;
	bool first = true;

	migrate__doc_sub(arg, "columns", &cols);
	bson_iter_init(&it, &cols);
	while (bson_iter_next(&it)) {
		const char *c = bson_iter_utf8(&it, NULL);
		migrate_buf_append(values, first ? "" : " || ', ' || ");
		migrate_buf_append(notnull, first ? "" : " AND ");
		migrate_buf_append(list, first ? "" : ", ");
		first = false;
		migrate__sql_quote_ident(values, c);
		migrate_buf_append(values, q->d->text_cast);
		migrate__sql_quote_ident(notnull, c);
		migrate_buf_append(notnull, " IS NOT NULL");
		migrate__sql_quote_ident(list, c);
	}
	migrate__sql_printf(q, "SELECT %s, count(*) FROM ", values->str);
	migrate__sql_ident(q, migrate__doc_str(arg, "table"));
	migrate__sql_printf(q, " WHERE %s GROUP BY %s HAVING count(*) > 1", notnull->str, list->str);
	migrate__buf_free(values, true);
	migrate__buf_free(notnull, true);
	migrate__buf_free(list, true);
}

int migrate__sql_assert_query(migrate_sql_t *q, const char *kind, const bson_t *arg, migrate_error_t *err)
{
	if (!strcmp(kind, "count") || !strcmp(kind, "no_match"))
		return count_rows(q, arg, kind[0] == 'n', err);
	if (!strcmp(kind, "unique")) {
		duplicates(q, arg);
		return 0;
	}
	if (!strcmp(kind, "exists"))
		return q->d->exists_query(q, migrate__doc_str(arg, "table"), migrate__doc_str(arg, "column"),
					  migrate__doc_str(arg, "index"), err);
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED, "assert %s has no query on %s", kind,
			    q->d->name);
}
