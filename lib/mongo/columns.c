/*
 * add_column, drop_column and rename_column on MongoDB: documents lacking
 * the field get the default ($set), documents having it lose it ($unset)
 * or have it renamed ($rename), in batches by _id (batch.c).
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "batch.h"

typedef struct add_column {
	const char *field;
	bool uuid; /* a new UUID per document */
	bson_value_t value;
	bool has_value;
} add_column_t;

static int add_column_range(batch_t *b, const bson_t *range, bson_t *cmd, migrate_error_t *err)
{
	add_column_t *a = b->op;
	bson_t u = BSON_INITIALIZER;

	migrate__mongo_set_value_doc(&u, "$set", a->field, &a->value);
	migrate__mongo_update_cmd(cmd, b->table, range, &u, false);
	bson_destroy(&u);
	return 0;
}

/* A version-4 UUID from the kernel's generator. */
static void random_uuid(uint8_t bytes[16])
{
	size_t got = 0;

	while (got < 16) {
		ssize_t r = getrandom(bytes + got, 16 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got < 16) {
		/* No entropy source: an ObjectId is still unique per process and time. */
		bson_oid_t oid;
		bson_oid_init(&oid, NULL);
		memset(bytes, 0, 16);
		memcpy(bytes, oid.bytes, 12);
	}
	bytes[6] = (uint8_t)((bytes[6] & 0x0f) | 0x40);
	bytes[8] = (uint8_t)((bytes[8] & 0x3f) | 0x80);
}

/*
 * The selector of one document's update: its _id and, when the batch is
 * guarded (no server-side range update), whether `field` exists yet, so
 * that a resumed batch does not rewrite a document twice.
 */
static void doc_selector(const batch_t *b, const bson_t *doc, const char *field, bool exists, bson_t *sel)
{
	bson_t cond;

	migrate__mongo_copy_id(sel, doc);
	if (b->guard) {
		bson_append_document_begin(sel, field, -1, &cond);
		BSON_APPEND_BOOL(&cond, "$exists", exists);
		bson_append_document_end(sel, &cond);
	}
}

static int add_column_doc(batch_t *b, const bson_t *doc, bson_t *sel, bson_t *upd, bool *skip, migrate_error_t *err)
{
	add_column_t *a = b->op;

	if (b->rewrite && bson_has_field(doc, a->field)) {
		*skip = true; /* the selector reads documents lacking the field */
		return 0;
	}
	doc_selector(b, doc, a->field, false, sel);
	if (a->uuid) {
		uint8_t bytes[16];
		bson_value_t v = {.value_type = BSON_TYPE_BINARY};
		random_uuid(bytes);
		v.value.v_binary.subtype = BSON_SUBTYPE_UUID;
		v.value.v_binary.data = bytes;
		v.value.v_binary.data_len = 16;
		migrate__mongo_set_value_doc(upd, "$set", a->field, &v);
	} else {
		migrate__mongo_set_value_doc(upd, "$set", a->field, &a->value);
	}
	return 0;
}

/* The default of a column as a value; *none when the column has no default. */
static int column_default(const bson_t *col, add_column_t *a, bool *none, migrate_error_t *err)
{
	bson_iter_t it;

	*none = false;
	if (!bson_iter_init_find(&it, col, "default")) {
		*none = true;
		return 0;
	}
	if (BSON_ITER_HOLDS_UTF8(&it)) {
		const char *s = bson_iter_utf8(&it, NULL);
		if (!strcmp(s, "uuid")) {
			a->uuid = true;
			return 0;
		}
		if (!strcmp(s, "now")) {
			a->value.value_type = BSON_TYPE_DATE_TIME;
			a->value.value.v_datetime = migrate__now_ms();
			a->has_value = true;
			return 0;
		}
	} else if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
		bson_t d;
		bson_iter_t v;
		migrate__doc_sub(col, "default", &d);
		if (bson_iter_init_find(&v, &d, "value")) {
			bson_value_copy(bson_iter_value(&v), &a->value);
			a->has_value = true;
			return 0;
		}
	}
	return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
			    "add_column: default of \"%s\" cannot be expressed on MongoDB", a->field);
}

static int setup_add_column(batch_t *b, add_column_t *a, bool *none, migrate_error_t *err)
{
	bson_t col, cond;
	int rc;

	memset(a, 0, sizeof(*a));
	migrate__doc_sub(b->step, "column", &col);
	a->field = migrate__doc_str(&col, "name");
	if ((rc = column_default(&col, a, none, err)) || *none)
		return rc;
	snprintf(b->what, sizeof(b->what), "add_column \"%s.%s\"", b->table, a->field);
	bson_append_document_begin(&b->select, a->field, -1, &cond);
	BSON_APPEND_BOOL(&cond, "$exists", false);
	bson_append_document_end(&b->select, &cond);
	BCON_APPEND(&b->fields, "_id", BCON_INT32(1));
	b->server = migrate__mongo_range_updates(b->c) && !a->uuid;
	b->per_range = add_column_range;
	b->per_doc = add_column_doc;
	b->op = a;
	return 0;
}

/* add_column's default written to every document, run (exec) or rendered (out). */
static int add_column(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_buf_t *out,
		      migrate_error_t *err)
{
	batch_t b;
	add_column_t a;
	bool none;
	int rc;

	migrate__mongo_batch_init(&b, c, step, "add_column");
	rc = setup_add_column(&b, &a, &none, err);
	if (rc == 0 && none && out)
		migrate_buf_printf(out, "// %s: no default, nothing to write\n", b.what);
	else if (rc == 0 && !none)
		rc = out ? migrate__mongo_render_batch(&b, out, err) : migrate__mongo_run_batches(&b, exec, err);
	if (a.has_value)
		bson_value_destroy(&a.value);
	migrate__mongo_batch_free(&b);
	return rc;
}

int migrate__mongo_add_column(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	return add_column(c, step, exec, NULL, err);
}

int migrate__mongo_render_add_column(mongo_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err)
{
	return add_column(c, step, NULL, out, err);
}

typedef struct field_op {
	const char *setop; /* $unset or $rename */
	const char *field;
	bson_value_t arg; /* "" or the new name */
} field_op_t;

static int field_op_range(batch_t *b, const bson_t *range, bson_t *cmd, migrate_error_t *err)
{
	field_op_t *f = b->op;
	bson_t u = BSON_INITIALIZER;

	migrate__mongo_set_value_doc(&u, f->setop, f->field, &f->arg);
	migrate__mongo_update_cmd(cmd, b->table, range, &u, false);
	bson_destroy(&u);
	return 0;
}

static int field_op_doc(batch_t *b, const bson_t *doc, bson_t *sel, bson_t *upd, bool *skip, migrate_error_t *err)
{
	field_op_t *f = b->op;

	if (b->rewrite && !bson_has_field(doc, f->field)) {
		*skip = true; /* the selector reads documents having the field */
		return 0;
	}
	doc_selector(b, doc, f->field, true, sel);
	migrate__mongo_set_value_doc(upd, f->setop, f->field, &f->arg);
	return 0;
}

/* Before the documents change: a validator that requires the field would refuse every one. */
static int field_op_validator(batch_t *b, migrate_error_t *err)
{
	field_op_t *f = b->op;
	const char *to = f->arg.value.v_utf8.str;

	return migrate__mongo_validator_sync(b->c, b->table, f->field, *to ? to : NULL, err);
}

static void setup_field_op(batch_t *b, field_op_t *f, const char *setop, const char *field, const char *arg)
{
	bson_t cond;

	f->setop = setop;
	f->field = field;
	f->arg.value_type = BSON_TYPE_UTF8;
	f->arg.value.v_utf8.str = (char *)arg;
	f->arg.value.v_utf8.len = (uint32_t)strlen(arg);
	bson_append_document_begin(&b->select, field, -1, &cond);
	BSON_APPEND_BOOL(&cond, "$exists", true);
	bson_append_document_end(&b->select, &cond);
	BCON_APPEND(&b->fields, "_id", BCON_INT32(1));
	b->server = migrate__mongo_range_updates(b->c);
	b->per_range = field_op_range;
	b->per_doc = field_op_doc;
	b->before = field_op_validator;
	b->op = f;
}

/* drop_column and rename_column: one $unset or $rename over the collection, run (exec) or rendered (out). */
static int field_op(mongo_conn_t *c, const bson_t *step, const char *op, const char *update, const char *from,
		    const char *to, migrate_exec_t *exec, migrate_buf_t *out, migrate_error_t *err)
{
	batch_t b;
	field_op_t f;
	int rc;

	migrate__mongo_batch_init(&b, c, step, op);
	setup_field_op(&b, &f, update, from, to);
	rc = out ? migrate__mongo_render_batch(&b, out, err) : migrate__mongo_run_batches(&b, exec, err);
	migrate__mongo_batch_free(&b);
	return rc;
}

int migrate__mongo_drop_column(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	return field_op(c, step, "drop_column", "$unset", migrate__doc_str(step, "column"), "", exec, NULL, err);
}

int migrate__mongo_rename_column(mongo_conn_t *c, const bson_t *step, migrate_exec_t *exec, migrate_error_t *err)
{
	return field_op(c, step, "rename_column", "$rename", migrate__doc_str(step, "from"),
			migrate__doc_str(step, "to"), exec, NULL, err);
}

int migrate__mongo_render_drop_column(mongo_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err)
{
	return field_op(c, step, "drop_column", "$unset", migrate__doc_str(step, "column"), "", NULL, out, err);
}

int migrate__mongo_render_rename_column(mongo_conn_t *c, const bson_t *step, migrate_buf_t *out, migrate_error_t *err)
{
	return field_op(c, step, "rename_column", "$rename", migrate__doc_str(step, "from"),
			migrate__doc_str(step, "to"), NULL, out, err);
}
