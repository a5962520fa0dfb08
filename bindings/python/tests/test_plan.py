"""Building plans: every builder makes the documents of docs/steps.md (and
so the checksums of C and plan files); plan files; handle life cycles."""

from __future__ import annotations

import gc
import importlib.util
import json
import weakref
from pathlib import Path

import pytest

import libmigrate as lm

REPO = Path(__file__).resolve().parents[3]


def test_every_builder_makes_its_step_document() -> None:
    plan = lm.Plan("docs")
    v = plan.add_version(1, "all ops")
    cases = [
        (
            v.create_table("t", [lm.Column("id", "integer", nullable=False), {"name": "s", "type": {"sql": "money"}}],
                           primary_key=["id"]),
            {"op": "create_table", "table": "t", "primary_key": ["id"],
             "columns": [{"name": "id", "type": "integer", "nullable": False},
                         {"name": "s", "type": {"sql": "money"}}]},
        ),
        (v.drop_table("t"), {"op": "drop_table", "table": "t"}),
        (v.rename_table("a", "b"), {"op": "rename_table", "from": "a", "to": "b"}),
        (
            v.add_column("t", lm.Column("c", "text", default="now", unique=True, references_table="o",
                                        references_column="id", on_delete="set null")),
            {"op": "add_column", "table": "t",
             "column": {"name": "c", "type": "text", "default": "now", "unique": True,
                        "references": {"table": "o", "column": "id", "on_delete": "set null"}}},
        ),
        (v.drop_column("t", "c"), {"op": "drop_column", "table": "t", "column": "c"}),
        (v.rename_column("t", "a", "b"), {"op": "rename_column", "table": "t", "from": "a", "to": "b"}),
        (
            v.create_index("t", "i", ["a", ("b", "desc"), {"column": "c"}], unique=True, online=True,
                           where={"a": {"$gt": 1}}),
            {"op": "create_index", "table": "t", "name": "i", "unique": True, "online": True,
             "keys": [{"column": "a", "order": "asc"}, {"column": "b", "order": "desc"},
                      {"column": "c", "order": "asc"}],
             "where": {"a": {"$gt": 1}}},
        ),
        (v.drop_index("t", "i"), {"op": "drop_index", "table": "t", "name": "i"}),
        (v.create_enum("e", ["x", "y"]), {"op": "create_enum", "name": "e", "values": ["x", "y"]}),
        (v.drop_enum("e"), {"op": "drop_enum", "name": "e"}),
        (
            v.map_values("t", "s", {"a": "b", "1": None}, where={"k": "v"}, batch_size=5),
            {"op": "map_values", "table": "t", "column": "s", "map": {"a": "b", "1": None},
             "where": {"k": "v"}, "batch_size": 5},
        ),
        (
            v.backfill("t", {"n": {"array_length": "tags"}, "m": {"value": [1]}}, where={"n": None}),
            {"op": "backfill", "table": "t", "set": {"n": {"array_length": "tags"}, "m": {"value": [1]}},
             "where": {"n": None}},
        ),
        (v.sql("CREATE TABLE x (a int)", "DROP TABLE x"),
         {"op": "sql", "up": "CREATE TABLE x (a int)", "down": "DROP TABLE x"}),
        (v.sql("SELECT 1"), {"op": "sql", "up": "SELECT 1"}),
        (v.command({"ping": 1}, [{"ping": 1}]), {"op": "command", "up": {"ping": 1}, "down": [{"ping": 1}]}),
        (v.assert_count("t", 3, where={"a": 1}),
         {"op": "assert", "count": {"table": "t", "where": {"a": 1}}, "expect": 3}),
        (v.assert_unique("t", ["a", "b"]), {"op": "assert", "unique": {"table": "t", "columns": ["a", "b"]}}),
        (v.assert_no_match("t", {"a": 1}), {"op": "assert", "no_match": {"table": "t", "where": {"a": 1}}}),
        (v.assert_exists("t"), {"op": "assert", "exists": {"table": "t"}}),
        (v.assert_exists("t", column="a"), {"op": "assert", "exists": {"table": "t", "column": "a"}}),
        (v.assert_exists("t", index="i"), {"op": "assert", "exists": {"table": "t", "index": "i"}}),
        (v.assert_sql("SELECT 'x'", "x"), {"op": "assert", "sql": "SELECT 'x'", "expect": "x"}),
        (v.assert_command({"count": "t"}, {"n": 1}),
         {"op": "assert", "command": {"count": "t"}, "expect": {"n": 1}}),
        (v.custom("c", "r1", lambda t, n: None), {"op": "custom", "name": "c", "revision": "r1"}),
        (v.drop_table("u", down_steps=[]), {"op": "drop_table", "table": "u", "down": []}),
        (v.map_values("t", "s", {"a": "b"}, keep="t_kept"),
         {"op": "map_values", "table": "t", "column": "s", "map": {"a": "b"}, "keep": "t_kept"}),
        # restore has no typed builder: it is what a step with keep reverts by.
        (v.step("restore", table="t", from_="t_kept", columns=["s"]),
         {"op": "restore", "table": "t", "from": "t_kept", "columns": ["s"]}),
    ]
    for step, expected in cases:
        assert step.document == expected, step.op
        assert step.op == expected["op"]
        assert step.json == json.dumps(expected, sort_keys=True, separators=(",", ":"))
    assert v.step_count == len(cases) == len(v)

    # The generic builder makes the same documents through the JSON step path.
    generic = lm.Plan("docs").add_version(1, "all ops")
    for step, expected in cases:
        if expected["op"] == "custom":
            continue  # needs callables: the typed builder only
        fields = {(k + "_" if k == "from" else k): val for k, val in expected.items() if k != "op"}
        assert generic.step(expected["op"], **fields).document == expected, expected["op"]

    # Every op of the plan-file schema is among the cases above.
    schema = json.loads((REPO / "docs" / "plan.schema.json").read_text())
    ops = set(schema["$defs"]["step"]["properties"]["op"]["enum"])
    assert ops == {expected["op"] for _, expected in cases} - {"custom"}


def test_generic_builder_checksums_match_the_typed_ones() -> None:
    typed = lm.Plan("same").add_version(1, "v")
    typed.rename_table("a", "b")
    typed.backfill("b", {"n": {"value": 0}}, batch_size=10)
    generic = lm.Plan("same").add_version(1, "v")
    generic.step("rename_table", from_="a", to="b")
    generic.step("backfill", table="b", set={"n": {"value": 0}}, batch_size=10)
    assert typed.checksum == generic.checksum
    with pytest.raises(lm.PlanError):
        generic.step("no_such_op", table="b")


def test_typed_builders_json_steps_and_plan_files_share_checksums(tmp_path: Path) -> None:
    typed = lm.Plan("same")
    v = typed.add_version(3, "jobs")
    v.create_table("jobs", [lm.Column("id", "integer", nullable=False)], primary_key=["id"])
    v.create_index("jobs", "jobs_id", ["id"], unique=True)
    v.map_values("jobs", "status", {"a": "b"})

    as_json = lm.Plan("same")
    w = as_json.add_version(3, "jobs")
    w.add_step('{"table": "jobs", "op": "create_table",\n "columns": [{"nullable": false, "name": "id",'
               ' "type": "integer"}], "primary_key": ["id"]}')
    w.add_step({"op": "create_index", "table": "jobs", "name": "jobs_id", "unique": True,
                "keys": [{"column": "id", "order": "asc"}]})
    w.add_step({"op": "map_values", "table": "jobs", "column": "status", "map": {"a": "b"}})
    assert v.checksum == w.checksum and len(v.checksum) == 64

    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"plan": "same", "versions": [
        {"id": 3, "name": "jobs", "steps": [
            {"op": "create_table", "table": "jobs", "columns": [{"name": "id", "type": "integer", "nullable": False}],
             "primary_key": ["id"]},
            {"op": "create_index", "table": "jobs", "name": "jobs_id", "unique": True,
             "keys": [{"column": "id", "order": "asc"}]},
            {"op": "map_values", "table": "jobs", "column": "status", "map": {"a": "b"}}]}]}, indent=2))
    loaded = lm.Plan.load(path)
    assert loaded.name == "same" and [x.id for x in loaded] == [3]
    assert loaded.version(3).checksum == v.checksum
    assert lm.Plan.from_json(path.read_text()).version(3).checksum == v.checksum
    # Cosmetic differences do not matter; a transactional flag does.
    w.set_transactional(False)
    assert w.checksum != v.checksum
    # A loaded plan can be extended from Python (the builders add to its last version).
    loaded.assert_count("jobs", 0)
    assert loaded.version(3).step_count == 4



def test_plan_directory_loads_like_its_single_file(tmp_path: Path) -> None:
    """Plan.load takes a plan directory too (one file per version): the same
    versions with the same checksums as the single file it was split from."""
    src = REPO / "examples" / "plans" / "000_sessions_to_jobs.sqlite.json"
    doc = json.loads(src.read_text())
    plan_dir = tmp_path / "sessions_to_jobs"
    plan_dir.mkdir()
    for v in doc["versions"]:
        v = dict(v)
        (plan_dir / ("%04d_v.json" % v.pop("id"))).write_text(json.dumps(v))
    single, split = lm.Plan.load(src), lm.Plan.load(plan_dir)
    assert split.name == "sessions_to_jobs"
    assert [(x.id, x.name, x.checksum) for x in split] == [(x.id, x.name, x.checksum) for x in single]
    assert len(split.versions) == 7
    (plan_dir / "0008_bad.json").write_text('{"steps": [{"op": "nope"}]}')
    with pytest.raises(lm.PlanError, match=r"0008_bad\.json: steps\[0\]\.op: unknown op"):
        lm.Plan.load(str(plan_dir))

def test_seed_003_example_plan_matches_the_c_example() -> None:
    """examples/python builds seed 003 with typed builders; the C example
    (examples/jobs_table/plan.c) from JSON documents: same checksum."""
    spec = importlib.util.spec_from_file_location("jobs_table", REPO / "examples" / "python" / "jobs_table.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    python_plan = module.build_plan()
    c_steps = [
        {"op": "create_enum", "name": "jobstatus", "values": ["pending", "running", "completed", "failed", "cancelled"]},
        {"op": "create_table", "table": "jobs", "primary_key": ["id"], "columns": [
            {"name": "id", "type": "uuid", "nullable": False, "default": "uuid"},
            {"name": "tool_name", "type": {"sql": "varchar(100)"}, "nullable": False},
            {"name": "status", "type": "enum:jobstatus", "nullable": False, "default": {"value": "pending"}},
            {"name": "trace_id", "type": {"sql": "varchar(36)"}, "nullable": False},
            {"name": "parameters", "type": "json", "nullable": False},
            {"name": "result", "type": "json"},
            {"name": "error_message", "type": "text"},
            {"name": "created_at", "type": "timestamp", "nullable": False, "default": "now"},
            {"name": "started_at", "type": "timestamp"},
            {"name": "completed_at", "type": "timestamp"},
            {"name": "expires_at", "type": "timestamp", "nullable": False}]},
    ] + [
        {"op": "create_index", "table": "jobs", "name": f"idx_jobs_{c}", "keys": [{"column": c}]}
        for c in ("status", "created_at", "tool_name", "trace_id", "expires_at")
    ]
    c_plan = lm.Plan.from_json({"plan": "jobs_table", "versions": [
        {"id": 2, "name": "add_jobs_table_for_async_operations", "steps": c_steps}]})
    assert python_plan.name == c_plan.name
    assert python_plan.version(2).checksum == c_plan.version(2).checksum


def test_index_key_order_default_keeps_the_checksum() -> None:
    """The typed builder spells out "order": "asc"; JSON may leave it out:
    one index, one checksum."""
    typed = lm.Plan("order").add_version(1)
    typed.create_index("t", "i", ["x"])
    as_json = lm.Plan("order").add_version(1)
    as_json.add_step({"op": "create_index", "table": "t", "name": "i", "keys": [{"column": "x"}]})
    assert typed.checksum == as_json.checksum


def test_columns_round_trip() -> None:
    doc = {"name": "status", "type": "enum:jobstatus", "nullable": False, "default": {"value": "pending"},
           "unique": True, "references": {"table": "s", "column": "id", "on_delete": "cascade"}}
    col = lm.Column.from_dict(doc)
    assert col.to_dict() == doc and lm.Column.from_dict(col.to_dict()) == col
    raw = lm.Column.from_dict({"name": "c", "type": {"sql": "varchar(3)"}})
    assert raw.sql_type == "varchar(3)" and raw.type is None
    assert raw.to_dict() == {"name": "c", "type": {"sql": "varchar(3)"}}


def test_versions_and_plan_level_builders() -> None:
    plan = lm.Plan("p")
    assert plan.name == "p" and len(plan) == 0 and plan.versions == []
    plan.add_version(5, "five")
    plan.create_table("t", [{"name": "x", "type": "text"}])  # adds to version 5
    plan.add_version(2)
    plan.drop_table("t", down_steps=[{"op": "create_table", "table": "t",
                                      "columns": [{"name": "x", "type": "text"}]}])
    assert [(v.id, v.name, len(v)) for v in plan] == [(5, "five", 1), (2, "", 1)]
    assert plan.version(2).id == 2
    with pytest.raises(KeyError):
        plan.version(3)
    plan.add_version((1 << 64) - 1, "max")
    assert plan.versions[-1].id == (1 << 64) - 1
    assert "p" in repr(plan) and "five" in repr(plan.version(5))


def test_down_given_as_steps() -> None:
    plan = lm.Plan("down")
    v = plan.add_version(1)
    made = v.create_table("t", [{"name": "x", "type": "text"}])
    dropped = v.drop_table("t", down_steps=made)
    assert dropped.document["down"] == [made.document]
    dropped.set_down("[]")
    assert dropped.document["down"] == []
    v.set_down([{"op": "sql", "up": "SELECT 1"}])


def test_destroyed_plans_refuse_use() -> None:
    with lm.Plan("life") as plan:
        v = plan.add_version(1)
        step = v.drop_table("t")
    assert plan.destroyed
    plan.destroy()  # idempotent
    for action in (lambda: plan.name, lambda: v.id, lambda: step.json, lambda: v.drop_table("x"),
                   lambda: plan.add_version(2)):
        with pytest.raises(lm.InvalidArgumentError, match="destroyed"):
            action()
    assert "destroyed" in repr(plan) and "destroyed" in repr(v)
    with lm.Target.open("sqlite::memory:") as t, pytest.raises(lm.InvalidArgumentError):
        t.up(plan)


def test_views_keep_their_plan_alive() -> None:
    plan = lm.Plan("alive")
    ref = weakref.ref(plan)
    step = plan.add_version(1).drop_table("t")
    del plan
    gc.collect()
    assert ref() is not None  # the step holds it
    assert step.op == "drop_table"
    del step
    gc.collect()
    assert ref() is None


def test_targets_close_and_refuse_use() -> None:
    t = lm.Target.open("sqlite::memory:")
    assert t.driver_name == "sqlite" and not t.closed and t.native_handle
    t.close()
    t.close()
    assert t.closed and "closed" in repr(t)
    with pytest.raises(lm.InvalidArgumentError, match="closed"):
        t.check(lm.Plan("x"))
    with pytest.raises(TypeError):
        lm.Target.open("sqlite::memory:").up("not a plan")  # type: ignore[arg-type]
