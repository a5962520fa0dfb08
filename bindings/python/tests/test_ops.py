"""Every portable step op through the Python builders, up and down, on
SQLite, PostgreSQL and FerretDB, checked by querying the database."""

from __future__ import annotations

from typing import Any

import pytest

import libmigrate as lm

PEOPLE = [
    {"id": 1, "name": "ann", "status": "happy", "tags": [1, 2, 3], "email": "ann@x"},
    {"id": 2, "name": "bob", "status": "sad", "tags": [], "email": "bob@x"},
    {"id": 3, "name": "cy", "status": "sad", "tags": None, "email": "cy@x"},
    {"id": 4, "name": "di", "status": "happy", "tags": [9], "email": "di@x"},
    {"id": 5, "name": "ed", "status": "sad", "tags": ["x", {"y": 1}], "email": "ed@x"},
    {"id": 6, "name": "fay", "status": "sad", "tags": [9], "email": "fay@x"},
]
PETS = [
    {"id": 1, "owner": 1, "kind": "cat"},
    {"id": 2, "owner": 1, "kind": "fish"},
    {"id": 3, "owner": 2, "kind": "dog"},
]


def portable_plan(name: str = "ops") -> lm.Plan:
    """Every op the three drivers share, built with the typed builders."""
    plan = lm.Plan(name)

    v = plan.add_version(1, "schema")
    v.create_table(
        "people",
        [
            lm.Column("id", "integer", nullable=False),
            {"name": "name", "type": "text", "nullable": False},
            {"name": "status", "type": "text"},
            {"name": "tags", "type": "json"},
            lm.Column("email", "text", unique=True),
        ],
        primary_key=["id"],
    )
    v.create_table(
        "pets",
        [{"name": "id", "type": "integer", "nullable": False}, {"name": "owner", "type": "integer"},
         {"name": "kind", "type": "text"}],
        primary_key=["id"],
    )

    v = plan.add_version(2, "evolve")
    v.add_column("people", lm.Column("n", "integer", default={"value": 0}))
    v.add_column("people", {"name": "nick", "type": "text"})
    v.add_column("people", {"name": "n2", "type": "integer", "default": {"value": 0}})
    v.rename_column("people", "name", "full_name")
    v.rename_table("pets", "animals")
    v.create_index("people", "people_status", ["status", ("id", "desc")])
    v.create_index("people", "people_full_name", [lm.IndexKey("full_name")], unique=True)

    v = plan.add_version(3, "data")
    v.map_values("people", "status", {"sad": "blue", "happy": "glad"}, where={"id": {"$lte": 4}}, batch_size=2)
    v.backfill(
        "people",
        {
            "n": {"array_length": "tags"},
            "nick": {"column": "full_name"},
            "n2": {"count": {"table": "animals", "match": {"owner": "id"}, "where": {"kind": {"$ne": "fish"}}}},
        },
        where={"id": {"$lte": 5}},
        batch_size=2,
        down_steps=[],
    )
    v.assert_count("people", 6)
    v.assert_count("people", 4, where={"status": {"$in": ["glad", "blue"]}})
    v.assert_unique("people", ["full_name"])
    v.assert_no_match("people", {"status": "sad", "id": {"$lte": 4}})
    v.assert_exists("animals")
    v.assert_exists("people", column="full_name")
    v.assert_exists("people", index="people_status")

    v = plan.add_version(4, "drops")
    v.drop_index(
        "people",
        "people_status",
        down_steps=[{"op": "create_index", "table": "people", "name": "people_status", "keys": [{"column": "status"}]}],
    )
    v.drop_column(
        "people", "nick",
        down_steps=[{"op": "add_column", "table": "people", "column": {"name": "nick", "type": "text"}}],
    )
    v.create_enum("tmp_enum", ["a", "b"])
    v.drop_enum("tmp_enum", down_steps=[{"op": "create_enum", "name": "tmp_enum", "values": ["a", "b"]}])
    gone = v.create_table("gone", [{"name": "x", "type": "text"}])
    v.drop_table("gone", down_steps=[gone])
    # The same op given as a step document.
    v.add_step({"op": "create_table", "table": "extra", "columns": [{"name": "x", "type": "text"}]})
    return plan



def test_open_for_check_answers_as_open(backend: Any) -> None:
    """Target.open(url, for_check=True) (MIGRATE_OPEN_CHECK) answers check as a plain open does, and
    serves the other calls too."""
    db = backend
    plan = portable_plan()
    with lm.Target.open(db.url, for_check=True) as t:
        assert t.check(plan) == lm.CheckState.PENDING
        t.up(plan, 1)
    for for_check in (True, False):
        with lm.Target.open(db.url, for_check=for_check) as t:
            assert t.check(plan) == lm.CheckState.PENDING
            d = t.check_details(plan)
            assert d.database_version == 1 and d.pending == len(plan) - 1
    assert db.exists("people")


def test_every_portable_op_up_and_down(backend: Any) -> None:
    db = backend
    plan = portable_plan()
    events: list = []
    with lm.Target.open(db.url) as t:
        assert t.check(plan) == lm.CheckState.PENDING
        t.up(plan, 1)
        assert db.exists("people") and db.exists("pets")
        db.insert("people", PEOPLE, json_cols=("tags",))
        db.insert("pets", PETS)
        t.up(plan, on_event=events.append)
        assert t.check(plan) == lm.CheckState.UP_TO_DATE

        assert not db.exists("pets") and db.exists("animals") and db.exists("extra")
        assert not db.exists("gone")
        assert db.indexes("people") >= {"people_full_name"}
        assert "people_status" not in db.indexes("people")
        # map_values for id <= 4; the backfill for id <= 5 (nick was dropped by version 4).
        assert db.rows("people", ["id", "full_name", "status", "n", "n2"]) == [
            (1, "ann", "glad", 3, 1),
            (2, "bob", "blue", 0, 1),
            (3, "cy", "blue", 0, 0),
            (4, "di", "glad", 1, 0),
            (5, "ed", "sad", 2, 0),
            (6, "fay", "sad", 0, 0),
        ]
        # The batched ops reported progress; every version started and ended.
        kinds = [e.type for e in events]
        assert kinds.count(lm.EventType.VERSION_START) == 3
        assert kinds.count(lm.EventType.VERSION_END) == 3
        assert any(e.type == lm.EventType.PROGRESS and e.op in ("map_values", "backfill") for e in events)
        status = t.status_map(plan)
        assert [status[i].state for i in (1, 2, 3, 4)] == [lm.State.APPLIED] * 4
        assert status[3].steps_done == status[3].steps_total == 9

        # Down to 2: version 4 undone by its explicit downs, map_values inverted.
        t.down(plan, 2)
        assert db.exists("people") and not db.exists("extra") and not db.exists("gone")
        assert "people_status" in db.indexes("people")
        assert db.rows("people", ["id", "status", "nick"]) == [
            (1, "happy", None),
            (2, "sad", None),
            (3, "sad", None),
            (4, "happy", None),
            (5, "sad", None),
            (6, "sad", None),
        ]
        status = t.status_map(plan)
        assert status[2].state == lm.State.APPLIED and status[3].state == lm.State.PENDING

        # Down to nothing: renames undone, tables dropped.
        t.down(plan)
        for table in ("people", "pets", "animals", "extra"):
            assert not db.exists(table), table
        assert all(e.state == lm.State.PENDING for e in t.status(plan))

        # And up again from scratch.
        t.up(plan, 1)
        db.insert("people", PEOPLE, json_cols=("tags",))
        db.insert("pets", PETS)
        t.up(plan)
        assert t.check(plan) == lm.CheckState.UP_TO_DATE
        assert db.exists("animals") and len(db.rows("people", ["id"])) == 6


def test_render_writes_nothing(backend: Any) -> None:
    db = backend
    plan = portable_plan("render")
    with lm.Target.open(db.url) as t:
        text = t.render(plan)
        assert "people" in text and "animals" in text
        assert not db.exists("people")
        assert t.render(plan, 1).count("version") <= text.count("version")
        assert "people_status" not in t.render(plan, 1)


def test_baseline_and_repair(backend: Any) -> None:
    db = backend
    plan = portable_plan("base")
    with lm.Target.open(db.url) as t:
        t.baseline(plan, 2)
        assert not db.exists("people")  # marked, not run
        status = t.status_map(plan)
        assert status[1].state == status[2].state == lm.State.APPLIED
        assert status[3].state == lm.State.PENDING
        assert t.check(plan) == lm.CheckState.PENDING

        # An edited applied version: a checksum mismatch until repaired.
        edited = portable_plan("base")
        edited.version(1).add_step({"op": "create_table", "table": "more", "columns": [{"name": "x", "type": "text"}]})
        assert t.check(edited) == lm.CheckState.MISMATCH
        with pytest.raises(lm.ChecksumError) as e:
            t.up(edited)
        assert e.value.code == lm.Code.ECHECKSUM and "1" in e.value.message
        assert t.repair(edited) == 1
        assert t.repair(edited) == 0
        assert t.check(edited) == lm.CheckState.PENDING
        assert t.status_map(edited)[1].checksum == edited.version(1).checksum
