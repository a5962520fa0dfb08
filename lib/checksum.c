/*
 * Version checksums: SHA-256 over the canonical JSON of the step documents
 * and the transactional flag. Key order and whitespace of a plan file do
 * not reach the canonical form, so cosmetic edits keep the checksum.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

int migrate__version_checksum(const migrate_version_t *v, char out[65], migrate_error_t *err)
{
	bson_string_t *canon = bson_string_new(v->transactional ? "{\"transactional\":true,\"steps\":[" :
								"{\"transactional\":false,\"steps\":[");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	size_t j;
	int ok;

	for (j = 0; j < v->nsteps; j++) {
		if (j)
			bson_string_append_c(canon, ',');
		migrate__json_canonical(&v->steps[j]->doc, false, canon);
	}
	bson_string_append(canon, "]");
	if (v->down) {
		bson_string_append(canon, ",\"down\":");
		migrate__json_canonical(v->down, true, canon);
	}
	bson_string_append(canon, "}");
	ok = EVP_Digest(canon->str, canon->len, md, &mdlen, EVP_sha256(), NULL);
	bson_string_free(canon, true);
	if (!ok || mdlen != 32)
		return migrate__err(err, MIGRATE_DOMAIN_RUN, MIGRATE_EINTERNAL, "SHA-256 failed");
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int migrate_version_checksum(const migrate_version_t *v, char *out, size_t out_size, migrate_error_t *err)
{
	char sum[65];
	int rc;

	if (!v || !out || out_size < 65)
		return migrate__err(err, MIGRATE_DOMAIN_API, MIGRATE_EINVAL,
				    "migrate_version_checksum: needs a version and 65 bytes of output");
	if ((rc = migrate__version_checksum(v, sum, err)))
		return rc;
	memcpy(out, sum, 65);
	return 0;
}
