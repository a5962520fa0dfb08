/*
 * Drift detection (`migrate check --schema`): the model of what the applied
 * versions leave behind (schema_model.c) compared with the catalog the
 * driver reads in one go (its schema_read), object by object. Every
 * finding names the version that made the object.
 */
#include <stdlib.h>
#include <string.h>

#include "schema.h"

struct migrate_finding {
	int kind;
	const char *object_type; /* static */
	char *object, *property, *expected, *actual;
	uint64_t version;
	size_t seq; /* the order it was found in */
};

struct migrate_schema_report {
	migrate_finding_t *v;
	size_t n, cap;
	int state;
	uint64_t partial;
	bool oom;
};

/* What one comparison needs. */
typedef struct drift {
	migrate_schema_report_t *r;
	const migrate_driver_t *d;
	void *conn;
	const char *table_kind; /* "table" or "collection" */
} drift;

static void finding_free(migrate_finding_t *f)
{
	free(f->object);
	free(f->property);
	free(f->expected);
	free(f->actual);
}

void migrate_schema_report_destroy(migrate_schema_report_t *report)
{
	size_t i;

	if (!report)
		return;
	for (i = 0; i < report->n; i++)
		finding_free(&report->v[i]);
	free(report->v);
	free(report);
}

static char *opt_dup(migrate_schema_report_t *r, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = migrate__strdup(s)))
		r->oom = true;
	return d;
}

/* Records a finding about `table`[.`name`] (name NULL: the table itself). */
static void add(drift *x, int kind, const char *type, const char *table, const char *name, uint64_t version,
		const char *property, const char *expected, const char *actual)
{
	migrate_schema_report_t *r = x->r;
	migrate_buf_t *obj;
	migrate_finding_t *f;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		migrate_finding_t *v = migrate__realloc(r->v, cap * sizeof *v);
		if (!v) {
			r->oom = true;
			return;
		}
		r->v = v;
		r->cap = cap;
	}
	f = &r->v[r->n++];
	memset(f, 0, sizeof *f);
	f->kind = kind;
	f->seq = r->n;
	f->object_type = type;
	f->version = version;
	obj = migrate__buf_new(table);
	if (name && table)
		migrate_buf_append_c(obj, '.');
	migrate_buf_append(obj, name);
	f->object = migrate__buf_free(obj, false);
	f->property = opt_dup(r, property);
	f->expected = opt_dup(r, expected);
	f->actual = opt_dup(r, actual);
	if (!f->object)
		r->oom = true;
}

/* The sub-document at `key` of `doc`, false when absent or not a document. */
static bool sub_doc(const bson_t *doc, const char *key, bson_t *out)
{
	bson_iter_t it;
	const uint8_t *data;
	uint32_t len;

	if (!doc || !migrate__doc_find(&it, doc, key) || !(BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)))
		return false;
	if (BSON_ITER_HOLDS_DOCUMENT(&it))
		bson_iter_document(&it, &len, &data);
	else
		bson_iter_array(&it, &len, &data);
	return bson_init_static(out, data, len);
}

/* A flag the driver reported as a boolean or a number (SQLite's JSON has no booleans). */
static bool flag(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	return doc && migrate__doc_find(&it, doc, key) && bson_iter_as_bool(&it);
}

/* The strings of an array, joined by ", ". */
static void join_array(const bson_t *arr, migrate_buf_t *out)
{
	bson_iter_t it;
	bool first = true;

	if (!arr || !bson_iter_init(&it, arr))
		return;
	while (bson_iter_next(&it)) {
		if (!first)
			migrate_buf_append(out, ", ");
		first = false;
		migrate_buf_append(out, BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "?");
	}
}

static void join_strs(char *const *v, size_t n, migrate_buf_t *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			migrate_buf_append(out, ", ");
		migrate_buf_append(out, v[i]);
	}
}

/* Compares two renderings of one property; a finding when they differ. */
static void compare(drift *x, const char *type, const char *table, const char *name, uint64_t version,
		    const char *property, const char *expected, const char *actual)
{
	if (strcmp(expected, actual) != 0)
		add(x, MIGRATE_DRIFT_DIFFERENT, type, table, name, version, property, expected, actual);
}

static bool in_pk(const migrate__stable *t, const char *column)
{
	size_t i;

	for (i = 0; i < t->npk; i++)
		if (!strcmp(t->pk[i], column))
			return true;
	return false;
}

static void compare_column(drift *x, const migrate__stable *t, const migrate__scol *c, const bson_t *live)
{
	migrate_buf_t want = MIGRATE_BUF_INIT;
	const char *have = migrate__doc_str(live, "type");
	bool nullable = migrate__doc_bool(c->doc, "nullable", true);
	bson_iter_t it;

	if (x->d->version >= 3 && x->d->schema_type)
		x->d->schema_type(x->conn, c->doc, &want);
	if (want.len && have)
		compare(x, "column", t->name, c->name, c->version, "type", want.str, have);
	migrate_buf_release(&want);
	/* A primary key's columns are NOT NULL on some databases whatever the plan says. */
	if (!in_pk(t, c->name) && migrate__doc_find(&it, live, "nullable"))
		compare(x, "column", t->name, c->name, c->version, "nullable", nullable ? "null" : "not null",
			bson_iter_as_bool(&it) ? "null" : "not null");
	if (migrate__doc_find(&it, live, "default"))
		compare(x, "column", t->name, c->name, c->version, "default",
			bson_has_field(c->doc, "default") ? "a default" : "no default",
			bson_iter_as_bool(&it) ? "a default" : "no default");
}

static void columns(drift *x, const migrate__stable *t, const bson_t *live)
{
	bson_t cols, col;
	bson_iter_t it;
	size_t i;

	if (!sub_doc(live, "columns", &cols))
		return; /* the database has no column definitions */
	for (i = 0; i < t->ncols; i++) {
		const migrate__scol *c = &t->cols[i];
		if (!sub_doc(&cols, c->name, &col))
			add(x, MIGRATE_DRIFT_MISSING, "column", t->name, c->name, c->version, NULL, NULL, NULL);
		else if (!t->open)
			compare_column(x, t, c, &col);
	}
	if (t->open || !bson_iter_init(&it, &cols))
		return;
	while (bson_iter_next(&it)) {
		bool known = false;
		for (i = 0; i < t->ncols && !known; i++)
			known = !strcmp(t->cols[i].name, bson_iter_key(&it));
		if (!known)
			add(x, MIGRATE_DRIFT_EXTRA, "column", t->name, bson_iter_key(&it), t->version, NULL, NULL,
			    NULL);
	}
}

/* "(a, b desc)" of the model's index. */
static void model_keys(const migrate__sidx *i, migrate_buf_t *out)
{
	size_t k;

	migrate_buf_append_c(out, '(');
	for (k = 0; k < i->nkeys; k++)
		migrate_buf_printf(out, "%s%s%s", k ? ", " : "", i->keys[k], i->desc[k] ? " desc" : "");
	migrate_buf_append_c(out, ')');
}

/* The same of a live index's keys ([{column, order}]; an expression has no column). */
static void live_keys(const bson_t *idx, migrate_buf_t *out)
{
	bson_t keys, key;
	bson_iter_t it;
	bool first = true;

	migrate_buf_append_c(out, '(');
	if (sub_doc(idx, "keys", &keys) && bson_iter_init(&it, &keys))
		while (bson_iter_next(&it)) {
			const char *col = NULL, *order = NULL;
			if (sub_doc(&keys, bson_iter_key(&it), &key)) {
				col = migrate__doc_str(&key, "column");
				order = migrate__doc_str(&key, "order");
			}
			migrate_buf_printf(out, "%s%s%s", first ? "" : ", ", col ? col : "<expression>",
					   order && !strcmp(order, "desc") ? " desc" : "");
			first = false;
		}
	migrate_buf_append_c(out, ')');
}

static void compare_index(drift *x, const migrate__stable *t, const migrate__sidx *i, const bson_t *live)
{
	migrate_buf_t want = MIGRATE_BUF_INIT, have = MIGRATE_BUF_INIT;

	model_keys(i, &want);
	live_keys(live, &have);
	compare(x, "index", t->name, i->name, i->version, "keys", want.str, have.str);
	migrate_buf_release(&want);
	migrate_buf_release(&have);
	compare(x, "index", t->name, i->name, i->version, "unique", i->unique ? "unique" : "not unique",
		flag(live, "unique") ? "unique" : "not unique");
	compare(x, "index", t->name, i->name, i->version, "where", i->where ? "partial" : "not partial",
		flag(live, "where") ? "partial" : "not partial");
	if (bson_has_field(live, "valid"))
		compare(x, "index", t->name, i->name, i->version, "valid", "valid",
			flag(live, "valid") ? "valid" : "invalid");
}

static bool known_index(const migrate__stable *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nidx; i++)
		if (!strcmp(t->idx[i].name, name))
			return true;
	for (i = 0; i < t->nignored; i++)
		if (!strcmp(t->ignored[i], name))
			return true;
	return false;
}

static void indexes(drift *x, const migrate__stable *t, const bson_t *live)
{
	bson_t idxs, idx;
	bson_iter_t it;
	size_t i;

	if (!sub_doc(live, "indexes", &idxs))
		return;
	for (i = 0; i < t->nidx; i++) {
		const migrate__sidx *m = &t->idx[i];
		if (!sub_doc(&idxs, m->name, &idx))
			add(x, MIGRATE_DRIFT_MISSING, "index", t->name, m->name, m->version, NULL, NULL, NULL);
		else if (!t->open)
			compare_index(x, t, m, &idx);
	}
	if (t->open || !bson_iter_init(&it, &idxs))
		return;
	while (bson_iter_next(&it))
		if (!known_index(t, bson_iter_key(&it)) && sub_doc(&idxs, bson_iter_key(&it), &idx) &&
		    !flag(&idx, "constraint"))
			add(x, MIGRATE_DRIFT_EXTRA, "index", t->name, bson_iter_key(&it), t->version, NULL, NULL, NULL);
}

static void primary_key(drift *x, const migrate__stable *t, const bson_t *live)
{
	migrate_buf_t want = MIGRATE_BUF_INIT, have = MIGRATE_BUF_INIT;
	bson_t pk;

	if (t->open || !t->pk_known || !sub_doc(live, "primary_key", &pk))
		return;
	migrate_buf_append_c(&want, '(');
	join_strs(t->pk, t->npk, &want);
	migrate_buf_append_c(&want, ')');
	migrate_buf_append_c(&have, '(');
	join_array(&pk, &have);
	migrate_buf_append_c(&have, ')');
	compare(x, "primary_key", t->name, NULL, t->version, "columns", want.str, have.str);
	migrate_buf_release(&want);
	migrate_buf_release(&have);
}

static void tables(drift *x, const migrate__schema *m, const bson_t *live)
{
	bson_t all, table;
	size_t i;

	if (!sub_doc(live, "tables", &all))
		bson_init(&all);
	for (i = 0; i < m->ntables; i++) {
		const migrate__stable *t = &m->tables[i];
		if (!sub_doc(&all, t->name, &table)) {
			add(x, MIGRATE_DRIFT_MISSING, x->table_kind, t->name, NULL, t->version, NULL, NULL, NULL);
			continue;
		}
		columns(x, t, &table);
		primary_key(x, t, &table);
		indexes(x, t, &table);
	}
}

static void enums(drift *x, const migrate__schema *m, const bson_t *live)
{
	migrate_buf_t want = MIGRATE_BUF_INIT, have = MIGRATE_BUF_INIT;
	bson_t all, labels;
	size_t i;

	if (!sub_doc(live, "enums", &all))
		return; /* the database keeps no enums */
	for (i = 0; i < m->nenums; i++) {
		const migrate__senum *e = &m->enums[i];
		if (!sub_doc(&all, e->name, &labels)) {
			add(x, MIGRATE_DRIFT_MISSING, "enum", NULL, e->name, e->version, NULL, NULL, NULL);
			continue;
		}
		if (e->open)
			continue;
		migrate_buf_truncate(&want, 0);
		migrate_buf_truncate(&have, 0);
		join_strs(e->values, e->nvalues, &want);
		join_array(&labels, &have);
		compare(x, "enum", NULL, e->name, e->version, "values", want.str, have.str);
	}
	migrate_buf_release(&want);
	migrate_buf_release(&have);
}

/* {"tables": [...], "enums": [...]}: what the driver is asked about. */
static void wanted(const migrate__schema *m, bson_t *out)
{
	bson_t arr;
	char key[24];
	const char *k;
	size_t i;

	bson_init(out);
	BSON_APPEND_ARRAY_BEGIN(out, "tables", &arr);
	for (i = 0; i < m->ntables; i++) {
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
		bson_append_utf8(&arr, k, -1, m->tables[i].name, -1);
	}
	bson_append_array_end(out, &arr);
	BSON_APPEND_ARRAY_BEGIN(out, "enums", &arr);
	for (i = 0; i < m->nenums; i++) {
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
		bson_append_utf8(&arr, k, -1, m->enums[i].name, -1);
	}
	bson_append_array_end(out, &arr);
}

/* Findings in version order, then in the order they were found. */
static int cmp_findings(const void *a, const void *b)
{
	const migrate_finding_t *x = a, *y = b;

	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int compare_live(migrate_target_t *target, const migrate__schema *m, migrate_schema_report_t *r,
			migrate_error_t *err)
{
	const migrate_driver_t *d = target->driver;
	bson_t want, live = BSON_INITIALIZER;
	const char *kind;
	drift x;
	int rc;

	wanted(m, &want);
	rc = migrate__fault(MIGRATE__FAULT_DRIVER, "schema_read", err);
	if (rc == 0)
		rc = d->schema_read(target->conn, &want, &live, err);
	bson_destroy(&want);
	if (rc == 0) {
		kind = migrate__doc_str(&live, "table_kind");
		x.r = r;
		x.d = d;
		x.conn = target->conn;
		x.table_kind = kind && !strcmp(kind, "collection") ? "collection" : "table";
		tables(&x, m, &live);
		enums(&x, m, &live);
		if (r->n > 1)
			qsort(r->v, r->n, sizeof *r->v, cmp_findings);
	}
	bson_destroy(&live);
	return rc;
}

int migrate_check_schema(migrate_target_t *target, const migrate_plan_t *plan, migrate_schema_report_t **out,
			 migrate_error_t *err)
{
	const migrate_driver_t *d;
	migrate_schema_report_t *r = NULL;
	migrate__history h;
	migrate__schema m;
	int rc;

	memset(&h, 0, sizeof h);
	memset(&m, 0, sizeof m);
	if (!target || !plan || !out)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_check_schema: target, plan and out are required");
	*out = NULL;
	d = target->driver;
	if (d->version < 3 || !d->schema_read)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EUNSUPPORTED,
				    "driver %s cannot read its catalog: drift detection is not supported", d->name);
	if (!(r = migrate__calloc(1, sizeof *r)))
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
	if ((rc = migrate__history_load(target, plan->name, &h, err)) ||
	    (rc = migrate__schema_replay(&m, plan, &h, err)))
		goto done;
	r->state = migrate__check_state(plan, &h);
	r->partial = m.partial;
	if ((rc = compare_live(target, &m, r, err)))
		goto done;
	if (r->oom)
		rc = migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_ENOMEM, "out of memory");
done:
	migrate__schema_free(&m);
	migrate__history_free(&h);
	if (rc)
		migrate_schema_report_destroy(r);
	else
		*out = r;
	return rc;
}

int migrate_schema_report_state(const migrate_schema_report_t *report)
{
	return report ? report->state : MIGRATE_CHECK_UP_TO_DATE;
}

uint64_t migrate_schema_report_partial(const migrate_schema_report_t *report)
{
	return report ? report->partial : 0;
}

size_t migrate_schema_report_count(const migrate_schema_report_t *report)
{
	return report ? report->n : 0;
}

const migrate_finding_t *migrate_schema_report_finding(const migrate_schema_report_t *report, size_t i)
{
	return report && i < report->n ? &report->v[i] : NULL;
}

int migrate_finding_kind(const migrate_finding_t *finding)
{
	return finding ? finding->kind : 0;
}

const char *migrate_drift_kind_name(int kind)
{
	switch (kind) {
	case MIGRATE_DRIFT_MISSING: return "missing";
	case MIGRATE_DRIFT_EXTRA: return "extra";
	case MIGRATE_DRIFT_DIFFERENT: return "different";
	default: return "unknown";
	}
}

const char *migrate_finding_object_type(const migrate_finding_t *finding)
{
	return finding ? finding->object_type : NULL;
}

const char *migrate_finding_object(const migrate_finding_t *finding)
{
	return finding ? finding->object : NULL;
}

uint64_t migrate_finding_version(const migrate_finding_t *finding)
{
	return finding ? finding->version : 0;
}

const char *migrate_finding_property(const migrate_finding_t *finding)
{
	return finding ? finding->property : NULL;
}

const char *migrate_finding_expected(const migrate_finding_t *finding)
{
	return finding ? finding->expected : NULL;
}

const char *migrate_finding_actual(const migrate_finding_t *finding)
{
	return finding ? finding->actual : NULL;
}
