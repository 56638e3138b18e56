"""The summary export with projects (issue 16), not a test: prints a Markdown table for docs/benchmarks.md.

    .venv/bin/python bench/project_summary_bench.py                       # 3,000 units × 10 projects × 15 rows
    .venv/bin/python bench/project_summary_bench.py --units 300            # a tenth of it

The database (SQLite file in a temporary folder, or DATABASE_URL) is built with `seed_scale --projects`, then each
measurement runs in a fresh process (its own peak resident memory), holding /tmp/bench.lock as export_bench.py does:
  ours   evaluations.spreadsheets.summary.write_summary: the four sheets (汇总, 指标明细, 项目, 项目指标)
  floor  the same four queries' rows written by a bare XlsxWriter constant_memory loop, nothing else
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import export_bench  # noqa: E402  (the lock, the child runner, the machine's description)

ROOT, YEAR = export_bench.ROOT, export_bench.YEAR


def child(kind, out):
    export_bench.setup_django()
    from django.db import connection

    connection.ensure_connection()
    baseline = export_bench.peak_mb()
    start = time.perf_counter()
    if kind == "ours":
        from evaluations.spreadsheets import summary

        summary.write_summary(out, YEAR)
    else:
        floor(out)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": export_bench.peak_mb(), "baseline_mb": baseline,
                      "file_mb": Path(out).stat().st_size / 1024 / 1024}))


def floor(out):
    """The least an export of these rows can cost: the summary's four queries, values written as they come."""
    import xlsxwriter
    from django.db.models import OuterRef, Subquery

    from evaluations.models import Evaluation, Framework, IndicatorResult, Unit
    from evaluations.spreadsheets import summary

    framework = Framework.objects.get(year=YEAR)
    units = Unit.objects.all()
    evaluation = Evaluation.objects.filter(unit=OuterRef("pk"), framework=framework)
    streams = [
        units.annotate(evaluation_id=Subquery(evaluation.values("pk")[:1]),
                       evaluation_status=Subquery(evaluation.values("status")[:1]))
        .order_by("code").values_list("code", "name", "evaluation_id", "evaluation_status")
        .iterator(chunk_size=summary.CHUNK),
        IndicatorResult.objects.filter(evaluation__framework=framework).order_by("evaluation__unit__code")
        .values_list(*summary.DETAIL_FIELDS).iterator(chunk_size=summary.CHUNK),
        *summary.project_rows(framework, units),
    ]
    wb = xlsxwriter.Workbook(out, {"constant_memory": True})
    for stream in streams:
        ws = wb.add_worksheet()
        for n, row in enumerate(stream):
            ws.write_row(n, 0, [float(v) if v is not None and not isinstance(v, str | int) else v for v in row])
    wb.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--rows", type=int, default=40, help="rows of each 部门整体 evaluation")
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--project-rows", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=2, help="measurements of each kind (the best is kept)")
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="jx-project-bench-"))
    env = dict(os.environ, SECRET_KEY="bench-only", HTTPS="0")
    if "DATABASE_URL" not in env:
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.processor() or export_bench.cpu_name()}, "
          f"{export_bench.memory_gb():.0f} GB RAM, Python {platform.python_version()}, "
          f"database {env['DATABASE_URL'].split(':')[0]}", flush=True)
    with export_bench.bench_lock():
        export_bench.reset_database(env)
        t = time.perf_counter()
        subprocess.run([sys.executable, "manage.py", "seed_scale", "--units", str(options.units), "--rows",
                        str(options.rows), "--projects", str(options.projects), "--project-rows",
                        str(options.project_rows), "--year", str(YEAR)], env=env, cwd=ROOT, check=True,
                       capture_output=True)
    projects = options.units * options.projects
    print(f"seeded {options.units} units × {options.rows} rows, {projects} projects × {options.project_rows} rows "
          f"in {time.perf_counter() - t:.0f} s", flush=True)
    results = {}
    for kind in ("floor", "ours") * options.repeat:
        measured = run(kind, str(workdir / f"{kind}.xlsx"), env)
        print(f"  {kind}: {measured}", flush=True)
        if kind not in results or measured["seconds"] < results[kind]["seconds"]:
            results[kind] = measured
    floor_, ours = results["floor"], results["ours"]
    print()
    print("| units | rows | projects | project rows | floor s | ours s | ours / floor | ours peak MB | floor peak MB | "
          "file MB | load before → after (floor; ours) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print(f"| {options.units:,} | {options.units * options.rows:,} | {projects:,} | "
          f"{projects * options.project_rows:,} | {floor_['seconds']:.1f} | {ours['seconds']:.1f} | "
          f"{ours['seconds'] / floor_['seconds']:.2f} | {ours['peak_mb']:.0f} | {floor_['peak_mb']:.0f} | "
          f"{ours['file_mb']:.1f} | {floor_['load_before']} → {floor_['load_after']}; "
          f"{ours['load_before']} → {ours['load_after']} |")


def run(kind, out, env):
    with export_bench.bench_lock():
        before = export_bench.loadavg()
        done = subprocess.run([sys.executable, __file__, "child", kind, out], env=env, capture_output=True, text=True,
                              cwd=ROOT)
        after = export_bench.loadavg()
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"failed: {kind}")
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"load_before": before, "load_after": after}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
