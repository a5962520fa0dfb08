/*
 * The schema model: what the applied versions of a plan leave behind,
 * replayed from their typed steps in id order (schema.c compares it with
 * the live catalog). Raw steps (sql, command, custom) are opaque: every
 * table and enum that exists when one runs becomes "open", checked from
 * then on only for being missing, since the raw step may have added to it
 * or changed it. A typed step on a table the model does not know (one a
 * raw step made) adds an open table holding what the step says. A raw step
 * that declares what it made ("declares": schema steps) is replayed as
 * those steps instead, and the model stays complete.
 *
 * Allocation failures are sticky (m->oom) and checked once at the end.
 */
#include <stdlib.h>
#include <string.h>

#include "schema.h"

/* Grows *v (of `size`-byte elements, *cap of them) to hold n + 1; false on failure. */
static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *p;

	if (n < *cap)
		return true;
	c = *cap ? *cap * 2 : 8;
	p = migrate__realloc(*v, c * size);
	if (!p)
		return false;
	*v = p;
	*cap = c;
	return true;
}

static char *sdup(migrate__schema *m, const char *s)
{
	char *d = migrate__strdup(s ? s : "");

	if (!d)
		m->oom = true;
	return d;
}

static void col_free(migrate__scol *c)
{
	free(c->name);
	if (c->doc)
		bson_destroy(c->doc);
}

static void idx_free(migrate__sidx *x)
{
	size_t i;

	free(x->name);
	for (i = 0; i < x->nkeys; i++)
		free(x->keys[i]);
	free(x->keys);
	free(x->desc);
}

static void strs_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void table_free(migrate__stable *t)
{
	size_t i;

	free(t->name);
	for (i = 0; i < t->ncols; i++)
		col_free(&t->cols[i]);
	free(t->cols);
	for (i = 0; i < t->nidx; i++)
		idx_free(&t->idx[i]);
	free(t->idx);
	strs_free(t->pk, t->npk);
	strs_free(t->ignored, t->nignored);
}

static void enum_free(migrate__senum *e)
{
	free(e->name);
	strs_free(e->values, e->nvalues);
}

void migrate__schema_free(migrate__schema *m)
{
	size_t i;

	for (i = 0; i < m->ntables; i++)
		table_free(&m->tables[i]);
	free(m->tables);
	for (i = 0; i < m->nenums; i++)
		enum_free(&m->enums[i]);
	free(m->enums);
	memset(m, 0, sizeof *m);
}

/*
 * Every element type of the model (table, column, index, enum) starts with
 * its `char *name`: one lookup and one removal serve them all.
 */
static void *find_named(void *base, size_t n, size_t size, const char *name, size_t *pos)
{
	char *p = base;
	size_t i;

	for (i = 0; name && i < n; i++, p += size)
		if (!strcmp(*(char **)(void *)p, name)) {
			if (pos)
				*pos = i;
			return p;
		}
	return NULL;
}
#define FIND(arr, n, name, pos) find_named((arr), (n), sizeof *(arr), (name), (pos))

/* Removes element `pos` (already freed) of an array of *n. */
static void remove_at(void *base, size_t *n, size_t pos, size_t size)
{
	char *p = base;

	memmove(p + pos * size, p + (pos + 1) * size, (*n - pos - 1) * size);
	(*n)--;
}
#define REMOVE(arr, n, pos) remove_at((arr), &(n), (pos), sizeof *(arr))

migrate__stable *migrate__schema_table(migrate__schema *m, const char *name)
{
	return FIND(m->tables, m->ntables, name, NULL);
}

/* Appends a copy of `s` to a list of names. */
static void push_str(migrate__schema *m, char ***v, size_t *n, size_t *cap, const char *s)
{
	char *d;

	if (!grow((void **)v, cap, *n, sizeof **v)) {
		m->oom = true;
		return;
	}
	if ((d = sdup(m, s)))
		(*v)[(*n)++] = d;
}

/* The strings of a BSON array into a list of names. */
static void push_strs(migrate__schema *m, const bson_t *doc, const char *key, char ***v, size_t *n, size_t *cap)
{
	bson_t arr;
	bson_iter_t it;

	if (!migrate__doc_sub(doc, key, &arr) || !bson_iter_init(&it, &arr))
		return;
	while (bson_iter_next(&it))
		if (BSON_ITER_HOLDS_UTF8(&it))
			push_str(m, v, n, cap, bson_iter_utf8(&it, NULL));
}

static migrate__stable *add_table(migrate__schema *m, const char *name, uint64_t version, bool open)
{
	migrate__stable *t;

	if (!grow((void **)&m->tables, &m->captables, m->ntables, sizeof *m->tables)) {
		m->oom = true;
		return NULL;
	}
	t = &m->tables[m->ntables];
	memset(t, 0, sizeof *t);
	if (!(t->name = sdup(m, name)))
		return NULL;
	t->version = version;
	t->open = open;
	t->pk_known = !open;
	m->ntables++;
	return t;
}

/* The table a typed step names: the model's, or a new open one (a raw step made it). */
static migrate__stable *step_table(migrate__schema *m, const char *name, uint64_t version)
{
	migrate__stable *t = migrate__schema_table(m, name);

	return t ? t : add_table(m, name, version, true);
}

static void add_col(migrate__schema *m, migrate__stable *t, const bson_t *col, uint64_t version)
{
	migrate__scol *c;
	size_t pos;

	if ((c = FIND(t->cols, t->ncols, migrate__doc_str(col, "name"), &pos))) {
		col_free(c);
		REMOVE(t->cols, t->ncols, pos);
	}
	if (!grow((void **)&t->cols, &t->capcols, t->ncols, sizeof *t->cols)) {
		m->oom = true;
		return;
	}
	c = &t->cols[t->ncols];
	memset(c, 0, sizeof *c);
	c->version = version;
	if (!(c->name = sdup(m, migrate__doc_str(col, "name"))))
		return;
	if (!(c->doc = bson_copy(col))) {
		free(c->name);
		m->oom = true;
		return;
	}
	t->ncols++;
}

static void drop_table(migrate__schema *m, const char *name);

static void create_table(migrate__schema *m, const bson_t *s, uint64_t version)
{
	const char *name = migrate__doc_str(s, "table");
	migrate__stable *t;
	size_t cap = 0;
	bson_t cols, col;
	bson_iter_t it;

	drop_table(m, name); /* made again (a raw step dropped it): start afresh */
	if (!(t = add_table(m, name, version, false)))
		return;
	if (migrate__doc_sub(s, "columns", &cols) && bson_iter_init(&it, &cols))
		while (bson_iter_next(&it))
			if (BSON_ITER_HOLDS_DOCUMENT(&it) && migrate__doc_sub(&cols, bson_iter_key(&it), &col))
				add_col(m, t, &col, version);
	push_strs(m, s, "primary_key", &t->pk, &t->npk, &cap);
}

static void drop_table(migrate__schema *m, const char *name)
{
	migrate__stable *t = migrate__schema_table(m, name);
	size_t pos;

	if (!t)
		return;
	pos = (size_t)(t - m->tables);
	table_free(t);
	REMOVE(m->tables, m->ntables, pos);
}

static void rename_table(migrate__schema *m, const char *from, const char *name, uint64_t version)
{
	migrate__stable *t = migrate__schema_table(m, from);
	char *to;

	if (!t)
		return;
	drop_table(m, name);
	t = migrate__schema_table(m, from);
	if (!t || !(to = sdup(m, name)))
		return;
	free(t->name);
	t->name = to;
	t->version = version;
}

/* Whether an index has `column` among its keys. */
static bool idx_uses(const migrate__sidx *x, const char *column)
{
	size_t i;

	for (i = 0; i < x->nkeys; i++)
		if (!strcmp(x->keys[i], column))
			return true;
	return false;
}

/*
 * A dropped column takes its indexes with it on some databases and not on
 * others (MongoDB keeps them): they leave the model, and their names are
 * not reported as extra either.
 */
static void drop_column(migrate__schema *m, migrate__stable *t, const char *name)
{
	size_t i, pos, cap = t->nignored;
	migrate__scol *c = FIND(t->cols, t->ncols, name, &pos);

	if (c) {
		col_free(c);
		REMOVE(t->cols, t->ncols, pos);
	}
	for (i = 0; i < t->nidx;) {
		if (!idx_uses(&t->idx[i], name)) {
			i++;
			continue;
		}
		push_str(m, &t->ignored, &t->nignored, &cap, t->idx[i].name);
		idx_free(&t->idx[i]);
		REMOVE(t->idx, t->nidx, i);
	}
	for (i = 0; i < t->npk; i++)
		if (!strcmp(t->pk[i], name))
			t->pk_known = false; /* the primary key went with it, or the drop was refused */
}

/* Replaces `from` by `to` in a list of names. */
static void rename_in(migrate__schema *m, char **v, size_t n, const char *from, const char *to)
{
	size_t i;
	char *d;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], from) && (d = sdup(m, to))) {
			free(v[i]);
			v[i] = d;
		}
}

static void rename_column(migrate__schema *m, migrate__stable *t, const bson_t *s, uint64_t version)
{
	const char *from = migrate__doc_str(s, "from"), *to = migrate__doc_str(s, "to");
	migrate__scol *c = FIND(t->cols, t->ncols, from, NULL);
	size_t i;
	char *d;

	if (c && (d = sdup(m, to))) {
		free(c->name);
		c->name = d;
		c->version = version;
	}
	for (i = 0; i < t->nidx; i++)
		rename_in(m, t->idx[i].keys, t->idx[i].nkeys, from, to);
	rename_in(m, t->pk, t->npk, from, to);
}

static void create_index(migrate__schema *m, migrate__stable *t, const bson_t *s, uint64_t version)
{
	const char *name = migrate__doc_str(s, "name");
	migrate__sidx *x;
	bson_t keys, key;
	bson_iter_t it;
	size_t n = 0, pos;

	if ((x = FIND(t->idx, t->nidx, name, &pos))) {
		idx_free(x);
		REMOVE(t->idx, t->nidx, pos);
	}
	if (!grow((void **)&t->idx, &t->capidx, t->nidx, sizeof *t->idx)) {
		m->oom = true;
		return;
	}
	x = &t->idx[t->nidx];
	memset(x, 0, sizeof *x);
	x->version = version;
	x->unique = migrate__doc_bool(s, "unique", false);
	x->where = migrate__doc_sub(s, "where", &key);
	if (!(x->name = sdup(m, name)))
		return;
	t->nidx++;
	if (!migrate__doc_sub(s, "keys", &keys) || !bson_iter_init(&it, &keys))
		return;
	n = bson_count_keys(&keys);
	x->keys = migrate__calloc(n + 1, sizeof *x->keys);
	x->desc = migrate__calloc(n + 1, sizeof *x->desc);
	if (!x->keys || !x->desc) {
		m->oom = true;
		return;
	}
	while (bson_iter_next(&it) && x->nkeys < n) {
		const char *order;
		if (!BSON_ITER_HOLDS_DOCUMENT(&it) || !migrate__doc_sub(&keys, bson_iter_key(&it), &key))
			continue;
		order = migrate__doc_str(&key, "order");
		x->desc[x->nkeys] = order && !strcmp(order, "desc");
		if (!(x->keys[x->nkeys] = sdup(m, migrate__doc_str(&key, "column"))))
			return;
		x->nkeys++;
	}
}

static void create_enum(migrate__schema *m, const bson_t *s, uint64_t version)
{
	const char *name = migrate__doc_str(s, "name");
	migrate__senum *e;
	size_t pos, cap = 0;

	if ((e = FIND(m->enums, m->nenums, name, &pos))) {
		enum_free(e);
		REMOVE(m->enums, m->nenums, pos);
	}
	if (!grow((void **)&m->enums, &m->capenums, m->nenums, sizeof *m->enums)) {
		m->oom = true;
		return;
	}
	e = &m->enums[m->nenums];
	memset(e, 0, sizeof *e);
	e->version = version;
	if (!(e->name = sdup(m, name)))
		return;
	m->nenums++;
	push_strs(m, s, "values", &e->values, &e->nvalues, &cap);
}

static void drop_enum(migrate__schema *m, const char *name)
{
	size_t pos;
	migrate__senum *e = FIND(m->enums, m->nenums, name, &pos);

	if (!e)
		return;
	enum_free(e);
	REMOVE(m->enums, m->nenums, pos);
}

/* A raw step: everything that exists now may have been changed by it. */
static void raw_step(migrate__schema *m, uint64_t version)
{
	size_t i;

	for (i = 0; i < m->ntables; i++)
		m->tables[i].open = true;
	for (i = 0; i < m->nenums; i++)
		m->enums[i].open = true;
	m->partial = version;
}

static void replay_doc(migrate__schema *m, migrate_op_t op, const bson_t *s, uint64_t version);

/*
 * A raw step that declares what it made (docs/steps.md, "declares"): its
 * declared schema steps, as if they had run; one without: raw_step().
 */
static void replay_raw(migrate__schema *m, const bson_t *s, uint64_t version)
{
	bson_iter_t it, list;

	if (!migrate__doc_find(&it, s, "declares") || !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &list)) {
		raw_step(m, version);
		return;
	}
	while (bson_iter_next(&list)) {
		const uint8_t *data;
		uint32_t len;
		bson_t d;
		if (!BSON_ITER_HOLDS_DOCUMENT(&list))
			continue;
		bson_iter_document(&list, &len, &data);
		if (bson_init_static(&d, data, len))
			replay_doc(m, migrate__op_find(migrate__doc_str(&d, "op")), &d, version);
	}
}

static void replay_doc(migrate__schema *m, migrate_op_t op, const bson_t *s, uint64_t version)
{
	migrate__stable *t = NULL;
	bson_t col;

	switch (op) {
	case MIGRATE_OP_CREATE_TABLE: create_table(m, s, version); break;
	case MIGRATE_OP_DROP_TABLE:
		/* One that keeps renames the table to the kept name. */
		if (migrate__doc_str(s, "keep"))
			rename_table(m, migrate__doc_str(s, "table"), migrate__doc_str(s, "keep"), version);
		else
			drop_table(m, migrate__doc_str(s, "table"));
		break;
	case MIGRATE_OP_RENAME_TABLE:
		rename_table(m, migrate__doc_str(s, "from"), migrate__doc_str(s, "to"), version);
		break;
	case MIGRATE_OP_ADD_COLUMN:
		if ((t = step_table(m, migrate__doc_str(s, "table"), version)) && migrate__doc_sub(s, "column", &col))
			add_col(m, t, &col, version);
		break;
	case MIGRATE_OP_DROP_COLUMN:
		if ((t = migrate__schema_table(m, migrate__doc_str(s, "table"))))
			drop_column(m, t, migrate__doc_str(s, "column"));
		break;
	case MIGRATE_OP_RENAME_COLUMN:
		if ((t = migrate__schema_table(m, migrate__doc_str(s, "table"))))
			rename_column(m, t, s, version);
		break;
	case MIGRATE_OP_CREATE_INDEX:
		if ((t = step_table(m, migrate__doc_str(s, "table"), version)))
			create_index(m, t, s, version);
		break;
	case MIGRATE_OP_DROP_INDEX: {
		size_t pos;
		migrate__sidx *x;
		if ((t = migrate__schema_table(m, migrate__doc_str(s, "table"))) &&
		    (x = FIND(t->idx, t->nidx, migrate__doc_str(s, "name"), &pos))) {
			idx_free(x);
			REMOVE(t->idx, t->nidx, pos);
		}
		break;
	}
	case MIGRATE_OP_CREATE_ENUM: create_enum(m, s, version); break;
	case MIGRATE_OP_DROP_ENUM: drop_enum(m, migrate__doc_str(s, "name")); break;
	case MIGRATE_OP_SQL:
	case MIGRATE_OP_COMMAND:
	case MIGRATE_OP_CUSTOM: replay_raw(m, s, version); break;
	default: break; /* data steps, asserts, restore: the schema stays as it is */
	}
}

void migrate__schema_step(migrate__schema *m, const migrate_step_t *step, uint64_t version)
{
	replay_doc(m, step->op, &step->doc, version);
}

int migrate__schema_replay(migrate__schema *m, const migrate_plan_t *plan, migrate__history *h, migrate_error_t *err)
{
	migrate_version_t **sorted = migrate__plan_sorted(plan);
	size_t i, j;

	memset(m, 0, sizeof *m);
	if (!sorted)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	for (i = 0; i < plan->nversions && !m->oom; i++) {
		const migrate_version_t *v = sorted[i];
		const migrate__rec *r = migrate__history_find(h, v->id);
		size_t n;
		if (!r)
			continue;
		/* An applied version is whole; one left applying, failed or reverting has its journaled steps. */
		n = r->state == MIGRATE_STATE_APPLIED ? v->nsteps : r->steps_done;
		for (j = 0; j < n && j < v->nsteps; j++)
			migrate__schema_step(m, v->steps[j], v->id);
	}
	free(sorted);
	if (m->oom) {
		migrate__schema_free(m);
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	}
	return 0;
}
