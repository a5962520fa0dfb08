/*
 * A PostgreSQL frontend of the library's own, for one read: `check`'s
 * statement on the history (MIGRATE_OPEN_CHECK, probe.c), without loading
 * the PostgreSQL module and libpq. Loading libpq and its TLS, Kerberos and
 * LDAP libraries is about half of a start-up probe's time; the read itself
 * needs a socket, the startup message and one extended-protocol exchange.
 *
 * It is an accelerator, never a second way to fail: it takes only URLs
 * whose meaning it knows exactly as libpq reads them (one host name, IPv4
 * address or socket directory, a port, user, password, database, sslmode
 * disable, allow or prefer, application_name, migrate_schema), no PG*
 * environment variable but PGPASSWORD, and no Kerberos set-up. Anything
 * else it meets (a server that offers TLS, an authentication other than
 * trust, a cleartext password or SCRAM-SHA-256, an error, a short read)
 * makes it give up, and the caller goes through libpq
 * as migrate_target_open() does, which then reports what there is to
 * report. Its rows reach the caller only once the whole read succeeded.
 */
#include "internal.h"

#ifdef MIGRATE_HAVE_POSTGRES
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sql/sql.h"

#define PGW_PROTOCOL 196608u       /* 3.0 */
#define PGW_SSL_REQUEST 80877103u  /* the SSLRequest code */
#define PGW_MAX_MESSAGE (1u << 20) /* longer: not the reply of a history read */

/* What the URL asks for, as libpq would read it. */
typedef struct pgw_url {
	char host[256], port[8], user[256], password[1024], dbname[256], appname[256], schema[256];
	/* host: a name, an IPv4 address, or (from '/') a socket directory */
	bool ssl_request; /* sslmode prefer: ask for TLS first (a server that grants it is libpq's) */
	bool schema_set;  /* migrate_schema given */
} pgw_url;

typedef struct pgw_row {
	uint64_t version;
	char *checksum; /* NULL for SQL NULL */
	int state;
} pgw_row;

struct migrate__pgw {
	int fd;
	char *history; /* the history table, schema-qualified and quoted */
	unsigned char *in;
	size_t in_len, in_pos, in_cap;
};

/* ---- the URL ---- */

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* The host of the URL (%-encoded) or of its host parameter (decoded):
 * one name or IPv4 address, or a socket directory (an absolute path). */
static bool url_host(pgw_url *u, const char *s, size_t n)
{
	char host[sizeof u->host];
	size_t i;

	if (migrate__url_decode(s, n, host, sizeof host) != 0 || !host[0])
		return false;
	for (i = 0; host[i]; i++)
		if (host[0] == '/' ? host[i] == ',' : !host_char(host[i]))
			return false; /* a list of hosts, [IPv6] */
	memcpy(u->host, host, sizeof host);
	return true;
}

/* A query parameter; false when the URL asks for something only libpq does. */
static bool url_param(pgw_url *u, const char *p, size_t n)
{
	const char *eq = memchr(p, '=', n);
	bool ours = n > 8 && strncmp(p, "migrate_", 8) == 0; /* as the driver tells them: by the raw text */
	char key[64], value[256];
	size_t vn;

	/* libpq decodes %XX alone; the driver's own parameters take '+' for a blank too. */
	if (!eq)
		return false;
	vn = n - (size_t)(eq + 1 - p);
	if (ours ? migrate__url_decode_query(p, (size_t)(eq - p), key, sizeof key) != 0 ||
			    migrate__url_decode_query(eq + 1, vn, value, sizeof value) != 0
		 : migrate__url_decode(p, (size_t)(eq - p), key, sizeof key) != 0 ||
			    migrate__url_decode(eq + 1, vn, value, sizeof value) != 0)
		return false;
	if (!ours && strncmp(key, "migrate_", 8) == 0)
		return false; /* libpq's to refuse: the driver passes it on */
	if (strcmp(key, "sslmode") == 0) {
		if (strcmp(value, "disable") != 0 && strcmp(value, "allow") != 0 && strcmp(value, "prefer") != 0)
			return false;
		u->ssl_request = strcmp(value, "prefer") == 0;
		return true;
	}
	if (strcmp(key, "host") == 0) /* decoded already: a '%' left would be decoded twice */
		return !strchr(value, '%') && url_host(u, value, strlen(value));
	if (strcmp(key, "application_name") == 0)
		return snprintf(u->appname, sizeof u->appname, "%s", value) < (int)sizeof u->appname;
	if (ours && strcmp(key, "migrate_schema") == 0) {
		u->schema_set = true; /* the driver checks it: empty, too long */
		return snprintf(u->schema, sizeof u->schema, "%s", value) < (int)sizeof u->schema;
	}
	/* Any other libpq parameter, or a libmigrate one the driver checks. */
	return false;
}

/* The environment libpq would read: nothing of it but PGPASSWORD, and no Kerberos. */
static bool plain_environment(void)
{
	char ccache[64];
	char **e;

	for (e = environ; e && *e; e++)
		if (strncmp(*e, "PG", 2) == 0 && strncmp(*e, "PGPASSWORD=", 11) != 0)
			return false;
	if (getenv("KRB5CCNAME") || getenv("KRB5_CONFIG") || getenv("KRB5_CLIENT_KTNAME") ||
	    access("/etc/krb5.conf", F_OK) == 0)
		return false;
	snprintf(ccache, sizeof ccache, "/tmp/krb5cc_%lu", (unsigned long)getuid());
	if (access(ccache, F_OK) == 0)
		return false;
	snprintf(ccache, sizeof ccache, "/tmp/krb5cc_%lu", (unsigned long)geteuid());
	return access(ccache, F_OK) != 0;
}

static bool url_parse(const char *url, pgw_url *u, const char **why)
{
	const char *p, *auth, *end, *at, *colon, *host, *pw, *bad;
	size_t n;

	memset(u, 0, sizeof *u);
	u->ssl_request = true;
	*why = "the URL asks for what only libpq does";
	if (strncmp(url, "postgresql://", 13) == 0)
		auth = url + 13;
	else if (strncmp(url, "postgres://", 11) == 0)
		auth = url + 11;
	else
		return false;
	end = auth + strcspn(auth, "/?");
	at = memchr(auth, '@', (size_t)(end - auth));
	/* libpq ends the userinfo at the first '/' only: one more '@' before it, even after a '?', is its to read. */
	if (memchr(at ? at + 1 : auth, '@', strcspn(at ? at + 1 : auth, "/")))
		return false;
	host = auth;
	if (at) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (migrate__url_decode(auth, (size_t)((colon ? colon : at) - auth), u->user, sizeof u->user) != 0)
			return false;
		if (colon && migrate__url_decode(colon + 1, (size_t)(at - colon - 1), u->password, sizeof u->password))
			return false;
		host = at + 1;
	}
	colon = memchr(host, ':', (size_t)(end - host));
	n = (size_t)((colon ? colon : end) - host);
	if (n > 0 && !url_host(u, host, n))
		return false;
	if (colon) {
		long port;
		n = (size_t)(end - colon - 1);
		if (n == 0 || n > 10 || strspn(colon + 1, "0123456789") < n)
			return false;
		port = strtol(colon + 1, NULL, 10);
		if (port < 1 || port > 65535)
			return false;
		/* As libpq reads it: a socket's name has no leading 0. */
		snprintf(u->port, sizeof u->port, "%ld", port);
	} else {
		memcpy(u->port, "5432", 5);
	}
	p = end;
	if (*p == '/') {
		n = strcspn(p + 1, "?");
		if (migrate__url_decode(p + 1, n, u->dbname, sizeof u->dbname) != 0)
			return false;
		p += 1 + n;
	}
	if (*p == '?') {
		for (p++; *p;) {
			n = strcspn(p, "&");
			if (!url_param(u, p, n))
				return false;
			p += n + (p[n] == '&');
		}
	}
	if (!u->host[0])
		return false; /* libpq's default socket directory is libpq's to know */
	if (u->schema_set && !migrate__ident_ok(u->schema, strlen(u->schema), &bad))
		return false; /* the driver's error to give */
	if (!plain_environment()) {
		*why = "libpq's environment variables or Kerberos are set";
		return false;
	}
	if (!u->user[0]) {
		/* libpq's default user: the operating system's name for this process's user. */
		struct passwd pwd, *found = NULL;
		char buf[1024];
		if (getpwuid_r(geteuid(), &pwd, buf, sizeof buf, &found) != 0 || !found ||
		    snprintf(u->user, sizeof u->user, "%s", found->pw_name) >= (int)sizeof u->user)
			return false;
	}
	if (!u->dbname[0])
		snprintf(u->dbname, sizeof u->dbname, "%s", u->user);
	if (!u->password[0] && (pw = getenv("PGPASSWORD")) != NULL &&
	    snprintf(u->password, sizeof u->password, "%s", pw) >= (int)sizeof u->password)
		return false;
	return true;
}

/* ---- messages ---- */

static void put32(migrate_buf_t *b, uint32_t v)
{
	migrate_buf_append_c(b, (char)(v >> 24));
	migrate_buf_append_c(b, (char)(v >> 16));
	migrate_buf_append_c(b, (char)(v >> 8));
	migrate_buf_append_c(b, (char)v);
}

static void put16(migrate_buf_t *b, uint16_t v)
{
	migrate_buf_append_c(b, (char)(v >> 8));
	migrate_buf_append_c(b, (char)v);
}

static void put_str(migrate_buf_t *b, const char *s)
{
	migrate_buf_append(b, s);
	migrate_buf_append_c(b, '\0');
}

/* Starts a message of `type` (0: the untyped startup kind); end_msg() fills its length. */
static size_t begin_msg(migrate_buf_t *b, char type)
{
	size_t at;

	if (type)
		migrate_buf_append_c(b, type);
	at = b->len;
	put32(b, 0);
	return at;
}

static void end_msg(migrate_buf_t *b, size_t at)
{
	uint32_t n = (uint32_t)(b->len - at);

	if (b->failed)
		return;
	b->str[at] = (char)(n >> 24);
	b->str[at + 1] = (char)(n >> 16);
	b->str[at + 2] = (char)(n >> 8);
	b->str[at + 3] = (char)n;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int send_all(migrate__pgw *w, const void *data, size_t n)
{
	const char *p = data;
	ssize_t k;

	while (n > 0) {
		k = send(w->fd, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Sends the messages in `b` and frees it, wiped: some hold a password or a proof. */
static int send_buf(migrate__pgw *w, migrate_buf_t *b)
{
	int rc = b->failed ? -1 : send_all(w, b->str, b->len);

	explicit_bzero(b->str, b->len);
	migrate__buf_free(b, true);
	return rc;
}

/* Makes `need` bytes readable at in_pos. */
static int fill(migrate__pgw *w, size_t need)
{
	ssize_t k;

	if (w->in_pos > 0 && w->in_len - w->in_pos < need) {
		memmove(w->in, w->in + w->in_pos, w->in_len - w->in_pos);
		w->in_len -= w->in_pos;
		w->in_pos = 0;
	}
	if (need > w->in_cap - w->in_pos) {
		size_t cap = w->in_cap ? w->in_cap : 16384;
		unsigned char *in;
		while (cap < w->in_pos + need)
			cap *= 2;
		if (!(in = migrate__realloc(w->in, cap)))
			return -1;
		w->in = in;
		w->in_cap = cap;
	}
	while (w->in_len - w->in_pos < need) {
		k = recv(w->fd, w->in + w->in_len, w->in_cap - w->in_len, 0);
		if (k <= 0)
			return -1;
		w->in_len += (size_t)k;
	}
	return 0;
}

/* The next message: its type, its body and the body's length. */
static int next_msg(migrate__pgw *w, char *type, const unsigned char **body, size_t *len)
{
	uint32_t n;

	if (fill(w, 5) != 0)
		return -1;
	n = get32(w->in + w->in_pos + 1);
	if (n < 4 || n > PGW_MAX_MESSAGE || fill(w, 1 + (size_t)n) != 0)
		return -1;
	*type = (char)w->in[w->in_pos];
	*body = w->in + w->in_pos + 5;
	*len = n - 4;
	w->in_pos += 1 + (size_t)n;
	return 0;
}

/* The SQLSTATE of an ErrorResponse body, "" when it has none. */
static void error_state(const unsigned char *body, size_t len, char out[6])
{
	size_t i = 0, n;

	out[0] = '\0';
	while (i < len && body[i]) {
		char field = (char)body[i++];
		n = strnlen((const char *)body + i, len - i);
		if (field == 'C' && n == 5 && i + 5 < len) {
			memcpy(out, body + i, 5);
			out[5] = '\0';
		}
		i += n + 1;
	}
}

/* ---- connecting ---- */

static int dial(const pgw_url *u)
{
	struct addrinfo hints, *res = NULL, *a;
	int fd = -1, one = 1;

	if (u->host[0] == '/') {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		if (snprintf(sun.sun_path, sizeof sun.sun_path, "%s/.s.PGSQL.%s", u->host, u->port) >=
			    (int)sizeof sun.sun_path ||
		    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return -1;
		if (connect(fd, (const struct sockaddr *)&sun, sizeof sun) != 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(u->host, u->port, &hints, &res) != 0)
		return -1;
	for (a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int startup(migrate__pgw *w, const pgw_url *u, const char **why)
{
	migrate_buf_t *b;
	size_t at;

	/* libpq asks for TLS over TCP only. */
	if (u->ssl_request && u->host[0] != '/') {
		unsigned char reply;
		b = migrate__buf_new(NULL);
		at = begin_msg(b, 0);
		put32(b, PGW_SSL_REQUEST);
		end_msg(b, at);
		/* 'N': no TLS, go on in the clear as libpq does; 'S' is libpq's to take. */
		if (send_buf(w, b) != 0 || recv(w->fd, &reply, 1, 0) != 1)
			return -1;
		if (reply != 'N') {
			*why = reply == 'S' ? "the server offers TLS" : "the server's reply to SSLRequest";
			return -1;
		}
	}
	b = migrate__buf_new(NULL);
	at = begin_msg(b, 0);
	put32(b, PGW_PROTOCOL);
	put_str(b, "user");
	put_str(b, u->user);
	put_str(b, "database");
	put_str(b, u->dbname);
	put_str(b, "application_name");
	put_str(b, u->appname[0] ? u->appname : "libmigrate");
	put_str(b, "client_encoding");
	put_str(b, "UTF8");
	migrate_buf_append_c(b, '\0');
	end_msg(b, at);
	return send_buf(w, b);
}

/* ---- SCRAM-SHA-256 (RFC 5802, RFC 7677) as libpq does it without TLS: no channel binding ---- */

#define SCRAM_NONCE 18        /* random bytes of the client's nonce, as libpq */
#define SCRAM_MAX_ITER 100000 /* more: libpq's (an unusual server, and its cost is the same) */

typedef struct hmac {
	migrate__sha256_ctx inner, outer; /* after the key's padded blocks */
} hmac_t;

static void hmac_key(hmac_t *m, const void *key, size_t n)
{
	unsigned char k[64], pad[64];
	size_t i;

	memset(k, 0, sizeof k);
	if (n > sizeof k) {
		migrate__sha256_init(&m->inner);
		migrate__sha256_update(&m->inner, key, n);
		migrate__sha256_final(&m->inner, k);
	} else {
		memcpy(k, key, n);
	}
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	migrate__sha256_init(&m->inner);
	migrate__sha256_update(&m->inner, pad, 64);
	for (i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	migrate__sha256_init(&m->outer);
	migrate__sha256_update(&m->outer, pad, 64);
	explicit_bzero(k, sizeof k);
	explicit_bzero(pad, sizeof pad);
}

static void hmac_sum(const hmac_t *m, const void *a, size_t an, const void *b, size_t bn, unsigned char out[32])
{
	migrate__sha256_ctx c = m->inner;
	unsigned char in[32];

	migrate__sha256_update(&c, a, an);
	migrate__sha256_update(&c, b, bn);
	migrate__sha256_final(&c, in);
	c = m->outer;
	migrate__sha256_update(&c, in, sizeof in);
	migrate__sha256_final(&c, out);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(migrate_buf_t *out, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		migrate_buf_append_c(out, b64[v >> 18]);
		migrate_buf_append_c(out, b64[(v >> 12) & 63]);
		migrate_buf_append_c(out, b64[(v >> 6) & 63]);
		migrate_buf_append_c(out, b64[v & 63]);
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		migrate_buf_append_c(out, b64[v >> 18]);
		migrate_buf_append_c(out, b64[(v >> 12) & 63]);
		if (i + 1 < n)
			migrate_buf_append_c(out, b64[(v >> 6) & 63]);
		else
			migrate_buf_append_c(out, '=');
		migrate_buf_append_c(out, '=');
	}
}

/* Strict base64 of s[0..n) into out (at most `size` bytes): its length, or -1. */
static long b64_decode(const char *s, size_t n, unsigned char *out, size_t size)
{
	uint32_t v = 0;
	size_t i, len = 0, pad = 0;
	int bits = 0;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *c = s[i] ? strchr(b64, s[i]) : NULL;
		if (s[i] == '=' && i >= n - 2) {
			pad++;
			continue;
		}
		if (!c || pad)
			return -1;
		v = v << 6 | (uint32_t)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (len == size)
				return -1;
			out[len++] = (unsigned char)(v >> bits);
		}
	}
	return (long)len;
}

/* The server's next SASL message of `kind` (11 continue, 12 final) into `out`. */
static int sasl_message(migrate__pgw *w, uint32_t kind, char *out, size_t size)
{
	const unsigned char *body;
	size_t len;
	char type;

	if (next_msg(w, &type, &body, &len) != 0 || type != 'R' || len < 4 || get32(body) != kind || len - 4 >= size ||
	    memchr(body + 4, '\0', len - 4))
		return -1;
	memcpy(out, body + 4, len - 4);
	out[len - 4] = '\0';
	return 0;
}

static int scram(migrate__pgw *w, const pgw_url *u, const unsigned char *mechs, size_t mlen, const char **why)
{
	unsigned char nonce[SCRAM_NONCE], salt[128], salted[32], u_i[32], client_key[32], stored[32], server_key[32],
		sig[32], proof[32], verify[32];
	char first[1024], final_msg[1024], cnonce[40];
	const char *r, *sv, *iv, *v;
	size_t rn, sn, in, vn, i, at, k;
	migrate_buf_t *b, *bare, *auth;
	long salt_len, iter;
	hmac_t m;
	int rc = -1;

	for (i = 0; i < mlen && mechs[i]; i += k + 1) {
		k = strnlen((const char *)mechs + i, mlen - i);
		if (k == 13 && memcmp(mechs + i, "SCRAM-SHA-256", 13) == 0)
			break;
	}
	if (i >= mlen || !mechs[i]) {
		*why = "the server asks for a SASL mechanism only libpq does";
		return -1;
	}
	if (!u->password[0]) {
		*why = "the server asks for a password the URL does not give";
		return -1;
	}
	for (i = 0; u->password[i]; i++)
		if ((unsigned char)u->password[i] >= 0x80) {
			*why = "the password is not ASCII (its SASLprep is libpq's)";
			return -1;
		}
	*why = "the server's SCRAM exchange";
	if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
		return -1;
	b = migrate__buf_new(NULL);
	b64_encode(b, nonce, sizeof nonce);
	snprintf(cnonce, sizeof cnonce, "%s", b->str);
	migrate__buf_free(b, true);
	bare = migrate__buf_new(NULL);
	migrate_buf_printf(bare, "n=,r=%s", cnonce);
	b = migrate__buf_new(NULL);
	at = begin_msg(b, 'p');
	put_str(b, "SCRAM-SHA-256");
	put32(b, (uint32_t)(3 + bare->len));
	migrate_buf_append(b, "n,,");
	migrate_buf_append(b, bare->str);
	end_msg(b, at);
	auth = migrate__buf_new(NULL);
	if (send_buf(w, b) != 0 || sasl_message(w, 11, first, sizeof first) != 0)
		goto done;
	/* r, s and i in this order, as libpq reads them (an extension first, m=, is refused). */
	r = strncmp(first, "r=", 2) == 0 ? first + 2 : NULL;
	rn = r ? strcspn(r, ",") : 0;
	sv = r && strncmp(r + rn, ",s=", 3) == 0 ? r + rn + 3 : NULL;
	sn = sv ? strcspn(sv, ",") : 0;
	iv = sv && strncmp(sv + sn, ",i=", 3) == 0 ? sv + sn + 3 : NULL;
	in = iv ? strcspn(iv, ",") : 0;
	if (!r || !sv || !iv || rn <= strlen(cnonce) || strncmp(r, cnonce, strlen(cnonce)) != 0 || in == 0 || in > 6 ||
	    strspn(iv, "0123456789") != in || (salt_len = b64_decode(sv, sn, salt, sizeof salt)) <= 0)
		goto done;
	iter = strtol(iv, NULL, 10);
	if (iter < 1 || iter > SCRAM_MAX_ITER)
		goto done;
	/* SaltedPassword = Hi(password, salt, i): PBKDF2 with HMAC-SHA-256. */
	hmac_key(&m, u->password, strlen(u->password));
	hmac_sum(&m, salt, (size_t)salt_len, "\0\0\0\1", 4, u_i);
	memcpy(salted, u_i, sizeof salted);
	for (k = 1; k < (size_t)iter; k++) {
		hmac_sum(&m, u_i, sizeof u_i, "", 0, u_i);
		for (i = 0; i < sizeof salted; i++)
			salted[i] ^= u_i[i];
	}
	hmac_key(&m, salted, sizeof salted);
	hmac_sum(&m, "Client Key", 10, "", 0, client_key);
	hmac_sum(&m, "Server Key", 10, "", 0, server_key);
	migrate__sha256_init(&m.inner);
	migrate__sha256_update(&m.inner, client_key, sizeof client_key);
	migrate__sha256_final(&m.inner, stored);
	migrate_buf_printf(auth, "%s,%s,c=biws,r=%.*s", bare->str, first, (int)rn, r);
	hmac_key(&m, stored, sizeof stored);
	hmac_sum(&m, auth->str, auth->len, "", 0, sig);
	for (i = 0; i < sizeof proof; i++)
		proof[i] = client_key[i] ^ sig[i];
	hmac_key(&m, server_key, sizeof server_key);
	hmac_sum(&m, auth->str, auth->len, "", 0, sig); /* the server's signature, to check */
	if (auth->failed || bare->failed)
		goto done;
	b = migrate__buf_new(NULL);
	at = begin_msg(b, 'p');
	migrate_buf_printf(b, "c=biws,r=%.*s,p=", (int)rn, r);
	b64_encode(b, proof, sizeof proof);
	end_msg(b, at);
	if (send_buf(w, b) != 0 || sasl_message(w, 12, final_msg, sizeof final_msg) != 0)
		goto done;
	/* The server proves it knows the password too: otherwise the read is libpq's to refuse. */
	v = strncmp(final_msg, "v=", 2) == 0 ? final_msg + 2 : NULL;
	vn = v ? strcspn(v, ",") : 0;
	k = !v || b64_decode(v, vn, verify, sizeof verify) != 32;
	if (!k)
		for (i = 0; i < 32; i++) /* every byte, whatever the first ones are */
			k |= (size_t)(verify[i] ^ sig[i]);
	if (k != 0) {
		*why = "the server's SCRAM signature does not verify";
		goto done;
	}
	rc = 0;
done:
	explicit_bzero(&m, sizeof m);
	explicit_bzero(salted, sizeof salted);
	explicit_bzero(u_i, sizeof u_i);
	explicit_bzero(client_key, sizeof client_key);
	explicit_bzero(stored, sizeof stored);
	explicit_bzero(server_key, sizeof server_key);
	explicit_bzero(proof, sizeof proof);
	migrate__buf_free(bare, true);
	migrate__buf_free(auth, true);
	return rc;
}

static int authenticate(migrate__pgw *w, const pgw_url *u, const char **why)
{
	const unsigned char *body;
	bool sasl_done = false;
	migrate_buf_t *b;
	size_t len, at;
	char type;

	for (;;) {
		if (next_msg(w, &type, &body, &len) != 0 || type != 'R' || len < 4)
			return -1;
		switch (get32(body)) {
		case 0: /* AuthenticationOk */ return 0;
		case 3: /* AuthenticationCleartextPassword */
			if (!u->password[0]) {
				*why = "the server asks for a password the URL does not give";
				return -1; /* libpq's: it may find one in the password file */
			}
			b = migrate__buf_new(NULL);
			at = begin_msg(b, 'p');
			put_str(b, u->password);
			end_msg(b, at);
			if (send_buf(w, b) != 0)
				return -1;
			break;
		case 10: /* AuthenticationSASL: the mechanisms follow; once, as libpq takes it */
			if (sasl_done) {
				*why = "the server asks for SASL authentication twice";
				return -1;
			}
			sasl_done = true;
			if (scram(w, u, body + 4, len - 4, why) != 0)
				return -1;
			break;
		case 5: *why = "the server asks for MD5 authentication"; return -1;
		default: /* GSS, SSPI */ *why = "the server asks for an authentication only libpq does"; return -1;
		}
	}
}

/* Until ReadyForQuery: parameter statuses, the key data, notices. */
static int ready(migrate__pgw *w)
{
	const unsigned char *body;
	size_t len;
	char type;

	for (;;) {
		if (next_msg(w, &type, &body, &len) != 0)
			return -1;
		if (type == 'Z')
			return 0;
		if (type != 'S' && type != 'K' && type != 'N')
			return -1;
	}
}

int migrate__pgw_connect(const char *url, migrate__pgw **out, const char **why)
{
	migrate__pgw *w;
	migrate_buf_t *s;
	pgw_url u;
	int rc;

	*out = NULL;
	if (!url_parse(url, &u, why)) {
		explicit_bzero(u.password, sizeof u.password);
		return -1;
	}
	*why = "an injected fault";
	if (migrate__fault(MIGRATE__FAULT_STMT, "postgres: connecting without libpq", NULL) ||
	    (*why = "out of memory", !(w = migrate__calloc(1, sizeof *w)))) {
		explicit_bzero(u.password, sizeof u.password);
		return -1;
	}
	s = migrate__buf_new(NULL);
	migrate__sql_quote_ident(s, u.schema[0] ? u.schema : "public");
	migrate_buf_append(s, ".\"_migrate_history\"");
	w->history = migrate__buf_free(s, false);
	w->fd = w->history ? dial(&u) : -1;
	if (w->history && w->fd < 0)
		*why = "no connection to the server";
	else if (w->history)
		*why = "the server's reply";
	rc = w->fd < 0 || startup(w, &u, why) != 0 || authenticate(w, &u, why) != 0 || ready(w) != 0 ? -1 : 0;
	explicit_bzero(u.password, sizeof u.password);
	if (rc) {
		migrate__pgw_close(w);
		return -1;
	}
	*out = w;
	return 0;
}

void migrate__pgw_close(migrate__pgw *w)
{
	static const unsigned char terminate[5] = {'X', 0, 0, 0, 4};

	if (!w)
		return;
	if (w->fd >= 0) {
		(void)send(w->fd, terminate, sizeof terminate, MSG_NOSIGNAL);
		close(w->fd);
	}
	free(w->history);
	free(w->in);
	free(w);
}

/* ---- the read ---- */

/* A DataRow of (version, checksum, state) into `row`. */
static int data_row(const unsigned char *body, size_t len, pgw_row *row)
{
	char text[3][72];
	bool null[3];
	size_t i = 2, k;
	uint32_t n;

	if (len < 2 || (body[0] << 8 | body[1]) != 3)
		return -1;
	for (k = 0; k < 3; k++) {
		if (i + 4 > len)
			return -1;
		n = get32(body + i);
		i += 4;
		null[k] = n == 0xffffffffu;
		if (null[k]) {
			text[k][0] = '\0';
			continue;
		}
		if (n >= sizeof text[k] || i + n > len || memchr(body + i, '\0', n))
			return -1;
		memcpy(text[k], body + i, n);
		text[k][n] = '\0';
		i += n;
	}
	if (null[0])
		return -1;
	row->version = strtoull(text[0], NULL, 10);
	row->state = migrate__state_from_name(text[2]);
	row->checksum = null[1] ? NULL : migrate__strdup(text[1]);
	return null[1] || row->checksum ? 0 : -1;
}

static void rows_free(pgw_row *rows, size_t n)
{
	while (n--)
		free(rows[n].checksum);
	free(rows);
}

int migrate__pgw_states(migrate__pgw *w, const char *plan, migrate_record_fn fn, void *ctx, bool *gave_up)
{
	const unsigned char *body;
	pgw_row *rows = NULL, *grown;
	size_t nrows = 0, cap = 0, len, at, i;
	migrate_buf_t *b, *sql;
	char type, state[6] = "";
	int rc = 0, failed = 0;

	*gave_up = true;
	if (migrate__fault(MIGRATE__FAULT_STMT, "postgres: reading the history without libpq", NULL))
		return 0;
	sql = migrate__buf_new(NULL);
	migrate_buf_printf(sql, MIGRATE__PG_STATES_SQL, w->history);
	b = migrate__buf_new(NULL);
	at = begin_msg(b, 'P');
	put_str(b, "");
	put_str(b, sql->str);
	put16(b, 0);
	end_msg(b, at);
	at = begin_msg(b, 'B');
	put_str(b, "");
	put_str(b, "");
	put16(b, 0);
	put16(b, 1);
	put32(b, (uint32_t)strlen(plan));
	migrate_buf_append(b, plan);
	put16(b, 0);
	end_msg(b, at);
	at = begin_msg(b, 'E');
	put_str(b, "");
	put32(b, 0);
	end_msg(b, at);
	at = begin_msg(b, 'S');
	end_msg(b, at);
	if (sql->failed)
		b->failed = 1;
	else if (migrate__log_enabled(MIGRATE_LOG_DEBUG))
		migrate__log(MIGRATE_LOG_DEBUG, "postgres: %s (with parameters)", sql->str);
	migrate__buf_free(sql, true);
	if (send_buf(w, b) != 0)
		return 0;
	for (;;) {
		if (next_msg(w, &type, &body, &len) != 0)
			goto done;
		if (type == 'Z')
			break;
		if (type == 'E') {
			error_state(body, len, state);
			failed = 1;
		} else if (type == 'D' && !failed) {
			if (nrows == cap) {
				cap = cap ? cap * 2 : 256;
				if (!(grown = migrate__realloc(rows, cap * sizeof *rows)))
					goto done;
				rows = grown;
			}
			if (data_row(body, len, &rows[nrows]) != 0)
				goto done;
			nrows++;
		} else if (type != '1' && type != '2' && type != 'C' && type != 'S' && type != 'N') {
			goto done;
		}
	}
	/* As the driver reads it: no table (or no schema) is a database never migrated. */
	if (failed && strcmp(state, "42P01") != 0 && strcmp(state, "3F000") != 0)
		goto done;
	*gave_up = false;
	for (i = 0; i < nrows && rc == 0; i++) {
		migrate_record_t r;
		memset(&r, 0, sizeof r);
		r.version = rows[i].version;
		r.checksum = rows[i].checksum;
		r.state = rows[i].state;
		rc = fn(&r, ctx); /* its error is the caller's, not a reason to go through libpq */
	}
done:
	rows_free(rows, nrows);
	return rc;
}
#else
typedef int migrate__pgwire_unused; /* ISO C wants a declaration in every file */
#endif
