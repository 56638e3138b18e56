"""The embedded SQLite database holds up under concurrent writers: 10 processes saving through the real save
path for a few seconds give no "database is locked" and no error (the full minute: bench/sqlite_writers.py,
results in docs/benchmarks.md)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ten_concurrent_writers_never_see_database_is_locked(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    result = subprocess.run(
        [sys.executable, "bench/sqlite_writers.py", "--writers", "10", "--seconds", "4",
         "--db", str(tmp_path / "writers.sqlite3")],
        cwd=ROOT, env={**env, "MEDIA_ROOT": str(tmp_path / "media")}, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["database_locked"] == 0, figures
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["saves"] >= 10, figures  # every writer got through, not just one
