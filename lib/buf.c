/*
 * migrate_buf_t: the growable string that drivers render statements into
 * and that the library builds SQL, JSON and messages in. A failed
 * allocation aborts the process, as libbson's allocator (which every
 * bson_t of the library goes through) does: a statement must never be sent
 * with a part missing, and the library reads its buffers in too many places
 * to check each. A length no buffer can hold is refused instead: the buffer
 * keeps what it had, marks itself failed and ignores later appends.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* What str points to before the first allocation. */
static char empty[1];

void migrate_buf_init(migrate_buf_t *b)
{
	if (!b)
		return;
	b->str = empty;
	b->len = 0;
	b->cap = 0;
	b->failed = 0;
}

void migrate_buf_release(migrate_buf_t *b)
{
	if (!b)
		return;
	if (b->cap)
		free(b->str);
	migrate_buf_init(b);
}

static void out_of_memory(void)
{
	fputs("libmigrate: out of memory building a string\n", stderr);
	abort();
}

/* Room for `extra` more bytes and the NUL; 0 or MIGRATE_ENOMEM (sticky) for an impossible length. */
static int reserve(migrate_buf_t *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->failed)
		return MIGRATE_ENOMEM;
	if (extra > SIZE_MAX / 2 - b->len)
		goto failed;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	for (cap = b->cap ? b->cap : 64; cap < need; cap *= 2)
		;
	/* Plain realloc, not an allocation fault point: see the top of this file. */
	if (!(p = realloc(b->cap ? b->str : NULL, cap)))
		out_of_memory();
	if (!b->cap)
		p[0] = '\0';
	b->str = p;
	b->cap = cap;
	return 0;
failed:
	b->failed = 1;
	return MIGRATE_ENOMEM;
}

int migrate_buf_append_n(migrate_buf_t *b, const char *s, size_t n)
{
	if (!b || (!s && n))
		return MIGRATE_EINVAL;
	if (reserve(b, n))
		return MIGRATE_ENOMEM;
	if (n)
		memcpy(b->str + b->len, s, n);
	b->len += n;
	b->str[b->len] = '\0';
	return 0;
}

int migrate_buf_append(migrate_buf_t *b, const char *s)
{
	return migrate_buf_append_n(b, s ? s : "", s ? strlen(s) : 0);
}

int migrate_buf_append_c(migrate_buf_t *b, char c)
{
	/* Canonical JSON appends its punctuation a byte at a time: room for it and the NUL is the common case. */
	if (b && !b->failed && b->cap - b->len >= 2 && b->cap) {
		b->str[b->len++] = c;
		b->str[b->len] = '\0';
		return 0;
	}
	return migrate_buf_append_n(b, &c, 1);
}

int migrate_buf_vprintf(migrate_buf_t *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	if (!b || !fmt)
		return MIGRATE_EINVAL;
	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0) {
		b->failed = 1; /* the text it should have held is missing */
		return MIGRATE_EINVAL;
	}
	if (reserve(b, (size_t)n))
		return MIGRATE_ENOMEM;
	vsnprintf(b->str + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int migrate_buf_printf(migrate_buf_t *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = migrate_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void migrate_buf_truncate(migrate_buf_t *b, size_t len)
{
	if (!b || len >= b->len)
		return;
	b->len = len;
	b->str[len] = '\0';
}

void migrate__buf_reserve(migrate_buf_t *b, size_t extra)
{
	(void)reserve(b, extra);
}

/* ---- heap buffers, for the library's own string building ---- */

migrate_buf_t *migrate__buf_new(const char *init)
{
	migrate_buf_t *b = malloc(sizeof *b);

	if (!b)
		out_of_memory();
	migrate_buf_init(b);
	if (init)
		migrate_buf_append(b, init);
	return b;
}

char *migrate__buf_free(migrate_buf_t *b, bool free_text)
{
	char *text = NULL;

	if (!b)
		return NULL;
	if (!free_text && !b->failed && !(text = b->cap ? b->str : strdup("")))
		out_of_memory();
	else if ((free_text || b->failed) && b->cap)
		free(b->str);
	free(b);
	return text;
}
