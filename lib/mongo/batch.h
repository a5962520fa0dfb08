/*
 * The batch runner shared by the steps that touch every matching document
 * (batch.c), and the ops built on it: columns.c (add_column, drop_column,
 * rename_column), map_values.c and backfill.c.
 */
#ifndef MIGRATE_MONGO_BATCH_H
#define MIGRATE_MONGO_BATCH_H

#include "mongo_int.h"

typedef struct batch batch_t;

/*
 * A batch checkpoint: {"after": _id, "done": n}, with "rewrite": true on the
 * rewrite path, "copied": true once its copy is complete and "swapping":
 * true once the swap began; {"done": n, "part": i} on the by-value path. A step journals {"done": 0, "rewrite": ...}
 * before it writes anything, and a resumed step keeps the path it names.
 */
typedef struct checkpoint {
	bool present; /* a checkpoint was journaled */
	bool has_after;
	bson_value_t after;
	int64_t done;
	bool rewrite;
	bool copied;
	bool swapping; /* the swap began: the collection's name no longer holds the original */
	bool by_value; /* on the by-value path: `part` is the next of the op's statements to send */
	int64_t part;
} checkpoint_t;

/* Parses the step's checkpoint (NULL or "" is none); checkpoint_free releases it. */
int migrate__mongo_checkpoint_parse(const char *ck, checkpoint_t *out, migrate_error_t *err);
void migrate__mongo_checkpoint_free(checkpoint_t *ck);
int migrate__mongo_checkpoint_write(migrate_exec_t *exec, const checkpoint_t *ck, migrate_error_t *err);
/* Runs every batch, journaling a checkpoint after each. */
int migrate__mongo_run_batches(batch_t *b, migrate_exec_t *exec, migrate_error_t *err);

struct batch {
	mongo_conn_t *c;
	const bson_t *step;
	const char *table;
	char what[200];       /* "backfill jobs", for messages */
	bson_t select;        /* the documents still to visit */
	bson_t fields;        /* client mode: projection, or $project with expressions */
	bool aggregate;       /* read with aggregate (fields holds expressions) */
	bool server;          /* server mode: one update command per _id range */
	bool guard;           /* client mode: per-document filters re-check the selecting condition */
	uint32_t deadline_ms; /* maxTimeMS of each update command (0: none) */
	/* Server mode: the update command for the documents matching `range`. */
	int (*per_range)(batch_t *b, const bson_t *range, bson_t *cmd, migrate_error_t *err);
	/*
	 * The by-value path (ops whose documents fall into a few classes, each
	 * written by one update_many: map_values, one statement per old value;
	 * backfill, one per array length): statement *part of the step over the
	 * whole collection, or *end past the last. It may move *part forward
	 * to the next statement that exists (the journal keeps *part, so a
	 * number names the same statement in every run). Each must be
	 * idempotent, and a document it wrote must match no other statement
	 * that writes it differently, so that any statement sent again, or a
	 * batch over the same documents, changes nothing more.
	 */
	int (*per_value)(batch_t *b, int64_t *part, bson_t *q, bson_t *u, bool *end, migrate_error_t *err);
	/* Optional, on every run after the first run's checks and before any
	 * write (drop_column, rename_column: the collection's validator). */
	int (*before)(batch_t *b, migrate_error_t *err);
	/* Client mode: optional look-ups for a whole batch (count expressions). */
	int (*prepare)(batch_t *b, bson_t **docs, size_t n, migrate_error_t *err);
	/* Client mode: the selector and update of one document; *skip when none. */
	int (*per_doc)(batch_t *b, const bson_t *doc, bson_t *selector, bson_t *update, bool *skip,
		       migrate_error_t *err);
	/*
	 * Set by ops whose update is not idempotent (a backfill reading a field it
	 * writes, or a raw aggregation expression): every write also sets
	 * MONGO_MARK_FIELD to this step's key, reads skip marked documents, and
	 * the marks are removed once every batch is done. A batch redone after a
	 * crash between its write and its journal then changes nothing.
	 */
	bool mark;
	char mark_key[33];
	/*
	 * The rewrite path (rewrite.c): per_doc sees every document of the
	 * collection (or, with a `where`, those the server selects) and skips
	 * those the selector would not match.
	 */
	bool rewrite;
	/*
	 * The step's "keep" collection, or NULL: before a document is written,
	 * the old values of the fields the step writes (kept[]) are inserted
	 * there as {_id, field: value...} (a field it lacked is left out); the
	 * first insert of an _id wins, so a batch done again keeps the first
	 * values. The step's down (restore.c) sets them back.
	 */
	const char *keep;
	const char *kept[MIGRATE__KEEP_MAX];
	size_t nkept;
	/* Render: fills a sample document with the fields per_doc reads. */
	void (*sample)(batch_t *b, bson_t *doc);
	void *op;
};

void migrate__mongo_batch_init(batch_t *b, mongo_conn_t *c, const bson_t *step, const char *opname);
void migrate__mongo_batch_free(batch_t *b);
/* Whether this server writes batches as range updates (see batch.c). */
bool migrate__mongo_range_updates(mongo_conn_t *c);
/*
 * Whether this step takes the by-value path (batch.c): an op with
 * per_value, no fixed batch size, nothing kept, no marks.
 */
bool migrate__mongo_by_value(const batch_t *b, bool fixed);
/* Whether this step copies the collection instead of updating it in place (rewrite.c). */
bool migrate__mongo_rewrites(const batch_t *b);
int migrate__mongo_run_rewrite(batch_t *b, migrate_exec_t *exec, checkpoint_t *ck, migrate_error_t *err);
int migrate__mongo_render_rewrite(batch_t *b, migrate_buf_t *out, migrate_error_t *err);
/* Appends the batch read and the per-batch write as extended JSON. */
int migrate__mongo_render_batch(batch_t *b, migrate_buf_t *out, migrate_error_t *err);

/* The {_id, kept fields} document of `doc` (keep); the caller destroys it. */
bson_t *migrate__mongo_kept_doc(const batch_t *b, const bson_t *doc);
/* Inserts kept documents into b->keep; an _id kept already keeps its first values. */
int migrate__mongo_keep_insert(batch_t *b, bson_t **kept, size_t n, migrate_error_t *err);
/*
 * A batch that timed out (the server took longer than the socket allows,
 * to write it or to read it) is a signal, not a failure: up to
 * MONGO_TIMEOUT_RETRIES times in a row, the size is divided by four (down
 * to `min`), a RETRY event says so, the server is given a pause (250 ms,
 * doubling), `err` is cleared and the caller reads and writes the batch
 * again from its checkpoint (true). Else false. *retries counts the
 * consecutive ones; the caller zeroes it after a batch that succeeds.
 */
#define MONGO_TIMEOUT_RETRIES 6
/*
 * The server-side limit (maxTimeMS) of one write of a step whose batches
 * are sized by time: MONGO_DEADLINE_FACTOR times the batch budget, at
 * least MONGO_DEADLINE_MIN_MS. A write that passes it fails on the server
 * (MaxTimeMSExpired) and counts as a timeout.
 */
#define MONGO_DEADLINE_FACTOR 50
#define MONGO_DEADLINE_MIN_MS 10000
uint32_t migrate__mongo_deadline_ms(uint32_t budget_ms);
/* Whether `err` says a command outlasted the socket or its maxTimeMS. */
bool migrate__mongo_is_timeout(const migrate_error_t *err);
bool migrate__mongo_batch_timed_out(migrate_exec_t *exec, migrate_error_t *err, uint32_t *size, uint32_t min,
				    int *retries);
/* Render: what keep writes before each batch (nothing without keep). */
void migrate__mongo_render_keep(const batch_t *b, migrate_buf_t *out);
/* Whether two documents have the same _id (same type and bytes). */
bool migrate__mongo_same_id(const bson_t *a, const bson_t *b);

/* {setop: {field: v}} appended to `upd`. */
void migrate__mongo_set_value_doc(bson_t *upd, const char *setop, const char *field, const bson_value_t *v);
/* Appends the document's _id to `sel`. */
void migrate__mongo_copy_id(bson_t *sel, const bson_t *doc);
/* With b->mark: appends {MONGO_MARK_FIELD: key} to a $set document. */
void migrate__mongo_append_mark(const batch_t *b, bson_t *set);
/* An update command of one statement {q, u, multi: true}. */
void migrate__mongo_update_cmd(bson_t *cmd, const char *table, const bson_t *q, const bson_t *u, bool u_is_array);

#endif
