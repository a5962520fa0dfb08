"""SQLite specifics: types and constraints, enums, raw SQL, asserts, custom
steps on the native sqlite3 *, transactions, wrapped connections."""

from __future__ import annotations

import ctypes
import ctypes.util
import sqlite3

import pytest

import libmigrate as lm
from dbhelpers import SqliteDB


def _sqlite3() -> ctypes.CDLL:
    lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    lib.sqlite3_exec.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.sqlite3_exec.restype = ctypes.c_int
    lib.sqlite3_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.sqlite3_close.argtypes = [ctypes.c_void_p]
    lib.sqlite3_errmsg.argtypes = [ctypes.c_void_p]
    lib.sqlite3_errmsg.restype = ctypes.c_char_p
    return lib


def sqlite_exec(db: int, sql: str) -> None:
    """Runs SQL on a sqlite3 * handed over by libmigrate."""
    lib = _sqlite3()
    if lib.sqlite3_exec(db, sql.encode(), None, None, None) != 0:
        raise RuntimeError(lib.sqlite3_errmsg(db).decode())


def test_types_defaults_keys(sqlite_db: SqliteDB) -> None:
    plan = lm.Plan("types")
    v = plan.add_version(1, "tables")
    v.create_table("owners", [lm.Column("id", "integer", nullable=False)], primary_key=["id"])
    v.create_table(
        "things",
        [
            lm.Column("id", "bigint", nullable=False),
            lm.Column("title", "text", nullable=False, default={"value": "it's"}),
            lm.Column("score", "double", default={"value": 1.5}),
            lm.Column("flag", "boolean", default={"value": True}),
            lm.Column("uid", "uuid", default="uuid", unique=True),
            lm.Column("created", "timestamp", default="now"),
            lm.Column("data", "json"),
            lm.Column("blob", "bytes"),
            lm.Column("code", sql_type="varchar(10)"),
            lm.Column("owner", "integer", references_table="owners", references_column="id", on_delete="cascade"),
        ],
        primary_key=["id"],
    )
    with lm.Target.open(sqlite_db.url) as t:
        t.up(plan)
    cols = sqlite_db.columns("things")
    assert list(cols) == ["id", "title", "score", "flag", "uid", "created", "data", "blob", "code", "owner"]
    assert cols["id"][1] == 1 and cols["id"][3] == 1  # NOT NULL, primary key
    assert cols["title"][2] == "'it''s'"
    assert cols["code"][0] == "varchar(10)"
    fks = sqlite_db.query('PRAGMA foreign_key_list("things")')
    assert [(r[2], r[3], r[4], r[6]) for r in fks] == [("owners", "owner", "id", "CASCADE")]
    sqlite_db.execute("INSERT INTO things (id) VALUES (1), (2)")
    rows = sqlite_db.query("SELECT title, score, uid, created FROM things ORDER BY id")
    assert rows[0][0] == "it's" and rows[0][1] == 1.5
    assert rows[0][2] and rows[0][2] != rows[1][2]  # a fresh uuid per row
    assert rows[0][3]
    with pytest.raises(sqlite3.IntegrityError):
        sqlite_db.execute("INSERT INTO things (id, uid) VALUES (3, (SELECT uid FROM things WHERE id = 1))")


def test_enums_check_values(sqlite_db: SqliteDB) -> None:
    plan = lm.Plan("enums")
    v = plan.add_version(1, "jobs")
    v.create_enum("jobstatus", ["pending", "running", "done"])
    v.create_table("jobs", [{"name": "id", "type": "integer"}, {"name": "status", "type": "enum:jobstatus",
                                                                 "default": {"value": "pending"}}])
    with lm.Target.open(sqlite_db.url) as t:
        t.up(plan)
        sqlite_db.execute("INSERT INTO jobs (id) VALUES (1)")
        assert sqlite_db.value("SELECT status FROM jobs") == "pending"
        with pytest.raises(sqlite3.IntegrityError):
            sqlite_db.execute("INSERT INTO jobs (id, status) VALUES (2, 'bogus')")
        t.down(plan)
    assert not sqlite_db.exists("jobs")


def test_sql_steps_and_sql_asserts(sqlite_db: SqliteDB) -> None:
    plan = lm.Plan("raw")
    v = plan.add_version(1, "raw sql")
    v.sql("CREATE TABLE side (x integer); INSERT INTO side VALUES (1), (2)", "DROP TABLE side")
    v.assert_sql("SELECT count(*) FROM side", 2)
    v.assert_sql("SELECT 'two'", "two")
    bad = lm.Plan("raw_bad")
    bad.add_version(1).assert_sql("SELECT count(*) FROM side", 3)
    with lm.Target.open(sqlite_db.url) as t:
        t.up(plan)
        assert sqlite_db.query("SELECT x FROM side ORDER BY x") == [(1,), (2,)]
        with pytest.raises(lm.AssertionFailed) as e:
            t.up(bad)
        assert e.value.code == lm.Code.EASSERT and "expected" in e.value.message
        t.down(plan)
    assert not sqlite_db.exists("side")


def test_command_is_unsupported_and_nothing_runs(sqlite_db: SqliteDB) -> None:
    plan = lm.Plan("cmd")
    plan.add_version(1).create_table("fine", [{"name": "x", "type": "text"}])
    plan.add_version(2).command({"ping": 1})
    with lm.Target.open(sqlite_db.url) as t:
        with pytest.raises(lm.UnsupportedError) as e:
            t.up(plan)
    assert "version 2" in e.value.message
    assert not sqlite_db.exists("fine")


def test_custom_step_uses_native_handle_inside_the_transaction(sqlite_db: SqliteDB) -> None:
    seen = []

    def up(target: lm.Target, native: int) -> None:
        seen.append((target, native))
        sqlite_exec(native, "INSERT INTO notes VALUES ('from python')")

    def down(target: lm.Target, native: int) -> None:
        sqlite_exec(native, "DELETE FROM notes WHERE body = 'from python'")

    plan = lm.Plan("custom")
    v = plan.add_version(1, "notes")
    v.create_table("notes", [{"name": "body", "type": "text"}])
    v.custom("seed", "1", up, down)
    with lm.Target.open(sqlite_db.url) as t:
        t.up(plan)
        assert seen == [(t, t.native_handle)]  # the caller's own Target object
        assert sqlite_db.query("SELECT body FROM notes") == [("from python",)]
        t.down(plan, 0)
    assert not sqlite_db.exists("notes")

    # A failing custom step rolls the whole version back (one transaction).
    def boom(target: lm.Target, native: int) -> None:
        sqlite_exec(native, "INSERT INTO notes VALUES ('half')")
        raise ValueError("no more notes")

    failing = lm.Plan("custom_fail")
    v = failing.add_version(1, "notes")
    v.create_table("notes", [{"name": "body", "type": "text"}])
    v.custom("boom", "1", boom)
    with lm.Target.open(sqlite_db.url) as t:
        with pytest.raises(lm.CallbackError) as e:
            t.up(failing)
        assert isinstance(e.value.__cause__, ValueError)
        assert 'custom step "boom" failed: ValueError: no more notes' in e.value.message
        assert e.value.domain == lm.Domain.CALLBACK
        assert not sqlite_db.exists("notes")
        entry = t.status_map(failing)[1]
        assert entry.state == lm.State.FAILED and "no more notes" in (entry.error or "")
    # A custom step without a down is irreversible.
    with lm.Target.open(sqlite_db.url) as t:
        ok = lm.Plan("custom_nodown")
        ok.add_version(1).custom("noop", "1", lambda t, n: None)
        t.up(ok)
        with pytest.raises(lm.IrreversibleError):
            t.down(ok)


def test_non_transactional_version_and_version_down(sqlite_db: SqliteDB) -> None:
    plan = lm.Plan("ntx")
    v = plan.add_version(1, "two tables", transactional=False)
    v.create_table("a", [{"name": "x", "type": "text"}])
    v.sql("CREATE TABLE b (x text)")  # no down of its own ...
    v.set_down([{"op": "sql", "up": "DROP TABLE b"}, {"op": "drop_table", "table": "a"}])  # ... the version has one
    with lm.Target.open(sqlite_db.url) as t:
        t.up(plan)
        assert sqlite_db.exists("a") and sqlite_db.exists("b")
        t.down(plan)
    assert not sqlite_db.exists("a") and not sqlite_db.exists("b")


def test_wrapped_connection_is_borrowed(sqlite_db: SqliteDB) -> None:
    lib = _sqlite3()
    handle = ctypes.c_void_p()
    assert lib.sqlite3_open(sqlite_db.path.encode(), ctypes.byref(handle)) == 0
    try:
        plan = lm.Plan("wrapped")
        plan.add_version(1).create_table("w", [{"name": "x", "type": "text"}])
        with lm.Target.wrap_sqlite(handle.value) as t:
            assert t.driver_name == "sqlite" and t.native_handle == handle.value
            t.up(plan)
        # Still open and ours after the target closed.
        sqlite_exec(handle.value, "INSERT INTO w VALUES ('still open')")
    finally:
        lib.sqlite3_close(handle)
    assert sqlite_db.query("SELECT x FROM w") == [("still open",)]


def test_memory_database() -> None:
    def probe(target: lm.Target, native: int) -> None:
        sqlite_exec(native, "INSERT INTO m VALUES ('in memory')")

    plan = lm.Plan("mem")
    plan.add_version(1).create_table("m", [{"name": "x", "type": "text"}])
    plan.add_version(2).custom("probe", "1", probe)
    plan.add_version(3).assert_count("m", 1, where={"x": "in memory"})
    with lm.Target.open("sqlite::memory:") as t:
        t.up(plan)
        assert t.check(plan) == lm.CheckState.UP_TO_DATE
        assert [e.state for e in t.status(plan)] == [lm.State.APPLIED] * 3


def test_keep_restores_overwritten_values(sqlite_db: SqliteDB) -> None:
    """A map_values that keeps its old values: down sets each back (NULLs too) and drops the kept table."""
    sqlite_db.execute(
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY, status TEXT);"
        "INSERT INTO jobs VALUES (1, 'pending'), (2, 'planning'), (3, 'done'), (4, NULL), (5, 'processing')"
    )
    plan = lm.Plan("keep")
    v = plan.add_version(1, "fold")
    v.map_values("jobs", "status", {"pending": "processing", "planning": "processing"}, keep="jobs_kept")
    with lm.Target.open(sqlite_db.url) as t:
        t.up(plan)
        assert sqlite_db.query("SELECT status FROM jobs ORDER BY id") == [
            ("processing",), ("processing",), ("done",), (None,), ("processing",)]
        assert sqlite_db.query("SELECT * FROM jobs_kept ORDER BY 1") == [(1, "pending"), (2, "planning")]
        t.down(plan, 0)
    assert sqlite_db.query("SELECT status FROM jobs ORDER BY id") == [
        ("pending",), ("planning",), ("done",), (None,), ("processing",)]
    assert not sqlite_db.exists("jobs_kept")
    with pytest.raises(lm.MigrateError):
        v.map_values("jobs", "status", {"a": "b"}).set_keep("jobs")  # its own table


def test_drop_column_keep_adds_back_and_restores(sqlite_db: SqliteDB) -> None:
    """A drop_column that keeps its values: down adds the column back with its default and sets each value back."""
    sqlite_db.execute(
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'none');"
        "INSERT INTO jobs VALUES (1, 'a'), (2, NULL), (3, 'c')"
    )
    plan = lm.Plan("dropkeep")
    step = plan.add_version(1, "drop").drop_column_keep(
        "jobs", {"name": "note", "type": "text", "default": {"value": "none"}}, "jobs_note_kept")
    assert step.document["definition"]["name"] == "note"
    with lm.Target.open(sqlite_db.url) as t:
        t.up(plan)
        assert sqlite_db.query("SELECT count(*) FROM pragma_table_info('jobs') WHERE name = 'note'") == [(0,)]
        t.down(plan, 0)
    assert sqlite_db.query("SELECT id, note FROM jobs ORDER BY id") == [(1, "a"), (2, None), (3, "c")]
    assert sqlite_db.query("SELECT dflt_value FROM pragma_table_info('jobs') WHERE name = 'note'") == [("'none'",)]
    assert not sqlite_db.exists("jobs_note_kept")


def test_drop_table_keep_renames_and_down_renames_back(sqlite_db: SqliteDB) -> None:
    """A drop_table that keeps: the rows stay under the kept name, and down gives the table back."""
    sqlite_db.execute(
        "CREATE TABLE sessions (id INTEGER PRIMARY KEY, s TEXT);"
        "INSERT INTO sessions VALUES (1, 'a'), (2, 'b')"
    )
    plan = lm.Plan("droptablekeep")
    step = plan.add_version(1, "drop").drop_table_keep("sessions", "sessions_dropped")
    assert step.document == {"op": "drop_table", "table": "sessions", "keep": "sessions_dropped"}
    with pytest.raises(lm.MigrateError, match="keep: must name another table"):
        plan.add_version(2, "bad").drop_table_keep("t", "T")
    plan = lm.Plan("droptablekeep")
    plan.add_version(1, "drop").drop_table_keep("sessions", "sessions_dropped")
    with lm.Target.open(sqlite_db.url) as t:
        t.up(plan)
        assert not sqlite_db.exists("sessions")
        assert sqlite_db.query("SELECT id, s FROM sessions_dropped ORDER BY id") == [(1, "a"), (2, "b")]
        t.down(plan, 0)
    assert sqlite_db.query("SELECT id, s FROM sessions ORDER BY id") == [(1, "a"), (2, "b")]
    assert not sqlite_db.exists("sessions_dropped")


def test_declared_raw_step_keeps_the_comparison_complete(sqlite_db: SqliteDB) -> None:
    plan = lm.Plan("declared")
    v = plan.add_version(1, "raw")
    step = v.sql("CREATE TABLE raw_t (a TEXT)", "DROP TABLE raw_t")
    before = v.checksum
    step.set_declares([{"op": "create_table", "table": "raw_t", "columns": [{"name": "a", "type": "text"}]}])
    assert v.checksum == before
    with pytest.raises(lm.MigrateError, match=r"declares\[0\]: declares only schema steps"):
        step.set_declares([{"op": "backfill", "table": "raw_t", "set": {"a": {"value": 1}}}])
    with lm.Target.open(sqlite_db.url) as t:
        t.up(plan)
        clean = t.check_schema(plan)
        assert not clean.drifted and clean.partial_after == 0
        sqlite_db.execute("ALTER TABLE raw_t ADD COLUMN rogue TEXT")
        found = {(f.kind_name, f.object, f.version) for f in t.check_schema(plan).findings}
        assert found == {("extra", "raw_t.rogue", 1)}


def test_check_schema_reports_drift(sqlite_db: SqliteDB) -> None:
    plan = lm.Plan("drift")
    v = plan.add_version(1, "jobs")
    v.create_table("jobs", [lm.Column("id", "integer", nullable=False), lm.Column("n", "integer")], primary_key=["id"])
    v.create_index("jobs", "jobs_n", ["n"])
    plan.add_version(2, "more").add_column("jobs", lm.Column("note", "text"))
    with lm.Target.open(sqlite_db.url) as t:
        t.up(plan)
        clean = t.check_schema(plan)
        assert clean.state == lm.CheckState.UP_TO_DATE
        assert not clean.drifted and clean.partial_after == 0

        sqlite_db.execute("DROP INDEX jobs_n; ALTER TABLE jobs DROP COLUMN note")
        assert sqlite_db.value("SELECT count(*) FROM sqlite_master WHERE name = 'jobs_n'") == 0
        assert sqlite_db.value("SELECT count(*) FROM pragma_table_info('jobs') WHERE name = 'note'") == 0
        report = t.check_schema(plan)
        found = {(f.kind_name, f.object_type, f.object, f.version) for f in report.findings}
        assert found == {("missing", "index", "jobs.jobs_n", 1), ("missing", "column", "jobs.note", 2)}
        assert all(f.kind == lm.DriftKind.MISSING and f.property is None for f in report.findings)


def test_lint(sqlite_db: SqliteDB) -> None:
    """lint without a database (sizes unknown: warnings), then with the live sizes of a table with rows
    (an error), a silenced rule counted; linting writes nothing."""
    plan = lm.Plan("lint")
    plan.add_version(1, "jobs").create_table(
        "jobs", [lm.Column("id", "integer", nullable=False), lm.Column("name", "text")], primary_key=["id"]
    )
    v = plan.add_version(2, "unique names")
    v.create_index("jobs", "jobs_name", ["name"], unique=True)
    v.add_step({"op": "rename_column", "table": "jobs", "from": "name", "to": "title",
                "lint": {"ignore": ["rename-or-drop-in-use"], "reason": "the application is stopped"}})
    report = lm.lint(plan, driver="sqlite")
    assert [(f.rule, f.severity, f.version, f.step) for f in report.findings] == [
        ("unique-index-unchecked", "warning", 2, 0)
    ]
    assert report.silenced == 1 and not report.errors
    assert "size is unknown" in report.findings[0].message and report.findings[0].safer
    with lm.Target.open(sqlite_db.url) as t:
        t.up(plan, 1)
        sqlite_db.execute("INSERT INTO jobs (id, name) VALUES (1, 'a'), (2, 'b')")
        live = t.lint(plan)
        assert [(f.rule, f.severity) for f in live.errors] == [("unique-index-unchecked", "error")]
        assert "about 2 rows" in live.findings[0].message
    assert sqlite_db.value("SELECT count(*) FROM sqlite_master WHERE name = 'jobs_name'") == 0
    with pytest.raises(lm.NotFoundError, match="oracle"):
        lm.lint(plan, driver="oracle")
    with pytest.raises(lm.InvalidArgumentError):
        lm.lint(plan)


def test_check_details_behind_and_ahead(sqlite_db: SqliteDB) -> None:
    """check_details: versions, pending and ahead, as the history in the file says."""

    def plan_of(n: int) -> lm.Plan:
        plan = lm.Plan("details")
        for i in range(1, n + 1):
            plan.add_version(i).create_table(f"t{i}", [{"name": "x", "type": "text"}])
        return plan

    with lm.Target.open(sqlite_db.url) as t:
        d = t.check_details(plan_of(3))
        assert d == lm.CheckDetails(lm.CheckState.PENDING, 0, 3, 3, 0) and d.behind and not d.is_ahead
        t.up(plan_of(3), 1)
        d = t.check_details(plan_of(3))
        assert (d.state, d.database_version, d.plan_version, d.pending, d.ahead) == (lm.CheckState.PENDING, 1, 3, 2, 0)
        t.up(plan_of(3))
        # An older release's plan (versions 1 and 2) against a database a newer one migrated: ahead, still up to date.
        d = t.check_details(plan_of(2))
        assert d == lm.CheckDetails(lm.CheckState.UP_TO_DATE, 3, 2, 0, 1) and d.is_ahead and not d.behind
        assert t.check(plan_of(2)) == d.state
    # What the database holds: three applied versions (state 2, MIGRATE_STATE_APPLIED), the newest 3.
    assert sqlite_db.query("SELECT count(*), max(version) FROM _migrate_history WHERE state = 2") == [(3, 3)]
    assert all(sqlite_db.exists(f"t{i}") for i in (1, 2, 3))
    with lm.Target.open(sqlite_db.url) as t, pytest.raises(TypeError):
        t.check_details("not a plan")  # type: ignore[arg-type]
