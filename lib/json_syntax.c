/*
 * JSON syntax errors in the project's own words, with the line and column
 * where they are. libbson's parser says "Got parse error at "}":
 * "TRAILING_COMMA"" at a byte offset; this strict RFC 8259 scan runs first,
 * so that any text it accepts is left to libbson only for what it builds.
 * Columns count characters (UTF-8 sequences), not bytes, as editors do.
 */
#include <string.h>

#include "internal.h"

#define MAX_DEPTH 200

typedef struct scan {
	const char *s; /* the text */
	size_t i;      /* where the scan is */
	size_t at;     /* where the error is */
	char *msg;
	size_t size;
	int depth;
} scan_t;

static bool fail(scan_t *p, size_t at, const char *fmt, const char *arg)
{
	p->at = at;
	snprintf(p->msg, p->size, fmt, arg);
	return false;
}

static void skip_space(scan_t *p)
{
	p->i += strspn(p->s + p->i, " \t\r\n");
}

/* How the character at i reads in a message: "}", "end of text", "byte 0xff". */
static const char *found(const scan_t *p, size_t i, char *buf, size_t size)
{
	unsigned char c = (unsigned char)p->s[i];

	if (!c)
		snprintf(buf, size, "the end of the text");
	else if (c >= 0x20 && c < 0x7f)
		snprintf(buf, size, "\"%c\"", c);
	else
		snprintf(buf, size, "byte 0x%02x", c);
	return buf;
}

/* The length of a valid UTF-8 sequence at s, or 0 (also for the read of json_read.c). */
size_t migrate__utf8_len(const unsigned char *s)
{
	size_t n, k;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A string; a key's holds no NUL (\u0000): BSON keys are C strings, and a key would end there. */
static bool scan_string(scan_t *p, bool key)
{
	size_t open = p->i++;
	char buf[32];

	for (;;) {
		unsigned char c = (unsigned char)p->s[p->i];
		size_t n;
		if (c == '"') {
			p->i++;
			return true;
		}
		if (!c)
			return fail(p, open, "a string that is never closed", NULL);
		if (c < 0x20) {
			snprintf(buf, sizeof buf, "%02x", c);
			return fail(p, p->i,
				    "a control character in a string (write it as an escape: \\n, \\t, \\u00%s)", buf);
		}
		if (c == '\\') {
			const char *e = p->s + p->i + 1;
			if (*e == 'u') {
				if (strspn(e + 1, "0123456789abcdefABCDEF") < 4)
					return fail(p, p->i, "\\u in a string takes four hexadecimal digits", NULL);
				if (key && strncmp(e + 1, "0000", 4) == 0)
					return fail(p, p->i, "a key contains a NUL character (\\u0000)", NULL);
				p->i += 6;
			} else if (*e && strchr("\"\\/bfnrt", *e)) {
				p->i += 2;
			} else {
				return fail(p, p->i, "an unknown escape %s in a string",
					    found(p, p->i + 1, buf, sizeof buf));
			}
			continue;
		}
		if (!(n = migrate__utf8_len((const unsigned char *)p->s + p->i)))
			return fail(p, p->i, "invalid UTF-8 in a string", NULL);
		p->i += n;
	}
}

static bool scan_number(scan_t *p)
{
	size_t start = p->i, digits;
	const char *s = p->s;

	if (s[p->i] == '-')
		p->i++;
	digits = strspn(s + p->i, "0123456789");
	if (!digits || (digits > 1 && s[p->i] == '0'))
		return fail(p, start, "a malformed number (JSON numbers have no leading zeros or \"+\")", NULL);
	p->i += digits;
	if (s[p->i] == '.') {
		if (!(digits = strspn(s + p->i + 1, "0123456789")))
			return fail(p, start, "a malformed number (a digit must follow \".\")", NULL);
		p->i += 1 + digits;
	}
	if (s[p->i] == 'e' || s[p->i] == 'E') {
		p->i++;
		if (s[p->i] == '+' || s[p->i] == '-')
			p->i++;
		if (!(digits = strspn(s + p->i, "0123456789")))
			return fail(p, start, "a malformed number (a digit must follow the exponent)", NULL);
		p->i += digits;
	}
	return true;
}

static bool scan_value(scan_t *p);

/* An object or an array: members or elements separated by commas, none trailing. */
static bool scan_container(scan_t *p)
{
	char close = p->s[p->i] == '{' ? '}' : ']', buf[32];
	const char *what = close == '}' ? "\"}\"" : "\"]\"";
	int object = close == '}';
	size_t comma = 0;

	if (++p->depth > MAX_DEPTH) {
		snprintf(buf, sizeof buf, "%d", MAX_DEPTH);
		return fail(p, p->i, "nesting deeper than %s levels", buf);
	}
	p->i++;
	for (;;) {
		skip_space(p);
		if (!p->s[p->i])
			break;
		if (p->s[p->i] == close) {
			if (comma)
				return fail(p, comma, "a trailing comma before %s", what);
			p->i++;
			p->depth--;
			return true;
		}
		if (object) {
			if (p->s[p->i] == '\'')
				return fail(p, p->i, "keys take double quotes, not single quotes", NULL);
			if (p->s[p->i] != '"')
				return fail(p, p->i,
					    comma ? "expected a key in double quotes, found %s"
						  : "expected a key in double quotes or \"}\", found %s",
					    found(p, p->i, buf, sizeof buf));
			if (!scan_string(p, true))
				return false;
			skip_space(p);
			if (p->s[p->i] != ':')
				return fail(p, p->i, "expected \":\" after the key, found %s",
					    found(p, p->i, buf, sizeof buf));
			p->i++;
		}
		if (!scan_value(p))
			return false;
		skip_space(p);
		if (p->s[p->i] == ',') {
			comma = p->i++;
			continue;
		}
		comma = 0;
		if (!p->s[p->i])
			break;
		if (p->s[p->i] != close) {
			return fail(p, p->i,
				    object ? "expected \",\" or \"}\" after a member, found %s"
					   : "expected \",\" or \"]\" after an element, found %s",
				    found(p, p->i, buf, sizeof buf));
		}
	}
	return fail(p, p->i,
		    object ? "the text ends inside an object: a \"}\" is missing"
			   : "the text ends inside an array: a \"]\" is missing",
		    NULL);
}

static bool scan_value(scan_t *p)
{
	const char *s;
	size_t n;
	char buf[40];

	skip_space(p);
	s = p->s + p->i;
	if (*s == '{' || *s == '[')
		return scan_container(p);
	if (*s == '"')
		return scan_string(p, false);
	if (*s == '-' || (*s >= '0' && *s <= '9'))
		return scan_number(p);
	if (*s == '\'')
		return fail(p, p->i, "strings take double quotes, not single quotes", NULL);
	n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789");
	if (n) {
		if ((n == 4 && (!strncmp(s, "true", 4) || !strncmp(s, "null", 4))) ||
		    (n == 5 && !strncmp(s, "false", 5))) {
			p->i += n;
			return true;
		}
		snprintf(buf, sizeof buf, "%.*s%s", (int)(n > 24 ? 24 : n), s, n > 24 ? "..." : "");
		return fail(p, p->i, "not a JSON value: %s (strings take double quotes)", buf);
	}
	if (!*s)
		return fail(p, p->i, "the text ends where a value was expected", NULL);
	return fail(p, p->i, "expected a value, found %s", found(p, p->i, buf, sizeof buf));
}

/* Line and column (1-based, in characters) of byte `at`. */
static void position(const char *s, size_t at, size_t *line, size_t *col)
{
	size_t i;

	*line = *col = 1;
	for (i = 0; i < at && s[i]; i++) {
		if (s[i] == '\n') {
			++*line;
			*col = 1;
		} else if (((unsigned char)s[i] & 0xc0) != 0x80) {
			++*col;
		}
	}
}

int migrate__json_syntax(const char *json, int top, size_t *line, size_t *col, char *msg, size_t size)
{
	scan_t p;
	char buf[32];

	memset(&p, 0, sizeof p);
	p.s = json;
	p.msg = msg;
	p.size = size;
	skip_space(&p);
	if (top && json[p.i] != top)
		fail(&p, p.i, top == '{' ? "expected an object, found %s" : "expected an array, found %s",
		     found(&p, p.i, buf, sizeof buf));
	else if (scan_value(&p)) {
		skip_space(&p);
		if (!json[p.i])
			return 0;
		fail(&p, p.i, "more text after the end of the JSON value, from %s", found(&p, p.i, buf, sizeof buf));
	}
	position(json, p.at, line, col);
	return -1;
}
