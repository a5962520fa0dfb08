"""Loading libmigrate's shared library with ctypes, and its C declarations.

Internal: the public surface is in the other modules. Everything here
mirrors ``include/migrate/*.h``; structs are only ever appended to on the C
side, so declaring the fields we know and reading a prefix stays correct
with newer libraries of the same major version.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import sys
import threading
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_int,
    c_int64,
    c_size_t,
    c_uint,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Iterator, List, Optional

#: The ABI (SOVERSION) this binding speaks: MIGRATE_VERSION_NUMBER // 10000.
ABI_MAJOR = 0
#: The oldest library release with every function declared below (0.1.0).
MIN_VERSION_NUMBER = 100

ERROR_MESSAGE_SIZE = 1000
COLUMN_VERSION = 1
RUN_OPTIONS_VERSION = 1
LINT_OPTIONS_VERSION = 1


class MigrateErrorStruct(Structure):
    """migrate_error_t."""

    _fields_ = [("domain", c_int), ("code", c_int), ("message", c_char * ERROR_MESSAGE_SIZE)]


class ColumnStruct(Structure):
    """migrate_column_t (struct version 1)."""

    _fields_ = [
        ("version", c_uint),
        ("name", c_char_p),
        ("type", c_char_p),
        ("sql_type", c_char_p),
        ("default_json", c_char_p),
        ("nullable", c_int),
        ("unique", c_int),
        ("references_table", c_char_p),
        ("references_column", c_char_p),
        ("on_delete", c_char_p),
    ]


class IndexKeyStruct(Structure):
    """migrate_index_key_t."""

    _fields_ = [("column", c_char_p), ("descending", c_int)]


class EventStruct(Structure):
    """migrate_event_t (read-only prefix)."""

    _fields_ = [
        ("type", c_int),
        ("direction", c_int),
        ("version_id", c_uint64),
        ("version_name", c_char_p),
        ("step_index", c_int),
        ("step_count", c_int),
        ("op", c_char_p),
        ("processed", c_int64),
        ("total", c_int64),
        ("elapsed_ms", c_int64),
        ("message", c_char_p),
        ("processed_before", c_int64),
        ("batches", c_int64),
        ("longest_batch_ms", c_int64),
    ]


EVENT_FN = CFUNCTYPE(c_int, POINTER(EventStruct), c_void_p)
CUSTOM_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, POINTER(MigrateErrorStruct), c_void_p)
LOG_FN = CFUNCTYPE(None, c_int, c_char_p, c_void_p)


class RunOptionsStruct(Structure):
    """migrate_run_options_t (struct version 1)."""

    _fields_ = [
        ("version", c_uint),
        ("lock_timeout_ms", c_int64),
        ("batch_size", c_uint32),
        ("batch_pause_ms", c_uint32),
        ("batch_time_ms", c_uint32),
        ("allow_out_of_order", c_int),
        ("allow_amended", c_int),
        ("on_event", EVENT_FN),
        ("event_payload", c_void_p),
    ]


class LintOptionsStruct(Structure):
    """migrate_lint_options_t (struct version 1)."""

    _fields_ = [("version", c_uint), ("driver", c_char_p), ("large_rows", c_int64)]


class PostgresOptionsStruct(Structure):
    """migrate_postgres_options_t (struct version 1)."""

    _fields_ = [
        ("version", c_uint),
        ("schema", c_char_p),
        ("lock_mode", c_int),
        ("lease_ms", c_int64),
        ("lock_timeout_ms", c_int64),
        ("statement_timeout_ms", c_int64),
        ("retries", c_uint32),
    ]


POSTGRES_OPTIONS_VERSION = 1


class CheckDetailsStruct(Structure):
    """migrate_check_details_t (struct version 1)."""

    _fields_ = [
        ("version", c_uint),
        ("database_version", c_uint64),
        ("plan_version", c_uint64),
        ("pending", c_size_t),
        ("ahead", c_size_t),
    ]


CHECK_DETAILS_VERSION = 1


class StatusEntryStruct(Structure):
    """migrate_status_entry_t (read-only prefix)."""

    _fields_ = [
        ("id", c_uint64),
        ("name", c_char_p),
        ("state", c_int),
        ("in_plan", c_int),
        ("checksum_matches", c_int),
        ("steps_done", c_uint32),
        ("steps_total", c_uint32),
        ("started_at_ms", c_int64),
        ("finished_at_ms", c_int64),
        ("duration_ms", c_int64),
        ("applied_by", c_char_p),
        ("error", c_char_p),
        ("checksum", c_char_p),
    ]


_ERR = POINTER(MigrateErrorStruct)
_PP = POINTER(c_void_p)
_STRS = POINTER(c_char_p)

# name: (restype, argtypes). Opaque handles are c_void_p; text returned as
# caller-owned memory is c_void_p too, so that it can be handed back to
# migrate_free().
_PROTOTYPES = {
    # common.h
    "migrate_strerror": (c_char_p, [c_int]),
    "migrate_version_string": (c_char_p, []),
    "migrate_version_number": (c_int, []),
    "migrate_free": (None, [c_void_p]),
    "migrate_log_set_handler": (None, [LOG_FN, c_void_p]),
    # plan.h
    "migrate_plan_new": (c_int, [_PP, c_char_p, _ERR]),
    "migrate_plan_destroy": (None, [c_void_p]),
    "migrate_plan_name": (c_char_p, [c_void_p]),
    "migrate_plan_version_count": (c_size_t, [c_void_p]),
    "migrate_plan_version_at": (c_void_p, [c_void_p, c_size_t]),
    "migrate_plan_add_version": (c_int, [c_void_p, c_uint64, c_char_p, _PP, _ERR]),
    "migrate_version_id": (c_uint64, [c_void_p]),
    "migrate_version_name": (c_char_p, [c_void_p]),
    "migrate_version_step_count": (c_size_t, [c_void_p]),
    "migrate_version_set_transactional": (c_int, [c_void_p, c_int]),
    "migrate_version_checksum": (c_int, [c_void_p, c_char_p, c_size_t, _ERR]),
    "migrate_version_add_step_json": (c_int, [c_void_p, c_char_p, _PP, _ERR]),
    "migrate_step_op_name": (c_char_p, [c_void_p]),
    "migrate_step_to_json": (c_void_p, [c_void_p]),
    "migrate_column_init": (c_int, [POINTER(ColumnStruct), c_uint]),
    "migrate_create_table": (c_int, [c_void_p, c_char_p, _PP, _ERR]),
    "migrate_create_table_add_column": (c_int, [c_void_p, POINTER(ColumnStruct), _ERR]),
    "migrate_create_table_set_primary_key": (c_int, [c_void_p, _STRS, c_size_t, _ERR]),
    "migrate_drop_table": (c_int, [c_void_p, c_char_p, _PP, _ERR]),
    "migrate_rename_table": (c_int, [c_void_p, c_char_p, c_char_p, _PP, _ERR]),
    "migrate_add_column": (c_int, [c_void_p, c_char_p, POINTER(ColumnStruct), _PP, _ERR]),
    "migrate_drop_column_keep": (c_int, [c_void_p, c_char_p, POINTER(ColumnStruct), c_char_p, _PP, _ERR]),
    "migrate_drop_table_keep": (c_int, [c_void_p, c_char_p, c_char_p, _PP, _ERR]),
    "migrate_drop_column": (c_int, [c_void_p, c_char_p, c_char_p, _PP, _ERR]),
    "migrate_rename_column": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p, _PP, _ERR]),
    "migrate_create_index": (
        c_int,
        [c_void_p, c_char_p, c_char_p, POINTER(IndexKeyStruct), c_size_t, c_uint, _PP, _ERR],
    ),
    "migrate_drop_index": (c_int, [c_void_p, c_char_p, c_char_p, _PP, _ERR]),
    "migrate_create_enum": (c_int, [c_void_p, c_char_p, _STRS, c_size_t, _PP, _ERR]),
    "migrate_drop_enum": (c_int, [c_void_p, c_char_p, _PP, _ERR]),
    "migrate_map_values": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p, _PP, _ERR]),
    "migrate_backfill": (c_int, [c_void_p, c_char_p, _PP, _ERR]),
    "migrate_backfill_set_expr": (c_int, [c_void_p, c_char_p, c_char_p, _ERR]),
    "migrate_step_set_batch_size": (c_int, [c_void_p, c_uint32, _ERR]),
    "migrate_step_set_where": (c_int, [c_void_p, c_char_p, _ERR]),
    "migrate_step_set_keep": (c_int, [c_void_p, c_char_p, _ERR]),
    "migrate_sql": (c_int, [c_void_p, c_char_p, c_char_p, _PP, _ERR]),
    "migrate_command": (c_int, [c_void_p, c_char_p, c_char_p, _PP, _ERR]),
    "migrate_assert_count": (c_int, [c_void_p, c_char_p, c_char_p, c_int64, _PP, _ERR]),
    "migrate_assert_unique": (c_int, [c_void_p, c_char_p, _STRS, c_size_t, _PP, _ERR]),
    "migrate_assert_no_match": (c_int, [c_void_p, c_char_p, c_char_p, _PP, _ERR]),
    "migrate_assert_exists": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p, _PP, _ERR]),
    "migrate_assert_sql": (c_int, [c_void_p, c_char_p, c_char_p, _PP, _ERR]),
    "migrate_assert_command": (c_int, [c_void_p, c_char_p, c_char_p, _PP, _ERR]),
    "migrate_custom": (
        c_int,
        [c_void_p, c_char_p, c_char_p, CUSTOM_FN, CUSTOM_FN, c_void_p, _PP, _ERR],
    ),
    "migrate_step_set_down_json": (c_int, [c_void_p, c_char_p, _ERR]),
    "migrate_step_set_declares_json": (c_int, [c_void_p, c_char_p, _ERR]),
    "migrate_version_set_down_json": (c_int, [c_void_p, c_char_p, _ERR]),
    "migrate_plan_load_json": (c_int, [_PP, c_char_p, _ERR]),
    "migrate_plan_load_file": (c_int, [_PP, c_char_p, _ERR]),
    "migrate_plan_load_dir_format": (c_int, [_PP, c_char_p, c_char_p, _ERR]),
    "migrate_plan_save_dir": (c_int, [c_void_p, c_char_p, _ERR]),
    # run.h
    "migrate_target_open": (c_int, [_PP, c_char_p, _ERR]),
    "migrate_target_open_flags": (c_int, [_PP, c_char_p, c_uint, _ERR]),
    "migrate_target_close": (None, [c_void_p]),
    "migrate_target_driver_name": (c_char_p, [c_void_p]),
    "migrate_target_native_handle": (c_void_p, [c_void_p]),
    "migrate_run_options_init": (c_int, [POINTER(RunOptionsStruct), c_uint]),
    "migrate_up": (c_int, [c_void_p, c_void_p, c_uint64, POINTER(RunOptionsStruct), _ERR]),
    "migrate_down": (c_int, [c_void_p, c_void_p, c_uint64, POINTER(RunOptionsStruct), _ERR]),
    "migrate_baseline": (c_int, [c_void_p, c_void_p, c_uint64, POINTER(RunOptionsStruct), _ERR]),
    "migrate_adopt": (
        c_int,
        [c_void_p, c_void_p, c_char_p, POINTER(RunOptionsStruct), POINTER(c_uint64), _ERR],
    ),
    "migrate_repair": (
        c_int,
        [c_void_p, c_void_p, POINTER(RunOptionsStruct), POINTER(c_size_t), _ERR],
    ),
    "migrate_check": (c_int, [c_void_p, c_void_p, POINTER(c_int), _ERR]),
    "migrate_check_details": (c_int, [c_void_p, c_void_p, POINTER(c_int), POINTER(CheckDetailsStruct), _ERR]),
    "migrate_render": (c_int, [c_void_p, c_void_p, c_uint64, POINTER(c_void_p), _ERR]),
    "migrate_status_get": (c_int, [c_void_p, c_void_p, _PP, _ERR]),
    "migrate_status_count": (c_size_t, [c_void_p]),
    "migrate_status_entry": (POINTER(StatusEntryStruct), [c_void_p, c_size_t]),
    "migrate_status_destroy": (None, [c_void_p]),
    "migrate_state_name": (c_char_p, [c_int]),
    "migrate_check_schema": (c_int, [c_void_p, c_void_p, _PP, _ERR]),
    "migrate_schema_report_state": (c_int, [c_void_p]),
    "migrate_schema_report_partial": (c_uint64, [c_void_p]),
    "migrate_schema_report_count": (c_size_t, [c_void_p]),
    "migrate_schema_report_finding": (c_void_p, [c_void_p, c_size_t]),
    "migrate_schema_report_destroy": (None, [c_void_p]),
    "migrate_finding_kind": (c_int, [c_void_p]),
    "migrate_drift_kind_name": (c_char_p, [c_int]),
    "migrate_finding_object_type": (c_char_p, [c_void_p]),
    "migrate_finding_object": (c_char_p, [c_void_p]),
    "migrate_finding_version": (c_uint64, [c_void_p]),
    "migrate_finding_property": (c_char_p, [c_void_p]),
    "migrate_finding_expected": (c_char_p, [c_void_p]),
    "migrate_finding_actual": (c_char_p, [c_void_p]),
}

# Present only when the library was built with the driver.
_OPTIONAL = {
    "migrate_target_open_sqlite": (c_int, [_PP, c_void_p, _ERR]),
    "migrate_target_open_postgres": (c_int, [_PP, c_void_p, _ERR]),
    "migrate_postgres_options_init": (c_int, [POINTER(PostgresOptionsStruct), c_uint]),
    "migrate_target_open_postgres_opts": (c_int, [_PP, c_void_p, POINTER(PostgresOptionsStruct), _ERR]),
    "migrate_target_open_mongo": (c_int, [_PP, c_void_p, c_char_p, _ERR]),
    # load_driver() says so when the library predates it.
    "migrate_driver_load": (c_int, [c_char_p, _ERR]),
    # Lint: lint() says so when the library predates it.
    "migrate_lint_options_init": (c_int, [POINTER(LintOptionsStruct), c_uint]),
    "migrate_lint": (c_int, [c_void_p, c_void_p, POINTER(LintOptionsStruct), _PP, _ERR]),
    "migrate_lint_report_count": (c_size_t, [c_void_p]),
    "migrate_lint_report_silenced": (c_size_t, [c_void_p]),
    "migrate_lint_report_finding": (c_void_p, [c_void_p, c_size_t]),
    "migrate_lint_report_destroy": (None, [c_void_p]),
    "migrate_lint_finding_rule": (c_char_p, [c_void_p]),
    "migrate_lint_finding_severity": (c_int, [c_void_p]),
    "migrate_lint_severity_name": (c_char_p, [c_int]),
    "migrate_lint_finding_version": (c_uint64, [c_void_p]),
    "migrate_lint_finding_step": (c_size_t, [c_void_p]),
    "migrate_lint_finding_message": (c_char_p, [c_void_p]),
    "migrate_lint_finding_safer": (c_char_p, [c_void_p]),
}


class LibraryError(OSError):
    """libmigrate's shared library was not found, did not load, or is of an
    incompatible version."""


_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_path: Optional[str] = None


def _names() -> List[str]:
    if sys.platform == "darwin":
        return ["libmigrate.dylib", "libmigrate.0.dylib"]
    if sys.platform == "win32":
        return ["migrate.dll", "libmigrate.dll"]
    return ["libmigrate.so", "libmigrate.so.0"]


def _in_dir(directory: Path) -> Iterator[str]:
    for name in _names():
        if (directory / name).is_file():
            yield str(directory / name)


def _bundled_candidates() -> Iterator[str]:
    # A wheel built with the bundled C library (pip install bindings/python)
    # carries it next to this file.
    yield from _in_dir(Path(__file__).resolve().parent)


def _build_tree_candidates() -> Iterator[str]:
    # bindings/python/libmigrate/_lib.py -> the repository's root.
    root = Path(__file__).resolve().parents[3]
    if (root / "include" / "migrate" / "common.h").is_file():
        yield from _in_dir(root / "build")


def _pkg_config_libdir(notes: List[str]) -> Optional[Path]:
    """libmigrate.pc's libdir (honouring PKG_CONFIG_PATH), or None with the
    reason in ``notes``."""
    exe = shutil.which("pkg-config") or shutil.which("pkgconf")
    if exe is None:
        notes.append("pkg-config: not installed")
        return None
    try:
        r = subprocess.run([exe, "--variable=libdir", "libmigrate"], capture_output=True, text=True,
                           timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as e:
        notes.append(f"pkg-config: {e}")
        return None
    libdir = r.stdout.strip()
    if r.returncode != 0 or not libdir:
        where = os.environ.get("PKG_CONFIG_PATH")
        notes.append("pkg-config: no libmigrate.pc" + (f" (PKG_CONFIG_PATH={where})" if where else
                                                       " (PKG_CONFIG_PATH not set)"))
        return None
    return Path(libdir)


def _candidates(explicit: Optional[str], notes: List[str]) -> Iterator[str]:
    """Where to look, in order: ``explicit`` or MIGRATE_LIBRARY (the only
    candidate when given: a wrong setting must not silently pick another
    library), the library bundled in this package, a source checkout's
    build/, pkg-config's libdir for libmigrate, then the system loader.
    Searches that find nothing say so in ``notes``."""
    chosen = explicit or os.environ.get("MIGRATE_LIBRARY")
    if chosen:
        p = Path(chosen)
        if p.is_dir():
            for found in _in_dir(p):
                yield found
                return
        yield chosen
        return
    bundled = list(_bundled_candidates())
    if not bundled:
        notes.append(f"bundled: none in {Path(__file__).resolve().parent}")
    yield from bundled
    yield from _build_tree_candidates()
    libdir = _pkg_config_libdir(notes)
    if libdir is not None:
        in_libdir = list(_in_dir(libdir))
        if not in_libdir:
            notes.append(f"pkg-config: libdir {libdir} holds no {' or '.join(_names())}")
        yield from in_libdir
    found = ctypes.util.find_library("migrate")
    if found:
        yield found
    else:
        notes.append('ctypes.util.find_library("migrate"): nothing')
    yield from _names()[1:] or _names()


def _declare(lib: ctypes.CDLL) -> None:
    for name, (restype, argtypes) in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    for name, (restype, argtypes) in _OPTIONAL.items():
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype = restype
            fn.argtypes = argtypes


def _check_version(number: int, where: str) -> None:
    if number // 10000 != ABI_MAJOR or number < MIN_VERSION_NUMBER:
        raise LibraryError(
            f"{where}: libmigrate {number // 10000}.{number // 100 % 100}.{number % 100} is not "
            f"compatible with this binding (needs {ABI_MAJOR}.x, at least "
            f"{MIN_VERSION_NUMBER // 10000}.{MIN_VERSION_NUMBER // 100 % 100}.{MIN_VERSION_NUMBER % 100})"
        )


def load(path: Optional[str] = None) -> ctypes.CDLL:
    """Loads the library once per process and returns it.

    ``path`` (or the environment variable ``MIGRATE_LIBRARY``) names the
    shared library, or a directory holding it. Otherwise, in order: the
    library bundled inside this package (a wheel built with the C library),
    the build tree of the source checkout this package sits in
    (``build/``), the ``libdir`` of ``pkg-config libmigrate`` (so an
    install prefix on PKG_CONFIG_PATH is enough), then the system loader
    (``ctypes.util.find_library("migrate")``, ``libmigrate.so.0`` on
    LD_LIBRARY_PATH and the loader's cache). Raises LibraryError, listing
    everything tried, when nothing suitable loads.
    """
    global _lib, _path
    with _lock:
        if _lib is not None:
            if path is not None and os.path.realpath(path) != os.path.realpath(_path or ""):
                raise LibraryError(f"libmigrate is already loaded from {_path}")
            return _lib
        tried: List[str] = []  # failed candidates and empty searches, in order
        for candidate in _candidates(path, tried):
            try:
                lib = ctypes.CDLL(candidate)
            except OSError as e:
                tried.append(f"{candidate}: {e}")
                continue
            try:
                _declare(lib)
            except AttributeError as e:
                raise LibraryError(f"{candidate}: not a usable libmigrate ({e})") from None
            _check_version(lib.migrate_version_number(), candidate)
            _lib, _path = lib, candidate
            return lib
        raise LibraryError(
            "libmigrate's shared library was not found; install it (cmake --install build "
            "--prefix PREFIX, then put PREFIX/lib/pkgconfig on PKG_CONFIG_PATH or PREFIX/lib on "
            "LD_LIBRARY_PATH), install this package with the bundled library (pip install "
            "bindings/python), or set MIGRATE_LIBRARY to its path. Tried: "
            + "; ".join(tried)
        )


def lib() -> ctypes.CDLL:
    """The loaded library (loading it on first use)."""
    return _lib if _lib is not None else load()


def path() -> Optional[str]:
    """The file the library was loaded from, or None before it is."""
    return _path


def has(name: str) -> bool:
    """True when the loaded library exports ``name`` (driver wrappers)."""
    return getattr(lib(), name, None) is not None
