/*
 * The test harness: each TEST() is its own CTest entry (the test program
 * runs the one named on its command line), and a failed CHECK ends the
 * test with a message naming the file and line.
 */
#ifndef MIGRATE_TEST_HARNESS_H
#define MIGRATE_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdbool.h>

#include <migrate/driver.h>
#include <migrate/migrate.h>

/* The library's heap text buffers (lib/buf.c), for the tests' own string building. */
migrate_buf_t *migrate__buf_new(const char *init);
char *migrate__buf_free(migrate_buf_t *b, bool free_text);

typedef void (*harness_fn)(void);
void harness_register(const char *name, harness_fn fn);

#define TEST(name)                                                        \
	static void test_##name(void);                                    \
	__attribute__((constructor)) static void harness_reg_##name(void) \
	{                                                                 \
		harness_register(#name, test_##name);                     \
	}                                                                 \
	static void test_##name(void)

void harness_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));

/* Exit code that CTest reports as skipped (outside CI only). */
#define HARNESS_SKIP 77
void harness_skip(const char *why) __attribute__((noreturn));

#define CHECK(cond)                                                    \
	do {                                                           \
		if (!(cond))                                           \
			harness_fail(__FILE__, __LINE__, "%s", #cond); \
	} while (0)

#define CHECK_INT(a, b)                                                                                      \
	do {                                                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);                                          \
		if (a_ != b_)                                                                                \
			harness_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, a_, #b, b_); \
	} while (0)

#define CHECK_STR(a, b)                                                                                           \
	do {                                                                                                      \
		const char *a_ = (a), *b_ = (b);                                                                  \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                            \
			harness_fail(__FILE__, __LINE__, "%s is \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", \
				     b_ ? b_ : "(null)");                                                         \
	} while (0)

/* The string contains the substring. */
#define CHECK_HAS(hay, needle)                                                                                      \
	do {                                                                                                        \
		const char *h_ = (hay), *n_ = (needle);                                                             \
		if (!h_ || !strstr(h_, n_))                                                                         \
			harness_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_); \
	} while (0)

/* A libmigrate call that must succeed; prints its error otherwise. */
#define CHECK_OK(call, errp)                                                                                 \
	do {                                                                                                 \
		int rc_ = (call);                                                                            \
		if (rc_ != 0)                                                                                \
			harness_fail(__FILE__, __LINE__, "%s returned %d: %s", #call, rc_, (errp)->message); \
	} while (0)

/* A fresh temporary directory for this test, removed when it passes. */
const char *harness_tmpdir(void);
/* Joins the temporary directory and `name` into a static buffer (one at a time). */
const char *harness_path(const char *name);
/* Makes the empty directory harness_path(name) and returns it (a static buffer, one at a time). */
const char *harness_fresh_dir(const char *name);
/* The whole text of a file that is not empty; caller frees. */
char *harness_read_text(const char *path);
/* Writes `text` to the file `dir`/`name`. */
void harness_write_text(const char *dir, const char *name, const char *text);
/* True when running under CI=true: a missing server fails instead of skipping. */
int harness_ci(void);

/* Milliseconds of CLOCK_MONOTONIC, to time takeovers. */
int64_t harness_mono_ms(void);

/*
 * Lease tests: a child process runs fn(arg, ready) and exits with its
 * result; harness_fork_ready returns the child's pid once the child wrote
 * a byte to `ready` (harness_pause_at_version does, from an event handler).
 */
int harness_fork_ready(int (*fn)(void *arg, int ready), void *arg);
typedef struct harness_pause {
	int ready;        /* the fd given to fn */
	uint64_t version; /* at the start of this version: */
	int signal;       /* after telling the parent, raised on the child (SIGSTOP, SIGKILL), or 0 */
} harness_pause_t;
/* A migrate_run_options_t.on_event handler with a harness_pause_t payload. */
int harness_pause_at_version(const migrate_event_t *ev, void *payload);

#endif
