"""MongoDB (FerretDB) specifics: commands, command asserts, enums, custom
steps on the native mongoc_database_t *, refused SQL, wrapped clients."""

from __future__ import annotations

import pytest

import libmigrate as lm
from dbhelpers import MongoClient, MongoDB, mongo_database_command

pytestmark = pytest.mark.mongo


def test_commands_and_command_asserts(mongo_db: MongoDB) -> None:
    plan = lm.Plan("cmd")
    v = plan.add_version(1, "settings")
    v.command(
        [{"insert": "settings", "documents": [{"_id": "mode", "v": 1}]}],
        {"delete": "settings", "deletes": [{"q": {"_id": "mode"}, "limit": 1}]},
    )
    v.assert_command({"count": "settings"}, {"n": 1, "ok": 1})
    bad = lm.Plan("cmd_bad")
    bad.add_version(1).assert_command({"count": "settings"}, {"n": 2})
    with lm.Target.open(mongo_db.url) as t:
        assert t.driver_name == "mongo"
        t.up(plan)
        assert mongo_db.find("settings") == [{"_id": "mode", "v": 1}]
        with pytest.raises(lm.AssertionFailed) as e:
            t.up(bad)
        assert "does not hold" in e.value.message
        t.down(plan)
        assert mongo_db.count("settings") == 0


def test_enums_are_recorded(mongo_db: MongoDB) -> None:
    plan = lm.Plan("enum")
    plan.add_version(1).create_enum("jobstatus", ["pending", "processing", "done"])
    with lm.Target.open(mongo_db.url) as t:
        t.up(plan)
        [doc] = mongo_db.find("_migrate_enums", {"_id": "jobstatus"})
        assert "pending" in str(doc) and "done" in str(doc)
        t.down(plan)
    assert mongo_db.count("_migrate_enums") == 0


def test_custom_step_uses_the_native_database(mongo_db: MongoDB) -> None:
    def up(target: lm.Target, native: int) -> None:
        assert native == target.native_handle
        mongo_database_command(native, {"insert": "notes", "documents": [{"_id": 1, "body": "from python"}]})

    def down(target: lm.Target, native: int) -> None:
        mongo_database_command(native, {"drop": "notes"})

    plan = lm.Plan("custom")
    plan.add_version(1).custom("seed", "1", up, down)
    with lm.Target.open(mongo_db.url) as t:
        t.up(plan)
        assert mongo_db.find("notes") == [{"_id": 1, "body": "from python"}]
        t.down(plan)
    assert not mongo_db.exists("notes")

    def boom(target: lm.Target, native: int) -> None:
        raise KeyError("missing")

    failing = lm.Plan("custom_fail")
    failing.add_version(1).custom("boom", "2", boom)
    with lm.Target.open(mongo_db.url) as t:
        with pytest.raises(lm.CallbackError) as e:
            t.up(failing)
        assert isinstance(e.value.__cause__, KeyError) and "KeyError" in e.value.message
        entry = t.status_map(failing)[1]
        assert entry.state == lm.State.FAILED and "missing" in (entry.error or "")


def test_sql_is_refused_before_anything_is_written(mongo_db: MongoDB) -> None:
    plan = lm.Plan("refused")
    plan.add_version(1).create_table("fine", [{"name": "a", "type": "text"}])
    plan.add_version(2).sql("CREATE TABLE x (a int)")
    with lm.Target.open(mongo_db.url) as t, pytest.raises(lm.UnsupportedError) as e:
        t.up(plan)
    assert "version 2" in e.value.message
    assert not mongo_db.exists("fine")


def test_wrapped_client_is_borrowed(mongo_db: MongoDB) -> None:
    plan = lm.Plan("wrapped")
    plan.add_version(1).create_table("w", [{"name": "x", "type": "text"}])
    client = MongoClient(mongo_db.url)
    try:
        with lm.Target.wrap_mongo(client.ptr, mongo_db.db) as t:
            t.up(plan)
        client.command(mongo_db.db, {"insert": "w", "documents": [{"_id": 1, "x": "still open"}]})
    finally:
        client.close()
    assert mongo_db.find("w") == [{"_id": 1, "x": "still open"}]


def test_url_errors_hide_the_password(mongo_server: str) -> None:
    with pytest.raises(lm.ConnectError) as e:
        lm.Target.open("mongodb://bob:s3cretpw@127.0.0.1:1/db?serverSelectionTimeoutMS=300")
    assert "s3cretpw" not in e.value.message and "127.0.0.1:1" in e.value.message
    with pytest.raises(lm.MigrateError) as e2:
        lm.Target.open("mongodb://bob:s3cretpw@127.0.0.1:1/")
    assert "s3cretpw" not in e2.value.message
