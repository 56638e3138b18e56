"""SQLite under concurrent writers (issue 7): N processes (as gunicorn workers would be) each save an evaluation
over and over through the real save path (editing.save_content: version check, rows, field history, scores)
for S seconds, against one SQLite file in WAL mode. Prints one JSON line: saves, errors, "database is locked"
count and latencies. tests/test_sqlite_concurrency.py runs it briefly; the full minute:

    flock /tmp/bench.lock .venv/bin/python bench/sqlite_writers.py --writers 10 --seconds 60
"""

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup(db_path):
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def prepare(db_path, writers):
    setup(db_path)
    from django.core.management import call_command

    from evaluations import access
    from tests.factories import make_evaluation, make_unit, make_user

    call_command("migrate", verbosity=0)
    jobs = []
    for n in range(writers):
        unit = make_unit(f"并发单位{n}")
        evaluation = make_evaluation(unit=unit, extra_rows=20)
        user = make_user(access.FILLER, units=[unit])
        jobs.append((evaluation.pk, user.pk))
    return jobs


def write(db_path, evaluation_id, user_id, seconds, ready, results):
    setup(db_path)
    from django.contrib.auth import get_user_model
    from django.db import OperationalError

    from evaluations import editing
    from evaluations.models import Evaluation

    user = get_user_model().objects.get(pk=user_id)
    saves, locked, errors, latencies = 0, 0, [], []
    ready.wait()  # every writer is up and set up (a slow machine takes seconds) before the clock starts
    deadline = time.time() + seconds
    n = 0
    while time.time() < deadline:
        n += 1
        began = time.perf_counter()
        try:
            evaluation = Evaluation.objects.with_document_data().get(pk=evaluation_id)
            old_note = evaluation.budget_note
            evaluation.budget_note = f"第 {n} 次保存"
            edits = [(evaluation, {"budget_note": old_note})]
            for row in list(evaluation.results.all())[:5]:
                if row.is_unit_row:
                    old = row.actual_value
                    row.actual_value = Decimal(n % 10 + 1)
                    edits.append((row, {"actual_value": old}))
            editing.save_content(evaluation, by=user, expected_version=evaluation.version, edits=edits)
            saves += 1
        except OperationalError as error:
            if "locked" in str(error):
                locked += 1
            else:
                errors.append(repr(error))
        except Exception as error:  # noqa: BLE001 - every failure is counted and shown
            errors.append(repr(error))
        latencies.append(time.perf_counter() - began)
    results.put({"saves": saves, "locked": locked, "errors": errors[:5], "error_count": len(errors),
                 "latencies": latencies})


def run(writers, seconds, db_path):
    jobs = prepare(db_path, writers)
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    ready = context.Barrier(len(jobs))
    processes = [context.Process(target=write, args=(db_path, e, u, seconds, ready, results)) for e, u in jobs]
    for p in processes:
        p.start()
    outcomes = [results.get(timeout=seconds + 120) for _ in processes]
    for p in processes:
        p.join()
    latencies = sorted(x for o in outcomes for x in o["latencies"])

    def pct(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1) if latencies else None

    saves = sum(o["saves"] for o in outcomes)
    return {
        "writers": writers, "seconds": seconds, "saves": saves, "saves_per_second": round(saves / seconds, 1),
        "database_locked": sum(o["locked"] for o in outcomes), "errors": sum(o["error_count"] for o in outcomes),
        "error_samples": [e for o in outcomes for e in o["errors"]][:5],
        "p50_ms": pct(0.5), "p95_ms": pct(0.95), "max_ms": pct(1.0),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--db", help="SQLite file (default: a new one in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(args.writers, args.seconds, args.db or str(Path(tmp) / "writers.sqlite3")),
                         ensure_ascii=False))


if __name__ == "__main__":
    main()
