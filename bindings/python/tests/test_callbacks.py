"""Python callables across the C boundary: the event callback (and its
exceptions cancelling runs cleanly), custom steps, the log handler, and
misuse from inside callbacks."""

from __future__ import annotations

import gc
import threading
from typing import List

import pytest

import libmigrate as lm
from dbhelpers import SqliteDB

ROWS = 100


def backfill_plan(name: str = "bf") -> lm.Plan:
    plan = lm.Plan(name)
    plan.add_version(1, "table").create_table(
        "jobs", [lm.Column("id", "integer", nullable=False), lm.Column("n", "integer")], primary_key=["id"]
    )
    plan.add_version(2, "fill").backfill("jobs", {"n": {"column": "id"}}, batch_size=10)
    return plan


def seeded(db: SqliteDB, plan: lm.Plan) -> lm.Target:
    t = lm.Target.open(db.url)
    t.up(plan, 1)
    db.insert("jobs", ({"id": i} for i in range(1, ROWS + 1)))
    return t


class Stop(Exception):
    pass


def test_events_describe_the_run(sqlite_db: SqliteDB) -> None:
    plan = backfill_plan()
    events: List[lm.Event] = []
    with seeded(sqlite_db, plan) as t:
        t.up(plan, on_event=events.append)
    progress = [e for e in events if e.type == lm.EventType.PROGRESS]
    assert [e.processed for e in progress][-1] == ROWS
    assert all(e.op == "backfill" and e.version_id == 2 and e.version_name == "fill" for e in progress)
    assert all(e.direction == lm.Direction.UP and e.step_index == 0 and e.step_count == 1 for e in progress)
    starts = [e for e in events if e.type == lm.EventType.VERSION_START]
    assert [(e.version_id, e.version_name) for e in starts] == [(2, "fill")]
    assert events[0].type == lm.EventType.LOCK_ACQUIRED
    assert isinstance(events[0], lm.Event)  # a copy, safe to keep
    # The step's end tells its batches: 100 rows in batches of 10.
    ends = [e for e in events if e.type == lm.EventType.STEP_END]
    assert [(e.batches, e.longest_batch_ms >= 0) for e in ends] == [(10, True)]
    assert all(e.processed_before == 0 for e in progress)


def test_exception_in_event_callback_cancels_and_is_reraised(sqlite_db: SqliteDB) -> None:
    plan = backfill_plan()
    seen = []

    def on_event(ev: lm.Event) -> None:
        if ev.type == lm.EventType.PROGRESS:
            seen.append(ev.processed)
            if len(seen) == 2:
                raise Stop("enough")

    with seeded(sqlite_db, plan) as t:
        with pytest.raises(Stop) as e:
            t.up(plan, on_event=on_event)
        # The original exception, chained to what the library reported.
        assert str(e.value) == "enough"
        assert isinstance(e.value.__cause__, lm.CanceledError)
        assert e.value.__cause__.code == lm.Code.ECANCELED
        # Two batches committed, then the run stopped cleanly and is resumable.
        assert sqlite_db.value("SELECT count(*) FROM jobs WHERE n IS NOT NULL") == 20
        entry = t.status_map(plan)[2]
        assert entry.state in (lm.State.FAILED, lm.State.APPLYING)
        assert t.check(plan) == lm.CheckState.FAILED
        # Nothing is left locked: the next run resumes and finishes.
        t.up(plan, lock_timeout_ms=0)
        assert sqlite_db.value("SELECT count(*) FROM jobs WHERE n = id") == ROWS
        assert t.check(plan) == lm.CheckState.UP_TO_DATE


def test_returning_true_cancels(sqlite_db: SqliteDB) -> None:
    plan = backfill_plan()
    with seeded(sqlite_db, plan) as t:
        with pytest.raises(lm.CanceledError) as e:
            t.up(plan, on_event=lambda ev: ev.type == lm.EventType.PROGRESS)
        assert e.value.domain == lm.Domain.RUN and e.value.__cause__ is None
        assert sqlite_db.value("SELECT count(*) FROM jobs WHERE n IS NOT NULL") == 10
        t.up(plan)
        assert sqlite_db.value("SELECT count(*) FROM jobs WHERE n = id") == ROWS


def test_keyboard_interrupt_in_a_callback_propagates(sqlite_db: SqliteDB) -> None:
    plan = backfill_plan()

    def on_event(ev: lm.Event) -> None:
        if ev.type == lm.EventType.PROGRESS:
            raise KeyboardInterrupt

    with seeded(sqlite_db, plan) as t:
        with pytest.raises(KeyboardInterrupt):
            t.up(plan, on_event=on_event)
        t.up(plan)
        assert t.check(plan) == lm.CheckState.UP_TO_DATE

    interrupted = lm.Plan("interrupted")
    interrupted.add_version(1).custom("ctrl_c", "1", lambda t, n: (_ for _ in ()).throw(KeyboardInterrupt()))
    with lm.Target.open(sqlite_db.url) as t:
        with pytest.raises(KeyboardInterrupt) as e:
            t.up(interrupted)
        assert isinstance(e.value.__cause__, lm.CallbackError)


def test_exception_after_the_last_event_is_still_raised(sqlite_db: SqliteDB) -> None:
    plan = lm.Plan("late")
    plan.add_version(1).create_table("t", [{"name": "x", "type": "text"}])

    def on_event(ev: lm.Event) -> None:
        if ev.type == lm.EventType.VERSION_END:
            raise Stop("late")

    with lm.Target.open(sqlite_db.url) as t:
        with pytest.raises(Stop):
            t.up(plan, on_event=on_event)


def test_custom_step_exceptions_become_callback_errors(sqlite_db: SqliteDB) -> None:
    calls = []

    def up(target: lm.Target, native: int) -> None:
        calls.append("up")
        raise ValueError("x" * 5000)  # longer than migrate_error_t holds

    plan = lm.Plan("custom")
    plan.add_version(1).custom("long", "1", up)
    with lm.Target.open(sqlite_db.url) as t:
        with pytest.raises(lm.CallbackError) as e:
            t.up(plan)
    assert calls == ["up"]
    assert isinstance(e.value.__cause__, ValueError) and len(str(e.value.__cause__)) == 5000
    assert e.value.code == lm.Code.ECALLBACK and len(e.value.message.encode()) < lm._lib.ERROR_MESSAGE_SIZE
    assert "ValueError: xxx" in e.value.message


def test_custom_steps_survive_garbage_collection(sqlite_db: SqliteDB) -> None:
    """The plan keeps its callables (and their C trampolines) alive."""
    hits = []

    def add(plan: lm.Plan) -> None:
        v = plan.add_version(1)
        for i in range(5):
            v.custom(f"step{i}", "1", lambda t, n, i=i: hits.append(i), lambda t, n, i=i: hits.append(-i))

    plan = lm.Plan("gc")
    add(plan)
    gc.collect()
    with lm.Target.open(sqlite_db.url) as t:
        t.up(plan)
        t.down(plan)
    assert hits == [0, 1, 2, 3, 4, -4, -3, -2, -1, 0]


def test_misuse_inside_callbacks_is_refused(sqlite_db: SqliteDB) -> None:
    plan = lm.Plan("misuse")
    v = plan.add_version(1)
    errors = []

    def misuse(target: lm.Target, native: int) -> None:
        for action in (target.close, plan.destroy, lambda: plan.add_version(9)):
            try:
                action()
            except lm.InvalidArgumentError as e:
                errors.append(str(e))

    v.custom("misuse", "1", misuse)
    with lm.Target.open(sqlite_db.url) as t:
        t.up(plan)
        assert not t.closed and not plan.destroyed
    assert len(errors) == 3 and all("while" in m for m in errors)


def test_nested_run_sees_the_lock(sqlite_db: SqliteDB) -> None:
    """A custom step that runs the same plan on a second target: the lock
    held by the outer run makes the inner one fail at once, and the inner
    failure surfaces as the outer step's cause."""
    plan = lm.Plan("nested")

    def inner(target: lm.Target, native: int) -> None:
        with lm.Target.open(sqlite_db.url) as other:
            other.up(plan, lock_timeout_ms=0)

    plan.add_version(1).custom("inner", "1", inner)
    with lm.Target.open(sqlite_db.url) as t:
        with pytest.raises(lm.CallbackError) as e:
            t.up(plan)
    assert isinstance(e.value.__cause__, lm.LockedError)
    assert e.value.__cause__.code == lm.Code.ELOCKED and "LockedError" in e.value.message


def test_runs_on_several_threads(tmp_path) -> None:
    """Targets on several threads at once, each with its own callbacks."""
    plan = backfill_plan("threads")
    failures = []

    def work(i: int) -> None:
        try:
            db = SqliteDB(str(tmp_path / f"t{i}.db"))
            with seeded(db, plan) as t:
                seen = []
                t.up(plan, on_event=lambda ev: seen.append(threading.get_ident()))
                assert set(seen) == {threading.get_ident()}
                assert db.value("SELECT count(*) FROM jobs WHERE n = id") == ROWS
        except BaseException as e:  # pragma: no cover - reported below
            failures.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert failures == []


def test_log_handler(sqlite_db: SqliteDB) -> None:
    lines = []
    lm.set_log_handler(lambda level, message: lines.append((level, message)))
    try:
        plan = lm.Plan("logged")
        plan.add_version(1).create_table("t", [{"name": "x", "type": "text"}])
        with lm.Target.open(sqlite_db.url) as t:
            t.up(plan)
    finally:
        lm.set_log_handler(None)
    assert any(level == lm.LogLevel.DEBUG and "create_table" in message for level, message in lines)
    count = len(lines)
    with lm.Target.open(sqlite_db.url) as t:
        t.up(lm.Plan.from_json({"plan": "quiet", "versions": [{"id": 1, "steps": []}]}))
    assert len(lines) == count  # the default handler discards
