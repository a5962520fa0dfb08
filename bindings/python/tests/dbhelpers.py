"""Independent access to the test databases, to assert their final state.

The tests never trust libmigrate's own answers about what it did: they
query the database. SQLite through Python's sqlite3 module; PostgreSQL
through libpq and MongoDB (FerretDB) through libmongoc, both with ctypes
(they are the client libraries libmigrate itself is built with), so the
suite needs no Python database packages.

Each backend offers the same small inspector interface used by the
portable scenarios: exists(table), indexes(table), insert(table, rows),
rows(table, columns), plus its own query helpers.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import sqlite3
from ctypes import c_bool, c_char_p, c_int, c_size_t, c_ssize_t, c_void_p
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple


class SqliteDB:
    """A SQLite database file."""

    name = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self.url = f"sqlite:{path}"

    def conn(self) -> sqlite3.Connection:
        c = sqlite3.connect(self.path)
        c.row_factory = sqlite3.Row
        return c

    def query(self, sql: str, params: Sequence[Any] = ()) -> List[Tuple[Any, ...]]:
        with self.conn() as c:
            return [tuple(r) for r in c.execute(sql, params).fetchall()]

    def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def execute(self, sql: str) -> None:
        c = self.conn()
        try:
            c.executescript(sql)
            c.commit()
        finally:
            c.close()

    def exists(self, table: str) -> bool:
        return bool(self.value("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)))

    def columns(self, table: str) -> Dict[str, Tuple[str, int, Any, int]]:
        """name -> (declared type, notnull, default, pk position)."""
        return {r[1]: (r[2], r[3], r[4], r[5]) for r in self.query(f'PRAGMA table_info("{table}")')}

    def indexes(self, table: str) -> Set[str]:
        return {
            r[0]
            for r in self.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,))
            if not r[0].startswith("sqlite_autoindex")
        }

    def index_sql(self, name: str) -> Optional[str]:
        return self.value("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (name,))

    def insert(self, table: str, rows: Iterable[Dict[str, Any]], json_cols: Sequence[str] = ()) -> None:
        c = self.conn()
        try:
            for row in rows:
                cols = list(row)
                vals = [json.dumps(row[k]) if k in json_cols and row[k] is not None else row[k] for k in cols]
                names = ", ".join(f'"{k}"' for k in cols)
                c.execute(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(cols))})', vals)
            c.commit()
        finally:
            c.close()

    def rows(self, table: str, columns: Sequence[str], order: str = "id") -> List[Tuple[Any, ...]]:
        names = ", ".join(f'"{k}"' for k in columns)
        return self.query(f'SELECT {names} FROM "{table}" ORDER BY "{order}"')


# ---- PostgreSQL through libpq ---------------------------------------------


class _PQ:
    def __init__(self) -> None:
        lib = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")
        for name, res, args in (
            ("PQconnectdb", c_void_p, [c_char_p]),
            ("PQstatus", c_int, [c_void_p]),
            ("PQerrorMessage", c_char_p, [c_void_p]),
            ("PQexecParams", c_void_p, [c_void_p, c_char_p, c_int, c_void_p, ctypes.POINTER(c_char_p), c_void_p, c_void_p, c_int]),
            ("PQresultStatus", c_int, [c_void_p]),
            ("PQresultErrorMessage", c_char_p, [c_void_p]),
            ("PQntuples", c_int, [c_void_p]),
            ("PQnfields", c_int, [c_void_p]),
            ("PQgetvalue", c_char_p, [c_void_p, c_int, c_int]),
            ("PQgetisnull", c_int, [c_void_p, c_int, c_int]),
            ("PQclear", None, [c_void_p]),
            ("PQfinish", None, [c_void_p]),
            ("PQexec", c_void_p, [c_void_p, c_char_p]),
        ):
            fn = getattr(lib, name)
            fn.restype = res
            fn.argtypes = args
        self.lib = lib


_pq: Optional[_PQ] = None


def libpq() -> Any:
    global _pq
    if _pq is None:
        _pq = _PQ()
    return _pq.lib


class PgError(Exception):
    pass


def pg_exec(conn: int, sql: str, params: Sequence[Any] = ()) -> List[Tuple[Optional[str], ...]]:
    """Runs one statement on a PGconn * (an int); rows as tuples of text."""
    pq = libpq()
    values = (c_char_p * max(len(params), 1))(
        *[None if p is None else str(p).encode() for p in params]
    )
    res = pq.PQexecParams(c_void_p(conn), sql.encode(), len(params), None, values, None, None, 0)
    try:
        status = pq.PQresultStatus(res)
        if status not in (1, 2):  # PGRES_COMMAND_OK, PGRES_TUPLES_OK
            msg = pq.PQresultErrorMessage(res) if res else pq.PQerrorMessage(c_void_p(conn))
            raise PgError((msg or b"").decode(errors="replace").strip())
        out = []
        for r in range(pq.PQntuples(res)):
            out.append(
                tuple(
                    None if pq.PQgetisnull(res, r, f) else pq.PQgetvalue(res, r, f).decode()
                    for f in range(pq.PQnfields(res))
                )
            )
        return out
    finally:
        pq.PQclear(res)


class PgConn:
    """A libpq connection of our own."""

    def __init__(self, url: str) -> None:
        pq = libpq()
        self.ptr = pq.PQconnectdb(url.encode())
        if pq.PQstatus(c_void_p(self.ptr)) != 0:
            msg = pq.PQerrorMessage(c_void_p(self.ptr)).decode(errors="replace")
            pq.PQfinish(c_void_p(self.ptr))
            self.ptr = None
            raise PgError(f"cannot connect: {msg}")

    def query(self, sql: str, params: Sequence[Any] = ()) -> List[Tuple[Optional[str], ...]]:
        return pg_exec(self.ptr, sql, params)

    def close(self) -> None:
        if self.ptr:
            libpq().PQfinish(c_void_p(self.ptr))
            self.ptr = None

    def __enter__(self) -> "PgConn":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def pg_fresh_database(server_url: str, name: str) -> str:
    """(Re)creates database `name` on the server; returns its URL."""
    with PgConn(server_url) as c:
        c.query(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.query(f'CREATE DATABASE "{name}"')
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


class PostgresDB:
    """A database of its own on the test server."""

    name = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, sql: str, params: Sequence[Any] = ()) -> List[Tuple[Optional[str], ...]]:
        with PgConn(self.url) as c:
            return c.query(sql, params)

    def value(self, sql: str, params: Sequence[Any] = ()) -> Optional[str]:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def execute(self, sql: str) -> None:
        with PgConn(self.url) as c:
            c.query(sql)

    def exists(self, table: str) -> bool:
        return self.value("SELECT to_regclass($1) IS NOT NULL", ['"' + table + '"']) == "t"

    def columns(self, table: str) -> Dict[str, Tuple[Optional[str], ...]]:
        """name -> (data_type, is_nullable, column_default, udt_name)."""
        return {
            r[0]: r[1:]
            for r in self.query(
                "SELECT column_name, data_type, is_nullable, column_default, udt_name "
                "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
                [table],
            )
        }

    def indexes(self, table: str) -> Set[str]:
        return {
            r[0]
            for r in self.query("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1", [table])
            if not r[0].endswith("_pkey")
        }

    def enum_values(self, name: str) -> List[str]:
        return [
            r[0]
            for r in self.query(
                "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
                "WHERE t.typname = $1 ORDER BY e.enumsortorder",
                [name],
            )
        ]

    def insert(self, table: str, rows: Iterable[Dict[str, Any]], json_cols: Sequence[str] = ()) -> None:
        with PgConn(self.url) as c:
            for row in rows:
                cols = list(row)
                vals = [json.dumps(row[k]) if k in json_cols and row[k] is not None else row[k] for k in cols]
                names = ", ".join(f'"{k}"' for k in cols)
                marks = ", ".join(f"${i + 1}" for i in range(len(cols)))
                c.query(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', vals)

    def rows(self, table: str, columns: Sequence[str], order: str = "id") -> List[Tuple[Any, ...]]:
        names = ", ".join(f'"{k}"' for k in columns)
        out = []
        for (doc,) in self.query(f'SELECT row_to_json(t) FROM (SELECT {names} FROM "{table}" ORDER BY "{order}") t'):
            d = json.loads(doc or "{}")
            out.append(tuple(d[k] for k in columns))
        return out


# ---- MongoDB through libmongoc ---------------------------------------------


class _Mongo:
    def __init__(self) -> None:
        # mongo-c-driver 2.x names its libraries libbson2 and libmongoc2.
        self.bson = ctypes.CDLL(
            ctypes.util.find_library("bson2") or ctypes.util.find_library("bson-1.0") or "libbson-1.0.so.0"
        )
        self.mongoc = ctypes.CDLL(
            ctypes.util.find_library("mongoc2") or ctypes.util.find_library("mongoc-1.0") or "libmongoc-1.0.so.0"
        )
        for lib, name, res, args in (
            (self.mongoc, "mongoc_init", None, []),
            (self.mongoc, "mongoc_client_new", c_void_p, [c_char_p]),
            (self.mongoc, "mongoc_client_destroy", None, [c_void_p]),
            (self.mongoc, "mongoc_client_set_error_api", c_bool, [c_void_p, c_int]),
            (self.mongoc, "mongoc_client_command_simple", c_bool, [c_void_p, c_char_p, c_void_p, c_void_p, c_void_p, c_void_p]),
            (self.mongoc, "mongoc_database_command_simple", c_bool, [c_void_p, c_void_p, c_void_p, c_void_p, c_void_p]),
            (self.bson, "bson_new_from_json", c_void_p, [c_char_p, c_ssize_t, c_void_p]),
            (self.bson, "bson_destroy", None, [c_void_p]),
            (self.bson, "bson_as_relaxed_extended_json", c_void_p, [c_void_p, ctypes.POINTER(c_size_t)]),
            (self.bson, "bson_free", None, [c_void_p]),
        ):
            fn = getattr(lib, name)
            fn.restype = res
            fn.argtypes = args
        self.mongoc.mongoc_init()


_mongo: Optional[_Mongo] = None


def mongo_libs() -> _Mongo:
    global _mongo
    if _mongo is None:
        _mongo = _Mongo()
    return _mongo


class MongoError(Exception):
    pass


def _bson_message(err: Any) -> str:
    """The message of a bson_error_t (after its two uint32 fields)."""
    return err.raw[8:].split(b"\0")[0].decode(errors="replace")


def _bson(m: _Mongo, doc: Any) -> int:
    data = json.dumps(doc).encode()
    err = ctypes.create_string_buffer(512)
    ptr = m.bson.bson_new_from_json(data, len(data), err)
    if not ptr:
        raise MongoError(f"bad JSON {data!r}: {_bson_message(err)}")
    return ptr


def _run(m: _Mongo, fn: Any, *args: Any, doc: Any) -> Dict[str, Any]:
    """Runs a command with a reply bson_t on 128-byte aligned memory."""
    cmd = _bson(m, doc)
    space = ctypes.create_string_buffer(512)
    reply = (ctypes.addressof(space) + 127) & ~127
    err = ctypes.create_string_buffer(512)
    try:
        ok = fn(*args, c_void_p(cmd), None, c_void_p(reply), err)
        js = m.bson.bson_as_relaxed_extended_json(c_void_p(reply), None)
        out = json.loads(ctypes.string_at(js).decode()) if js else {}
        if js:
            m.bson.bson_free(js)
        m.bson.bson_destroy(c_void_p(reply))
        if not ok:
            raise MongoError(f"command {doc} failed: {_bson_message(err)}")
        return out
    finally:
        m.bson.bson_destroy(c_void_p(cmd))


def mongo_database_command(database_ptr: int, doc: Any) -> Dict[str, Any]:
    """A command through a mongoc_database_t * (a custom step's native handle)."""
    m = mongo_libs()
    return _run(m, m.mongoc.mongoc_database_command_simple, c_void_p(database_ptr), doc=doc)


class MongoClient:
    """A libmongoc client of our own."""

    def __init__(self, url: str) -> None:
        m = self.m = mongo_libs()
        self.ptr = m.mongoc.mongoc_client_new(url.encode())
        if not self.ptr:
            raise MongoError(f"bad URL {url}")
        m.mongoc.mongoc_client_set_error_api(c_void_p(self.ptr), 2)

    def command(self, db: str, doc: Any) -> Dict[str, Any]:
        return _run(self.m, self.m.mongoc.mongoc_client_command_simple, c_void_p(self.ptr), db.encode(), doc=doc)

    def close(self) -> None:
        if self.ptr:
            self.m.mongoc.mongoc_client_destroy(c_void_p(self.ptr))
            self.ptr = None


class MongoDB:
    """A database of its own on the test server."""

    name = "mongo"

    def __init__(self, server_url: str, db: str) -> None:
        self.server_url = server_url
        self.db = db
        self.url = f"{server_url}/{db}?serverSelectionTimeoutMS=5000&connectTimeoutMS=5000"
        self.client = MongoClient(self.url)

    def close(self) -> None:
        self.client.close()

    def command(self, doc: Any) -> Dict[str, Any]:
        return self.client.command(self.db, doc)

    def drop(self) -> None:
        self.command({"dropDatabase": 1})

    def collections(self) -> Set[str]:
        reply = self.command({"listCollections": 1, "nameOnly": True})
        return {c["name"] for c in reply["cursor"]["firstBatch"]}

    def exists(self, table: str) -> bool:
        return table in self.collections()

    def index_specs(self, table: str) -> Dict[str, Dict[str, Any]]:
        if not self.exists(table):
            return {}
        reply = self.command({"listIndexes": table})
        return {i["name"]: i for i in reply["cursor"]["firstBatch"]}

    def indexes(self, table: str) -> Set[str]:
        return {n for n in self.index_specs(table) if n != "_id_" and not n.endswith("_pkey")}

    def find(self, table: str, filter: Optional[Dict[str, Any]] = None, sort: Optional[Dict[str, int]] = None) -> List[Dict[str, Any]]:
        cmd: Dict[str, Any] = {"find": table, "filter": filter or {}, "batchSize": 100000}
        if sort:
            cmd["sort"] = sort
        return self.command(cmd)["cursor"]["firstBatch"]

    def count(self, table: str, filter: Optional[Dict[str, Any]] = None) -> int:
        return int(self.command({"count": table, "query": filter or {}})["n"])

    def insert(self, table: str, rows: Iterable[Dict[str, Any]], json_cols: Sequence[str] = ()) -> None:
        docs = [dict(r) for r in rows]
        for d in docs:
            d.setdefault("_id", d.get("id"))
        reply = self.command({"insert": table, "documents": docs})
        if reply.get("writeErrors"):
            raise MongoError(f"insert into {table}: {reply['writeErrors']}")

    def rows(self, table: str, columns: Sequence[str], order: str = "id") -> List[Tuple[Any, ...]]:
        return [tuple(d.get(k) for k in columns) for d in self.find(table, sort={order: 1})]
