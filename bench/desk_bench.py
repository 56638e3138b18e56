"""Benchmark of the finance bureau's desk (issue 17). Not a test: it prints figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jx_desk_bench .venv/bin/python bench/desk_bench.py --units 10 10000

For each size (units added to the same database under their own prefix, `seed_scale --rows 40`), with a reviewer in
charge of exactly those units:
- the 总览 (/evaluations/overview/?year=2024) through Django's test client in this process: queries, server time
  with the charts drawn (first view) and from the chart cache (later views, the median of five);
- the 汇总分析报告 as Word and PDF built as the background task builds it (reports.tasks.write_report), each in a
  fresh process: seconds, the process's peak resident memory (VmHWM) and that of the largest worker process it
  started (the PDF's parts, documents/summary.py; 0 when none).
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("COLLECTED_STATIC", "0")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    import django

    django.setup()
    from django.core import signals
    from django.db import close_old_connections, reset_queries

    # As in tests: one connection for the whole run, and its query log kept, so it can be read across requests.
    signals.request_started.disconnect(reset_queries)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)


def reviewer_for(prefix):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from evaluations import access
    from evaluations.models import ReviewerCharge, Unit

    user, _ = get_user_model().objects.get_or_create(username=f"bench-{prefix}")
    user.groups.add(Group.objects.get(name=access.REVIEWER))
    ReviewerCharge.objects.get_or_create(reviewer=user, unit=Unit.objects.get(code=f"{prefix}-ROOT"))
    return user


def seed(units, prefix):
    from django.core.management import call_command

    from evaluations.models import Unit

    if not Unit.objects.filter(code=f"{prefix}-ROOT").exists():
        started = time.perf_counter()
        call_command("seed_scale", units=units, rows=40, prefix=prefix, stdout=io.StringIO())
        print(f"  seeded {units} units in {time.perf_counter() - started:.0f} s", flush=True)


def overview(user):
    from django.core.cache import cache
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    url = "/evaluations/overview/?year=2024"
    cache.clear()
    reset_queries()  # the log is a deque of 9,000: full after seeding, where captured counts would read 0
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    cold = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    warm = []
    for _ in range(5):
        started = time.perf_counter()
        client.get(url)
        warm.append(time.perf_counter() - started)
    return {"queries": len(queries), "cold_ms": cold * 1000, "warm_ms": statistics.median(warm) * 1000,
            "bytes": len(response.content)}


def sample(user):
    """The 复核 sample suggested for these units (seed_scale's data: one year, random figures)."""
    from evaluations import sampling
    from evaluations.models import Evaluation

    started = time.perf_counter()
    ranked = sampling.rank(sampling.load_facts(Evaluation.objects.visible_to(user).filter(status="approved"), 2024), 2024)
    suggested = sampling.suggest(ranked)
    seconds = time.perf_counter() - started
    counts = {}
    for risk in ranked:
        for signal in risk.signals:
            counts[signal.code] = counts.get(signal.code, 0) + 1
    return {"approved": len(ranked), "seconds": round(seconds, 2), "suggested": len(suggested), "signals": counts,
            "first": [(r.facts.unit_code, r.points, r.reasons) for r in suggested[:3]]}


def report_in_fresh_process(prefix, kind, part_rows=None):
    code = f"""
import sys, time, json
sys.path.insert(0, {str(ROOT)!r})
from bench.desk_bench import setup
setup()
if {part_rows!r}:
    from evaluations.documents import summary
    summary.PDF_PART_ROWS = {part_rows!r}
from pathlib import Path
from reports.models import ExportJob
from reports.tasks import write_report
from bench.desk_bench import reviewer_for
job = ExportJob(kind={kind!r}, year=2024, requested_by=reviewer_for({prefix!r}))
path = Path('/tmp/desk-bench-report.' + ('pdf' if {kind!r} == 'report_pdf' else 'docx'))
started = time.perf_counter()
units = write_report(job, path)
seconds = time.perf_counter() - started
status = dict(line.split(':', 1) for line in open('/proc/self/status'))
import resource
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest worker process (PDF parts)
print(json.dumps({{'units': units, 'seconds': seconds, 'peak_mib': int(status['VmHWM'].split()[0]) / 1024,
                   'worker_peak_mib': children, 'bytes': path.stat().st_size}}))
"""
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, nargs="+", default=[10, 10000])
    parser.add_argument("--no-report", action="store_true")
    parser.add_argument("--one-part-baseline", action="store_true",
                        help="also the PDF printed as one document (the annex not cut in parts), for comparison")
    args = parser.parse_args()
    setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    for units in args.units:
        prefix = f"D{units}"
        print(f"{units} units", flush=True)
        seed(units, prefix)
        user = reviewer_for(prefix)
        print("  overview", json.dumps(overview(user)), flush=True)
        print("  sample", json.dumps(sample(user), ensure_ascii=False), flush=True)
        if not args.no_report:
            for kind in ("report_docx", "report_pdf"):
                print(f"  {kind}", json.dumps(report_in_fresh_process(prefix, kind)), flush=True)
            if args.one_part_baseline:
                print("  report_pdf as one document (baseline)",
                      json.dumps(report_in_fresh_process(prefix, "report_pdf", part_rows=10**9)), flush=True)
        print("  load", os.getloadavg(), flush=True)


if __name__ == "__main__":
    main()
