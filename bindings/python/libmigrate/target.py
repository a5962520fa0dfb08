"""Targets and run operations (``<migrate/run.h>``).

A :class:`Target` owns a C ``migrate_target_t``: one database reached
through one driver. Its methods run a :class:`~libmigrate.Plan` against
it: :meth:`~Target.up`, :meth:`~Target.down`, :meth:`~Target.baseline`,
:meth:`~Target.repair`, :meth:`~Target.check`, :meth:`~Target.check_details`,
:meth:`~Target.render` and :meth:`~Target.status`. Run options are keyword
arguments.
"""

from __future__ import annotations

import ctypes
import enum
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from . import _lib
from ._util import CallContext, call, cstr, current_context, invalid, record, required, text, uint
from .errors import _enum_or_int

# migrate_target_open_flags()'s MIGRATE_OPEN_CHECK (<migrate/run.h>).
OPEN_CHECK = 0x1
from .plan import Plan

__all__ = [
    "Target",
    "Event",
    "EventType",
    "Direction",
    "State",
    "CheckState",
    "StatusEntry",
    "DriftKind",
    "Finding",
    "SchemaReport",
    "LintFinding",
    "LintReport",
    "lint",
    "EventFn",
]


class EventType(enum.IntEnum):
    """migrate_event_type_t."""

    VERSION_START = 1
    VERSION_END = 2
    STEP_START = 3
    STEP_END = 4
    PROGRESS = 5
    LOCK_WAIT = 6
    LOCK_ACQUIRED = 7
    WARNING = 8
    RETRY = 9


class Direction(enum.IntEnum):
    """The direction of the run that emits an event."""

    UP = 1
    DOWN = 2


class State(enum.IntEnum):
    """migrate_state_t: the state of a version in :meth:`Target.status`."""

    PENDING = 0
    APPLYING = 1
    APPLIED = 2
    FAILED = 3
    REVERTING = 4


class CheckState(enum.IntEnum):
    """migrate_check_state_t: the answer of :meth:`Target.check`."""

    UP_TO_DATE = 0
    PENDING = 1
    FAILED = 2
    MISMATCH = 3


class DriftKind(enum.IntEnum):
    """migrate_drift_kind_t: what a :class:`Finding` says of its object."""

    MISSING = 1
    EXTRA = 2
    DIFFERENT = 3


@dataclass(frozen=True)
class Finding:
    """One difference between the schema the applied versions made and the
    database (a copy: safe to keep)."""

    kind: DriftKind
    object_type: str
    object: str
    version: int
    property: Optional[str]
    expected: Optional[str]
    actual: Optional[str]

    @property
    def kind_name(self) -> str:
        """"missing", "extra" or "different"."""
        return text(_lib.lib().migrate_drift_kind_name(int(self.kind))) or str(self.kind)


@dataclass(frozen=True)
class CheckDetails:
    """The answer of :meth:`Target.check_details`: :meth:`Target.check`'s
    state and where the database stands against the plan."""

    state: CheckState
    #: The highest version applied in the database, in the plan or not (0: none).
    database_version: int
    #: The plan's highest version id (0: an empty plan).
    plan_version: int
    #: Versions of the plan not applied (pending, failed or half applied).
    pending: int
    #: Applied versions newer than ``plan_version`` (a newer release migrated
    #: the database; the state stays UP_TO_DATE when the plan's are applied).
    ahead: int

    @property
    def behind(self) -> bool:
        """True when some version of the plan is not applied."""
        return self.pending > 0

    @property
    def is_ahead(self) -> bool:
        """True when the database has versions newer than the plan knows."""
        return self.ahead > 0


@dataclass(frozen=True)
class SchemaReport:
    """The answer of :meth:`Target.check_schema`."""

    state: CheckState
    partial_after: int
    findings: List[Finding]

    @property
    def drifted(self) -> bool:
        """True when any object is missing, extra or different."""
        return bool(self.findings)


@dataclass(frozen=True)
class LintFinding:
    """One finding of :func:`lint` (docs/lint.md)."""

    rule: str
    #: "warning" or "error".
    severity: str
    version: int
    #: The step's index in its version, from 0.
    step: int
    message: str
    safer: str


@dataclass(frozen=True)
class LintReport:
    """The answer of :func:`lint` and :meth:`Target.lint`."""

    findings: List[LintFinding]
    #: Findings a step's ``"lint": {"ignore": ...}`` silenced.
    silenced: int

    @property
    def errors(self) -> List[LintFinding]:
        """The error-level findings (``migrate lint`` exits with 9 when there is one)."""
        return [f for f in self.findings if f.severity == "error"]


def lint(
    plan: Plan, *, target: Optional["Target"] = None, driver: Optional[str] = None, large_rows: Optional[int] = None
) -> LintReport:
    """Lints ``plan`` without running it: for ``driver`` ("sqlite",
    "postgres", "mongo") with the tables' sizes unknown, or against
    ``target`` (its pending versions, with the live sizes). A table of
    ``large_rows`` rows or more is large (default 100000). Takes no lock and
    writes nothing."""
    if not isinstance(plan, Plan):
        raise TypeError(f"plan must be a libmigrate.Plan, not {type(plan).__name__}")
    lib = _lib.lib()
    if getattr(lib, "migrate_lint", None) is None:
        raise _lib.LibraryError("this libmigrate has no migrate_lint: lint needs a newer library")
    o = _lib.LintOptionsStruct()
    rc = lib.migrate_lint_options_init(ctypes.byref(o), _lib.LINT_OPTIONS_VERSION)
    if rc:
        raise invalid(f"migrate_lint_options_init failed ({rc})")
    name = cstr(driver, "driver")
    o.driver = name
    if large_rows is not None:
        o.large_rows = uint(large_rows, "large_rows", 63, minimum=1)
    out = ctypes.c_void_p()
    tptr = target._handle() if target is not None else None
    pptr = plan._enter_run()
    try:
        call(lib.migrate_lint, pptr, tptr, ctypes.byref(o), ctypes.byref(out))
    finally:
        plan._leave_run()
    try:
        findings = []
        for i in range(lib.migrate_lint_report_count(out.value)):
            f = lib.migrate_lint_report_finding(out.value, i)
            findings.append(
                LintFinding(
                    rule=text(lib.migrate_lint_finding_rule(f)) or "",
                    severity=text(lib.migrate_lint_severity_name(lib.migrate_lint_finding_severity(f))) or "",
                    version=int(lib.migrate_lint_finding_version(f)),
                    step=int(lib.migrate_lint_finding_step(f)),
                    message=text(lib.migrate_lint_finding_message(f)) or "",
                    safer=text(lib.migrate_lint_finding_safer(f)) or "",
                )
            )
        return LintReport(findings=findings, silenced=int(lib.migrate_lint_report_silenced(out.value)))
    finally:
        lib.migrate_lint_report_destroy(out.value)


@dataclass(frozen=True)
class Event:
    """One event of a run (a copy: safe to keep after the callback)."""

    type: EventType
    direction: Direction
    version_id: int
    version_name: Optional[str]
    step_index: int
    step_count: int
    op: Optional[str]
    processed: int
    total: int
    elapsed_ms: int
    message: Optional[str]
    #: PROGRESS: of ``processed``, what earlier, interrupted runs of the step did.
    processed_before: int = 0
    #: STEP_END of a batched step: the batches this run committed, and the
    #: longest of them in ms (from its first statement to its commit).
    batches: int = 0
    longest_batch_ms: int = 0

    @classmethod
    def _from_struct(cls, ev: _lib.EventStruct) -> "Event":
        return cls(
            type=_enum_or_int(EventType, ev.type),  # type: ignore[arg-type]
            direction=_enum_or_int(Direction, ev.direction),  # type: ignore[arg-type]
            version_id=int(ev.version_id),
            version_name=text(ev.version_name),
            step_index=int(ev.step_index),
            step_count=int(ev.step_count),
            op=text(ev.op),
            processed=int(ev.processed),
            total=int(ev.total),
            elapsed_ms=int(ev.elapsed_ms),
            message=text(ev.message),
            processed_before=int(ev.processed_before),
            batches=int(ev.batches),
            longest_batch_ms=int(ev.longest_batch_ms),
        )


#: An event callback: return a true value (not None) to cancel the run at
#: the next safe point; an exception cancels it too and is re-raised by the
#: operation once the library has stopped.
EventFn = Callable[[Event], Any]


@dataclass(frozen=True)
class StatusEntry:
    """One line of :meth:`Target.status`."""

    id: int
    name: Optional[str]
    state: State
    in_plan: bool
    checksum_matches: bool
    steps_done: int
    steps_total: int
    started_at_ms: int
    finished_at_ms: int
    duration_ms: int
    applied_by: Optional[str]
    error: Optional[str]
    checksum: Optional[str]

    @property
    def state_name(self) -> str:
        """"pending", "applied" ... as the library names the state."""
        return text(_lib.lib().migrate_state_name(int(self.state))) or str(self.state)


class _Options:
    """Builds a migrate_run_options_t and the event trampoline it points to."""

    def __init__(
        self,
        lock_timeout_ms: Optional[int],
        batch_size: Optional[int],
        batch_pause_ms: Optional[int],
        batch_time_ms: Optional[int],
        allow_out_of_order: Optional[bool],
        allow_amended: Optional[bool],
        on_event: Optional[EventFn],
    ) -> None:
        o = _lib.RunOptionsStruct()
        rc = _lib.lib().migrate_run_options_init(ctypes.byref(o), _lib.RUN_OPTIONS_VERSION)
        if rc:
            raise invalid(f"migrate_run_options_init failed ({rc})")
        if lock_timeout_ms is not None:
            o.lock_timeout_ms = uint(lock_timeout_ms, "lock_timeout_ms", 63)
        if batch_size is not None:
            o.batch_size = uint(batch_size, "batch_size", 32)
        if batch_pause_ms is not None:
            o.batch_pause_ms = uint(batch_pause_ms, "batch_pause_ms", 32)
        if batch_time_ms is not None:
            o.batch_time_ms = uint(batch_time_ms, "batch_time_ms", 32)
        if allow_out_of_order is not None:
            o.allow_out_of_order = 1 if allow_out_of_order else 0
        if allow_amended is not None:
            o.allow_amended = 1 if allow_amended else 0
        self.trampoline = None
        if on_event is not None:
            if not callable(on_event):
                raise TypeError("on_event must be a callable")
            self.trampoline = _event_trampoline(on_event)
            o.on_event = self.trampoline
        self.struct = o


def _event_trampoline(fn: EventFn) -> Any:
    def trampoline(ev_ptr: Any, payload: Any) -> int:
        try:
            answer = fn(Event._from_struct(ev_ptr.contents))
            return 1 if answer is not None and answer else 0
        except BaseException as e:  # noqa: B902 - C cannot unwind: cancel, re-raise later
            try:
                record("event", e)
            except BaseException:
                pass
            return 1

    return _lib.EVENT_FN(trampoline)


_open_targets: "weakref.WeakValueDictionary[int, Target]" = weakref.WeakValueDictionary()
_open_lock = threading.Lock()


class Target:
    """One database reached through one driver (``migrate_target_t``).

    Open it with :meth:`open` (or wrap a connection you already have) and
    close it with :meth:`close` or a ``with`` block; a target that is
    garbage-collected is closed then. A target is used by one thread at a
    time. Every operation raises the :class:`~libmigrate.MigrateError`
    subclass of the library's error code.
    """

    _ptr: Optional[int]
    _owned: bool
    _busy: int
    _keepalive: Any

    def __init__(self) -> None:
        raise TypeError("use Target.open(url) or a Target.wrap_* function")

    @classmethod
    def _new(cls, ptr: Optional[int], owned: bool, keepalive: Any = None) -> "Target":
        t = object.__new__(cls)
        t._ptr = ptr
        t._owned = owned
        t._busy = 0
        t._keepalive = keepalive
        if owned and ptr:
            with _open_lock:
                _open_targets[ptr] = t
        return t

    @classmethod
    def open(cls, url: str, *, for_check: bool = False) -> "Target":
        """Opens a target from a URL: ``sqlite:PATH``, ``sqlite::memory:``,
        ``postgresql://...``, ``mongodb://host/db`` (drivers built into the
        library) or a registered scheme. NotFoundError for an unknown
        scheme, ConnectError when the database cannot be reached; passwords
        never appear in messages.

        ``for_check=True`` (MIGRATE_OPEN_CHECK): the target answers
        :meth:`check` first, a start-up probe; on PostgreSQL the library
        then reads the history without loading libpq where the URL and the
        server allow it (see ``<migrate/run.h>``), and connects through
        libpq for anything else."""
        out = ctypes.c_void_p()
        if for_check:
            call(_lib.lib().migrate_target_open_flags, ctypes.byref(out), required(url, "url"), OPEN_CHECK)
        else:
            call(_lib.lib().migrate_target_open, ctypes.byref(out), required(url, "url"))
        return cls._new(out.value, True)

    @staticmethod
    def load_driver(url: str) -> None:
        """Loads the driver of ``url``'s scheme (in the shared library the
        PostgreSQL and MongoDB drivers are modules, loaded with their client
        libraries) without connecting: a program that starts threads calls
        it before, where loading costs least. NotFoundError for an unknown
        scheme or a driver module that is not installed."""
        data = required(url, "url")
        if not _lib.has("migrate_driver_load"):
            raise _lib.LibraryError("this libmigrate has no migrate_driver_load: load_driver needs a newer library")
        call(_lib.lib().migrate_driver_load, data)

    @classmethod
    def _wrap(cls, fn_name: str, handle: int, *args: Any, keepalive: Any = None) -> "Target":
        if not _lib.has(fn_name):
            raise invalid(f"{fn_name}: this libmigrate was built without that driver")
        if not handle:
            raise invalid(f"{fn_name}: the connection handle is NULL")
        out = ctypes.c_void_p()
        call(getattr(_lib.lib(), fn_name), ctypes.byref(out), ctypes.c_void_p(handle), *args)
        return cls._new(out.value, True, keepalive)

    @classmethod
    def wrap_sqlite(cls, db: int, keepalive: Any = None) -> "Target":
        """Wraps an open ``sqlite3 *`` (an int address). The connection is
        borrowed: it must outlive the target; ``keepalive`` is any object
        the target should hold on to until it is closed."""
        return cls._wrap("migrate_target_open_sqlite", db, keepalive=keepalive)

    @classmethod
    def wrap_postgres(
        cls,
        conn: int,
        keepalive: Any = None,
        *,
        schema: Optional[str] = None,
        lock: Optional[str] = None,
        lease_ms: Optional[int] = None,
        lock_timeout_ms: Optional[int] = None,
        statement_timeout_ms: Optional[int] = None,
        retries: Optional[int] = None,
    ) -> "Target":
        """Wraps a connected ``PGconn *`` (an int address), borrowed.

        The options of ``migrate_postgres_options_t`` (library defaults when
        omitted): ``schema`` of the history tables ("public"), ``lock``
        "advisory" or "lease" (for poolers in transaction mode),
        ``lease_ms``, ``lock_timeout_ms`` and ``statement_timeout_ms`` of
        DDL and batches, ``retries`` on lock timeouts. URLs take the same
        settings as ``migrate_*`` query parameters."""
        given = (schema, lock, lease_ms, lock_timeout_ms, statement_timeout_ms, retries)
        if all(v is None for v in given):
            return cls._wrap("migrate_target_open_postgres", conn, keepalive=keepalive)
        if not _lib.has("migrate_target_open_postgres_opts"):
            raise invalid("migrate_target_open_postgres_opts: this libmigrate was built without PostgreSQL")
        o = _lib.PostgresOptionsStruct()
        rc = _lib.lib().migrate_postgres_options_init(ctypes.byref(o), _lib.POSTGRES_OPTIONS_VERSION)
        if rc:
            raise invalid(f"migrate_postgres_options_init failed ({rc})")
        o.schema = cstr(schema, "schema")
        if lock is not None:
            modes = {"advisory": 0, "lease": 1}
            if lock not in modes:
                raise invalid(f"lock: \"advisory\" or \"lease\", not {lock!r}")
            o.lock_mode = modes[lock]
        if lease_ms is not None:
            o.lease_ms = uint(lease_ms, "lease_ms", 63)
        if lock_timeout_ms is not None:
            o.lock_timeout_ms = uint(lock_timeout_ms, "lock_timeout_ms", 63)
        if statement_timeout_ms is not None:
            o.statement_timeout_ms = uint(statement_timeout_ms, "statement_timeout_ms", 63)
        if retries is not None:
            o.retries = uint(retries, "retries", 32)
        return cls._wrap("migrate_target_open_postgres_opts", conn, ctypes.byref(o), keepalive=keepalive)

    @classmethod
    def wrap_mongo(cls, client: int, dbname: str, keepalive: Any = None) -> "Target":
        """Wraps a ``mongoc_client_t *`` (an int address) and a database name, borrowed."""
        return cls._wrap("migrate_target_open_mongo", client, required(dbname, "dbname"), keepalive=keepalive)

    @classmethod
    def _for_callback(cls, ptr: Optional[int]) -> "Target":
        """The Python object of the target a custom step runs on."""
        ctx = current_context()
        if ctx is not None and isinstance(ctx.target, Target) and ctx.target._ptr == ptr:
            return ctx.target
        with _open_lock:
            found: Optional[Target] = _open_targets.get(ptr or 0)
        if found is not None:
            return found
        return cls._new(ptr, False)  # a view that never closes the target

    # -- life cycle -------------------------------------------------------

    def _handle(self) -> int:
        if not self._ptr:
            raise invalid("the target is closed")
        return self._ptr

    def close(self) -> None:
        """Closes the target (a wrapped connection is left open). Idempotent;
        refused while an operation runs on it (from a callback)."""
        if self._busy:
            raise invalid("the target cannot be closed while an operation runs on it")
        ptr, self._ptr = self._ptr, None
        if ptr and self._owned:
            with _open_lock:
                _open_targets.pop(ptr, None)
            _lib.lib().migrate_target_close(ptr)
        self._keepalive = None

    @property
    def closed(self) -> bool:
        """True once the target was closed."""
        return not self._ptr

    def __enter__(self) -> "Target":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        ptr = getattr(self, "_ptr", None)
        if not ptr or not getattr(self, "_owned", False) or getattr(self, "_busy", False):
            return
        try:
            self._ptr = None
            _lib.lib().migrate_target_close(ptr)
        except Exception:  # interpreter shutdown: the library may be gone
            pass

    @property
    def driver_name(self) -> str:
        """The driver's name: "sqlite", "postgres", "mongo" ..."""
        return text(_lib.lib().migrate_target_driver_name(self._handle())) or ""

    @property
    def native_handle(self) -> int:
        """The driver's native handle (sqlite3 *, PGconn *, ...) as an int
        address, borrowed from the target."""
        return _lib.lib().migrate_target_native_handle(self._handle()) or 0

    def __repr__(self) -> str:
        if not self._ptr:
            return "<libmigrate.Target (closed)>"
        return f"<libmigrate.Target {self.driver_name}>"

    # -- operations -------------------------------------------------------

    def _run(self, plan: Plan, fn_name: str, *args: Any) -> None:
        """Calls run function ``fn_name(target, plan, *args, err)`` with the
        callback context around it; ``args`` must stay referenced by the
        caller (run options and their event trampoline) during the call."""
        if not isinstance(plan, Plan):
            raise TypeError(f"plan must be a libmigrate.Plan, not {type(plan).__name__}")
        tptr = self._handle()
        pptr = plan._enter_run()
        self._busy += 1
        try:
            with CallContext() as ctx:
                ctx.target = self
                err = _lib.MigrateErrorStruct()
                fn = getattr(_lib.lib(), fn_name)
                rc = fn(tptr, pptr, *args, ctypes.byref(err))
            ctx.finish(rc, err)
        finally:
            self._busy -= 1
            plan._leave_run()

    def up(
        self,
        plan: Plan,
        target_version: int = 0,
        *,
        lock_timeout_ms: Optional[int] = None,
        batch_size: Optional[int] = None,
        batch_pause_ms: Optional[int] = None,
        batch_time_ms: Optional[int] = None,
        allow_out_of_order: Optional[bool] = None,
        allow_amended: Optional[bool] = None,
        on_event: Optional[EventFn] = None,
    ) -> None:
        """Applies pending versions in id order up to ``target_version``
        (0: all), resuming a version an earlier run left unfinished.

        Options (library defaults when omitted): ``lock_timeout_ms``
        (60000; 0 tries once), ``batch_size`` (0: sized by the driver to
        ``batch_time_ms``, 200), ``batch_pause_ms``, ``allow_out_of_order``,
        ``allow_amended``, ``on_event`` (a callable receiving
        :class:`Event`; returning a true value or raising cancels the run,
        resumably).
        """
        o = _Options(lock_timeout_ms, batch_size, batch_pause_ms, batch_time_ms,
                     allow_out_of_order, allow_amended, on_event)
        self._run(plan, "migrate_up", uint(target_version, "target_version", 64), ctypes.byref(o.struct))

    def down(
        self,
        plan: Plan,
        target_version: int = 0,
        *,
        lock_timeout_ms: Optional[int] = None,
        batch_size: Optional[int] = None,
        batch_pause_ms: Optional[int] = None,
        batch_time_ms: Optional[int] = None,
        allow_out_of_order: Optional[bool] = None,
        allow_amended: Optional[bool] = None,
        on_event: Optional[EventFn] = None,
    ) -> None:
        """Reverts applied versions with an id greater than
        ``target_version`` (0: all), newest first. IrreversibleError, with
        nothing run, when a step on that path has no inverse. Options as
        for :meth:`up`."""
        o = _Options(lock_timeout_ms, batch_size, batch_pause_ms, batch_time_ms,
                     allow_out_of_order, allow_amended, on_event)
        self._run(plan, "migrate_down", uint(target_version, "target_version", 64), ctypes.byref(o.struct))

    def baseline(
        self,
        plan: Plan,
        version: int,
        *,
        lock_timeout_ms: Optional[int] = None,
        on_event: Optional[EventFn] = None,
    ) -> None:
        """Marks every version up to ``version`` as applied without running it."""
        o = _Options(lock_timeout_ms, None, None, None, None, None, on_event)
        self._run(plan, "migrate_baseline", uint(version, "version", 64), ctypes.byref(o.struct))

    def adopt(
        self,
        plan: Plan,
        format: str,
        *,
        lock_timeout_ms: Optional[int] = None,
        on_event: Optional[EventFn] = None,
    ) -> int:
        """Takes over the history of the tool whose directory ``plan`` was
        loaded from (Plan.load_format): when the plan has no history yet, the
        versions that tool applied are marked applied. Returns how many;
        StateError naming the version on a dirty or failed state
        (docs/switching.md)."""
        o = _Options(lock_timeout_ms, None, None, None, None, None, on_event)
        adopted = ctypes.c_uint64(0)
        self._run(plan, "migrate_adopt", required(format, "format"), ctypes.byref(o.struct), ctypes.byref(adopted))
        return int(adopted.value)

    def repair(
        self,
        plan: Plan,
        *,
        lock_timeout_ms: Optional[int] = None,
        on_event: Optional[EventFn] = None,
    ) -> int:
        """Realigns stored checksums and names of applied versions with the
        plan; returns the number of history records rewritten."""
        o = _Options(lock_timeout_ms, None, None, None, None, None, on_event)
        changed = ctypes.c_size_t(0)
        self._run(plan, "migrate_repair", ctypes.byref(o.struct), ctypes.byref(changed))
        return int(changed.value)

    def check(self, plan: Plan) -> CheckState:
        """For readiness probes: reads the history once, takes no lock and
        answers the worst state that holds."""
        state = ctypes.c_int(-1)
        self._run(plan, "migrate_check", ctypes.byref(state))
        return _enum_or_int(CheckState, state.value)  # type: ignore[return-value]

    def check_details(self, plan: Plan) -> CheckDetails:
        """:meth:`check` that also says where the database stands (behind,
        ahead of the plan), from the same single read of the history; takes
        no lock and writes nothing."""
        state = ctypes.c_int(-1)
        d = _lib.CheckDetailsStruct()
        d.version = _lib.CHECK_DETAILS_VERSION
        self._run(plan, "migrate_check_details", ctypes.byref(state), ctypes.byref(d))
        return CheckDetails(
            state=_enum_or_int(CheckState, state.value),  # type: ignore[arg-type]
            database_version=int(d.database_version),
            plan_version=int(d.plan_version),
            pending=int(d.pending),
            ahead=int(d.ahead),
        )

    def check_schema(self, plan: Plan) -> SchemaReport:
        """Drift detection: compares the schema the applied versions of
        ``plan`` leave behind with the live catalog (docs/operations.md
        "Drift"). Reads the history and the catalog once each; takes no lock
        and writes nothing. The report also carries :meth:`check`'s state."""
        out = ctypes.c_void_p()
        self._run(plan, "migrate_check_schema", ctypes.byref(out))
        lib = _lib.lib()
        try:
            findings = []
            for i in range(lib.migrate_schema_report_count(out.value)):
                f = lib.migrate_schema_report_finding(out.value, i)
                findings.append(
                    Finding(
                        kind=_enum_or_int(DriftKind, lib.migrate_finding_kind(f)),  # type: ignore[arg-type]
                        object_type=text(lib.migrate_finding_object_type(f)) or "",
                        object=text(lib.migrate_finding_object(f)) or "",
                        version=int(lib.migrate_finding_version(f)),
                        property=text(lib.migrate_finding_property(f)),
                        expected=text(lib.migrate_finding_expected(f)),
                        actual=text(lib.migrate_finding_actual(f)),
                    )
                )
            return SchemaReport(
                state=_enum_or_int(CheckState, lib.migrate_schema_report_state(out.value)),  # type: ignore[arg-type]
                partial_after=int(lib.migrate_schema_report_partial(out.value)),
                findings=findings,
            )
        finally:
            lib.migrate_schema_report_destroy(out.value)

    def lint(self, plan: Plan, *, large_rows: Optional[int] = None) -> LintReport:
        """Lints the pending versions of ``plan`` with this database's table
        sizes (:func:`lint`, docs/lint.md)."""
        return lint(plan, target=self, large_rows=large_rows)

    def render(self, plan: Plan, target_version: int = 0) -> str:
        """Dry run: the statements or commands ``up`` would send."""
        out = ctypes.c_void_p()
        self._run(plan, "migrate_render", uint(target_version, "target_version", 64), ctypes.byref(out))
        lib = _lib.lib()
        try:
            return ctypes.string_at(out.value).decode("utf-8", "replace") if out.value else ""
        finally:
            lib.migrate_free(out.value)

    def status(self, plan: Plan) -> List[StatusEntry]:
        """Every version of the plan and of the history, ascending by id."""
        out = ctypes.c_void_p()
        self._run(plan, "migrate_status_get", ctypes.byref(out))
        lib = _lib.lib()
        try:
            entries = []
            for i in range(lib.migrate_status_count(out.value)):
                e = lib.migrate_status_entry(out.value, i).contents
                entries.append(
                    StatusEntry(
                        id=int(e.id),
                        name=text(e.name),
                        state=_enum_or_int(State, e.state),  # type: ignore[arg-type]
                        in_plan=bool(e.in_plan),
                        checksum_matches=bool(e.checksum_matches),
                        steps_done=int(e.steps_done),
                        steps_total=int(e.steps_total),
                        started_at_ms=int(e.started_at_ms),
                        finished_at_ms=int(e.finished_at_ms),
                        duration_ms=int(e.duration_ms),
                        applied_by=text(e.applied_by),
                        error=text(e.error),
                        checksum=text(e.checksum),
                    )
                )
            return entries
        finally:
            lib.migrate_status_destroy(out.value)

    def status_map(self, plan: Plan) -> Dict[int, StatusEntry]:
        """:meth:`status` keyed by version id."""
        return {e.id: e for e in self.status(plan)}
