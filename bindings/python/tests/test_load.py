"""Finding and checking the shared library, and installing the package."""

from __future__ import annotations

import ctypes.util
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import libmigrate as lm
from libmigrate import _lib
from pipenv import wheelhouse

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, env_update: dict, cwd: Path, pythonpath: str = str(PACKAGE_ROOT)) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MIGRATE_LIBRARY"}
    env.update(env_update)
    env["PYTHONPATH"] = pythonpath
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def test_version_is_checked_and_reported() -> None:
    path = lm.load_library()
    assert path and lm.library_path() == path
    assert lm.version_number() // 10000 == _lib.ABI_MAJOR
    assert lm.version_number() >= _lib.MIN_VERSION_NUMBER
    major, minor, patch = (int(x) for x in lm.version_string().split("."))
    assert major * 10000 + minor * 100 + patch == lm.version_number()
    _lib._check_version(_lib.MIN_VERSION_NUMBER, "ok")
    for bad in (_lib.MIN_VERSION_NUMBER - 1, (_lib.ABI_MAJOR + 1) * 10000):
        with pytest.raises(lm.LibraryError, match="not compatible"):
            _lib._check_version(bad, "x")
    assert lm.state_name(lm.State.APPLIED) == "applied"


def test_library_from_environment(tmp_path: Path) -> None:
    lib = Path(lm.load_library()).resolve()
    code = """
        import libmigrate as lm
        print(lm.load_library()); print(lm.version_string())
    """
    # A file, or a directory holding it.
    for value in (str(lib), str(lib.parent)):
        r = run_python(code, {"MIGRATE_LIBRARY": value}, tmp_path)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split()[1] == lm.version_string()
    # A wrong setting is an error at first use, never silently another library.
    r = run_python("""
        import libmigrate as lm   # importing never loads
        try:
            lm.Plan("x")
        except lm.LibraryError as e:
            print("LibraryError:", e)
    """, {"MIGRATE_LIBRARY": str(tmp_path / "nope.so")}, tmp_path)
    assert r.returncode == 0 and "LibraryError:" in r.stdout and "nope.so" in r.stdout, r.stderr
    # Something that is not libmigrate.
    other = ctypes.util.find_library("sqlite3") or ctypes.util.find_library("m")
    if other:
        r = run_python("""
            import libmigrate as lm
            try:
                lm.load_library()
            except lm.LibraryError as e:
                print("LibraryError:", e)
        """, {"MIGRATE_LIBRARY": other}, tmp_path)
        assert "LibraryError:" in r.stdout and "not a usable libmigrate" in r.stdout, r.stdout + r.stderr


def test_driver_module_missing_is_named(tmp_path: Path) -> None:
    """The library alone, without its libmigrate-0/ beside it: SQLite works, a PostgreSQL or
    MongoDB URL says which module file it looked for; with the modules copied beside it, the
    open gets as far as connecting."""
    lib = Path(lm.load_library()).resolve()
    modules = lib.parent / "libmigrate-0"
    if not modules.is_dir():
        pytest.skip("this libmigrate has no driver modules beside it (a static or partial build)")
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(lib, alone / "libmigrate.so.0")
    code = """
        import libmigrate as lm
        with lm.Target.open("sqlite::memory:") as t:
            print("sqlite:", t.driver_name)
        for url in ("postgresql://127.0.0.1:1/none?connect_timeout=2",
                    "mongodb://127.0.0.1:1/none?serverSelectionTimeoutMS=200"):
            try:
                lm.Target.open(url).close()
            except lm.MigrateError as e:
                print("error:", e)
    """
    r = run_python(code, {"MIGRATE_LIBRARY": str(alone / "libmigrate.so.0")}, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "sqlite: sqlite" in r.stdout, r.stdout
    for name in ("postgres", "mongo"):
        if (modules / (name + ".so")).exists():
            assert "the %s driver is not installed" % name in r.stdout, r.stdout
            assert str(alone / "libmigrate-0" / (name + ".so")) in r.stdout, r.stdout
    shutil.copytree(modules, alone / "libmigrate-0")
    r = run_python(code, {"MIGRATE_LIBRARY": str(alone / "libmigrate.so.0")}, tmp_path)
    assert r.returncode == 0 and "not installed" not in r.stdout, r.stdout + r.stderr
    assert r.stdout.count("connect") >= 2, r.stdout


def _offline_build_args(tmp_path: Path) -> list:
    """pip's arguments to build without the package index: the environment's
    own build backend, or the wheelhouse python.install fills; none (pip's
    usual isolated build, online) otherwise."""
    if importlib.util.find_spec("scikit_build_core") is not None:
        return ["--no-index", "--no-build-isolation"]
    house = wheelhouse(False, tmp_path / "wheels")
    if house is not None:
        return ["--no-index", "--find-links", str(house)]
    return []


def test_pip_install_needs_no_compiler(tmp_path: Path) -> None:
    """pip installs the pure-Python package (-C wheel.cmake=false: no C
    build; offline when the build backend is at hand, else with pip's usual
    isolated build); the installed copy finds the library through
    MIGRATE_LIBRARY and runs a migration. test_install.py covers the
    installs that need no MIGRATE_LIBRARY."""
    target = tmp_path / "site"
    source = tmp_path / "src"
    shutil.copytree(PACKAGE_ROOT, source, ignore=shutil.ignore_patterns("tests", "__pycache__", "*.egg-info", "build"))
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
           "-C", "wheel.cmake=false"] + _offline_build_args(tmp_path)
    r = subprocess.run(pip + [str(source)], capture_output=True, text=True, timeout=600)
    if r.returncode != 0 and "No module named pip" in r.stderr:
        pytest.skip("pip is not available")
    if r.returncode != 0 and re.search(r"No matching distribution|Could not find a version|NewConnectionError|"
                                       r"Temporary failure in name resolution|Network is unreachable", r.stderr):
        pytest.skip("pip needs scikit-build-core from the package index, which cannot be reached")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (target / "libmigrate" / "py.typed").exists()
    assert not list(target.rglob("*.so")), "the package must not ship a compiled module"
    r = run_python(f"""
        import libmigrate as lm
        assert lm.__file__.startswith({str(target)!r}), lm.__file__
        plan = lm.Plan("installed")
        plan.add_version(1).create_table("t", [{{"name": "x", "type": "text"}}])
        with lm.Target.open("sqlite:{tmp_path}/i.db") as t:
            t.up(plan)
            print(t.check(plan).name)
    """, {"MIGRATE_LIBRARY": lm.load_library()}, tmp_path, pythonpath=str(target))
    assert r.returncode == 0 and r.stdout.strip() == "UP_TO_DATE", r.stdout + r.stderr
