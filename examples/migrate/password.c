/*
 * --password-file FILE: the password comes from the first line of a file
 * (a mounted secret, a file only the deploying user reads), never from the
 * command line, where `ps`, shell history and CI logs would show it. It is
 * put into the URL's user part, percent-encoded, and the copy is wiped once
 * the target is open.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define PASSWORD_MAX 1024

/* The first line of `path` without its line end; 0, or a usage error already reported. */
static int read_password(cli_t *c, const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;
	int complete;

	if (!f)
		return cli_usage_error(c, "--password-file %s: %s", path, strerror(errno));
	if (!fgets(out, (int)size, f))
		out[0] = '\0';
	n = strlen(out);
	complete = n < size - 1 || out[n - 1] == '\n' || feof(f);
	fclose(f);
	if (!complete)
		return cli_usage_error(c, "--password-file %s: the first line is longer than %d bytes", path,
				       PASSWORD_MAX - 2);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	if (n == 0)
		return cli_usage_error(c, "--password-file %s: the first line is empty", path);
	return 0;
}

/* A memset the compiler may not drop as a dead store. */
static void wipe(char *s, size_t n)
{
	volatile char *p = s;

	while (n--)
		*p++ = '\0';
}

static void append_encoded(char *out, size_t *len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("-._~", ch)) {
			out[(*len)++] = (char)ch;
		} else {
			out[(*len)++] = '%';
			out[(*len)++] = hex[ch >> 4];
			out[(*len)++] = hex[ch & 15];
		}
	}
}

int cli_apply_password_file(cli_t *c, const char *path)
{
	char password[PASSWORD_MAX];
	const char *authority, *end, *at, *colon;
	size_t len = 0, size;
	int rc;

	if ((rc = read_password(c, path, password, sizeof password)))
		return rc;
	authority = strstr(c->url, "://");
	if (strncmp(c->url, "sqlite:", 7) == 0 || !authority) {
		/* SQLite has no password: the file is read (so a wrong path still fails) and the password dropped. */
		wipe(password, sizeof password);
		if (!c->quiet && !c->json)
			fprintf(stderr,
				"migrate: warning: --password-file: a %.*s URL takes no password; it is not used\n",
				(int)strcspn(c->url, ":"), c->url);
		return 0;
	}
	authority += 3;
	end = authority + strcspn(authority, "/?#");
	/* The userinfo ends at the last '@' before the path, as migrate_url_redact() reads it. */
	for (at = NULL, colon = authority; colon < end; colon++)
		if (*colon == '@')
			at = colon;
	colon = at ? memchr(authority, ':', (size_t)(at - authority)) : NULL;
	if (colon) {
		wipe(password, sizeof password);
		return cli_usage_error(c, "--password-file: the URL has a password already; give it in one place");
	}
	size = strlen(c->url) + 3 * strlen(password) + 3;
	if (!(c->url_owned = malloc(size))) {
		wipe(password, sizeof password);
		return cli_usage_error(c, "out of memory");
	}
	/* scheme://[user]:PASSWORD@host...: after the user when there is one, else before the host. */
	len = (size_t)((at ? at : authority) - c->url);
	memcpy(c->url_owned, c->url, len);
	c->url_owned[len++] = ':';
	append_encoded(c->url_owned, &len, password);
	if (!at)
		c->url_owned[len++] = '@';
	strcpy(c->url_owned + len, at ? at : authority);
	wipe(password, sizeof password);
	c->url = c->url_owned;
	return 0;
}

void cli_wipe_url(cli_t *c)
{
	if (!c->url_owned)
		return;
	wipe(c->url_owned, strlen(c->url_owned));
	free(c->url_owned);
	c->url_owned = NULL;
	c->url = "";
}
