"""Fixtures of the Python binding's tests.

Servers: PostgreSQL and FerretDB (the MongoDB-compatible test server) are
taken from the ctest fixtures when they run (MIGRATE_PG_URL_FILE and
MIGRATE_MONGO_URL_FILE, or MIGRATE_PG_URL / MIGRATE_MONGO_URL), and
otherwise started once per session with scripts/pg-server.sh and
scripts/ferretdb-server.sh. When a server cannot be had, its tests FAIL
under CI=true and are skipped, loudly, elsewhere.

The library: MIGRATE_LIBRARY when set, else the checkout's build/.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent
REPO = PACKAGE_ROOT.parent.parent
sys.path.insert(0, str(PACKAGE_ROOT))
sys.path.insert(0, str(HERE))

import libmigrate as lm  # noqa: E402

from dbhelpers import MongoDB, PostgresDB, SqliteDB, pg_fresh_database  # noqa: E402

CI = os.environ.get("CI") == "true"


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "postgres: needs the PostgreSQL test server")
    config.addinivalue_line("markers", "mongo: needs the MongoDB-compatible test server (FerretDB)")


def pytest_report_header(config: Any) -> str:
    try:
        path = lm.load_library()
        return f"libmigrate {lm.version_string()} from {path}; CI={'true' if CI else 'false'}"
    except lm.LibraryError as e:
        return f"libmigrate: NOT LOADED: {e}"


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """With MIGRATE_PYTEST_SKIP_RC set (by ctest), a run whose every test was
    skipped exits with that code, so ctest reports it as skipped."""
    code = os.environ.get("MIGRATE_PYTEST_SKIP_RC")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not code or reporter is None or exitstatus != 0:
        return
    stats = reporter.stats
    if stats.get("skipped") and not stats.get("passed") and not stats.get("failed") and not stats.get("error"):
        session.exitstatus = int(code)


def unavailable(message: str) -> None:
    """A missing server: a failure under CI, a loud skip elsewhere."""
    if CI:
        pytest.fail(f"{message} (CI=true: this is a failure)", pytrace=False)
    sys.stderr.write(f"\n*** {message}: these tests are SKIPPED ***\n")
    pytest.skip(f"{message} -- SKIPPED")


def _url_from_env(var: str, file_var: str) -> Optional[str]:
    if os.environ.get(var):
        return os.environ[var]
    path = os.environ.get(file_var)
    if path:
        try:
            url = Path(path).read_text().strip()
        except OSError:
            url = ""
        if not url:
            unavailable(f"no server: {file_var}={path} holds no URL (the ctest fixture did not start it)")
        return url
    return None


def script_env() -> dict:
    """The environment of the server scripts: without a sanitizer runtime
    preloaded for the binding (psql hangs with it)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


def db_name(request: Any, prefix: str) -> str:
    """A database name of our own for this test (and this process)."""
    raw = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")
    digest = hashlib.sha1(f"{request.node.nodeid}:{os.getpid()}".encode()).hexdigest()[:8]
    return f"{prefix}_{raw[:30]}_{digest}"


# ---- SQLite -----------------------------------------------------------------


@pytest.fixture
def sqlite_db(tmp_path: Path) -> SqliteDB:
    return SqliteDB(str(tmp_path / "test.db"))


# ---- PostgreSQL -------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: Any) -> Iterator[str]:
    if not lm._lib.has("migrate_target_open_postgres"):
        pytest.skip("this libmigrate was built without the PostgreSQL driver")
    url = _url_from_env("MIGRATE_PG_URL", "MIGRATE_PG_URL_FILE")
    if url:
        yield url
        return
    state = tmp_path_factory.mktemp("pg-server")
    script = REPO / "scripts" / "pg-server.sh"
    r = subprocess.run([str(script), "start", str(state)], capture_output=True, text=True, timeout=300,
                       env=script_env())
    url_file = state / "url"
    if r.returncode != 0 or not url_file.exists():
        unavailable(f"PostgreSQL did not start ({script}): {r.stderr.strip()[-2000:]}")
    try:
        yield url_file.read_text().strip()
    finally:
        subprocess.run([str(script), "stop", str(state)], capture_output=True, timeout=300, env=script_env())


@pytest.fixture
def pg_db(pg_server: str, request: Any) -> PostgresDB:
    try:
        url = pg_fresh_database(pg_server, db_name(request, "py"))
    except Exception as e:  # the server went away
        unavailable(f"the PostgreSQL server at {pg_server} does not answer: {e}")
    return PostgresDB(url)


# ---- MongoDB (FerretDB) -----------------------------------------------------


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: Any) -> Iterator[str]:
    if not lm._lib.has("migrate_target_open_mongo"):
        pytest.skip("this libmigrate was built without the MongoDB driver")
    url = _url_from_env("MIGRATE_MONGO_URL", "MIGRATE_MONGO_URL_FILE")
    if url:
        yield url
        return
    cache = Path(os.environ.get("MIGRATE_CACHE", Path.home() / ".cache" / "libmigrate"))
    binary = Path(os.environ.get("FERRETDB", cache / "bin" / "ferretdb"))
    if not os.access(binary, os.X_OK):
        unavailable(f"no FerretDB binary at {binary} (run scripts/install-ferretdb.sh)")
    state = tmp_path_factory.mktemp("ferretdb-server")
    script = REPO / "scripts" / "ferretdb-server.sh"
    r = subprocess.run([str(script), "start", str(state)], capture_output=True, text=True, timeout=300,
                       env=script_env())
    if r.returncode != 0 or not (state / "url").exists():
        unavailable(f"FerretDB did not start ({script}): {r.stderr.strip()[-2000:]}")
    try:
        yield (state / "url").read_text().strip()
    finally:
        subprocess.run([str(script), "stop", str(state)], capture_output=True, timeout=300, env=script_env())


@pytest.fixture
def mongo_db(mongo_server: str, request: Any) -> Iterator[MongoDB]:
    db = MongoDB(mongo_server.rstrip("/"), db_name(request, "py"))
    try:
        db.drop()
    except Exception as e:
        db.close()
        unavailable(f"the MongoDB server at {mongo_server} does not answer: {e}")
    try:
        yield db
    finally:
        db.close()


# ---- every backend ----------------------------------------------------------


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mongo", marks=pytest.mark.mongo),
    ]
)
def backend(request: Any) -> Any:
    """The same scenario on SQLite, PostgreSQL and FerretDB."""
    fixture = {"sqlite": "sqlite_db", "postgres": "pg_db", "mongo": "mongo_db"}[request.param]
    return request.getfixturevalue(fixture)
