#!/usr/bin/env python3
"""Seed 003 from Python: the jobs table of an async job system on PostgreSQL.

The jobstatus enum, the jobs table and its five indexes, as one version of
the plan "jobs_table" -- the same plan as the C example in
examples/jobs_table (so the same checksums: either program can migrate a
database the other one started), written with the binding's typed
builders. With the readiness check the seed asks for: not ready while a
version is pending or the table is missing -- the library's drift check
(Target.check_schema), which also sees a dropped index or an enum changed
by hand.

    jobs_table.py URL [--status | --rollback | --check | --render | --cycle]

    URL          postgresql://user@host:port/dbname
    (no flag)    apply pending versions
    --status     print every version with its state
    --rollback   revert everything (drops the table, its indexes and the enum)
    --check      exit 0 when ready, 1 when not
    --render     print the SQL `up` would run, without running it
    --cycle      up -> rollback -> up, checking readiness after each

The binding must be importable (pip install bindings/python, or
PYTHONPATH=bindings/python) and find libmigrate.so (MIGRATE_LIBRARY, the
checkout's build/ directory, or an installed library).
"""

from __future__ import annotations

import sys
from typing import Optional

import libmigrate as lm

NAME = "jobs_table"
INDEXED = ("status", "created_at", "tool_name", "trace_id", "expires_at")


def build_plan() -> lm.Plan:
    """Seed 003, step by step."""
    plan = lm.Plan(NAME)
    v = plan.add_version(2, "add_jobs_table_for_async_operations")
    v.create_enum("jobstatus", ["pending", "running", "completed", "failed", "cancelled"])
    v.create_table(
        "jobs",
        [
            lm.Column("id", "uuid", nullable=False, default="uuid"),
            lm.Column("tool_name", sql_type="varchar(100)", nullable=False),
            lm.Column("status", "enum:jobstatus", nullable=False, default={"value": "pending"}),
            lm.Column("trace_id", sql_type="varchar(36)", nullable=False),
            lm.Column("parameters", "json", nullable=False),
            lm.Column("result", "json"),
            lm.Column("error_message", "text"),
            lm.Column("created_at", "timestamp", nullable=False, default="now"),
            lm.Column("started_at", "timestamp"),
            lm.Column("completed_at", "timestamp"),
            lm.Column("expires_at", "timestamp", nullable=False),
        ],
        primary_key=["id"],
    )
    for column in INDEXED:
        v.create_index("jobs", f"idx_jobs_{column}", [column])
    return plan


def on_event(ev: lm.Event) -> None:
    """Progress on stdout, as the C examples print it."""
    if ev.type == lm.EventType.VERSION_START:
        verb = "applying" if ev.direction == lm.Direction.UP else "reverting"
        print(f"{NAME}: {verb} version {ev.version_id} ({ev.version_name or ''})", flush=True)
    elif ev.type == lm.EventType.PROGRESS:
        print(f"{NAME}:   {ev.op}: {ev.processed} of ~{ev.total} rows", flush=True)
    elif ev.type in (lm.EventType.LOCK_WAIT, lm.EventType.WARNING, lm.EventType.RETRY):
        print(f"{NAME}:   {ev.message or ''}", flush=True)


def ready(target: lm.Target, plan: lm.Plan) -> bool:
    """The readiness probe, the library's drift check (``migrate check
    --schema``): no pending or failed version, and the enum, the table and
    its indexes there as the applied versions made them."""
    report = target.check_schema(plan)
    if report.state != lm.CheckState.UP_TO_DATE:
        print(f"{NAME}: not ready: migrations {report.state.name.lower().replace('_', ' ')}")
        return False
    if report.drifted:
        print(f"{NAME}: not ready: the schema drifted from the plan")
        for f in report.findings:
            print(f"  {f.kind_name} {f.object_type} {f.object} (version {f.version})")
        return False
    print(f"{NAME}: ready")
    return True


def up(target: lm.Target, plan: lm.Plan) -> None:
    target.up(plan, on_event=on_event)
    print(f"{NAME}: migrated")


def rollback(target: lm.Target, plan: lm.Plan) -> None:
    target.down(plan, 0, on_event=on_event)
    print(f"{NAME}: rolled back to version 0")


def status(target: lm.Target, plan: lm.Plan) -> None:
    print(f"{'version':<8} {'state':<10} {'ms':<8} name")
    for e in target.status(plan):
        error = f"  error: {e.error}" if e.error else ""
        print(f"{e.id:<8} {e.state_name:<10} {e.duration_ms:<8} {e.name or ''}{error}")


def cycle(target: lm.Target, plan: lm.Plan) -> int:
    if ready(target, plan):
        rollback(target, plan)
    for i in range(2):
        if ready(target, plan):
            print(f"{NAME}: ready while versions are pending", file=sys.stderr)
            return 1
        up(target, plan)
        if not ready(target, plan):
            print(f"{NAME}: not ready after up", file=sys.stderr)
            return 1
        if i == 0:
            rollback(target, plan)
    return 0


def main(argv: Optional[list] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not 1 <= len(args) <= 2 or args[0].startswith("-"):
        print("usage: jobs_table.py URL [--status|--rollback|--check|--render|--cycle]", file=sys.stderr)
        return 2
    url, mode = args[0], (args[1] if len(args) > 1 else "")
    with build_plan() as plan:
        try:
            with lm.Target.open(url) as target:
                if mode == "":
                    up(target, plan)
                elif mode == "--status":
                    status(target, plan)
                elif mode == "--rollback":
                    rollback(target, plan)
                elif mode == "--check":
                    return 0 if ready(target, plan) else 1
                elif mode == "--render":
                    sys.stdout.write(target.render(plan))
                elif mode == "--cycle":
                    return cycle(target, plan)
                else:
                    print(f"{NAME}: unknown option {mode}", file=sys.stderr)
                    return 2
        except lm.MigrateError as e:
            print(f"{NAME}: failed ({type(e).__name__}, {lm.strerror(e.code)}): {e.message}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
