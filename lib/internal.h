/*
 * libmigrate internals shared by the core and the in-tree drivers. Nothing
 * here is part of the public API; symbols are hidden from the shared library.
 */
#ifndef MIGRATE_INTERNAL_H
#define MIGRATE_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "migrate/driver.h"

#define MIGRATE_IDENT_MAX 63

struct migrate_step {
	bson_t doc;      /* the step document */
	migrate_op_t op; /* doc.op, looked up in the catalog */
	migrate_custom_fn custom_up;
	migrate_custom_fn custom_down;
	void *custom_payload;
	migrate_version_t *version; /* owner (NULL for engine-made inverse steps) */
	size_t index;               /* position in the owner */
	bool pooled;                /* in its plan's blocks (migrate__plan_alloc), freed with them */
};

struct migrate_version {
	uint64_t id;
	char *name;
	int transactional;
	migrate_step_t **steps;
	size_t nsteps, capsteps;
	migrate_plan_t *plan;
	bson_t *down; /* explicit down of the whole version, or NULL */
	/* Its checksum once computed (checksum.c), so that a plan checked at
	 * every start-up of a running program costs no hashing after the first;
	 * every edit of the version or of its steps forgets it
	 * (migrate__version_changed). Atomic: a validated plan may be shared
	 * by threads, each of which may compute it. */
	char sum[65];
	atomic_int sum_state; /* 0 none, 1 being stored, 2 stored */
};

/*
 * strcmp(a, b) == 0, the first bytes compared inline: the keys of a step
 * are matched against many names, and most differ there.
 */
static inline bool migrate__streq(const char *a, const char *b)
{
	return a[0] == b[0] && (a[0] == '\0' || strcmp(a + 1, b + 1) == 0);
}

/* ---- heap text buffers (buf.c) ---- */
/*
 * migrate_buf_append_n() where the bytes and the NUL fit already, without
 * a call (canonical JSON appends many short pieces); else the call.
 */
static inline void migrate__buf_put(migrate_buf_t *b, const char *s, size_t n)
{
	if (!b->failed && b->cap > b->len && b->cap - b->len > n) {
		memcpy(b->str + b->len, s, n);
		b->len += n;
		b->str[b->len] = '\0';
		return;
	}
	migrate_buf_append_n(b, s, n);
}

/* One byte, the same way. */
static inline void migrate__buf_put_c(migrate_buf_t *b, char c)
{
	migrate__buf_put(b, &c, 1);
}
/* Room for `extra` more bytes (and the NUL) at once, so that appends up to there do not grow it step by step. */
void migrate__buf_reserve(migrate_buf_t *b, size_t extra);
/* A new buffer holding `init` (may be NULL); never NULL (a failed allocation aborts, see buf.c). */
migrate_buf_t *migrate__buf_new(const char *init);
/* Frees `b`; with !free_text returns its text (caller frees), NULL if it failed. */
char *migrate__buf_free(migrate_buf_t *b, bool free_text);

/* The note of a record that migrate_baseline() marked applied without running it. */
#define MIGRATE__BASELINE_NOTE "baseline: marked applied without running"

/* ---- the op catalog (op.c): one row per op, indexed by migrate_op_t ---- */
/* Where validation is and where its errors go (step.c). */
typedef struct migrate__vctx {
	const char *where; /* "version 3 (\"name\"), step 2 (create_table)" */
	migrate_error_t *err;
} migrate__vctx;

/* An inverse that is computed but empty (an assert reverts as nothing). */
#define MIGRATE__INVERSE_EMPTY 1
/* sql, command: `down` is a field of the op's own kind, not a list of steps. */
#define MIGRATE__OP_OWN_DOWN 1u
/* Changes the schema only (tables, columns, indexes, enums): what a raw step may declare. */
#define MIGRATE__OP_SCHEMA 2u

typedef struct migrate__op_spec {
	const char *name;        /* as written in plans */
	const char *const *keys; /* the fields it may have, NULL-terminated */
	/* Checks the fields beyond their names (step.c); 0 or MIGRATE_EPLAN naming the place. */
	int (*validate)(migrate__vctx *c, const bson_t *step);
	/* The computed inverse (inverse.c): 0 with one step in `out` (initialised,
	 * the caller destroys it), MIGRATE__INVERSE_EMPTY, or MIGRATE_EIRREVERSIBLE.
	 * NULL: the op has none; only an explicit down reverts it. */
	int (*inverse)(const bson_t *step, bson_t *out);
	/* For the checksum (checksum.c): appends `field` without the parts that
	 * restate a default, returning true; false leaves the field as it is. */
	bool (*canonical)(const bson_t *step, const bson_iter_t *field, bson_t *out);
	/* Top-level fields whose key order counts (a command's documents), or NULL. */
	const char *const *keep_order;
	unsigned flags; /* MIGRATE__OP_* */
	/* What the op destroys that only its computed inverse could give back
	 * ("the rows it dropped"), or NULL: a run that reverts it by an explicit
	 * or empty down warns that this is not restored. */
	const char *loses;
} migrate__op_spec;

/* The catalog; migrate__ops[MIGRATE_OP_UNKNOWN] has only a name, for messages. */
extern const migrate__op_spec migrate__ops[MIGRATE_OP_COUNT];
/* The op named `name`, MIGRATE_OP_UNKNOWN for NULL or a name outside the catalog. */
migrate_op_t migrate__op_find(const char *name);
/*
 * A drop_table with "keep" drops nothing: the table is renamed to the kept
 * name, rows, indexes and constraints with it, and its computed down renames
 * it back. True, and *out (to bson_destroy) that rename_table step, for such
 * a step; false (out untouched) for any other.
 */
bool migrate__drop_kept_as_rename(migrate_op_t op, const bson_t *d, bson_t *out);
/*
 * The step a driver is given for `s` (check, flags, render, apply): `s`
 * itself, or for a drop_table that keeps, the rename_table it is, made in
 * *tmp; so no driver, in-tree or not, ever sees a drop that must not drop.
 * Pair with migrate__driver_step_done(returned, tmp).
 */
const migrate_step_t *migrate__driver_step(const migrate_step_t *s, migrate_step_t *tmp);
void migrate__driver_step_done(const migrate_step_t *given, migrate_step_t *tmp);
/* The driver's check_step, step_flags and render_step of `s`, given as migrate__driver_step() makes it. */
int migrate__driver_check(const migrate_target_t *t, const migrate_step_t *s, migrate_error_t *err);
unsigned migrate__driver_flags(const migrate_driver_t *d, void *conn, const migrate_step_t *s);
int migrate__driver_render(const migrate_target_t *t, const migrate_step_t *s, migrate_buf_t *out,
			   migrate_error_t *err);
/* Whether `op` is a MIGRATE__OP_SCHEMA op. */
#define migrate__op_is_schema(op) ((migrate__ops[(op)].flags & MIGRATE__OP_SCHEMA) != 0)
/* Whether `op` may have the field `key`. */
bool migrate__op_has_key(migrate_op_t op, const char *key);

/* The validators (step.c), inverses (inverse.c) and checksum forms (checksum.c) the catalog names. */
int migrate__validate_create_table(migrate__vctx *c, const bson_t *d);
int migrate__validate_drop_table(migrate__vctx *c, const bson_t *d);
int migrate__validate_from_to(migrate__vctx *c, const bson_t *d);
int migrate__validate_add_column(migrate__vctx *c, const bson_t *d);
int migrate__validate_drop_column(migrate__vctx *c, const bson_t *d);
int migrate__validate_rename_column(migrate__vctx *c, const bson_t *d);
int migrate__validate_create_index(migrate__vctx *c, const bson_t *d);
int migrate__validate_drop_index(migrate__vctx *c, const bson_t *d);
int migrate__validate_create_enum(migrate__vctx *c, const bson_t *d);
int migrate__validate_drop_enum(migrate__vctx *c, const bson_t *d);
int migrate__validate_map_values(migrate__vctx *c, const bson_t *d);
int migrate__validate_backfill(migrate__vctx *c, const bson_t *d);
int migrate__validate_restore(migrate__vctx *c, const bson_t *d);
int migrate__validate_sql(migrate__vctx *c, const bson_t *d);
int migrate__validate_command(migrate__vctx *c, const bson_t *d);
int migrate__validate_assert(migrate__vctx *c, const bson_t *d);
int migrate__validate_custom(migrate__vctx *c, const bson_t *d);
int migrate__inverse_create_table(const bson_t *d, bson_t *out);
int migrate__inverse_rename(const bson_t *d, bson_t *out);
int migrate__inverse_drop_table(const bson_t *d, bson_t *out);
int migrate__inverse_add_column(const bson_t *d, bson_t *out);
int migrate__inverse_create_index(const bson_t *d, bson_t *out);
int migrate__inverse_create_enum(const bson_t *d, bson_t *out);
int migrate__inverse_map_values(const bson_t *d, bson_t *out);
int migrate__inverse_backfill(const bson_t *d, bson_t *out);
int migrate__inverse_drop_column(const bson_t *d, bson_t *out);
/*
 * The columns a map_values (its column) or backfill (the keys of its set)
 * writes, and so keeps with "keep": up to `max` names into `out` (borrowed
 * from the step); returns how many.
 */
size_t migrate__kept_columns(const bson_t *step, const char **out, size_t max);
/* The most columns one step keeps (validated), so that every kept list fits. */
#define MIGRATE__KEEP_MAX 64
int migrate__inverse_own_down(const bson_t *d, bson_t *out);
int migrate__inverse_assert(const bson_t *d, bson_t *out);
bool migrate__canonical_create_table(const bson_t *step, const bson_iter_t *field, bson_t *out);
bool migrate__canonical_add_column(const bson_t *step, const bson_iter_t *field, bson_t *out);
bool migrate__canonical_create_index(const bson_t *step, const bson_iter_t *field, bson_t *out);
/* The canonical form of a step the checksum takes, appended to `canon`:
 * written through the writer's filter, or (copy) from a copy without the
 * defaults, as steps with their own down steps are (tests compare the two). */
void migrate__step_canonical(const migrate_step_t *step, bool copy, migrate_buf_t *canon);

/* ---- lowering.c: how an in-tree driver lowers each op ---- */
/* One step being checked, rendered or applied. */
typedef struct migrate__lower {
	void *conn; /* the driver's state */
	const migrate_step_t *step;
	const bson_t *doc; /* its document */
	migrate_op_t op;
	migrate_buf_t *out;   /* rendering: where the statements go; NULL when applying */
	migrate_exec_t *exec; /* applying: the run; NULL otherwise */
	migrate_error_t *err;
} migrate__lower;

/*
 * A driver's row for one op. A row with neither render nor apply is an op
 * the driver cannot express: check says why (NULL: "has no op").
 */
typedef struct migrate__lowering {
	int (*check)(migrate__lower *x);            /* MIGRATE_EUNSUPPORTED and why; NULL: nothing to check */
	unsigned (*flags)(const migrate__lower *x); /* MIGRATE_STEP_*; NULL: 0 */
	int (*render)(migrate__lower *x);           /* appends what apply sends to x->out */
	int (*apply)(migrate__lower *x);            /* runs the step */
} migrate__lowering;

/* A flags function for ops that always run outside the engine's transaction. */
unsigned migrate__lower_no_txn(const migrate__lower *x);
/* The four driver callbacks over a table of MIGRATE_OP_COUNT rows; `driver` names it in errors. */
int migrate__lower_check(const migrate__lowering *ops, const char *driver, void *conn, const migrate_step_t *step,
			 migrate_error_t *err);
unsigned migrate__lower_flags(const migrate__lowering *ops, void *conn, const migrate_step_t *step);
int migrate__lower_render(const migrate__lowering *ops, const char *driver, void *conn, const migrate_step_t *step,
			  migrate_buf_t *out, migrate_error_t *err);
int migrate__lower_apply(const migrate__lowering *ops, const char *driver, void *conn, const migrate_step_t *step,
			 migrate_exec_t *exec, migrate_error_t *err);

/* ---- batch.c: the size of a batched step's next batch, for every driver ---- */
/* What the sizer remembers of a step's last batches; zero it before the first. */
#define MIGRATE__SIZER_WINDOW 4
typedef struct migrate__sizer {
	double per_row[MIGRATE__SIZER_WINDOW]; /* ms per row of the last batches, a ring */
	unsigned n;                            /* batches recorded */
	double aim;                            /* fraction of the budget aimed at; 0: 0.7 */
} migrate__sizer;

/* From the last batch's `size` and the time it held its locks (`took_ms`):
 * `aim` (about 70%) of `budget_ms` (0: 200) at the slowest cost per row of the
 * last MIGRATE__SIZER_WINDOW batches, growing or shrinking at most 4x, in
 * [min, max]. */
int64_t migrate__batch_next(migrate__sizer *s, int64_t size, double took_ms, uint32_t budget_ms, int64_t min,
			    int64_t max);

/* ---- idmap.c: id -> array position, in constant time ---- */
typedef struct migrate__idmap_slot {
	uint64_t id;
	size_t pos1; /* position + 1; 0: empty */
} migrate__idmap_slot;
typedef struct migrate__idmap {
	migrate__idmap_slot *slots;
	size_t cap, n;
} migrate__idmap;
/* Maps `id` to `pos` (replacing an earlier position); MIGRATE_ENOMEM. */
int migrate__idmap_put(migrate__idmap *m, uint64_t id, size_t pos);
/* Whether `id` is mapped; its position in *pos (if not NULL). */
bool migrate__idmap_get(const migrate__idmap *m, uint64_t id, size_t *pos);
void migrate__idmap_free(migrate__idmap *m);

struct migrate_plan {
	char *name;
	migrate_version_t **versions;
	size_t nversions, capversions;
	migrate__idmap ids;              /* version id -> position in versions */
	uint8_t *source;                 /* the plan file's BSON, which its steps are views into (or NULL); free() */
	void **blocks;                   /* memory of its pooled steps (migrate__plan_alloc) */
	size_t nblocks, capblocks, used; /* `used`: bytes given out of the last block */
};

struct migrate_target {
	const migrate_driver_t *driver;
	void *conn;
};

struct migrate_exec {
	int in_txn;
	int direction;
	const char *checkpoint; /* resume point from the journal */
	uint32_t batch_size, pause_ms, batch_time_ms;
	struct migrate_run *run; /* engine state (runner.c) */
	int step_index;
	migrate_op_t op;
	int64_t done_before;         /* rows the step's earlier runs did (migrate_exec_resumed) */
	int64_t batch_start_ms;      /* the current batch's start (migrate_exec_batch_start) */
	int64_t batches, longest_ms; /* committed by this run, and the longest of them */
};

/* ---- history in memory (history.c) ---- */
typedef struct migrate__rec {
	uint64_t version;
	char *name, *checksum, *checkpoint, *applied_by, *error, *lib_version;
	int state;
	uint32_t steps_done;
	int64_t started_at_ms, finished_at_ms, duration_ms;
	bool oom; /* a string field failed to copy: the record must not be written */
} migrate__rec;

typedef struct migrate__history {
	migrate__rec *recs;
	size_t n, cap;
	migrate__idmap ids; /* version -> position in recs */
} migrate__history;

/* One read of the history of `plan` (none when the store does not exist). */
int migrate__history_load(migrate_target_t *t, const char *plan, migrate__history *h, migrate_error_t *err);
migrate__rec *migrate__history_find(migrate__history *h, uint64_t version);
/* Adds an empty record for `version` (the array may move: re-find after). */
migrate__rec *migrate__history_add(migrate__history *h, uint64_t version);
void migrate__history_free(migrate__history *h);
int migrate__history_write(migrate_target_t *t, const char *plan, const migrate__rec *r, migrate_error_t *err);
/*
 * Replaces a string field of `rec`. On allocation failure the field is
 * NULL, the record is marked so that migrate__history_write refuses it, and
 * MIGRATE_ENOMEM is returned.
 */
int migrate__rec_set(migrate__rec *rec, char **field, const char *value);

/* The migrate_check_state_t of `plan` after one read of its history `h`. */
int migrate__check_state(const migrate_plan_t *plan, migrate__history *h);
/* A stored state's number from its name (migrate_state_name); an unknown
 * name is a failed version (not applied, resumable). */
int migrate__state_from_name(const char *name);

/* ---- PostgreSQL without libpq (pgwire.c), for MIGRATE_OPEN_CHECK (probe.c) ---- */
/* check's read of the history table (%s: its quoted, qualified name); $1 the plan. */
#define MIGRATE__PG_STATES_SQL "SELECT version::text, checksum, state FROM %s WHERE plan = $1"
typedef struct migrate__pgw migrate__pgw;
/* Connects for check's read; -1 when `url` or the server needs anything
 * libpq alone does (*why: what, static text): the caller then uses libpq. */
int migrate__pgw_connect(const char *url, migrate__pgw **out, const char **why);
void migrate__pgw_close(migrate__pgw *w);
/* Reads the states of `plan`'s versions into `fn` once the whole read
 * succeeded: 0 or fn's error. *gave_up: the read failed, nothing was
 * delivered (0 returned): the caller reads through libpq. */
int migrate__pgw_states(migrate__pgw *w, const char *plan, migrate_record_fn fn, void *ctx, bool *gave_up);
/* The probe target's driver, and its history_states (module.c's table for it). */
extern const migrate_driver_t migrate__probe_driver;
int migrate__probe_states(void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err);
int migrate__probe_read_rows(void *conn, const char *query, bson_t *rows, migrate_error_t *err);
/* Opens `url` for MIGRATE_OPEN_CHECK: 0 with *out NULL when the probe does not apply. */
int migrate__probe_open(const char *url, migrate_target_t **out, migrate_error_t *err);

/* ---- a run (runner.c, lock.c) ---- */
typedef struct migrate_run {
	migrate_target_t *t;
	const migrate_plan_t *plan;
	migrate_run_options_t opts;
	migrate_error_t *err;
	int direction;
	int cancel; /* set when the event callback asked to stop */
	bool locked;
	const migrate_version_t *v; /* the version being run */
	migrate__rec *rec;          /* its history record */
	int64_t version_started_ms;
	int64_t wait_started_ms;               /* while waiting for the lock */
	int64_t done_before;                   /* of a PROGRESS event being emitted: see migrate_event_t */
	int64_t step_batches, step_longest_ms; /* of the step just run, for its STEP_END event */
	char applied_by[300];
} migrate_run;

int migrate__emit(migrate_run *r, int type, int step_index, migrate_op_t op, int64_t processed, int64_t total,
		  const char *message);
/* Takes the plan's lock, retrying until the run's timeout, reporting waits. */
int migrate__lock(migrate_run *r);
/* Makes the run's commits durable and releases its lock; returns `rc`, or sync's error when `rc` is 0. */
int migrate__unlock(migrate_run *r, int rc);

/* ---- errors and logging (error.c) ---- */
int migrate__err(migrate_error_t *err, int domain, int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;
/* migrate__err returns `code`; the macro says so where it is called, as the
 * static analyser does not look into error.c and would otherwise follow an
 * error path as if it returned 0. `code` is a constant or a variable at
 * every call, so evaluating it twice is harmless. */
static inline int migrate__err_returns(int returned, int code)
{
	(void)returned;
	return code;
}
#define migrate__err(err, domain, code, ...) migrate__err_returns(migrate__err(err, domain, code, __VA_ARGS__), (code))
/* Prefixes an existing error message with a context ("version 3: "). */
void migrate__err_prefix(migrate_error_t *err, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
void migrate__log(int level, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
int migrate__log_enabled(int level);

/* Copies `url` into `out` with any password replaced by "****". */
void migrate__redact_url(const char *url, char *out, size_t out_size);
/* Removes the URL and every password it holds (as written and decoded) from a driver's message. */
void migrate__scrub(char *msg, size_t size, const char *url);
/* Where the userinfo password of a "scheme://user:password@host" URL is; false when it has none. */
bool migrate__url_password(const char *url, size_t *start, size_t *len);
/* Percent-decodes s[0..n) into `out`; -1 when malformed, too long or holding a NUL. */
int migrate__url_decode(const char *s, size_t n, char *out, size_t size);
/* The same for a query parameter, where '+' stands for a blank. */
int migrate__url_decode_query(const char *s, size_t n, char *out, size_t size);

/* ---- fault injection (fault.c) ---- */
#define MIGRATE__FAULT_ALLOC 1u   /* an allocation by libmigrate */
#define MIGRATE__FAULT_DRIVER 2u  /* a driver callback made by the engine */
#define MIGRATE__FAULT_STMT 4u    /* a statement or command sent by a driver */
#define MIGRATE__FAULT_JOURNAL 8u /* a history (journal) write */
#define MIGRATE__FAULT_ALL 15u
#define MIGRATE__FAULT_FAIL 0 /* the point fails with an error */
#define MIGRATE__FAULT_KILL 1 /* the process is killed (SIGKILL) at the point */
/*
 * Arms the N-th point (1-based) of `kinds` counted from now; n = 0 only
 * counts. Process-wide; for tests of builds with MIGRATE_FAULT_INJECTION.
 */
void migrate__fault_arm(unsigned kinds, long n, int mode);
/* Points of the armed kinds passed since the last arm (-1: not built in). */
long migrate__fault_passed(void);
/*
 * The synthetic clock of the batch sizing: > 0, a batch sized by time is
 * taken to have lasted `ms_per_row` ms per row (migrate__fault_took); 0,
 * the real clock again (the default). Process-wide; for tests of builds
 * with MIGRATE_FAULT_INJECTION, elsewhere it does nothing.
 */
void migrate__fault_clock(double ms_per_row);
#ifdef MIGRATE_FAULT_INJECTION
/* 0, or the injected error (filled into `err`) when this point is armed. */
int migrate__fault(unsigned kind, const char *what, migrate_error_t *err);
/* Non-zero when this allocation must fail. */
int migrate__fault_alloc(void);
/* The time a batch of `rows` rows that lasted `real_ms` is sized by: real_ms unless the synthetic clock is set. */
double migrate__fault_took(double real_ms, int64_t rows);
#else
static inline int migrate__fault(unsigned kind, const char *what, migrate_error_t *err)
{
	(void)kind;
	(void)what;
	(void)err;
	return 0;
}
static inline int migrate__fault_alloc(void)
{
	return 0;
}
static inline double migrate__fault_took(double real_ms, int64_t rows)
{
	(void)rows;
	return real_ms;
}
#endif

/* ---- small utilities (util.c) ---- */
/* malloc, calloc and realloc, through the allocation fault point. */
void *migrate__malloc(size_t n);
void *migrate__calloc(size_t n, size_t size);
void *migrate__realloc(void *p, size_t n);
char *migrate__strdup(const char *s);
/* SHA-256 of `len` bytes as 64 lowercase hex digits (sha256.c); cannot fail. */
void migrate__sha256_hex(const void *data, size_t len, char out[65]);
/* SHA-256 by parts (sha256.c), for HMAC (pgwire.c's SCRAM); cannot fail. */
typedef struct migrate__sha256_ctx {
	uint32_t h[8];
	unsigned char buf[64];
	size_t n;
	uint64_t total;
} migrate__sha256_ctx;
void migrate__sha256_init(migrate__sha256_ctx *c);
void migrate__sha256_update(migrate__sha256_ctx *c, const void *data, size_t len);
void migrate__sha256_final(migrate__sha256_ctx *c, unsigned char out[32]);
/* Set (by tests) to take the portable code even where the processor has SHA instructions. */
extern bool migrate__sha256_portable;
int64_t migrate__now_ms(void);
void migrate__sleep_ms(uint32_t ms);
/* "host:pid" of this process. */
void migrate__applied_by(char *out, size_t out_size);
/* Checks an identifier: 1..63 bytes, no NUL or control characters. */
bool migrate__ident_ok(const char *s, size_t len, const char **why);
/* Whether `s` holds a control character (below 0x20, or 0x7f): a one-line name must not, as it is printed. */
bool migrate__has_control(const char *s);
/* Replaces every control character of s (as migrate__has_control finds them) with '?'. */
void migrate__mask_control(char *s);

/* ---- lease locks of the drivers (lease.c) ---- */
/* The shortest lease and renewal period the URL options accept. */
#define MIGRATE__LEASE_MIN_MS 100
#define MIGRATE__LEASE_MAX_MS 86400000 /* a day */
/*
 * Parses the `n` bytes of `value` as the milliseconds of the URL option
 * `key` (migrate_lease_ms, migrate_lease_renew_ms): a decimal integer of at
 * least MIGRATE__LEASE_MIN_MS and at most MIGRATE__LEASE_MAX_MS, else
 * MIGRATE_EINVAL "<where>: <key> ...".
 */
int migrate__lease_option(const char *where, const char *key, const char *value, size_t n, int64_t *out,
			  migrate_error_t *err);
/*
 * The renewal period of a lease: `renew_ms` (0: a third of the lease), which
 * must be shorter than the lease, else MIGRATE_EINVAL naming
 * migrate_lease_renew_ms.
 */
int migrate__lease_renewal(const char *where, int64_t lease_ms, int64_t renew_ms, int64_t *every, migrate_error_t *err);
/* Milliseconds of CLOCK_MONOTONIC (for intervals: a step of the wall clock does not move it). */
int64_t migrate__mono_ms(void);
/* Initialises a condition variable whose timed waits use CLOCK_MONOTONIC. */
void migrate__cond_init_monotonic(pthread_cond_t *cv);
/* Waits on `cv` (initialised by migrate__cond_init_monotonic, `mu` held) for at most `ms`. */
void migrate__cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms);

/* ---- bson helpers (json.c) ---- */
/* The UTF-8 string at `key`, or NULL if absent or not a string. */
const char *migrate__doc_str(const bson_t *doc, const char *key);
/* True and *out set if `key` holds a bool (absent: *out = dflt, returns true). */
bool migrate__doc_bool(const bson_t *doc, const char *key, bool dflt);
/* bson_iter_init_find(), faster: a walk over the raw bytes for the element named `key`. */
bool migrate__doc_find(bson_iter_t *it, const bson_t *doc, const char *key);
/* Integer at `key` (int32, int64 or integral double), or `dflt`. */
int64_t migrate__doc_int(const bson_t *doc, const char *key, int64_t dflt);
/* Sub-document or array at `key` into *out (static, borrowed); false if absent. */
bool migrate__doc_sub(const bson_t *doc, const char *key, bson_t *out);
/* Byte offset in `text` to "line L, column C" (1-based). */
void migrate__text_position(const char *text, size_t offset, char *out, size_t out_size);
/* Parses one JSON object (or array when `array`) into `out`. */
int migrate__json_parse(const char *json, bool array, bson_t *out, migrate_error_t *err);
/*
 * The same for the text of a file named `name` (or NULL): its errors read
 * "NAME:LINE:COLUMN: message" (or "NAME: message" without a position).
 */
int migrate__json_parse_named(const char *json, bool array, const char *name, bson_t *out, migrate_error_t *err);
/*
 * A strict check of JSON syntax (json_syntax.c), the value an object when
 * `top` is '{', an array when '[' (0: any): 0, or -1 with where and what is wrong.
 */
int migrate__json_syntax(const char *json, int top, size_t *line, size_t *col, char *msg, size_t size);
/* The value of a hexadecimal digit (either case), or -1 (util.c). */
int migrate__hex_value(char c);
/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 when it is not one. */
size_t migrate__utf8_len(const unsigned char *s);
/*
 * The single-pass read (json_read.c): JSON text to the BSON libbson's reader
 * makes of it, in one walk. 0 and *out initialised (caller destroys) when it
 * read the text; -1 and *out untouched when it declined: an error of any
 * kind, or text it leaves to the checked path (keys starting with "$" ...).
 */
int migrate__json_read(const char *json, bool array, bson_t *out);
/*
 * The same read, its BSON left in a buffer of its own: 0 with *data (caller
 * frees, plain free()), *len, and *nul set when a string value holds a NUL
 * (keys never do: the read declines them); -1 when it declined.
 */
int migrate__json_read_raw(const char *json, bool array, uint8_t **data, size_t *len, bool *nul);
/*
 * migrate__json_parse_named() that, for text the one-pass read takes, lends
 * *out the read's own buffer instead of copying it: *owned is then that
 * buffer (the caller frees it, with free(), once done with *out and with
 * every view into it) and *nul_free tells that no string in it holds a NUL;
 * else *owned is NULL, *nul_free false, and *out owns its memory. Either
 * way the caller destroys *out.
 */
int migrate__json_parse_owned(const char *json, bool array, const char *name, bson_t *out, uint8_t **owned,
			      bool *nul_free, migrate_error_t *err);
/* The checked path alone: syntax, range, libbson's reader, repeated keys (tests compare the two). */
int migrate__json_parse_checked(const char *json, bool array, bson_t *out, migrate_error_t *err);
/* Canonical JSON of a document (sorted keys, no whitespace) appended to `out`. */
void migrate__json_canonical(const bson_t *doc, bool is_array, migrate_buf_t *out);
/* The same, keeping the key order inside the top-level members named in `keep`. */
void migrate__json_canonical_keep(const bson_t *doc, const char *const *keep, migrate_buf_t *out);
/*
 * Leaves members out of the canonical form as it is written, where a copy
 * without them would otherwise be built: `omit` (NULL: none) says whether a
 * member of the object is left out; `inner` (NULL: none) gives the filter of
 * a member's value (a document, or each document of an array), or NULL.
 */
typedef struct migrate__json_filter {
	bool (*omit)(const bson_iter_t *member);
	const struct migrate__json_filter *(*inner)(const bson_iter_t *member);
} migrate__json_filter_t;
/* migrate__json_canonical_keep() of `doc` with the members `f` leaves out left out. */
void migrate__json_canonical_filtered(const bson_t *doc, const char *const *keep, const migrate__json_filter_t *f,
				      migrate_buf_t *out);
/* Canonical JSON of one value (at the iterator) appended to `out`. */
void migrate__json_value(const bson_iter_t *it, migrate_buf_t *out);

/* ---- plan files (planfile.c), shared with the foreign formats (foreign.c) ---- */
/* Reads a whole file of at most 64 MiB; *text is caller-owned (NULL on failure). */
int migrate__read_text(const char *path, char **text, migrate_error_t *err);
/* The plan's name a directory gives without a plan.json: its own name. */
int migrate__dir_plan_name(const char *dir, char *out, size_t size, migrate_error_t *err);

/* ---- foreign plan directories (foreign.c) ---- */
/* Whether `format` is a plan format migrate_plan_load_dir_format() reads. */
int migrate__plan_format_known(const char *format);
/* A Flyway version ("1.2.3", len bytes) as an ordered id; -1 with the reason in `why`. */
int migrate__flyway_id(const char *version, size_t len, uint64_t *id, char *why, size_t why_size);

/* ---- lint (lint.c) ---- */
/* Checks a step's "lint" field (the rules it silences and why), if any; `c` names the place. */
int migrate__lint_validate(migrate__vctx *c, const bson_t *step);

/* ---- steps (step.c) ---- */
/* Validates the shape of a step document; `where` names it in errors. */
int migrate__step_validate(const bson_t *doc, const char *where, migrate_error_t *err);
/* The same for a document known to hold no NUL in any string or key (the one-pass read tells): that walk is left out.
 */
int migrate__step_validate_nul_free(const bson_t *doc, const char *where, migrate_error_t *err);
migrate_step_t *migrate__step_new(const bson_t *doc);
/*
 * A step whose document is `doc`'s bytes themselves, not a copy: they must
 * outlive the step (a plan's steps read from a plan file are views into the
 * file's BSON, which the plan keeps). An edit of the step replaces the view
 * with a copy of its own, as for any step.
 */
migrate_step_t *migrate__step_view(const bson_t *doc, migrate_plan_t *plan);
/*
 * `size` bytes, zeroed and on a 128-byte boundary, out of blocks the plan
 * owns and frees when it is destroyed (a plan file's steps: not one
 * aligned allocation each); NULL when memory is short.
 */
void *migrate__plan_alloc(migrate_plan_t *plan, size_t size);
void migrate__step_destroy(migrate_step_t *step);
/* Appends a validated step to a version (takes ownership of `step`). */
int migrate__version_push(migrate_version_t *v, migrate_step_t *step, migrate_error_t *err);
/*
 * An assert step's kind ("count", "unique", "no_match", "exists", "sql" or
 * "command"), NULL if none; `arg` (may be NULL) receives its object,
 * borrowed, or an empty document for sql.
 */
const char *migrate__assert_kind(const bson_t *step, bson_t *arg);
/* Does count `n` meet an assert step's `expect`? `desc` receives the expectation ("= 3"). */
bool migrate__expect_holds(const bson_t *step, int64_t n, char *desc, size_t size);
/* "version 3 (name), step 2 (create_table)" */
void migrate__step_place(const migrate_step_t *step, char *out, size_t out_size);
/*
 * The inverse of `step` as an array of steps in *out (caller frees each with
 * migrate__step_destroy and the array with free). MIGRATE_EIRREVERSIBLE when
 * it has none. An assert has the empty inverse.
 */
int migrate__step_inverse(const migrate_step_t *step, migrate_step_t ***out, size_t *n, migrate_error_t *err);

/* ---- plans (plan.c) ---- */
/* Versions sorted by id; caller frees the array. */
migrate_version_t **migrate__plan_sorted(const migrate_plan_t *plan);
migrate_version_t *migrate__plan_find(const migrate_plan_t *plan, uint64_t id);
/* Validates the whole plan against a target's driver. */
int migrate__plan_validate(const migrate_plan_t *plan, const migrate_target_t *t, migrate_error_t *err);

/* ---- checksum.c ---- */
int migrate__version_checksum(const migrate_version_t *v, char out[65], migrate_error_t *err);
/* Forgets the stored checksum of `v` after an edit (NULL: nothing to do). */
void migrate__version_changed(migrate_version_t *v);

/* ---- built-in drivers and their modules (module.c) ---- */
/*
 * A driver built as a module: the shared library loads it on first use
 * (libmigrate-<major>/<name>.so beside libmigrate.so), the static library
 * has it compiled in. The module defines one of these, named
 * migrate__module_<name>; the library refuses a module of another version
 * (modules use the library's internal symbols, which have no stable ABI).
 */
#define MIGRATE__MODULE_ABI 2
/* The one symbol a module exports. */
#define MIGRATE__MODULE_ENTRY __attribute__((visibility("default")))
typedef struct migrate__module {
	unsigned abi;                   /* MIGRATE__MODULE_ABI */
	const char *version;            /* MIGRATE_VERSION_STRING the module was built with */
	const migrate_driver_t *driver; /* static storage */
	/* Wraps an application's connection (PGconn *, mongoc_client_t *);
	 * `arg` is the driver's options (may be NULL) or the database name. */
	int (*wrap)(migrate_target_t **out, void *handle, const void *arg, migrate_error_t *err);
	/* Runs a read-only query (SQL; a command document as JSON on MongoDB)
	 * and appends its rows (documents) to the array `rows`; NULL: none.
	 * For the adoption of other tools' history (adopt.c). */
	int (*read_rows)(void *conn, const char *query, bson_t *rows, migrate_error_t *err);
	/* As the driver's history_read, but only version, checksum and state
	 * need be filled (the other fields NULL or 0): what check compares, in
	 * a smaller read. NULL: history_read. */
	int (*history_states)(void *conn, const char *plan, migrate_record_fn fn, void *ctx, migrate_error_t *err);
} migrate__module_t;

/* The module whose driver is `driver`, or NULL (the linked SQLite driver, a registered one). */
const migrate__module_t *migrate__module_of(const migrate_driver_t *driver);

/* The built-in driver for `url`'s scheme, its module loaded if need be.
 * *out is NULL (and 0 returned) when no built-in driver has the scheme;
 * MIGRATE_ENOTFOUND or MIGRATE_EVERSION when its module cannot be loaded. */
int migrate__builtin_for_url(const char *url, const migrate_driver_t **out, migrate_error_t *err);
/* Whether `url` starts with one of `schemes` (NULL-terminated) and a colon. */
bool migrate__has_scheme(const char *const *schemes, const char *url);
/* "sqlite, postgresql, mongodb": the built-in schemes of this build, for messages. */
const char *migrate__builtin_schemes(void);

/* The driver compiled into the library. */
extern const migrate_driver_t migrate__sqlite_driver;
/* The drivers of the modules (in the module, or the static library). */
extern const migrate_driver_t migrate__postgres_driver;
extern const migrate_driver_t migrate__mongo_driver;

#endif
