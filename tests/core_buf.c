/*
 * migrate_buf_t (lib/buf.c), the text buffer of render_step and of the
 * library's own string building: appends, formatting, truncation, and a
 * failure that sticks so that one check at the end is enough.
 */
#include <stdint.h>

#include "harness.h"

TEST(appends_and_formats)
{
	migrate_buf_t b = MIGRATE_BUF_INIT;
	migrate_buf_t c;

	CHECK_STR(b.str, "");
	CHECK_INT(migrate_buf_append(&b, "CREATE TABLE "), 0);
	CHECK_INT(migrate_buf_printf(&b, "\"%s\" (%d)", "t", 42), 0);
	CHECK_INT(migrate_buf_append_c(&b, ';'), 0);
	CHECK_INT(migrate_buf_append_n(&b, "\nxyz", 2), 0);
	CHECK_STR(b.str, "CREATE TABLE \"t\" (42);\nx");
	CHECK_INT((int)b.len, 24);
	CHECK_INT(migrate_buf_append(&b, NULL), 0);
	CHECK_INT((int)b.len, 24);
	migrate_buf_truncate(&b, 13);
	CHECK_STR(b.str, "CREATE TABLE ");
	migrate_buf_truncate(&b, 100);
	CHECK_INT((int)b.len, 13);
	migrate_buf_release(&b);
	CHECK_STR(b.str, "");
	CHECK_INT((int)b.len, 0);
	migrate_buf_init(&c);
	CHECK_STR(c.str, "");
	migrate_buf_release(&c);
}

TEST(grows_past_its_first_allocation)
{
	migrate_buf_t b;
	int i;

	migrate_buf_init(&b);
	for (i = 0; i < 10000; i++)
		CHECK_INT(migrate_buf_printf(&b, "%04d", i % 10000), 0);
	CHECK_INT((int)b.len, 40000);
	CHECK_INT((int)strlen(b.str), 40000);
	CHECK(strncmp(b.str + 39996, "9999", 4) == 0);
	migrate_buf_release(&b);
}

TEST(failure_sticks)
{
	migrate_buf_t b = MIGRATE_BUF_INIT;

	CHECK_INT(migrate_buf_append(&b, "kept"), 0);
	/* A length no allocation can hold fails like an allocation failure would. */
	CHECK_INT(migrate_buf_append_n(&b, "x", SIZE_MAX - 8), MIGRATE_ENOMEM);
	CHECK(b.failed);
	CHECK_STR(b.str, "kept");
	CHECK_INT(migrate_buf_append(&b, "more"), MIGRATE_ENOMEM);
	CHECK_INT(migrate_buf_printf(&b, "%d", 1), MIGRATE_ENOMEM);
	CHECK_STR(b.str, "kept");
	migrate_buf_release(&b);
	CHECK(!b.failed);
	CHECK_INT(migrate_buf_append(&b, "again"), 0);
	CHECK_STR(b.str, "again");
	migrate_buf_release(&b);
}

TEST(refuses_bad_arguments)
{
	migrate_buf_t b = MIGRATE_BUF_INIT;

	CHECK_INT(migrate_buf_append(NULL, "x"), MIGRATE_EINVAL);
	CHECK_INT(migrate_buf_append_n(&b, NULL, 3), MIGRATE_EINVAL);
	CHECK_INT(migrate_buf_printf(NULL, "x"), MIGRATE_EINVAL);
	migrate_buf_init(NULL);
	migrate_buf_release(NULL);
	migrate_buf_truncate(NULL, 0);
	CHECK_STR(b.str, "");
}

/* A failed heap buffer hands out no text. */
TEST(failed_heap_buffer_gives_no_text)
{
	migrate_buf_t *b = migrate__buf_new("abc");
	char *text;

	CHECK_STR(b->str, "abc");
	migrate_buf_append_n(b, "x", SIZE_MAX - 8);
	CHECK(migrate__buf_free(b, false) == NULL);
	b = migrate__buf_new(NULL);
	text = migrate__buf_free(b, false);
	CHECK_STR(text, "");
	free(text);
}
