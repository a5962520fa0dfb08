#!/usr/bin/env python3
"""Switching to libmigrate from golang-migrate, goose and Flyway (docs/switching.md).

Each case_<driver>_<name> is one ctest entry (tests/foreign.cmake). The
directories of tests/foreign/ are first applied, all but their newest
version, by the original tool (installed by scripts/install-deps.sh into
~/.cache/libmigrate); then `migrate --plan FORMAT:DIR up` adopts that
tool's history and applies only the newest version. The final schema and
data are compared with the original tool's own run of every version on
another database. Exit 77: skipped (a tool or server missing outside CI);
under CI=true a missing one fails.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_test as t  # noqa: E402  (the CLI tests' helpers: run, expect, pg_db, Skip, Fail)

FOREIGN = os.path.join(t.SRC, "tests", "foreign")
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "libmigrate")
TOOLS = {
    "goose": os.path.join(CACHE, "bin", "goose"),
    "golang-migrate": os.path.join(CACHE, "golang-migrate", "bin", "migrate"),
}
HISTORY_TABLES = ("schema_migrations", "goose_db_version", "flyway_schema_history", "_migrate_history",
                  "_migrate_lock")


FLYWAY_JARS = os.path.join(CACHE, "flyway", "jars")
RUNNER = os.path.join(FOREIGN, "runner", "FlywayRun.java")


def flyway():
    """The java command line running Flyway's own migrate (tests/foreign/runner/FlywayRun.java)."""
    jars = sorted(os.listdir(FLYWAY_JARS)) if os.path.isdir(FLYWAY_JARS) else []
    if not any(j.startswith("flyway-core-") for j in jars) or not shutil.which("javac"):
        message = "Flyway is not installed in %s, or no javac (scripts/install-deps.sh)" % FLYWAY_JARS
        if os.environ.get("CI") == "true":
            raise t.Fail(message + " (CI=true: a missing tool is a failure)")
        raise t.Skip(message)
    classes = os.path.join(os.environ.get("CLI_WORK") or "/tmp", "flyway-runner")
    cp = os.path.join(FLYWAY_JARS, "*")
    built = os.path.join(classes, "FlywayRun.class")
    if not os.path.exists(built) or os.path.getmtime(built) < os.path.getmtime(RUNNER):
        # Compiled aside and renamed: the Flyway cases may run at once.
        os.makedirs(classes, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=classes)
        sh(["javac", "-cp", cp, "-d", tmp, RUNNER], "javac FlywayRun")
        os.replace(os.path.join(tmp, "FlywayRun.class"), built)
        shutil.rmtree(tmp, ignore_errors=True)
    return ["java", "-cp", cp + os.pathsep + classes, "FlywayRun"]


def jdbc(url):
    """postgresql://USER@HOST:PORT/DB to jdbc:postgresql://HOST:PORT/DB and USER."""
    rest = url.split("://", 1)[1].split("?", 1)[0]
    user, hostdb = rest.split("@", 1) if "@" in rest else ("postgres", rest)
    return "jdbc:postgresql://" + hostdb, user.split(":", 1)[0]


def tool(name):
    path = TOOLS[name]
    if not os.path.exists(path):
        message = "%s is not installed at %s (scripts/install-deps.sh installs it)" % (name, path)
        if os.environ.get("CI") == "true":
            raise t.Fail(message + " (CI=true: a missing tool is a failure)")
        raise t.Skip(message)
    return path


def pg_bin(name):
    found = shutil.which(name)
    if found:
        return found
    for d in sorted(os.listdir("/usr/lib/postgresql"), reverse=True) if os.path.isdir("/usr/lib/postgresql") else []:
        p = os.path.join("/usr/lib/postgresql", d, "bin", name)
        if os.path.exists(p):
            return p
    raise t.Fail("%s not found" % name)


def sh(args, what):
    p = subprocess.run(args, capture_output=True, text=True, timeout=300)
    t.check(p.returncode == 0, "%s: exit %d: %s %s" % (what, p.returncode, p.stdout, p.stderr))
    return p.stdout


def sql(url, query):
    return sh([pg_bin("psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", query], "psql " + query).strip()


def tool_url(url):
    return url + ("&" if "?" in url else "?") + "sslmode=disable"


def schema(url):
    """The schema (without any tool's history table) and the data of the shop's tables."""
    args = [pg_bin("pg_dump"), "--schema-only", "--no-owner", "-n", "public"]
    for table in HISTORY_TABLES:
        args += ["-T", table]
    text = sh(args + [url], "pg_dump")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith(("--", "\\restrict", "\\unrestrict"))]
    data = sql(url, "SELECT string_agg(format('%s %s %s', u.email, o.status, o.total_cents), ',' ORDER BY u.email)"
                    " FROM orders o JOIN users u ON u.id = o.user_id")
    return "\n".join(lines), data


def original_run(fmt, directory, url, upto=None):
    """The original tool applies the directory (up to version `upto`)."""
    if fmt == "flyway":
        args = flyway() + list(jdbc(url)) + [directory] + ([str(upto)] if upto else [])
    elif fmt == "golang-migrate":
        args = [tool(fmt), "-path", directory, "-database", tool_url(url)]
        args += ["goto", str(upto)] if upto else ["up"]
    else:
        args = [tool(fmt), "-dir", directory, "postgres", tool_url(url)]
        args += ["up-to", str(upto)] if upto else ["up"]
    sh(args, "%s %s" % (fmt, " ".join(args[-2:])))


def takeover(fmt, versions, newest, db, upto=None):
    """The original tool applies all but the newest version; libmigrate adopts them and applies the newest."""
    directory = os.path.join(FOREIGN, fmt)
    theirs, mine = t.pg_db(db + "_theirs"), t.pg_db(db + "_mine")
    original_run(fmt, directory, theirs)
    original_run(fmt, directory, mine, upto=upto or versions[-2])
    table = {"golang-migrate": "schema_migrations", "goose": "goose_db_version"}.get(fmt, "flyway_schema_history")
    before = sql(mine, "SELECT md5(string_agg(t::text, ',')) FROM %s t" % table)
    plan = "%s:%s" % (fmt, directory)
    r = t.expect(t.mig(mine, plan, "up"), 0, "adopted %d versions applied by %s" % (len(versions) - 1, fmt),
                 "applying version %d" % newest)
    t.check(r.out.count("applying version") == 1, "only the newest version runs: %r" % r)
    t.check(sql(mine, "SELECT md5(string_agg(t::text, ',')) FROM %s t" % table) == before,
            "%s's table was changed" % table)
    states = sql(mine, "SELECT string_agg(version || ':' || state, ',' ORDER BY version) FROM _migrate_history")
    t.check(states == ",".join("%d:applied" % v for v in versions), "history: %s" % states)
    t.check(schema(mine) == schema(theirs), "the schema differs from %s's own run:\n%s\n----\n%s"
            % (fmt, schema(mine), schema(theirs)))
    # A second run adopts nothing and runs nothing.
    r = t.expect(t.mig(mine, plan, "up"), 0)
    t.check("adopted" not in r.out and "applying" not in r.out, repr(r))
    # Converted to a libmigrate plan directory: same plan, same checksums, so up to date.
    work = t.Work(db + "_import")
    try:
        out = os.path.join(work.dir, "plan")
        t.expect(t.run(["--plan", plan, "import", out]), 0, "%d versions of" % len(versions))
        t.check(len([f for f in os.listdir(out) if f != "plan.json"]) == len(versions), repr(os.listdir(out)))
        t.expect(t.mig(mine, out, "check"), 0)
        t.expect(t.run(["--plan", out, "fmt"]), 0, "0 files formatted")
        t.expect(t.run(["--plan", plan, "import", out]), 1, "exists and is not empty", where="err")
    finally:
        work.cleanup()
    return mine, plan


def check_down(url, plan, keep):
    """A down through libmigrate: back to `keep`, the status change and the shipped_at column undone."""
    t.expect(t.mig(url, plan, "down", str(keep)), 0, "reverted")
    t.check(sql(url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders'"
                     " AND column_name = 'shipped_at'") == "0", "shipped_at is still there")
    t.check(sql(url, "SELECT string_agg(DISTINCT status, ',') FROM orders") == "new", "statuses not reverted")
    t.check(sql(url, "SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_status_idx'") == "0",
            "the concurrent index is still there")
    t.expect(t.mig(url, plan, "up"), 0, "applied")


def case_postgres_golang_migrate():
    url, plan = takeover("golang-migrate", [1, 2, 3, 4], 4, "gm")
    check_down(url, plan, 2)


def case_postgres_golang_migrate_dirty():
    work = t.Work("gm_dirty")
    try:
        directory = os.path.join(work.dir, "migrations")
        os.makedirs(directory)
        for name in sorted(os.listdir(os.path.join(FOREIGN, "golang-migrate")))[:2]:
            shutil.copy(os.path.join(FOREIGN, "golang-migrate", name), directory)
        with open(os.path.join(directory, "000002_broken.up.sql"), "w") as f:
            f.write("CREATE TABLE audit (id bigint);\nSELECT no_such_function();\n")
        url = t.pg_db("gm_dirty")
        p = subprocess.run([tool("golang-migrate"), "-path", directory, "-database", tool_url(url), "up"],
                           capture_output=True, text=True, timeout=120)
        t.check(p.returncode != 0 and sql(url, "SELECT dirty FROM schema_migrations") == "t", p.stderr)
        t.expect(t.mig(url, "golang-migrate:" + directory, "up"), 1, "golang-migrate left version 2 dirty",
                 where="err")
        t.check(sql(url, "SELECT count(*) FROM pg_tables WHERE tablename = '_migrate_history'") == "0"
                or sql(url, "SELECT count(*) FROM _migrate_history") == "0", "something was recorded")
        t.check(sql(url, "SELECT version || ' ' || dirty FROM schema_migrations") == "2 true", "their table changed")
    finally:
        work.cleanup()


GOOSE_VERSIONS = [20240101090000, 20240102090000, 20240103090000, 20240104090000]


def case_postgres_goose():
    url, plan = takeover("goose", GOOSE_VERSIONS, GOOSE_VERSIONS[-1], "goose")
    check_down(url, plan, GOOSE_VERSIONS[1])


def case_postgres_goose_adoption_cut_short():
    """An adoption killed after its first record: baselines are written from the newest down, so the
    next run sees versions missing below a baseline, finishes the adoption and runs only the newest."""
    directory = os.path.join(FOREIGN, "goose")
    url = t.pg_db("goose_cut")
    original_run("goose", directory, url, upto=GOOSE_VERSIONS[-2])
    plan = "goose:" + directory
    t.expect(t.mig(url, plan, "baseline", str(GOOSE_VERSIONS[-2])), 0)
    # What a kill after the first baseline record leaves: the newest adopted version only.
    sql(url, "DELETE FROM _migrate_history WHERE version < %d" % GOOSE_VERSIONS[-2])
    t.check(sql(url, "SELECT string_agg(version::text, ',') FROM _migrate_history") == str(GOOSE_VERSIONS[-2]),
            "the cut-short state")
    r = t.expect(t.mig(url, plan, "up"), 0, "adopted 3 versions applied by goose",
                 "applying version %d" % GOOSE_VERSIONS[-1])
    t.check(r.out.count("applying version") == 1, "only the newest version runs: %r" % r)
    states = sql(url, "SELECT string_agg(version || ':' || state, ',' ORDER BY version) FROM _migrate_history")
    t.check(states == ",".join("%d:applied" % v for v in GOOSE_VERSIONS), "history: %s" % states)


FLYWAY_VERSIONS = [1000000000, 1001000000, 2000000000, 2000001000]  # 1, 1.1, 2, 2.0.1


def case_postgres_flyway():
    url, plan = takeover("flyway", FLYWAY_VERSIONS, FLYWAY_VERSIONS[-1], "flyway", upto="2")
    check_down(url, plan, FLYWAY_VERSIONS[1])


def case_postgres_flyway_failed():
    """A migration Flyway recorded as failed stops the takeover, named, and nothing is written.

    Flyway 13 on PostgreSQL rolls a failed migration's row back; older
    releases (and other databases) keep it with success = false, as a failed
    migration run without a transaction leaves it. Flyway makes the table
    and applies V1; the failed row of V1.2 is then written as those
    releases write it."""
    work = t.Work("flyway_failed")
    try:
        directory = os.path.join(work.dir, "sql")
        os.makedirs(directory)
        shutil.copy(os.path.join(FOREIGN, "flyway", "V1__create_users.sql"), directory)
        url = t.pg_db("flyway_failed")
        sh(flyway() + list(jdbc(url)) + [directory], "flyway migrate")
        with open(os.path.join(directory, "V1.2__users_name_index.sql"), "w") as f:
            f.write("-- flyway:executeInTransaction=false\nCREATE INDEX CONCURRENTLY users_name_idx ON users (name);\n")
        sql(url, "INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum,"
                 " installed_by, execution_time, success) VALUES (2, '1.2', 'users name index', 'SQL',"
                 " 'V1.2__users_name_index.sql', 0, 'postgres', 3, false)")
        before = sql(url, "SELECT md5(string_agg(t::text, ',')) FROM flyway_schema_history t")
        t.expect(t.mig(url, "flyway:" + directory, "up"), 1,
                 "flyway recorded version 1.2 as failed in flyway_schema_history (V1.2__users_name_index.sql)",
                 where="err")
        t.check(sql(url, "SELECT count(*) FROM pg_tables WHERE tablename = '_migrate_history'") == "0"
                or sql(url, "SELECT count(*) FROM _migrate_history") == "0", "something was recorded")
        t.check(sql(url, "SELECT count(*) FROM pg_indexes WHERE indexname = 'users_name_idx'") == "0",
                "the failed version ran")
        t.check(sql(url, "SELECT md5(string_agg(t::text, ',')) FROM flyway_schema_history t") == before,
                "their table changed")
    finally:
        work.cleanup()


MONGO_SKIP = ("_migrate_history", "_migrate_locks", "schema_migrations", "migrate_advisory_lock")


def mongo_state(url):
    """The collections with their indexes and documents (without _id), no tool's own collections."""
    tables = t.probe(url, "tables")["tables"]
    out = {}
    for name, info in sorted(tables.items()):
        if name in MONGO_SKIP:
            continue
        docs = [{k: v for k, v in d.items() if k != "_id"} for d in t.probe(url, "find", name)["documents"]]
        out[name] = (sorted(info["indexes"]), sorted(repr(sorted(d.items())) for d in docs))
    return out


def case_mongo_golang_migrate():
    """golang-migrate's MongoDB format: .json command files, schema_migrations adopted on MongoDB."""
    directory = os.path.join(FOREIGN, "golang-migrate-mongo")
    gm = tool("golang-migrate")
    theirs, mine = t.mongo_db("gmm_theirs"), t.mongo_db("gmm_mine")
    sh([gm, "-path", directory, "-database", theirs, "up"], "golang-migrate up")
    sh([gm, "-path", directory, "-database", mine, "goto", "2"], "golang-migrate goto 2")
    before = t.probe(mine, "find", "schema_migrations")["documents"]
    plan = "golang-migrate:" + directory
    r = t.expect(t.mig(mine, plan, "up"), 0, "adopted 2 versions applied by golang-migrate", "applying version 3")
    t.check(r.out.count("applying version") == 1, "only the newest version runs: %r" % r)
    t.check(t.probe(mine, "find", "schema_migrations")["documents"] == before, "schema_migrations was changed")
    t.check(mongo_state(mine) == mongo_state(theirs), "differs from golang-migrate's own run:\n%r\n%r"
            % (mongo_state(mine), mongo_state(theirs)))
    work = t.Work("gmm_import")
    try:  # converted: the commands keep their key order, so the checksums hold
        out = os.path.join(work.dir, "plan")
        t.expect(t.run(["--plan", plan, "import", out]), 0, "3 versions of")
        t.expect(t.mig(mine, out, "check"), 0)
    finally:
        work.cleanup()
    t.expect(t.mig(mine, plan, "down", "1"), 0, "reverted")
    users = t.probe(mine, "find", "users")["documents"]
    t.check(sorted(u["status"] for u in users) == ["new", "new"], repr(users))
    t.check("orders" not in t.probe(mine, "tables")["tables"], "orders is still there")


def case_mongo_golang_migrate_dirty():
    work = t.Work("gmm_dirty")
    try:
        directory = os.path.join(work.dir, "migrations")
        shutil.copytree(os.path.join(FOREIGN, "golang-migrate-mongo"), directory)
        with open(os.path.join(directory, "000002_user_status.up.json"), "w") as f:
            f.write('[{"update": "users", "updates": [{"q": {}, "u": {"$set": {"x": 1}}, "multi": true}]},'
                    ' {"noSuchCommand": 1}]\n')
        url = t.mongo_db("gmm_dirty")
        p = subprocess.run([tool("golang-migrate"), "-path", directory, "-database", url, "up"],
                           capture_output=True, text=True, timeout=120)
        state = t.probe(url, "find", "schema_migrations")["documents"]
        t.check(p.returncode != 0 and state and state[0].get("dirty") is True, "%s %r" % (p.stderr, state))
        t.expect(t.mig(url, "golang-migrate:" + directory, "up"), 1, "golang-migrate left version 2 dirty",
                 where="err")
        t.check("_migrate_history" not in t.probe(url, "tables")["tables"]
                or not t.probe(url, "find", "_migrate_history")["documents"], "something was recorded")
    finally:
        work.cleanup()


def case_postgres_foreign_errors():
    """Directories libmigrate cannot read are refused, naming the file; nothing is written."""
    work = t.Work("foreign_errors")
    try:
        url = t.pg_db("foreign_errors")
        cases = [
            ("goose", "1_x.sql", "CREATE TABLE x (id int);\n", "1_x.sql: no -- +goose Up annotation"),
            ("goose", "1_x.sql", "-- +goose Up\nCREATE TABLE x (id int)\n", "1_x.sql: the last statement"),
            ("flyway", "R__views.sql", "CREATE VIEW v AS SELECT 1;\n", "R__views.sql: repeatable Flyway"),
            ("flyway", "V1.2.3.4.5__x.sql", "SELECT 1;\n", "up to four numeric parts"),
            ("golang-migrate", "1_x.sql", "SELECT 1;\n", "1_x.sql: not a golang-migrate file name"),
        ]
        for i, (fmt, name, text, needle) in enumerate(cases):
            directory = os.path.join(work.dir, "d%d" % i)
            os.makedirs(directory)
            with open(os.path.join(directory, name), "w") as f:
                f.write(text)
            t.expect(t.mig(url, "%s:%s" % (fmt, directory), "up"), 1, needle, where="err")
        t.check(sql(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0", "a table was made")
    finally:
        work.cleanup()


if __name__ == "__main__":
    # The CLI tests' runner, with these cases beside its own.
    for _name, _fn in list(globals().items()):
        if _name.startswith("case_"):
            setattr(t, _name, _fn)
    sys.exit(t.main(sys.argv))
