/*
 * A collection's $jsonSchema validator kept in step with the fields a
 * later step drops or renames. A validator that still requires a dropped
 * field (or the old name of a renamed one) refuses the $unset or $rename
 * of every document under validationLevel strict, so before the documents
 * change the validator is read (listCollections) and, when it would refuse
 * them, rewritten by collMod without the field (drop) or with the new name
 * (rename) in its top-level properties and required list, keeping the
 * collection's validationLevel and validationAction. A rerun finds the
 * validator rewritten already and sends nothing: the step stays
 * idempotent. A server without validators (FerretDB 1.x) lists none.
 */
#include <string.h>

#include "mongo_int.h"

/* Copies `arr` (an array of strings) without `from`, with `to` in its place (to NULL: dropped), no name twice. */
static bool follow_required(const bson_t *arr, const char *from, const char *to, bson_t *out)
{
	bson_iter_t it;
	bool changed = false, to_seen = false;
	uint32_t n = 0;

	bson_iter_init(&it, arr);
	while (bson_iter_next(&it)) {
		const char *name = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : NULL;
		char key[16];
		const char *k;

		if (name && !strcmp(name, from)) {
			changed = true;
			if (!to)
				continue;
			name = to;
		}
		if (name && to && !strcmp(name, to)) {
			if (to_seen) {
				changed = true;
				continue;
			}
			to_seen = true;
		}
		bson_uint32_to_string(n++, &k, key, sizeof key);
		if (name)
			BSON_APPEND_UTF8(out, k, name);
		else
			bson_append_iter(out, k, -1, &it);
	}
	return changed;
}

/* Copies `props` without `from`, its schema under `to` (to NULL: dropped); a schema already under `to` gives way. */
static bool follow_properties(const bson_t *props, const char *from, const char *to, bson_t *out)
{
	bson_iter_t it;
	bool changed = false, has_from = bson_has_field(props, from);

	bson_iter_init(&it, props);
	while (bson_iter_next(&it)) {
		const char *key = bson_iter_key(&it);

		if (!strcmp(key, from)) {
			changed = true;
			if (to)
				bson_append_iter(out, to, -1, &it);
			continue;
		}
		if (to && has_from && !strcmp(key, to)) {
			changed = true;
			continue;
		}
		bson_append_iter(out, key, -1, &it);
	}
	return changed;
}

/*
 * Whether `validator` would refuse the documents once `from` is dropped
 * (to NULL) or renamed: its $jsonSchema requires `from`, or (a rename)
 * allows no properties but its own. One that only types `from` accepts
 * either and is left as it is (collMod needs a privilege readWrite lacks).
 */
static bool refuses(const bson_t *validator, const char *from, const char *to)
{
	bson_iter_t it, req;

	if (bson_iter_init(&it, validator) && bson_iter_find_descendant(&it, "$jsonSchema.required", &req) &&
	    BSON_ITER_HOLDS_ARRAY(&req) && bson_iter_recurse(&req, &it))
		while (bson_iter_next(&it))
			if (BSON_ITER_HOLDS_UTF8(&it) && !strcmp(bson_iter_utf8(&it, NULL), from))
				return true;
	return to && bson_iter_init(&it, validator) &&
	       bson_iter_find_descendant(&it, "$jsonSchema.additionalProperties", &req) && BSON_ITER_HOLDS_BOOL(&req) &&
	       !bson_iter_bool(&req);
}

bool migrate__mongo_validator_follow(const bson_t *validator, const char *from, const char *to, bson_t *out)
{
	bson_iter_t it;
	bool changed = false;

	if (!refuses(validator, from, to))
		return false;

	bson_init(out);
	bson_iter_init(&it, validator);
	while (bson_iter_next(&it)) {
		bson_iter_t in;
		bson_t schema, sub;

		if (strcmp(bson_iter_key(&it), "$jsonSchema") != 0 || !BSON_ITER_HOLDS_DOCUMENT(&it)) {
			bson_append_iter(out, bson_iter_key(&it), -1, &it);
			continue;
		}
		bson_append_document_begin(out, "$jsonSchema", -1, &schema);
		bson_iter_recurse(&it, &in);
		while (bson_iter_next(&in)) {
			const char *key = bson_iter_key(&in);
			const uint8_t *data;
			uint32_t len;
			bson_t part;

			if (!strcmp(key, "properties") && BSON_ITER_HOLDS_DOCUMENT(&in)) {
				bson_iter_document(&in, &len, &data);
				bson_init_static(&part, data, len);
				bson_append_document_begin(&schema, key, -1, &sub);
				changed |= follow_properties(&part, from, to, &sub);
				bson_append_document_end(&schema, &sub);
			} else if (!strcmp(key, "required") && BSON_ITER_HOLDS_ARRAY(&in)) {
				bson_iter_array(&in, &len, &data);
				bson_init_static(&part, data, len);
				bson_append_array_begin(&schema, key, -1, &sub);
				changed |= follow_required(&part, from, to, &sub);
				bson_append_array_end(&schema, &sub);
			} else {
				bson_append_iter(&schema, key, -1, &in);
			}
		}
		bson_append_document_end(out, &schema);
	}
	if (!changed)
		bson_destroy(out);
	return changed;
}

int migrate__mongo_validator_sync(mongo_conn_t *c, const char *table, const char *from, const char *to,
				  migrate_error_t *err)
{
	bson_t *cmd = BCON_NEW("listCollections", BCON_INT32(1), "filter", "{", "name", BCON_UTF8(table), "}");
	bson_t reply, validator, followed;
	bson_iter_t it;
	int rc = migrate__mongo_command(c, cmd, &reply, "listCollections", err);

	bson_destroy(cmd);
	if (rc == 0 && bson_iter_init(&it, &reply) &&
	    bson_iter_find_descendant(&it, "cursor.firstBatch.0.options.validator", &it) &&
	    BSON_ITER_HOLDS_DOCUMENT(&it)) {
		const uint8_t *data;
		uint32_t len;

		bson_iter_document(&it, &len, &data);
		bson_init_static(&validator, data, len);
		if (migrate__mongo_validator_follow(&validator, from, to, &followed)) {
			cmd = BCON_NEW("collMod", BCON_UTF8(table));
			BSON_APPEND_DOCUMENT(cmd, "validator", &followed);
			migrate__log(MIGRATE_LOG_INFO, "mongo: the validator of \"%s\" %s \"%s\"%s%s%s", table,
				     to ? "renames" : "drops", from, to ? " to \"" : "", to ? to : "", to ? "\"" : "");
			rc = migrate__mongo_command(c, cmd, NULL, "collMod (the validator)", err);
			bson_destroy(cmd);
			bson_destroy(&followed);
		}
	}
	bson_destroy(&reply);
	return rc;
}
