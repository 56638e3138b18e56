"""The embedded SQLite database holds up under concurrent writers: 10 processes saving through the real save
path for a few seconds give no "database is locked" and no error (the full minute: bench/sqlite_writers.py,
results in docs/benchmarks.md)."""

import json
import sys

import pytest

from tests.machine import project_process

pytestmark = pytest.mark.multiprocess


def test_ten_concurrent_writers_never_see_database_is_locked(tmp_path):
    result = project_process(
        [sys.executable, "bench/sqlite_writers.py", "--writers", "10", "--seconds", "4",
         "--db", str(tmp_path / "writers.sqlite3")],
        {"SECRET_KEY": "sqlite-writers", "MEDIA_ROOT": str(tmp_path / "media")}, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["database_locked"] == 0, figures
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["saves"] >= 10, figures  # every writer got through, not just one
