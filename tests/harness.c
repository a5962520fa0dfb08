#include "harness.h"

#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HARNESS_MAX 512

static struct {
	const char *name;
	harness_fn fn;
} tests[HARNESS_MAX];
static size_t ntests;
static char tmpdir[512];
static char pathbuf[1024];

void harness_register(const char *name, harness_fn fn)
{
	if (ntests < HARNESS_MAX) {
		tests[ntests].name = name;
		tests[ntests].fn = fn;
		ntests++;
	}
}

void harness_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

void harness_skip(const char *why)
{
	fprintf(stderr, "SKIP: %s\n", why);
	exit(HARNESS_SKIP);
}

int harness_ci(void)
{
	const char *ci = getenv("CI");
	return ci && (strcmp(ci, "true") == 0 || strcmp(ci, "1") == 0);
}

int64_t harness_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int harness_fork_ready(int (*fn)(void *arg, int ready), void *arg)
{
	int fds[2];
	char b;
	pid_t pid;

	CHECK(pipe(fds) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		_exit(fn(arg, fds[1]));
	}
	close(fds[1]);
	if (read(fds[0], &b, 1) != 1)
		harness_fail(__FILE__, __LINE__, "child %ld ended before it was ready", (long)pid);
	close(fds[0]);
	return (int)pid;
}

int harness_pause_at_version(const migrate_event_t *ev, void *payload)
{
	const harness_pause_t *p = payload;

	if (ev->type == MIGRATE_EVENT_VERSION_START && ev->version_id == p->version) {
		if (write(p->ready, "x", 1) != 1)
			_exit(5);
		if (p->signal)
			raise(p->signal);
	}
	return 0;
}

const char *harness_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(tmpdir, sizeof tmpdir, "%s/migrate-test-XXXXXX", base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			_exit(1);
		}
	}
	return tmpdir;
}

const char *harness_path(const char *name)
{
	snprintf(pathbuf, sizeof pathbuf, "%s/%s", harness_tmpdir(), name);
	return pathbuf;
}

const char *harness_fresh_dir(const char *name)
{
	static char dir[1024];

	snprintf(dir, sizeof dir, "%s", harness_path(name));
	CHECK_INT(mkdir(dir, 0700), 0);
	return dir;
}

void harness_write_text(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

char *harness_read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text;
	long n;

	CHECK(f != NULL);
	CHECK_INT(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	CHECK(n > 0);
	rewind(f);
	text = malloc((size_t)n + 1);
	CHECK(text != NULL);
	CHECK_INT((int)fread(text, 1, (size_t)n, f), (int)n);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void cleanup_tmpdir(void)
{
	char cmd[600];
	if (tmpdir[0] && !getenv("MIGRATE_TEST_KEEP")) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
}

static int run_one(size_t i)
{
	tests[i].fn();
	cleanup_tmpdir();
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;
	int failed = 0, passed = 0;

	if (argc > 1 && strcmp(argv[1], "--list") == 0) {
		for (i = 0; i < ntests; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	if (argc > 1) {
		for (i = 0; i < ntests; i++)
			if (strcmp(tests[i].name, argv[1]) == 0)
				return run_one(i);
		fprintf(stderr, "no test named %s\n", argv[1]);
		return 2;
	}
	/* No name: every test in a child process of its own. */
	for (i = 0; i < ntests; i++) {
		int status = 0;
		pid_t pid = fork();
		if (pid == 0)
			_exit(run_one(i));
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			passed++;
		} else {
			failed++;
			fprintf(stderr, "test %s failed\n", tests[i].name);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
