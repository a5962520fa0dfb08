/*
 * Statements under construction: text, quoting, bound values and literals.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sql.h"

void migrate__sql_init(migrate_sql_t *q, const migrate_sql_dialect_t *d, void *ctx)
{
	memset(q, 0, sizeof *q);
	q->d = d;
	q->ctx = ctx;
	q->text = migrate__buf_new(NULL);
	bson_init(&q->params);
}

void migrate__sql_reset(migrate_sql_t *q)
{
	migrate_buf_truncate(q->text, 0);
	bson_reinit(&q->params);
	q->nparams = 0;
}

void migrate__sql_free(migrate_sql_t *q)
{
	if (!q->text)
		return;
	migrate__buf_free(q->text, true);
	bson_destroy(&q->params);
	q->text = NULL;
}

const char *migrate__sql_text(const migrate_sql_t *q)
{
	return q->text->str;
}

void migrate__sql_append(migrate_sql_t *q, const char *s)
{
	migrate_buf_append(q->text, s);
}

void migrate__sql_printf(migrate_sql_t *q, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = bson_strdupv_printf(fmt, ap);
	va_end(ap);
	migrate_buf_append(q->text, s);
	bson_free(s);
}

void migrate__sql_quote_ident(migrate_buf_t *out, const char *name)
{
	const char *p;

	migrate_buf_append_c(out, '"');
	for (p = name; *p; p++) {
		if (*p == '"')
			migrate_buf_append_c(out, '"');
		migrate_buf_append_c(out, *p);
	}
	migrate_buf_append_c(out, '"');
}

void migrate__sql_ident(migrate_sql_t *q, const char *name)
{
	migrate__sql_quote_ident(q->text, name);
}

void migrate__sql_ident_list(migrate_sql_t *q, char *const *names, size_t n, const char *suffix)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			migrate__sql_append(q, ", ");
		migrate__sql_ident(q, names[i]);
		migrate__sql_append(q, suffix);
	}
}

int migrate__sql_quote_string(migrate_buf_t *out, const char *s, size_t len, migrate_error_t *err)
{
	size_t i;

	if (memchr(s, '\0', len))
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN,
				    "a string holding a NUL character cannot be written into SQL text");
	migrate_buf_append_c(out, '\'');
	for (i = 0; i < len; i++) {
		if (s[i] == '\'')
			migrate_buf_append_c(out, '\'');
		migrate_buf_append_c(out, s[i]);
	}
	migrate_buf_append_c(out, '\'');
	return 0;
}

/* The placeholder for the next parameter. */
static void placeholder(migrate_sql_t *q)
{
	if (q->d->param_style == MIGRATE_SQL_PARAM_DOLLAR)
		migrate_buf_printf(q->text, "$%u", q->nparams + 1);
	else
		migrate_buf_append_c(q->text, '?');
}

static const char *next_key(migrate_sql_t *q, char *buf, size_t size)
{
	const char *key;

	bson_uint32_to_string(q->nparams, &key, buf, size);
	return key;
}

void migrate__sql_param_int(migrate_sql_t *q, int64_t v)
{
	char buf[16];

	placeholder(q);
	bson_append_int64(&q->params, next_key(q, buf, sizeof buf), -1, v);
	q->nparams++;
}

void migrate__sql_param_str(migrate_sql_t *q, const char *s)
{
	char buf[16];

	placeholder(q);
	bson_append_utf8(&q->params, next_key(q, buf, sizeof buf), -1, s, -1);
	q->nparams++;
}

int migrate__sql_literal(const migrate_sql_dialect_t *d, migrate_buf_t *out, const bson_iter_t *it,
			 migrate_error_t *err)
{
	const char *s;
	uint32_t len;
	migrate_buf_t *json;
	int rc;

	switch (bson_iter_type(it)) {
	case BSON_TYPE_NULL: migrate_buf_append(out, "NULL"); return 0;
	case BSON_TYPE_BOOL: migrate_buf_append(out, bson_iter_bool(it) ? d->true_literal : d->false_literal); return 0;
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64: migrate_buf_printf(out, "%lld", (long long)bson_iter_as_int64(it)); return 0;
	case BSON_TYPE_DOUBLE: {
		double v = bson_iter_double(it);
		char buf[40];
		if (!isfinite(v))
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN,
					    "a non-finite number cannot be written into SQL text");
		snprintf(buf, sizeof buf, "%.17g", v);
		migrate_buf_append(out, buf);
		if (!strpbrk(buf, ".eE"))
			migrate_buf_append(out, ".0");
		return 0;
	}
	case BSON_TYPE_UTF8: s = bson_iter_utf8(it, &len); return migrate__sql_quote_string(out, s, len, err);
	case BSON_TYPE_DOCUMENT:
	case BSON_TYPE_ARRAY:
		/* JSON values are stored as their text. */
		json = migrate__buf_new(NULL);
		migrate__json_value(it, json);
		rc = migrate__sql_quote_string(out, json->str, json->len, err);
		migrate__buf_free(json, true);
		return rc;
	default:
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN,
				    "a value of BSON type 0x%02x cannot be used in SQL", (unsigned)bson_iter_type(it));
	}
}

int migrate__sql_value(migrate_sql_t *q, const bson_iter_t *it, migrate_error_t *err)
{
	char buf[16];
	const char *key;

	if (q->literal)
		return migrate__sql_literal(q->d, q->text, it, err);
	key = next_key(q, buf, sizeof buf);
	switch (bson_iter_type(it)) {
	case BSON_TYPE_NULL:
	case BSON_TYPE_BOOL:
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
	case BSON_TYPE_DOUBLE:
	case BSON_TYPE_UTF8:
	case BSON_TYPE_BINARY: bson_append_value(&q->params, key, -1, bson_iter_value((bson_iter_t *)it)); break;
	case BSON_TYPE_DOCUMENT:
	case BSON_TYPE_ARRAY: {
		migrate_buf_t *json = migrate__buf_new(NULL);
		migrate__json_value(it, json);
		bson_append_utf8(&q->params, key, -1, json->str, (int)json->len);
		migrate__buf_free(json, true);
		break;
	}
	default:
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN,
				    "a value of BSON type 0x%02x cannot be bound", (unsigned)bson_iter_type(it));
	}
	placeholder(q);
	q->nparams++;
	return 0;
}

int migrate__sql_type_index(const char *portable)
{
	static const char *const names[MIGRATE_SQL_TYPE_COUNT] = {"text", "integer", "bigint",    "double", "boolean",
								  "uuid", "json",    "timestamp", "bytes"};
	int i;

	for (i = 0; i < MIGRATE_SQL_TYPE_COUNT; i++)
		if (strcmp(portable, names[i]) == 0)
			return i;
	return -1;
}

const char *migrate__sql_on_delete(const char *action)
{
	static const char *const map[][2] = {{"cascade", "CASCADE"},
					     {"set null", "SET NULL"},
					     {"restrict", "RESTRICT"},
					     {"no action", "NO ACTION"},
					     {"set default", "SET DEFAULT"}};
	size_t i;

	for (i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(action, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

const char *migrate__sql_doc_ident(const bson_t *doc, const char *key, migrate_error_t *err)
{
	bson_iter_t it;
	const char *s;
	uint32_t len;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it)) {
		migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "%s: a string is required", key);
		return NULL;
	}
	s = bson_iter_utf8(&it, &len);
	if (len == 0 || strlen(s) != len) {
		migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EPLAN, "%s: invalid identifier", key);
		return NULL;
	}
	return s;
}
