/*
 * The op catalog: one row per op of docs/steps.md, indexed by migrate_op_t.
 * A row names the op, the fields it may have, its validator (step.c), its
 * computed inverse (inverse.c) and its checksum form (checksum.c). Each
 * driver has a table of the same shape for lowering (see lowering.c and the
 * `ops` table of lib/<driver>/). Adding an op is one row here and one row
 * per driver.
 */
#include <string.h>

#include "internal.h"

#define COMMON "op", "down"
static const char *const k_create_table[] = {COMMON, "table", "columns", "primary_key", "validate", NULL};
static const char *const k_drop_table[] = {COMMON, "table", "keep", NULL};
static const char *const k_from_to[] = {COMMON, "from", "to", NULL};
static const char *const k_add_column[] = {COMMON, "table", "column", NULL};
static const char *const k_drop_column[] = {COMMON, "table", "column", "keep", "definition", NULL};
static const char *const k_rename_column[] = {COMMON, "table", "from", "to", NULL};
static const char *const k_create_index[] = {COMMON, "table", "name", "keys", "unique", "where", "online", NULL};
static const char *const k_drop_index[] = {COMMON, "table", "name", NULL};
static const char *const k_create_enum[] = {COMMON, "name", "values", NULL};
static const char *const k_drop_enum[] = {COMMON, "name", NULL};
static const char *const k_map_values[] = {COMMON, "table", "column", "map", "where", "batch_size", "keep", NULL};
static const char *const k_backfill[] = {COMMON, "table", "set", "where", "batch_size", "keep", NULL};
static const char *const k_restore[] = {COMMON, "table", "from", "columns", "definition", NULL};
static const char *const k_own_down[] = {"op", "up", "down", "declares", NULL};
static const char *const k_assert[] = {"op",  "count",   "unique", "no_match", "exists",
				       "sql", "command", "expect", "message",  NULL};
static const char *const k_custom[] = {"op", "name", "revision", "declares", NULL};

/* A command's documents are read by the server in order: their key order counts. */
static const char *const keep_command[] = {"up", "down", NULL};
static const char *const keep_assert[] = {"command", "expect", NULL};

static const char *const k_none[] = {NULL};

const migrate__op_spec migrate__ops[MIGRATE_OP_COUNT] = {
	/* Only in messages about a step built outside validation. */
	[MIGRATE_OP_UNKNOWN] = {"(unknown op)", k_none, NULL, NULL, NULL, NULL, 0, NULL},
	[MIGRATE_OP_CREATE_TABLE] = {"create_table", k_create_table, migrate__validate_create_table,
				     migrate__inverse_create_table, migrate__canonical_create_table, NULL,
				     MIGRATE__OP_SCHEMA, NULL},
	/* With "keep", a rename to the kept name (migrate__drop_kept_as_rename). */
	[MIGRATE_OP_DROP_TABLE] = {"drop_table", k_drop_table, migrate__validate_drop_table,
				   migrate__inverse_drop_table, NULL, NULL, MIGRATE__OP_SCHEMA, "the rows it dropped"},
	[MIGRATE_OP_RENAME_TABLE] = {"rename_table", k_from_to, migrate__validate_from_to, migrate__inverse_rename,
				     NULL, NULL, MIGRATE__OP_SCHEMA, NULL},
	[MIGRATE_OP_ADD_COLUMN] = {"add_column", k_add_column, migrate__validate_add_column,
				   migrate__inverse_add_column, migrate__canonical_add_column, NULL, MIGRATE__OP_SCHEMA,
				   NULL},
	[MIGRATE_OP_DROP_COLUMN] = {"drop_column", k_drop_column, migrate__validate_drop_column,
				    migrate__inverse_drop_column, NULL, NULL, MIGRATE__OP_SCHEMA,
				    "the values it dropped"},
	[MIGRATE_OP_RENAME_COLUMN] = {"rename_column", k_rename_column, migrate__validate_rename_column,
				      migrate__inverse_rename, NULL, NULL, MIGRATE__OP_SCHEMA, NULL},
	[MIGRATE_OP_CREATE_INDEX] = {"create_index", k_create_index, migrate__validate_create_index,
				     migrate__inverse_create_index, migrate__canonical_create_index, NULL,
				     MIGRATE__OP_SCHEMA, NULL},
	[MIGRATE_OP_DROP_INDEX] = {"drop_index", k_drop_index, migrate__validate_drop_index, NULL, NULL, NULL,
				   MIGRATE__OP_SCHEMA, NULL},
	[MIGRATE_OP_CREATE_ENUM] = {"create_enum", k_create_enum, migrate__validate_create_enum,
				    migrate__inverse_create_enum, NULL, NULL, MIGRATE__OP_SCHEMA, NULL},
	[MIGRATE_OP_DROP_ENUM] = {"drop_enum", k_drop_enum, migrate__validate_drop_enum, NULL, NULL, NULL,
				  MIGRATE__OP_SCHEMA, NULL},
	[MIGRATE_OP_MAP_VALUES] = {"map_values", k_map_values, migrate__validate_map_values,
				   migrate__inverse_map_values, NULL, NULL, 0, "the values it mapped"},
	[MIGRATE_OP_BACKFILL] = {"backfill", k_backfill, migrate__validate_backfill, migrate__inverse_backfill, NULL,
				 NULL, 0, "the values it overwrote"},
	[MIGRATE_OP_SQL] = {"sql", k_own_down, migrate__validate_sql, migrate__inverse_own_down, NULL, NULL,
			    MIGRATE__OP_OWN_DOWN, NULL},
	[MIGRATE_OP_COMMAND] = {"command", k_own_down, migrate__validate_command, migrate__inverse_own_down, NULL,
				keep_command, MIGRATE__OP_OWN_DOWN, NULL},
	[MIGRATE_OP_ASSERT] = {"assert", k_assert, migrate__validate_assert, migrate__inverse_assert, NULL, keep_assert,
			       0, NULL},
	/* A custom step's inverse is its down callback, which the engine calls itself. */
	[MIGRATE_OP_CUSTOM] = {"custom", k_custom, migrate__validate_custom, NULL, NULL, NULL, 0, NULL},
	/* The computed inverse of a map_values, backfill or drop_column that keeps what it overwrites. */
	[MIGRATE_OP_RESTORE] = {"restore", k_restore, migrate__validate_restore, NULL, NULL, NULL, 0, NULL},
};

bool migrate__drop_kept_as_rename(migrate_op_t op, const bson_t *d, bson_t *out)
{
	const char *keep = op == MIGRATE_OP_DROP_TABLE ? migrate__doc_str(d, "keep") : NULL;

	if (!keep)
		return false;
	bson_init(out);
	BSON_APPEND_UTF8(out, "op", "rename_table");
	BSON_APPEND_UTF8(out, "from", migrate__doc_str(d, "table"));
	BSON_APPEND_UTF8(out, "to", keep);
	return true;
}

const migrate_step_t *migrate__driver_step(const migrate_step_t *s, migrate_step_t *tmp)
{
	if (!migrate__drop_kept_as_rename(s->op, &s->doc, &tmp->doc))
		return s;
	tmp->op = MIGRATE_OP_RENAME_TABLE;
	tmp->custom_up = tmp->custom_down = NULL;
	tmp->custom_payload = NULL;
	tmp->version = s->version;
	tmp->index = s->index;
	return tmp;
}

void migrate__driver_step_done(const migrate_step_t *given, migrate_step_t *tmp)
{
	if (given == tmp)
		bson_destroy(&tmp->doc);
}

migrate_op_t migrate__op_find(const char *name)
{
	int op;

	for (op = 1; name && op < MIGRATE_OP_COUNT; op++)
		if (migrate__streq(migrate__ops[op].name, name))
			return (migrate_op_t)op;
	return MIGRATE_OP_UNKNOWN;
}

bool migrate__op_has_key(migrate_op_t op, const char *key)
{
	const char *const *k;

	if (op <= MIGRATE_OP_UNKNOWN || op >= MIGRATE_OP_COUNT)
		return false;
	for (k = migrate__ops[op].keys; *k; k++)
		if (strcmp(*k, key) == 0)
			return true;
	return false;
}

const char *migrate_op_name(migrate_op_t op)
{
	return op > MIGRATE_OP_UNKNOWN && op < MIGRATE_OP_COUNT ? migrate__ops[op].name : NULL;
}
