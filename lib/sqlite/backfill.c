/*
 * Batched updates: backfill and map_values.
 *
 * Rows are visited in key order (the rowid, or the primary key of a WITHOUT
 * ROWID table) in batches. Each batch is its own BEGIN IMMEDIATE
 * transaction: find the batch's last key, update the rows between the
 * previous batch's last key and it, journal the new checkpoint
 * {"after": [key], "done": n} in the same transaction, commit. A run that
 * dies resumes after the last committed batch, so no row is updated twice
 * and none is skipped. Batches are sized to the run's time budget unless a
 * batch size is given.
 *
 * Sized by time over a rowid whose values are dense (a row for every two
 * values at least, as an INTEGER PRIMARY KEY filled in order has), a batch
 * is a range of rowid values: the previous last key plus the batch's size,
 * without the statement that walks the batch's rows to find its last key
 * (about 3% of a batch's time). An empty range is followed by a lookup of
 * the next key, and the end by one of the largest again (rows added since).
 *
 * With "keep", the kept table is created first (keyed like the batches),
 * and each batch copies the old values of its rows there before its UPDATE,
 * in the same transaction; a row kept already keeps its first values.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

#define FIRST_BATCH 1000
#define MAX_BATCH 1000000

typedef struct batch {
	sq_conn_t *c;
	const bson_t *step;
	const char *table;
	int is_map;
	const char *rowid; /* the rowid alias, or NULL for a WITHOUT ROWID table */
	char **pk;         /* its primary key columns otherwise */
	int npk;
	bson_t after; /* the last key done, an array; empty before the first batch */
	int64_t done;
	int render;      /* key values are shown as placeholders' names */
	int range;       /* batches are ranges of the rowid's values (sized by time, dense keys) */
	int64_t key_max; /* range: the largest rowid when last read */
} batch_t;

static void batch_free(batch_t *b)
{
	int i;

	for (i = 0; i < b->npk; i++)
		free(b->pk[i]);
	free(b->pk);
	bson_destroy(&b->after);
}

static int primary_key(batch_t *b, migrate_error_t *err)
{
	migrate_sql_t q;
	sqlite3_stmt *st = NULL;
	int rc;

	migrate__sql_init(&q, &migrate__sq_dialect, b->c);
	migrate__sql_append(&q, "SELECT name FROM pragma_table_info(");
	migrate__sql_param_str(&q, b->table);
	migrate__sql_append(&q, ") WHERE pk > 0 ORDER BY pk");
	if ((rc = migrate__sq_prepare_q(b->c, &q, &st, err)))
		goto cleanup;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char **pk = migrate__realloc(b->pk, (size_t)(b->npk + 1) * sizeof *pk);
		if (!pk) {
			rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
			goto cleanup;
		}
		b->pk = pk;
		if (!(b->pk[b->npk++] = migrate__strdup((const char *)sqlite3_column_text(st, 0)))) {
			rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : migrate__sq_err(b->c, err, "reading the primary key");
	if (rc == 0 && b->npk == 0)
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EDB,
				  "table \"%s\" has neither a rowid nor a primary key to batch by", b->table);
cleanup:
	sqlite3_finalize(st);
	migrate__sql_free(&q);
	return rc;
}

/* Chooses the key: the rowid where there is one, else the primary key. */
static int choose_key(batch_t *b, migrate_error_t *err)
{
	int rc = 0, exists;

	if (b->render) {
		if ((rc = migrate__sq_exists(b->c, "table", b->table, &exists, err)))
			return rc;
		if (!exists) {
			b->rowid = "rowid"; /* created by an earlier pending step */
			return 0;
		}
	}
	b->rowid = migrate__sq_rowid_alias(b->c, b->table, err, &rc);
	if (rc || b->rowid)
		return rc;
	return primary_key(b, err);
}

static void key_list(migrate_sql_t *q, const batch_t *b, bool desc)
{
	if (b->rowid)
		migrate__sql_printf(q, "%s%s", b->rowid, desc ? " DESC" : "");
	else
		migrate__sql_ident_list(q, b->pk, (size_t)b->npk, desc ? " DESC" : "");
}

/* The key as one comparable value: rowid, "a" or the row value ("a", "b"). */
static void key_tuple(migrate_sql_t *q, const batch_t *b)
{
	if (b->rowid || b->npk == 1) {
		key_list(q, b, false);
		return;
	}
	migrate__sql_append(q, "(");
	key_list(q, b, false);
	migrate__sql_append(q, ")");
}

/* A placeholder whose value is known only when the batch runs; render shows `label`. */
static void render_param(migrate_sql_t *q, const char *label)
{
	char key[16];

	migrate__sql_append(q, "?");
	snprintf(key, sizeof key, "%u", q->nparams++);
	bson_append_symbol(&q->params, key, -1, label, -1);
}

/* A bound key (array of values), or in render mode a named placeholder. */
static int key_values(migrate_sql_t *q, const batch_t *b, const bson_t *key, const char *label, migrate_error_t *err)
{
	bson_iter_t it;
	bool tuple = !b->rowid && b->npk > 1, first = true;
	int rc, i;

	if (tuple)
		migrate__sql_append(q, "(");
	if (b->render) {
		for (i = 0; i < (b->rowid ? 1 : b->npk); i++) {
			if (i)
				migrate__sql_append(q, ", ");
			render_param(q, label);
		}
	} else {
		bson_iter_init(&it, key);
		while (bson_iter_next(&it)) {
			if (!first)
				migrate__sql_append(q, ", ");
			first = false;
			if ((rc = migrate__sql_value(q, &it, err)))
				return rc;
		}
	}
	if (tuple)
		migrate__sql_append(q, ")");
	return 0;
}

/* [key > after AND] [key <= last AND] the step's rows */
static int conditions(migrate_sql_t *q, const batch_t *b, const bson_t *last, bool with_last, migrate_error_t *err)
{
	int rc;

	if (b->render || !bson_empty(&b->after)) {
		key_tuple(q, b);
		migrate__sql_append(q, " > ");
		if ((rc = key_values(q, b, &b->after, "<last key of the previous batch>", err)))
			return rc;
		migrate__sql_append(q, " AND ");
	}
	if (with_last) {
		key_tuple(q, b);
		migrate__sql_append(q, " <= ");
		if ((rc = key_values(q, b, last, "<last key of this batch>", err)))
			return rc;
		migrate__sql_append(q, " AND ");
	}
	return migrate__sql_row_filter(q, b->step, err);
}

/* SELECT the batch's last key: the n-th row after `after`, or (tail) the last one. */
static int select_last(migrate_sql_t *q, const batch_t *b, int64_t n, bool tail, migrate_error_t *err)
{
	int rc;

	migrate__sql_append(q, "SELECT ");
	key_list(q, b, false);
	migrate__sql_append(q, " FROM ");
	migrate__sql_ident(q, b->table);
	migrate__sql_append(q, " WHERE ");
	if ((rc = conditions(q, b, NULL, false, err)))
		return rc;
	migrate__sql_append(q, " ORDER BY ");
	key_list(q, b, tail);
	migrate__sql_append(q, " LIMIT 1");
	if (!tail) {
		migrate__sql_append(q, " OFFSET ");
		if (b->render) {
			render_param(q, "<batch size - 1>");
		} else {
			migrate__sql_param_int(q, n - 1);
		}
	}
	return 0;
}

/*
 * The kept table's key: the INTEGER PRIMARY KEY (the rowid's alias) or
 * the declared primary key. Not a bare rowid: VACUUM renumbers it and a
 * deleted row's rowid is given to the next insert, so values kept by
 * rowid would go back to other rows. A table without a primary key
 * refuses keep.
 */
static int keep_key(batch_t *b, migrate_error_t *err)
{
	if (b->npk > 0 || (b->rowid && strcmp(b->rowid, "rowid") != 0))
		return 0;
	/* Rendering a table a pending step creates: the key is not known yet. */
	if (primary_key(b, NULL) == 0 || b->render)
		return 0;
	return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
			    "table \"%s\" has no primary key: %s with \"keep\" needs one to key the kept values by",
			    b->table, migrate__doc_str(b->step, "op"));
}

/* The kept table's key columns (keep_key found them). */
static char *const *key_names(const batch_t *b, size_t *n)
{
	static char *const unknown[] = {"<primary key>"};

	*n = 1;
	if (b->npk > 0) {
		*n = (size_t)b->npk;
		return b->pk;
	}
	/* The alias of an INTEGER PRIMARY KEY is a column of its own. */
	if (b->rowid && strcmp(b->rowid, "rowid") != 0)
		return (char *const *)&b->rowid;
	return unknown; /* rendering a table a pending step creates */
}

/* INSERT INTO <keep> ... the rows after `after` up to `last`, inclusive. */
static int keep_stmt(migrate_sql_t *q, const batch_t *b, const bson_t *last, migrate_error_t *err)
{
	size_t n;
	char *const *keys = key_names(b, &n);
	int rc;

	migrate__sql_keep_insert(q, b->step, keys, n);
	if ((rc = conditions(q, b, last, true, err)))
		return rc;
	migrate__sql_keep_tail(q);
	return 0;
}

/* The kept table and its key (CREATE ... IF NOT EXISTS: a resumed run finds them). */
static int keep_setup(batch_t *b, migrate_buf_t *out, migrate_error_t *err)
{
	migrate_sql_t q;
	size_t n;
	char *const *keys = key_names(b, &n);
	int rc = 0;

	migrate__sql_init(&q, &migrate__sq_dialect, b->c);
	for (int i = 0; i < 2 && rc == 0; i++) {
		migrate__sql_reset(&q);
		if (i == 0)
			migrate__sql_keep_create(&q, b->step, keys, n);
		else
			migrate__sql_keep_index(&q, b->step, keys, n);
		if (out)
			migrate__sq_render_sql(&q, out);
		else
			rc = migrate__sq_run(b->c, &q, NULL, err);
	}
	migrate__sql_free(&q);
	return rc;
}

/*
 * Before the first batch of a step with keep: the kept table must be new
 * (a table of the application's, or one an earlier step kept into, would
 * mix its rows with these and be dropped by the down). It is created with
 * the checkpoint {"after": [], "done": 0} in one transaction, so that a
 * resumed run knows it is its own.
 */
static int keep_begin(batch_t *b, migrate_exec_t *exec, int in_txn, migrate_error_t *err)
{
	const char *keep = migrate__doc_str(b->step, "keep");
	int exists = 0, rc;

	if ((rc = keep_key(b, err)))
		return rc;
	if (migrate_exec_checkpoint(exec))
		return keep_setup(b, NULL, err);
	if ((rc = migrate__sq_exists(b->c, "table", keep, &exists, err)))
		return rc;
	if (exists)
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ESTATE,
				    "keep: table \"%s\" exists already; a step keeps into a table of its own (name "
				    "another, or drop it if an earlier run left it)",
				    keep);
	if (in_txn)
		return keep_setup(b, NULL, err);
	if ((rc = migrate__sq_begin_batch(b->c, err)))
		return rc;
	if ((rc = keep_setup(b, NULL, err)) == 0 &&
	    (rc = migrate_exec_journal(exec, "{\"after\":[],\"done\":0}", err)) == 0)
		rc = migrate__sq_commit_batch(b->c, err);
	if (rc)
		migrate__sq_rollback_quiet(b->c);
	return rc;
}

/* UPDATE the rows after `after` up to `last`, inclusive. */
static int update_stmt(migrate_sql_t *q, const batch_t *b, const bson_t *last, migrate_error_t *err)
{
	int rc;

	if ((rc = migrate__sql_update_head(q, b->step, err)))
		return rc;
	return conditions(q, b, last, true, err);
}

/* The last key of the next batch into *last; *found 0 when no row is left. */
static int find_last(batch_t *b, int64_t n, bson_t *last, int *found, migrate_error_t *err)
{
	migrate_sql_t q;
	sqlite3_stmt *st = NULL;
	int tail, rc = 0, i;

	*found = 0;
	migrate__sql_init(&q, &migrate__sq_dialect, b->c);
	for (tail = 0; tail < 2 && !*found && rc == 0; tail++) {
		migrate__sql_reset(&q);
		if ((rc = select_last(&q, b, n, tail, err)) || (rc = migrate__sq_prepare_q(b->c, &q, &st, err)))
			break;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*found = 1;
			for (i = 0; i < sqlite3_column_count(st); i++) {
				char key[16];
				if (sqlite3_column_type(st, i) == SQLITE_BLOB) {
					rc = migrate__err(
						err, MIGRATE_DOMAIN_DRIVER, MIGRATE_EUNSUPPORTED,
						"table \"%s\": batching by a BLOB primary key is not supported",
						b->table);
					break;
				}
				snprintf(key, sizeof key, "%d", i);
				migrate__sq_column_to_bson(st, i, last, key, err);
			}
			if (rc == SQLITE_ROW)
				rc = 0;
		} else {
			rc = rc == SQLITE_DONE ? 0 : migrate__sq_err(b->c, err, "selecting a batch");
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	migrate__sql_free(&q);
	return rc;
}

/*
 * The rows left to write. A backfill of every row counts without a filter:
 * SQLite then counts the entries of the table's b-tree without reading the
 * rows, about three times as fast (10 ms for a million rows).
 */
static int count_remaining(batch_t *b, int64_t *out, migrate_error_t *err)
{
	migrate_sql_t q;
	int rc = 0;

	migrate__sql_init(&q, &migrate__sq_dialect, b->c);
	migrate__sql_append(&q, "SELECT count(*) FROM ");
	migrate__sql_ident(&q, b->table);
	if (b->is_map || bson_has_field(b->step, "where")) {
		migrate__sql_append(&q, " WHERE ");
		rc = conditions(&q, b, NULL, false, err);
	} else if (!bson_empty(&b->after)) {
		migrate__sql_append(&q, " WHERE ");
		key_tuple(&q, b);
		migrate__sql_append(&q, " > ");
		rc = key_values(&q, b, &b->after, "<last key of the previous batch>", err);
	}
	if (rc == 0)
		rc = migrate__sq_query_int(b->c, &q, out, err);
	migrate__sql_free(&q);
	return rc;
}

/* The last key done, of a rowid: *key; false before the first batch. */
static bool after_rowid(const batch_t *b, int64_t *key)
{
	bson_iter_t it;

	if (!bson_iter_init(&it, &b->after) || !bson_iter_next(&it) || !BSON_ITER_HOLDS_INT(&it))
		return false;
	*key = bson_iter_as_int64(&it);
	return true;
}

static void set_after(batch_t *b, int64_t key)
{
	bson_reinit(&b->after);
	BSON_APPEND_INT64(&b->after, "0", key);
}

/*
 * The smallest rowid after the last key done (or of all) and the largest;
 * *empty when there is none. Two lookups: min() and max() in one aggregate
 * would scan the table.
 */
static int rowid_bounds(batch_t *b, int64_t *min, int64_t *max, int *empty, migrate_error_t *err)
{
	migrate_sql_t q;
	sqlite3_stmt *st = NULL;
	int64_t after;
	int rc;

	*empty = 1;
	migrate__sql_init(&q, &migrate__sq_dialect, b->c);
	migrate__sql_printf(&q, "SELECT (SELECT min(%s) FROM ", b->rowid);
	migrate__sql_ident(&q, b->table);
	if (after_rowid(b, &after)) {
		migrate__sql_printf(&q, " WHERE %s > ", b->rowid);
		migrate__sql_param_int(&q, after);
	}
	migrate__sql_printf(&q, "), (SELECT max(%s) FROM ", b->rowid);
	migrate__sql_ident(&q, b->table);
	migrate__sql_append(&q, ")");
	if ((rc = migrate__sq_prepare_q(b->c, &q, &st, err)) == 0) {
		if (sqlite3_step(st) != SQLITE_ROW)
			rc = migrate__sq_err(b->c, err, "reading the rowid's range");
		else if (sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
			*empty = 0;
			*min = sqlite3_column_int64(st, 0);
			*max = sqlite3_column_int64(st, 1);
		}
	}
	sqlite3_finalize(st);
	migrate__sql_free(&q);
	return rc;
}

/*
 * Before the first batch sized by time: range batches when the rowid's
 * values are dense, from the first key on (past a gap after the last key
 * journaled, on a resumed step).
 */
static int range_start(batch_t *b, int64_t rows, migrate_error_t *err)
{
	int64_t min = 0, max = 0, after;
	int rc, empty;

	if (rows <= 0 || (!bson_empty(&b->after) && !after_rowid(b, &after)))
		return 0; /* nothing left, or a journaled key this step did not write */
	if ((rc = rowid_bounds(b, &min, &max, &empty, err)) || empty || min == INT64_MIN)
		return rc;
	if ((double)rows * 2 < (double)max - (double)min + 1)
		return 0;
	b->range = 1;
	b->key_max = max;
	migrate__log(MIGRATE_LOG_DEBUG,
		     "sqlite: \"%s\": batches are ranges of %s values, %" PRId64 " rows in %" PRId64 "..%" PRId64,
		     b->table, b->rowid, rows, min, max);
	if (!after_rowid(b, &after)) {
		set_after(b, min - 1);
	} else if (min - 1 > after) {
		migrate__log(MIGRATE_LOG_DEBUG,
			     "sqlite: \"%s\": no key after %" PRId64 " up to %" PRId64
			     ", the first batch of the resumed step starts there",
			     b->table, after, min - 1);
		set_after(b, min - 1);
	}
	return 0;
}

/*
 * After a range batch: *more when rows remain. After one that wrote no row,
 * the next key (a gap costs one batch, not one per batch size); at the
 * end, the largest key again, for rows added since it was read. A jump is
 * not journaled: the next batch journals its own end.
 */
static int range_next(batch_t *b, int64_t rows, int *more, migrate_error_t *err)
{
	int64_t min = 0, max = 0, after = 0;
	int rc, empty;

	*more = 1;
	if (after_rowid(b, &after) && rows > 0 && after < b->key_max)
		return 0;
	if ((rc = rowid_bounds(b, &min, &max, &empty, err)))
		return rc;
	*more = !empty;
	if (empty)
		return 0;
	if (max > b->key_max)
		b->key_max = max;
	if (min - 1 > after) {
		migrate__log(MIGRATE_LOG_DEBUG,
			     "sqlite: \"%s\": no key after %" PRId64 " up to %" PRId64 ", the next batch starts there",
			     b->table, after, min - 1);
		set_after(b, min - 1);
	}
	return 0;
}

/* A range batch's last key: the previous one plus the size, at most the largest key. */
static void range_last(const batch_t *b, int64_t size, bson_t *last)
{
	int64_t from = 0, to;

	after_rowid(b, &from);
	to = from >= b->key_max || b->key_max - from <= size ? b->key_max : from + size;
	BSON_APPEND_INT64(last, "0", to);
}

static int checkpoint_read(batch_t *b, const char *json, migrate_error_t *err)
{
	bson_t doc, after;
	int rc;

	if ((rc = migrate__json_parse(json, false, &doc, err)))
		return rc;
	if (!migrate__doc_sub(&doc, "after", &after)) {
		bson_destroy(&doc);
		return migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ESTATE,
				    "the journaled checkpoint is not ours: %s", json);
	}
	bson_destroy(&b->after);
	bson_copy_to(&after, &b->after);
	b->done = migrate__doc_int(&doc, "done", 0);
	bson_destroy(&doc);
	return 0;
}

static char *checkpoint_json(const batch_t *b)
{
	bson_t doc;
	migrate_buf_t *out = migrate__buf_new(NULL);

	bson_init(&doc);
	bson_append_array(&doc, "after", -1, &b->after);
	bson_append_int64(&doc, "done", -1, b->done);
	migrate__json_canonical(&doc, false, out);
	bson_destroy(&doc);
	return migrate__buf_free(out, false);
}

/* One batch: the last key, the update, the journal. *rows is 0 when nothing was left. */
static int one_batch(batch_t *b, migrate_exec_t *exec, int in_txn, int64_t size, int64_t *rows, migrate_error_t *err)
{
	migrate_sql_t q;
	bson_t last;
	char *cp = NULL;
	int found, rc;

	*rows = 0;
	bson_init(&last);
	migrate__sql_init(&q, &migrate__sq_dialect, b->c);
	if (!in_txn && (rc = migrate__sq_begin_batch(b->c, err)))
		goto cleanup;
	if (b->range) {
		range_last(b, size, &last);
		found = 1;
	} else if ((rc = find_last(b, size, &last, &found, err)) || !found) {
		goto done;
	}
	if (bson_has_field(b->step, "keep") &&
	    ((rc = keep_stmt(&q, b, &last, err)) || (rc = migrate__sq_run(b->c, &q, NULL, err))))
		goto done;
	migrate__sql_reset(&q);
	if ((rc = update_stmt(&q, b, &last, err)) || (rc = migrate__sq_run(b->c, &q, rows, err)))
		goto done;
	bson_destroy(&b->after);
	bson_copy_to(&last, &b->after);
	b->done += *rows;
	if (!in_txn) {
		if (!(cp = checkpoint_json(b))) {
			rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ENOMEM, "out of memory");
			goto done;
		}
		rc = migrate_exec_journal(exec, cp, err);
	}
	/* An empty batch (every row filtered out between reads) still moves the key forward. */
	if (rc == 0 && *rows == 0)
		*rows = -1;
done:
	if (!in_txn) {
		if (rc == 0)
			rc = migrate__sq_commit_batch(b->c, err);
		if (rc)
			migrate__sq_rollback_quiet(b->c);
	}
cleanup:
	bson_free(cp);
	bson_destroy(&last);
	migrate__sql_free(&q);
	return rc;
}

static int batch_init(batch_t *b, sq_conn_t *c, const bson_t *step, int render, migrate_error_t *err)
{
	memset(b, 0, sizeof *b);
	bson_init(&b->after);
	b->c = c;
	b->step = step;
	b->render = render;
	b->is_map = migrate__op_find(migrate__doc_str(step, "op")) == MIGRATE_OP_MAP_VALUES;
	b->table = migrate__doc_str(step, "table");
	return choose_key(b, err);
}

int migrate__sq_batched(sq_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	batch_t b;
	int in_txn = migrate_exec_in_transaction(exec);
	uint32_t fixed = migrate_exec_batch_size(exec), budget = migrate_exec_batch_time_ms(exec);
	int64_t size = fixed ? fixed : FIRST_BATCH, total = 0, rows, t0, took;
	migrate__sizer sizer = {{0}, 0, 0};
	int rc;

	if ((rc = batch_init(&b, c, step, 0, err)))
		goto cleanup;
	if (migrate_exec_checkpoint(exec) && (rc = checkpoint_read(&b, migrate_exec_checkpoint(exec), err)))
		goto cleanup;
	if (bson_has_field(step, "keep") && (rc = keep_begin(&b, exec, in_txn, err)))
		goto cleanup;
	migrate_exec_resumed(exec, b.done);
	if ((rc = count_remaining(&b, &total, err)))
		goto cleanup;
	if (!fixed && budget && !in_txn && b.rowid && (rc = range_start(&b, total, err)))
		goto cleanup;
	total += b.done;
	for (;;) {
		int more = 1;
		t0 = migrate__now_ms();
		migrate_exec_batch_start(exec);
		if ((rc = one_batch(&b, exec, in_txn, size, &rows, err)) || rows == 0)
			break;
		took = migrate__now_ms() - t0; /* not the pause between batches (batch_done) */
		migrate__log(MIGRATE_LOG_DEBUG, "sqlite: \"%s\": a batch of %" PRId64 " rows in %" PRId64 " ms",
			     b.table, rows > 0 ? rows : 0, took);
		if ((rc = migrate_exec_batch_done(exec, b.done, total > b.done ? total : b.done, err)))
			break;
		if (b.range && ((rc = range_next(&b, rows, &more, err)) || !more))
			break;
		if (!fixed && budget)
			size = migrate__batch_next(&sizer, size, migrate__fault_took((double)took, rows > 0 ? rows : 0),
						   budget, 1, MAX_BATCH);
	}
cleanup:
	batch_free(&b);
	return rc;
}

int migrate__sq_render_batched(sq_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err)
{
	migrate_sql_t q;
	batch_t b;
	int rc;

	migrate__sql_init(&q, &migrate__sq_dialect, c);
	if ((rc = batch_init(&b, c, step, 1, err)))
		goto cleanup;
	migrate_buf_printf(out,
			   "-- %s in batches by %s; each batch is one transaction: BEGIN IMMEDIATE; the batch's "
			   "last key; the UPDATE; the journal; COMMIT\n",
			   b.is_map ? "map_values" : "backfill", b.rowid ? b.rowid : "primary key");
	if (b.rowid)
		migrate_buf_printf(out,
				   "-- sized by time, over %s values that are dense (a row for every two values at "
				   "least), the batch's last key is not looked up: it is the previous one plus the "
				   "batch's size\n",
				   b.rowid);
	if (bson_has_field(step, "keep")) {
		migrate_buf_append(out, "-- the old values are kept first, then each batch copies its rows' values:\n");
		if ((rc = keep_key(&b, err)) || (rc = keep_setup(&b, out, err)) || (rc = keep_stmt(&q, &b, NULL, err)))
			goto cleanup;
		migrate__sq_render_sql(&q, out);
		migrate__sql_reset(&q);
	}
	if ((rc = select_last(&q, &b, 0, false, err)))
		goto cleanup;
	migrate__sq_render_sql(&q, out);
	migrate__sql_reset(&q);
	if ((rc = update_stmt(&q, &b, NULL, err)))
		goto cleanup;
	migrate__sq_render_sql(&q, out);
cleanup:
	batch_free(&b);
	migrate__sql_free(&q);
	return rc;
}

/*
 * The keep of a drop_column: the kept table (keyed as a batch would be) and
 * every row's value of the column, copied before the column goes, in the
 * version's transaction. The kept table must be new: a rerun after a crash
 * finds the transaction rolled back, and the table gone with it.
 */
int migrate__sq_keep_all(sq_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err)
{
	const char *keep = migrate__doc_str(step, "keep");
	migrate_sql_t q;
	batch_t b;
	char *const *keys;
	size_t n;
	int exists = 0, rc;

	migrate__sql_init(&q, &migrate__sq_dialect, c);
	if ((rc = batch_init(&b, c, step, out != NULL, err)) || (rc = keep_key(&b, err)))
		goto cleanup;
	if (!out && (rc = migrate__sq_exists(c, "table", keep, &exists, err)) == 0 && exists)
		rc = migrate__err(err, MIGRATE_DOMAIN_DRIVER, MIGRATE_ESTATE,
				  "keep: table \"%s\" exists already; a step keeps into a table of its own (name "
				  "another, or drop it if an earlier run left it)",
				  keep);
	if (rc || (rc = keep_setup(&b, out, err)))
		goto cleanup;
	keys = key_names(&b, &n);
	migrate__sql_keep_insert(&q, step, keys, n);
	migrate__sql_append(&q, "true");
	migrate__sql_keep_tail(&q);
	if (out)
		migrate__sq_render_sql(&q, out);
	else
		rc = migrate__sq_run(c, &q, NULL, err);
cleanup:
	batch_free(&b);
	migrate__sql_free(&q);
	return rc;
}
