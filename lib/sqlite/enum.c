/*
 * Enums on SQLite, which has no enum types: definitions are kept in
 * "_migrate_enums" (name, values as a JSON array), and a column of type
 * enum:<name> becomes TEXT with a named CHECK constraint built from the
 * stored values: CONSTRAINT "migrate_enum_<name>" CHECK ("col" IN (...)).
 * The constraint name lets drop_enum find the tables that still use an enum
 * and refuse, as PostgreSQL's DROP TYPE does without CASCADE.
 */
#include <string.h>

#include "sqlite_int.h"

#define ENUM_PREFIX "migrate_enum_"

static const char enum_ddl[] =
	"CREATE TABLE IF NOT EXISTS \"" SQ_ENUM_TABLE "\" (name TEXT PRIMARY KEY, \"values\" TEXT NOT NULL)";

/* Parses a stored JSON array into *out (an array document). */
static int parse_values(const char *json, bson_t *out, migrate_error_t *err)
{
	migrate_buf_t *wrap = migrate__buf_new("{\"v\": ");
	bson_t doc;
	bson_error_t berr;
	bson_iter_t it;
	const uint8_t *data;
	uint32_t len;
	int rc = 0;

	migrate_buf_append(wrap, json);
	migrate_buf_append(wrap, "}");
	if (!bson_init_from_json(&doc, wrap->str, -1, &berr)) {
		migrate__buf_free(wrap, true);
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
				    SQ_ENUM_TABLE " holds malformed values: %s", berr.message);
	}
	migrate__buf_free(wrap, true);
	if (bson_iter_init_find(&it, &doc, "v") && BSON_ITER_HOLDS_ARRAY(&it)) {
		bson_t arr;
		bson_iter_array(&it, &len, &data);
		bson_init_static(&arr, data, len);
		bson_copy_to(&arr, out);
	} else {
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
				  SQ_ENUM_TABLE " holds values that are not an array");
	}
	bson_destroy(&doc);
	return rc;
}

/* The stored values of enum `name` into *out: 0, MIGRATE_ENOTFOUND, or an error. */
static int stored_values(sq_conn_t *c, const char *name, bson_t *out, migrate_error_t *err)
{
	migrate_sql_t q;
	sqlite3_stmt *st = NULL;
	int exists, rc;

	if ((rc = migrate__sq_exists(c, "table", SQ_ENUM_TABLE, &exists, err)))
		return rc;
	if (!exists)
		return MIGRATE_ENOTFOUND;
	migrate__sql_init(&q, &migrate__sq_dialect, c);
	migrate__sql_append(&q, "SELECT \"values\" FROM \"" SQ_ENUM_TABLE "\" WHERE name = ");
	migrate__sql_param_str(&q, name);
	if ((rc = migrate__sq_prepare_q(c, &q, &st, err)))
		goto cleanup;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = parse_values((const char *)sqlite3_column_text(st, 0), out, err);
	else if (rc == SQLITE_DONE)
		rc = MIGRATE_ENOTFOUND;
	else
		rc = migrate__sq_err(c, err, "reading " SQ_ENUM_TABLE);
cleanup:
	sqlite3_finalize(st);
	migrate__sql_free(&q);
	return rc;
}

/* The values of an enum: from the database or, while rendering, from an earlier rendered create_enum. */
static int enum_values(sq_conn_t *c, const char *name, bson_t *out, migrate_error_t *err)
{
	bson_t sub;
	int rc = stored_values(c, name, out, err);

	if (rc != MIGRATE_ENOTFOUND)
		return rc;
	if (c->rendering && migrate__doc_sub(c->render_enums, name, &sub)) {
		bson_copy_to(&sub, out);
		return 0;
	}
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
			    "enum \"%s\" does not exist (create it with a create_enum step first)", name);
}

int migrate__sq_enum_column(migrate_sql_t *q, const char *enum_name, const char *column, migrate_error_t *err)
{
	sq_conn_t *c = q->ctx;
	bson_t values;
	bson_iter_t it;
	migrate_buf_t *cname;
	bool first = true;
	int rc;

	if ((rc = enum_values(c, enum_name, &values, err)))
		return rc;
	cname = migrate__buf_new(ENUM_PREFIX);
	migrate_buf_append(cname, enum_name);
	migrate__sql_append(q, "TEXT CONSTRAINT ");
	migrate__sql_ident(q, cname->str);
	migrate__buf_free(cname, true);
	migrate__sql_append(q, " CHECK (");
	migrate__sql_ident(q, column);
	migrate__sql_append(q, " IN (");
	bson_iter_init(&it, &values);
	while (bson_iter_next(&it)) {
		if (!first)
			migrate__sql_append(q, ", ");
		first = false;
		if ((rc = migrate__sql_literal(q->d, q->text, &it, err)))
			break;
	}
	migrate__sql_append(q, "))");
	bson_destroy(&values);
	return rc;
}

static void values_json(const bson_t *step, migrate_buf_t *json, bson_t *values)
{
	bson_iter_t it;

	bson_iter_init_find(&it, step, "values");
	migrate__json_value(&it, json);
	migrate__doc_sub(step, "values", values);
}

int migrate__sq_create_enum(sq_conn_t *c, const bson_t *step, int render, migrate_buf_t *out, migrate_error_t *err)
{
	sq_stmts_t l = {0};
	migrate_sql_t *q;
	migrate_buf_t *json = migrate__buf_new(NULL);
	bson_t values, stored;
	const char *name = migrate__doc_str(step, "name");
	int rc;

	values_json(step, json, &values);
	if (!render) {
		rc = stored_values(c, name, &stored, err);
		if (rc == 0) {
			migrate_buf_t *have = migrate__buf_new(NULL);
			migrate__json_canonical(&stored, true, have);
			rc = strcmp(have->str, json->str) == 0
				     ? 0 /* already there, identical: nothing to do */
				     : migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
						    "enum \"%s\" already exists with other values %s", name, have->str);
			migrate__buf_free(have, true);
			bson_destroy(&stored);
			goto cleanup;
		}
		if (rc != MIGRATE_ENOTFOUND)
			goto cleanup;
	}
	if (!(q = migrate__sq_stmts_add(&l, c))) {
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
		goto cleanup;
	}
	migrate__sql_append(q, enum_ddl);
	if (!(q = migrate__sq_stmts_add(&l, c))) {
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
		goto cleanup;
	}
	migrate__sql_append(q, "INSERT INTO \"" SQ_ENUM_TABLE "\" (name, \"values\") VALUES (");
	migrate__sql_param_str(q, name);
	migrate__sql_append(q, ", ");
	migrate__sql_param_str(q, json->str);
	migrate__sql_append(q, ")");
	if (render) {
		/* Later steps of the same render may declare columns of this type. */
		bson_append_array(c->render_enums, name, -1, &values);
		migrate__sq_stmts_render(&l, out);
		rc = 0;
	} else {
		rc = migrate__sq_stmts_run(c, &l, err);
	}
cleanup:
	migrate__sq_stmts_free(&l);
	migrate__buf_free(json, true);
	return rc;
}

/* The first table whose definition carries the enum's constraint, into *table (caller frees). */
static int enum_user(sq_conn_t *c, const char *name, char **table, migrate_error_t *err)
{
	sqlite3_stmt *st = NULL;
	migrate_buf_t *needle = migrate__buf_new("CONSTRAINT "), *cname = migrate__buf_new(ENUM_PREFIX);
	int rc;

	*table = NULL;
	migrate_buf_append(cname, name);
	migrate__sql_quote_ident(needle, cname->str);
	if ((rc = migrate__sq_prepare(c, "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL",
				      &st, err)))
		goto cleanup;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *sql = (const char *)sqlite3_column_text(st, 1), *p = sql;
		/* The quoted name ends at a single '"'; a doubled one would be another, longer name. */
		while ((p = strstr(p, needle->str)) != NULL) {
			p += needle->len;
			if (*p != '"')
				break;
		}
		if (p) {
			if (!(*table = migrate__strdup((const char *)sqlite3_column_text(st, 0)))) {
				rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
				goto cleanup;
			}
			break;
		}
	}
	rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 : migrate__sq_err(c, err, "reading the schema");
cleanup:
	sqlite3_finalize(st);
	migrate__buf_free(needle, true);
	migrate__buf_free(cname, true);
	return rc;
}

int migrate__sq_drop_enum(sq_conn_t *c, const bson_t *step, int render, migrate_buf_t *out, migrate_error_t *err)
{
	migrate_sql_t q;
	const char *name = migrate__doc_str(step, "name");
	char *user = NULL;
	bson_t values;
	int rc;

	migrate__sql_init(&q, &migrate__sq_dialect, c);
	migrate__sql_append(&q, "DELETE FROM \"" SQ_ENUM_TABLE "\" WHERE name = ");
	migrate__sql_param_str(&q, name);
	if (render) {
		migrate__sq_render_sql(&q, out);
		rc = 0;
		goto cleanup;
	}
	if ((rc = stored_values(c, name, &values, err)) == MIGRATE_ENOTFOUND) {
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB, "enum \"%s\" does not exist", name);
		goto cleanup;
	}
	if (rc)
		goto cleanup;
	bson_destroy(&values);
	if ((rc = enum_user(c, name, &user, err)))
		goto cleanup;
	if (user) {
		rc = migrate__err(
			err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
			"cannot drop enum \"%s\": table \"%s\" still has a column of that type (drop or change "
			"the column first)",
			name, user);
		goto cleanup;
	}
	rc = migrate__sq_run(c, &q, NULL, err);
cleanup:
	free(user);
	migrate__sql_free(&q);
	return rc;
}
