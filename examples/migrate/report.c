/*
 * What `migrate` prints: lines for people (a progress bar redrawn in place
 * when stdout is a terminal, plain lines otherwise), or one JSON document
 * built with libbson so that it is always valid JSON. Errors go to stderr
 * in text mode and into the document with --json.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* ---- passwords --------------------------------------------------------- */

/* The library's redaction: one parser decides what is a password, for messages and for this tool. */
void cli_redact_url(const char *url, char *out, size_t size)
{
	migrate_url_redact(url, out, size);
}

/* ---- codes ------------------------------------------------------------- */

int cli_exit_code(int rc)
{
	switch (rc) {
	case 0: return EXIT_UP_TO_DATE;
	case MIGRATE_ECHECKSUM: return EXIT_CHECKSUM;
	case MIGRATE_ELOCKED: return EXIT_LOCK_TIMEOUT;
	case MIGRATE_ECANCELED: return EXIT_CANCELED;
	default: return EXIT_FAILURE_OTHER;
	}
}

const char *cli_code_name(int code)
{
	static const char *const names[] = {
		"MIGRATE_OK",
		"MIGRATE_EINVAL",
		"MIGRATE_ENOMEM",
		"MIGRATE_EPLAN",
		"MIGRATE_EUNSUPPORTED",
		"MIGRATE_ECHECKSUM",
		"MIGRATE_ELOCKED",
		"MIGRATE_ELOCKLOST",
		"MIGRATE_ECANCELED",
		"MIGRATE_EDB",
		"MIGRATE_ECONNECT",
		"MIGRATE_EASSERT",
		"MIGRATE_EIRREVERSIBLE",
		"MIGRATE_EORDER",
		"MIGRATE_EJSON",
		"MIGRATE_ECALLBACK",
		"MIGRATE_ENOTFOUND",
		"MIGRATE_EIO",
		"MIGRATE_EVERSION",
		"MIGRATE_ESTATE",
		"MIGRATE_EINTERNAL",
	};
	if (code <= 0 && -code < (int)(sizeof names / sizeof names[0]))
		return names[-code];
	return "MIGRATE_E?";
}

const char *cli_domain_name(int domain)
{
	static const char *const names[] = {"none", "api", "plan", "run", "lock", "driver", "callback"};

	if (domain >= 0 && domain < (int)(sizeof names / sizeof names[0]))
		return names[domain];
	return "unknown";
}

/* ---- time -------------------------------------------------------------- */

int64_t cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_format_time(int64_t ms, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !gmtime_r(&t, &tm)) {
		snprintf(out, size, "-");
		return;
	}
	strftime(out, size, "%Y-%m-%d %H:%M:%SZ", &tm);
}

void cli_format_duration(int64_t ms, char *out, size_t size)
{
	if (ms < 0)
		snprintf(out, size, "-");
	else if (ms < 1000)
		snprintf(out, size, "%lld ms", (long long)ms);
	else if (ms < 60000)
		snprintf(out, size, "%.1f s", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(out, size, "%lld min %02lld s", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
	else
		snprintf(out, size, "%lld h %02lld min", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
}

void cli_json_time(bson_t *doc, const char *key, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32], full[40];

	if (ms <= 0 || !gmtime_r(&t, &tm)) {
		BSON_APPEND_NULL(doc, key);
		return;
	}
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(full, sizeof full, "%s.%03dZ", buf, (int)(ms % 1000));
	BSON_APPEND_UTF8(doc, key, full);
}

/* 1234567 -> "1,234,567" */
static void format_count(int64_t n, char *out, size_t size)
{
	char digits[32];
	size_t len, i, o = 0;

	snprintf(digits, sizeof digits, "%lld", (long long)(n < 0 ? -n : n));
	len = strlen(digits);
	if (n < 0 && o + 1 < size)
		out[o++] = '-';
	for (i = 0; i < len && o + 2 < size; i++) {
		if (i && (len - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

/* ---- the JSON document ------------------------------------------------- */

void cli_json_begin(cli_t *c)
{
	if (c->doc)
		return;
	c->doc = bson_new();
	if (c->command)
		BSON_APPEND_UTF8(c->doc, "command", c->command);
	else
		BSON_APPEND_NULL(c->doc, "command");
	if (c->url_shown[0])
		BSON_APPEND_UTF8(c->doc, "url", c->url_shown);
	if (c->plan_path)
		BSON_APPEND_UTF8(c->doc, "plan_file", c->plan_path);
}

/*
 * The length of the UTF-8 sequence at s (at most n bytes), 0 when it is
 * not one (RFC 3629: no overlong form, surrogate or code point past
 * U+10FFFF).
 */
static uint32_t utf8_length(const unsigned char *s, uint32_t n)
{
	uint32_t len, i, cp;

	if (s[0] < 0x80)
		return 1;
	len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	if (len == 0 || s[0] > 0xf4 || len > n)
		return 0;
	cp = s[0] & (0x7fu >> len);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A string as JSON; bytes that are not UTF-8 (a file name's, a URL's) become U+FFFD. */
static void json_write_string(const char *s, uint32_t len)
{
	uint32_t i, n;

	putchar('"');
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x80) {
			n = utf8_length((const unsigned char *)s + i, len - i);
			if (n == 0)
				fputs("\\ufffd", stdout);
			else
				fwrite(s + i, 1, n, stdout);
			i += n ? n - 1 : 0;
		} else if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch == '\t')
			fputs("\\t", stdout);
		else if (ch == '\r')
			fputs("\\r", stdout);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/*
 * Standard compact JSON (RFC 8259, no spaces): libbson's writers put
 * spaces around every colon and inside every bracket. The document holds
 * strings, integers, booleans, nulls, objects and arrays only.
 */
static void json_write(const bson_t *doc, int array)
{
	bson_iter_t it;
	uint32_t len;
	int first = 1;

	putchar(array ? '[' : '{');
	if (bson_iter_init(&it, doc)) {
		while (bson_iter_next(&it)) {
			if (!first)
				putchar(',');
			first = 0;
			if (!array) {
				json_write_string(bson_iter_key(&it), bson_iter_key_len(&it));
				putchar(':');
			}
			switch (bson_iter_type(&it)) {
			case BSON_TYPE_UTF8: {
				const char *s = bson_iter_utf8(&it, &len);
				json_write_string(s, len);
				break;
			}
			case BSON_TYPE_INT32: printf("%d", (int)bson_iter_int32(&it)); break;
			case BSON_TYPE_INT64: printf("%lld", (long long)bson_iter_int64(&it)); break;
			case BSON_TYPE_DOUBLE: printf("%.17g", bson_iter_double(&it)); break;
			case BSON_TYPE_BOOL: fputs(bson_iter_bool(&it) ? "true" : "false", stdout); break;
			case BSON_TYPE_DOCUMENT:
			case BSON_TYPE_ARRAY: {
				const uint8_t *data;
				bson_t sub;
				if (BSON_ITER_HOLDS_DOCUMENT(&it))
					bson_iter_document(&it, &len, &data);
				else
					bson_iter_array(&it, &len, &data);
				if (bson_init_static(&sub, data, len))
					json_write(&sub, BSON_ITER_HOLDS_ARRAY(&it));
				else
					fputs("null", stdout);
				break;
			}
			default: fputs("null", stdout); break;
			}
		}
	}
	putchar(array ? ']' : '}');
}

int cli_json_end(cli_t *c, int exit_code)
{
	cli_json_begin(c);
	if (c->nevents)
		BSON_APPEND_ARRAY(c->doc, "events", &c->events);
	BSON_APPEND_BOOL(c->doc, "ok", exit_code == 0);
	BSON_APPEND_INT32(c->doc, "exit_code", exit_code);
	json_write(c->doc, 0);
	putchar('\n');
	fflush(stdout);
	return exit_code;
}

/* Appends an event object to the --json document's events array. */
static void json_event_begin(cli_t *c, bson_t *child, const char *kind)
{
	char key[16];
	const char *k;

	bson_uint32_to_string(c->nevents++, &k, key, sizeof key);
	bson_append_document_begin(&c->events, k, -1, child);
	BSON_APPEND_UTF8(child, "event", kind);
}

static void json_event_end(cli_t *c, bson_t *child)
{
	bson_append_document_end(&c->events, child);
}

/* ---- failures ---------------------------------------------------------- */

void cli_set_error(migrate_error_t *err, int domain, int code, const char *message)
{
	size_t n = strlen(message);

	if (n >= sizeof err->message)
		n = sizeof err->message - 1;
	memmove(err->message, message, n);
	err->message[n] = '\0';
	err->domain = domain;
	err->code = code;
}

static const char *unit(const cli_t *c);

/* A canceled run's last line: where it stopped, which is where the next run starts. */
static void report_cancel(const cli_t *c)
{
	char n[32];

	if (!c->progress_processed) {
		fprintf(stderr, "migrate: canceled; the next run resumes where this one stopped\n");
		return;
	}
	format_count(c->progress_processed, n, sizeof n);
	fprintf(stderr, "migrate: canceled after %s %s; the next run resumes there\n", n, unit(c));
}

int cli_fail(cli_t *c, int rc, const migrate_error_t *err)
{
	return cli_fail_code(c, rc, err, cli_exit_code(rc));
}

int cli_fail_code(cli_t *c, int rc, const migrate_error_t *err, int exit_code)
{
	const char *message = err && err->message[0] ? err->message : migrate_strerror(rc);

	cli_close_line(c);
	if (c->json) {
		bson_t e;
		cli_json_begin(c);
		bson_append_document_begin(c->doc, "error", -1, &e);
		BSON_APPEND_INT32(&e, "code", rc);
		BSON_APPEND_UTF8(&e, "name", cli_code_name(rc));
		BSON_APPEND_UTF8(&e, "domain", cli_domain_name(err ? err->domain : 0));
		BSON_APPEND_UTF8(&e, "message", message);
		bson_append_document_end(c->doc, &e);
		return cli_json_end(c, exit_code);
	}
	fflush(stdout);
	if (rc == MIGRATE_ECANCELED) {
		report_cancel(c);
		return exit_code;
	}
	fprintf(stderr, "migrate: %s\n", message);
	return exit_code;
}

int cli_usage_error(cli_t *c, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	if (c->json) {
		bson_t e;
		cli_json_begin(c);
		bson_append_document_begin(c->doc, "error", -1, &e);
		BSON_APPEND_INT32(&e, "code", MIGRATE_EINVAL);
		BSON_APPEND_UTF8(&e, "name", "usage");
		BSON_APPEND_UTF8(&e, "domain", "usage");
		BSON_APPEND_UTF8(&e, "message", message);
		bson_append_document_end(c->doc, &e);
		cli_json_end(c, EXIT_USAGE);
	}
	fprintf(stderr, "migrate: %s\n", message);
	return EXIT_USAGE;
}

static int is_verify(const cli_t *c)
{
	return c->command && strcmp(c->command, "verify") == 0;
}

/* ---- the terminal and the log -------------------------------------------- */

void cli_detect_terminal(cli_t *c)
{
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM"), *columns = getenv("COLUMNS");
	struct winsize ws;

	/* https://no-color.org: set and not empty. A dumb terminal has no cursor control. */
	c->tty = isatty(STDOUT_FILENO) && !(no_color && *no_color) && !(term && strcmp(term, "dumb") == 0);
	c->columns = 0;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		c->columns = ws.ws_col;
	if (!c->columns && columns)
		c->columns = atoi(columns);
	if (c->columns <= 0)
		c->columns = 80;
}

void cli_on_log(int level, const char *message, void *payload)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	cli_t *c = payload;

	cli_close_line(c);
	fprintf(stderr, "migrate: %s: %s\n", level >= 0 && level <= 3 ? names[level] : "log", message);
}

/* -q: the counts the commands report, without a line. */
static void count_quietly(cli_t *c, const migrate_event_t *ev)
{
	if (ev->type == MIGRATE_EVENT_VERSION_START)
		c->versions_run++;
	else if (ev->type == MIGRATE_EVENT_STEP_START && is_verify(c))
		c->asserts_run++;
	else if (ev->type == MIGRATE_EVENT_WARNING && is_verify(c) && ev->step_index >= 0)
		c->asserts_failed++;
}

/* ---- events ------------------------------------------------------------ */

void cli_close_line(cli_t *c)
{
	if (c->line_open && cli_bar_shown && cli_interrupted) {
		/* The bar of a canceled step: its count goes on the cancel line instead. */
		fputs("\r\033[K", stdout);
		c->line_open = 0;
	} else if (c->line_open) {
		fputc('\n', stdout);
		c->line_open = 0;
	}
	cli_bar_shown = 0;
	fflush(stdout);
}

static const char *unit(const cli_t *c)
{
	const char *driver = c->target ? migrate_target_driver_name(c->target) : "";

	return driver && strcmp(driver, "mongo") == 0 ? "documents" : "rows";
}

/* Rate in items per second since this step's first progress event (or its start). */
static double progress_rate(cli_t *c, int64_t processed, int64_t now)
{
	if (now - c->progress_first_ms >= 500 && processed > c->progress_first_n)
		return (double)(processed - c->progress_first_n) * 1000.0 / (double)(now - c->progress_first_ms);
	if (now > c->step_start_ms && processed > 0)
		return (double)processed * 1000.0 / (double)(now - c->step_start_ms);
	return 0;
}

#define BAR_WIDTH_MAX 24
#define BAR_WIDTH_MIN 5

/* Redraws the progress line in place, the bar narrowed (then the line cut) to fit the terminal. */
static void draw_bar(cli_t *c, const migrate_event_t *ev, const char *done, const char *total, const char *rate,
		     const char *left)
{
	char line[512], bar[BAR_WIDTH_MAX + 1];
	int pct = ev->total > 0 ? (int)(ev->processed * 100 / ev->total) : 0, width = BAR_WIDTH_MAX, fill, i, n;
	int room = c->columns - 1; /* the last column would wrap on some terminals */

	if (pct > 100)
		pct = 100;
	for (;;) {
		fill = pct * width / 100;
		for (i = 0; i < width; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[width] = '\0';
		if (ev->total >= 0)
			n = snprintf(line, sizeof line, "    step %d/%d %s [%s] %3d%% %s/%s %s  %s/s%s%s%s",
				     ev->step_index + 1, ev->step_count, ev->op ? ev->op : "", bar, pct, done, total,
				     unit(c), rate, left ? "  " : "", left ? left : "", left ? " left" : "");
		else
			n = snprintf(line, sizeof line, "    step %d/%d %s %s %s  %s/s", ev->step_index + 1,
				     ev->step_count, ev->op ? ev->op : "", done, unit(c), rate);
		if (n <= room || ev->total < 0 || width <= BAR_WIDTH_MIN)
			break;
		width = n - room >= width - BAR_WIDTH_MIN ? BAR_WIDTH_MIN : width - (n - room);
	}
	if (room > 0 && n > room && room < (int)sizeof line)
		line[room] = '\0';
	printf("\r\033[K%s", line);
	c->line_open = 1;
	cli_bar_shown = 1;
	fflush(stdout);
}

static void draw_progress(cli_t *c, const migrate_event_t *ev)
{
	int64_t now = cli_now_ms(), left_ms = -1;
	char done[32], total[32], rate_s[32], left[32];
	double rate;
	int finished = ev->total >= 0 && ev->processed >= ev->total;

	if (!c->progress_first_ms) {
		c->progress_first_ms = now;
		c->progress_first_n = ev->processed;
	}
	c->progress_processed = ev->processed;
	c->progress_before = ev->processed_before;
	/* A terminal is redrawn ten times a second at most; a log gets a line a second. */
	if (c->progress_last_print_ms && !finished && now - c->progress_last_print_ms < (c->tty ? 100 : 1000))
		return;
	c->progress_last_print_ms = now;
	rate = progress_rate(c, ev->processed, now);
	if (rate > 0 && ev->total > ev->processed)
		left_ms = (int64_t)((double)(ev->total - ev->processed) * 1000.0 / rate);
	format_count(ev->processed, done, sizeof done);
	format_count(ev->total, total, sizeof total);
	format_count((int64_t)(rate + 0.5), rate_s, sizeof rate_s);
	cli_format_duration(left_ms, left, sizeof left);
	if (c->tty) {
		draw_bar(c, ev, done, total, rate_s, left_ms >= 0 ? left : NULL);
		return;
	}
	if (ev->total >= 0)
		printf("    step %d/%d %s: %s of %s %s (%d%%), %s/s%s%s%s\n", ev->step_index + 1, ev->step_count,
		       ev->op ? ev->op : "", done, total, unit(c),
		       ev->total > 0 ? (int)(ev->processed * 100 / ev->total) : 100, rate_s, left_ms >= 0 ? ", " : "",
		       left_ms >= 0 ? left : "", left_ms >= 0 ? " left" : "");
	else
		printf("    step %d/%d %s: %s %s, %s/s\n", ev->step_index + 1, ev->step_count, ev->op ? ev->op : "",
		       done, unit(c), rate_s);
	fflush(stdout);
}

static void on_step_start(cli_t *c, const migrate_event_t *ev)
{
	c->step_start_ms = cli_now_ms();
	c->progress_first_ms = c->progress_last_print_ms = 0;
	c->progress_first_n = c->progress_processed = c->progress_before = 0;
	if (c->json)
		return;
	cli_close_line(c);
	if (is_verify(c)) {
		c->asserts_run++;
		printf("  version %llu \"%s\", step %d: assert", (unsigned long long)ev->version_id,
		       ev->version_name ? ev->version_name : "", ev->step_index + 1);
	} else {
		printf("    step %d/%d %s", ev->step_index + 1, ev->step_count, ev->op ? ev->op : "");
	}
	if (c->tty)
		c->line_open = 1;
	else if (is_verify(c))
		fputs(": ", stdout); /* a log gets one line per assertion: its result follows */
	else
		fputc('\n', stdout);
	fflush(stdout);
}

static void on_step_end(cli_t *c, const migrate_event_t *ev)
{
	char took[32], n[32];

	if (c->json) {
		bson_t e;
		if (is_verify(c)) {
			c->asserts_run++;
			json_event_begin(c, &e, "assert");
			BSON_APPEND_INT64(&e, "version", (int64_t)ev->version_id);
			BSON_APPEND_INT32(&e, "step", ev->step_index + 1);
			BSON_APPEND_BOOL(&e, "holds", true);
			json_event_end(c, &e);
		} else if (ev->batches > 0) {
			/* A batched step: how the time budget was kept. */
			json_event_begin(c, &e, "batches");
			BSON_APPEND_INT64(&e, "version", (int64_t)ev->version_id);
			BSON_APPEND_INT32(&e, "step", ev->step_index + 1);
			BSON_APPEND_UTF8(&e, "op", ev->op ? ev->op : "");
			BSON_APPEND_INT64(&e, "rows", c->progress_processed - c->progress_before);
			BSON_APPEND_INT64(&e, "batches", ev->batches);
			BSON_APPEND_INT64(&e, "longest_batch_ms", ev->longest_batch_ms);
			json_event_end(c, &e);
		}
		return;
	}
	cli_format_duration(cli_now_ms() - c->step_start_ms, took, sizeof took);
	if (is_verify(c)) {
		printf("%sholds (%s)\n", c->tty ? ": " : "", took);
		c->line_open = 0;
		fflush(stdout);
		return;
	}
	if (c->tty)
		printf("\r\033[K");
	cli_bar_shown = 0;
	if (ev->direction == MIGRATE_DIRECTION_DOWN && ev->message) {
		/* The library says why nothing ran: the step's explicit down is empty. */
		printf("    step %d/%d %s: nothing ran (%s)\n", ev->step_index + 1, ev->step_count,
		       ev->op ? ev->op : "", ev->message);
		c->line_open = 0;
		fflush(stdout);
		return;
	}
	printf("    step %d/%d %s: done in %s", ev->step_index + 1, ev->step_count, ev->op ? ev->op : "", took);
	if (c->progress_processed) {
		format_count(c->progress_processed, n, sizeof n);
		printf(" (%s %s", n, unit(c));
		if (c->progress_before > 0) {
			/* A resumed step: what the interrupted run did, and what this one did. */
			format_count(c->progress_before, n, sizeof n);
			printf(": %s before, ", n);
			format_count(c->progress_processed - c->progress_before, n, sizeof n);
			printf("%s now", n);
		}
		printf(")");
	}
	if (ev->batches > 0) {
		format_count(ev->batches, n, sizeof n);
		cli_format_duration(ev->longest_batch_ms, took, sizeof took);
		printf(" in %s batch%s, the longest %s", n, ev->batches == 1 ? "" : "es", took);
	}
	printf("\n");
	c->line_open = 0;
	fflush(stdout);
}

static void on_warning(cli_t *c, const migrate_event_t *ev)
{
	const char *msg = ev->message ? ev->message : "";

	if (is_verify(c) && ev->step_index >= 0) {
		c->asserts_failed++;
		if (c->json) {
			bson_t e;
			c->asserts_run++;
			json_event_begin(c, &e, "assert");
			BSON_APPEND_INT64(&e, "version", (int64_t)ev->version_id);
			BSON_APPEND_INT32(&e, "step", ev->step_index + 1);
			BSON_APPEND_BOOL(&e, "holds", false);
			BSON_APPEND_UTF8(&e, "message", msg);
			json_event_end(c, &e);
			return;
		}
		printf("%sFAILED\n", c->tty ? ": " : "");
		c->line_open = 0;
		printf("      %s\n", msg);
		fflush(stdout);
		return;
	}
	if (c->json) {
		bson_t e;
		json_event_begin(c, &e, ev->type == MIGRATE_EVENT_RETRY ? "retry" : "warning");
		BSON_APPEND_UTF8(&e, "message", msg);
		json_event_end(c, &e);
		return;
	}
	cli_close_line(c);
	fprintf(stderr, "migrate: %s: %s\n", ev->type == MIGRATE_EVENT_RETRY ? "retrying" : "warning", msg);
}

static void on_version(cli_t *c, const migrate_event_t *ev)
{
	const char *name = ev->version_name ? ev->version_name : "";
	int up = ev->direction != MIGRATE_DIRECTION_DOWN;
	char took[32];

	if (ev->type == MIGRATE_EVENT_VERSION_START) {
		c->versions_run++;
		if (c->json)
			return;
		cli_close_line(c);
		printf("%s version %llu \"%s\"%s\n", up ? "applying" : "reverting", (unsigned long long)ev->version_id,
		       name, ev->message ? " (resuming)" : "");
		fflush(stdout);
		return;
	}
	if (c->json) {
		bson_t e;
		json_event_begin(c, &e, "version");
		BSON_APPEND_INT64(&e, "id", (int64_t)ev->version_id);
		BSON_APPEND_UTF8(&e, "name", name);
		BSON_APPEND_UTF8(&e, "direction", up ? "up" : "down");
		BSON_APPEND_INT64(&e, "duration_ms", ev->elapsed_ms);
		json_event_end(c, &e);
		return;
	}
	cli_close_line(c);
	cli_format_duration(ev->elapsed_ms, took, sizeof took);
	printf("%s version %llu in %s\n", up ? "applied" : "reverted", (unsigned long long)ev->version_id, took);
	fflush(stdout);
}

/* A wait is shown when it starts, when the holder changes, and every
 * LOCK_WAIT_SHOW_EVERY_MS: the library reports it every second. */
#define LOCK_WAIT_SHOW_EVERY_MS 15000

static void on_lock(cli_t *c, const migrate_event_t *ev)
{
	int64_t now = cli_now_ms();
	const char *holder = ev->message ? ev->message : "";
	char waited[32];

	if (ev->type == MIGRATE_EVENT_LOCK_WAIT) {
		if (!c->lock_wait_start_ms)
			c->lock_wait_start_ms = now;
		else if (strncmp(holder, c->lock_wait_holder, sizeof c->lock_wait_holder - 1) == 0 &&
			 now - c->lock_wait_shown_ms < LOCK_WAIT_SHOW_EVERY_MS)
			return;
		c->lock_wait_shown_ms = now;
		snprintf(c->lock_wait_holder, sizeof c->lock_wait_holder, "%s", holder);
	}
	cli_format_duration(c->lock_wait_start_ms ? now - c->lock_wait_start_ms : 0, waited, sizeof waited);
	if (c->json) {
		bson_t e;
		if (ev->type == MIGRATE_EVENT_LOCK_ACQUIRED && !c->lock_wait_start_ms)
			return;
		json_event_begin(c, &e, ev->type == MIGRATE_EVENT_LOCK_WAIT ? "lock_wait" : "lock_acquired");
		BSON_APPEND_INT64(&e, "waited_ms", c->lock_wait_start_ms ? now - c->lock_wait_start_ms : 0);
		if (ev->message)
			BSON_APPEND_UTF8(&e, "message", ev->message);
		json_event_end(c, &e);
		return;
	}
	cli_close_line(c);
	if (ev->type == MIGRATE_EVENT_LOCK_WAIT)
		printf("waiting for the lock (%s so far): %s\n", waited,
		       ev->message ? ev->message : "held by another run");
	else if (c->lock_wait_start_ms)
		printf("lock acquired after %s\n", waited);
	fflush(stdout);
}

int cli_on_event(const migrate_event_t *ev, void *payload)
{
	cli_t *c = payload;

	if (c->quiet && !c->json) {
		count_quietly(c, ev);
		return cli_interrupted ? 1 : 0;
	}
	switch (ev->type) {
	case MIGRATE_EVENT_VERSION_START:
	case MIGRATE_EVENT_VERSION_END: on_version(c, ev); break;
	case MIGRATE_EVENT_STEP_START: on_step_start(c, ev); break;
	case MIGRATE_EVENT_STEP_END: on_step_end(c, ev); break;
	case MIGRATE_EVENT_PROGRESS:
		if (c->json) {
			c->progress_processed = ev->processed;
			c->progress_before = ev->processed_before;
		} else
			draw_progress(c, ev);
		break;
	case MIGRATE_EVENT_LOCK_WAIT:
	case MIGRATE_EVENT_LOCK_ACQUIRED: on_lock(c, ev); break;
	case MIGRATE_EVENT_WARNING:
	case MIGRATE_EVENT_RETRY: on_warning(c, ev); break;
	default: break;
	}
	return cli_interrupted ? 1 : 0;
}
