"""Switching from goose (docs/switching.md) through the binding: the real
goose (installed by scripts/install-deps.sh) applies the first versions of
tests/foreign/goose, then Plan.load_format and Target.adopt take over."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import libmigrate as lm
from dbhelpers import PostgresDB

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[3]
GOOSE_DIR = ROOT / "tests" / "foreign" / "goose"
GOOSE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "libmigrate" / "bin" / "goose"
VERSIONS = [20240101090000, 20240102090000, 20240103090000, 20240104090000]


def goose() -> str:
    if not GOOSE.exists():
        message = f"goose is not installed at {GOOSE} (scripts/install-deps.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: a missing tool is a failure)")
        pytest.skip(message)
    return str(GOOSE)


def test_goose_takeover(pg_db: PostgresDB, tmp_path: Path) -> None:
    url = pg_db.url + ("&" if "?" in pg_db.url else "?") + "sslmode=disable"
    subprocess.run([goose(), "-dir", str(GOOSE_DIR), "postgres", url, "up-to", str(VERSIONS[1])], check=True,
                   capture_output=True)
    plan = lm.Plan.load_format(GOOSE_DIR, "goose")
    assert [v.id for v in plan.versions] == VERSIONS
    with lm.Target.open(pg_db.url) as t:
        assert t.adopt(plan, "goose") == 2
        assert t.adopt(plan, "goose") == 0  # the plan has a history now: nothing more is read
        t.up(plan)
    rows = pg_db.query("SELECT version, state FROM _migrate_history ORDER BY version")
    assert rows == [(str(v), "applied") for v in VERSIONS]
    assert pg_db.value("SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_status_idx'") == "1"
    # Converted: the same checksums.
    plan.save_dir(tmp_path / "plan")
    again = lm.Plan.load(tmp_path / "plan")
    assert [v.checksum for v in again.versions] == [v.checksum for v in plan.versions]
    with pytest.raises(lm.PlanError, match="no -- \\+goose Up annotation"):
        (tmp_path / "bad").mkdir()
        (tmp_path / "bad" / "1_x.sql").write_text("SELECT 1;\n")
        lm.Plan.load_format(tmp_path / "bad", "goose")
