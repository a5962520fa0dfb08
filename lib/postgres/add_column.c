/*
 * add_column with a volatile default ("uuid"): PostgreSQL would fill the
 * new column by rewriting the whole table under an ACCESS EXCLUSIVE lock,
 * blocking reads and writes for as long as that takes. Instead the column
 * is added empty with its default for new rows (instant), the existing
 * rows are filled in batches (batch.c, journaled, resumable), and NOT NULL
 * is set through a CHECK constraint validated without blocking writes, so
 * that SET NOT NULL needs no scan. Constant and stable defaults (values,
 * "now") need none of this: PostgreSQL adds them without a rewrite.
 */
#include <stdio.h>
#include <string.h>

#include "pg.h"

int migrate__pg_add_column_phased(const bson_t *step)
{
	bson_t column;
	const char *d;

	if (!migrate__doc_sub(step, "column", &column))
		return 0;
	d = migrate__doc_str(&column, "default");
	return d && !strcmp(d, "uuid");
}

typedef struct phased {
	const char *table, *column;
	int not_null;
	char check[64]; /* name of the temporary CHECK constraint */
	bson_t def;     /* the column without default and nullable */
} phased_t;

static void phased_init(phased_t *p, const bson_t *step)
{
	bson_t column;
	uint32_t h = 2166136261u;
	const unsigned char *s;

	memset(p, 0, sizeof *p);
	bson_init(&p->def);
	p->table = migrate__doc_str(step, "table");
	migrate__doc_sub(step, "column", &column);
	p->column = migrate__doc_str(&column, "name");
	p->not_null = !migrate__doc_bool(&column, "nullable", true);
	bson_copy_to_excluding_noinit(&column, &p->def, "default", "nullable", NULL);
	for (s = (const unsigned char *)p->table; *s; s++)
		h = (h ^ *s) * 16777619u;
	for (s = (const unsigned char *)p->column; *s; s++)
		h = (h ^ *s) * 16777619u;
	snprintf(p->check, sizeof p->check, "_migrate_not_null_%08x", h);
}

/* ALTER TABLE "t" ADD COLUMN <column, nullable, no default>; ALTER TABLE "t" ALTER COLUMN "c" SET DEFAULT ... */
static int add_empty(phased_t *p, migrate_sql_t *q, migrate_error_t *err)
{
	int rc;

	if ((rc = migrate__sql_add_column(q, p->table, &p->def, err)))
		return rc;
	migrate__sql_append(q, "; ALTER TABLE ");
	migrate__sql_ident(q, p->table);
	migrate__sql_append(q, " ALTER COLUMN ");
	migrate__sql_ident(q, p->column);
	migrate__sql_printf(q, " SET DEFAULT %s", migrate__pg_dialect.default_uuid);
	return 0;
}

/* The backfill of the existing rows, as a backfill step of its own. */
static void fill_step(phased_t *p, bson_t *out)
{
	bson_t set, expr, where, cond;

	bson_init(out);
	BSON_APPEND_UTF8(out, "op", "backfill");
	BSON_APPEND_UTF8(out, "table", p->table);
	BSON_APPEND_DOCUMENT_BEGIN(out, "set", &set);
	bson_append_document_begin(&set, p->column, -1, &expr);
	BSON_APPEND_UTF8(&expr, "sql", migrate__pg_dialect.default_uuid);
	bson_append_document_end(&set, &expr);
	bson_append_document_end(out, &set);
	BSON_APPEND_DOCUMENT_BEGIN(out, "where", &where);
	bson_append_document_begin(&where, p->column, -1, &cond);
	BSON_APPEND_BOOL(&cond, "$exists", false);
	bson_append_document_end(&where, &cond);
	bson_append_document_end(out, &where);
}

/* The statements that set NOT NULL without a blocking scan, one per element. */
static void not_null_statements(phased_t *p, migrate_buf_t *s[4])
{
	int i;

	for (i = 0; i < 4; i++) {
		s[i] = migrate__buf_new("ALTER TABLE ");
		migrate__pg_ident(s[i], p->table);
	}
	migrate_buf_append(s[0], " ADD CONSTRAINT ");
	migrate__pg_ident(s[0], p->check);
	migrate_buf_append(s[0], " CHECK (");
	migrate__pg_ident(s[0], p->column);
	migrate_buf_append(s[0], " IS NOT NULL) NOT VALID");
	migrate_buf_append(s[1], " VALIDATE CONSTRAINT ");
	migrate__pg_ident(s[1], p->check);
	migrate_buf_append(s[2], " ALTER COLUMN ");
	migrate__pg_ident(s[2], p->column);
	migrate_buf_append(s[2], " SET NOT NULL");
	migrate_buf_append(s[3], " DROP CONSTRAINT ");
	migrate__pg_ident(s[3], p->check);
}

int migrate__pg_add_column_render(pg_target_t *t, const bson_t *step, migrate_buf_t *out, migrate_error_t *err)
{
	phased_t p;
	migrate_sql_t q;
	bson_t fill;
	migrate_buf_t *nn[4];
	int rc, i;

	migrate__sql_init(&q, &migrate__pg_dialect, t);
	phased_init(&p, step);
	if ((rc = add_empty(&p, &q, err)))
		goto cleanup;
	migrate_buf_printf(out,
			   "-- a volatile default: the column is added empty, existing rows are filled in "
			   "batches, then NOT NULL is set without a blocking scan\n%s;\n",
			   migrate__sql_text(&q));
	fill_step(&p, &fill);
	rc = migrate__pg_batch_render(t, &fill, "backfill", out, err);
	bson_destroy(&fill);
	if (rc || !p.not_null)
		goto cleanup;
	not_null_statements(&p, nn);
	migrate_buf_printf(out, "%s;\n%s;\n%s; %s;\n", nn[0]->str, nn[1]->str, nn[2]->str, nn[3]->str);
	for (i = 0; i < 4; i++)
		migrate__buf_free(nn[i], true);
cleanup:
	migrate__sql_free(&q);
	bson_destroy(&p.def);
	return rc;
}

/* 1 when the column exists; 2 when it is NOT NULL too; 3 when our CHECK constraint is there. */
static int column_state(pg_target_t *t, phased_t *p, int *exists, int *notnull, int *check, migrate_error_t *err)
{
	migrate_buf_t *qt = migrate__buf_new(NULL);
	const char *v[3];
	PGresult *res = NULL;
	int rc;

	migrate__pg_ident(qt, p->table);
	v[0] = qt->str;
	v[1] = p->column;
	v[2] = p->check;
	rc = migrate__pg_exec(
		t,
		"SELECT (SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 "
		"AND attnum > 0 AND NOT attisdropped), (SELECT count(*) FROM pg_attribute WHERE attrelid = "
		"to_regclass($1) AND attname = $2 AND attnotnull AND NOT attisdropped), (SELECT count(*) FROM "
		"pg_constraint WHERE conrelid = to_regclass($1) AND conname = $3)",
		3, v, &res, "reading the column", err);
	if (rc == 0) {
		*exists = PQgetvalue(res, 0, 0)[0] != '0';
		*notnull = PQgetvalue(res, 0, 1)[0] != '0';
		*check = PQgetvalue(res, 0, 2)[0] != '0';
	}
	PQclear(res);
	migrate__buf_free(qt, true);
	return rc;
}

static int set_not_null(pg_target_t *t, phased_t *p, migrate_exec_t *exec, int check, migrate_error_t *err)
{
	migrate_buf_t *nn[4];
	int rc = 0, i;

	not_null_statements(p, nn);
	if (!check)
		rc = migrate__pg_run_retrying(t, nn[0]->str, exec, 0, "add_column (NOT NULL check)", err);
	if (rc == 0)
		rc = migrate__pg_run_retrying(t, nn[1]->str, exec, 0, "add_column (validating NOT NULL)", err);
	if (rc == 0) {
		migrate_buf_printf(nn[2], "; %s", nn[3]->str);
		rc = migrate__pg_run_retrying(t, nn[2]->str, exec, 0, "add_column (SET NOT NULL)", err);
	}
	for (i = 0; i < 4; i++)
		migrate__buf_free(nn[i], true);
	return rc;
}

int migrate__pg_add_column_apply(pg_target_t *t, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	phased_t p;
	migrate_sql_t q;
	bson_t fill;
	int rc, exists = 0, notnull = 0, check = 0;

	migrate__sql_init(&q, &migrate__pg_dialect, t);
	phased_init(&p, step);
	/* A column of that name is ours only when an earlier run of this step journaled that it started. */
	if (migrate_exec_checkpoint(exec) && (rc = column_state(t, &p, &exists, &notnull, &check, err)))
		goto cleanup;
	if (!exists) {
		if ((rc = migrate_exec_journal(exec, "{\"phase\":\"add\"}", err)) || (rc = add_empty(&p, &q, err)) ||
		    (rc = migrate__pg_run_retrying(t, migrate__sql_text(&q), exec, 0, "add_column", err)))
			goto cleanup;
	}
	fill_step(&p, &fill);
	rc = migrate__pg_batch_apply(t, &fill, "backfill", exec, err);
	bson_destroy(&fill);
	if (rc == 0 && p.not_null && !notnull)
		rc = set_not_null(t, &p, exec, check, err);
cleanup:
	migrate__sql_free(&q);
	bson_destroy(&p.def);
	return rc;
}
