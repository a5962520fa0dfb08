#!/usr/bin/env python3
"""End-to-end tests of the `migrate` command-line tool.

Each function named case_<driver>_<name> is one ctest entry (tests/cli.cmake
lists them): `cli_test.py <driver>_<name>`. `cli_test.py planfile FILE` runs
one file of the broken-plan corpus (tests/planfiles/). Every test drives the
real binary against a real database and reads the database back itself:
SQLite with Python's sqlite3, PostgreSQL and MongoDB with tests/cli_probe
(libpq and libmongoc, never libmigrate).

Environment (set by tests/cli.cmake): MIGRATE_BIN, MIGRATE_SOURCE_DIR,
CLI_WORK, CLI_PROBE, CLI_PG_STATE, CLI_MONGO_STATE. MIGRATE_UPDATE_GOLDEN=1
rewrites the golden files instead of comparing. Exit 77 means skipped (a
server is missing outside CI); under CI=true a missing server fails.
"""
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

BIN = os.environ.get("MIGRATE_BIN", "migrate")
SRC = os.environ.get("MIGRATE_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
PLANS = os.path.join(SRC, "examples", "plans")
CORPUS = os.path.join(SRC, "tests", "planfiles")
GOLDEN = os.path.join(SRC, "tests", "golden")
FIXTURES = os.path.join(SRC, "tests", "cli_fixtures")
PROBE = os.environ.get("CLI_PROBE", "")
SKIP = 77
COMMANDS = ["status", "plan", "up", "down", "rollback", "redo", "check", "verify", "lint", "baseline", "repair", "new", "fmt",
            "version"]
OLD_STATUSES = ["pending", "planning", "searching", "implementing", "executing"]


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def plan_path(name):
    return os.path.join(PLANS, name)


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def __repr__(self):
        return "exit %d\n--- stdout\n%s--- stderr\n%s" % (self.code, self.out, self.err)

    def json(self):
        """The one JSON document a --json command prints on stdout: compact, and valid against
        docs/cli.schema.json."""
        text = self.out.strip()
        check(text.count("\n") == 0, "--json printed more than one line: %r" % self)
        try:
            doc = json.loads(text)
        except ValueError as e:
            raise Fail("--json output is not JSON (%s): %r" % (e, self))
        check(json.dumps(doc, separators=(",", ":"), ensure_ascii=False) == text,
              "--json output is not compact JSON: %r" % text[:300])
        errors = sorted(cli_schema_validator().iter_errors(doc), key=lambda e: list(e.path))
        check(not errors, "--json output does not match docs/cli.schema.json: %s in %r" %
              ("; ".join("%s: %s" % ("/".join(map(str, e.path)), e.message) for e in errors[:3]), text[:600]))
        return doc


_CLI_SCHEMA = []


def jsonschema_module():
    try:
        import jsonschema
    except ImportError:
        if os.environ.get("CI") == "true":
            raise Fail("python3 jsonschema is missing (scripts/install-deps.sh installs it)")
        raise Skip("python3 jsonschema is missing (pip install jsonschema)")
    return jsonschema


def cli_schema_validator():
    """docs/cli.schema.json, the shape of every command's --json output, checked once."""
    if not _CLI_SCHEMA:
        jsonschema = jsonschema_module()
        with open(os.path.join(SRC, "docs", "cli.schema.json")) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        _CLI_SCHEMA.append(jsonschema.Draft202012Validator(schema))
    return _CLI_SCHEMA[0]


def run(args, env=None, stdin=None, timeout=300):
    full_env = dict(os.environ)
    for name in ("MIGRATE_URL", "MIGRATE_PLAN", "DATABASE_URL"):
        full_env.pop(name, None)
    full_env.update(env or {})
    p = subprocess.run([BIN] + list(args), input=stdin, capture_output=True, text=True, env=full_env,
                       timeout=timeout)
    return Result(p.returncode, p.stdout, p.stderr)


def expect(result, code, *needles, where="out"):
    check(result.code == code, "expected exit %d, got %r" % (code, result))
    text = result.out + result.err if where == "both" else getattr(result, where)
    for n in needles:
        check(n in text, "%r not in the %s of %r" % (n, where, result))
    return result


def mig(url, plan, *args, **kw):
    return run(["--url", url, "--plan", plan] + list(args), **kw)


def mig_json(url, plan, *args, code=0, **kw):
    r = mig(url, plan, "--json", *args, **kw)
    doc = r.json()
    check(r.code == code, "expected exit %d, got %r" % (code, r))
    check(doc.get("exit_code") == code and doc.get("ok") == (code == 0), "exit_code/ok in %r" % doc)
    return doc


# ---- work directories and servers ----------------------------------------

class Work:
    def __init__(self, name):
        root = os.environ.get("CLI_WORK") or tempfile.gettempdir()
        os.makedirs(root, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=root)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)
        return self.path(name)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def need_server(what, why):
    message = "%s: %s" % (what, why)
    if os.environ.get("CI") == "true":
        raise Fail(message + " (CI=true: a missing server is a failure)")
    raise Skip(message)


def server_url(kind):
    state = os.environ.get("CLI_PG_STATE" if kind == "postgres" else "CLI_MONGO_STATE", "")
    url_file = os.path.join(state, "url")
    if not state or not os.path.exists(url_file):
        need_server(kind, "no server URL in %s (was the %s fixture started?)" % (url_file, kind))
    with open(url_file) as f:
        url = f.read().strip()
    if not url:
        need_server(kind, "the server did not start (empty %s)" % url_file)
    if not PROBE or not os.path.exists(PROBE):
        raise Fail("tests/cli_probe is missing (CLI_PROBE=%r)" % PROBE)
    return state, url


def pg_db(name):
    """A fresh PostgreSQL database; its URL."""
    state, _ = server_url("postgres")
    p = subprocess.run(["bash", os.path.join(SRC, "scripts", "pg-server.sh"), "createdb", state, name],
                       capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "createdb %s: %s %s" % (name, p.stdout, p.stderr))
    return p.stdout.strip().splitlines()[-1]


def mongo_db(name):
    """A fresh (dropped) MongoDB database; its URL."""
    _, url = server_url("mongo")
    db_url = "%s/%s?serverSelectionTimeoutMS=5000&connectTimeoutMS=5000" % (url.rstrip("/"), name)
    probe(db_url, "dropdb", parse=False)
    return db_url


def probe(url, *args, parse=True):
    p = subprocess.run([PROBE, url] + list(args), capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, "cli_probe %s: %s %s" % (" ".join(args), p.stdout, p.stderr))
    return json.loads(p.stdout) if parse else None


# ---- SQLite fixtures -----------------------------------------------------

def old_sessions_db(path, rows=200):
    """The database seed 000 starts from: the old `sessions` table, as examples/quickstart makes it."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY, job_id TEXT NOT NULL, user_id TEXT NOT NULL,"
               " operation_type TEXT, tool_requirements TEXT, status TEXT NOT NULL, tool_ids TEXT,"
               " tool_failure_ids TEXT, error_message TEXT, created_at TEXT, updated_at TEXT)")
    statuses = OLD_STATUSES + ["completed", "failed"]
    data = []
    for i in range(rows):
        tools = json.dumps(["tool_%d_%d" % (i, j) for j in range(i % 4)])
        failures = json.dumps(["fail_%d" % i] * (i % 2)) if i % 5 else None
        data.append(("job_%d" % i, "user_%d" % (i % 7), "generate", "[]", statuses[i % 7], tools, failures,
                     None, "2024-05-01T09:30:00Z", "2024-05-01T09:30:00Z"))
    db.executemany("INSERT INTO sessions (job_id, user_id, operation_type, tool_requirements, status, tool_ids,"
                   " tool_failure_ids, error_message, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)", data)
    db.commit()
    db.close()


def sq(path, sql, *params):
    db = sqlite3.connect(path)
    try:
        rows = db.execute(sql, params).fetchall()
        db.commit()
        return rows
    finally:
        db.close()


def sq_tables(path):
    return {r[0] for r in sq(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def sq_indexes(path, table):
    return {r[0] for r in sq(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                             " AND name NOT LIKE 'sqlite_autoindex%'", table)}


def sq_columns(path, table):
    return [r[1] for r in sq(path, "PRAGMA table_info(\"%s\")" % table)]


def history_tables(path):
    """Whatever libmigrate keeps in the database: anything that is not the application's."""
    if not os.path.exists(path):
        return set()
    return {t for t in sq_tables(path) if "migrate" in t.lower() or "history" in t.lower()}


def seed000(work, rows=200):
    db = work.path("app.db")
    old_sessions_db(db, rows)
    return db, "sqlite:" + db, plan_path("000_sessions_to_jobs.sqlite.json")


def check_seed000_applied(db, rows):
    check("jobs" in sq_tables(db) and "sessions" in sq_tables(db), "jobs and sessions exist")
    check(sq(db, "SELECT count(*) FROM jobs")[0][0] == rows, "every old session became a job")
    check(sq(db, "SELECT count(*) FROM sessions")[0][0] == 0, "the new sessions table is empty")
    bad = sq(db, "SELECT count(*) FROM jobs WHERE status IN (%s)" % ",".join("?" * 5), *OLD_STATUSES)[0][0]
    check(bad == 0, "no old status is left")
    for job_id, tools, fails, done, failed in sq(db, "SELECT job_id, tool_ids, tool_failure_ids, tools_completed,"
                                                 " tools_failed FROM jobs"):
        check(done == len(json.loads(tools or "[]")) and failed == len(json.loads(fails or "[]")),
              "counters of %s: %s %s" % (job_id, done, failed))
    check(len(sq_indexes(db, "jobs")) == 5 and len(sq_indexes(db, "sessions")) >= 6, "the eleven indexes")


# ---- cases that need no database -----------------------------------------

def case_any_help():
    for args in (["--help"], ["help"], ["-h"]):
        r = expect(run(args), 0, "usage: migrate", "exit codes:")
        for c in COMMANDS:
            check(c in r.out, "general help names %s" % c)
        for code in ("130", "  6 ", "  5 ", "  3 "):
            check(code in r.out, "general help documents exit code %s" % code.strip())
    for c in COMMANDS:
        a = expect(run(["help", c]), 0, "usage: migrate", c)
        b = expect(run([c, "--help"]), 0, "usage: migrate", c)
        check(a.out == b.out, "`help %s` and `%s --help` agree" % (c, c))
        check("exit codes" in a.out, "help of %s documents its exit codes" % c)
    expect(run(["help", "nosuch"]), 2, "no command", where="err")
    # help's own help, the same from `help --help`
    a = expect(run(["help", "help"]), 0, "usage: migrate help [COMMAND]", "exit codes")
    b = expect(run(["help", "--help"]), 0, "usage: migrate help [COMMAND]")
    check(a.out == b.out, "`help help` and `help --help` agree")
    # Without any argument: the usage on stderr, a usage error.
    r = expect(run([]), 2, "usage: migrate", "commands:", "no command given", where="err")
    check(r.out == "", "nothing on stdout: %r" % r)


def case_any_usage_errors():
    p = plan_path("000_sessions_to_jobs.sqlite.json")
    cases = [
        ([], "no command"),
        (["frobnicate"], "unknown command"),
        (["--frob", "status"], "unknown option"),
        (["status"], "needs a database"),
        (["--url", "sqlite::memory:", "status"], "needs a plan file"),
        (["--url", "sqlite::memory:", "--plan", p, "down"], "needs a VERSION"),
        (["--url", "sqlite::memory:", "--plan", p, "baseline"], "needs a VERSION"),
        (["--url", "sqlite::memory:", "--plan", p, "up", "three"], "VERSION must be"),
        (["--url", "sqlite::memory:", "--plan", p, "up", "0"], "VERSION must be"),
        (["--url", "sqlite::memory:", "--plan", p, "status", "extra"], "unexpected argument"),
        (["--url", "sqlite::memory:", "--plan", p, "up", "1", "2"], "unexpected argument"),
        (["--url", "sqlite::memory:", "--plan", p, "--lock-timeout", "soon", "up"], "--lock-timeout"),
        (["--url", "sqlite::memory:", "--plan", p, "--batch-size", "-1", "up"], "--batch-size"),
        (["--url", "sqlite::memory:", "--plan", p, "--pause", "99999999999", "up"], "--pause"),
        (["--url", "sqlite::memory:", "--plan"], "needs a value"),
    ]
    for args, needle in cases:
        expect(run(args), 2, needle, where="err")
    # --json still prints one document for a usage error.
    r = run(["--json", "frobnicate"])
    doc = r.json()
    check(r.code == 2 and doc["exit_code"] == 2 and doc["ok"] is False, "usage error in JSON: %r" % r)
    check(doc["error"]["domain"] == "usage" and "unknown command" in doc["error"]["message"], "usage error: %r" % doc)


def case_any_version():
    r = expect(run(["version"]), 0, "migrate ", "libmigrate ")
    check(re.search(r"libmigrate \d+\.\d+\.\d+", r.out), "a version number: %r" % r)
    doc = run(["--json", "version"]).json()
    check(re.fullmatch(r"\d+\.\d+\.\d+", doc["library"]) and doc["cli"] and doc["ok"], "version JSON: %r" % doc)
    for flag in ("--version", "-V"):
        expect(run([flag]), 0, r.out.strip())
        check(run([flag]).out == r.out, "%s prints what `version` prints" % flag)
        check(run(["--json", flag]).json()["library"] == doc["library"], "%s --json" % flag)


def case_any_redaction():
    """Passwords never printed: not in errors, not in --json, not in the URL shown."""
    p = plan_path("001_processing_jobs.postgres.json")
    secret = "s3cr3t-Pa55"
    urls = [
        "postgresql://migrator:%s@127.0.0.1:1/app?connect_timeout=2" % secret,
        "postgresql://127.0.0.1:1/app?user=migrator&password=%s&connect_timeout=2" % secret,
        "postgres://migrator:%s@127.0.0.1:1/app?connect_timeout=2" % secret,
    ]
    for url in urls:
        for extra in ([], ["--json"]):
            for cmd in ("status", "check", "up"):
                r = mig(url, p, *extra, cmd)
                check(r.code == 1, "a server that is not there fails with 1: %r" % r)
                check(secret not in r.out + r.err, "password printed: %r" % r)
            if extra:
                doc = r.json()
                check(secret not in json.dumps(doc) and "****" in doc["url"], "URL in JSON: %r" % doc)
    # Through MIGRATE_URL too.
    r = run(["--plan", p, "--json", "status"], env={"MIGRATE_URL": urls[0]})
    check(r.code == 1 and secret not in r.out + r.err, "MIGRATE_URL password printed: %r" % r)
    # A libpq key=value string is no URL: the usage error that says so masks its password too.
    for conninfo in ("host=127.0.0.1 user=migrator password=%s dbname=app" % secret,
                     "host=127.0.0.1 password='%s x'" % secret):
        for extra in ([], ["--json"]):
            r = expect(mig(conninfo, p, *extra, "status"), 2, "is not a database URL", where="both")
            check(secret not in r.out + r.err and "password=****" in r.out + r.err, "password printed: %r" % r)


def case_sqlite_password_file():
    """--password-file FILE: the first line of FILE is the URL's password, put into the URL (percent-encoded)
    and never printed, in text, -v or --json. SQLite takes no password: the file is read and not used."""
    work = Work("pwfile")
    db, url, p = seed000(work)
    secret = "s3cr3t/Pa55@w:rd%"
    pw = work.write("pw", secret + "\r\nsecond line is not read\n")
    r = expect(mig(url, p, "-v", "--password-file", pw, "up"), 0, "7 versions applied")
    check("takes no password" in r.err, "the unused password is said: %r" % r)
    check(secret not in r.out + r.err and "second line" not in r.out + r.err, "password printed: %r" % r)
    doc = mig_json(url, p, "--password-file", pw, "status")
    check(secret not in json.dumps(doc) and doc["url"] == url, repr(doc))
    # Put into a server URL: shown masked, so it is there, and never in clear.
    pg = "postgresql://migrator@127.0.0.1:1/app?connect_timeout=2"
    pg_plan = plan_path("001_processing_jobs.postgres.json")
    for args in (["--json"], ["-v"]):
        r = mig(pg, pg_plan, "--password-file", pw, *args, "status")
        check(r.code == 1 and secret not in r.out + r.err, "password printed: %r" % r)
        check("postgresql://migrator:****@127.0.0.1:1/app" in r.out + r.err, "the URL shown is masked: %r" % r)
    r = run(["--plan", pg_plan, "--password-file", pw, "--json", "status"],
            env={"MIGRATE_URL": "postgresql://127.0.0.1:1/app?connect_timeout=2"})
    check(r.json()["url"] == "postgresql://:****@127.0.0.1:1/app?connect_timeout=2", repr(r))
    # Refused: a URL with a password of its own, a missing file, an empty first line.
    expect(mig("postgresql://m:other@127.0.0.1:1/app", pg_plan, "--password-file", pw, "status"), 2,
           "has a password already", where="err")
    expect(mig(url, p, "--password-file", work.path("none"), "status"), 2, "--password-file", where="err")
    empty = work.write("empty", "\nsecret-on-line-2\n")
    r = expect(mig(url, p, "--password-file", empty, "status"), 2, "the first line is empty", where="err")
    check("secret-on-line-2" not in r.out + r.err, repr(r))
    work.cleanup()


def case_any_redaction_hostile():
    """URLs that do not parse cleanly (a repeated or oddly cased password parameter, an unencoded '%',
    '%00' or '@' in the password, an unterminated '[') print no part of the password, in text and in
    --json, neither in the URL shown nor in libpq's error text."""
    p = plan_path("001_processing_jobs.postgres.json")
    tail = "127.0.0.1:1/app?connect_timeout=2"
    cases = [
        ("postgresql://%s&password=decoy&password=Zq3vv9x" % tail, ["decoy", "Zq3vv9x"]),
        ("postgresql://%s&PassWord=Zq3vv9x" % tail, ["Zq3vv9x"]),
        ("postgresql://%s&password=Zq3%%vv9x" % tail, ["Zq3", "vv9x"]),
        ("postgresql://migrator:Zq3%%vv9x@%s" % tail, ["Zq3", "vv9x"]),
        ("postgresql://migrator:Zq3%%00vv9x@%s" % tail, ["Zq3", "vv9x"]),
        ("postgresql://migrator:Zq3@vv9x@%s" % tail, ["Zq3", "vv9x"]),
        ("postgresql://migrator:Zq3vv9x@[::1:1/app?connect_timeout=2", ["Zq3vv9x"]),
        ("postgresql://migrator:Zq3/vv9x@%s" % tail, ["Zq3", "vv9x"]),
    ]
    for url, secrets in cases:
        r = mig(url, p, "status")
        check(r.code == 1, "fails with 1: %r" % r)
        for secret in secrets:
            check(secret not in r.out + r.err, "%s: %r printed: %r" % (url, secret, r))
        r = mig(url, p, "--json", "up")
        doc = r.json()
        text = json.dumps(doc)
        for secret in secrets:
            check(secret not in text and secret not in r.err, "%s: %r in JSON: %r" % (url, secret, doc))
        check("****" in doc["url"] or "<redacted>" in doc["url"], "URL in JSON: %r" % doc)
        check(doc["error"]["message"], "an error message: %r" % doc)


def case_any_mongo_url_reasons():
    """A MongoDB URL that does not parse gets the reason (libmongoc's, or the rule its database
    name breaks), never its password, and none of libmongoc's own log lines (no server needed)."""
    p = plan_path("004_chat_collections.mongo.json")
    for url, reason in (("mongodb://h/bad.name", "the database name after the host is not valid: it contains '.'"),
                        ("mongodb://u:s3cret@h:99999/db", "Invalid host string"),
                        ("mongodb://u:s3cr%et@h/db", "Incorrect URI escapes in password")):
        r = expect(run(["--url", url, "--plan", p, "status"]), 1, "bad MongoDB URL", reason, where="err")
        check("s3cr" not in r.err and "s3cr" not in r.out, "the password stays out: %r" % r)
        check("mongoc" not in r.err, "libmongoc's log stays out without -v: %r" % r)


def case_any_schema():
    """docs/plan.schema.json is a valid draft 2020-12 schema, every shipped plan file validates, and it
    refuses every file of the broken corpus that a schema can express."""
    jsonschema = jsonschema_module()
    with open(os.path.join(SRC, "docs", "plan.schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    shipped = sorted(f for f in os.listdir(PLANS) if f.endswith(".json"))
    check(len(shipped) >= 6, "plan files for all five seeds: %r" % shipped)
    for seed in ("000", "001", "002", "003", "004"):
        check(any(f.startswith(seed + "_") for f in shipped), "a plan file for seed %s" % seed)
    for name in shipped:
        with open(os.path.join(PLANS, name)) as f:
            errors = list(validator.iter_errors(json.load(f)))
        check(not errors, "%s: %s" % (name, "; ".join(e.message for e in errors[:3])))
    for name in sorted(os.listdir(FIXTURES)):
        with open(os.path.join(FIXTURES, name)) as f:
            validator.validate(json.load(f))
    refused = 0
    for name in sorted(f for f in os.listdir(CORPUS) if f.endswith(".json")):
        valid_expected = "schema: valid" in open(os.path.join(CORPUS, name[:-5] + ".expect")).read()
        try:
            with open(os.path.join(CORPUS, name), "rb") as f:
                valid = validator.is_valid(json.loads(f.read().decode("utf-8")))
        except ValueError:
            valid = False
        check(valid == valid_expected, "%s: the schema %s it" % (name, "accepts" if valid else "refuses"))
        refused += not valid
    print("schema: %d shipped plan files valid, %d broken files refused" % (len(shipped), refused))


# ---- the broken-plan corpus ----------------------------------------------

def planfile(path):
    """A broken plan file gives its expected error, in text and in JSON, and writes nothing."""
    base = path[:-5]
    with open(base + ".expect") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    needles = [l for l in lines if not l.startswith(("schema:", "commands:"))]
    check(needles, "%s.expect names the expected error" % base)
    # A file the loader refuses fails every command; a step only the driver refuses fails the
    # commands that validate the plan against the driver ("commands:" in the .expect file).
    commands = ["up", "plan", "status", "check", "baseline 1", "down 0"]
    for l in lines:
        if l.startswith("commands:"):
            commands = [c.strip() for c in l[len("commands:"):].split(",")]
    work = Work("planfile")
    db = work.path("untouched.db")
    url = "sqlite:" + db
    for cmd in commands:
        r = mig(url, path, *cmd.split())
        check(r.code == 1, "%s: exit 1 expected: %r" % (cmd, r))
        for n in needles:
            check(n in r.err, "%s: %r not in %r" % (cmd, n, r))
        check(r.out == "", "%s printed on stdout: %r" % (cmd, r))
        check(history_tables(db) == set(), "%s wrote history: %r" % (cmd, history_tables(db)))
    doc = mig_json(url, path, "up", code=1)
    for n in needles:
        check(n in doc["error"]["message"], "JSON error %r lacks %r" % (doc["error"], n))
    check(doc["error"]["name"].startswith("MIGRATE_E") and doc["error"]["domain"] in ("plan", "driver", "api"),
          "error fields: %r" % doc["error"])
    check(history_tables(db) == set(), "wrote history: %r" % history_tables(db))
    if os.path.exists(db):
        check(sq_tables(db) == set(), "tables were created: %r" % sq_tables(db))
    work.cleanup()


# ---- SQLite --------------------------------------------------------------

def case_sqlite_cycle():
    """Every command in order on seed 000, with the database read back after each."""
    work = Work("cycle")
    db, url, p = seed000(work)
    r = expect(mig(url, p, "status"), 0, "sessions_to_jobs", "0 applied, 7 pending")
    check(len([l for l in r.out.splitlines() if re.match(r"\s*\d+  .*  pending ", l + " ")]) == 7,
          "seven pending lines: %r" % r)
    expect(mig(url, p, "check"), 3, "pending")
    expect(mig(url, p, "plan", "3"), 0, 'ALTER TABLE "sessions" RENAME TO "jobs"', "-- version 3")
    check("-- version 4" not in mig(url, p, "plan", "3").out, "plan 3 stops at version 3")
    check(history_tables(db) == set(), "status, check and plan write nothing")
    expect(mig(url, p, "up", "3"), 0, 'applying version 1 "rename sessions to jobs"', "applied version 3",
           "3 versions applied")
    check("jobs" in sq_tables(db) and "session_ids" in sq_columns(db, "jobs"), "versions 1-3 ran")
    expect(mig(url, p, "check"), 3, "pending")
    r = expect(mig(url, p, "plan"), 0, "-- version 4", "-- version 7")
    check("-- version 3" not in r.out, "applied versions are not rendered")
    expect(mig(url, p, "up"), 0, "applied version 7", "4 versions applied", "map_values", "backfill")
    check_seed000_applied(db, 200)
    check(sorted(os.listdir(os.path.dirname(db))) == ["app.db"], "no lock file is left beside the database: %r" %
          os.listdir(os.path.dirname(db)))
    expect(mig(url, p, "check"), 0, "up to date")
    expect(mig(url, p, "up"), 0, "nothing to apply")
    r = expect(mig(url, p, "plan"), 0)
    check(r.out == "" and "up to date" in r.err, "nothing to render: %r" % r)
    expect(mig(url, p, "verify"), 0, "all 3 assertions hold")
    expect(mig(url, p, "status"), 0, "7 applied, 0 pending")
    # down to 3: versions 7..4 reverted, newest first
    r = expect(mig(url, p, "down", "3"), 0, 'reverting version 7 "verify"', "reverted version 4", "4 versions reverted")
    check(r.out.index("reverting version 7") < r.out.index("reverting version 6") < r.out.index("reverting version 4"),
          "newest first: %r" % r)
    check(sq_indexes(db, "jobs") == set(), "version 6's indexes are dropped")
    expect(mig(url, p, "status"), 0, "3 applied, 4 pending")
    expect(mig(url, p, "down", "0"), 0, "3 versions reverted")
    check(sq_tables(db) - history_tables(db) == {"sessions"}, "only the old table is left: %r" % sq_tables(db))
    check("tool_ids" in sq_columns(db, "sessions") and "session_ids" not in sq_columns(db, "sessions"),
          "the old sessions table is back: %r" % sq_columns(db, "sessions"))
    check(sq(db, "SELECT count(*) FROM sessions")[0][0] == 200, "its rows are back")
    expect(mig(url, p, "down", "0"), 0, "nothing to revert")
    expect(mig(url, p, "check"), 3)
    work.cleanup()


def case_sqlite_json():
    """--json: one valid document per command, with the fields docs/cli.md promises."""
    work = Work("json")
    db, url, p = seed000(work)
    doc = mig_json(url, p, "status")
    check(doc["command"] == "status" and doc["plan"] == "sessions_to_jobs" and doc["driver"] == "sqlite", repr(doc))
    check([v["id"] for v in doc["versions"]] == list(range(1, 8)), repr(doc))
    check(all(v["state"] == "pending" and v["started_at"] is None and v["in_plan"] for v in doc["versions"]), repr(doc))
    doc = mig_json(url, p, "check", code=3)
    check(doc["state"] == "pending", repr(doc))
    doc = mig_json(url, p, "plan")
    check(doc["pending"] == list(range(1, 8)) and 'ALTER TABLE "sessions" RENAME TO "jobs"' in doc["render"], repr(doc))
    check(doc["render"] == mig(url, p, "plan").out, "the JSON render is the text render")
    doc = mig_json(url, p, "up", "--batch-size", "40")
    check(doc["versions_applied"] == 7, repr(doc))
    versions = [e for e in doc["events"] if e["event"] == "version"]
    check([e["id"] for e in versions] == list(range(1, 8)) and all(e["direction"] == "up" for e in versions), repr(doc))
    check(all(isinstance(e["duration_ms"], int) for e in versions), repr(doc))
    # Each batched step tells its batches: 200 rows in batches of 40.
    batches = [e for e in doc["events"] if e["event"] == "batches"]
    check(any(e["op"] == "backfill" and e["rows"] == 200 and e["batches"] == 5 for e in batches), repr(batches))
    check(all(e["batches"] >= 1 and 0 <= e["longest_batch_ms"] <= max(v["duration_ms"] for v in versions) + 1
              for e in batches), repr(batches))
    check_seed000_applied(db, 200)
    doc = mig_json(url, p, "status")
    for v in doc["versions"]:
        check(v["state"] == "applied" and v["checksum_matches"] and len(v["checksum"]) == 64, repr(v))
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", v["finished_at"]), repr(v))
        check(v["steps_done"] == v["steps_total"] and v["duration_ms"] >= 0 and ":" in v["applied_by"], repr(v))
    check(mig_json(url, p, "check")["state"] == "up_to_date", "up to date")
    doc = mig_json(url, p, "verify")
    check(doc["asserts_run"] == 3 and doc["asserts_failed"] == 0, repr(doc))
    check([e["holds"] for e in doc["events"]] == [True] * 3, repr(doc))
    doc = mig_json(url, p, "repair")
    check(doc["realigned"] == 0, repr(doc))
    doc = mig_json(url, p, "down", "5")
    check(doc["versions_reverted"] == 2 and doc["target_version"] == 5, repr(doc))
    check([e["id"] for e in doc["events"] if e["event"] == "version"] == [7, 6], repr(doc))
    check(all(e["direction"] == "down" for e in doc["events"] if e["event"] == "version"), repr(doc))
    doc = mig_json(url, p, "down", "0")
    check(doc["versions_reverted"] == 5, repr(doc))
    doc = mig_json(url, p, "baseline", "2")
    check(doc["baseline"] == 2, repr(doc))
    doc = mig_json(url, p, "status")
    check([v["state"] for v in doc["versions"]] == ["applied"] * 2 + ["pending"] * 5, repr(doc))
    # A failure is a document too, with the library's error.
    doc = mig_json(url, p, "up", "99", code=1)
    check(doc["error"]["name"] == "MIGRATE_ENOTFOUND" and "99" in doc["error"]["message"], repr(doc))
    check(isinstance(doc["error"]["code"], int) and doc["error"]["code"] < 0, repr(doc))
    work.cleanup()


def case_sqlite_json_schema():
    """Every command's --json output is compact JSON that docs/cli.schema.json describes (Result.json
    checks both), successes and failures alike, and the schema knows every command."""
    work = Work("jsonschema")
    db, url, p = seed000(work)
    seen = set()

    def doc_of(args, code):
        r = run(["--json"] + args)
        doc = r.json()
        check(r.code == code and doc["exit_code"] == code, "expected exit %d: %r" % (code, r))
        check(not doc["ok"] or "error" not in doc, repr(doc))
        seen.add(doc["command"])
        return doc

    base = ["--url", url, "--plan", p]
    doc_of(base + ["status"], 0)
    doc_of(base + ["check"], 3)
    doc_of(base + ["plan", "3"], 0)
    doc_of(base + ["up", "3"], 0)
    doc_of(base + ["up"], 0)
    doc_of(base + ["verify"], 0)
    doc_of(["--plan", p, "--driver", "sqlite", "lint"], 0)
    doc_of(base + ["rollback"], 0)
    doc_of(base + ["redo"], 0)
    doc_of(base + ["down", "2"], 0)
    doc_of(base + ["repair"], 0)
    doc_of(base + ["baseline", "3"], 0)
    doc_of(["version"], 0)
    d = work.path("plandir")
    os.mkdir(d)
    doc = doc_of(["--plan", d, "new", "first"], 0)
    check(doc["id"] == 1 and doc["file"].endswith("0001_first.json"), repr(doc))
    doc_of(["--plan", d, "fmt"], 0)
    check(seen == set(COMMANDS), "every command was run: %r" % sorted(set(COMMANDS) - seen))
    # Failures: a library error, a usage error, a missing database.
    doc = doc_of(base + ["up", "99"], 1)
    check(doc["error"]["name"] == "MIGRATE_ENOTFOUND", repr(doc))
    doc = doc_of(base + ["down"], 2)
    check(doc["error"]["domain"] == "usage", repr(doc))
    doc_of(["--url", "sqlite:" + work.path("none.db"), "--plan", p, "status"], 7)
    # The schema refuses what no command prints.
    validator = cli_schema_validator()
    check(not validator.is_valid({"command": "status", "ok": True, "exit_code": 0}), "status without versions")
    check(not validator.is_valid({"command": "up", "plan": "p", "driver": "sqlite", "versions_applied": 1,
                                  "ok": True, "exit_code": 0, "surprise": 1}), "an unknown field")
    work.cleanup()


def edited_plan(work, src, old, new):
    with open(src) as f:
        text = f.read()
    check(old in text, "%r in %s" % (old, src))
    return work.write("edited.json", text.replace(old, new, 1))


def case_sqlite_check_behind_ahead():
    """check tells a database behind the plan (3) from one ahead of it (0: a rolling deploy's old
    instances stay ready while a newer release migrated), with the versions in text and --json."""
    work = Work("ahead")
    url = "sqlite:" + work.path("app.db")

    def plan(n):
        versions = [{"id": 1, "name": "table", "steps": [
            {"op": "create_table", "table": "t", "columns": [{"name": "v", "type": "integer"}]}]}]
        versions += [{"id": i, "name": "row %d" % i, "steps": [
            {"op": "sql", "up": "INSERT INTO t VALUES (%d)" % i, "down": "DELETE FROM t WHERE v = %d" % i}]}
            for i in range(2, n + 1)]
        return work.write("plan%d.json" % n, json.dumps({"plan": "rolling", "versions": versions}))

    old, new = plan(2), plan(3)
    expect(mig(url, old, "up"), 0)
    expect(mig(url, new, "check"), 3, "pending", "(database at version 2, plan at 3)")
    doc = mig_json(url, new, "check", code=3)
    check(doc["state"] == "pending" and doc["position"] == "behind" and doc["pending"] == 1
          and doc["database_version"] == 2 and doc["plan_version"] == 3 and doc["ahead"] == 0, repr(doc))
    expect(mig(url, new, "up"), 0)
    expect(mig(url, old, "check"), 0, "up to date (database at version 3, ahead of this plan's 2: "
           "1 newer version applied)")
    doc = mig_json(url, old, "check")
    check(doc["state"] == "up_to_date" and doc["position"] == "ahead" and doc["ahead"] == 1
          and doc["database_version"] == 3 and doc["plan_version"] == 2 and doc["pending"] == 0, repr(doc))
    doc = mig_json(url, new, "check")
    check(doc["position"] == "current" and doc["ahead"] == 0 and doc["pending"] == 0, repr(doc))
    check(sq(work.path("app.db"), "SELECT count(*) FROM t")[0][0] == 2, "versions 2 and 3 ran once")
    work.cleanup()


def case_sqlite_check_schema():
    """check --schema: 0 on a clean database, 8 with every drifted object and its version (text and --json);
    the history's codes come first; without --schema a drifted database is still up to date."""
    work = Work("drift")
    db, url, p = seed000(work)
    expect(mig(url, p, "check", "--schema"), 3, "pending")
    expect(mig(url, p, "up"), 0)
    expect(mig(url, p, "check", "--schema"), 0, "up to date", "the schema matches the applied versions")
    index = sorted(sq_indexes(db, "jobs"))[0]
    sq(db, 'DROP INDEX "%s"' % index)
    # jobs was the application's (the plan renamed it): only what the plan added to it is known.
    # sessions is the plan's own: a column added by hand is extra.
    sq(db, "ALTER TABLE jobs ADD COLUMN by_hand TEXT")
    sq(db, "ALTER TABLE sessions ADD COLUMN by_hand TEXT")
    sq(db, "CREATE TABLE not_in_plan (x INTEGER)")
    check(index not in sq_indexes(db, "jobs") and "by_hand" in sq_columns(db, "jobs"), "changed by hand")
    expect(mig(url, p, "check"), 0, "up to date")
    r = expect(mig(url, p, "check", "--schema"), 8, "drifted", "missing index jobs.%s (version " % index,
               "extra column sessions.by_hand (version ")
    check("not_in_plan" not in r.out and "jobs.by_hand" not in r.out,
          "tables the plan never made are not drift: %r" % r)
    doc = mig_json(url, p, "check", "--schema", code=8)
    check(doc["state"] == "up_to_date" and doc["exit_code"] == 8, repr(doc))
    kinds = {(d["kind"], d["object_type"], d["object"]) for d in doc["drift"]}
    check(kinds == {("missing", "index", "jobs." + index), ("extra", "column", "sessions.by_hand")}, repr(doc))
    check(all(isinstance(d["version"], int) and d["version"] >= 1 for d in doc["drift"]), repr(doc))
    expect(mig(url, p, "status", "--schema"), 2, "--schema is an option of check only", where="err")
    work.cleanup()


def case_sqlite_lint():
    """lint: without a database the sizes are unknown and every finding is a warning (exit 0); with --url the
    live row counts decide (exit 9 on an error-level finding), a pending rename carries its table's rows, only
    pending versions are linted, --json has every field; lint writes nothing; usage errors."""
    work = Work("lint")
    db, url, p = seed000(work, rows=200)
    r = expect(run(["--plan", p, "--driver", "sqlite", "lint"]), 0,
               "warning rename-or-drop-in-use: version 1, step 1:", "safer: expand then contract",
               "warning unique-index-unchecked: version 6, step 1:", "its size is unknown",
               'plan "sessions_to_jobs" for sqlite: 3 findings')
    check("error " not in r.out, "no error without sizes: %r" % r)
    before = sq(db, "SELECT name FROM sqlite_master ORDER BY name")
    r = expect(mig(url, p, "lint", "--large-rows", "50"), 9,
               'error unique-index-unchecked: version 6, step 1: unique index "jobs_job_id" on existing table '
               '"jobs" (about 200 rows)')
    # The new sessions table is made by version 1: empty, whatever the old one held.
    check("sessions_session_id" not in r.out, "the renamed-away table's rows stay with jobs: %r" % r)
    doc = mig_json(url, p, "lint", "--large-rows", "50", code=9)
    check(doc["live_sizes"] is True and doc["driver"] == "sqlite" and doc["silenced"] == 0, repr(doc))
    got = [(f["version"], f["step"], f["rule"], f["severity"]) for f in doc["findings"]]
    check(got == [(1, 1, "rename-or-drop-in-use", "warning"), (6, 1, "unique-index-unchecked", "error")], repr(got))
    check(all(f["message"] and f["safer"] for f in doc["findings"]), repr(doc))
    # Above the threshold only: 200 rows are not large at --large-rows 1000, but non-empty is non-empty.
    expect(mig(url, p, "lint", "--large-rows", "1000"), 9, "unique-index-unchecked")
    check(sq(db, "SELECT name FROM sqlite_master ORDER BY name") == before, "lint wrote nothing")
    expect(mig(url, p, "check"), 3, "pending")
    # Once applied, nothing is left to lint.
    expect(mig(url, p, "up"), 0)
    expect(mig(url, p, "lint"), 0, 'plan "sessions_to_jobs" for sqlite: 0 findings')
    # A silenced rule is counted, not reported.
    with open(plan_path("000_sessions_to_jobs.sqlite.json")) as f:
        plan = json.load(f)
    for v in plan["versions"]:
        for s in v["steps"]:
            if s.get("op") == "rename_table":
                s["lint"] = {"ignore": ["rename-or-drop-in-use"], "reason": "the application is stopped"}
    quiet = work.write("quiet.json", json.dumps(plan))
    doc = json.loads(expect(run(["--json", "--plan", quiet, "--driver", "sqlite", "lint"]), 0).out)
    check(doc["silenced"] == 1 and all(f["rule"] != "rename-or-drop-in-use" for f in doc["findings"]), repr(doc))
    # Usage.
    expect(mig(url, p, "lint", "--driver", "sqlite"), 2, "not both", where="err")
    expect(run(["--plan", p, "lint"]), 2, "--driver NAME", where="err")
    expect(mig(url, p, "status", "--driver", "sqlite"), 2, "--driver is an option of lint only", where="err")
    expect(run(["--plan", p, "--driver", "oracle", "lint"]), 1, 'no driver "oracle"', where="err")
    expect(run(["--plan", p, "--driver", "sqlite", "--large-rows", "0", "lint"]), 2, "--large-rows", where="err")
    work.cleanup()


def case_sqlite_checksum():
    """An applied version edited: exit 5 from up, down and check; cosmetic edits are not edits; repair."""
    work = Work("checksum")
    db, url, p = seed000(work, rows=20)
    expect(mig(url, p, "up"), 0)
    # Reformatting and reordering keys changes nothing.
    with open(p) as f:
        doc = json.load(f)
    for v in doc["versions"]:
        v["description"] = "edited text that is not part of the checksum"
    cosmetic = work.write("cosmetic.json", json.dumps(doc, indent=7, sort_keys=True))
    expect(mig(url, cosmetic, "check"), 0, "up to date")
    # A real edit of version 6.
    edited = edited_plan(work, p, '"name": "jobs_created_at"', '"name": "jobs_created"')
    expect(mig(url, edited, "check"), 5, "checksum mismatch")
    check(mig_json(url, edited, "check", code=5)["state"] == "mismatch", "JSON state")
    r = expect(mig(url, edited, "up"), 5, "changed since they were applied", "6", where="err")
    doc = mig_json(url, edited, "up", code=5)
    check(doc["error"]["name"] == "MIGRATE_ECHECKSUM", repr(doc))
    expect(mig(url, edited, "down", "5"), 5)
    r = expect(mig(url, edited, "status"), 0, "edited since applied")
    doc = mig_json(url, edited, "status")
    check([v["id"] for v in doc["versions"] if not v["checksum_matches"]] == [6], repr(doc))
    expect(mig(url, edited, "--allow-amended", "up"), 0, "nothing to apply", where="out")
    expect(mig(url, edited, "repair"), 0, "1 history record realigned")
    expect(mig(url, edited, "check"), 0, "up to date")
    expect(mig(url, p, "check"), 5)
    work.cleanup()


def case_sqlite_failed_version():
    """A version that fails: exit 1, check answers 4, status shows the error, the next up resumes."""
    work = Work("failed")
    db = work.path("app.db")
    url = "sqlite:" + db
    plan = {"plan": "failing", "versions": [
        {"id": 1, "name": "table", "steps": [
            {"op": "create_table", "table": "t", "columns": [{"name": "id", "type": "integer"}], "primary_key": ["id"]},
            {"op": "create_table", "table": "marks", "columns": [{"name": "id", "type": "integer"}]}]},
        {"id": 2, "name": "fill and check", "transactional": False, "steps": [
            {"op": "add_column", "table": "t", "column": {"name": "n", "type": "integer", "default": {"value": 0}}},
            {"op": "assert", "count": {"table": "marks"}, "expect": 0, "message": "marks must be empty"},
            {"op": "create_index", "table": "t", "name": "t_n", "keys": [{"column": "n"}]}]},
    ]}
    p = work.write("failing.json", json.dumps(plan))
    expect(mig(url, p, "up", "1"), 0)
    sq(db, "INSERT INTO marks VALUES (1)")
    r = expect(mig(url, p, "up"), 1, "marks must be empty", where="err")
    expect(mig(url, p, "check"), 4, "failed")
    check(mig_json(url, p, "check", code=4)["state"] == "failed", "JSON state failed")
    doc = mig_json(url, p, "status")
    v2 = doc["versions"][1]
    check(v2["state"] == "failed" and v2["steps_done"] == 1 and "marks must be empty" in v2["error"], repr(v2))
    expect(mig(url, p, "status"), 0, "failed", "1 of 3 steps in effect", "marks must be empty")
    check("n" in sq_columns(db, "t") and sq_indexes(db, "t") == set(), "step 1 stays, step 3 did not run")
    sq(db, "DELETE FROM marks")
    expect(mig(url, p, "up"), 0, "(resuming)", "step 2/3 assert", "step 3/3 create_index")
    check(sq_indexes(db, "t") == {"t_n"}, "resumed to the end")
    expect(mig(url, p, "check"), 0)
    work.cleanup()


def wait_for(proc_out, needle, timeout=60):
    """Reads a process's stdout (a pipe) until `needle` appears; returns what was read."""
    text, end = "", time.time() + timeout
    fd = proc_out.fileno()
    while time.time() < end:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            chunk = os.read(fd, 65536).decode(errors="replace")
            if not chunk:
                break
            text += chunk
            if needle in text:
                return text
    raise Fail("%r never appeared in %r" % (needle, text))


def slow_up(url, p, *extra):
    env = dict(os.environ)
    env.pop("MIGRATE_URL", None)
    return subprocess.Popen([BIN, "--url", url, "--plan", p, "--batch-size", "5", "--pause", "60"] + list(extra) +
                            ["up"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def case_sqlite_lock_and_cancel():
    """A second run waits for the lock, shows the wait, and gives up with exit 6; Ctrl-C stops the
    first at a safe point with exit 130, and the next up resumes and finishes."""
    work = Work("lock")
    db, url, p = seed000(work, rows=1200)
    first = slow_up(url, p)
    try:
        seen = wait_for(first.stdout, "step 1/1 map_values:")
        r = expect(mig(url, p, "--lock-timeout", "1500", "up"), 6, "waiting for the lock", where="out")
        check("lock" in r.err and "1500" in r.err, "the timeout is explained: %r" % r)
        doc = mig_json(url, p, "--lock-timeout", "300", "up", code=6)
        check(doc["error"]["name"] == "MIGRATE_ELOCKED" and doc["error"]["domain"] == "lock", repr(doc))
        check(any(e["event"] == "lock_wait" for e in doc["events"]), "the wait is in the events: %r" % doc)
        # A longer wait on the same holder is shown once, not every second.
        doc = mig_json(url, p, "--lock-timeout", "3500", "up", code=6)
        waits = [e for e in doc["events"] if e["event"] == "lock_wait"]
        check(len(waits) == 1 and waits[0]["waited_ms"] < 1000, "one lock_wait for one holder: %r" % doc)
        expect(mig(url, p, "--lock-timeout", "0", "up"), 6)
        # check and status take no lock.
        expect(mig(url, p, "check"), 4, "failed")
        first.send_signal(signal.SIGINT)
        out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    out = seen + out.decode()
    err = err.decode()
    check(first.returncode == 130, "Ctrl-C exits 130: %d %s %s" % (first.returncode, out, err))
    check("next safe point" in err and "resume" in err, "the cancel is explained: %r" % err)
    doc = mig_json(url, p, "status")
    v4 = doc["versions"][3]
    check(v4["state"] == "failed" and v4["error"] == "canceled", "version 4 stopped resumably: %r" % v4)
    done_before = sq(db, "SELECT count(*) FROM jobs WHERE status = 'processing'")[0][0]
    check(0 < done_before, "some batches committed before the cancel")
    expect(mig(url, p, "check"), 4)
    expect(mig(url, p, "up"), 0, 'applying version 4 "map statuses to processing" (resuming)', "applied version 7")
    check_seed000_applied(db, 1200)
    work.cleanup()


def run_on_pty(args, timeout=120, columns=120, env=None, interrupt_after=None):
    """Runs the binary with stdout on a pseudo-terminal `columns` wide; returns (exit code, everything it wrote).
    With `interrupt_after` (a regular expression), sends SIGINT once the output matches it, and writes the "^C"
    a terminal echoes, as a terminal would."""
    master, slave = pty.openpty()
    fcntl_winsize(slave, 40, columns)
    full_env = dict(os.environ)
    full_env.pop("MIGRATE_URL", None)
    full_env.pop("DATABASE_URL", None)
    for name in ("NO_COLOR", "COLUMNS"):
        full_env.pop(name, None)
    full_env["TERM"] = "xterm"
    full_env.update(env or {})
    proc = subprocess.Popen([BIN] + args, stdout=slave, stderr=subprocess.STDOUT, env=full_env, close_fds=True)
    os.close(slave)
    chunks, end = [], time.time() + timeout
    while time.time() < end:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
            if interrupt_after and re.search(interrupt_after, b"".join(chunks).decode(errors="replace")):
                interrupt_after = None
                chunks.append(b"^C")
                proc.send_signal(signal.SIGINT)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode(errors="replace")


def fcntl_winsize(fd, rows, columns):
    import fcntl
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def case_sqlite_progress_pty():
    """On a terminal a backfill redraws one bar in place with rate and time left; in a pipe it prints lines."""
    work = Work("pty")
    db, url, p = seed000(work, rows=1500)
    code, out = run_on_pty(["--url", url, "--plan", p, "--batch-size", "25", "--pause", "15", "up", "5"])
    check(code == 0, "up on a terminal: %d %r" % (code, out))
    bars = re.findall(r"\r\x1b\[K    step 1/1 backfill \[[#.]{24}\] +\d+% [\d,]+/1,500 rows  [\d,]+/s", out)
    check(len(bars) >= 3, "the bar is redrawn in place: %r" % out[-2000:])
    check(re.search(r"\[#{24}\] 100% 1,500/1,500 rows", out), "the bar reaches 100%%: %r" % out[-2000:])
    check(re.search(r"\d+(\.\d)? (ms|s) left", out), "time left is shown: %r" % out[-2000:])
    check(re.search(r"\r\x1b\[K    step 1/1 backfill: done in [\d.]+ m?s \(1,500 rows\) in 60 batches, "
                    r"the longest [\d.]+ m?s\r?\n", out),
          "the line ends with the result: %r" % out[-2000:])
    # The same in a pipe: plain lines, no escape sequences.
    r = expect(mig(url, p, "--batch-size", "25", "--pause", "15", "down", "3"), 0)
    r = expect(mig(url, p, "--batch-size", "25", "--pause", "15", "up", "5"), 0, "step 1/1 backfill: ")
    check("\r" not in r.out and "\x1b" not in r.out, "no terminal codes in a pipe: %r" % r)
    check(re.search(r"step 1/1 backfill: [\d,]+ of 1,500 rows \(\d+%\), [\d,]+/s", r.out), "progress lines: %r" % r)
    work.cleanup()


def screen(out):
    """The lines a terminal shows after `out`: carriage returns and erase-to-end-of-line applied."""
    lines, line, col, i = [], [], 0, 0
    while i < len(out):
        if out.startswith("\x1b[K", i):
            del line[col:]
            i += 3
            continue
        ch = out[i]
        i += 1
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append("".join(line))
            line, col = [], 0
        else:
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
    if line:
        lines.append("".join(line))
    return lines


def case_sqlite_cancel_pty():
    """Ctrl-C during a backfill on a terminal: the bar is cleared, not broken by "^C", and the last line says
    how far the run got; the resumed run reports the rows done before and now."""
    work = Work("cancelpty")
    db, url, p = seed000(work, rows=3000)
    args = ["--url", url, "--plan", p, "--batch-size", "25", "--pause", "20", "up", "5"]
    code, out = run_on_pty(args, interrupt_after=r"backfill \[#+\.+\] +[1-9]\d*% ", timeout=180)
    check(code == 130, "Ctrl-C exits 130: %d %r" % (code, out[-2000:]))
    shown = screen(out)
    check(not any("left" in l or "[#" in l for l in shown), "no progress bar is left on screen: %r" % shown)
    check(not any("^C" in l for l in shown), "the echoed ^C is cleared: %r" % shown)
    m = re.search(r"^migrate: canceled after ([\d,]+) rows; the next run resumes there$", shown[-1])
    check(m, "the last line says where the run stopped: %r" % shown)
    before = int(m.group(1).replace(",", ""))
    check(0 < before < 3000, "some batches ran, not all: %d" % before)
    r = expect(mig(url, p, "up", "5"), 0, '(resuming)')
    m = re.search(r"step 1/1 backfill: done in [^(]+\(3,000 rows: ([\d,]+) before, ([\d,]+) now\)", r.out)
    check(m, "the resumed step reports rows before and now: %r" % r)
    check(int(m.group(1).replace(",", "")) == before, "before is where the canceled run stopped: %r" % r)
    check(int(m.group(2).replace(",", "")) == 3000 - before, "now is the rest: %r" % r)
    # A step run afresh says nothing of before.
    expect(mig(url, p, "down", "4"), 0)
    r = expect(mig(url, p, "up", "5"), 0)
    check(re.search(r"done in [^(]+\(3,000 rows\) in \d+ batch(es)?, the longest [\d.]+ m?s\n", r.out),
          "a fresh run: %r" % r)
    work.cleanup()


def case_sqlite_baseline():
    """Adopting an existing database: baseline marks versions applied without running them."""
    work = Work("baseline")
    db, url, p = seed000(work, rows=30)
    # The schema of versions 1-3 made by hand, as an existing deployment would have it.
    expect(mig(url, p, "up", "3"), 0)
    copy = work.path("copy.db")
    shutil.copy(db, copy)
    for t in history_tables(copy):
        sq(copy, 'DROP TABLE "%s"' % t)
    curl = "sqlite:" + copy
    expect(mig(curl, p, "check"), 3)
    expect(mig(curl, p, "baseline", "3"), 0, "versions up to 3 marked applied")
    r = expect(mig(curl, p, "status"), 0, "3 applied, 4 pending", "baseline")
    check(sq_columns(copy, "jobs") == sq_columns(db, "jobs"), "baseline ran nothing")
    expect(mig(curl, p, "up"), 0, "4 versions applied")
    check_seed000_applied(copy, 30)
    expect(mig(curl, p, "baseline", "99"), 1, "99", where="err")
    work.cleanup()


def case_sqlite_inputs():
    """The plan from standard input, the URL and plan from MIGRATE_URL and MIGRATE_PLAN, options anywhere."""
    work = Work("inputs")
    db, url, p = seed000(work, rows=10)
    with open(p) as f:
        text = f.read()
    expect(run(["--url", url, "--plan", "-", "check"], stdin=text), 3)
    r = run(["--url", url, "--plan", "-", "check"], stdin="{nope")
    check(r.code == 1 and "<stdin>" in r.err and "malformed JSON at line 1" in r.err, repr(r))
    env = {"MIGRATE_URL": url, "MIGRATE_PLAN": p}
    expect(run(["up", "2"], env=env), 0, "2 versions applied")
    doc = expect(run(["status", "--json"], env=env), 0).json()
    check([v["state"] for v in doc["versions"]][:3] == ["applied", "applied", "pending"], repr(doc))
    expect(run(["check", "--url", url], env={"MIGRATE_PLAN": p}), 3)
    other = work.path("other.db")
    sq(other, "CREATE TABLE app (x)")
    expect(run(["--url", "sqlite:" + other, "check"], env=env), 3)  # --url wins over MIGRATE_URL
    check(history_tables(other) == set(), "check wrote nothing")
    expect(run(["--plan", work.path("missing.json"), "check"], env={"MIGRATE_URL": url}), 1, "missing.json",
           where="err")
    work.cleanup()


def case_sqlite_verify():
    """verify runs the applied versions' asserts again, reports each, and writes nothing."""
    work = Work("verify")
    db, url, p = seed000(work, rows=50)
    expect(mig(url, p, "verify"), 0, "no applied version has an assert")
    expect(mig(url, p, "up"), 0)
    expect(mig(url, p, "verify"), 0, 'version 7 "verify", step 1: assert', "holds", "all 3 assertions hold")
    sq(db, "INSERT INTO sessions (session_id, job_id, user_id, status) VALUES ('s1', 'job_1', 'u', 'pending')")
    before = sq(db, "SELECT * FROM %s" % sorted(history_tables(db))[0])
    r = expect(mig(url, p, "verify"), 1, "FAILED", "step 3: assert: holds", where="out")
    check("1 of 3 assertions failed" in r.err, repr(r))
    doc = mig_json(url, p, "verify", code=1)
    check(doc["asserts_run"] == 3 and doc["asserts_failed"] == 1, repr(doc))
    check([e["holds"] for e in doc["events"]] == [True, False, True] and doc["events"][1]["message"], repr(doc))
    check(doc["error"]["name"] == "MIGRATE_EASSERT", repr(doc))
    check(sq(db, "SELECT * FROM %s" % sorted(history_tables(db))[0]) == before, "verify wrote no history")
    expect(mig(url, p, "check"), 0)
    work.cleanup()


def case_sqlite_golden():
    golden_case("000_sessions_to_jobs.sqlite.json", lambda: "sqlite:" + Work("golden").path("fresh.db"))


def applied_ids(db):
    return [r[0] for r in sq(db, "SELECT version FROM _migrate_history WHERE state = 2 ORDER BY version")]


def case_sqlite_rollback_redo():
    """rollback [N] reverts the last N applied versions; redo reverts the last one and applies it again."""
    work = Work("rollback")
    db, url, p = seed000(work, rows=20)
    expect(mig(url, p, "rollback"), 0, "nothing to revert")
    expect(mig(url, p, "redo"), 0, "nothing to redo")
    expect(mig(url, p, "up", "3"), 0)
    check(applied_ids(db) == [1, 2, 3], "1-3 applied: %r" % applied_ids(db))
    r = expect(mig(url, p, "rollback"), 0, 'reverting version 3 "add job fields"', "1 version reverted")
    check("reverting version 2" not in r.out, "only the last one: %r" % r)
    check(applied_ids(db) == [1, 2] and "session_ids" not in sq_columns(db, "jobs"), "version 3 reverted")
    expect(mig(url, p, "up", "3"), 0)
    doc = mig_json(url, p, "rollback", "2")
    check(doc["versions_reverted"] == 2 and doc["target_version"] == 1, repr(doc))
    check(applied_ids(db) == [1] and "jobs" in sq_tables(db), "versions 3 and 2 reverted: %r" % applied_ids(db))
    expect(mig(url, p, "rollback", "5"), 0, "1 version reverted")
    check(applied_ids(db) == [] and "jobs" not in sq_tables(db) and "sessions" in sq_tables(db), "all reverted")
    check(sq(db, "SELECT count(*) FROM sessions")[0][0] == 20, "the old rows are back")
    for bad in ("0", "two", "1x"):
        expect(mig(url, p, "rollback", bad), 2, "N must be", where="err")
    # redo: the last applied version, reverted then applied again, the others untouched
    expect(mig(url, p, "up", "3"), 0)
    sq(db, "UPDATE jobs SET tools_completed = 7")
    before = sq(db, "SELECT finished_at_ms FROM _migrate_history WHERE version = 2")
    r = expect(mig(url, p, "redo"), 0, "reverting version 3", "applying version 3", "version 3 redone")
    check("version 2" not in r.out, "only version 3: %r" % r)
    check(applied_ids(db) == [1, 2, 3], "1-3 applied again: %r" % applied_ids(db))
    check(sq(db, "SELECT DISTINCT tools_completed FROM jobs") == [(0,)], "version 3's columns were made again")
    check(sq(db, "SELECT finished_at_ms FROM _migrate_history WHERE version = 2") == before, "version 2 untouched")
    doc = mig_json(url, p, "redo")
    check(doc["versions_reverted"] == 1 and doc["versions_applied"] == 1 and doc["target_version"] == 3, repr(doc))
    expect(mig(url, p, "check"), 3)  # 4-7 still pending
    work.cleanup()


def case_sqlite_quiet_verbose():
    """-q prints errors only; -v adds the library's log, every statement as sent, on stderr."""
    work = Work("quiet")
    db, url, p = seed000(work, rows=20)
    r = expect(mig(url, p, "-q", "up", "3"), 0)
    check(r.out == "" and r.err == "", "-q up printed: %r" % r)
    check(applied_ids(db) == [1, 2, 3], "up ran")
    r = expect(mig(url, p, "--quiet", "check"), 3)
    check(r.out == "" and r.err == "", "-q check printed: %r" % r)
    for args in (["rollback"], ["redo"], ["verify"], ["repair"], ["down", "2"]):
        r = expect(mig(url, p, "-q", *args), 0)
        check(r.out == "" and r.err == "", "-q %s printed: %r" % (args, r))
    r = expect(mig(url, p, "-q", "up", "99"), 1, "99", where="err")
    check(r.out == "", "an error only: %r" % r)
    expect(mig(url, p, "-q", "status"), 0, "ID  NAME")  # the answer of status is still printed
    r = expect(mig(url, p, "-v", "up", "3"), 0, "applying version 3", "3")
    check('debug: sqlite: ALTER TABLE "sessions" RENAME TO "jobs"' not in r.err, "version 1 is applied already")
    check(re.search(r'debug: sqlite: ALTER TABLE "jobs" ADD COLUMN "session_ids"', r.err), "statements: %r" % r.err)
    check("debug: sqlite: INSERT OR REPLACE INTO \"_migrate_history\"" in r.err, "history writes too: %r" % r.err)
    check("debug:" not in r.out, "the log stays off stdout: %r" % r)
    doc = mig_json(url, p, "-v", "rollback")
    check(doc["versions_reverted"] == 1, repr(doc))
    r = expect(mig(url, p, "status"), 0)
    check("debug:" not in r.err, "no log without -v: %r" % r)
    work.cleanup()


def run_with_stale_shm(args):
    """Runs the tool with a libmongoc counter segment already at its pid,
    as a killed process of the same pid leaves one: libmongoc, if it is
    loaded with its shared-memory counters on, then warns that it falls
    back to malloc."""
    def leave_segment():
        open("/dev/shm/mongoc-%d" % os.getpid(), "w").close()  # exec keeps the pid

    env = dict(os.environ)
    env.pop("MONGOC_DISABLE_SHM", None)
    proc = subprocess.Popen([BIN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, preexec_fn=leave_segment)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        segment = "/dev/shm/mongoc-%d" % proc.pid
        check(os.path.exists(segment), "the stale segment was not made")
        os.unlink(segment)
    return Result(proc.returncode, out, err)


def stale_shm_check(url, plan, args, code, quiet=True):
    if not os.path.isdir("/dev/shm"):
        return
    r = run_with_stale_shm(["--url", url, "--plan", plan, "-q"] + args)
    check(r.code == code and r.out == "", "-q %s beside a stale libmongoc segment: %r" % (args, r))
    check("counters" not in r.err, "libmongoc's counters warning in -q %s: %r" % (args, r))
    check(not quiet or r.err == "", "-q %s beside a stale libmongoc segment printed: %r" % (args, r))


def case_sqlite_quiet_beside_stale_mongoc_segment():
    """A SQLite run never loads libmongoc, so nothing of it reaches -q."""
    work = Work("stale_shm")
    db, url, p = seed000(work, rows=5)
    stale_shm_check(url, p, ["up"], 0)
    stale_shm_check(url, p, ["verify"], 0)
    work.cleanup()


def case_sqlite_plan_error_wins_over_database():
    """check and status load the plan while connecting; a broken plan is still the error reported,
    whatever the database says, and an invalid plan makes no database file."""
    work = Work("planfirst")
    broken = work.path("broken.json")
    with open(broken, "w") as f:
        f.write('{"plan": "x", "versions": [{"id": 1, "steps": [{"op": "no_such_op"}]}]}')
    missing = work.path("missing.db")
    for cmd in ("check", "status", "verify", "up"):
        r = expect(run(["--url", "sqlite:" + missing, "--plan", broken, cmd]), 1, "no_such_op", where="err")
        check("no database" not in r.err, "%s: the plan's error, not the database's: %r" % (cmd, r))
        check(not os.path.exists(missing), "%s made a database file" % cmd)
    r = expect(run(["--url", "postgresql://127.0.0.1:1/none?connect_timeout=2", "--plan", broken, "check"]), 1,
               "no_such_op", where="err")
    check("connect" not in r.err, "the plan's error, not the connection's: %r" % r)
    work.cleanup()


def case_sqlite_terminal():
    """No redraw codes with NO_COLOR, TERM=dumb or a pipe; the bar fits a narrow terminal."""
    work = Work("term")
    db, url, p = seed000(work, rows=600)
    args = ["--url", url, "--plan", p, "--batch-size", "25", "--pause", "5"]
    for env in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
        code, out = run_on_pty(args + ["up", "5"], env=env)
        check(code == 0, "up: %d %r" % (code, out))
        check("\x1b" not in out and "\r\n" in out and re.search(r"\r(?!\n)", out) is None,
              "%r: no redraw: %r" % (env, out[-1500:]))
        check(re.search(r"step 1/1 backfill: [\d,]+ of 600 rows \(\d+%\)", out), "plain lines: %r" % out[-1500:])
        expect(mig(url, p, "down", "3"), 0)
    for columns, env in ((50, None), (60, None), (200, {"COLUMNS": "50"})):
        code, out = run_on_pty(args + ["up", "5"], columns=columns, env=env)
        check(code == 0, "up: %d %r" % (code, out))
        width = columns if env is None else 200  # the ioctl wins over COLUMNS
        lines = [l for l in re.split(r"\r\x1b\[K|\r?\n", out) if l]
        check(any("backfill [" in l for l in lines), "a bar: %r" % out[-1500:])
        for l in lines:
            if "backfill [" in l:
                check(len(l) < width, "%d columns: %r is %d wide" % (width, l, len(l)))
        if columns == 60:
            check(re.search(r"\[[#.]{5,23}\]", out), "the bar narrowed: %r" % out[-1500:])
        expect(mig(url, p, "down", "3"), 0)
    work.cleanup()


def case_sqlite_empty_down():
    """A step whose down is "down": [] says that nothing ran, not "done in 0 ms"."""
    work = Work("emptydown")
    db = work.path("e.db")
    sq(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER)")
    sq(db, "INSERT INTO t (x) VALUES (1), (1)")
    plan = work.write("plan.json", json.dumps({
        "plan": "empty_down", "versions": [{
            "id": 1, "name": "set x",
            "steps": [{"op": "backfill", "table": "t", "set": {"x": {"value": 2}}, "down": []}]}]}))
    url = "sqlite:" + db
    expect(mig(url, plan, "up"), 0, "1 version applied")
    r = expect(mig(url, plan, "down", "0"), 0, "step 1/1 backfill: nothing ran (its down is empty)",
               "1 version reverted")
    check("done in" not in r.out, repr(r))
    # The values the backfill overwrote stay overwritten: said out loud, not only "nothing ran".
    check("migrate: warning: backfill of t: its down does not restore the values it overwrote" in r.err, repr(r))
    check(sq(db, "SELECT DISTINCT x FROM t") == [(2,)] and applied_ids(db) == [], "x stays 2, the history is gone")
    expect(mig(url, plan, "up"), 0, "1 version applied")
    doc = mig_json(url, plan, "down", "0")
    warnings = [e for e in doc["events"] if e.get("event") == "warning"]
    check(any("does not restore the values it overwrote" in w["message"] for w in warnings), repr(doc))
    code, out = run_on_pty(["--url", url, "--plan", plan, "up"])
    code, out = run_on_pty(["--url", url, "--plan", plan, "down", "0"])
    check(code == 0 and "nothing ran (its down is empty)" in out and "done in" not in out, repr(out))
    work.cleanup()


def case_sqlite_urls():
    """DATABASE_URL after MIGRATE_URL; a bare path is refused with a hint; read-only commands do not
    create a missing SQLite file and exit 7."""
    work = Work("urls")
    db, url, p = seed000(work, rows=5)
    other = work.path("other.db")
    sq(other, "CREATE TABLE app (x)")
    expect(run(["--plan", p, "up", "1"], env={"DATABASE_URL": url}), 0, "1 version applied")
    check(applied_ids(db) == [1], "DATABASE_URL used")
    expect(run(["--plan", p, "up", "2"], env={"DATABASE_URL": "sqlite:" + other, "MIGRATE_URL": url}), 0)
    check(applied_ids(db) == [1, 2] and history_tables(other) == set(), "MIGRATE_URL wins over DATABASE_URL")
    expect(run(["--plan", p, "-u", url, "up", "3"], env={"DATABASE_URL": "sqlite:" + other}), 0)
    check(applied_ids(db) == [1, 2, 3] and history_tables(other) == set(), "--url wins over DATABASE_URL")
    expect(run(["--plan", p, "status"], env={"DATABASE_URL": ""}), 2, "DATABASE_URL", where="err")
    for bare in (db, "app.db", "./x.db"):
        r = expect(mig(bare, p, "status"), 2, "did you mean sqlite:%s?" % bare, where="err")
    missing = work.path("typo.db")
    for cmd in ("status", "check", "verify"):
        r = expect(mig("sqlite:" + missing, p, cmd), 7, "no database at sqlite:%s" % missing, where="err")
        check(not os.path.exists(missing), "%s created the file" % cmd)
    doc = mig_json("sqlite:" + missing, p, "check", code=7)
    check(doc["url"] == "sqlite:" + missing and doc["error"]["name"] == "MIGRATE_ENOTFOUND", repr(doc))
    check(not os.path.exists(missing), "no file")
    expect(mig("sqlite:" + missing + "?mode=rw", p, "up"), 7, "no database file", where="err")
    check(not os.path.exists(missing), "mode=rw creates no file either")
    expect(mig("sqlite:" + missing, p, "baseline", "1"), 0)  # a writing command creates it
    check(os.path.exists(missing), "baseline created the file")
    expect(mig("sqlite:" + missing, p, "check"), 3)
    # an existing database read-only: status and check work as before
    expect(mig(url, p, "status"), 0, "3 applied, 4 pending")
    expect(mig("sqlite::memory:", p, "check"), 3)
    work.cleanup()


# ---- golden `plan` output ------------------------------------------------

def golden_case(plan_file, make_url):
    url = make_url()
    r = expect(mig(url, plan_path(plan_file), "plan"), 0)
    check(r.out.strip(), "plan rendered nothing: %r" % r)
    golden = os.path.join(GOLDEN, plan_file[:-5] + ".txt")
    if os.environ.get("MIGRATE_UPDATE_GOLDEN") == "1":
        os.makedirs(GOLDEN, exist_ok=True)
        with open(golden, "w") as f:
            f.write(r.out)
        print("wrote", golden)
        return
    check(os.path.exists(golden), "no golden file %s (MIGRATE_UPDATE_GOLDEN=1 writes it)" % golden)
    with open(golden) as f:
        want = f.read()
    if r.out != want:
        import difflib
        diff = "".join(difflib.unified_diff(want.splitlines(True), r.out.splitlines(True), golden, "migrate plan"))
        raise Fail("`migrate plan` differs from %s:\n%s" % (golden, diff[:6000]))


# ---- PostgreSQL ----------------------------------------------------------

def case_postgres_golden():
    for name in ("001_processing_jobs", "002_collections", "003_jobs_table"):
        golden_case(name + ".postgres.json", lambda: pg_db("cli_golden_" + name[:3]))


def pg_cycle(db_name, plan_file, check_up, setup=None, kept=()):
    url = pg_db(db_name)
    p = plan_path(plan_file)
    if setup:
        expect(mig(url, os.path.join(FIXTURES, setup), "up"), 0)
    before = probe(url, "tables")
    expect(mig(url, p, "check"), 3)
    expect(mig(url, p, "up"), 0, "applied")
    check_up(url, probe(url, "tables"))
    expect(mig(url, p, "check"), 0)
    expect(mig(url, p, "verify"), 0)
    doc = mig_json(url, p, "status")
    check(all(v["state"] == "applied" for v in doc["versions"]) and doc["driver"] == "postgres", repr(doc))
    expect(mig(url, p, "down", "0"), 0, "reverted")
    after = probe(url, "tables")
    mine = [t for t in after["tables"] if t not in before["tables"] and "migrate" not in t and t not in kept]
    check(not mine, "tables left after down 0: %r" % mine)
    expect(mig(url, p, "up"), 0)
    check_up(url, probe(url, "tables"))
    # The seed's own schema, raw steps included, is what its versions made: no drift.
    expect(mig(url, p, "check", "--schema"), 0, "the schema matches the applied versions")
    doc = mig_json(url, p, "check", "--schema")
    check(doc["drift"] == [] and doc["state"] == "up_to_date", repr(doc))
    return url


def case_postgres_seed001():
    def check_up(url, t):
        pj = t["tables"]["processing_jobs"]
        check(len(pj["columns"]) == 27 and "processing_jobs_pkey" in pj["indexes"], repr(pj))
        for ix in ("idx_processing_jobs_user_status", "idx_processing_jobs_conversation",
                   "idx_processing_jobs_status", "idx_processing_jobs_created_at"):
            check(ix in pj["indexes"], ix)
        check("job_id" in t["tables"]["messages"]["columns"], "messages.job_id")
        check("update_processing_jobs_updated_at" in t["triggers"], repr(t["triggers"]))
        rows = probe(url, "sql", "SELECT column_default FROM information_schema.columns WHERE "
                     "table_name = 'processing_jobs' AND column_name = 'status'")["rows"]
        check("queued" in rows[0][0], repr(rows))
    # Version 1's down keeps the application's own tables, as the seed's rollback does.
    url = pg_cycle("cli_seed001", "001_processing_jobs.postgres.json", check_up,
                   kept=("profiles", "conversations", "messages"))
    # Its raw steps (the trigger) make the comparison partial, and --json says from which version.
    doc = mig_json(url, plan_path("001_processing_jobs.postgres.json"), "check", "--schema")
    check(doc.get("partial_after", 0) >= 1, repr(doc))


def case_postgres_seed002():
    def check_up(url, t):
        check({"collections", "operations"} <= set(t["tables"]), repr(t))
        check("collection_id" in t["tables"]["documents"]["columns"], repr(t))
        check("idx_documents_collection" in t["tables"]["documents"]["indexes"], repr(t))
        rows = probe(url, "sql", "SELECT count(*) FROM documents d JOIN operations o ON o.id = d.job_id "
                     "WHERE d.collection_id IS DISTINCT FROM o.collection_id")["rows"]
        check(rows == [["0"]], "every document belongs to its collection: %r" % rows)
        rows = probe(url, "sql", "SELECT count(*) FROM operations WHERE status = 'indexing'")["rows"]
        check(rows == [["0"]], repr(rows))
        # The guide's join: an operation per job that names a model (273 of 300), a collection per model.
        check(t["tables"]["operations"]["rows"] == 273 and t["tables"]["collections"]["rows"] == 5, repr(t))
    pg_cycle("cli_seed002", "002_collections.postgres.json", check_up, setup="002_legacy.postgres.json")


def case_postgres_seed003():
    def check_up(url, t):
        jobs = t["tables"]["jobs"]
        check("jobstatus" in t["types"], repr(t))
        check(len(jobs["columns"]) == 11, repr(jobs))
        for c in ("status", "created_at", "tool_name", "trace_id", "expires_at"):
            check("idx_jobs_" + c in jobs["indexes"], c)
        rows = probe(url, "sql", "SELECT enum_range(NULL::jobstatus)::text")["rows"]
        check(rows == [["{pending,running,completed,failed,cancelled}"]], repr(rows))
    url = pg_cycle("cli_seed003", "003_jobs_table.postgres.json", check_up)
    # Changed behind the plan's back (by another plan's raw steps): the readiness probe sees it.
    work = Work("seed003_drift")
    by_hand = work.write("by_hand.json", json.dumps({"plan": "by_hand", "versions": [{"id": 1, "name": "by hand", "steps": [
        {"op": "sql", "up": "DROP INDEX idx_jobs_status"},
        {"op": "sql", "up": "ALTER TYPE jobstatus RENAME VALUE 'cancelled' TO 'canceled'"},
        {"op": "sql", "up": "ALTER TABLE jobs ALTER COLUMN error_message TYPE varchar(200)"}]}]}))
    expect(mig(url, by_hand, "up"), 0)
    check(probe(url, "sql", "SELECT to_regclass('idx_jobs_status') IS NULL")["rows"] == [["t"]], "index dropped")
    p = plan_path("003_jobs_table.postgres.json")
    expect(mig(url, p, "check"), 0, "up to date")
    expect(mig(url, p, "check", "--schema"), 8, "missing index jobs.idx_jobs_status (version 2)",
           "different enum jobstatus: values is pending, running, completed, failed, canceled",
           "different column jobs.error_message: type is character varying(200), the plan says text (version 2)")
    doc = mig_json(url, p, "check", "--schema", code=8)
    check({(d["kind"], d["object"], d["version"]) for d in doc["drift"]} ==
          {("missing", "jobs.idx_jobs_status", 2), ("different", "jobstatus", 2),
           ("different", "jobs.error_message", 2)}, repr(doc))
    work.cleanup()


def case_postgres_check_loads_while_connecting():
    """check (and status) load the plan while they connect: a bad plan file is still the error told, with its
    place, and the database is not written (no history table); an unreachable server is named without its
    password, a bad plan still winning over it."""
    url = pg_db("cli_check_inputs")
    work = Work("pgcheckinputs")
    bad = work.write("bad.json", '{"plan": "p", "versions": [{"id": 1, "steps": [{"op": "create_table", '
                     '"table": "t"}]}]}')
    cut = work.write("cut.json", '{"plan": "p", "versions": [\n')
    for cmd in ("check", "status"):
        expect(mig(url, bad, cmd), 1, "bad.json: versions[0].steps[0].columns: is required", where="err")
        expect(mig(url, cut, "-v", cmd), 1, "cut.json:2:1:", where="err")
    tables = probe(url, "tables")["tables"]
    check("_migrate_history" not in tables and "t" not in tables, "nothing written: %r" % tables)
    secret = "s3cr3t-Pa55"
    gone = "postgresql://migrator:%s@127.0.0.1:1/app?connect_timeout=2" % secret
    r = expect(mig(gone, plan_path("001_processing_jobs.postgres.json"), "check"), 1,
               "cannot connect to postgresql://migrator:****@127.0.0.1:1/app", where="err")
    check(secret not in r.out + r.err, "password printed: %r" % r)
    r = expect(mig(gone, bad, "check"), 1, "bad.json: versions[0].steps[0].columns: is required", where="err")
    check(secret not in r.out + r.err and "cannot connect" not in r.err, "the plan's error alone: %r" % r)
    work.cleanup()


class FakeScramServer:
    """A PostgreSQL server of its own words on 127.0.0.1, for the frontend `check` uses without libpq:
    it asks for SCRAM-SHA-256 with the right signature (it knows the password) and then misbehaves as
    `mode` says ("order": s and i swapped in its first message; "final": an attribute before v= in its
    last; "twice": SCRAM asked for again once done). Its first connection records how far the client
    went; every later one (libpq's) is refused with an error. Not a database: nothing is read from it."""

    PASSWORD = "fake-pass"

    def __init__(self, mode):
        import base64, hashlib, hmac
        self.b64, self.hashlib, self.hmac = base64, hashlib, hmac
        self.mode = mode
        self.events = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def recv_exact(self, conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def message(self, conn, expected):
        """The client's next message, of kind `expected`; anything else (its Terminate) ends the talk."""
        kind = self.recv_exact(conn, 1)
        size = struct.unpack("!I", self.recv_exact(conn, 4))[0]
        body = self.recv_exact(conn, size - 4)
        if kind != expected:
            raise EOFError
        return kind, body

    def startup(self, conn):
        size = struct.unpack("!I", self.recv_exact(conn, 4))[0]
        body = self.recv_exact(conn, size - 4)
        if struct.unpack("!I", body[:4])[0] == 80877103:  # SSLRequest
            conn.sendall(b"N")
            size = struct.unpack("!I", self.recv_exact(conn, 4))[0]
            self.recv_exact(conn, size - 4)

    def auth(self, conn, code, data=b""):
        conn.sendall(b"R" + struct.pack("!II", 8 + len(data), code) + data)

    def scram(self, conn):
        self.auth(conn, 10, b"SCRAM-SHA-256\0\0")
        kind, body = self.message(conn, b"p")
        first = body[body.index(b"\0") + 5:].decode()
        bare = first[3:]
        nonce = bare.split("r=", 1)[1] + "fakeservernonce"
        salt = b"0123456789abcdef"
        attrs = ["r=" + nonce, "s=" + self.b64.b64encode(salt).decode(), "i=4096"]
        if self.mode == "order":
            attrs[1], attrs[2] = attrs[2], attrs[1]
        server_first = ",".join(attrs)
        self.auth(conn, 11, server_first.encode())
        kind, body = self.message(conn, b"p")
        self.events.append("client-final")
        final = body.decode()
        without_proof = final[:final.index(",p=")]
        salted = self.hashlib.pbkdf2_hmac("sha256", self.PASSWORD.encode(), salt, 4096)
        server_key = self.hmac.new(salted, b"Server Key", "sha256").digest()
        auth_message = ",".join([bare, server_first, without_proof]).encode()
        signature = self.b64.b64encode(self.hmac.new(server_key, auth_message, "sha256").digest()).decode()
        self.auth(conn, 12, (("x=junk," if self.mode == "final" else "") + "v=" + signature).encode())

    def serve(self):
        first = True
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                try:
                    self.startup(conn)
                    if not first:
                        error = b"SFATAL\0C28000\0Mfake server refuses libpq\0\0"
                        conn.sendall(b"E" + struct.pack("!I", 4 + len(error)) + error)
                        continue
                    first = False
                    self.scram(conn)
                    if self.mode == "twice":
                        self.auth(conn, 10, b"SCRAM-SHA-256\0\0")
                        self.message(conn, b"p")
                        self.events.append("scram again")
                    self.auth(conn, 0)
                    conn.sendall(b"Z\0\0\0\5I")
                    self.message(conn, b"P")
                    self.events.append("query")
                except (EOFError, OSError, ValueError):
                    pass

    def close(self):
        self.listener.close()


def case_postgres_check_refuses_a_hostile_scram_server():
    """`check`'s frontend (no libpq) leaves a server whose SCRAM messages libpq would refuse to libpq:
    attributes out of order, an attribute before the server's signature, SCRAM asked for twice. It never
    reads through such a server; libpq's refusal is the error told."""
    work = Work("pgscramfake")
    plan = work.write("plan.json", '{"plan": "p", "versions": [{"id": 1, "steps": [{"op": "sql", '
                      '"up": "SELECT 1", "down": "SELECT 1"}]}]}')
    for mode, why, reached in (("order", "the server's SCRAM exchange", []),
                               ("final", "the server's SCRAM signature does not verify", ["client-final"]),
                               ("twice", "the server asks for SASL authentication twice", ["client-final"])):
        server = FakeScramServer(mode)
        try:
            url = "postgresql://someone:%s@127.0.0.1:%d/app" % (FakeScramServer.PASSWORD, server.port)
            r = expect(mig(url, plan, "-v", "check"), 1,
                       "check connects through libpq: " + why, "fake server refuses libpq", where="err")
            check(FakeScramServer.PASSWORD not in r.out + r.err, "password printed: %r" % r)
            check(server.events == reached, "%s: the frontend went as far as %r" % (mode, server.events))
        finally:
            server.close()
    work.cleanup()


def case_postgres_killed_run_frees_its_lock():
    """A run killed (SIGKILL) in a long statement does not keep the plan's lock: its backend notices the
    closed connection within a second and ends, so the next run gets the lock at once, not when the
    statement would have ended. In a transaction, and outside one (a version with "transactional":
    false, as CREATE INDEX CONCURRENTLY runs too)."""
    work = Work("pgkilled")
    for transactional in (True, False):
        url = pg_db("cli_killed_%s" % ("txn" if transactional else "alone"))
        p = work.path("plan_%s.json" % transactional)
        with open(p, "w") as f:
            json.dump({"plan": "killed", "versions": [{"id": 1, "name": "slow", "transactional": transactional,
                                                       "steps": [{
                "op": "sql", "down": "SELECT 1",
                "up": "SELECT pg_sleep(25) WHERE current_setting('application_name') <> 'rerun'"}]}]}, f)
        first = slow_up(url, p)
        try:
            wait_for(first.stdout, "step 1/1 sql")
            time.sleep(0.5)
        finally:
            first.kill()
            first.communicate(timeout=60)
        rerun = url + ("&" if "?" in url else "?") + "application_name=rerun"
        expect(mig(rerun, p, "--lock-timeout", "6000", "up"), 0, "1 version applied")
        expect(mig(url, p, "check"), 0)
    work.cleanup()


def durable_pg_server(work):
    """A private PostgreSQL of its own that keeps fsync and synchronous_commit on (a production
    server's durability; the suite's server has synchronous_commit off), for crashing;
    (state directory, URL)."""
    server_url("postgres")  # the suite's server exists: so can this one
    state = work.path("durable-pg")
    os.makedirs(state)
    p = subprocess.run(["bash", os.path.join(SRC, "scripts", "pg-server.sh"), "start", state], capture_output=True,
                       text=True, timeout=300, env=dict(os.environ, PG_SERVER_DURABLE="1"))
    if p.returncode != 0 or not p.stdout.strip():
        need_server("postgres", "a durable server did not start: %s %s" % (p.stdout, p.stderr))
    return state, p.stdout.strip().splitlines()[-1]


def pg_server_crash(state):
    p = subprocess.run(["bash", os.path.join(SRC, "scripts", "pg-server.sh"), "crash", state], capture_output=True,
                       text=True, timeout=300)
    check(p.returncode == 0, "pg-server.sh crash: %s %s" % (p.stdout, p.stderr))


def case_postgres_commits_survive_a_server_crash():
    """A run's transactions (versions and batches) commit without waiting for their WAL; the run's
    end waits once, for them all. A server (whose commits wait: the suite's does not) crashed by
    an immediate stop, which loses the WAL it has not written, right after `up` returns has every
    row and every version recorded, and right after a `down` to 0 that left the history empty
    (nothing to lock: the end commits a logical message instead, which waits) has every version
    reverted; crashed in the middle of the backfill, the next `up` resumes from what survived, and the
    non-idempotent n + 1 still ends at 1 on every row: no batch lost, none done twice."""
    work = Work("pgcrash")
    state, url = durable_pg_server(work)

    def plan(name):
        p = work.path(name + ".json")
        with open(p, "w") as f:
            json.dump({"plan": name, "versions": [
                {"id": 1, "name": "rows", "steps": [
                    {"op": "create_table", "table": name, "primary_key": ["id"],
                     "columns": [{"name": "id", "type": "integer"}, {"name": "n", "type": "integer"}]},
                    {"op": "sql", "up": "INSERT INTO %s SELECT g, 0 FROM generate_series(1, 3000) g" % name,
                     "down": "DELETE FROM %s" % name}]},
                {"id": 2, "name": "count", "steps": [{"op": "backfill", "table": name, "set": {"n": {"sql": "n + 1"}}}]},
                # A version in one transaction last: its commit is the run's last.
                {"id": 3, "name": "mark", "steps": [{"op": "sql", "up": "COMMENT ON TABLE %s IS 'counted'" % name,
                                                     "down": "COMMENT ON TABLE %s IS NULL" % name}]},
            ]}, f)
        return p

    def rows(name):
        return probe(url, "sql", "SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n <> 1) FROM %s" % name)

    try:
        # Right after a run that returned: everything is on disk.
        p = plan("returned")
        r = expect(mig(url, p, "-vv", "--batch-size", "50", "up"), 0, "3 versions applied")
        lines = r.err.splitlines()
        begins = [l for l in lines if "postgres: BEGIN; SET LOCAL lock_timeout" in l and "FOR KEY SHARE" not in l]
        check(len(begins) >= 62 and all("synchronous_commit = off" in l for l in begins),
              "the transactions do not all commit without waiting: %d, %r" % (len(begins), begins[:2]))
        # After the last COMMIT and before the lock is released: the one statement that waits.
        last = max(i for i, l in enumerate(lines) if "COMMIT" in l and "FOR KEY SHARE" not in l)
        unlock = [i for i, l in enumerate(lines) if "pg_advisory_unlock" in l]
        waits = [i for i, l in enumerate(lines) if "FOR KEY SHARE" in l]
        check(unlock and len(waits) == 1 and last < waits[0] < unlock[-1],
              "the run does not end with one waiting statement: %r" % [lines[i] for i in waits])
        pg_server_crash(state)
        expect(mig(url, p, "check"), 0)
        check(rows("returned")["rows"] == [["3000", "0"]], "rows after the crash: %r" % rows("returned"))
        check(probe(url, "sql", "SELECT obj_description('returned'::regclass)")["rows"] == [["counted"]],
              "version 3's comment did not survive the crash")
        # A history left empty: nothing to lock, a logical message commits and waits instead.
        p = work.path("emptied_table.json")
        with open(p, "w") as f:
            json.dump({"plan": "emptied_table", "versions": [
                {"id": 1, "name": "table", "steps": [
                    {"op": "create_table", "table": "emptied", "columns": [{"name": "n", "type": "integer"}]},
                    {"op": "sql", "up": "INSERT INTO emptied VALUES (0)", "down": "DELETE FROM emptied"}]}]}, f)
        expect(mig(url, p, "up"), 0)
        own = url + "?migrate_schema=emptied_history"
        p = work.path("emptied.json")
        with open(p, "w") as f:
            json.dump({"plan": "emptied", "versions": [
                {"id": 1, "name": "count", "steps": [{"op": "sql", "up": "UPDATE emptied SET n = n + 1",
                                                      "down": "UPDATE emptied SET n = n - 1"}]}]}, f)
        expect(mig(own, p, "up"), 0, "1 version applied")
        pg_server_crash(state)
        expect(mig(own, p, "check"), 0)
        check(probe(url, "sql", "SELECT n FROM emptied")["rows"] == [["1"]], "n after up and a crash")
        r = expect(mig(own, p, "-vv", "down", "0"), 0)
        lines = r.err.splitlines()
        waits = [i for i, l in enumerate(lines) if "FOR KEY SHARE" in l]
        deletes = [i for i, l in enumerate(lines) if "DELETE FROM" in l]
        check(waits and deletes and waits[-1] > deletes[-1], "the down to 0 did not end with a commit that waits: "
              "%r" % r.err[-2000:])
        pg_server_crash(state)
        check(probe(url, "sql", "SELECT n FROM emptied")["rows"] == [["0"]], "n after down 0 and a crash")
        check(probe(url, "sql", "SELECT count(*) FROM emptied_history._migrate_history")["rows"] == [["0"]],
              "the history after down 0 and a crash")
        # In the middle of the backfill: the run fails, the next one resumes and converges.
        p = plan("midway")
        first = slow_up(url, p)
        try:
            wait_for(first.stdout, "step 1/1 backfill:")
            time.sleep(1.0)
            pg_server_crash(state)
            first.communicate(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
        check(first.returncode != 0, "the run whose server crashed exited %r" % first.returncode)
        done = int(probe(url, "sql", "SELECT count(*) FROM midway WHERE n = 1")["rows"][0][0])
        check(0 < done < 3000, "the crash was not in the middle of the backfill: %d rows done" % done)
        expect(mig(url, p, "up"), 0, "(resuming)")
        expect(mig(url, p, "check"), 0)
        check(rows("midway")["rows"] == [["3000", "0"]], "rows after the rerun: %r" % rows("midway"))
    finally:
        subprocess.run(["bash", os.path.join(SRC, "scripts", "pg-server.sh"), "stop", state], capture_output=True,
                       timeout=120)
        work.cleanup()


def case_postgres_exit_codes():
    """Lock timeout (6), Ctrl-C (130), resume, checksum (5) and failed (4) on PostgreSQL."""
    url = pg_db("cli_codes")
    fixture = os.path.join(FIXTURES, "slow.postgres.json")
    first = slow_up(url, fixture)
    try:
        seen = wait_for(first.stdout, "step 1/1 backfill:")
        expect(mig(url, fixture, "--lock-timeout", "1200", "up"), 6, "waiting for the lock")
        expect(mig(url, fixture, "check"), 4)
        first.send_signal(signal.SIGINT)
        out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    check(first.returncode == 130, "exit 130: %r %r" % (seen + out.decode(), err.decode()))
    rows = probe(url, "sql", "SELECT count(*) FROM slow WHERE n = 1")["rows"]
    check(0 < int(rows[0][0]) < 600, "stopped part way: %r" % rows)
    r = expect(mig(url, fixture, "up"), 0, "(resuming)")
    check(re.search(r" now\) in \d+ batch(es)?, the longest [\d.]+ m?s\n", r.out), "batches of the rest: %r" % r)
    check(probe(url, "sql", "SELECT count(*) FROM slow WHERE n = 1")["rows"] == [["600"]], "resumed to the end")
    expect(mig(url, fixture, "check"), 0)
    work = Work("pgcodes")
    edited = edited_plan(work, fixture, '"value": 1', '"value": 2')
    expect(mig(url, edited, "check"), 5)
    expect(mig(url, edited, "up"), 5)
    work.cleanup()


# ---- MongoDB (FerretDB) --------------------------------------------------

def case_mongo_golden():
    golden_case("000_sessions_to_jobs.mongo.json", lambda: mongo_db("cli_golden"))
    golden_case("004_chat_collections.mongo.json", lambda: mongo_db("cli_golden"))


def case_mongo_seed000():
    url = mongo_db("cli_seed000")
    p = plan_path("000_sessions_to_jobs.mongo.json")
    expect(mig(url, os.path.join(FIXTURES, "000_old_sessions.mongo.json"), "up"), 0)
    expect(mig(url, p, "check"), 3)
    r = expect(mig(url, p, "--batch-size", "3", "up"), 0, "7 versions applied")
    # the counters' backfill: 10 documents in batches of 3
    check(re.search(r"backfill: done in [^(]+\(10 documents\) in 4 batches, the longest [\d.]+ m?s\n", r.out), repr(r))
    t = probe(url, "tables")["tables"]
    check(t["jobs"]["rows"] == 10 and t["sessions"]["rows"] == 0, repr(t))
    check(len(t["jobs"]["indexes"]) == 6 and len(t["sessions"]["indexes"]) == 7, "the eleven indexes and _id: %r" % t)
    for d in probe(url, "find", "jobs")["documents"]:
        check(d["status"] not in OLD_STATUSES, repr(d))
        check(d["tools_completed"] == len(d.get("tool_ids") or []), repr(d))
        check(d["tools_failed"] == len(d.get("tool_failure_ids") or []), repr(d))
        check(d["session_ids"] == [] and d["tools_in_progress"] == 0, repr(d))
    expect(mig(url, p, "check"), 0)
    expect(mig(url, p, "check", "--schema"), 0, "the schema matches the applied versions")
    expect(mig(url, p, "verify"), 0, "all 3 assertions hold")
    doc = mig_json(url, p, "status")
    check(doc["driver"] == "mongo" and all(v["state"] == "applied" for v in doc["versions"]), repr(doc))
    expect(mig(url, p, "down", "0"), 0, "7 versions reverted")
    t = probe(url, "tables")["tables"]
    check("jobs" not in t and t["sessions"]["rows"] == 10, "the old sessions are back: %r" % t)


def case_mongo_seed004():
    url = mongo_db("cli_seed004")
    p = plan_path("004_chat_collections.mongo.json")
    r = mig(url, p, "up")
    expect(r, 0, "1 version applied")
    # FerretDB has no collection validators: the run says the four were made without theirs.
    made = [c for c in ("chat_sessions", "chat_messages", "token_usage", "message_votes")
            if 'collection "%s" was made without its validator' % c in r.err]
    check(len(made) == 4, repr(r.err))
    t = probe(url, "tables")["tables"]
    for c in ("chat_sessions", "chat_messages", "token_usage", "message_votes"):
        check(c in t and c + "_id" in t[c]["indexes"], "%s: %r" % (c, t.get(c)))
    check("message_votes_message_id_user_id" in t["message_votes"]["indexes"], repr(t["message_votes"]))
    check(len(t["chat_messages"]["indexes"]) == 9, repr(t["chat_messages"]))
    expect(mig(url, p, "check", "--schema"), 0, "the schema matches the applied versions")
    expect(mig(url, p, "verify"), 0, "all 4 assertions hold")
    expect(mig(url, p, "down", "0"), 0, "1 version reverted")
    t = probe(url, "tables")["tables"]
    check(not {"chat_sessions", "chat_messages", "token_usage", "message_votes"} & set(t), repr(t))


def case_mongo_seed004_history_as_the_guide():
    """Seed 004 to the letter: the history is the collection `migration_history`
    (migrate_history= in the URL), its record is named create_chat_collections,
    and the guide's troubleshooting (drop the four collections, deleteMany the
    record by name, run again) applies the version again."""
    chat = ("chat_sessions", "chat_messages", "token_usage", "message_votes")
    url = mongo_db("cli_seed004_history")
    hurl = url + "&migrate_history=migration_history"
    p = plan_path("004_chat_collections.mongo.json")
    expect(mig(hurl, p, "up"), 0, "1 version applied")
    t = probe(url, "tables")["tables"]
    check("migration_history" in t and "_migrate_history" not in t, repr(sorted(t)))
    docs = probe(url, "find", "migration_history")["documents"]
    check(len(docs) == 1 and docs[0]["name"] == "create_chat_collections" and docs[0]["state"] == "applied",
          repr(docs))
    expect(mig(hurl, p, "status"), 0, "create_chat_collections")
    for c in chat:
        probe(url, "command", json.dumps({"drop": c}), parse=False)
    probe(url, "command", json.dumps({"delete": "migration_history",
                                      "deletes": [{"q": {"name": "create_chat_collections"}, "limit": 0}]}),
          parse=False)
    check(probe(url, "find", "migration_history")["documents"] == [], "the record is gone")
    expect(mig(hurl, p, "up"), 0, "1 version applied")
    t = probe(url, "tables")["tables"]
    check(all(c in t for c in chat), repr(sorted(t)))
    # URI option names are case-insensitive, as libmongoc reads them.
    expect(mig(url + "&Migrate_History=migration_history", p, "status"), 0, "create_chat_collections")
    # A plan step cannot touch the history collection, whatever its name.
    work = Work("seed004_history")
    bad = work.write("bad.json", json.dumps({"plan": "chat", "versions": [
        {"id": 2, "name": "drop history", "steps": [{"op": "drop_table", "table": "migration_history"}]}]}))
    r = mig(hurl, bad, "up")
    check(r.code != 0 and '"migration_history" is the history collection' in r.err, repr(r))
    check(len(probe(url, "find", "migration_history")["documents"]) == 1, "the history is intact")
    work.cleanup()
    r = mig(url + "&migrate_histroy=x", p, "status")
    check(r.code != 0 and "unknown option migrate_histroy" in r.err, repr(r))
    r = mig(url + "&migrate_history=bad$name", p, "status")
    check(r.code != 0 and "migrate_history must name a collection" in r.err, repr(r))


def case_mongo_quiet_beside_stale_mongoc_segment():
    """libmongoc's counters warning stays out of -q on MongoDB too, and so
    does its endSessions warning at disconnect from FerretDB (libmongoc's log
    goes through libmigrate's: shown with -v)."""
    url = mongo_db("cli_stale_shm")
    p = plan_path("004_chat_collections.mongo.json")
    stale_shm_check(url, p, ["up"], 0)
    stale_shm_check(url, p, ["verify"], 0)
    r = expect(mig(url, p, "status"), 0)
    check("mongoc" not in r.err and "endSessions" not in r.err, "libmongoc's log without -v: %r" % r)
    r = expect(mig(url, p, "-v", "status"), 0)
    check("migrate: debug: mongo: " in r.err, "-v shows the driver's commands: %r" % r)


class StallingProxy:
    """A TCP proxy in front of the test server that holds back the first client
    message containing `needle` for `stall` seconds before passing it on: the
    server then takes that long to answer it, as a slow one would."""

    def __init__(self, server_url, needle, stall):
        host, port = re.match(r"mongodb://([^:/]+):(\d+)", server_url).groups()
        self.target = (host, int(port))
        self.needle, self.stall, self.stalled = needle, stall, 0
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, src, dst, from_client):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client and self.needle in data:
                    with self.lock:
                        first = self.stalled == 0
                        self.stalled += 1
                    if first:
                        time.sleep(self.stall)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def up_with_stalled_update(url, plan):
    """`up --json` in place through a StallingProxy that answers the first update of "jobs"
    3 s late, with a socket timeout of 1 s; returns the JSON document and the proxy."""
    # {update: "jobs", ...} as BSON.
    proxy = StallingProxy(url, b"\x02update\x00\x05\x00\x00\x00jobs\x00", 3.0)
    try:
        purl = re.sub(r"mongodb://[^/]+", "mongodb://127.0.0.1:%d" % proxy.port, url)
        doc = mig_json(purl + "&socketTimeoutMS=1000&migrate_rewrite=0", plan, "up")
    finally:
        proxy.close()
    return doc, proxy


def case_mongo_batch_timeout_retried():
    """A batch the server answers later than the socket allows is written again in smaller
    batches after a pause, with a retry event, instead of failing the run; every document
    ends up written once (the in-place path, where FerretDB's updates are slowest; a copy of
    a field, which goes in batches by _id, not by value)."""
    url = mongo_db("cli_timeouts")
    probe(url, "command", json.dumps({"insert": "jobs", "documents": [
        {"_id": i, "arr": list(range(i % 4))} for i in range(400)]}), parse=False)
    work = Work("timeouts")
    p = work.write("plan.json", json.dumps({"plan": "timeouts", "versions": [
        {"id": 1, "name": "fill", "steps": [
            {"op": "backfill", "table": "jobs", "set": {"copy": {"column": "arr"}}}]}]}))
    doc, proxy = up_with_stalled_update(url, p)
    retries = [e for e in doc["events"] if e["event"] == "retry"]
    check(len(retries) >= 1 and "written again" in retries[0]["message"], repr(doc["events"]))
    check(proxy.stalled >= 2, "the batch was sent again: %d" % proxy.stalled)
    docs = probe(url, "find", "jobs")["documents"]
    check(len(docs) == 400 and all(d.get("copy") == d["arr"] for d in docs), repr(docs[:5]))


def case_mongo_by_value_timeout_falls_back():
    """A map_values update per value that the server answers later than the socket allows
    hands the rest of the step to batches by _id, with a retry event, instead of failing the
    run; every document ends up mapped once."""
    url = mongo_db("cli_by_value")
    probe(url, "command", json.dumps({"insert": "jobs", "documents": [
        {"_id": "d%04d" % i, "s": "pqx"[i % 3]} for i in range(300)]}), parse=False)
    work = Work("by_value")
    p = work.write("plan.json", json.dumps({"plan": "by_value", "versions": [
        {"id": 1, "name": "map", "steps": [
            {"op": "map_values", "table": "jobs", "column": "s", "map": {"p": "a", "q": "b"}}]}]}))
    doc, _ = up_with_stalled_update(url, p)
    retries = [e for e in doc["events"] if e["event"] == "retry"]
    check(len(retries) == 1 and "written in batches by _id" in retries[0]["message"], repr(doc["events"]))
    docs = probe(url, "find", "jobs")["documents"]
    want = {"p": "a", "q": "b", "x": "x"}
    check(len(docs) == 300 and all(d["s"] == want["pqx"[int(d["_id"][1:]) % 3]] for d in docs),
          repr(docs[:5]))


def case_mongo_exit_codes():
    """check 3/0, lock timeout 6 and Ctrl-C 130 with resume on MongoDB."""
    url = mongo_db("cli_codes")
    fixture = os.path.join(FIXTURES, "slow.mongo.json")
    expect(mig(url, fixture, "check"), 3)
    first = slow_up(url, fixture)
    try:
        seen = wait_for(first.stdout, "step 1/1 backfill:")
        expect(mig(url, fixture, "--lock-timeout", "1200", "up"), 6, "waiting for the lock")
        first.send_signal(signal.SIGINT)
        out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    check(first.returncode == 130, "exit 130: %r %r" % (seen + out.decode(), err.decode()))
    expect(mig(url, fixture, "check"), 4)
    expect(mig(url, fixture, "up"), 0, "(resuming)")
    docs = probe(url, "find", "slow")["documents"]
    check(len(docs) == 400 and all(d["n"] == 1 for d in docs), "resumed to the end")
    expect(mig(url, fixture, "check"), 0)


# ---- main ----------------------------------------------------------------


# ---- plan directories, new and fmt ---------------------------------------

def split_plan(src, dir_path, plan_json=True):
    """Writes plan file `src` as a plan directory: one file per version, every
    other one without "id" (its name's prefix gives it)."""
    with open(src) as f:
        doc = json.load(f)
    os.makedirs(dir_path, exist_ok=True)
    if plan_json:
        with open(os.path.join(dir_path, "plan.json"), "w") as f:
            json.dump({"plan": doc["plan"]}, f)
    for i, v in enumerate(doc["versions"]):
        v = dict(v)
        vid = v.pop("id") if i % 2 else v["id"]
        with open(os.path.join(dir_path, "%04d_%s.json" % (vid, re.sub(r"\W+", "_", v.get("name", "v")))), "w") as f:
            json.dump(v, f)
    with open(os.path.join(dir_path, "NOTES.txt"), "w") as f:
        f.write("not a version: ignored")
    return dir_path


def read(path):
    with open(path) as f:
        return f.read()


def case_sqlite_plan_dir():
    """--plan DIR works for every command and matches the single file's history."""
    work = Work("plandir")
    db, url, single = seed000(work)
    d = split_plan(single, work.path("sessions_to_jobs"))
    expect(mig(url, d, "status"), 0, "sessions_to_jobs", "0 applied, 7 pending")
    expect(mig(url, d, "check"), 3, "pending")
    expect(mig(url, d, "plan", "1"), 0, 'ALTER TABLE "sessions" RENAME TO "jobs"')
    expect(mig("sqlite:" + work.path("adopted.db"), d, "baseline", "7"), 0)
    expect(mig("sqlite:" + work.path("adopted.db"), d, "status"), 0, "7 applied, 0 pending")
    expect(mig(url, d, "up"), 0, "applied version 7")
    check_seed000_applied(db, 200)
    # The same versions with the same checksums: the single file sees an up-to-date database.
    expect(mig(url, single, "check"), 0, "up to date")
    expect(mig(url, d, "check"), 0, "up to date")
    expect(mig(url, d, "verify"), 0, "all 3 assertions hold")
    expect(mig(url, d, "repair"), 0)
    doc = mig_json(url, d, "status")
    check(doc.get("plan") == "sessions_to_jobs", "plan name from plan.json: %r" % doc)
    # fmt changes no checksum.
    expect(run(["--plan", d, "fmt"]), 0, "formatted", "0 already canonical")
    expect(mig(url, d, "check"), 0, "up to date")
    expect(mig(url, d, "down", "0"), 0, "versions reverted")
    # Without plan.json the plan is named after the directory.
    os.remove(os.path.join(d, "plan.json"))
    expect(mig(url, d, "status"), 0, 'plan "sessions_to_jobs"')
    # Errors name the file and the place in it, and nothing is written.
    bad = os.path.join(d, "0008_broken.json")
    with open(bad, "w") as f:
        json.dump({"steps": [{"op": "drop_table", "table": "t"}, {"op": "drop_table", "tabel": "t"}]}, f)
    expect(mig(url, d, "up"), 1, "0008_broken.json: steps[1]", where="err")
    with open(bad, "w") as f:
        f.write("{not json")
    expect(mig(url, d, "up"), 1, "0008_broken.json:1:2: expected a key in double quotes or \"}\", found \"n\"", where="err")
    with open(bad, "w") as f:
        json.dump({"id": 9, "steps": []}, f)
    expect(mig(url, d, "up"), 1, "0008_broken.json: id: 9 does not match", where="err")
    os.remove(bad)
    with open(os.path.join(d, "7_again.json"), "w") as f:
        json.dump({"steps": []}, f)
    expect(mig(url, d, "up"), 1, "7_again.json: id: version 7 is also defined by 0007_", where="err")
    check(sq_tables(db) - history_tables(db) == {"sessions"} and "tool_ids" in sq_columns(db, "sessions"),
          "an invalid plan directory ran nothing")
    work.cleanup()


def case_sqlite_new():
    """`new` numbers version files after the plan's last id; the files load and run."""
    work = Work("new")
    d = work.path("plan")
    r = expect(run(["--plan", d, "new", "create_things"]), 0, "0001_create_things.json")
    check(read(os.path.join(d, "0001_create_things.json")) == '{\n  "name": "create_things",\n  "steps": []\n}\n',
          "the skeleton: %r" % read(os.path.join(d, "0001_create_things.json")))
    expect(run(["--plan", d, "new", "add-index"]), 0, "0002_add-index.json", "version 2")
    with open(os.path.join(d, "0007_jump.json"), "w") as f:
        json.dump({"steps": []}, f)
    doc = run(["--plan", d, "--json", "new", "after_jump"]).json()
    check(doc["ok"] and doc["id"] == 8 and doc["file"].endswith("0008_after_jump.json"), "next id: %r" % doc)
    r = expect(run(["--timestamp", "--plan", d, "new", "stamped"]), 0, "created")
    m = re.search(r"(\d{14})_stamped\.json \(version (\d+)\)", r.out)
    check(m and m.group(1) == m.group(2) and m.group(1).startswith(time.strftime("%Y", time.gmtime())),
          "a YYYYMMDDHHMMSS id: %r" % r)
    # Every new file loads (and runs: empty versions are valid).
    url = "sqlite:" + work.path("app.db")
    expect(mig(url, d, "up"), 0, "5 versions applied")
    expect(mig(url, d, "status"), 0, 'plan "plan"', "create_things", "after_jump", "stamped")
    expect(run(["--plan", d, "new", "bad name"]), 2, "NAME is", where="err")
    expect(run(["--plan", d, "new"]), 2, "needs a NAME", where="err")
    expect(run(["new", "x"]), 2, "needs a plan", where="err")
    expect(run(["--plan", plan_path("000_sessions_to_jobs.sqlite.json"), "new", "x"]), 2, "is a file", where="err")
    # An invalid plan gets no new file.
    with open(os.path.join(d, "0009_bad.json"), "w") as f:
        f.write("[]")
    before = sorted(os.listdir(d))
    expect(run(["--plan", d, "new", "more"]), 1, "0009_bad.json", where="err")
    check(sorted(os.listdir(d)) == before, "nothing written")
    work.cleanup()


def case_any_new_past_the_greatest_id():
    """`new` after a version of the greatest id (9223372036854775807) writes no file the plan would refuse."""
    work = Work("new_max")
    d = work.path("plan")
    os.makedirs(d)
    with open(os.path.join(d, "9223372036854775807_last.json"), "w") as f:
        json.dump({"steps": []}, f)
    before = sorted(os.listdir(d))
    expect(run(["--plan", d, "new", "more"]), 1, "9223372036854775807", "greatest", where="err")
    doc = run(["--plan", d, "--json", "new", "more"]).json()
    check(not doc["ok"] and doc["error"]["name"] == "MIGRATE_EPLAN", "json: %r" % doc)
    check(sorted(os.listdir(d)) == before, "nothing written: %r" % sorted(os.listdir(d)))
    work.cleanup()


def case_any_json_output_is_utf8():
    """--json prints UTF-8 whatever the bytes of a file name, a path or a URL: an invalid sequence is U+FFFD."""
    work = Work("json_utf8")
    d = os.fsencode(work.path("plan")) + b"\xff"
    os.makedirs(d)
    with open(os.path.join(d, b"0001_\xc3\x28\xed\xa0\x80\xf4\x90\x80\x80\xc0\xaf\xe2\x82.json"), "w") as f:
        json.dump({"steps": [{"op": "nope"}]}, f)
    url = b"sqlite:" + os.fsencode(work.path("app")) + b"\xfe.db"
    p = subprocess.run([BIN, "--json", "--plan", d, "--url", url, "status"], capture_output=True)
    check(p.returncode == 1, "exit %d: %r" % (p.returncode, p))
    try:
        doc = json.loads(p.stdout.decode("utf-8"))
    except ValueError as e:
        raise Fail("--json output is not UTF-8 JSON (%s): %r" % (e, p.stdout))
    check(doc["plan_file"].endswith("plan\ufffd"), "plan_file: %r" % doc)
    check(doc["url"].endswith("app\ufffd.db"), "url: %r" % doc)
    check("0001_\ufffd(" in doc["error"]["message"] and "unknown op" in doc["error"]["message"],
          "message: %r" % doc)
    # A valid sequence of every length is kept.
    d = work.path("plan_\u00e9\u20ac\U0001f600")
    os.makedirs(d)
    doc = run(["--json", "--plan", d, "--url", "sqlite:" + work.path("x.db"), "status"]).json()
    check(doc["plan_file"] == d, "plan_file: %r" % doc)
    work.cleanup()


FMT_VERSION_IN = '{"steps": [{"table": "t", "op": "drop_table", "down": [{"table": "t", "op": "create_table", ' \
                 '"columns": [{"type": "text", "name": "a"}]}]}], "description": "x\\u00e9", "name": "n"}'
FMT_VERSION_OUT = """{
  "name": "n",
  "description": "x\\u00e9",
  "steps": [
    {
      "op": "drop_table",
      "table": "t",
      "down": [
        {
          "op": "create_table",
          "table": "t",
          "columns": [
            {
              "type": "text",
              "name": "a"
            }
          ]
        }
      ]
    }
  ]
}
"""


def case_any_fmt():
    """fmt: a canonical layout, idempotent, values and checksums kept, invalid plans left alone."""
    work = Work("fmt")
    for name in sorted(os.listdir(PLANS)):
        if not name.endswith(".json"):
            continue
        p = work.path(name)
        shutil.copy(plan_path(name), p)
        expect(run(["--plan", p, "fmt"]), 0, "1 file formatted")
        with open(plan_path(name)) as a, open(p) as b:
            check(json.load(a) == json.load(b), "%s: the same document after fmt" % name)
        text = read(p)
        check(text.startswith('{\n  "$schema"') and "\t" not in text, "%s: two-space layout" % name)
        expect(run(["--plan", p, "fmt"]), 0, "0 files formatted, 1 already canonical")
        check(read(p) == text, "%s: fmt is idempotent" % name)
        d = split_plan(plan_path(name), work.path(name + ".d"))
        expect(run(["--plan", d, "fmt"]), 0, "already canonical")
        snapshot = {f: read(os.path.join(d, f)) for f in os.listdir(d)}
        doc = run(["--plan", d, "--json", "fmt"]).json()
        check(doc["ok"] and doc["formatted"] == [], "a formatted directory is left alone: %r" % doc)
        check({f: read(os.path.join(d, f)) for f in os.listdir(d)} == snapshot, "idempotent on a directory")
    # Field order: the version's fields fixed, each step's op first, deeper objects as written.
    d = work.path("order")
    os.makedirs(d)
    with open(os.path.join(d, "0001_x.json"), "w") as f:
        f.write(FMT_VERSION_IN)
    expect(run(["--plan", d, "fmt"]), 0, "0001_x.json")
    check(read(os.path.join(d, "0001_x.json")) == FMT_VERSION_OUT, "canonical: %r" % read(os.path.join(d, "0001_x.json")))
    # An invalid plan is refused and not touched.
    with open(os.path.join(d, "0002_y.json"), "w") as f:
        f.write('{"steps": [{"op": "drop_tabel"}]}')
    with open(os.path.join(d, "0001_x.json"), "w") as f:
        f.write(FMT_VERSION_IN)
    expect(run(["--plan", d, "fmt"]), 1, "0002_y.json: steps[0].op: unknown op", where="err")
    check(read(os.path.join(d, "0001_x.json")) == FMT_VERSION_IN, "nothing written")
    expect(run(["fmt"]), 2, "needs a plan", where="err")
    expect(run(["--plan", "-", "fmt"]), 2, "standard input", where="err")
    work.cleanup()


def main(argv):
    if len(argv) < 2:
        print("usage: cli_test.py CASE | planfile FILE | --list")
        return 2
    if argv[1] == "--list":
        print("\n".join(n[5:] for n in sorted(globals()) if n.startswith("case_")))
        return 0
    try:
        if argv[1] == "planfile":
            planfile(argv[2])
        else:
            fn = globals().get("case_" + argv[1])
            if not fn:
                print("no case %s" % argv[1])
                return 2
            fn()
    except Skip as e:
        print("SKIPPED: %s" % e)
        return SKIP
    except Fail as e:
        print("FAILED: %s" % e)
        return 1
    print("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
