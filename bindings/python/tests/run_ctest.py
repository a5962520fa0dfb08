"""Runs the Python binding's pytest suite for ctest (tests/python.cmake).

Arguments are pytest's. Exits 77 (ctest: skipped) when pytest is not
installed or when every selected test was skipped -- except under CI=true,
where a missing pytest fails (a missing server fails in the fixtures).
"""

import os
import sys

try:
    import pytest
except ImportError:
    message = f"pytest is not installed for {sys.executable} (apt-get install python3-pytest)"
    if os.environ.get("CI") == "true":
        print(f"{message}: FAILED (CI=true)")
        sys.exit(1)
    print(f"{message}: the Python tests are SKIPPED")
    sys.exit(77)

os.environ.setdefault("MIGRATE_PYTEST_SKIP_RC", "77")
sys.exit(pytest.main(sys.argv[1:]))
