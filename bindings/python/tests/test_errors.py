"""C errors as Python exceptions: one class per code under MigrateError,
carrying code, domain and message; produced for real where SQLite can."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

import libmigrate as lm
from libmigrate import _lib, _util
from dbhelpers import SqliteDB

EXPECTED = {
    lm.Code.EINVAL: lm.InvalidArgumentError,
    lm.Code.ENOMEM: lm.OutOfMemoryError,
    lm.Code.EPLAN: lm.PlanError,
    lm.Code.EUNSUPPORTED: lm.UnsupportedError,
    lm.Code.ECHECKSUM: lm.ChecksumError,
    lm.Code.ELOCKED: lm.LockedError,
    lm.Code.ELOCKLOST: lm.LockLostError,
    lm.Code.ECANCELED: lm.CanceledError,
    lm.Code.EDB: lm.DatabaseError,
    lm.Code.ECONNECT: lm.ConnectError,
    lm.Code.EASSERT: lm.AssertionFailed,
    lm.Code.EIRREVERSIBLE: lm.IrreversibleError,
    lm.Code.EORDER: lm.OrderError,
    lm.Code.EJSON: lm.JSONError,
    lm.Code.ECALLBACK: lm.CallbackError,
    lm.Code.ENOTFOUND: lm.NotFoundError,
    lm.Code.EIO: lm.FileError,
    lm.Code.EVERSION: lm.StructVersionError,
    lm.Code.ESTATE: lm.StateError,
    lm.Code.EINTERNAL: lm.InternalError,
}


def test_one_class_per_code() -> None:
    assert set(EXPECTED) == set(lm.Code) - {lm.Code.OK}
    assert len(set(EXPECTED.values())) == len(EXPECTED)
    for code, cls in EXPECTED.items():
        assert lm.error_class(code) is cls
        assert issubclass(cls, lm.MigrateError) and cls.CODE == code
        # Every code the binding knows, the library names.
        assert lm.strerror(code) and lm.strerror(code) != lm.strerror(-999)
    assert lm.error_class(-999) is lm.MigrateError


def test_errors_carry_code_domain_message() -> None:
    err = _lib.MigrateErrorStruct(lm.Domain.DRIVER, lm.Code.EDB, b"relation \"x\" does not exist")
    e = _util.error_from(lm.Code.EDB, err)
    assert type(e) is lm.DatabaseError
    assert (e.code, e.domain, e.message) == (lm.Code.EDB, lm.Domain.DRIVER, 'relation "x" does not exist')
    assert str(e) == e.message and "EDB" in repr(e) and "DRIVER" in repr(e)
    # A code from a newer library still raises, as the base class.
    err = _lib.MigrateErrorStruct(9, -77, b"new")
    e = _util.error_from(-77, err)
    assert type(e) is lm.MigrateError and e.code == -77 and e.domain == 9
    # An error struct left unfilled falls back to the library's description.
    e = _util.error_from(lm.Code.ENOMEM, _lib.MigrateErrorStruct())
    assert type(e) is lm.OutOfMemoryError and e.message == lm.strerror(lm.Code.ENOMEM)
    # Familiar built-in bases where they fit.
    assert issubclass(lm.ConnectError, ConnectionError) and issubclass(lm.FileError, OSError)
    assert issubclass(lm.InvalidArgumentError, ValueError) and issubclass(lm.NotFoundError, LookupError)


def test_struct_version_error_from_the_library() -> None:
    opts = _lib.RunOptionsStruct()
    assert _lib.lib().migrate_run_options_init(ctypes.byref(opts), 99) == lm.Code.EVERSION
    opts.version = 99
    plan = lm.Plan("v")
    with lm.Target.open("sqlite::memory:") as t:
        with pytest.raises(lm.StructVersionError) as e:
            _util.call(_lib.lib().migrate_up, t._handle(), plan._handle(), 0, ctypes.byref(opts))
    assert e.value.domain == lm.Domain.API and "99" in e.value.message


def test_unknown_scheme_and_bad_sqlite_path(tmp_path: Path) -> None:
    with pytest.raises(lm.NotFoundError) as e:
        lm.Target.open("nosuch://x")
    assert e.value.code == lm.Code.ENOTFOUND
    with pytest.raises(lm.MigrateError) as e2:
        lm.Target.open(f"sqlite:{tmp_path}/missing/dir/x.db")
    assert e2.value.code in (lm.Code.ECONNECT, lm.Code.EDB, lm.Code.EIO)


def test_load_driver_finds_the_scheme_and_connects_to_nothing(tmp_path: Path) -> None:
    lm.Target.load_driver(f"sqlite:{tmp_path}/never.db")
    assert not (tmp_path / "never.db").exists()
    if lm._lib.has("migrate_target_open_postgres"):
        # Port 1 has no server: loading the driver does not try to reach it.
        lm.Target.load_driver("postgresql://u:s3cret@127.0.0.1:1/db")
    with pytest.raises(lm.NotFoundError) as e:
        lm.Target.load_driver("nosuch://u:s3cret@h/x")
    assert e.value.code == lm.Code.ENOTFOUND and "nosuch" in e.value.message and "s3cret" not in e.value.message
    with pytest.raises(TypeError):
        lm.Target.load_driver(None)  # type: ignore[arg-type]


def test_plan_errors_name_the_place() -> None:
    with pytest.raises(lm.PlanError) as e:
        lm.Plan.from_json({"plan": "p", "versions": [{"id": 1, "steps": [
            {"op": "create_table", "table": "t", "columns": [{"name": "a", "type": "uuuid"}]}]}]})
    assert "versions[0].steps[0]" in e.value.message and "uuuid" in e.value.message
    assert e.value.domain == lm.Domain.PLAN
    with pytest.raises(lm.JSONError) as e2:
        lm.Plan.from_json('{"plan": "p",\n "versions": [}')
    assert "line 2" in e2.value.message
    with pytest.raises(lm.JSONError):
        lm.Plan("p").add_version(1).add_step("{not json")
    with pytest.raises(lm.PlanError) as e3:
        lm.Plan("p").add_version(1).add_step({"op": "rename_table", "from": "a"})
    assert "to" in e3.value.message


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(lm.FileError) as e:
        lm.Plan.load(tmp_path / "nope.json")
    assert e.value.code == lm.Code.EIO and "nope.json" in e.value.message


def test_run_errors_on_sqlite(sqlite_db: SqliteDB) -> None:
    with lm.Target.open(sqlite_db.url) as t:
        # EPLAN at run time: a duplicate version id, nothing written.
        dup = lm.Plan.from_json({"plan": "dup", "versions": [{"id": 1, "steps": []}]})
        with pytest.raises(lm.PlanError):
            dup.add_version(1)
        # EDB with the database's message.
        bad_sql = lm.Plan("bad_sql")
        bad_sql.add_version(1).sql("CREATE TABLE (")
        with pytest.raises(lm.DatabaseError) as e:
            t.up(bad_sql)
        assert e.value.domain == lm.Domain.DRIVER and "syntax error" in e.value.message

        # EASSERT
        failing = lm.Plan("assert")
        failing.add_version(1).assert_exists("nope")
        with pytest.raises(lm.AssertionFailed):
            t.up(failing)

        # EIRREVERSIBLE: nothing runs.
        irreversible = lm.Plan("irr")
        v = irreversible.add_version(1)
        v.create_table("keep", [{"name": "x", "type": "text"}])
        v.create_table("gone", [{"name": "x", "type": "text"}])
        irreversible.add_version(2).drop_table("gone")
        t.up(irreversible)
        with pytest.raises(lm.IrreversibleError) as e:
            t.down(irreversible)
        assert "version 2" in e.value.message
        assert sqlite_db.exists("keep")

        # EORDER, unless allowed.
        ordered = lm.Plan("order")
        ordered.add_version(2).create_table("two", [{"name": "x", "type": "text"}])
        t.up(ordered)
        ordered.add_version(1).create_table("one", [{"name": "x", "type": "text"}])
        with pytest.raises(lm.OrderError):
            t.up(ordered)
        t.up(ordered, allow_out_of_order=True)
        assert sqlite_db.exists("one")

        # ECHECKSUM, unless allowed.
        edited = lm.Plan("order")
        edited.add_version(2).create_table("two", [{"name": "y", "type": "text"}])
        edited.add_version(1).create_table("one", [{"name": "x", "type": "text"}])
        with pytest.raises(lm.ChecksumError):
            t.up(edited)
        t.up(edited, allow_amended=True)

        # ENOTFOUND / ESTATE: a down to a version the plan does not have, or
        # a down of a version missing from the plan.
        shorter = lm.Plan("order")
        shorter.add_version(1).create_table("one", [{"name": "x", "type": "text"}])
        with pytest.raises((lm.StateError, lm.NotFoundError, lm.PlanError)):
            t.down(shorter)

        # ELOCKED: covered with a nested run in test_callbacks.py.


def test_binding_argument_checks() -> None:
    plan = lm.Plan("args")
    for bad in (0, -1, 1 << 64):
        with pytest.raises(lm.InvalidArgumentError) as e:
            plan.add_version(bad)
        assert e.value.code == lm.Code.EINVAL and e.value.domain == lm.Domain.API
    with pytest.raises(TypeError):
        plan.add_version("1")  # type: ignore[arg-type]
    v = plan.add_version(1)
    # ctypes would cut these at the NUL: refused instead.
    with pytest.raises(lm.InvalidArgumentError, match="NUL"):
        v.create_table("a\0b", [{"name": "x", "type": "text"}])
    # In JSON the NUL is escaped, and the library refuses it itself.
    with pytest.raises(lm.PlanError, match="NUL"):
        v.add_step({"op": "drop_table", "table": "x\0y"})
    with pytest.raises(lm.InvalidArgumentError):
        v.add_step({"op": "backfill", "table": "t", "set": {"n": {"value": float("nan")}}})
    with pytest.raises(lm.InvalidArgumentError):
        v.create_table("t", [{"name": "x", "type": "text", "colour": "red"}])
    with pytest.raises(lm.InvalidArgumentError):
        v.create_index("t", "i", [("x", "sideways")])
    with pytest.raises(TypeError):
        v.create_enum("e", "abc")
    with pytest.raises(lm.InvalidArgumentError):
        lm.Target.open("sqlite::memory:").up(plan, batch_size=-1)
    with pytest.raises(TypeError):
        lm.Target.open("sqlite::memory:").up(plan, bogus_option=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        lm.Target()
    with pytest.raises(lm.InvalidArgumentError):
        lm.Plan("p").create_table("t", [])  # no version yet
