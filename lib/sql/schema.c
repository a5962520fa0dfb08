/*
 * Drift detection helpers shared by the SQL drivers: a plan column's type
 * as the driver's catalog spells it, and the catalog read as one query
 * whose single value is the JSON document schema_read returns.
 */
#include <string.h>

#include "sql.h"

void migrate__sql_schema_type(const char *const *names, const char *enum_type, bool raw_types, const bson_t *column,
			      migrate_buf_t *out)
{
	bson_iter_t it, raw;
	const char *t;
	int i;

	if (!bson_iter_init_find(&it, column, "type"))
		return;
	if (BSON_ITER_HOLDS_UTF8(&it)) {
		t = bson_iter_utf8(&it, NULL);
		if (!strncmp(t, "enum:", 5))
			migrate_buf_append(out, enum_type ? enum_type : t);
		else if ((i = migrate__sql_type_index(t)) >= 0)
			migrate_buf_append(out, names[i]);
	} else if (raw_types && BSON_ITER_HOLDS_DOCUMENT(&it) && bson_iter_recurse(&it, &raw) &&
		   bson_iter_find(&raw, "sql") && BSON_ITER_HOLDS_UTF8(&raw)) {
		migrate_buf_append(out, bson_iter_utf8(&raw, NULL));
	}
}

int migrate__sql_schema_parse(const char *json, bson_t *out, migrate_error_t *err)
{
	bson_t doc;
	int rc;

	if (!json)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB, "the catalog query returned nothing");
	if ((rc = migrate__json_parse(json, false, &doc, err)) == 0)
		bson_concat(out, &doc);
	bson_destroy(&doc);
	return rc;
}

char *migrate__sql_schema_wanted(const bson_t *wanted)
{
	migrate_buf_t *b = migrate__buf_new(NULL);

	migrate__json_canonical(wanted, false, b);
	return migrate__buf_free(b, false);
}
