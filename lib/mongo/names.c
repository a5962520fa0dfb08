/*
 * Names and filters on MongoDB: which collection and field names are
 * refused, and how the portable `where` subset becomes a query.
 */
#include <string.h>

#include "mongo_int.h"

int migrate__mongo_check_collection(const char *name, const char *field, migrate_error_t *err)
{
	const char *why = NULL;

	if (!name || !*name)
		why = "is empty";
	else if (strchr(name, '$'))
		why = "contains '$'";
	else if (strchr(name, '.'))
		why = "contains '.'";
	else if (!strncmp(name, "system.", 7) || !strcmp(name, "system"))
		why = "uses the reserved system prefix";
	else if (!strncmp(name, "_migrate_", 9))
		why = "is reserved for libmigrate's own collections";
	if (why)
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
				    "%s: collection name \"%s\" %s (refused on MongoDB)", field, name ? name : "", why);
	return 0;
}

int migrate__mongo_check_field(const char *name, const char *field, migrate_error_t *err)
{
	const char *why = NULL;

	if (!name || !*name)
		why = "is empty";
	else if (name[0] == '$')
		why = "starts with '$'";
	else if (strchr(name, '.'))
		why = "contains '.' (a path, not a field)";
	if (why)
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
				    "%s: field name \"%s\" %s (refused on MongoDB)", field, name ? name : "", why);
	return 0;
}

int migrate__mongo_check_index_name(const char *name, const char *field, migrate_error_t *err)
{
	const char *why = NULL;

	if (!name || !*name)
		why = "is empty";
	else if (!strcmp(name, "*"))
		why = "means every index to dropIndexes";
	if (why)
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EUNSUPPORTED,
				    "%s: index name \"%s\" %s (refused on MongoDB)", field, name ? name : "", why);
	return 0;
}

/*
 * The keys of the documents in a value, at any depth (the JSON reader
 * bounds it): an update's $set refuses to store a '$' or '.' in one, which
 * the server said only once the step ran, after the steps before it.
 */
int migrate__mongo_check_value(const bson_iter_t *value, const char *field, migrate_error_t *err)
{
	bson_iter_t sub;
	int rc = 0;

	if (!(BSON_ITER_HOLDS_DOCUMENT(value) || BSON_ITER_HOLDS_ARRAY(value)) || !bson_iter_recurse(value, &sub))
		return 0;
	while (rc == 0 && bson_iter_next(&sub)) {
		/* An empty key is stored as it is. */
		if (BSON_ITER_HOLDS_DOCUMENT(value) && *bson_iter_key(&sub))
			rc = migrate__mongo_check_field(bson_iter_key(&sub), field, err);
		if (rc == 0)
			rc = migrate__mongo_check_value(&sub, field, err);
	}
	return rc;
}

static int lower(const bson_t *in, bson_t *out, int depth, migrate_error_t *err);

/* One clause {field: {op: value}} appended to the $and list. */
static void clause(bson_t *and, uint32_t *n, const char *field, const char *op, const bson_value_t *v)
{
	char key[16];
	const char *k;
	bson_t doc, sub;

	bson_uint32_to_string((*n)++, &k, key, sizeof(key));
	bson_append_document_begin(and, k, -1, &doc);
	if (op) {
		bson_append_document_begin(&doc, field, -1, &sub);
		bson_append_value(&sub, op, -1, v);
		bson_append_document_end(&doc, &sub);
	} else {
		bson_append_value(&doc, field, -1, v);
	}
	bson_append_document_end(and, &doc);
}

static int lower_logical(bson_iter_t *it, bson_t *and, uint32_t *n, int depth, migrate_error_t *err)
{
	const char *op = bson_iter_key(it);
	bson_iter_t arr;
	bson_t list, item;
	char key[16];
	const char *k;
	uint32_t i = 0;
	int rc = 0;

	bson_uint32_to_string((*n)++, &k, key, sizeof(key));
	bson_t wrap;
	bson_append_document_begin(and, k, -1, &wrap);
	bson_append_array_begin(&wrap, op, -1, &list);
	bson_iter_recurse(it, &arr);
	while (rc == 0 && bson_iter_next(&arr)) {
		bson_t sub;
		uint32_t len;
		const uint8_t *data;
		bson_iter_document(&arr, &len, &data);
		bson_init_static(&sub, data, len);
		bson_uint32_to_string(i++, &k, key, sizeof(key));
		bson_append_document_begin(&list, k, -1, &item);
		rc = lower(&sub, &item, depth + 1, err);
		bson_append_document_end(&list, &item);
	}
	bson_append_array_end(&wrap, &list);
	bson_append_document_end(and, &wrap);
	return rc;
}

/* The step's validation let only $eq $ne $lt $lte $gt $gte $in $nin and $exists through. */
static void lower_ops(const char *field, bson_iter_t *ops, bson_t *and, uint32_t *n)
{
	bson_value_t null_v = {.value_type = BSON_TYPE_NULL};

	while (bson_iter_next(ops)) {
		const char *op = bson_iter_key(ops);
		if (!strcmp(op, "$exists")) {
			/* As on SQL drivers, a null field counts as absent. */
			bool want = bson_iter_as_bool(ops);
			clause(and, n, field, want ? "$ne" : "$eq", &null_v);
		} else {
			clause(and, n, field, op, bson_iter_value(ops));
		}
	}
}

static bool is_operator_doc(const bson_iter_t *it)
{
	bson_iter_t sub;

	if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &sub) || !bson_iter_next(&sub))
		return false;
	return bson_iter_key(&sub)[0] == '$';
}

/*
 * Every condition becomes one clause of an $and, so that several operators
 * on one field never produce duplicate keys; a single clause is appended
 * as it is, and no clause leaves `out` empty (matching everything).
 */
static int lower(const bson_t *in, bson_t *out, int depth, migrate_error_t *err)
{
	bson_iter_t it;
	bson_t and = BSON_INITIALIZER;
	uint32_t n = 0;
	int rc = 0;

	if (depth > 32)
		return migrate__err(err, MIGRATE_DOMAIN_PLAN, MIGRATE_EPLAN, "where: nested too deeply");
	bson_iter_init(&it, in);
	while (rc == 0 && bson_iter_next(&it)) {
		const char *key = bson_iter_key(&it);
		if (!strcmp(key, "$and") || !strcmp(key, "$or")) {
			rc = lower_logical(&it, &and, &n, depth, err);
		} else if ((rc = migrate__mongo_check_field(key, "where", err)) == 0) {
			if (is_operator_doc(&it)) {
				bson_iter_t ops;
				bson_iter_recurse(&it, &ops);
				lower_ops(key, &ops, &and, &n);
			} else {
				clause(&and, &n, key, NULL, bson_iter_value(&it));
			}
		}
	}
	if (rc == 0 && n == 1) {
		bson_iter_t first;
		uint32_t len;
		const uint8_t *data;
		bson_t one;
		bson_iter_init(&first, &and);
		bson_iter_next(&first);
		bson_iter_document(&first, &len, &data);
		bson_init_static(&one, data, len);
		bson_concat(out, &one);
	} else if (rc == 0 && n > 1) {
		bson_append_array(out, "$and", -1, &and);
	}
	bson_destroy(&and);
	return rc;
}

int migrate__mongo_filter(const bson_t *where, bson_t *out, migrate_error_t *err)
{
	return lower(where, out, 0, err);
}

int migrate__mongo_check_filter(const bson_t *where, migrate_error_t *err)
{
	bson_t tmp = BSON_INITIALIZER;
	int rc = migrate__mongo_filter(where, &tmp, err);

	bson_destroy(&tmp);
	return rc;
}
