/* Small portable utilities: strings, clocks, identity of this process. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

void *migrate__malloc(size_t n)
{
	return migrate__fault_alloc() ? NULL : malloc(n);
}

void *migrate__calloc(size_t n, size_t size)
{
	return migrate__fault_alloc() ? NULL : calloc(n, size);
}

void *migrate__realloc(void *p, size_t n)
{
	return migrate__fault_alloc() ? NULL : realloc(p, n);
}

char *migrate__strdup(const char *s)
{
	size_t n;
	char *copy;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	copy = migrate__malloc(n);
	if (copy)
		memcpy(copy, s, n);
	return copy;
}

int64_t migrate__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void migrate__sleep_ms(uint32_t ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
}

void migrate__applied_by(char *out, size_t out_size)
{
	char host[256];

	if (gethostname(host, sizeof host) != 0)
		strcpy(host, "unknown");
	host[sizeof host - 1] = '\0';
	snprintf(out, out_size, "%s:%ld", host, (long)getpid());
}

/* A C0 control character or DEL: refused in names that reach messages and logs. */
static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * Identifiers must fit every driver: PostgreSQL silently truncates names
 * longer than 63 bytes, so longer ones are refused rather than shortened.
 */
bool migrate__ident_ok(const char *s, size_t len, const char **why)
{
	size_t i;

	if (!s || len == 0) {
		*why = "is empty";
		return false;
	}
	if (len > MIGRATE_IDENT_MAX) {
		*why = "is longer than 63 bytes";
		return false;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0) {
			*why = "contains a NUL character";
			return false;
		}
		if (is_control(c)) {
			*why = "contains a control character";
			return false;
		}
	}
	return true;
}

bool migrate__has_control(const char *s)
{
	for (; *s; s++)
		if (is_control((unsigned char)*s))
			return true;
	return false;
}

void migrate__mask_control(char *s)
{
	for (; *s; s++)
		if (is_control((unsigned char)*s))
			*s = '?';
}

const char *migrate_version_string(void)
{
	return MIGRATE_VERSION_STRING;
}

int migrate_version_number(void)
{
	return MIGRATE_VERSION_NUMBER;
}

void migrate_free(void *ptr)
{
	free(ptr);
}

int migrate__hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
