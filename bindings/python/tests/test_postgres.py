"""PostgreSQL specifics: catalog types, enums, raw SQL, online indexes,
custom steps on the native PGconn *, all-or-nothing versions, wrapped
connections, and the seed 003 example run from Python."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import libmigrate as lm
from dbhelpers import PgConn, PostgresDB, pg_exec

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[3]


def test_types_enums_defaults_in_the_catalog(pg_db: PostgresDB) -> None:
    plan = lm.Plan("types")
    v = plan.add_version(1, "schema")
    v.create_enum("mood", ["happy", "sad", "it's"])
    v.create_table(
        "people",
        [
            lm.Column("id", "bigint", nullable=False),
            lm.Column("mood", "enum:mood", default={"value": "happy"}),
            lm.Column("data", "json", default={"value": {"a": [1, 2]}}),
            lm.Column("created", "timestamp", default="now"),
            lm.Column("uid", "uuid", default="uuid", unique=True),
            lm.Column("n", "integer", default={"sql": "40 + 2"}),
            lm.Column("code", sql_type="varchar(10)"),
            lm.Column("nick", "text", default={"value": "x'y"}),
        ],
        primary_key=["id"],
    )
    with lm.Target.open(pg_db.url) as t:
        assert t.driver_name == "postgres"
        t.up(plan)
    cols = pg_db.columns("people")
    assert cols["id"][:2] == ("bigint", "NO")
    assert cols["mood"][0] == "USER-DEFINED" and cols["mood"][3] == "mood"
    assert cols["data"][0] == "jsonb"
    assert cols["created"][0] == "timestamp with time zone"
    assert cols["uid"][0] == "uuid"
    assert cols["code"][0] == "character varying"
    assert cols["nick"][2] == "'x''y'::text"
    assert pg_db.enum_values("mood") == ["happy", "sad", "it's"]
    pg_db.execute("INSERT INTO people (id) VALUES (1)")
    assert pg_db.query("SELECT mood::text, n, data::text FROM people") == [("happy", "42", '{"a": [1, 2]}')]


def test_sql_online_index_and_asserts(pg_db: PostgresDB) -> None:
    plan = lm.Plan("online")
    v = plan.add_version(1, "data")
    v.sql("CREATE TABLE side (x integer); INSERT INTO side VALUES (1), (2)", "DROP TABLE side")
    v.assert_sql("SELECT count(*) FROM side", 2)
    v = plan.add_version(2, "online index", transactional=False)
    v.create_index("side", "side_x", ["x"], online=True)
    with lm.Target.open(pg_db.url) as t:
        assert "CREATE INDEX CONCURRENTLY" in t.render(plan)
        t.up(plan)
        assert pg_db.value("SELECT indisvalid FROM pg_index WHERE indexrelid = 'side_x'::regclass") == "t"
        t.down(plan)
    assert not pg_db.exists("side")


def test_custom_step_runs_in_the_version_transaction(pg_db: PostgresDB) -> None:
    def up(target: lm.Target, native: int) -> None:
        assert native == target.native_handle
        pg_exec(native, "INSERT INTO notes VALUES ($1)", ["from python"])

    def down(target: lm.Target, native: int) -> None:
        pg_exec(native, "DELETE FROM notes")

    plan = lm.Plan("custom")
    v = plan.add_version(1, "notes")
    v.create_table("notes", [{"name": "body", "type": "text"}])
    v.custom("seed", "1", up, down)
    with lm.Target.open(pg_db.url) as t:
        t.up(plan)
        assert pg_db.query("SELECT body FROM notes") == [("from python",)]
        t.down(plan)
    assert not pg_db.exists("notes")

    def boom(target: lm.Target, native: int) -> None:
        pg_exec(native, "INSERT INTO notes VALUES ('half')")
        raise RuntimeError("stop here")

    failing = lm.Plan("custom_fail")
    v = failing.add_version(1, "notes")
    v.create_table("notes", [{"name": "body", "type": "text"}])
    v.custom("boom", "1", boom)
    with lm.Target.open(pg_db.url) as t:
        with pytest.raises(lm.CallbackError) as e:
            t.up(failing)
        assert isinstance(e.value.__cause__, RuntimeError)
        assert "RuntimeError: stop here" in e.value.message
    assert not pg_db.exists("notes")  # all or nothing
    assert pg_db.value("SELECT error FROM _migrate_history WHERE plan = 'custom_fail'").endswith("stop here")


def test_command_is_unsupported(pg_db: PostgresDB) -> None:
    plan = lm.Plan("cmd")
    plan.add_version(1).command({"ping": 1})
    with lm.Target.open(pg_db.url) as t, pytest.raises(lm.UnsupportedError):
        t.up(plan)
    assert not pg_db.exists("_migrate_history") or pg_db.value("SELECT count(*) FROM _migrate_history") == "0"


def test_database_error_carries_the_server_message(pg_db: PostgresDB) -> None:
    plan = lm.Plan("dberr")
    plan.add_version(1).sql("SELECT * FROM no_such_table")
    with lm.Target.open(pg_db.url) as t, pytest.raises(lm.DatabaseError) as e:
        t.up(plan)
    assert e.value.code == lm.Code.EDB and e.value.domain == lm.Domain.DRIVER
    assert "no_such_table" in e.value.message


def test_wrapped_connection_is_borrowed(pg_db: PostgresDB) -> None:
    plan = lm.Plan("wrapped")
    plan.add_version(1).create_table("w", [{"name": "x", "type": "text"}])
    with PgConn(pg_db.url) as conn:
        with lm.Target.wrap_postgres(conn.ptr) as t:
            assert t.native_handle == conn.ptr
            t.up(plan)
        conn.query("INSERT INTO w VALUES ('still open')")
    assert pg_db.query("SELECT x FROM w") == [("still open",)]
    # With options: the history in a schema of its own, a lease lock.
    pg_db.execute("CREATE SCHEMA ops")
    with PgConn(pg_db.url) as conn:
        with lm.Target.wrap_postgres(conn.ptr, schema="ops", lock="lease", lease_ms=60000, retries=2) as t:
            t.up(lm.Plan.from_json({"plan": "in_ops", "versions": [{"id": 1, "steps": []}]}))
    assert pg_db.value("SELECT count(*) FROM ops._migrate_history WHERE plan = 'in_ops'") == "1"
    with pytest.raises(lm.InvalidArgumentError):
        lm.Target.wrap_postgres(1, lock="mutex")


def test_connect_error_hides_the_password(pg_server: str) -> None:
    with pytest.raises(lm.ConnectError) as e:
        lm.Target.open("postgresql://bob:s3cretpw@127.0.0.1:1/db?connect_timeout=2")
    assert e.value.code == lm.Code.ECONNECT
    assert "s3cretpw" not in e.value.message and "s3cretpw" not in repr(e.value)


def test_seed_003_example(pg_db: PostgresDB) -> None:
    """examples/python/jobs_table.py: up, status, rollback, up again."""
    script = REPO / "examples" / "python" / "jobs_table.py"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "bindings" / "python") + os.pathsep + env.get("PYTHONPATH", "")

    def run(*args: str) -> str:
        r = subprocess.run([sys.executable, str(script), pg_db.url, *args], capture_output=True, text=True,
                           env=env, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    assert "migrated" in run()
    assert pg_db.enum_values("jobstatus") == ["pending", "running", "completed", "failed", "cancelled"]
    assert pg_db.indexes("jobs") == {f"idx_jobs_{c}" for c in ("status", "created_at", "tool_name", "trace_id",
                                                              "expires_at")}
    cols = pg_db.columns("jobs")
    assert cols["parameters"][:2] == ("jsonb", "NO") and cols["tool_name"][0] == "character varying"
    assert "applied" in run("--status")
    run("--check")
    run("--rollback")
    assert not pg_db.exists("jobs") and pg_db.enum_values("jobstatus") == []
    r = subprocess.run([sys.executable, str(script), pg_db.url, "--check"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 1 and "not ready" in r.stdout
    run()
    assert pg_db.exists("jobs")


def test_seed_003_python_and_c_examples_share_one_history(pg_db: PostgresDB) -> None:
    """The C example (examples/jobs_table) migrates; the Python one finds
    the database ready and nothing to do, and can roll it back."""
    c_program = os.environ.get("MIGRATE_C_JOBS_TABLE")
    if not c_program or not os.access(c_program, os.X_OK):
        pytest.skip("MIGRATE_C_JOBS_TABLE does not name the built C example (ctest sets it)")
    script = REPO / "examples" / "python" / "jobs_table.py"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "bindings" / "python") + os.pathsep + env.get("PYTHONPATH", "")
    # A sanitized C program carries its own runtime: the one preloaded into Python must not reach it.
    c_env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    r = subprocess.run([c_program, pg_db.url], capture_output=True, text=True, timeout=120, env=c_env)
    assert r.returncode == 0, r.stdout + r.stderr
    for args in ([], ["--check"], ["--rollback"]):
        r = subprocess.run([sys.executable, str(script), pg_db.url, *args], capture_output=True, text=True, env=env,
                           timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "applying" not in r.stdout
    assert not pg_db.exists("jobs")
