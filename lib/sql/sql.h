/*
 * Shared SQL lowering for the SQL drivers (SQLite, PostgreSQL).
 *
 * A dialect describes what differs between databases: placeholders,
 * portable types, defaults, literals, casts to text, and three hooks (array
 * lengths, enum columns, the catalog query of assert exists). A
 * migrate_sql_t is a statement under construction: its text and the values
 * bound to its placeholders, in order. The lowering helpers append
 * to one and never splice a value into the text, except in literal mode,
 * which exists for the places where a database cannot take parameters (DDL
 * defaults, partial index predicates); there values are rendered as
 * properly escaped literals.
 *
 * Identifiers are always quoted ("name", with '"' doubled). Steps reach these
 * helpers validated by the engine; the helpers still refuse what they cannot
 * render safely (a string with an embedded NUL, a non-finite number).
 */
#ifndef MIGRATE_SQL_H
#define MIGRATE_SQL_H

#include "internal.h"

/* Placeholder styles. */
#define MIGRATE_SQL_PARAM_QMARK 0  /* ?, bound in order */
#define MIGRATE_SQL_PARAM_DOLLAR 1 /* $1, $2 ... */

/* The portable column types, indexes into migrate_sql_dialect_t.types. */
typedef enum migrate_sql_type {
	MIGRATE_SQL_TEXT = 0,
	MIGRATE_SQL_INTEGER,
	MIGRATE_SQL_BIGINT,
	MIGRATE_SQL_DOUBLE,
	MIGRATE_SQL_BOOLEAN,
	MIGRATE_SQL_UUID,
	MIGRATE_SQL_JSON,
	MIGRATE_SQL_TIMESTAMP,
	MIGRATE_SQL_BYTES,
	MIGRATE_SQL_TYPE_COUNT
} migrate_sql_type_t;

typedef struct migrate_sql migrate_sql_t;

typedef struct migrate_sql_dialect {
	const char *name;                          /* "sqlite", "postgres" */
	int param_style;                           /* MIGRATE_SQL_PARAM_* */
	const char *types[MIGRATE_SQL_TYPE_COUNT]; /* SQL type of each portable type */
	const char *default_now;                   /* DEFAULT expression for "now", parenthesised if needed */
	const char *default_uuid;                  /* DEFAULT expression for "uuid" */
	const char *true_literal;                  /* "1" / "TRUE" */
	const char *false_literal;                 /* "0" / "FALSE" */
	/*
	 * Appends the length of the array held in column `column` of `table`
	 * (unqualified in the statement), 0 when it is NULL or not an array.
	 */
	int (*array_length)(migrate_sql_t *q, const char *table, const char *column, migrate_error_t *err);
	/*
	 * Appends the type of column `column` declared as enum:<enum_name>,
	 * with any column constraint it needs (SQLite: TEXT CONSTRAINT ... CHECK
	 * (...)). NULL: enums are refused. q->ctx is the driver's state.
	 */
	int (*enum_column)(migrate_sql_t *q, const char *enum_name, const char *column, migrate_error_t *err);
	/*
	 * Follows a column compared with, or joined into, text: "::text" where
	 * other types do not compare with a text parameter (PostgreSQL), ""
	 * where the column's affinity converts the text (SQLite).
	 */
	const char *text_cast;
	/*
	 * Appends the catalog query of an assert exists: its first value is
	 * true (non-zero) when `table` exists, or its column `column` or its
	 * index `index` (NULL when not asked for).
	 */
	int (*exists_query)(migrate_sql_t *q, const char *table, const char *column, const char *index,
			    migrate_error_t *err);
} migrate_sql_dialect_t;

/*
 * A statement under construction. It holds a bson_t, which libbson declares
 * 128-byte aligned: keep it on the stack, or allocate it with
 * aligned_alloc(_Alignof(migrate_sql_t), ...), not with plain malloc.
 */
struct migrate_sql {
	const migrate_sql_dialect_t *d;
	migrate_buf_t *text; /* the SQL text */
	bson_t params;       /* bound values, an array: "0", "1" ... in placeholder order */
	uint32_t nparams;
	int literal; /* non-zero: values are rendered as literals, not bound */
	void *ctx;   /* the driver's state, for the dialect hooks */
};

void migrate__sql_init(migrate_sql_t *q, const migrate_sql_dialect_t *d, void *ctx);
/* Empties text and parameters for the next statement; keeps d, ctx, literal. */
void migrate__sql_reset(migrate_sql_t *q);
void migrate__sql_free(migrate_sql_t *q);
/* The text so far, borrowed. */
const char *migrate__sql_text(const migrate_sql_t *q);

void migrate__sql_append(migrate_sql_t *q, const char *s);
void migrate__sql_printf(migrate_sql_t *q, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* Appends a quoted identifier: "na""me". */
void migrate__sql_ident(migrate_sql_t *q, const char *name);
/* Appends "a"<suffix>, "b"<suffix> ... for n names (key lists, ORDER BY). */
void migrate__sql_ident_list(migrate_sql_t *q, char *const *names, size_t n, const char *suffix);
/* The same on a plain string. */
void migrate__sql_quote_ident(migrate_buf_t *out, const char *name);
/* Appends a quoted string literal: 'it''s'. MIGRATE_EPLAN if `s` holds a NUL. */
int migrate__sql_quote_string(migrate_buf_t *out, const char *s, size_t len, migrate_error_t *err);

/*
 * Appends a value: a placeholder with the value bound, or in literal mode
 * the escaped literal. Objects and arrays become their JSON text; booleans
 * follow the dialect (bound as booleans, rendered with true/false_literal).
 */
int migrate__sql_value(migrate_sql_t *q, const bson_iter_t *it, migrate_error_t *err);
/* Appends a placeholder bound to an int64 / a string (never a literal). */
void migrate__sql_param_int(migrate_sql_t *q, int64_t v);
void migrate__sql_param_str(migrate_sql_t *q, const char *s);
/* Renders one value as a literal (DDL defaults, partial indexes). */
int migrate__sql_literal(const migrate_sql_dialect_t *d, migrate_buf_t *out, const bson_iter_t *it,
			 migrate_error_t *err);

/* The portable type's index, or -1. */
int migrate__sql_type_index(const char *portable);

/*
 * Appends a filter (docs/steps.md "Filters") as a parenthesised boolean
 * expression. `qualifier` (may be NULL) prefixes every column: "t"."col".
 * An empty or NULL filter appends the always-true expression.
 * Semantics follow MongoDB where SQL differs: $ne and $nin also match NULL,
 * {"col": null} is IS NULL.
 */
int migrate__sql_where(migrate_sql_t *q, const bson_t *filter, const char *qualifier, migrate_error_t *err);

/*
 * Appends a backfill expression (docs/steps.md) computing a value for a row
 * of `table`: value → bound parameter, column, array_length (through the
 * dialect hook), count → correlated subquery, sql → (raw). "mongo" and
 * unknown forms are MIGRATE_EUNSUPPORTED.
 */
int migrate__sql_expr(migrate_sql_t *q, const bson_t *expr, const char *table, migrate_error_t *err);

/*
 * A count of a backfill's `set` whose match is one column of the counted
 * table paired with `key`, a column of the step's table, and nothing else:
 * the set column it computes, the counted table and its column matched to
 * `key` (borrowed from `step`), and the count's object.
 * migrate__sql_count_keyed finds the first such count; false if none.
 */
typedef struct migrate_sql_count {
	const char *column;
	const char *table;
	const char *matched;
	bson_iter_t count;
} migrate_sql_count_t;
bool migrate__sql_count_keyed(const bson_t *step, const char *key, migrate_sql_count_t *out);

/*
 * Appends that count's rows as the right side of a join with the step's
 * table aliased `row`: "other" AS <alias> ON <alias>."x" = <row>."y" AND
 * ... AND <the count's where>. `table` names the step's table in errors.
 */
int migrate__sql_count_join(migrate_sql_t *q, const migrate_sql_count_t *c, const char *table, const char *row,
			    const char *alias, migrate_error_t *err);

/*
 * backfill and map_values (docs/steps.md) read `step`, their document. The
 * head of their UPDATE, up to its WHERE: UPDATE "t" SET "col" = <expression>,
 * ... for backfill; SET "col" = CASE WHEN "col" = <old> THEN <new> ... ELSE
 * "col" END for map_values. The caller appends its key range, if any, and
 * migrate__sql_row_filter.
 */
int migrate__sql_update_head(migrate_sql_t *q, const bson_t *step, migrate_error_t *err);
/*
 * UPDATE "t" SET ..., without the WHERE: the set column `given` (may be
 * NULL) is set to `value`, SQL appended as is, instead of its expression
 * (a count the caller lowers as a join, in a FROM it appends).
 */
int migrate__sql_update_set(migrate_sql_t *q, const bson_t *step, const char *given, const char *value,
			    migrate_error_t *err);

/*
 * The rows they update, as a boolean expression: the step's `where` (or
 * (1 = 1)), and for map_values only rows holding one of the old values
 * ("col" IN (...)).
 */
int migrate__sql_row_filter(migrate_sql_t *q, const bson_t *step, migrate_error_t *err);

/*
 * "keep" of a map_values or backfill (update.c): the kept table holds the
 * row key (`keys`, the driver's batching key) and the old values of the
 * columns the step writes, one row per row written, unique on the key.
 *
 * keep_create: CREATE TABLE IF NOT EXISTS <keep> AS SELECT <keys>, <cols>
 * FROM <table> WHERE 1 = 0, then keep_index: CREATE UNIQUE INDEX IF NOT
 * EXISTS <keep>__migrate_key ON <keep> (<keys>) (a hashed name past 63 bytes). keep_insert: INSERT INTO <keep>
 * (<keys>, <cols>) SELECT <keys>, <cols> FROM <table> WHERE ; the caller
 * appends the batch's conditions (those of its UPDATE), then keep_tail:
 * ON CONFLICT DO NOTHING, so that a batch done again keeps the first old
 * values.
 */
void migrate__sql_keep_create(migrate_sql_t *q, const bson_t *step, char *const *keys, size_t nkeys);
void migrate__sql_keep_index(migrate_sql_t *q, const bson_t *step, char *const *keys, size_t nkeys);
void migrate__sql_keep_insert(migrate_sql_t *q, const bson_t *step, char *const *keys, size_t nkeys);
void migrate__sql_keep_tail(migrate_sql_t *q);
/*
 * restore: UPDATE <table> SET <col> = k.<col>, ... FROM <from> AS k WHERE
 * <table>.<key> = k.<key> AND ..., the key being the kept table's columns
 * other than the restored ones.
 */
void migrate__sql_restore(migrate_sql_t *q, const bson_t *step, char *const *keys, size_t nkeys);
/* Whether `name` is one of a restore step's columns (the kept table's others are its key). */
bool migrate__sql_restored(const bson_t *step, const char *name);
/* The add_column step of a restore's "definition" (a dropped column added back), in `add`; false without one. */
bool migrate__sql_restore_add(const bson_t *step, bson_t *add);

/*
 * Appends the query of an assertion: `kind` is count, no_match, unique or
 * exists, `arg` its object (docs/steps.md "assert").
 *   count     SELECT count(*) FROM "t" WHERE <where>
 *   no_match  SELECT EXISTS (SELECT 1 FROM "t" WHERE <where>)
 *   unique    one row per group of rows sharing the columns' values (rows
 *             with a NULL among them never collide, as in a unique index):
 *             the values joined as text, then the group's size
 *   exists    the dialect's exists_query
 * Other kinds are MIGRATE_EUNSUPPORTED.
 */
int migrate__sql_assert_query(migrate_sql_t *q, const char *kind, const bson_t *arg, migrate_error_t *err);

/* Appends the DEFAULT expression of a column's "default" (the value at `it`). */
int migrate__sql_default(migrate_sql_t *q, const bson_iter_t *it, migrate_error_t *err);

/* Appends one column definition: "name" TYPE [NOT NULL] [DEFAULT ...] [UNIQUE] [REFERENCES ...]. */
int migrate__sql_column_def(migrate_sql_t *q, const bson_t *column, migrate_error_t *err);

/*
 * Appends CREATE TABLE for a create_table step. `name` (may be NULL)
 * replaces the step's table name (the SQLite table rebuild uses it).
 */
int migrate__sql_create_table(migrate_sql_t *q, const bson_t *step, const char *name, migrate_error_t *err);

/* Appends ALTER TABLE "t" ADD COLUMN <column def>. */
int migrate__sql_add_column(migrate_sql_t *q, const char *table, const bson_t *column, migrate_error_t *err);

/*
 * Appends CREATE [UNIQUE] INDEX [<modifier>] [IF NOT EXISTS] "name" ON
 * "table" (keys) [WHERE <literal filter>] for a create_index step.
 * `modifier` is NULL or, for PostgreSQL, "CONCURRENTLY".
 */
int migrate__sql_create_index(migrate_sql_t *q, const bson_t *step, const char *modifier, int if_not_exists,
			      migrate_error_t *err);

/* The ON DELETE action of a references.on_delete value, or NULL if unknown. */
const char *migrate__sql_on_delete(const char *action);

/*
 * Reads the string at `key` of `doc`: NULL (with MIGRATE_EPLAN in `err`)
 * when absent, not a string, empty, or holding a NUL.
 */
const char *migrate__sql_doc_ident(const bson_t *doc, const char *key, migrate_error_t *err);

/*
 * Drift detection (schema.c). Appends the catalog's spelling of a plan
 * column's type: `names` per portable type, `enum_type` for enum:<name>
 * (NULL: "enum:<name>" itself), the raw {"sql": ...} type as written when
 * `raw_types`, else nothing (not compared).
 */
void migrate__sql_schema_type(const char *const *names, const char *enum_type, bool raw_types, const bson_t *column,
			      migrate_buf_t *out);
/* Appends the fields of the catalog query's JSON answer to `out`. */
int migrate__sql_schema_parse(const char *json, bson_t *out, migrate_error_t *err);
/* The `wanted` document as JSON, the catalog query's parameter (caller frees). */
char *migrate__sql_schema_wanted(const bson_t *wanted);

#endif
