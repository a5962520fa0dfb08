/*
 * Passwords out of messages: a URL shown without its password (from the
 * parsed URL, and conservatively when it cannot be parsed), and a driver's
 * error text cleaned of the URL and of the passwords it holds.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define MASK "****"

static int decode(const char *s, size_t n, int plus_is_space, char *out, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (n - i < 3 || migrate__hex_value(s[i + 1]) < 0 || migrate__hex_value(s[i + 2]) < 0)
				return -1;
			c = migrate__hex_value(s[i + 1]) * 16 + migrate__hex_value(s[i + 2]);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (o + 1 >= size || c == 0)
			return -1;
		out[o++] = (char)c;
	}
	if (!size)
		return -1;
	out[o] = '\0';
	return 0;
}

int migrate__url_decode(const char *s, size_t n, char *out, size_t size)
{
	return decode(s, n, 0, out, size);
}

int migrate__url_decode_query(const char *s, size_t n, char *out, size_t size)
{
	return decode(s, n, 1, out, size);
}

/*
 * Whether a parameter key names a secret, encoded or not: a password
 * ("password", "sslpassword", "PassWord" ...) or MongoDB's
 * authMechanismProperties, which carries MONGODB-AWS's AWS_SESSION_TOKEN.
 */
static bool secret_key(const char *key, size_t n)
{
	char k[128];
	size_t i;

	if (n >= sizeof k)
		n = sizeof k - 1;
	if (migrate__url_decode(key, n, k, sizeof k) != 0) {
		memcpy(k, key, n);
		k[n] = '\0';
	}
	for (i = 0; k[i]; i++)
		k[i] = (char)tolower((unsigned char)k[i]);
	return strstr(k, "password") != NULL || strcmp(k, "authmechanismproperties") == 0;
}

/* The start of a parameter: after '?', '&' or ';' (and blanks, in libpq's key=value strings). */
static bool param_start(const char *s, const char *p, bool blanks)
{
	if (p == s)
		return blanks;
	return p[-1] == '?' || p[-1] == '&' || p[-1] == ';' || (blanks && isspace((unsigned char)p[-1]));
}

/* The end of the value starting at v: a quoted libpq value ends at its closing quote. */
static const char *value_end(const char *v, bool blanks)
{
	if (blanks && *v == '\'') {
		for (v++; *v && *v != '\''; v++)
			if (*v == '\\' && v[1])
				v++;
		return *v ? v + 1 : v;
	}
	while (*v && *v != '&' && *v != ';' && *v != '#' && !(blanks && isspace((unsigned char)*v)))
		v++;
	return v;
}

/*
 * Whether a password parameter starts at p, in s (a URL's rest, or a
 * key=value string when `blanks`, where libpq allows blanks around the
 * '='); *value receives the start of its value.
 */
static bool secret_param(const char *s, const char *p, bool blanks, const char **value)
{
	const char *key_end = p + strcspn(p, "=&;# \t\n"), *eq = key_end;

	if (!param_start(s, p, blanks))
		return false;
	while (blanks && isspace((unsigned char)*eq))
		eq++;
	if (*eq != '=' || !secret_key(p, (size_t)(key_end - p)))
		return false;
	for (*value = eq + 1; blanks && isspace((unsigned char)**value); (*value)++)
		;
	return true;
}

/* Calls fn on the value of every password parameter of s (as for secret_param). */
static void each_secret_param(const char *s, bool blanks, void (*fn)(const char *v, size_t n, void *arg), void *arg)
{
	const char *p, *v, *end;

	for (p = s; *p; p++) {
		if (!secret_param(s, p, blanks, &v))
			continue;
		end = value_end(v, blanks);
		fn(v, (size_t)(end - v), arg);
		p = end > p ? end - 1 : p;
	}
}

/* A host list ("h1:5432,[::1]:5433") whose every ':' is a port of digits: nothing else hides in it. */
static bool plain_hosts(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (s[i] == '[') {
			const char *close = memchr(s + i, ']', n - i);
			if (!close)
				return false;
			i = (size_t)(close - s) + 1;
		} else if (s[i] == ':') {
			for (i++; i < n && s[i] != ','; i++)
				if (!isdigit((unsigned char)s[i]))
					return false;
		} else if (s[i] == ']') {
			return false;
		} else {
			i++;
		}
	}
	return true;
}

typedef struct url_parts {
	size_t scheme;   /* length of "scheme://", 0 when the URL has no "//" authority */
	size_t user_end; /* offset of the ':' before the password, or of the '@' when none */
	size_t at;       /* offset of the '@' ending the userinfo, 0 when none */
	bool unsure;     /* the URL does not parse: show none of it */
} url_parts;

/* The length of the scheme the URL starts with (RFC 3986: a letter, then letters, digits, '+', '-', '.'). */
static size_t scheme_length(const char *url)
{
	if (!isalpha((unsigned char)url[0]))
		return 0;
	return strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
}

/*
 * A URL without "//": key=value parameters, or a scheme followed by
 * anything ("postgresql:user:pw@host/db", a missing "//", which libpq takes
 * as a database name and quotes). After a scheme, a ':' then an '@' may
 * hold a password: the URL is unsure.
 */
static url_parts scheme_only(const char *url)
{
	url_parts u = {0, 0, 0, false};
	size_t n = scheme_length(url);
	const char *colon;

	if (n == 0 || url[n] != ':')
		return u;
	colon = strchr(url + n + 1, ':');
	if (colon && strchr(colon, '@')) {
		u.scheme = n + 1;
		u.unsure = true;
	}
	return u;
}

/*
 * Splits "scheme://userinfo@hosts/path?query": the userinfo runs to the
 * LAST '@' before the path, so an unencoded '@' in a password stays in the
 * password. Anything that could be a password that did not parse as one
 * (a '/', '?' or '#' in it, a "port" that is not digits, an unterminated
 * '[') makes the URL unsure.
 */
static url_parts url_parse(const char *url)
{
	url_parts u = {0, 0, 0, false};
	size_t n = scheme_length(url);
	const char *start, *end, *at = NULL, *p, *colon;

	if (n == 0 || strncmp(url + n, "://", 3) != 0)
		return scheme_only(url);
	u.scheme = n + 3;
	start = url + u.scheme;
	end = start + strcspn(start, "/?#");
	for (p = start; p < end; p++)
		if (*p == '@')
			at = p;
	if (at) {
		u.at = (size_t)(at - url);
		colon = memchr(start, ':', (size_t)(at - start));
		u.user_end = colon ? (size_t)(colon - url) : u.at;
		u.unsure = !plain_hosts(at + 1, (size_t)(end - at - 1));
		return u;
	}
	/* No userinfo: unless the hosts are plain, a later '@' may end a password holding '/', '?' or '#'. */
	colon = strchr(start, ':');
	at = strrchr(end, '@');
	u.unsure = !plain_hosts(start, (size_t)(end - start)) || (colon && at && colon < at);
	return u;
}

void migrate__redact_url(const char *url, char *out, size_t out_size)
{
	migrate_buf_t *s;
	url_parts u;
	const char *rest, *p;

	if (!out_size)
		return;
	if (!url)
		url = "";
	u = url_parse(url);
	if (u.unsure) {
		snprintf(out, out_size, "%.*s<redacted>", (int)u.scheme, url);
		return;
	}
	s = migrate__buf_new(NULL);
	if (u.at && u.user_end < u.at)
		migrate_buf_printf(s, "%.*s:" MASK, (int)u.user_end, url);
	else
		migrate_buf_printf(s, "%.*s", (int)(u.at ? u.at : u.scheme), url);
	rest = url + (u.at ? u.at : u.scheme);
	/* Every password parameter's value is masked, however many there are. */
	for (p = rest; *p;) {
		const char *v;
		if (secret_param(rest, p, !u.scheme, &v)) {
			migrate_buf_printf(s, "%.*s" MASK, (int)(v - p), p);
			p = value_end(v, !u.scheme);
		} else {
			migrate_buf_append_c(s, *p++);
		}
	}
	snprintf(out, out_size, "%s", s->str);
	migrate__buf_free(s, true);
}

void migrate_url_redact(const char *url, char *out, size_t out_size)
{
	if (out)
		migrate__redact_url(url, out, out_size);
}

bool migrate__url_password(const char *url, size_t *start, size_t *len)
{
	url_parts u = url_parse(url ? url : "");

	if (!u.at || u.user_end >= u.at)
		return false;
	*start = u.user_end + 1;
	*len = u.at - u.user_end - 1;
	return true;
}

/* Replaces every occurrence of needle[0..n) in `msg` with `with`. */
static void replace_all(char *msg, size_t size, const char *needle, size_t n, const char *with)
{
	migrate_buf_t *s;
	const char *p, *hit;
	char *copy;

	if (!n || n > strlen(msg))
		return;
	s = migrate__buf_new(NULL);
	copy = migrate__strdup(msg);
	if (!copy) {
		/* Failing closed: drop the message rather than risk showing a password. */
		snprintf(msg, size, "(message withheld: out of memory)");
		migrate__buf_free(s, true);
		return;
	}
	for (p = copy; (hit = memmem(p, strlen(p), needle, n)) != NULL; p = hit + n)
		migrate_buf_printf(s, "%.*s%s", (int)(hit - p), p, with);
	migrate_buf_append(s, p);
	snprintf(msg, size, "%s", s->str);
	migrate__buf_free(s, true);
	free(copy);
}

typedef struct scrub_ctx {
	char *msg;
	size_t size;
} scrub_ctx;

/* Removes a password from the message as written in the URL and percent-decoded. */
static void scrub_secret(const char *v, size_t n, void *arg)
{
	scrub_ctx *c = arg;
	char decoded[1024];

	replace_all(c->msg, c->size, v, n, MASK);
	if (n < sizeof decoded && migrate__url_decode(v, n, decoded, sizeof decoded) == 0)
		replace_all(c->msg, c->size, decoded, strlen(decoded), MASK);
}

void migrate__scrub(char *msg, size_t size, const char *url)
{
	char redacted[1024];
	scrub_ctx c = {msg, size};
	url_parts u;
	size_t start, len;

	if (!msg || !size || !url || !*url)
		return;
	migrate__redact_url(url, redacted, sizeof redacted);
	u = url_parse(url);
	if (u.unsure) {
		/* Which part is the password is not known: none of the text can be trusted. */
		snprintf(msg, size,
			 "%s: the error text is withheld, as the URL does not parse cleanly (percent-encode the "
			 "special characters of its password, such as / ? # @ %% [ ])",
			 redacted);
		return;
	}
	replace_all(msg, size, url, strlen(url), redacted);
	if (migrate__url_password(url, &start, &len))
		scrub_secret(url + start, len, &c);
	each_secret_param(url + (u.at ? u.at : u.scheme), !u.scheme, scrub_secret, &c);
}
