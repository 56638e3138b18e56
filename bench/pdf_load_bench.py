"""PDF downloads cannot starve the site (issue 13): while 10 clients download the largest allowed 说明 as PDF,
`/healthz` and the evaluation list answer in under 1 s (p95) under `make serve`. Not a test: it prints figures.

    .venv/bin/python bench/pdf_load_bench.py            # print the results
    .venv/bin/python bench/pdf_load_bench.py --write    # and replace its section of docs/benchmarks.md
    .venv/bin/python bench/pdf_load_bench.py --code /path/to/other/checkout --phases one   # the same against other code

Starts `make serve` (gunicorn as gunicorn.conf.py says, PostgreSQL, DEBUG off) on its own port and database
(127.0.0.1:8791, jx_pdfbench, made afresh and dropped after), loads the demo, fills its 说明 to every text limit
(bench/largest_document.py) and clones it into ten evaluations, then measures, in one run:

1. **baseline**: the probes alone, for --seconds;
2. **one**: 10 clients download the same largest 说明 over and over;
3. **ten**: each of the 10 clients downloads its own largest 说明, none rendered yet, then again;

each of the last two until every client has received a PDF and then --seconds more (within --limit). With
`--code` pointing at a checkout of older code (e.g. `git worktree add /tmp/old main`), the same phases measure it.

A client that gets "正在生成，请稍候" (202) waits the Retry-After seconds and asks again, as the page does. The probe
asks `/healthz`, then the list (logged in as 管理员), then pauses 0.1 s; latency is from connecting to the last byte.
Bounded: each phase has a time limit, each request a timeout, loopback only; holds /tmp/bench.lock (flock) like the
other benchmarks, so no other benchmark runs at the same time.
"""

import argparse
import fcntl
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## 说明 PDF 下载时的响应（issue 13）"
HOST, PORT = "127.0.0.1", 8791
DATABASE = "jx_pdfbench"
TIMEOUT = 60  # per request


# --- Inside the server's database (run as a subprocess with Django set up) ------------------------------------


def setup_data(clones):
    """Demo, filled to the limits, cloned; prints what the clients need as JSON."""
    import io

    import django

    sys.path.insert(0, str(ROOT / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    import largest_document
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from evaluations.documents import html_pdf
    from evaluations.models import BudgetLine, Evaluation, IndicatorResult, NarrativeSection, Unit

    call_command("load_demo", "--force", stdout=io.StringIO())
    demo = Evaluation.objects.get(unit__code="440113-HLZ", framework__year=2024)
    # The largest 说明 the whole-document limits allow (text.UNIT_ROW_LIMIT, DOCUMENT_TEXT_LIMIT); code from before
    # them: every field at its own limit.
    whole = hasattr(largest_document.limits, "DOCUMENT_TEXT_LIMIT")
    demo = (largest_document.fill_worst_case if whole else largest_document.fill_to_limits)(demo)
    results, lines, sections = list(demo.results.all()), list(demo.budget_lines.all()), list(demo.sections.all())
    pks = []
    for n in range(1, clones + 1):
        unit = Unit.objects.create(name=f"基准测试单位{n:02d}", code=f"PDFBENCH-{n:02d}", parent=demo.unit.parent)
        copy = Evaluation.objects.create(unit=unit, framework=demo.framework, status=demo.status)
        for model, rows in ((IndicatorResult, results), (BudgetLine, lines), (NarrativeSection, sections)):
            copies = []
            for row in rows:
                row.pk, row.evaluation = None, copy
                copies.append(row)
            model.objects.bulk_create(copies)
        pks.append(copy.pk)
    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    html_chars = len(html_pdf.render_html(Evaluation.objects.with_document_data().get(pk=demo.pk)))
    print(json.dumps({
        "session": client.cookies["sessionid"].value, "demo": demo.pk, "clones": pks, "status": demo.status,
        "rows": demo.results.count(), "sections": demo.sections.count(), "html_chars": html_chars,
    }))


# --- The clients ---------------------------------------------------------------------------------------------


def request(path, session):
    """(status, seconds, headers, body length): one request on a new connection, as a browser behind nginx."""
    start = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, PORT, timeout=TIMEOUT)
    try:
        connection.request("GET", path, headers={"Cookie": f"sessionid={session}"})
        response = connection.getresponse()
        size = len(response.read())
        return response.status, time.perf_counter() - start, dict(response.getheaders()), size
    except OSError as error:
        return f"error: {error}", time.perf_counter() - start, {}, 0
    finally:
        connection.close()


class Phase:
    def __init__(self, name):
        self.name, self.lock = name, threading.Lock()
        self.healthz, self.list, self.downloads, self.pending, self.errors = [], [], [], 0, []
        self.served = set()  # the clients that received a PDF
        self.first_all = None  # seconds until every client had one
        self.stop = threading.Event()
        self.seconds = 0.0

    def add(self, kind, value):
        with self.lock:
            getattr(self, kind).append(value)


def probe(phase, session):
    while not phase.stop.is_set():
        for path, kind in (("/healthz", "healthz"), ("/evaluations/", "list")):
            status, seconds, _, _ = request(path, session)
            if status == 200:
                phase.add(kind, seconds)
            else:
                phase.add("errors", f"{path}: {status}")
        phase.stop.wait(0.1)


def download(phase, session, pk, client):
    path = f"/evaluations/{pk}/document.pdf"
    while not phase.stop.is_set():
        status, seconds, headers, size = request(path, session)
        if status == 202:
            with phase.lock:
                phase.pending += 1
            phase.stop.wait(float(headers.get("Retry-After", 3)))
            path = f"/evaluations/{pk}/document.pdf?retry=1"
        elif status == 200 and size > 1000:
            phase.add("downloads", seconds)
            with phase.lock:
                phase.served.add(client)
            path = f"/evaluations/{pk}/document.pdf"
        else:
            phase.add("errors", f"{path}: {status}")
            phase.stop.wait(1)


def run_phase(name, session, seconds, targets=(), limit=120):
    """Probes (and clients downloading `targets`) for `seconds`; with clients, `seconds` counted from when every
    client has received a PDF, within `limit` seconds in all."""
    phase = Phase(name)
    threads = [threading.Thread(target=probe, args=(phase, session))]
    threads += [threading.Thread(target=download, args=(phase, session, pk, n)) for n, pk in enumerate(targets)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    deadline = start + (limit if targets else seconds)
    while time.perf_counter() < deadline:
        if targets and phase.first_all is None and len(phase.served) == len(targets):
            phase.first_all = time.perf_counter() - start
            deadline = min(deadline, time.perf_counter() + seconds)
        time.sleep(0.2)
    phase.stop.set()
    for t in threads:
        t.join(TIMEOUT + 5)
    phase.seconds = time.perf_counter() - start
    return phase


def p(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


# --- The server ----------------------------------------------------------------------------------------------


def drop_database():
    import psycopg

    with psycopg.connect(host=HOST, port=5432, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def start_server(code, env, log):
    venv = Path(sys.prefix)
    # `-o` treats the venv as installed: the benchmark never reinstalls packages.
    server = subprocess.Popen(
        ["make", "-s", "-o", f"{venv}/.installed", "serve", f"VENV={venv}"],
        cwd=code, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"make serve 已退出（{server.returncode}），见 {log.name}")
        if request("/healthz", "")[0] == 200:
            return server
        time.sleep(1)
    stop_server(server)
    sys.exit("make serve 在 180 秒内未就绪")


def stop_server(server):
    try:
        os.killpg(server.pid, signal.SIGTERM)  # make, gunicorn and db_worker: the group this script started
        server.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the results into docs/benchmarks.md")
    parser.add_argument("--seconds", type=float, default=15,
                        help="length of the baseline; of the others, after every client has received a PDF")
    parser.add_argument("--limit", type=float, default=120, help="time limit of a phase with clients")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--phases", default="baseline,one,ten")
    parser.add_argument("--code", default=str(ROOT), help="the checkout whose `make serve` to run")
    parser.add_argument("--label", default="", help="what --code is, for the heading (e.g. 'main 4af430b')")
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.setup:
        return setup_data(options.clients)

    code = Path(options.code).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="pdfbench-"))
    env = os.environ | {
        "DATABASE_URL": f"postgres://postgres@{HOST}:5432/{DATABASE}", "GUNICORN_BIND": f"{HOST}:{PORT}",
        "MEDIA_ROOT": str(tmp / "media"), "PDF_RENDER_LOCK_DIR": str(tmp / "locks"), "EXPORT_ROOT": str(tmp / "exports"),
        "STATIC_ROOT": str(tmp / "static"), "GUNICORN_ACCESSLOG": "", "DEBUG": "0", "HTTPS": "0",
    }
    env.pop("PDF_RENDER_SLOTS", None)  # as gunicorn.conf.py sets it
    with open("/tmp/bench.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        drop_database()
        log = open(tmp / "serve.log", "w")  # noqa: SIM115 (closed after the server stops)
        load_before = os.getloadavg()
        server = start_server(code, env, log)
        try:
            setup = subprocess.run(
                [sys.executable, str(ROOT / "bench" / "pdf_load_bench.py"), "--setup", "--clients", str(options.clients)],
                cwd=code, env=env | {"PYTHONPATH": str(code)}, capture_output=True, text=True, check=True,
            )
            data = json.loads(setup.stdout.strip().splitlines()[-1])
            session = data["session"]
            phases = []
            for name in options.phases.split(","):
                if name == "baseline":
                    phases.append(run_phase("baseline", session, options.seconds))
                elif name == "one":
                    phases.append(run_phase("one", session, options.seconds, [data["demo"]] * options.clients, options.limit))
                elif name == "ten":
                    phases.append(run_phase("ten", session, options.seconds, data["clones"], options.limit))
                print(summary(phases[-1]), flush=True)
        finally:
            stop_server(server)
            log.close()
            drop_database()
        load_after = os.getloadavg()
    workers = (tmp / "serve.log").read_text(errors="replace").count("Booting worker")
    shutil.rmtree(tmp, ignore_errors=True)
    heading = SECTION if code == ROOT else f"{SECTION}：对照，{options.label or code.name}"
    report = render(heading, options, code, data, phases, workers, load_before, load_after)
    print(report)
    if options.write:
        write_section(ROOT / "docs" / "benchmarks.md", heading, report)


def summary(phase):
    return (
        f"{phase.name}: {phase.seconds:.1f} s, healthz n={len(phase.healthz)} p95={p(phase.healthz, .95):.3f}, "
        f"list n={len(phase.list)} p95={p(phase.list, .95):.3f}, PDFs {len(phase.downloads)}, 202s {phase.pending}, "
        f"clients served {len(phase.served)}, all after {phase.first_all} s, "
        f"errors {len(phase.errors)} {sorted(set(phase.errors))[:5]}"
    )


LABELS = {
    "baseline": "基线：只有探测请求",
    "one": "10 个客户端反复下载同一份最大说明",
    "ten": "10 个客户端各下载一份不同的最大说明（均未生成过），然后再次下载",
}


def ms(value):
    return "—" if value != value else f"{value * 1000:.0f}"


def render(heading, options, code, data, phases, workers, load_before, load_after):
    verdict = lambda phase: "✓" if max(p(phase.healthz, .95), p(phase.list, .95)) < 1 else "✗"  # noqa: E731
    command = " ".join(["bench/pdf_load_bench.py", *sys.argv[1:]])
    lines = [
        heading,
        "",
        f"`.venv/bin/python {command}`，{date.today():%Y-%m-%d}，"
        f"代码：`{code.name}`（`git rev-parse --short HEAD`：{git_head(code)}）。",
        f"`make serve`：gunicorn {workers} 个同步工作进程（gunicorn.conf.py），PostgreSQL 15，DEBUG 关闭，本机回环 "
        f"{HOST}:{PORT}。说明：演示自评（{data['rows']} 行指标、{data['sections']} 个章节），填到字数上限允许的最大"
        f"（bench/largest_document.py；HTML {data['html_chars']:,} 字符），状态“{data['status']}”。",
        f"机器：2 核共享（同机有其他人的测试）；平均负载（1/5/15 分钟）开始前 {fmt_load(load_before)}，结束后 "
        f"{fmt_load(load_after)}。",
        "",
        "| 阶段 | 时长 s | /healthz 次数 | p50 ms | p95 ms | 最大 ms | 列表次数 | p50 ms | p95 ms | 最大 ms | 下载 PDF 份数 | 下载 p50 / 最大 s | 全部客户端拿到 PDF 用时 s | “正在生成”应答 | 错误 | p95 < 1 s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for phase in phases:
        lines.append(
            f"| {LABELS[phase.name]} | {phase.seconds:.0f} | {len(phase.healthz)} | {ms(p(phase.healthz, .5))} | "
            f"{ms(p(phase.healthz, .95))} | {ms(max(phase.healthz, default=float('nan')))} | {len(phase.list)} | "
            f"{ms(p(phase.list, .5))} | {ms(p(phase.list, .95))} | {ms(max(phase.list, default=float('nan')))} | "
            f"{len(phase.downloads)} | "
            + (f"{statistics.median(phase.downloads):.2f} / {max(phase.downloads):.2f}" if phase.downloads else "—")
            + f" | {'—' if phase.first_all is None else f'{phase.first_all:.0f}'} | {phase.pending} | {len(phase.errors)} "
            f"| {verdict(phase)} |"
        )
    return "\n".join(lines) + "\n"


def fmt_load(load):
    return " / ".join(f"{x:.1f}" for x in load)


def git_head(code):
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=code, capture_output=True, text=True)
    return result.stdout.strip() or "?"


def write_section(path, heading, report):
    """Replace our section (up to the next "## " heading) or append it; other sections stay as they are."""
    text = path.read_text(encoding="utf-8")
    start = text.find(heading + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + report
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + report + (text[end + 1:] if end != -1 else "")
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
