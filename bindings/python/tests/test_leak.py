"""No leaks across the boundary: thousands of plan/open/run/close cycles
on SQLite in memory, with callbacks, custom steps, errors and handles
freed both explicitly and by the garbage collector, keep the resident
memory flat."""

from __future__ import annotations

import gc
import os

import pytest

import libmigrate as lm

WARMUP = 300
CYCLES = int(os.environ.get("MIGRATE_LEAK_CYCLES", "3000"))
#: Allowed growth of the resident set over CYCLES cycles. A leak of one
#: plan, target or callback per cycle would exceed it many times over.
TOLERANCE_BYTES = 2 << 20


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Stop(Exception):
    pass


def cycle(i: int) -> None:
    calls = []
    plan = lm.Plan(f"leak{i % 7}")
    v = plan.add_version(1, "schema")
    v.create_table("t", [lm.Column("id", "integer", nullable=False), {"name": "n", "type": "integer"}],
                   primary_key=["id"])
    v.create_index("t", "t_n", ["n"])
    v.custom("note", "1", lambda t, native: calls.append(native), lambda t, native: calls.append(-1))
    w = plan.add_version(2, "data")
    w.add_step({"op": "sql", "up": "INSERT INTO t VALUES (1, NULL), (2, NULL), (3, NULL)", "down": "DELETE FROM t"})
    w.backfill("t", {"n": {"column": "id"}}, batch_size=2, down_steps=[])
    events = []
    if i % 2:
        with lm.Target.open("sqlite::memory:") as t:
            t.up(plan, on_event=events.append)
            assert t.check(plan) == lm.CheckState.UP_TO_DATE
            assert not t.check_schema(plan).drifted
            t.status(plan)
            t.down(plan)
        plan.destroy()
    else:
        t = lm.Target.open("sqlite::memory:")
        t.render(plan)
        if i % 10 == 0:
            # The error paths: an exception out of the event callback, and a
            # C error (a failing step), both with tracebacks to free.
            def stop(ev: lm.Event) -> None:
                if ev.type == lm.EventType.PROGRESS:
                    raise Stop(i)

            with pytest.raises(Stop):
                t.up(plan, on_event=stop)
            bad = lm.Plan("bad")
            bad.add_version(1).sql("SELECT * FROM nowhere")
            with pytest.raises(lm.DatabaseError):
                t.up(bad)
        t.up(plan, on_event=events.append)
        # Dropped without close()/destroy(): the garbage collector frees them.
        del t, plan, v, w
    assert calls and events


@pytest.mark.skipif(bool(os.environ.get("MIGRATE_SANITIZE")), reason="AddressSanitizer's quarantine holds freed memory")
def test_open_run_close_cycles_keep_memory_flat() -> None:
    for i in range(WARMUP):
        cycle(i)
    gc.collect()
    before = rss_bytes()
    for i in range(CYCLES):
        cycle(i)
        if i % 500 == 0:
            gc.collect()
    gc.collect()
    grown = rss_bytes() - before
    print(f"\nRSS after warm-up {before / 2**20:.1f} MiB; after {CYCLES} cycles {grown / 2**10:+.0f} KiB")
    assert grown < TOLERANCE_BYTES, f"resident memory grew by {grown / 2**20:.1f} MiB over {CYCLES} cycles"
