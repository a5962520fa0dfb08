"""libmigrate: evolve database schemas and data through typed steps.

A Python binding over libmigrate's C ABI, with ctypes (no compiler needed).
The shared library is found through the environment variable
``MIGRATE_LIBRARY``, the build tree of the source checkout this package
sits in, or an installed library; see :func:`load_library`.

    import libmigrate as lm

    plan = lm.Plan("notes")
    v = plan.add_version(1, "create notes")
    v.create_table("notes", [{"name": "id", "type": "integer"},
                             lm.Column("title", "text", nullable=False)],
                   primary_key=["id"])
    with lm.Target.open("sqlite:notes.db") as db:
        db.up(plan)

See docs/python.md in the repository for the whole surface.
"""

from __future__ import annotations

import atexit
import enum
import threading
from typing import Callable, Optional

from . import _lib
from ._lib import LibraryError
from ._util import text
from .errors import (
    AssertionFailed,
    CallbackError,
    CanceledError,
    ChecksumError,
    Code,
    ConnectError,
    DatabaseError,
    Domain,
    FileError,
    InternalError,
    InvalidArgumentError,
    IrreversibleError,
    JSONError,
    LockedError,
    LockLostError,
    MigrateError,
    NotFoundError,
    OrderError,
    OutOfMemoryError,
    PlanError,
    StateError,
    StructVersionError,
    UnsupportedError,
    error_class,
)
from .plan import INDEX_ONLINE, INDEX_UNIQUE, Column, CustomFn, IndexKey, Plan, Step, Version
from .target import (
    CheckDetails,
    CheckState,
    Direction,
    DriftKind,
    Event,
    EventFn,
    EventType,
    Finding,
    LintFinding,
    LintReport,
    SchemaReport,
    State,
    StatusEntry,
    Target,
    lint,
)

__version__ = "0.1.0"

__all__ = [
    # plans
    "Plan",
    "Version",
    "Step",
    "Column",
    "IndexKey",
    "CustomFn",
    "INDEX_UNIQUE",
    "INDEX_ONLINE",
    # targets and runs
    "Target",
    "Event",
    "EventFn",
    "EventType",
    "Direction",
    "State",
    "CheckState",
    "CheckDetails",
    "StatusEntry",
    "DriftKind",
    "Finding",
    "SchemaReport",
    "lint",
    "LintFinding",
    "LintReport",
    # library
    "load_library",
    "library_path",
    "version_string",
    "version_number",
    "strerror",
    "state_name",
    "LogLevel",
    "set_log_handler",
    # errors
    "Code",
    "Domain",
    "MigrateError",
    "InvalidArgumentError",
    "OutOfMemoryError",
    "PlanError",
    "UnsupportedError",
    "ChecksumError",
    "LockedError",
    "LockLostError",
    "CanceledError",
    "DatabaseError",
    "ConnectError",
    "AssertionFailed",
    "IrreversibleError",
    "OrderError",
    "JSONError",
    "CallbackError",
    "NotFoundError",
    "FileError",
    "StructVersionError",
    "StateError",
    "InternalError",
    "LibraryError",
    "error_class",
]


def load_library(path: Optional[str] = None) -> str:
    """Loads the shared library now and returns the path it came from.

    Optional: the library is loaded on first use anyway. ``path`` (or the
    environment variable ``MIGRATE_LIBRARY``) is a file or a directory
    holding ``libmigrate.so``; without either, the library bundled in this
    package, the checkout's ``build/``, pkg-config's ``libdir`` for
    libmigrate, then the system loader are tried. Raises
    :class:`LibraryError` when none loads or its version is incompatible.
    """
    _lib.load(path)
    return _lib.path() or ""


def library_path() -> Optional[str]:
    """Where the library was loaded from (None before it is)."""
    return _lib.path()


def version_string() -> str:
    """The run-time library version, "MAJOR.MINOR.PATCH"."""
    return text(_lib.lib().migrate_version_string()) or ""


def version_number() -> int:
    """The run-time library version as MAJOR * 10000 + MINOR * 100 + PATCH."""
    return int(_lib.lib().migrate_version_number())


def strerror(code: int) -> str:
    """The library's English description of an error code."""
    return text(_lib.lib().migrate_strerror(int(code))) or ""


def state_name(state: int) -> str:
    """The name of a :class:`State` ("pending", "applied" ...)."""
    return text(_lib.lib().migrate_state_name(int(state))) or ""


class LogLevel(enum.IntEnum):
    """migrate_log_level_t."""

    ERROR = 0
    WARNING = 1
    INFO = 2
    DEBUG = 3


LogHandler = Callable[[LogLevel, str], None]

_log_lock = threading.Lock()
_log_trampoline = None


def set_log_handler(handler: Optional[LogHandler]) -> None:
    """Installs the process-wide log handler, called with (level, message)
    for every level (DEBUG shows the statements drivers send); None
    restores the default, which discards everything. The handler may run
    on any thread running libmigrate; exceptions in it are ignored."""
    global _log_trampoline

    if handler is not None and not callable(handler):
        raise TypeError("the log handler must be a callable or None")
    with _log_lock:
        lib = _lib.lib()
        if handler is None:
            lib.migrate_log_set_handler(_lib.LOG_FN(), None)
            _log_trampoline = None
            return

        def trampoline(level: int, message: Optional[bytes], payload: object) -> None:
            try:
                try:
                    lvl = LogLevel(level)
                except ValueError:
                    lvl = level  # type: ignore[assignment]
                handler(lvl, text(message) or "")
            except BaseException:  # noqa: B902 - nothing can propagate into C
                pass

        new = _lib.LOG_FN(trampoline)
        lib.migrate_log_set_handler(new, None)
        # The old trampoline may only go once C no longer points at it.
        _log_trampoline = new


@atexit.register
def _reset_log_handler() -> None:
    # Library threads (the MongoDB lease renewal) must not call into an
    # interpreter that is shutting down.
    if _log_trampoline is not None and _lib.path() is not None:
        try:
            _lib.lib().migrate_log_set_handler(_lib.LOG_FN(), None)
        except Exception:
            pass
