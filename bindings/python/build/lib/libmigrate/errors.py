"""Exceptions: one class per libmigrate error code, under MigrateError.

Every failing C call raises the class of its code, carrying the code, the
domain (which part of the system failed) and the library's message, exactly
as the C ``migrate_error_t`` held them.
"""

from __future__ import annotations

import enum
from typing import Dict, Optional, Type

from ._lib import LibraryError

__all__ = [
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


class Code(enum.IntEnum):
    """migrate_code_t: 0 is success, every error is negative."""

    OK = 0
    EINVAL = -1
    ENOMEM = -2
    EPLAN = -3
    EUNSUPPORTED = -4
    ECHECKSUM = -5
    ELOCKED = -6
    ELOCKLOST = -7
    ECANCELED = -8
    EDB = -9
    ECONNECT = -10
    EASSERT = -11
    EIRREVERSIBLE = -12
    EORDER = -13
    EJSON = -14
    ECALLBACK = -15
    ENOTFOUND = -16
    EIO = -17
    EVERSION = -18
    ESTATE = -19
    EINTERNAL = -20


class Domain(enum.IntEnum):
    """migrate_domain_t: which part of the system reported an error."""

    NONE = 0
    API = 1
    PLAN = 2
    RUN = 3
    LOCK = 4
    DRIVER = 5
    CALLBACK = 6


def _enum_or_int(cls: Type[enum.IntEnum], value: int) -> int:
    try:
        return cls(value)
    except ValueError:  # appended by a newer library
        return value


class MigrateError(Exception):
    """Base class of every error libmigrate reports.

    Attributes:
        code: the C error code (a :class:`Code` when this binding knows it).
        domain: the part that failed (a :class:`Domain` when known).
        message: the library's message; it never contains passwords.
    """

    #: The code raised as this class; the base class covers unknown codes.
    CODE: Optional[int] = None

    def __init__(self, message: str, code: Optional[int] = None, domain: int = Domain.NONE) -> None:
        if code is None:
            code = self.CODE if self.CODE is not None else Code.EINTERNAL
        super().__init__(message)
        self.code = _enum_or_int(Code, code)
        self.domain = _enum_or_int(Domain, domain)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        code = self.code.name if isinstance(self.code, Code) else str(self.code)
        dom = self.domain.name if isinstance(self.domain, Domain) else str(self.domain)
        return f"{type(self).__name__}({self.message!r}, code={code}, domain={dom})"


class InvalidArgumentError(MigrateError, ValueError):
    """MIGRATE_EINVAL: a bad argument (also raised by the binding's own checks)."""

    CODE = Code.EINVAL


class OutOfMemoryError(MigrateError, MemoryError):
    """MIGRATE_ENOMEM."""

    CODE = Code.ENOMEM


class PlanError(MigrateError):
    """MIGRATE_EPLAN: the plan is invalid; the message names the place."""

    CODE = Code.EPLAN


class UnsupportedError(MigrateError):
    """MIGRATE_EUNSUPPORTED: the target's driver cannot express a step."""

    CODE = Code.EUNSUPPORTED


class ChecksumError(MigrateError):
    """MIGRATE_ECHECKSUM: an applied version was edited."""

    CODE = Code.ECHECKSUM


class LockedError(MigrateError):
    """MIGRATE_ELOCKED: the plan's lock was not acquired in time."""

    CODE = Code.ELOCKED


class LockLostError(MigrateError):
    """MIGRATE_ELOCKLOST: the run lost its lock."""

    CODE = Code.ELOCKLOST


class CanceledError(MigrateError):
    """MIGRATE_ECANCELED: the event callback canceled the run (resumable)."""

    CODE = Code.ECANCELED


class DatabaseError(MigrateError):
    """MIGRATE_EDB: the database reported an error (its message included)."""

    CODE = Code.EDB


class ConnectError(MigrateError, ConnectionError):
    """MIGRATE_ECONNECT: the database could not be reached."""

    CODE = Code.ECONNECT


class AssertionFailed(MigrateError):
    """MIGRATE_EASSERT: an assert step did not hold."""

    CODE = Code.EASSERT


class IrreversibleError(MigrateError):
    """MIGRATE_EIRREVERSIBLE: a step on the down path has no inverse."""

    CODE = Code.EIRREVERSIBLE


class OrderError(MigrateError):
    """MIGRATE_EORDER: a pending version is older than an applied one."""

    CODE = Code.EORDER


class JSONError(MigrateError, ValueError):
    """MIGRATE_EJSON: malformed JSON (the message has a line and column)."""

    CODE = Code.EJSON


class CallbackError(MigrateError):
    """MIGRATE_ECALLBACK: a custom step's callback failed.

    When the callback was Python code, the exception it raised is this
    error's ``__cause__``.
    """

    CODE = Code.ECALLBACK


class NotFoundError(MigrateError, LookupError):
    """MIGRATE_ENOTFOUND: no driver for a URL, or no such version."""

    CODE = Code.ENOTFOUND


class FileError(MigrateError, OSError):
    """MIGRATE_EIO: a file could not be read or written."""

    CODE = Code.EIO


class StructVersionError(MigrateError):
    """MIGRATE_EVERSION: an options or driver struct version is unknown."""

    CODE = Code.EVERSION


class StateError(MigrateError):
    """MIGRATE_ESTATE: the history forbids the operation."""

    CODE = Code.ESTATE


class InternalError(MigrateError):
    """MIGRATE_EINTERNAL: a bug in libmigrate."""

    CODE = Code.EINTERNAL


_BY_CODE: Dict[int, Type[MigrateError]] = {
    cls.CODE: cls
    for cls in (
        InvalidArgumentError,
        OutOfMemoryError,
        PlanError,
        UnsupportedError,
        ChecksumError,
        LockedError,
        LockLostError,
        CanceledError,
        DatabaseError,
        ConnectError,
        AssertionFailed,
        IrreversibleError,
        OrderError,
        JSONError,
        CallbackError,
        NotFoundError,
        FileError,
        StructVersionError,
        StateError,
        InternalError,
    )
}


def error_class(code: int) -> Type[MigrateError]:
    """The exception class raised for a C error code (MigrateError if unknown)."""
    return _BY_CODE.get(code, MigrateError)


def make_error(code: int, domain: int, message: str) -> MigrateError:
    """An exception instance for a C error."""
    return error_class(code)(message, code, domain)
