"""Installing the package with pip for the tests: a local wheelhouse for
the build backend (scikit-build-core), so that only its first fill needs the
package index, and fresh virtual environments."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path
from typing import Dict, List, Optional

import pytest

CI = os.environ.get("CI") == "true"
NETWORK_ERRORS = (r"No matching distribution|Could not find a version|NewConnectionError|"
                  r"Temporary failure in name resolution|Network is unreachable|Connection refused")
#: What pip needs to build the package (pyproject.toml's build-system.requires).
BUILD_REQUIRES = ["scikit-build-core>=0.10"]


def wheelhouse(fill: bool, fallback: Path) -> Optional[Path]:
    """The wheel cache (MIGRATE_WHEELHOUSE, set by ctest to the build tree's
    python-wheels/, else ``fallback``) holding the build backend, filled from
    the package index when ``fill`` and empty; None when it cannot be."""
    where = Path(os.environ.get("MIGRATE_WHEELHOUSE") or fallback)
    if list(where.glob("scikit_build_core-*.whl")):
        return where
    if not fill:
        return None
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(where)] + BUILD_REQUIRES,
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        if re.search(NETWORK_ERRORS, r.stderr) or "No module named pip" in r.stderr:
            return None
        raise AssertionError(r.stdout + r.stderr)
    return where


def skip_or_fail(reason: str) -> None:
    if CI:
        pytest.fail(f"{reason} (CI=true)")
    pytest.skip(reason)


def clean_env(**update: str) -> Dict[str, str]:
    """The environment of a user who set nothing for libmigrate."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MIGRATE_LIBRARY", "PYTHONPATH", "PKG_CONFIG_PATH", "LD_LIBRARY_PATH")}
    env.update(update)
    return env


def make_venv(where: Path) -> Path:
    """A fresh virtual environment with pip; returns its python."""
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(where)
    except (subprocess.CalledProcessError, OSError) as e:
        skip_or_fail(f"python3 -m venv with pip fails here ({e}): apt-get install python3-venv")
    return where / "bin" / "python"


def pip_install(python: Path, args: List[str], house: Path, env: Dict[str, str]) -> None:
    r = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(house)]
                       + args, capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
