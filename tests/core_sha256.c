/*
 * The library's SHA-256 against OpenSSL's, on every length across the
 * block and padding boundaries and on a large buffer, through both of its
 * paths: the processor's SHA instructions where it has them, and the
 * portable code. INTERNAL: the portable path is chosen by a hidden flag.
 */
#include <openssl/evp.h>

#include "harness.h"

#include "internal.h"

static void check_lengths(bool portable)
{
	static unsigned char data[1 << 20];
	unsigned char md[EVP_MAX_MD_SIZE];
	char mine[65], theirs[65];
	unsigned int mdlen;
	size_t len, k, i;

	for (k = 0; k < sizeof data; k++)
		data[k] = (unsigned char)(k * 131 + (k >> 8));
	migrate__sha256_portable = portable;
	for (len = 0; len <= sizeof data; len = len < 300 ? len + 1 : len * 2 + 7) {
		if (len > sizeof data)
			len = sizeof data;
		migrate__sha256_hex(data, len, mine);
		CHECK(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) == 1);
		for (i = 0; i < mdlen; i++)
			snprintf(theirs + 2 * i, 3, "%02x", md[i]);
		if (strcmp(mine, theirs) != 0)
			harness_fail(__FILE__, __LINE__, "%s path, %zu bytes: %s, OpenSSL says %s",
				     portable ? "portable" : "default", len, mine, theirs);
		if (len == sizeof data)
			break;
	}
	migrate__sha256_portable = false;
}

TEST(default_path_matches_openssl)
{
	check_lengths(false);
}

TEST(portable_path_matches_openssl)
{
	check_lengths(true);
}

/* By parts (migrate__sha256_update, for HMAC): every split of lengths across the block boundaries. */
TEST(by_parts_matches_openssl)
{
	static unsigned char data[300];
	unsigned char md[EVP_MAX_MD_SIZE], mine[32];
	unsigned int mdlen;
	size_t len, a, b, k;

	for (k = 0; k < sizeof data; k++)
		data[k] = (unsigned char)(k * 37 + 11);
	for (len = 0; len <= sizeof data; len += 7) {
		CHECK(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) == 1);
		for (a = 0; a <= len; a += 5) {
			for (b = a; b <= len; b += 13) {
				migrate__sha256_ctx c;
				migrate__sha256_init(&c);
				migrate__sha256_update(&c, data, a);
				migrate__sha256_update(&c, data + a, b - a);
				migrate__sha256_update(&c, data + b, len - b);
				migrate__sha256_final(&c, mine);
				if (memcmp(mine, md, 32) != 0)
					harness_fail(__FILE__, __LINE__,
						     "%zu bytes in parts %zu, %zu, %zu differ from OpenSSL", len, a,
						     b - a, len - b);
			}
		}
	}
}
