"""pip install as a user does it, each in a fresh virtual environment:

- the pure-Python package over a library installed with cmake --install,
  found through pkg-config (PKG_CONFIG_PATH) or the loader (LD_LIBRARY_PATH);
- ``pip install bindings/python``, which builds libmigrate from the checkout
  and bundles it in the package.

Neither sets MIGRATE_LIBRARY. ctest runs this as python.install (label
install) with MIGRATE_BUILD_DIR, MIGRATE_CMAKE and MIGRATE_WHEELHOUSE set;
the build backend's wheels are downloaded once into the wheelhouse.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict

import pytest

from pipenv import clean_env, make_venv, pip_install, skip_or_fail, wheelhouse

PACKAGE_ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux paths and loader")

# Runs a plan on SQLite, checks the table with Python's own sqlite3, checks
# the PostgreSQL and MongoDB modules load, and prints the file the dynamic
# loader mapped for libmigrate.
PLAN = textwrap.dedent("""
    import sqlite3, sys
    import libmigrate as lm
    plan = lm.Plan("installed")
    plan.add_version(1, "jobs").create_table("jobs", [{"name": "id", "type": "bigint"}], primary_key=["id"])
    db = sys.argv[1]
    with lm.Target.open("sqlite:" + db) as t:
        t.up(plan)
        assert t.check(plan).name == "UP_TO_DATE"
    rows = sqlite3.connect(db).execute("select name from sqlite_master where type='table' and name='jobs'")
    assert rows.fetchall() == [("jobs",)]
    # The driver modules load from beside the library (a closed port: the
    # open gets as far as connecting).
    for url in ("postgresql://127.0.0.1:1/none?connect_timeout=2",
                "mongodb://127.0.0.1:1/none?serverSelectionTimeoutMS=200&connectTimeoutMS=200"):
        try:
            lm.Target.open(url).close()
        except lm.MigrateError as e:
            assert "connect" in str(e) and "not installed" not in str(e), str(e)
        else:
            raise AssertionError(url + " opened")
    maps = [line.split()[-1] for line in open("/proc/self/maps") if "libmigrate.so" in line]
    print(sorted(set(maps))[0])
""")


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> Path:
    found = wheelhouse(True, tmp_path_factory.mktemp("wheels"))
    if found is None:
        skip_or_fail("the build backend (scikit-build-core) is neither cached nor downloadable")
    return found


def run_plan(python: Path, cwd: Path, env: Dict[str, str]) -> Path:
    r = subprocess.run([str(python), "-c", PLAN, str(cwd / "plan.db")], capture_output=True, text=True,
                       env=env, cwd=cwd, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return Path(r.stdout.strip())


def test_pure_package_over_installed_prefix(tmp_path: Path, house: Path) -> None:
    build = os.environ.get("MIGRATE_BUILD_DIR")
    if not build:
        pytest.skip("MIGRATE_BUILD_DIR (a configured and built tree) is not set")
    prefix = tmp_path / "prefix"
    cmake = os.environ.get("MIGRATE_CMAKE", "cmake")
    r = subprocess.run([cmake, "--install", build, "--prefix", str(prefix)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    pcs = list(prefix.glob("lib*/**/pkgconfig/libmigrate.pc"))
    assert len(pcs) == 1, pcs
    libdir = pcs[0].parent.parent
    if shutil.which("pkg-config") is None:
        skip_or_fail("pkg-config is not installed")

    python = make_venv(tmp_path / "venv")
    # A copy, as an sdist unpacks: the pure package never needs the C sources.
    source = tmp_path / "src"
    shutil.copytree(PACKAGE_ROOT, source, ignore=shutil.ignore_patterns("tests", "__pycache__", "build"))
    pip_install(python, ["-C", "wheel.cmake=false", str(source)], house, clean_env())
    site = tmp_path / "venv" / "lib"
    assert not list(site.rglob("libmigrate/*.so*")), "the pure package must not bundle the library"

    # Through pkg-config, as after cmake --install to a prefix on PKG_CONFIG_PATH ...
    work = tmp_path / "pc"
    work.mkdir()
    loaded = run_plan(python, work, clean_env(PKG_CONFIG_PATH=str(libdir / "pkgconfig")))
    assert loaded.resolve().parent == libdir.resolve(), loaded
    # ... or through the loader's path alone.
    work = tmp_path / "ld"
    work.mkdir()
    loaded = run_plan(python, work, clean_env(LD_LIBRARY_PATH=str(libdir)))
    assert loaded.resolve().parent == libdir.resolve(), loaded
    # Neither: a clear error naming what was tried.
    r = subprocess.run([str(python), "-c", "import libmigrate as lm\ntry:\n lm.load_library()\n"
                        "except lm.LibraryError as e:\n print(e)"], capture_output=True, text=True,
                       env=clean_env(), cwd=work, timeout=60)
    if "not found" in r.stdout:  # unless a libmigrate is installed system-wide
        for searched in ("bundled", "pkg-config", "find_library", "libmigrate.so.0"):
            assert searched in r.stdout, r.stdout


def test_bundled_build_from_checkout(tmp_path: Path, house: Path) -> None:
    if shutil.which("cmake") is None and not os.environ.get("MIGRATE_CMAKE"):
        skip_or_fail("cmake is not installed")
    python = make_venv(tmp_path / "venv")
    env = clean_env(CMAKE_BUILD_PARALLEL_LEVEL=os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2"))
    if os.environ.get("MIGRATE_CMAKE"):
        # The cmake that configured this tree, should PATH lack one.
        env["PATH"] = str(Path(os.environ["MIGRATE_CMAKE"]).parent) + os.pathsep + env.get("PATH", "")
    # What a user types in a checkout: pip install bindings/python.
    pip_install(python, [str(PACKAGE_ROOT)], house, env)
    bundled = list((tmp_path / "venv" / "lib").glob("python*/site-packages/libmigrate/libmigrate.so.0"))
    assert len(bundled) == 1, "the bundled build installed no libmigrate.so.0"
    loaded = run_plan(python, tmp_path, clean_env())
    assert loaded.resolve() == bundled[0].resolve(), loaded
