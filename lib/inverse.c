/*
 * Inverses for the down path. A step's explicit "down" wins; otherwise the
 * catalog's inverse is computed from the step itself. Steps that destroy
 * information (drop_*, backfill, many-to-one maps) have none.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct inv_list {
	migrate_step_t **steps;
	size_t n;
} inv_list;

static int push(inv_list *l, bson_t *doc, migrate_error_t *err)
{
	migrate_step_t **grown = migrate__realloc(l->steps, (l->n + 1) * sizeof *grown);
	migrate_step_t *s = grown ? migrate__step_new(doc) : NULL;

	bson_destroy(doc);
	if (grown)
		l->steps = grown;
	if (!s)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	l->steps[l->n++] = s;
	return 0;
}

int migrate__inverse_rename(const bson_t *d, bson_t *out)
{
	BSON_APPEND_UTF8(out, "op", migrate__doc_str(d, "op"));
	if (migrate__doc_str(d, "table"))
		BSON_APPEND_UTF8(out, "table", migrate__doc_str(d, "table"));
	BSON_APPEND_UTF8(out, "from", migrate__doc_str(d, "to"));
	BSON_APPEND_UTF8(out, "to", migrate__doc_str(d, "from"));
	return 0;
}

/* A drop_table that kept its table renamed it: the down renames it back. */
int migrate__inverse_drop_table(const bson_t *d, bson_t *out)
{
	if (!migrate__doc_str(d, "keep"))
		return MIGRATE_EIRREVERSIBLE;
	BSON_APPEND_UTF8(out, "op", "rename_table");
	BSON_APPEND_UTF8(out, "from", migrate__doc_str(d, "keep"));
	BSON_APPEND_UTF8(out, "to", migrate__doc_str(d, "table"));
	return 0;
}

/* Does a filter mention `column` anywhere? */
static bool filter_uses(const bson_t *f, const char *column)
{
	bson_iter_t it, sub;

	if (!bson_iter_init(&it, f))
		return false;
	while (bson_iter_next(&it)) {
		if (!strcmp(bson_iter_key(&it), column))
			return true;
		if ((BSON_ITER_HOLDS_ARRAY(&it) || BSON_ITER_HOLDS_DOCUMENT(&it)) && bson_iter_recurse(&it, &sub)) {
			while (bson_iter_next(&sub)) {
				bson_t inner;
				if (BSON_ITER_HOLDS_DOCUMENT(&sub)) {
					const uint8_t *data;
					uint32_t len;
					bson_iter_document(&sub, &len, &data);
					if (bson_init_static(&inner, data, len) && filter_uses(&inner, column))
						return true;
				}
			}
		}
	}
	return false;
}

/*
 * map_values {old: new} reverts as {new: old} when no two olds share a new
 * value, and the filter does not depend on the column being rewritten.
 */
size_t migrate__kept_columns(const bson_t *step, const char **out, size_t max)
{
	bson_t set;
	bson_iter_t it;
	size_t n = 0;

	if (migrate__doc_sub(step, "set", &set)) {
		bson_iter_init(&it, &set);
		while (n < max && bson_iter_next(&it))
			out[n++] = bson_iter_key(&it);
	} else if (max > 0 && migrate__doc_str(step, "column")) {
		out[n++] = migrate__doc_str(step, "column");
	}
	return n;
}

/*
 * A map_values or backfill with "keep": <table> saved the old values of the
 * columns it writes, keyed by the row's key, before writing them (a
 * drop_column, those of the column it drops); its inverse sets them back
 * from there (and drops the kept table), adding a dropped column back first.
 */
static int inverse_keep(const bson_t *d, bson_t *out)
{
	const char *cols[256];
	size_t n = migrate__kept_columns(d, cols, sizeof cols / sizeof cols[0]);
	bson_t arr, def;

	BSON_APPEND_UTF8(out, "op", "restore");
	BSON_APPEND_UTF8(out, "table", migrate__doc_str(d, "table"));
	BSON_APPEND_UTF8(out, "from", migrate__doc_str(d, "keep"));
	BSON_APPEND_ARRAY_BEGIN(out, "columns", &arr);
	for (size_t i = 0; i < n; i++) {
		char key[16];
		const char *k;
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
		BSON_APPEND_UTF8(&arr, k, cols[i]);
	}
	bson_append_array_end(out, &arr);
	/* A dropped column is added back first (drop_column's definition). */
	if (migrate__doc_sub(d, "definition", &def))
		BSON_APPEND_DOCUMENT(out, "definition", &def);
	return 0;
}

int migrate__inverse_backfill(const bson_t *d, bson_t *out)
{
	return bson_has_field(d, "keep") ? inverse_keep(d, out) : MIGRATE_EIRREVERSIBLE;
}

int migrate__inverse_drop_column(const bson_t *d, bson_t *out)
{
	return bson_has_field(d, "keep") ? inverse_keep(d, out) : MIGRATE_EIRREVERSIBLE;
}

int migrate__inverse_map_values(const bson_t *d, bson_t *out)
{
	bson_t map, where, inv;
	bson_iter_t it, o;
	migrate_buf_t *a, *b;

	if (bson_has_field(d, "keep"))
		return inverse_keep(d, out);
	migrate__doc_sub(d, "map", &map);
	if (migrate__doc_sub(d, "where", &where) && filter_uses(&where, migrate__doc_str(d, "column")))
		return MIGRATE_EIRREVERSIBLE;
	bson_iter_init(&it, &map);
	while (bson_iter_next(&it)) {
		if (!BSON_ITER_HOLDS_UTF8(&it))
			return MIGRATE_EIRREVERSIBLE; /* the inverse's keys must be strings */
		o = it;
		while (bson_iter_next(&o)) {
			bool same;
			a = migrate__buf_new(NULL);
			b = migrate__buf_new(NULL);
			migrate__json_value(&it, a);
			migrate__json_value(&o, b);
			same = !strcmp(a->str, b->str);
			migrate__buf_free(a, true);
			migrate__buf_free(b, true);
			if (same)
				return MIGRATE_EIRREVERSIBLE;
		}
	}
	BSON_APPEND_UTF8(out, "op", "map_values");
	BSON_APPEND_UTF8(out, "table", migrate__doc_str(d, "table"));
	BSON_APPEND_UTF8(out, "column", migrate__doc_str(d, "column"));
	BSON_APPEND_DOCUMENT_BEGIN(out, "map", &inv);
	bson_iter_init(&it, &map);
	while (bson_iter_next(&it))
		BSON_APPEND_UTF8(&inv, bson_iter_utf8(&it, NULL), bson_iter_key(&it));
	bson_append_document_end(out, &inv);
	if (bson_has_field(d, "where"))
		BSON_APPEND_DOCUMENT(out, "where", &where);
	if (bson_has_field(d, "batch_size"))
		BSON_APPEND_INT64(out, "batch_size", migrate__doc_int(d, "batch_size", 0));
	return 0;
}

int migrate__inverse_create_table(const bson_t *d, bson_t *out)
{
	BSON_APPEND_UTF8(out, "op", "drop_table");
	BSON_APPEND_UTF8(out, "table", migrate__doc_str(d, "table"));
	return 0;
}

int migrate__inverse_add_column(const bson_t *d, bson_t *out)
{
	bson_t col;

	migrate__doc_sub(d, "column", &col);
	BSON_APPEND_UTF8(out, "op", "drop_column");
	BSON_APPEND_UTF8(out, "table", migrate__doc_str(d, "table"));
	BSON_APPEND_UTF8(out, "column", migrate__doc_str(&col, "name"));
	return 0;
}

int migrate__inverse_create_index(const bson_t *d, bson_t *out)
{
	BSON_APPEND_UTF8(out, "op", "drop_index");
	BSON_APPEND_UTF8(out, "table", migrate__doc_str(d, "table"));
	BSON_APPEND_UTF8(out, "name", migrate__doc_str(d, "name"));
	return 0;
}

int migrate__inverse_create_enum(const bson_t *d, bson_t *out)
{
	BSON_APPEND_UTF8(out, "op", "drop_enum");
	BSON_APPEND_UTF8(out, "name", migrate__doc_str(d, "name"));
	return 0;
}

/* sql and command: the step's own `down` runs as the `up` of a step of the same op. */
int migrate__inverse_own_down(const bson_t *d, bson_t *out)
{
	bson_iter_t it;

	if (!migrate__doc_find(&it, d, "down"))
		return MIGRATE_EIRREVERSIBLE;
	BSON_APPEND_UTF8(out, "op", migrate__doc_str(d, "op"));
	bson_append_iter(out, "up", -1, &it);
	return 0;
}

/* An assert checks and changes nothing: it reverts as nothing. */
int migrate__inverse_assert(const bson_t *d, bson_t *out)
{
	(void)d;
	(void)out;
	return MIGRATE__INVERSE_EMPTY;
}

/* The catalog's computed inverse of `s`, pushed to `l`. */
static int computed(const migrate_step_t *s, inv_list *l, migrate_error_t *err)
{
	bson_t doc = BSON_INITIALIZER;
	int rc = MIGRATE_EIRREVERSIBLE;

	if (migrate__ops[s->op].inverse)
		rc = migrate__ops[s->op].inverse(&s->doc, &doc);
	if (rc == 0)
		return push(l, &doc, err);
	bson_destroy(&doc);
	return rc == MIGRATE__INVERSE_EMPTY ? 0 : rc;
}

static void free_list(inv_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		migrate__step_destroy(l->steps[i]);
	free(l->steps);
}

int migrate__step_inverse(const migrate_step_t *step, migrate_step_t ***out, size_t *n, migrate_error_t *err)
{
	inv_list l = {NULL, 0};
	bson_t down;
	bson_iter_t it;
	char place[512];
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (step->op == MIGRATE_OP_CUSTOM) {
		if (!step->custom_down)
			goto irreversible;
		return 0; /* the engine calls the down callback itself */
	}
	if (!(migrate__ops[step->op].flags & MIGRATE__OP_OWN_DOWN) && migrate__doc_sub(&step->doc, "down", &down)) {
		bson_iter_init(&it, &down);
		while (rc == 0 && bson_iter_next(&it)) {
			bson_t sub, copy;
			const uint8_t *data;
			uint32_t len;
			bson_iter_document(&it, &len, &data);
			bson_init_static(&sub, data, len);
			bson_copy_to(&sub, &copy);
			rc = push(&l, &copy, err);
		}
	} else {
		rc = computed(step, &l, err);
	}
	if (rc == MIGRATE_EIRREVERSIBLE)
		goto irreversible;
	if (rc) {
		free_list(&l);
		return rc;
	}
	for (rc = 0; (size_t)rc < l.n; rc++) {
		l.steps[rc]->version = step->version;
		l.steps[rc]->index = step->index;
	}
	*out = l.steps;
	*n = l.n;
	return 0;
irreversible:
	free_list(&l);
	migrate__step_place(step, place, sizeof place);
	return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EIRREVERSIBLE,
			    "%s: cannot be reverted: the step has no inverse; give it an explicit down", place);
}
