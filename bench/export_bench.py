"""Export and import benchmarks for issue 5 (not a test). Prints a Markdown table; copy it to docs/benchmarks.md.

    .venv/bin/python bench/export_bench.py                 # 1,000 and 10,000 units × 40 rows, SQLite file
    .venv/bin/python bench/export_bench.py --units 1000    # one size only
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jx_bench .venv/bin/python bench/export_bench.py

The machine is shared: each step (seeding, each measurement) holds the lock /tmp/bench.lock (flock(2), the same lock
as `flock /tmp/bench.lock COMMAND`), so no other benchmark runs during it, and the load average is recorded before
and after each measurement.

For each size the database is rebuilt with `seed_scale`, then each measurement runs in a fresh process so its
peak resident memory (ru_maxrss) is its own:
  ours   evaluations.spreadsheets.summary.write_summary: both sheets, labels, subtotals, neutralised text (XlsxWriter, streaming)
  floor  the same rows from the same query written by a bare XlsxWriter constant_memory loop, nothing else
  ie     django-import-export's default ModelResource for IndicatorResult, exported to .xlsx
Then the admin import (preview, then confirm) of a 10,000-row file (250 evaluations × 40 rows) is timed.
"""

import argparse
import contextlib
import fcntl
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
YEAR = 2024


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("HTTPS", "0")  # the test client speaks plain HTTP: no redirect to https
    import django

    django.setup()


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- children: one measurement each ---------------------------------------------------------------------


def child(kind, out):
    setup_django()
    from django.db import connection

    connection.ensure_connection()
    baseline = peak_mb()
    start = time.perf_counter()
    if kind == "ours":
        from evaluations.spreadsheets import summary

        summary.write_summary(out, YEAR)
    elif kind == "floor":
        floor(out)
    elif kind == "ie":
        from import_export.formats.base_formats import XLSX
        from import_export.resources import modelresource_factory

        from evaluations.models import IndicatorResult

        dataset = modelresource_factory(IndicatorResult)().export(IndicatorResult.objects.all())
        Path(out).write_bytes(XLSX().export_data(dataset))
    elif kind == "import":
        return admin_import(out)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb(), "baseline_mb": baseline,
                      "file_mb": Path(out).stat().st_size / 1024 / 1024}))


def floor(out):
    """The least any export of these rows can cost: same query, same order, values written as they come."""
    import xlsxwriter

    from evaluations.models import Framework, IndicatorResult
    from evaluations.spreadsheets import summary

    framework = Framework.objects.get(year=YEAR)
    rows = (IndicatorResult.objects.filter(evaluation__framework=framework).order_by("evaluation__unit__code")
            .values_list(*summary.DETAIL_FIELDS).iterator(chunk_size=summary.CHUNK))
    wb = xlsxwriter.Workbook(out, {"constant_memory": True})
    ws = wb.add_worksheet()
    for n, row in enumerate(rows):
        ws.write_row(n, 0, [float(v) if v is not None and not isinstance(v, str | int) else v for v in row])
    wb.close()


def admin_import(path):
    """The admin's two steps (preview, confirm) through the real views, on a 10,000-row file."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import override_settings

    user, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_staff": True,
                                                                                      "is_superuser": True})
    client = Client()
    client.force_login(user)
    # Pages refer to static files by name: no `collectstatic` manifest is needed to time the import.
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(ALLOWED_HOSTS=["testserver"], STORAGES=storages):
        start = time.perf_counter()
        with open(path, "rb") as f:
            preview = client.post("/admin/evaluations/evaluation/import/", {"resource": "0", "format": "0",
                                                                          "import_file": f})
        preview_seconds = time.perf_counter() - start
        html = preview.content.decode()
        assert "import_file_name" in html, html[:3000]
        field = lambda name: html.split(f'name="{name}" value="')[1].split('"')[0]  # noqa: E731
        confirm = client.post("/admin/evaluations/evaluation/process_import/", {
            "import_file_name": field("import_file_name"), "original_file_name": field("original_file_name"),
            "format": field("format"), "resource": "0",
        })
        total = time.perf_counter() - start
    assert confirm.status_code == 302, confirm.content[:2000]
    print(json.dumps({"seconds": total, "preview_seconds": preview_seconds, "peak_mb": peak_mb()}))


def make_import_file(out, rows=10_000):
    setup_django()
    from import_export.formats.base_formats import XLSX

    from evaluations.models import EDITABLE_STATUSES, Evaluation, IndicatorResult
    from evaluations.spreadsheets.resources import IndicatorResultResource

    evaluations = Evaluation.objects.filter(status__in=EDITABLE_STATUSES).order_by("unit__code")
    picked, count = [], 0
    for e in evaluations:
        picked.append(e.pk)
        count += IndicatorResult.objects.filter(evaluation=e).count()
        if count >= rows:
            break
    dataset = IndicatorResultResource().export(Evaluation.objects.filter(pk__in=picked))
    column = dataset.headers.index("偏差原因分析及改进措施")
    for n in range(len(dataset)):  # every row changes, as when last year's file is brought in
        row = list(dataset[n])
        row[column] = f"导入修改 {n}"
        dataset[n] = row
    Path(out).write_bytes(XLSX().export_data(dataset))
    print(json.dumps({"rows": len(dataset), "evaluations": len(picked)}))


# --- the parent: build data, run children, print the table ---------------------------------------------


LOCK = "/tmp/bench.lock"


@contextlib.contextmanager
def bench_lock():
    with open(LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def loadavg():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(*args, env, timeout=None):
    """One measurement in a fresh process, holding the lock; None when it did not finish within `timeout` s."""
    with bench_lock():
        before = loadavg()
        try:
            done = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True,
                                  cwd=ROOT, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"timeout": timeout, "load_before": before, "load_after": loadavg()}
        after = loadavg()
    if done.returncode:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"failed: {args}")
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"load_before": before, "load_after": after}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--rows", type=int, default=40)
    parser.add_argument("--skip-ie", action="store_true", help="skip django-import-export's export (slow, large)")
    parser.add_argument("--ie-timeout", type=int, default=1800, help="give up on django-import-export's export after")
    parser.add_argument("--skip-import", action="store_true", help="skip the 10,000-row admin import")
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="jx-bench-"))
    env = dict(os.environ, SECRET_KEY="bench-only", HTTPS="0",
               TASKS_BACKEND="django_tasks.backends.immediate.ImmediateBackend")
    if "DATABASE_URL" not in env:
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.processor() or cpu_name()}, "
          f"{memory_gb():.0f} GB RAM, Python {platform.python_version()}, database {env['DATABASE_URL'].split(':')[0]}",
          flush=True)
    results = []
    for units in options.units:
        with bench_lock():
            reset_database(env)
            t = time.perf_counter()
            subprocess.run([sys.executable, "manage.py", "seed_scale", "--units", str(units), "--rows",
                            str(options.rows), "--year", str(YEAR)], env=env, cwd=ROOT, check=True, capture_output=True)
        print(f"seeded {units} units × {options.rows} rows in {time.perf_counter() - t:.0f} s", flush=True)
        row = {"units": units, "rows": units * options.rows}
        for kind in ("floor", "ours", *(() if options.skip_ie else ("ie",))):
            row[kind] = run("child", kind, str(workdir / f"{kind}-{units}.xlsx"), env=env,
                            timeout=options.ie_timeout if kind == "ie" else None)
            print(f"  {kind}: {row[kind]}", flush=True)
        results.append(row)
        if units * options.rows >= 10_000 and not options.skip_import:
            made = run("make-import-file", str(workdir / "import.xlsx"), env=env)
            row["import"] = run("child", "import", str(workdir / "import.xlsx"), env=env) | made
            print(f"  admin import: {row['import']}", flush=True)
    print()
    print("| rows | floor s | ours s | ours / floor | ours peak MB | floor peak MB | import-export s | "
          "import-export peak MB | load before → after (floor; ours; import-export) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        ie = r.get("ie") or {}
        ie_s = f"> {ie['timeout']} (stopped)" if "timeout" in ie else f"{ie.get('seconds', float('nan')):.1f}"
        loads = "; ".join(f"{r[k]['load_before']} → {r[k]['load_after']}" for k in ("floor", "ours", "ie") if k in r)
        print(f"| {r['rows']:,} | {r['floor']['seconds']:.1f} | {r['ours']['seconds']:.1f} | "
              f"{r['ours']['seconds'] / r['floor']['seconds']:.2f} | {r['ours']['peak_mb']:.0f} | "
              f"{r['floor']['peak_mb']:.0f} | {ie_s} | {ie.get('peak_mb', float('nan')):.0f} | {loads} |")
    for r in results:
        if "import" in r:
            i = r["import"]
            print(f"\nadmin import of {i['rows']:,} rows ({i['evaluations']} evaluations) into a database of "
                  f"{r['rows']:,} rows: preview {i['preview_seconds']:.1f} s, preview + confirm {i['seconds']:.1f} s, "
                  f"peak {i['peak_mb']:.0f} MB, load {i['load_before']} → {i['load_after']}")


def memory_gb():
    try:
        return int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        return float("nan")


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def reset_database(env):
    url = env["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    else:
        subprocess.run([sys.executable, "manage.py", "flush", "--noinput"], env=env, cwd=ROOT, capture_output=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], env=env, cwd=ROOT, check=True,
                   capture_output=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "make-import-file":
        make_import_file(sys.argv[2])
    else:
        main()
