"""Plans, versions and steps (``<migrate/plan.h>``).

A :class:`Plan` owns a C ``migrate_plan_t``; its :class:`Version` and
:class:`Step` objects are views borrowed from it and keep it alive. Each
typed builder calls the C builder of the same name, so it makes the same
step document (docs/steps.md) and a plan built here has the checksums of
the same plan built in C.
"""

from __future__ import annotations

import ctypes
import json
import threading
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import _lib
from ._util import (
    call,
    cstr,
    describe,
    fill_error,
    invalid,
    json_doc,
    record,
    required,
    sint,
    strings,
    text,
    to_json,
    uint,
)
from .errors import Code, Domain

if TYPE_CHECKING:
    from .target import Target

__all__ = ["Column", "IndexKey", "Plan", "Version", "Step", "CustomFn", "INDEX_UNIQUE", "INDEX_ONLINE"]

#: Flags of the C migrate_create_index().
INDEX_UNIQUE = 1
INDEX_ONLINE = 2

#: A custom step's callable: receives the Target being migrated and the
#: driver's native handle (sqlite3 *, PGconn *, mongoc_database_t * ...) as
#: an int address, valid during the call. Raise to fail the step.
CustomFn = Callable[["Target", int], Any]

JSONLike = Union[str, bytes, Mapping[str, Any], Sequence[Any]]


@dataclass
class Column:
    """A column of create_table or add_column (``migrate_column_t``).

    ``type`` is a portable type (text, integer, bigint, double, boolean,
    uuid, json, timestamp, bytes, ``enum:<name>``); ``sql_type`` a raw
    driver-specific type instead. ``default`` takes the JSON forms of
    docs/steps.md: ``"now"``, ``"uuid"``, ``{"value": v}`` or
    ``{"sql": "..."}``; None means no default.
    """

    name: str
    type: Optional[str] = None
    sql_type: Optional[str] = None
    default: Any = None
    nullable: bool = True
    unique: bool = False
    references_table: Optional[str] = None
    references_column: Optional[str] = None
    on_delete: Optional[str] = None

    _KEYS = ("name", "type", "default", "nullable", "unique", "references")

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> "Column":
        """A column from its step-document form:
        ``{"name": "status", "type": "enum:jobstatus", "nullable": False,
        "default": {"value": "pending"}, "references": {"table": ...}}``.
        A raw type is ``"type": {"sql": "varchar(100)"}``."""
        if not isinstance(doc, Mapping):
            raise TypeError(f"a column must be a dict or a Column, not {type(doc).__name__}")
        for key in doc:
            if key not in cls._KEYS:
                raise invalid(f"column {doc.get('name')!r}: unknown field {key!r}")
        if "name" not in doc:
            raise invalid("column: \"name\" is required")
        kind = doc.get("type")
        sql_type = None
        if isinstance(kind, Mapping):
            if set(kind) != {"sql"}:
                raise invalid(f"column {doc['name']!r}: type must be a string or {{\"sql\": \"...\"}}")
            sql_type, kind = kind["sql"], None
        refs = doc.get("references") or {}
        if not isinstance(refs, Mapping):
            raise invalid(f"column {doc['name']!r}: references must be an object")
        for key in refs:
            if key not in ("table", "column", "on_delete"):
                raise invalid(f"column {doc['name']!r}: references: unknown field {key!r}")
        return cls(
            name=doc["name"],
            type=kind,
            sql_type=sql_type,
            default=doc.get("default"),
            nullable=bool(doc.get("nullable", True)),
            unique=bool(doc.get("unique", False)),
            references_table=refs.get("table"),
            references_column=refs.get("column"),
            on_delete=refs.get("on_delete"),
        )

    def to_dict(self) -> Dict[str, Any]:
        """The step-document form of this column."""
        doc: Dict[str, Any] = {"name": self.name}
        doc["type"] = {"sql": self.sql_type} if self.sql_type is not None else self.type
        if self.default is not None:
            doc["default"] = self.default
        if not self.nullable:
            doc["nullable"] = False
        if self.unique:
            doc["unique"] = True
        if self.references_table is not None:
            ref: Dict[str, Any] = {"table": self.references_table, "column": self.references_column}
            if self.on_delete is not None:
                ref["on_delete"] = self.on_delete
            doc["references"] = ref
        return doc

    def _struct(self, keep: List[Any]) -> _lib.ColumnStruct:
        col = _lib.ColumnStruct()
        rc = _lib.lib().migrate_column_init(ctypes.byref(col), _lib.COLUMN_VERSION)
        if rc:
            raise invalid(f"migrate_column_init failed ({rc})")
        where = f"column {self.name!r}"
        col.name = required(self.name, "column name")
        col.type = cstr(self.type, f"{where}: type")
        col.sql_type = cstr(self.sql_type, f"{where}: sql_type")
        if self.default is not None:
            default = to_json(self.default, f"{where}: default")
            keep.append(default)
            col.default_json = default
        col.nullable = 1 if self.nullable else 0
        col.unique = 1 if self.unique else 0
        col.references_table = cstr(self.references_table, f"{where}: references_table")
        col.references_column = cstr(self.references_column, f"{where}: references_column")
        col.on_delete = cstr(self.on_delete, f"{where}: on_delete")
        return col


ColumnLike = Union[Column, Mapping[str, Any]]


def _column(value: ColumnLike) -> Column:
    return value if isinstance(value, Column) else Column.from_dict(value)


@dataclass
class IndexKey:
    """One key of an index: a column and its order."""

    column: str
    descending: bool = False


IndexKeyLike = Union[str, IndexKey, Tuple[str, str], Mapping[str, Any]]


def _index_key(value: IndexKeyLike) -> IndexKey:
    if isinstance(value, IndexKey):
        return value
    if isinstance(value, str):
        return IndexKey(value)
    column: Any
    order: Any
    if isinstance(value, tuple) and len(value) == 2:
        column, order = value
    elif isinstance(value, Mapping):
        extra = set(value) - {"column", "order"}
        if extra:
            raise invalid(f"index key: unknown field {sorted(extra)[0]!r}")
        column, order = value.get("column"), value.get("order", "asc")
    else:
        raise TypeError(f"an index key is a column name, (column, order), a dict or an IndexKey, not {value!r}")
    if order not in ("asc", "desc"):
        raise invalid(f"index key {column!r}: order must be \"asc\" or \"desc\", not {order!r}")
    return IndexKey(column, order == "desc")


def _down_doc(steps: Any, what: str) -> bytes:
    """A list of step documents (or JSON text of one): an explicit down or a declaration."""
    if isinstance(steps, (Step,)):
        steps = [steps.document]
    elif isinstance(steps, Sequence) and not isinstance(steps, (str, bytes)):
        steps = [s.document if isinstance(s, Step) else s for s in steps]
    doc = json_doc(steps, what)
    assert doc is not None
    return doc


class Step:
    """A step of a version, borrowed from its plan (which it keeps alive).

    The setters mirror the C step modifiers and return the step, so they
    chain: ``v.backfill("jobs", {...}).set_where({...}).set_batch_size(500)``.
    """

    __slots__ = ("_plan", "_ptr", "__weakref__")

    def __init__(self, plan: "Plan", ptr: int) -> None:
        self._plan = plan
        self._ptr = ptr

    def _handle(self) -> int:
        self._plan._writable()
        return self._ptr

    @property
    def op(self) -> str:
        """The step's op ("create_table" ...)."""
        self._plan._handle()
        return text(_lib.lib().migrate_step_op_name(self._ptr)) or ""

    @property
    def json(self) -> str:
        """The step document as canonical JSON (sorted keys, no whitespace)."""
        self._plan._handle()
        lib = _lib.lib()
        ptr = lib.migrate_step_to_json(self._ptr)
        if not ptr:
            raise MemoryError("migrate_step_to_json failed")
        try:
            return ctypes.string_at(ptr).decode("utf-8")
        finally:
            lib.migrate_free(ptr)

    @property
    def document(self) -> Dict[str, Any]:
        """The step document as a dict."""
        doc: Dict[str, Any] = json.loads(self.json)
        return doc

    def add_column(self, column: ColumnLike) -> "Step":
        """Adds a column to a create_table step."""
        keep: List[Any] = []
        col = _column(column)._struct(keep)
        call(_lib.lib().migrate_create_table_add_column, self._handle(), ctypes.byref(col))
        return self

    def set_primary_key(self, columns: Sequence[str]) -> "Step":
        """Sets the primary key of a create_table step."""
        array, n = strings(columns, "primary_key")
        call(_lib.lib().migrate_create_table_set_primary_key, self._handle(), array, n)
        return self

    def set_expr(self, column: str, expr: JSONLike) -> "Step":
        """Sets one column of a backfill to an expression: ``{"value": v}``,
        ``{"column": c}``, ``{"array_length": c}``, ``{"count": {...}}``,
        ``{"sql": "..."}`` or ``{"mongo": ...}``."""
        call(
            _lib.lib().migrate_backfill_set_expr,
            self._handle(),
            required(column, "column"),
            json_doc(expr, f"set.{column}"),
        )
        return self

    def set_batch_size(self, batch_size: int) -> "Step":
        """Rows per batch of a backfill or map_values (0: sized by the driver)."""
        call(_lib.lib().migrate_step_set_batch_size, self._handle(), uint(batch_size, "batch_size", 32))
        return self

    def set_keep(self, keep: str) -> "Step":
        """Makes a map_values or backfill keep the values it overwrites in table
        (collection) ``keep``, so that its down restores them exactly."""
        call(_lib.lib().migrate_step_set_keep, self._handle(), required(keep, "keep"))
        return self

    def set_where(self, where: JSONLike) -> "Step":
        """The filter of map_values, backfill, create_index (partial index) or
        a count/no_match assert, in the MongoDB-style subset of docs/steps.md."""
        call(_lib.lib().migrate_step_set_where, self._handle(), json_doc(where, "where"))
        return self

    def set_down(self, steps: Any) -> "Step":
        """An explicit down: step documents (dicts) run instead of the
        computed inverse; ``[]`` declares that undoing needs nothing."""
        call(_lib.lib().migrate_step_set_down_json, self._handle(), _down_doc(steps, "down"))
        return self

    def set_declares(self, steps: Any) -> "Step":
        """What a raw step (sql, command, custom) makes, as schema step
        documents (dicts) that never run: drift detection replays them
        instead of the raw step; ``[]`` declares that it changes no schema
        object. No part of the version's checksum."""
        call(_lib.lib().migrate_step_set_declares_json, self._handle(), _down_doc(steps, "declares"))
        return self

    def __repr__(self) -> str:
        try:
            return f"<libmigrate.Step {self.json}>"
        except Exception:
            return "<libmigrate.Step (plan destroyed)>"


class _Builders:
    """The typed builders, one per op of the step catalog. Each appends a
    step to a version and returns it; ``down_steps`` (optional) gives the
    step an explicit down."""

    __slots__ = ()

    def _vptr(self) -> Tuple["Plan", int]:
        raise NotImplementedError

    def _build(self, fn_name: str, *args: Any, down_steps: Any = None) -> Step:
        plan, vptr = self._vptr()
        out = ctypes.c_void_p()
        call(getattr(_lib.lib(), fn_name), vptr, *args, ctypes.byref(out))
        step = Step(plan, out.value or 0)
        if down_steps is not None:
            step.set_down(down_steps)
        return step

    def add_step(self, step: JSONLike) -> Step:
        """Appends a step given as its document (a dict, or JSON text), e.g.
        ``{"op": "rename_table", "from": "sessions", "to": "jobs"}``.
        Raises JSONError for malformed JSON, PlanError for a bad document."""
        return self._build("migrate_version_add_step_json", json_doc(step, "step"))

    def step(self, op: str, **fields: Any) -> Step:
        """Any op of the step catalog by name, through the JSON step path:
        ``v.step("rename_table", from_="sessions", to="jobs")``. A trailing
        underscore is dropped from a field's name (for Python keywords such
        as ``from``). It makes the same document, and so the same checksum,
        as the typed builder of that op; an op added to the catalog is
        available here with no change to this binding. Raises PlanError for
        a bad document."""
        doc: Dict[str, Any] = {"op": op}
        for key, value in fields.items():
            doc[key[:-1] if key.endswith("_") else key] = value
        return self.add_step(doc)

    def create_table(
        self,
        table: str,
        columns: Sequence[ColumnLike] = (),
        primary_key: Optional[Sequence[str]] = None,
        *,
        down_steps: Any = None,
    ) -> Step:
        """create_table: columns as Column objects or step-document dicts."""
        step = self._build("migrate_create_table", required(table, "table"))
        for col in columns:
            step.add_column(col)
        if primary_key is not None:
            step.set_primary_key(primary_key)
        if down_steps is not None:
            step.set_down(down_steps)
        return step

    def drop_table(self, table: str, *, down_steps: Any = None) -> Step:
        """drop_table (irreversible unless given ``down_steps``)."""
        return self._build("migrate_drop_table", required(table, "table"), down_steps=down_steps)

    def drop_table_keep(self, table: str, keep: str) -> Step:
        """drop_table that keeps the table: it is renamed to ``keep`` with
        its rows and indexes, and its down renames it back."""
        return self._build("migrate_drop_table_keep", required(table, "table"), required(keep, "keep"))

    def rename_table(self, old: str, new: str, *, down_steps: Any = None) -> Step:
        """rename_table from ``old`` to ``new``."""
        return self._build(
            "migrate_rename_table", required(old, "from"), required(new, "to"), down_steps=down_steps
        )

    def add_column(self, table: str, column: ColumnLike, *, down_steps: Any = None) -> Step:
        """add_column."""
        keep: List[Any] = []
        col = _column(column)._struct(keep)
        return self._build(
            "migrate_add_column", required(table, "table"), ctypes.byref(col), down_steps=down_steps
        )

    def drop_column(self, table: str, column: str, *, down_steps: Any = None) -> Step:
        """drop_column (irreversible unless given ``down_steps``)."""
        return self._build(
            "migrate_drop_column", required(table, "table"), required(column, "column"), down_steps=down_steps
        )

    def drop_column_keep(self, table: str, column: ColumnLike, keep: str) -> Step:
        """drop_column that first copies every row's value into table
        (collection) ``keep``; its down adds ``column`` (the dropped column's
        definition) back and restores every value exactly."""
        held: List[Any] = []
        col = _column(column)._struct(held)
        return self._build(
            "migrate_drop_column_keep", required(table, "table"), ctypes.byref(col), required(keep, "keep")
        )

    def rename_column(self, table: str, old: str, new: str, *, down_steps: Any = None) -> Step:
        """rename_column from ``old`` to ``new``."""
        return self._build(
            "migrate_rename_column",
            required(table, "table"),
            required(old, "from"),
            required(new, "to"),
            down_steps=down_steps,
        )

    def create_index(
        self,
        table: str,
        name: str,
        keys: Sequence[IndexKeyLike],
        *,
        unique: bool = False,
        online: bool = False,
        where: Optional[JSONLike] = None,
        down_steps: Any = None,
    ) -> Step:
        """create_index: keys as column names, ``(column, "desc")`` pairs,
        ``{"column": c, "order": "desc"}`` dicts or IndexKey objects;
        ``where`` makes a partial index; ``online`` builds without blocking
        writes where the driver can."""
        if isinstance(keys, (str, bytes)):
            keys = [keys]
        parsed = [_index_key(k) for k in keys]
        array = (_lib.IndexKeyStruct * max(len(parsed), 1))()
        for i, k in enumerate(parsed):
            array[i].column = required(k.column, f"keys[{i}].column")
            array[i].descending = 1 if k.descending else 0
        flags = (INDEX_UNIQUE if unique else 0) | (INDEX_ONLINE if online else 0)
        step = self._build(
            "migrate_create_index",
            required(table, "table"),
            required(name, "name"),
            array,
            len(parsed),
            flags,
        )
        if where is not None:
            step.set_where(where)
        if down_steps is not None:
            step.set_down(down_steps)
        return step

    def drop_index(self, table: str, name: str, *, down_steps: Any = None) -> Step:
        """drop_index (irreversible unless given ``down_steps``)."""
        return self._build(
            "migrate_drop_index", required(table, "table"), required(name, "name"), down_steps=down_steps
        )

    def create_enum(self, name: str, values: Sequence[str], *, down_steps: Any = None) -> Step:
        """create_enum: a named set of string values (``enum:<name>`` columns)."""
        array, n = strings(values, "values")
        return self._build("migrate_create_enum", required(name, "name"), array, n, down_steps=down_steps)

    def drop_enum(self, name: str, *, down_steps: Any = None) -> Step:
        """drop_enum (irreversible unless given ``down_steps``)."""
        return self._build("migrate_drop_enum", required(name, "name"), down_steps=down_steps)

    def map_values(
        self,
        table: str,
        column: str,
        mapping: JSONLike,
        *,
        where: Optional[JSONLike] = None,
        batch_size: Optional[int] = None,
        down_steps: Any = None,
        keep: Optional[str] = None,
    ) -> Step:
        """map_values: rewrites ``column`` by ``mapping`` ({old: new}), in batches;
        with ``keep``, the old values are kept there and down restores them."""
        step = self._build(
            "migrate_map_values",
            required(table, "table"),
            required(column, "column"),
            json_doc(mapping, "map"),
        )
        return _modifiers(step, where, batch_size, down_steps, keep)

    def backfill(
        self,
        table: str,
        assignments: Mapping[str, JSONLike],
        *,
        where: Optional[JSONLike] = None,
        batch_size: Optional[int] = None,
        down_steps: Any = None,
        keep: Optional[str] = None,
    ) -> Step:
        """backfill: ``assignments`` maps columns to expressions (see
        :meth:`Step.set_expr`); runs in batches, resumably; with ``keep``, the
        overwritten values are kept there and down restores them."""
        step = self._build("migrate_backfill", required(table, "table"))
        for column, expr in assignments.items():
            step.set_expr(column, expr)
        return _modifiers(step, where, batch_size, down_steps, keep)

    def sql(self, up: str, down: Optional[str] = None, *, down_steps: Any = None) -> Step:
        """sql: raw SQL run as given (never parameterised); ``down`` may be
        None (irreversible). SQL drivers only."""
        return self._build("migrate_sql", required(up, "up"), cstr(down, "down"), down_steps=down_steps)

    def command(self, up: JSONLike, down: Optional[JSONLike] = None, *, down_steps: Any = None) -> Step:
        """command: a database command document (or a list of them); MongoDB."""
        return self._build(
            "migrate_command", json_doc(up, "up"), json_doc(down, "down"), down_steps=down_steps
        )

    def assert_count(self, table: str, expected: int, *, where: Optional[JSONLike] = None) -> Step:
        """assert count: the rows of ``table`` (matching ``where``) number ``expected``."""
        return self._build(
            "migrate_assert_count", required(table, "table"), json_doc(where, "where"), sint(expected, "expected")
        )

    def assert_unique(self, table: str, columns: Sequence[str]) -> Step:
        """assert unique: no two rows share the values of ``columns``."""
        array, n = strings(columns, "columns")
        return self._build("migrate_assert_unique", required(table, "table"), array, n)

    def assert_no_match(self, table: str, where: JSONLike) -> Step:
        """assert no_match: no row matches ``where``."""
        return self._build("migrate_assert_no_match", required(table, "table"), json_doc(where, "where"))

    def assert_exists(self, table: str, column: Optional[str] = None, index: Optional[str] = None) -> Step:
        """assert exists: the table, or a column of it, or an index on it."""
        return self._build(
            "migrate_assert_exists", required(table, "table"), cstr(column, "column"), cstr(index, "index")
        )

    def assert_sql(self, sql: str, expected: Any) -> Step:
        """assert sql: the first column of the first row equals ``expected``
        (a JSON scalar: a str here is a string, not JSON text)."""
        return self._build("migrate_assert_sql", required(sql, "sql"), to_json(expected, "expect"))

    def assert_command(self, command: JSONLike, expected: JSONLike) -> Step:
        """assert command: the reply holds every field of ``expected``."""
        return self._build(
            "migrate_assert_command", json_doc(command, "command"), json_doc(expected, "expect")
        )

    def custom(
        self,
        name: str,
        revision: str,
        up: CustomFn,
        down: Optional[CustomFn] = None,
    ) -> Step:
        """custom: Python callables run with the target and the driver's
        native handle (an int address), inside the version's transaction
        where the driver has them. An exception fails the step: the run
        raises CallbackError (its message recorded in the history) caused by
        that exception. Change ``revision`` whenever the code's behaviour
        changes: it is part of the checksum. ``down`` None: irreversible."""
        if not callable(up) or (down is not None and not callable(down)):
            raise TypeError("custom: up and down must be callables")
        plan, _ = self._vptr()
        c_up = _custom_trampoline(up, name)
        c_down = _custom_trampoline(down, name) if down is not None else _lib.CUSTOM_FN()
        step = self._build(
            "migrate_custom", required(name, "name"), required(revision, "revision"), c_up, c_down, None
        )
        # C keeps the function pointers for every run of the plan: they live
        # as long as the plan does.
        plan._callbacks.extend((c_up, c_down))
        return step


def _modifiers(step: Step, where: Any, batch_size: Optional[int], down_steps: Any, keep: Optional[str] = None) -> Step:
    if keep is not None:
        step.set_keep(keep)
    if where is not None:
        step.set_where(where)
    if batch_size is not None:
        step.set_batch_size(batch_size)
    if down_steps is not None:
        step.set_down(down_steps)
    return step


def _custom_trampoline(fn: CustomFn, name: str) -> Any:
    def trampoline(target_ptr: int, native: Optional[int], err_ptr: Any, payload: Any) -> int:
        try:
            from .target import Target

            fn(Target._for_callback(target_ptr), native or 0)
            return 0
        except BaseException as e:  # noqa: B902 - C cannot unwind: report and re-raise later
            try:
                record("custom", e)
                fill_error(err_ptr, Code.ECALLBACK, Domain.CALLBACK, describe(e))
            except BaseException:
                pass
            return 1

    return _lib.CUSTOM_FN(trampoline)


class Version(_Builders):
    """A version of a plan, borrowed from it (and keeping it alive)."""

    __slots__ = ("_plan", "_ptr", "__weakref__")

    def __init__(self, plan: "Plan", ptr: int) -> None:
        self._plan = plan
        self._ptr = ptr

    def _vptr(self) -> Tuple["Plan", int]:
        self._plan._writable()
        return self._plan, self._ptr

    @property
    def id(self) -> int:
        """The version's numeric id."""
        self._plan._handle()
        return int(_lib.lib().migrate_version_id(self._ptr))

    @property
    def name(self) -> Optional[str]:
        """The version's name ("" when it has none)."""
        self._plan._handle()
        return text(_lib.lib().migrate_version_name(self._ptr))

    @property
    def step_count(self) -> int:
        """The number of steps."""
        self._plan._handle()
        return int(_lib.lib().migrate_version_step_count(self._ptr))

    def __len__(self) -> int:
        return self.step_count

    @property
    def checksum(self) -> str:
        """The SHA-256 checksum (64 hex digits) over the canonical steps."""
        self._plan._handle()
        buf = ctypes.create_string_buffer(65)
        call(_lib.lib().migrate_version_checksum, self._ptr, buf, ctypes.sizeof(buf))
        return buf.value.decode("ascii")

    def set_transactional(self, transactional: bool) -> "Version":
        """A non-transactional version runs every step on its own."""
        self._vptr()
        rc = _lib.lib().migrate_version_set_transactional(self._ptr, 1 if transactional else 0)
        if rc:
            raise invalid(f"migrate_version_set_transactional failed ({rc})")
        return self

    def set_down(self, steps: Any) -> "Version":
        """An explicit down for the whole version: step documents run, in
        order, instead of the inverses of its steps."""
        call(_lib.lib().migrate_version_set_down_json, self._vptr()[1], _down_doc(steps, "down"))
        return self

    def __repr__(self) -> str:
        try:
            return f"<libmigrate.Version {self.id} {self.name!r}: {self.step_count} steps>"
        except Exception:
            return "<libmigrate.Version (plan destroyed)>"


class Plan(_Builders):
    """A named, ordered set of versions (``migrate_plan_t``).

    Build it with :meth:`add_version` and the step builders, or load a
    plan file with :meth:`load` / :meth:`from_json`. The step builders are
    also available on the plan itself, where they add to the version added
    last. Free it with :meth:`destroy` (or a ``with`` block); otherwise it
    is freed when garbage-collected. Custom step callables are kept alive
    as long as the plan.
    """

    def __init__(self, name: str) -> None:
        self._ptr: Optional[int] = None
        self._callbacks: List[Any] = []
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._last: Optional[Version] = None
        out = ctypes.c_void_p()
        call(_lib.lib().migrate_plan_new, ctypes.byref(out), required(name, "name"))
        self._ptr = out.value

    @classmethod
    def _adopt(cls, ptr: Optional[int]) -> "Plan":
        plan = cls.__new__(cls)
        plan._ptr = ptr
        plan._callbacks = []
        plan._busy = 0
        plan._busy_lock = threading.Lock()
        plan._last = None
        count = plan.version_count
        if count:
            plan._last = plan.versions[count - 1]
        return plan

    @classmethod
    def load(cls, path: Any) -> "Plan":
        """Loads a JSON plan file, or a plan directory of one file per
        version (docs/plan-file.md). FileError when it cannot be read;
        PlanError naming the place ("versions[3].steps[2] ...", or
        "0007_add_jobs.json: steps[2] ..." in a directory), or JSONError with
        a line and column."""
        out = ctypes.c_void_p()
        call(_lib.lib().migrate_plan_load_file, ctypes.byref(out), required(path, "path"))
        return cls._adopt(out.value)

    @classmethod
    def load_format(cls, path: Any, format: str) -> "Plan":
        """Loads another tool's migration directory as a plan: ``format`` is
        "golang-migrate", "goose" or "flyway" (docs/switching.md). PlanError
        naming the file when a name or annotation is not the format's."""
        out = ctypes.c_void_p()
        call(
            _lib.lib().migrate_plan_load_dir_format,
            ctypes.byref(out),
            required(path, "path"),
            required(format, "format"),
        )
        return cls._adopt(out.value)

    def save_dir(self, path: Any) -> None:
        """Writes the plan as a libmigrate plan directory (created, or an
        empty one) with the same checksums: how another tool's directory is
        converted (docs/switching.md)."""
        call(_lib.lib().migrate_plan_save_dir, self._handle(), required(path, "path"))

    @classmethod
    def from_json(cls, plan: JSONLike) -> "Plan":
        """Loads a plan from the text of a plan file (or its dict form)."""
        out = ctypes.c_void_p()
        call(_lib.lib().migrate_plan_load_json, ctypes.byref(out), json_doc(plan, "plan"))
        return cls._adopt(out.value)

    # -- life cycle -------------------------------------------------------

    def _handle(self) -> int:
        if self._ptr is None:
            raise invalid("the plan was destroyed")
        return self._ptr

    def _writable(self) -> int:
        ptr = self._handle()
        if self._busy:
            raise invalid("the plan cannot change while a run uses it")
        return ptr

    def _enter_run(self) -> int:
        with self._busy_lock:
            ptr = self._handle()
            self._busy += 1
            return ptr

    def _leave_run(self) -> None:
        with self._busy_lock:
            self._busy -= 1

    def destroy(self) -> None:
        """Frees the plan now. Idempotent; refused while a run uses it."""
        with self._busy_lock:
            if self._ptr is None:
                return
            if self._busy:
                raise invalid("the plan cannot be destroyed while a run uses it")
            ptr, self._ptr = self._ptr, None
        _lib.lib().migrate_plan_destroy(ptr)
        self._callbacks.clear()

    close = destroy

    @property
    def destroyed(self) -> bool:
        """True once the plan was freed."""
        return self._ptr is None

    def __enter__(self) -> "Plan":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.destroy()

    def __del__(self) -> None:
        ptr = getattr(self, "_ptr", None)
        if ptr is None or getattr(self, "_busy", False):
            return
        try:
            self._ptr = None
            _lib.lib().migrate_plan_destroy(ptr)
        except Exception:  # interpreter shutdown: the library may be gone
            pass

    # -- contents ---------------------------------------------------------

    @property
    def name(self) -> str:
        """The plan's name (the history's namespace)."""
        return text(_lib.lib().migrate_plan_name(self._handle())) or ""

    @property
    def version_count(self) -> int:
        """The number of versions."""
        return int(_lib.lib().migrate_plan_version_count(self._handle()))

    def __len__(self) -> int:
        return self.version_count

    @property
    def versions(self) -> List[Version]:
        """The versions in insertion order."""
        lib = _lib.lib()
        ptr = self._handle()
        return [Version(self, lib.migrate_plan_version_at(ptr, i)) for i in range(self.version_count)]

    def __iter__(self) -> Iterator[Version]:
        return iter(self.versions)

    def version(self, id: int) -> Version:
        """The version with this id; KeyError when there is none."""
        for v in self.versions:
            if v.id == id:
                return v
        raise KeyError(id)

    def add_version(
        self,
        id: int,
        name: Optional[str] = None,
        *,
        transactional: bool = True,
        down: Any = None,
    ) -> Version:
        """Appends version ``id`` (1 and up; versions run in id order).
        ``transactional=False`` runs each step on its own; ``down`` gives
        the version an explicit down (a list of step documents)."""
        out = ctypes.c_void_p()
        call(
            _lib.lib().migrate_plan_add_version,
            self._writable(),
            uint(id, "version id", 64, minimum=1),
            cstr(name, "version name"),
            ctypes.byref(out),
        )
        v = Version(self, out.value or 0)
        if not transactional:
            v.set_transactional(False)
        if down is not None:
            v.set_down(down)
        self._last = v
        return v

    def _vptr(self) -> Tuple["Plan", int]:
        self._writable()
        if self._last is None:
            raise invalid("the plan has no version yet: call add_version() first")
        return self, self._last._ptr

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<libmigrate.Plan (destroyed)>"
        return f"<libmigrate.Plan {self.name!r}: {self.version_count} versions>"
