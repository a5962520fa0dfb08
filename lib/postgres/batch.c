/*
 * Batched backfill and map_values. Rows are visited in primary-key order
 * (keyset pagination: each batch starts after the last key of the one
 * before), and each batch is one short transaction that updates its rows
 * and journals {"after": [last key], "done": n} before it commits, so a
 * killed run resumes after the last committed batch and no row is
 * updated twice. When the caller fixed no batch size, batches are sized
 * to the run's time budget (batch_time_ms) from the time the previous
 * ones held their locks. Memory does not grow with the table: one batch
 * statement and one result row at a time.
 *
 * One batch is two statements ($1 the last key so far, $2 the batch size - 1):
 *   WITH r AS ((SELECT pk AS _migrate_k0, 1 AS _migrate_more FROM t
 *               WHERE (pk) > ($1) AND <where> ORDER BY pk OFFSET $2 LIMIT 1)
 *              UNION ALL (SELECT pk, 0 FROM t WHERE (pk) > ($1) AND <where>
 *               ORDER BY pk DESC LIMIT 1) LIMIT 1)
 *   SELECT r._migrate_more, r._migrate_k0::text FROM r
 * finds the batch's last key, then
 *   UPDATE t SET ... WHERE (pk) > ($1) AND (pk) <= ($last) AND <where>
 * writes its rows (see build()).
 *
 * A one-column integer key whose values are dense (a sequence's), with
 * batches sized by time, needs no first statement: a batch is the range
 * of key values after the last one, as wide as the time sizing says
 * (choose_range), and the UPDATE's keys are bound as bigint.
 *
 * A count of the set matched on a one-column integer key by an integer
 * column of the counted table is computed for the batch's rows at once, a
 * grouped join over the batch's key range (see grouped_head()).
 *
 * With "keep", the kept table and its unique key (the primary key's
 * columns) are created once before the batches, and each batch copies the
 * old values of its rows there just before its UPDATE, in its transaction,
 * with the UPDATE's range, parameters and filter.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg.h"

#define MAX_PK 8
#define FIRST_BATCH 1000u
#define MIN_BATCH 100u
#define MAX_BATCH 1000000u
/* Sized by time, a batch aims at this part of the budget and is cut at
 * CUT_AT of it: one may run 1.6x slower than the slowest of the last
 * ones before it is cut, and a cut throws its work away, which costs far
 * more than the few more batches the lower aim makes. */
#define AIM 0.55
#define CUT_AT 0.9

typedef struct batch {
	pg_target_t *t;
	const bson_t *doc;
	const char *op;
	const char *table;
	char *pk[MAX_PK];
	size_t npk;
	int pk_known;              /* read from the catalog (else render shows a placeholder) */
	migrate_sql_t first;       /* the first batch's last key: no key condition; $1 = offset */
	migrate_sql_t next;        /* a later batch's: $1..$npk = previous last key, $npk+1 = offset */
	migrate_sql_t upd_first;   /* the first batch's UPDATE: $1..$npk = its last key */
	migrate_sql_t upd_next;    /* a later one's: $1..$npk = previous last key, then its own */
	migrate_sql_t keep_first;  /* "keep": the old values of the rows upd_first writes, same parameters */
	migrate_sql_t keep_next;   /* and of those upd_next writes */
	int keep;                  /* the step has "keep" */
	int64_t int_max;           /* a one-column integer key: its type's largest value; else 0 */
	int range;                 /* batches are ranges of that key's values, not counts of rows */
	int64_t key_min, key_max;  /* range: the smallest key, the largest when last read */
	int grouped;               /* a count of the set is computed per batch as a join (grouped_head) */
	int group_later;           /* render: whether it is depends on a table a pending step creates */
	migrate_sql_count_t count; /* that count */
} batch_t;

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void batch_free(batch_t *b)
{
	size_t i;

	for (i = 0; i < b->npk; i++)
		free(b->pk[i]);
	migrate__sql_free(&b->first);
	migrate__sql_free(&b->next);
	migrate__sql_free(&b->upd_first);
	migrate__sql_free(&b->upd_next);
	migrate__sql_free(&b->keep_first);
	migrate__sql_free(&b->keep_next);
}

/* The primary key columns of the table, in key order; npk = 0 when it has none. */
static int read_pk(batch_t *b, migrate_error_t *err)
{
	migrate_buf_t *qt;
	const char *p[1];
	PGresult *res = NULL;
	int rc, i;

	if (b->t->no_catalog || !b->t->conn || migrate__pg_lost(b->t))
		return 0;
	qt = migrate__buf_new(NULL);
	migrate__pg_ident(qt, b->table);
	p[0] = qt->str;
	rc = migrate__pg_exec(
		b->t,
		"SELECT a.attname, CASE a.atttypid WHEN 'int2'::regtype THEN 32767 WHEN 'int4'::regtype "
		"THEN 2147483647 WHEN 'int8'::regtype THEN 9223372036854775807 ELSE 0 END FROM pg_index i "
		"JOIN pg_attribute a ON a.attrelid = i.indrelid "
		"AND a.attnum = ANY (i.indkey) WHERE i.indrelid = to_regclass($1) AND i.indisprimary "
		"ORDER BY array_position(i.indkey::int2[], a.attnum)",
		1, p, &res, "reading the primary key", err);
	if (rc)
		goto cleanup;
	for (i = 0; i < PQntuples(res) && i < MAX_PK; i++)
		if (!(b->pk[b->npk++] = migrate__strdup(PQgetvalue(res, i, 0)))) {
			rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
			goto cleanup;
		}
	b->pk_known = PQntuples(res) > 0;
	if (PQntuples(res) == 1)
		b->int_max = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	if (!b->pk_known) {
		/* No primary key, or no table yet (render of a pending plan)? */
		PQclear(res);
		res = NULL;
		rc = migrate__pg_exec(b->t, "SELECT to_regclass($1) IS NOT NULL", 1, p, &res, "reading the primary key",
				      err);
		if (rc)
			goto cleanup;
		b->pk_known = PQgetvalue(res, 0, 0)[0] == 't';
	}
cleanup:
	PQclear(res);
	migrate__buf_free(qt, true);
	return rc;
}

/*
 * Whether a count of the set can be lowered as a grouped join
 * (grouped_head), for a batched step without a filter: the step's key is
 * one integer column, the count matches it, and it alone, with an integer
 * column of the counted table (so that the batch's key range is that
 * column's range too: the same values in the same order), and no name of
 * the join's can collide with the table's (its own name is not the join's
 * alias, it has no column named as the join's outputs).
 *
 * Not with other match columns: a row updated meanwhile is written with
 * its new values, and its count must be theirs, which the join computed
 * from the old ones. Not with a filter: the join would bind its values a
 * second time, and a selective one leaves few rows to count. Not for a
 * table with inheritance children, which may repeat a key (a partitioned
 * table's key is unique over its partitions). *later: the counted table
 * does not exist yet (a render of a pending plan).
 */
static int read_grouped(batch_t *b, int *later, migrate_error_t *err)
{
	migrate_buf_t *other, *ours;
	const char *p[3];
	PGresult *res = NULL;
	int rc;

	*later = 0;
	if (b->npk != 1 || b->int_max <= 0 || b->t->in_txn || strcmp(b->op, "backfill") != 0 ||
	    bson_has_field(b->doc, "where") || !strcmp(b->table, "_migrate_g") ||
	    !migrate__sql_count_keyed(b->doc, b->pk[0], &b->count))
		return 0;
	other = migrate__buf_new(NULL);
	ours = migrate__buf_new(NULL);
	migrate__pg_ident(other, b->count.table);
	migrate__pg_ident(ours, b->table);
	p[0] = other->str;
	p[1] = b->count.matched;
	p[2] = ours->str;
	rc = migrate__pg_exec(
		b->t,
		"SELECT to_regclass($1) IS NULL, EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass($1) "
		"AND attname = $2 AND NOT attisdropped AND atttypid IN ('int2'::regtype, 'int4'::regtype, "
		"'int8'::regtype)) AND NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass($3) AND "
		"attname IN ('_migrate_k', '_migrate_n') AND NOT attisdropped) AND NOT EXISTS (SELECT FROM "
		"pg_inherits JOIN pg_class ON pg_class.oid = inhparent WHERE inhparent = to_regclass($3) AND "
		"relkind <> 'p')",
		3, p, &res, "reading the counted column's type", err);
	if (rc == 0) {
		*later = PQgetvalue(res, 0, 0)[0] == 't';
		b->grouped = PQgetvalue(res, 0, 1)[0] == 't';
	}
	PQclear(res);
	migrate__buf_free(other, true);
	migrate__buf_free(ours, true);
	return rc;
}

/* Reserves the first `n` parameters ($1..$n) for values supplied per batch. */
static void reserve(migrate_sql_t *q, uint32_t n)
{
	char key[16];
	const char *k;
	uint32_t i;

	for (i = 0; i < n; i++) {
		bson_uint32_to_string(i, &k, key, sizeof key);
		bson_append_null(&q->params, k, -1);
	}
	q->nparams = n;
}

/* ("k1", "k2") > ($1, $2) AND, the keyset condition of every batch after the first. */
static void after_key(batch_t *b, migrate_sql_t *q)
{
	size_t i;

	migrate__sql_append(q, "(");
	migrate__sql_ident_list(q, b->pk, b->npk, "");
	migrate__sql_append(q, ") > (");
	for (i = 0; i < b->npk; i++)
		migrate__sql_printf(q, "%s$%zu%s", i ? ", " : "", i + 1, b->range ? "::bigint" : "");
	migrate__sql_append(q, ") AND ");
}

/* SELECT "k1" AS _migrate_k0, ... FROM "t" WHERE [keyset AND] <filter> ORDER BY "k1" [DESC], ... */
static int key_query(batch_t *b, migrate_sql_t *q, int with_key, int desc, migrate_error_t *err)
{
	size_t i;
	int rc;

	migrate__sql_append(q, "(SELECT ");
	for (i = 0; i < b->npk; i++) {
		if (i)
			migrate__sql_append(q, ", ");
		migrate__sql_ident(q, b->pk[i]);
		migrate__sql_printf(q, " AS _migrate_k%zu", i);
	}
	migrate__sql_printf(q, ", %d AS _migrate_more FROM ", desc ? 0 : 1);
	migrate__sql_ident(q, b->table);
	migrate__sql_append(q, " WHERE ");
	if (with_key)
		after_key(b, q);
	if ((rc = migrate__sql_row_filter(q, b->doc, err)))
		return rc;
	migrate__sql_append(q, " ORDER BY ");
	migrate__sql_ident_list(q, b->pk, b->npk, desc ? " DESC" : "");
	return 0;
}

/*
 * A batch is two statements in one transaction. The first finds the
 * batch's last key in the primary key index: the row `size` rows ahead
 * (OFFSET size - 1), or when fewer remain the last row (_migrate_more = 0:
 * this is the last batch); `with_key` adds the keyset condition. The
 * second is a plain UPDATE of the key range up to it, which the index
 * serves directly, with its row count from the command tag: at the same
 * cost per row as one UPDATE of the whole table (a CTE with RETURNING
 * cost about 5% more). Joining the table to a list of keys instead makes
 * the planner hash the whole table for every batch.
 */
static int build(batch_t *b, migrate_sql_t *q, int with_key, migrate_error_t *err)
{
	uint32_t offset;
	size_t i;
	int rc;

	reserve(q, with_key ? (uint32_t)b->npk + 1 : 1);
	offset = with_key ? (uint32_t)b->npk + 1 : 1;
	migrate__sql_append(q, "WITH r AS (");
	if ((rc = key_query(b, q, with_key, 0, err)))
		return rc;
	migrate__sql_printf(q, " OFFSET $%u LIMIT 1) UNION ALL ", offset);
	if ((rc = key_query(b, q, with_key, 1, err)))
		return rc;
	migrate__sql_append(q, " LIMIT 1) LIMIT 1) SELECT r._migrate_more");
	for (i = 0; i < b->npk; i++)
		migrate__sql_printf(q, ", r._migrate_k%zu::text", i);
	migrate__sql_append(q, " FROM r");
	return 0;
}

/* <alias>."col" > $1::bigint AND <alias>."col" <= $2::bigint; the first batch's: <= $1::bigint. */
static void grouped_range(migrate_sql_t *q, const char *alias, const char *col, int with_key)
{
	if (with_key) {
		migrate__sql_printf(q, "%s.", alias);
		migrate__sql_ident(q, col);
		migrate__sql_append(q, " > $1::bigint AND ");
	}
	migrate__sql_printf(q, "%s.", alias);
	migrate__sql_ident(q, col);
	migrate__sql_printf(q, " <= $%d::bigint", with_key ? 2 : 1);
}

/*
 * The head of a batch's UPDATE whose count is a grouped join: each row of
 * the batch's key range and the number of its counted rows, which one scan
 * of the counted column's range finds (an index's, where there is one)
 * instead of a subquery per row:
 *   UPDATE "t" SET "c" = _migrate_g._migrate_n, <the others> FROM (SELECT
 *     _migrate_s."id" AS _migrate_k, count(_migrate_c."x") AS _migrate_n
 *     FROM "t" AS _migrate_s LEFT JOIN "o" AS _migrate_c ON <the count's
 *     match and where> AND <the range of _migrate_c."x"> WHERE <the range
 *     of _migrate_s."id"> GROUP BY _migrate_s."id") AS _migrate_g
 *   WHERE "t"."id" = _migrate_g._migrate_k AND
 * The count's rows in the range are all those matched to a key in it:
 * both columns are integers. The range's bounds are the UPDATE's own
 * parameters, as bigint.
 */
static int grouped_head(batch_t *b, migrate_sql_t *q, int with_key, migrate_error_t *err)
{
	int rc;

	if ((rc = migrate__sql_update_set(q, b->doc, b->count.column, "_migrate_g._migrate_n", err)))
		return rc;
	migrate__sql_append(q, " FROM (SELECT _migrate_s.");
	migrate__sql_ident(q, b->pk[0]);
	migrate__sql_append(q, " AS _migrate_k, count(_migrate_c.");
	migrate__sql_ident(q, b->count.matched);
	migrate__sql_append(q, ") AS _migrate_n FROM ");
	migrate__sql_ident(q, b->table);
	migrate__sql_append(q, " AS _migrate_s LEFT JOIN ");
	if ((rc = migrate__sql_count_join(q, &b->count, b->table, "_migrate_s", "_migrate_c", err)))
		return rc;
	migrate__sql_append(q, " AND ");
	grouped_range(q, "_migrate_c", b->count.matched, with_key);
	migrate__sql_append(q, " WHERE ");
	grouped_range(q, "_migrate_s", b->pk[0], with_key);
	migrate__sql_append(q, " GROUP BY _migrate_s.");
	migrate__sql_ident(q, b->pk[0]);
	migrate__sql_append(q, ") AS _migrate_g WHERE ");
	migrate__sql_ident(q, b->table);
	migrate__sql_append(q, ".");
	migrate__sql_ident(q, b->pk[0]);
	migrate__sql_append(q, " = _migrate_g._migrate_k AND ");
	return 0;
}

static void key_range_after(batch_t *b, migrate_sql_t *q);

/* UPDATE "t" SET ... WHERE [<range><range_sep>]<the step's rows>. */
static int update_of(batch_t *b, migrate_sql_t *q, const char *range_sep, void (*range)(batch_t *, migrate_sql_t *),
		     migrate_error_t *err)
{
	int rc;

	if ((rc = b->grouped && range ? grouped_head(b, q, range == key_range_after, err)
				      : migrate__sql_update_head(q, b->doc, err)))
		return rc;
	if (range) {
		range(b, q);
		migrate__sql_append(q, range_sep);
	}
	return migrate__sql_row_filter(q, b->doc, err);
}

/* ("k1", "k2") <= ($first, $first+1): up to a batch's last key. */
static void key_upto(batch_t *b, migrate_sql_t *q, uint32_t first)
{
	uint32_t i;

	migrate__sql_append(q, "(");
	migrate__sql_ident_list(q, b->pk, b->npk, "");
	migrate__sql_append(q, ") <= (");
	for (i = 0; i < b->npk; i++)
		migrate__sql_printf(q, "%s$%u%s", i ? ", " : "", first + i, b->range ? "::bigint" : "");
	migrate__sql_append(q, ")");
}

/* The first batch's key range: up to its last key, $1.. */
static void key_range(batch_t *b, migrate_sql_t *q)
{
	key_upto(b, q, 1);
}

/* A later batch's: after the previous last key ($1..), up to its own. */
static void key_range_after(batch_t *b, migrate_sql_t *q)
{
	after_key(b, q);
	key_upto(b, q, (uint32_t)b->npk + 1);
}

/* The UPDATE of one batch: its key range, reserved as the first parameters. */
static int build_update(batch_t *b, migrate_sql_t *q, int with_key, migrate_error_t *err)
{
	reserve(q, (uint32_t)((with_key ? 2 : 1) * b->npk));
	return update_of(b, q, " AND ", with_key ? key_range_after : key_range, err);
}

/* The whole step as one UPDATE (inside the engine's transaction, or for a table without a primary key). */
static int build_single(batch_t *b, migrate_sql_t *q, migrate_error_t *err)
{
	return update_of(b, q, NULL, NULL, err);
}

/*
 * INSERT INTO <keep> ... the rows of the UPDATE with the same range: they
 * are locked as that UPDATE locks them, so that no one changes a row
 * between its copy and its UPDATE and the kept value is the one overwritten.
 */
static int keep_of(batch_t *b, migrate_sql_t *q, void (*range)(batch_t *, migrate_sql_t *), migrate_error_t *err)
{
	int rc;

	migrate__sql_keep_insert(q, b->doc, b->pk, b->npk);
	if (range) {
		range(b, q);
		migrate__sql_append(q, " AND ");
	}
	if ((rc = migrate__sql_row_filter(q, b->doc, err)))
		return rc;
	migrate__sql_append(q, " FOR NO KEY UPDATE");
	migrate__sql_keep_tail(q);
	return 0;
}

/* The keep INSERT of one batch, with the parameters of its UPDATE (build_update). */
static int build_keep(batch_t *b, migrate_sql_t *q, int with_key, migrate_error_t *err)
{
	reserve(q, (uint32_t)((with_key ? 2 : 1) * b->npk));
	return keep_of(b, q, with_key ? key_range_after : key_range, err);
}

/* CREATE TABLE IF NOT EXISTS <keep> ...; CREATE UNIQUE INDEX IF NOT EXISTS ...: a resumed run finds them. */
static void keep_setup(batch_t *b, migrate_sql_t *q)
{
	migrate__sql_keep_create(q, b->doc, b->pk, b->npk);
	migrate__sql_append(q, ";\n");
	migrate__sql_keep_index(q, b->doc, b->pk, b->npk);
}

/* A keep needs a key to set the values back by: a table without a primary key has none. */
static int keep_keyless(const batch_t *b, migrate_error_t *err)
{
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
			    "table \"%.63s\" has no primary key: %s with \"keep\" needs one to key the kept values",
			    b->table, b->op);
}

static int batch_init(batch_t *b, pg_target_t *t, const bson_t *doc, const char *op, migrate_error_t *err)
{
	int rc;

	memset(b, 0, sizeof *b);
	b->t = t;
	b->doc = doc;
	b->op = op;
	migrate__sql_init(&b->first, &migrate__pg_dialect, t);
	migrate__sql_init(&b->next, &migrate__pg_dialect, t);
	migrate__sql_init(&b->upd_first, &migrate__pg_dialect, t);
	migrate__sql_init(&b->upd_next, &migrate__pg_dialect, t);
	migrate__sql_init(&b->keep_first, &migrate__pg_dialect, t);
	migrate__sql_init(&b->keep_next, &migrate__pg_dialect, t);
	b->table = migrate__doc_str(doc, "table");
	b->keep = bson_has_field(doc, "keep");
	if ((rc = read_pk(b, err)))
		return rc;
	return read_grouped(b, &b->group_later, err);
}

/* ---- render -------------------------------------------------------------- */

static void render_params(migrate_buf_t *out, const migrate_sql_t *q, uint32_t reserved)
{
	migrate_buf_t *p = migrate__buf_new(NULL);
	bson_iter_t it;
	uint32_t i = 0;

	bson_iter_init(&it, &q->params);
	while (bson_iter_next(&it)) {
		if (i++ < reserved)
			continue;
		migrate_buf_printf(p, "%s$%u = ", p->len ? ", " : "", i);
		migrate__json_value(&it, p);
	}
	if (p->len)
		migrate_buf_printf(out, "-- with %s\n", p->str);
	migrate__buf_free(p, true);
}

int migrate__pg_batch_render(pg_target_t *t, const bson_t *doc, const char *op, migrate_buf_t *out,
			     migrate_error_t *err)
{
	batch_t b;
	int rc;

	if ((rc = batch_init(&b, t, doc, op, err)))
		goto cleanup;
	if (!b.pk_known || b.npk == 0) {
		if (b.pk_known && b.keep) {
			rc = keep_keyless(&b, err);
			goto cleanup;
		}
		if (b.pk_known) {
			migrate_buf_append(out, "-- the table has no primary key: one UPDATE in one transaction\n");
			if ((rc = build_single(&b, &b.first, err)) == 0) {
				migrate_buf_printf(out, "%s;\n", migrate__sql_text(&b.first));
				render_params(out, &b.first, 0);
			}
			goto cleanup;
		}
		b.npk = 1;
		if (!(b.pk[0] = migrate__strdup("id"))) {
			rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
			goto cleanup;
		}
		migrate_buf_printf(out, "-- the primary key of \"%s\" is read when the step runs; shown as \"id\"\n",
				   b.table);
	}
	if ((rc = build(&b, &b.next, 1, err)) || (rc = build_update(&b, &b.upd_next, 1, err)) ||
	    (b.keep && (rc = build_keep(&b, &b.keep_next, 1, err))))
		goto cleanup;
	if (b.keep) {
		migrate_sql_t q;
		migrate__sql_init(&q, &migrate__pg_dialect, t);
		keep_setup(&b, &q);
		migrate_buf_printf(out, "-- the old values are kept by primary key, in a table made once:\n%s;\n",
				   migrate__sql_text(&q));
		migrate__sql_free(&q);
	}
	/* The key's type is known once the table exists. */
	if (b.npk == 1 && (b.int_max > 0 || !b.pk_known))
		migrate_buf_append(out, "-- with batches sized by time and an integer key of dense values (a row for "
					"every two values at least), the first statement is not sent: the batch's last "
					"key is the last one before plus the batch's size, bound as bigint\n");
	if (!b.grouped && (b.group_later || (!b.pk_known && !bson_has_field(doc, "where") &&
					     migrate__sql_count_keyed(doc, b.pk[0], &b.count))))
		migrate_buf_printf(out,
				   "-- \"%s\" is counted for each batch's rows at once, a grouped join, when the "
				   "step runs with an integer key and \"%s\".\"%s\" an integer column; else as below\n",
				   b.count.column, b.count.table, b.count.matched);
	if (b.grouped)
		migrate_buf_printf(out,
				   "-- \"%s\" is counted for the batch's rows at once, a grouped join: \"%s\".\"%s\" "
				   "and the key are integers, so the batch's key range bounds the counted rows too\n",
				   b.count.column, b.count.table, b.count.matched);
	migrate_buf_printf(
		out,
		"-- batches in primary-key order, each in its own transaction with its journal "
		"write: the batch's last key, then %sthe UPDATE up to it; $1..$%zu = the last key of "
		"the previous batch (the first batch has no key condition), $%zu = rows per batch - 1\n%s;\n",
		b.keep ? "the copy of its rows' old values and " : "", b.npk, b.npk + 1, migrate__sql_text(&b.next));
	render_params(out, &b.next, (uint32_t)b.npk + 1);
	if (b.keep) {
		migrate_buf_printf(out,
				   "-- the old values of the rows the UPDATE below writes, locked as it locks them; "
				   "$%zu..$%zu = the batch's last key, from the statement above\n%s;\n",
				   b.npk + 1, 2 * b.npk, migrate__sql_text(&b.keep_next));
		render_params(out, &b.keep_next, (uint32_t)(2 * b.npk));
	}
	migrate_buf_printf(out, "-- $%zu..$%zu = the batch's last key, %s\n%s;\n", b.npk + 1, 2 * b.npk,
			   b.keep ? "as above" : "from the statement above", migrate__sql_text(&b.upd_next));
	render_params(out, &b.upd_next, (uint32_t)(2 * b.npk));
cleanup:
	batch_free(&b);
	return rc;
}

/* ---- run ----------------------------------------------------------------- */

typedef struct cursor {
	char *key[MAX_PK]; /* last key, as text; key[0] == NULL before the first batch */
	int64_t done;
} cursor_t;

static void cursor_free(cursor_t *c)
{
	size_t i;

	for (i = 0; i < MAX_PK; i++) {
		free(c->key[i]);
		c->key[i] = NULL;
	}
}

static int cursor_load(cursor_t *c, const char *cp, size_t npk, migrate_error_t *err)
{
	bson_t doc, after;
	bson_iter_t it;
	size_t i = 0;

	memset(c, 0, sizeof *c);
	if (!cp)
		return 0;
	if (migrate__json_parse(cp, false, &doc, NULL) != 0)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ESTATE,
				    "the journaled checkpoint %.100s is not "
				    "a backfill checkpoint",
				    cp);
	c->done = migrate__doc_int(&doc, "done", 0);
	if (migrate__doc_sub(&doc, "after", &after)) {
		bson_iter_init(&it, &after);
		while (bson_iter_next(&it) && i < MAX_PK)
			if (BSON_ITER_HOLDS_UTF8(&it) && !(c->key[i++] = migrate__strdup(bson_iter_utf8(&it, NULL)))) {
				bson_destroy(&doc);
				cursor_free(c);
				return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
			}
	}
	bson_destroy(&doc);
	if (i && i != npk) {
		cursor_free(c);
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ESTATE,
				    "the journaled checkpoint has %zu key columns but the primary key has %zu", i, npk);
	}
	return 0;
}

static char *cursor_json(const cursor_t *c, size_t npk)
{
	bson_t doc = BSON_INITIALIZER, after;
	migrate_buf_t *s = migrate__buf_new(NULL);
	char key[16];
	const char *k;
	size_t i;

	bson_append_array_begin(&doc, "after", -1, &after);
	for (i = 0; i < npk; i++) {
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
		bson_append_utf8(&after, k, -1, c->key[i], -1);
	}
	bson_append_array_end(&doc, &after);
	bson_append_int64(&doc, "done", -1, c->done);
	migrate__json_canonical(&doc, false, s);
	bson_destroy(&doc);
	return migrate__buf_free(s, false);
}

/*
 * The kept table and its key. On a resumed run they are there already
 * (IF NOT EXISTS). On a fresh one the kept table must be new (a table of
 * the application's, or one an earlier step kept into, would mix its rows
 * with these and be dropped by the down), and it is created with the
 * checkpoint {"after": [], "done": 0} in one transaction, so that a
 * resumed run knows it is its own.
 */
static int keep_create(batch_t *b, migrate_exec_t *exec, migrate_error_t *err)
{
	const char *keep = migrate__doc_str(b->doc, "keep");
	const char *const params[] = {keep};
	migrate_sql_t q;
	PGresult *res = NULL;
	char what[120];
	int rc, exists;

	snprintf(what, sizeof what, "%s of \"%.63s\" (the kept table)", b->op, b->table);
	migrate__sql_init(&q, &migrate__pg_dialect, b->t);
	keep_setup(b, &q);
	if (migrate_exec_checkpoint(exec)) {
		rc = migrate__pg_run_retrying(b->t, migrate__sql_text(&q), exec, 0, what, err);
		goto done;
	}
	if ((rc = migrate__pg_exec(b->t, "SELECT to_regclass(quote_ident($1)) IS NOT NULL", 1, params, &res, what,
				   err)))
		goto done;
	exists = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (exists) {
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ESTATE,
				  "keep: table \"%.63s\" exists already; a step keeps into a table of its own (name "
				  "another, or drop it if an earlier run left it)",
				  keep);
		goto done;
	}
	if ((rc = migrate__pg_begin_batch(b->t, 1, 0, err)))
		goto done;
	if ((rc = migrate__pg_exec(b->t, migrate__sql_text(&q), 0, NULL, NULL, what, err)) ||
	    (rc = migrate_exec_journal(exec, "{\"after\":[],\"done\":0}", err)) || (rc = migrate__pg_commit(b->t, err)))
		migrate__pg_abort(b->t);
done:
	migrate__sql_free(&q);
	return rc;
}

/*
 * One batch: begin, the statement, the journal, commit. *n = rows updated,
 * *more = rows remain after it; *failed keeps a failed result. cut_ms > 0:
 * the server cancels a statement running longer.
 */
static int run_batch(batch_t *b, cursor_t *c, uint32_t size, int64_t cut_ms, migrate_exec_t *exec, int64_t *n,
		     int *more, PGresult **failed, migrate_error_t *err)
{
	const migrate_sql_t *q = c->key[0] ? &b->next : &b->first;
	const migrate_sql_t *uq = c->key[0] ? &b->upd_next : &b->upd_first;
	const migrate_sql_t *kq = c->key[0] ? &b->keep_next : &b->keep_first;
	const char *head[2 * MAX_PK + 1];
	char limit[24], what[120];
	uint32_t nhead = 0;
	PGresult *res = NULL, *upd = NULL;
	cursor_t next;
	char *cp = NULL;
	size_t i;
	int rc, found;

	*n = 0;
	memset(&next, 0, sizeof next);
	if (c->key[0])
		for (i = 0; i < b->npk; i++)
			head[nhead++] = c->key[i];
	if (b->range) {
		/* The batch's last key is the previous one plus the size, at most the type's largest. */
		int64_t from = c->key[0] ? strtoll(c->key[0], NULL, 10) : b->key_min;
		int64_t step = c->key[0] ? (int64_t)size : (int64_t)size - 1;
		int64_t last = from > b->int_max - step ? b->int_max : from + step;
		/* Not past the largest key: a row added beyond it meanwhile is
		 * then after the journaled key, where range_next looks. */
		if (last > b->key_max && b->key_max >= from)
			last = b->key_max;
		snprintf(limit, sizeof limit, "%" PRId64, last);
		*more = last < b->key_max;
	} else {
		snprintf(limit, sizeof limit, "%" PRIu32, size - 1); /* the OFFSET of the batch's last row */
	}
	head[nhead++] = limit;
	snprintf(what, sizeof what, "%s of \"%.63s\" (batch after %" PRId64 " rows)", b->op, b->table, c->done);
	if ((rc = migrate__pg_begin_batch(b->t, 1, cut_ms, err)))
		return rc;
	if (b->range) {
		found = 1;
		next.key[0] = limit;
	} else {
		rc = migrate__pg_exec_head(b->t, migrate__sql_text(q), &q->params, nhead, head, &res, failed, what,
					   err);
		if (rc)
			goto fail;
		*more = 0;
		found = PQntuples(res) == 1;
		if (found) {
			*more = PQgetvalue(res, 0, 0)[0] == '1';
			for (i = 0; i < b->npk; i++)
				next.key[i] = PQgetvalue(res, 0, 1 + (int)i);
		}
	}
	if (found) {
		/* The UPDATE's parameters: the previous last key, then this batch's. */
		nhead = c->key[0] ? (uint32_t)b->npk : 0;
		for (i = 0; i < b->npk; i++)
			head[nhead++] = next.key[i];
		if (b->keep && (rc = migrate__pg_exec_head(b->t, migrate__sql_text(kq), &kq->params, nhead, head, NULL,
							   failed, what, err)))
			goto fail;
		if ((rc = migrate__pg_exec_head(b->t, migrate__sql_text(uq), &uq->params, nhead, head, &upd, failed,
						what, err)))
			goto fail;
		*n = strtoll(PQcmdTuples(upd), NULL, 10);
		next.done = c->done + *n;
		cp = cursor_json(&next, b->npk);
		if ((rc = migrate_exec_journal(exec, cp, err)) || (rc = migrate__pg_commit(b->t, err)))
			goto fail;
		/* Committed: the cursor moves on (a failed batch leaves it where the journal is). */
		for (i = 0; i < b->npk; i++) {
			free(c->key[i]);
			c->key[i] = migrate__strdup(next.key[i]);
		}
		c->done = next.done;
		for (i = 0; i < b->npk; i++)
			if (!c->key[i]) {
				/* The batch and its journal committed; the next run resumes after it. */
				rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
				PQclear(res);
				PQclear(upd);
				free(cp);
				return rc;
			}
	} else if ((rc = migrate__pg_commit(b->t, err))) {
		goto fail;
	}
	PQclear(res);
	PQclear(upd);
	free(cp);
	return 0;
fail:
	PQclear(res);
	PQclear(upd);
	free(cp);
	migrate__pg_abort(b->t);
	return rc;
}

/* "min(k)::text, max(k)::text FROM t", of the one-column key. */
static void append_bounds(migrate_sql_t *q, const batch_t *b)
{
	migrate__sql_append(q, "min(");
	migrate__sql_ident(q, b->pk[0]);
	migrate__sql_append(q, ")::text, max(");
	migrate__sql_ident(q, b->pk[0]);
	migrate__sql_append(q, ")::text FROM ");
	migrate__sql_ident(q, b->table);
}

/* The smallest and largest key (after `after`, when given); *empty when there is none. */
static int key_bounds(batch_t *b, const char *after, int64_t *min, int64_t *max, int *empty, migrate_error_t *err)
{
	migrate_sql_t q;
	PGresult *res = NULL;
	int rc;

	migrate__sql_init(&q, &migrate__pg_dialect, b->t);
	migrate__sql_append(&q, "SELECT ");
	append_bounds(&q, b);
	if (after) {
		migrate__sql_append(&q, " WHERE ");
		migrate__sql_ident(&q, b->pk[0]);
		migrate__sql_append(&q, " > ");
		migrate__sql_param_int(&q, strtoll(after, NULL, 10));
	}
	rc = migrate__pg_exec_sql(b->t, &q, &res, NULL, "reading the key's range", err);
	*empty = rc || PQgetisnull(res, 0, 0);
	if (!*empty) {
		*min = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		*max = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	PQclear(res);
	migrate__sql_free(&q);
	return rc;
}

/*
 * What a step needs before its first batch, in one statement: the rows to
 * visit (the planner's estimate; a table never analyzed has none, and its
 * rows are counted), and, sized by time, the server's statement_timeout
 * (the connection's, from its role or database, in ms; 0: none; a batch's
 * cut never loosens it) and whether batches can be ranges of the key's
 * values: a one-column integer key whose values are dense (at least one
 * row for every two values, as a sequence's are). A range batch needs no
 * statement to find its last key (an index walk over its rows, about 2%
 * of its time): it is the previous one plus the size, which the time
 * sizing adapts to the rows the range holds.
 */
static int step_start(batch_t *b, int timed, int64_t *rows, int64_t *server_ms, migrate_error_t *err)
{
	int bounds = timed && b->npk == 1 && b->int_max > 0, nonempty = 0, rc;
	migrate_buf_t *qt = migrate__buf_new(NULL);
	migrate_sql_t q;
	PGresult *res = NULL;

	*rows = -1;
	*server_ms = 0;
	migrate__pg_ident(qt, b->table);
	migrate__sql_init(&q, &migrate__pg_dialect, b->t);
	migrate__sql_append(&q, "SELECT (SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(");
	migrate__sql_param_str(&q, qt->str);
	migrate__sql_append(&q, ")), (SELECT setting FROM pg_settings WHERE name = 'statement_timeout')");
	if (bounds) {
		migrate__sql_append(&q, ", ");
		append_bounds(&q, b);
	}
	rc = migrate__pg_exec_sql(b->t, &q, &res, NULL,
				  bounds ? "reading the table's estimated rows, key range and statement_timeout"
					 : "reading the table's estimated rows and statement_timeout",
				  err);
	if (rc == 0) {
		if (!PQgetisnull(res, 0, 0))
			*rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		if (timed && !PQgetisnull(res, 0, 1))
			*server_ms = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		if (bounds && !PQgetisnull(res, 0, 2)) {
			nonempty = 1;
			b->key_min = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
			b->key_max = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
		}
	}
	PQclear(res);
	migrate__sql_free(&q);
	if (rc == 0 && *rows <= 0) {
		/* Never analyzed (-1), or analyzed empty: counted. The count only
		 * gives progress its total (and ranges their density): if it fails
		 * (a table too large for the server's statement_timeout), the step
		 * runs without it. */
		migrate_error_t ignored;
		migrate__sql_init(&q, &migrate__pg_dialect, b->t);
		migrate__sql_append(&q, "SELECT count(*) FROM ");
		migrate__sql_append(&q, qt->str);
		res = NULL;
		if (migrate__pg_exec_sql(b->t, &q, &res, NULL, "counting rows", &ignored) == 0)
			*rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		migrate__sql_free(&q);
	}
	if (rc == 0 && nonempty && *rows > 0)
		b->range = (double)*rows * 2 >= (double)b->key_max - (double)b->key_min + 1;
	migrate__buf_free(qt, true);
	return rc;
}

/*
 * Range batches, after one that wrote no row: the next key, so that a gap
 * in the keys (or statistics that made them look dense) costs one batch,
 * not one per batch size; the cursor moves to just before it (the next
 * batch journals its own end). At the end: the largest key again, for rows
 * added since it was read. n < 0: a resumed step, before its first batch.
 */
static int range_next(batch_t *b, cursor_t *c, int64_t n, int *more, migrate_error_t *err)
{
	int64_t min = 0, max = 0;
	char key[24];
	int rc, empty;

	if (n > 0 && *more)
		return 0;
	if ((rc = key_bounds(b, c->key[0], &min, &max, &empty, err)))
		return rc;
	*more = !empty;
	if (empty)
		return 0;
	if (max > b->key_max)
		b->key_max = max;
	if (min - 1 > strtoll(c->key[0], NULL, 10)) {
		snprintf(key, sizeof key, "%" PRId64, min - 1);
		migrate__log(MIGRATE_LOG_DEBUG,
			     "postgres: %s \"%s\": no key after %s up to %s, the next batch %s there", b->op, b->table,
			     c->key[0], key, n < 0 ? "of the resumed step starts" : "starts");
		free(c->key[0]);
		if (!(c->key[0] = migrate__strdup(key)))
			return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
	}
	return 0;
}

static int run_batches(batch_t *b, migrate_exec_t *exec, migrate_error_t *err)
{
	uint32_t fixed = migrate_exec_batch_size(exec), budget = migrate_exec_batch_time_ms(exec);
	uint32_t size = fixed ? fixed : FIRST_BATCH, attempt = 1, batches = 0, cuts = 0, sizing = budget;
	double started = mono_ms(), max_held = 0;
	int64_t server_ms = 0;
	int64_t total, n, max_rows = 0, start_done, next;
	migrate__sizer sizer = {{0}, 0, AIM};
	cursor_t c;
	int rc, more = 0;

	if ((rc = cursor_load(&c, migrate_exec_checkpoint(exec), b->npk, err)))
		return rc;
	start_done = c.done;
	migrate_exec_resumed(exec, c.done);
	if ((rc = step_start(b, !fixed, &total, &server_ms, err)))
		goto cleanup;
	/* A server statement_timeout tighter than the cut is the cut: batches
	 * are then sized to the budget that cut stands for. */
	if (!fixed && server_ms > 0 && server_ms < (int64_t)((double)budget * CUT_AT) / (b->keep ? 2 : 1))
		sizing = (uint32_t)((double)server_ms * (b->keep ? 2 : 1) / CUT_AT);
	if ((rc = build(b, &b->first, 0, err)) || (rc = build(b, &b->next, 1, err)) ||
	    (rc = build_update(b, &b->upd_first, 0, err)) || (rc = build_update(b, &b->upd_next, 1, err)))
		goto cleanup;
	if (b->keep && ((rc = build_keep(b, &b->keep_first, 0, err)) || (rc = build_keep(b, &b->keep_next, 1, err)) ||
			(rc = keep_create(b, exec, err))))
		goto cleanup;
	/* Resumed: past a gap first, since a jump is not journaled (a run killed
	 * after each batch would otherwise walk the gap one batch per run). */
	more = 1;
	if (b->range && c.key[0] && (rc = range_next(b, &c, -1, &more, err)))
		goto cleanup;
	/* !more: no row after the journaled key, the step is done. A batch
	 * done again (cut, or retried after a lock timeout) sets it back. */
	while (more) {
		PGresult *failed = NULL;
		double t0 = mono_ms(), held;
		/* Sized by time, a batch is cut where it would pass the budget: the
		 * server cancels its statement (the sizing aims at AIM of it, from
		 * the slowest of the last batches, so only a batch that runs 1.6x
		 * as slow is). Its rows are left as they were, and the batch runs
		 * again smaller. Batches of the smallest size are never cut, so
		 * that rows slow on their own still get through. With keep a
		 * batch is two statements, each cut at half. */
		int64_t cut = !fixed && size > MIN_BATCH ? (int64_t)((double)budget * CUT_AT) / (b->keep ? 2 : 1) : 0;
		if (cut && server_ms > 0 && server_ms < cut)
			cut = server_ms; /* never looser than the server's own */
		migrate_exec_batch_start(exec);
		b->t->timed_out = 0;
		rc = run_batch(b, &c, size, cut, exec, &n, &more, &failed, err);
		held = mono_ms() - t0;
		/* Whichever of its statements passed the cut, the history write
		 * and the COMMIT included: the batch rolled back and is done again. */
		if (rc && cut && held >= (double)cut && b->t->timed_out && !migrate__pg_lost(b->t)) {
			migrate__log(MIGRATE_LOG_INFO,
				     "postgres: %s \"%s\": a batch of %" PRIu32 " rows passed %.0f ms of the %" PRIu32
				     " ms budget; cancelled, done again smaller",
				     b->op, b->table, size, held, budget);
			PQclear(failed);
			cuts++;
			/* It would have taken longer than it ran: by half again, say;
			 * and it is at most half as large, so that cuts end (at the
			 * smallest size, which is never cut). */
			next = migrate__batch_next(&sizer, size, migrate__fault_took(held, size) * 1.5, sizing,
						   MIN_BATCH, b->range ? 2 * MAX_BATCH : MAX_BATCH);
			size = (uint32_t)(next < size / 2 ? next : size / 2 > MIN_BATCH ? size / 2 : MIN_BATCH);
			more = 1;
			continue;
		}
		if (rc && failed && migrate__pg_retryable(migrate__pg_state(failed)) && attempt < b->t->retries &&
		    !migrate__pg_lost(b->t)) {
			uint32_t wait = migrate__pg_backoff_ms(attempt);
			char msg[600];
			snprintf(msg, sizeof msg,
				 "%.500s; attempt %" PRIu32 " of %" PRIu32 ", retrying in %" PRIu32 " ms",
				 err ? err->message : "lock timeout", attempt, b->t->retries, wait);
			migrate_exec_event(exec, MIGRATE_EVENT_RETRY, msg);
			PQclear(failed);
			attempt++;
			if (!fixed && size > MIN_BATCH)
				size = size / 2 > MIN_BATCH ? size / 2 : MIN_BATCH;
			migrate__sleep_ms(wait);
			more = 1;
			continue;
		}
		PQclear(failed);
		if (rc)
			goto cleanup;
		attempt = 1;
		batches++;
		if (held > max_held) {
			max_held = held;
			max_rows = n;
		}
		if (migrate__log_enabled(MIGRATE_LOG_DEBUG))
			migrate__log(MIGRATE_LOG_DEBUG,
				     "postgres: %s \"%s\": batch of %" PRId64 " rows held its locks %.1f ms", b->op,
				     b->table, n, held);
		if (total < c.done)
			total = c.done;
		/* A range batch may write no row (a filter, a gap): it still
		 * counts, pauses and lets the run be cancelled. */
		if ((n > 0 || b->range) && (rc = migrate_exec_batch_done(exec, c.done, total, err)))
			goto cleanup;
		if (b->range && (rc = range_next(b, &c, n, &more, err)))
			goto cleanup;
		if (!more)
			break;
		if (!fixed)
			size = (uint32_t)migrate__batch_next(&sizer, size, migrate__fault_took(held, n), sizing,
							     MIN_BATCH, b->range ? 2 * MAX_BATCH : MAX_BATCH);
	}
	migrate__log(MIGRATE_LOG_INFO,
		     "postgres: %s \"%s\": %" PRId64 " rows in %" PRIu32
		     " batches, %.0f ms; the longest batch held its "
		     "locks %.1f ms (%" PRId64 " rows); %" PRIu32 " cut at the budget and done again",
		     b->op, b->table, c.done - start_done, batches, mono_ms() - started, max_held, max_rows, cuts);
cleanup:
	cursor_free(&c);
	return rc;
}

/* One UPDATE (after the copy of its rows' old values): in the engine's transaction, or in one of its own. */
static int run_single(batch_t *b, migrate_exec_t *exec, int own_txn, migrate_error_t *err)
{
	migrate_sql_t *q = &b->first;
	char what[120];
	int rc;

	snprintf(what, sizeof what, "%s of \"%.63s\"", b->op, b->table);
	if ((rc = build_single(b, q, err)) || (b->keep && (rc = keep_of(b, &b->keep_first, NULL, err))))
		return rc;
	if (own_txn && (rc = migrate__pg_begin(b->t, err)))
		return rc;
	if (b->keep && ((rc = keep_create(b, exec, err)) ||
			(rc = migrate__pg_exec_sql(b->t, &b->keep_first, NULL, NULL, what, err))))
		goto done;
	rc = migrate__pg_exec_sql(b->t, q, NULL, NULL, what, err);
done:
	if (own_txn) {
		if (rc == 0)
			rc = migrate__pg_commit(b->t, err);
		else
			migrate__pg_abort(b->t);
	}
	return rc;
}

int migrate__pg_batch_apply(pg_target_t *t, const bson_t *doc, const char *op, migrate_exec_t *exec,
			    migrate_error_t *err)
{
	batch_t b;
	int rc;

	if ((rc = batch_init(&b, t, doc, op, err)))
		goto cleanup;
	if (b.keep && b.npk == 0) {
		if (b.pk_known) {
			rc = keep_keyless(&b, err);
			goto cleanup;
		}
		b.keep = 0; /* no such table: its UPDATE says so before anything is kept */
	}
	if (t->in_txn) {
		rc = run_single(&b, exec, 0, err);
	} else if (b.npk == 0) {
		char msg[200];
		snprintf(msg, sizeof msg,
			 "table \"%.63s\" has no primary key: %s runs as one UPDATE in one transaction", b.table, op);
		migrate_exec_event(exec, MIGRATE_EVENT_WARNING, msg);
		rc = run_single(&b, exec, 1, err);
	} else {
		rc = run_batches(&b, exec, err);
	}
cleanup:
	batch_free(&b);
	return rc;
}

/*
 * The keep of a drop_column: the kept table (keyed by the primary key) and
 * every row's value of the column, copied before the column goes, in the
 * version's transaction. The kept table must be new: a rerun after a crash
 * finds the transaction rolled back, and the table gone with it.
 */
int migrate__pg_keep_all(pg_target_t *t, const bson_t *doc, migrate_exec_t *exec, migrate_buf_t *out,
			 migrate_error_t *err)
{
	const char *keep = migrate__doc_str(doc, "keep");
	const char *const params[] = {keep};
	PGresult *res = NULL;
	migrate_sql_t q;
	batch_t b;
	int rc;

	migrate__sql_init(&q, &migrate__pg_dialect, t);
	if ((rc = batch_init(&b, t, doc, "drop_column", err)))
		goto cleanup;
	if (b.pk_known && b.npk == 0) {
		rc = keep_keyless(&b, err);
		goto cleanup;
	}
	if (!b.pk_known) {
		/* Rendering a table a pending step creates. */
		b.npk = 1;
		if (!(b.pk[0] = migrate__strdup("<primary key>"))) {
			rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	if (!out &&
	    (rc = migrate__pg_exec(t, "SELECT to_regclass(quote_ident($1)) IS NOT NULL", 1, params, &res, "keep",
				   err)) == 0 &&
	    PQgetvalue(res, 0, 0)[0] == 't')
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ESTATE,
				  "keep: table \"%.63s\" exists already; a step keeps into a table of its own (name "
				  "another, or drop it if an earlier run left it)",
				  keep);
	if (rc)
		goto cleanup;
	keep_setup(&b, &q);
	migrate__sql_append(&q, ";\n");
	migrate__sql_keep_insert(&q, doc, b.pk, b.npk);
	migrate__sql_append(&q, "true");
	migrate__sql_keep_tail(&q);
	if (out)
		migrate_buf_printf(out, "%s;\n", migrate__sql_text(&q));
	else
		rc = migrate__pg_run_retrying(t, migrate__sql_text(&q), exec, 0, "drop_column (keep)", err);
cleanup:
	PQclear(res);
	batch_free(&b);
	migrate__sql_free(&q);
	return rc;
}
