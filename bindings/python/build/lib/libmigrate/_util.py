"""Helpers shared by the modules: argument encoding, C error checking, and
the per-thread context that carries exceptions out of Python callbacks.
Internal."""

from __future__ import annotations

import ctypes
import json
import os
import threading
from typing import Any, Callable, List, Optional, Sequence, Tuple

from . import _lib
from .errors import Code, Domain, InvalidArgumentError, MigrateError, make_error


def invalid(message: str) -> InvalidArgumentError:
    """The binding's own argument errors look like the library's EINVAL."""
    return InvalidArgumentError(message, Code.EINVAL, Domain.API)


def cstr(value: Any, what: str) -> Optional[bytes]:
    """A str (or bytes, or path) as NUL-terminated UTF-8; None stays None.

    ctypes would silently cut a string at an embedded NUL, so such strings
    are refused here, as the library refuses them.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        data = value
    elif isinstance(value, str):
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise invalid(f"{what}: not valid UTF-8 text ({e.reason})") from None
    elif isinstance(value, os.PathLike):
        data = os.fsencode(value)
    else:
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    if b"\0" in data:
        raise invalid(f"{what}: contains a NUL character")
    return data


def required(value: Any, what: str) -> bytes:
    """cstr() for a required argument."""
    data = cstr(value, what)
    if data is None:
        raise TypeError(f"{what} is required")
    return data


def to_json(value: Any, what: str) -> bytes:
    """Any JSON-able Python value as JSON text (a str becomes a JSON string)."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as e:
        raise invalid(f"{what}: cannot be written as JSON: {e}") from None
    return required(text, what)


def json_doc(value: Any, what: str) -> Optional[bytes]:
    """A JSON document given as a dict or list (serialised) or as JSON text
    (str or bytes, passed as is); None stays None."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        return cstr(value, what)
    return to_json(value, what)


def strings(values: Sequence[Any], what: str) -> Tuple[Any, int]:
    """A C array of strings (and its length) from a sequence of str."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{what} must be a list of strings, not a single string")
    items = [required(v, f"{what}[{i}]") for i, v in enumerate(values)]
    array = (ctypes.c_char_p * max(len(items), 1))(*items)
    return array, len(items)


def uint(value: Any, what: str, bits: int, minimum: int = 0) -> int:
    """Checks an integer fits the C unsigned type: ctypes would wrap it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not minimum <= value < (1 << bits):
        raise invalid(f"{what}: {value} is out of range ({minimum} to {(1 << bits) - 1})")
    return value


def sint(value: Any, what: str, bits: int = 64) -> int:
    """Checks an integer fits the C signed type."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        raise invalid(f"{what}: {value} is out of range")
    return value


def text(data: Optional[bytes]) -> Optional[str]:
    """Text from the library (UTF-8; invalid bytes replaced, never raised)."""
    return None if data is None else data.decode("utf-8", "replace")


def error_from(rc: int, err: _lib.MigrateErrorStruct) -> MigrateError:
    """The exception for a failed call that filled `err`."""
    if err.code == rc and err.message:
        message = text(err.message) or ""
        domain = err.domain
    else:  # not filled (the *_init functions, or a library bug)
        message = text(_lib.lib().migrate_strerror(rc)) or f"error {rc}"
        domain = err.domain if err.code == rc else Domain.NONE
    return make_error(rc, domain, message)


def call(fn: Callable[..., int], *args: Any) -> None:
    """Calls a C function whose last argument is a migrate_error_t *,
    raising the mapped exception when it fails."""
    err = _lib.MigrateErrorStruct()
    rc = fn(*args, ctypes.byref(err))
    if rc != 0:
        raise error_from(rc, err)


def fill_error(err_ptr: Any, code: int, domain: int, message: str) -> None:
    """Writes a message into a caller's migrate_error_t (truncated on a
    UTF-8 character boundary)."""
    if not err_ptr:
        return
    data = message.encode("utf-8", "replace")[: _lib.ERROR_MESSAGE_SIZE - 1]
    data = data.decode("utf-8", "ignore").encode("utf-8")
    e = err_ptr.contents
    e.code = code
    e.domain = domain
    e.message = data


def describe(exc: BaseException) -> str:
    """A one-line description of an exception for a C error message."""
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


# ---- exceptions out of callbacks ---------------------------------------
#
# C cannot unwind through Python frames, so a Python callback that raises
# returns a failure to the library instead and leaves its exception here;
# the operation that called into C raises it once the C call has returned.
# Callbacks run on the thread that called the operation, so a thread-local
# stack of contexts (one per C call in progress; runs may nest, a custom
# step may run another target) finds the right one.

_tls = threading.local()


class CallContext:
    """Exceptions raised by Python callbacks during one C call."""

    def __init__(self) -> None:
        self.raised: List[Tuple[str, BaseException]] = []
        self.target: Any = None

    def __enter__(self) -> "CallContext":
        stack = getattr(_tls, "stack", None)
        if stack is None:
            stack = _tls.stack = []
        stack.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _tls.stack.pop()

    def finish(self, rc: int, err: _lib.MigrateErrorStruct) -> None:
        """Raises what the C call and its callbacks left, if anything."""
        c_error = error_from(rc, err) if rc != 0 else None
        if not self.raised:
            if c_error is not None:
                raise c_error
            return
        kind, original = self.raised[0]
        if kind == "custom" and isinstance(original, Exception) and c_error is not None:
            # The C error (CallbackError) carries the message and the history
            # records it; the Python exception is its cause.
            raise c_error from original
        # An event callback's exception (or an interrupt anywhere) is the
        # caller's own: raise it as it was, chained to what C reported.
        if c_error is not None and original.__cause__ is None:
            raise original from c_error
        raise original


def current_context() -> Optional[CallContext]:
    stack = getattr(_tls, "stack", None)
    return stack[-1] if stack else None


def record(kind: str, exc: BaseException) -> None:
    """Keeps a callback's exception for the C call in progress."""
    ctx = current_context()
    if ctx is not None:
        ctx.raised.append((kind, exc))
