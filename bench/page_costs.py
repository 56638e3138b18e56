"""CPU and queries per page, measured in-process (issue 7): where the load test's time goes.

Runs Django's test client against the database that `seed_scale` filled (the load test's), logged in as a filler
of a draft evaluation and as a reviewer, and prints for each page the median CPU time of this process (the app's
own work: views, templates, the ORM), the database server's CPU per page where PostgreSQL runs on this machine
(its process for this connection, read from /proc), the queries and the size:

    DEBUG=0 HTTPS=0 ALLOWED_HOSTS=testserver DATABASE_URL=postgres://postgres@127.0.0.1:5432/jx_load \\
        flock /tmp/bench.lock .venv/bin/python bench/page_costs.py --runs 30

Saves change three 实际完成值 and are posted as the page's JavaScript posts them (urlencoded, with HX-Request).
"""

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from page_forms import FORM, in_page_save  # noqa: E402  (bench/, shared with the load test)

from evaluations.models import Evaluation, EvaluationStatus  # noqa: E402

PASSWORD = "load-test-password"


def client_for(username):
    client = Client()
    if not client.login(username=username, password=PASSWORD):
        sys.exit(f"无法以 {username} 登录：请先运行 seed_scale --users。")
    return client


PROFILE = None  # --profile: the page whose runs are profiled (cProfile), printed after its line
ONLY = None  # --only: the pages measured (names containing it)


def measure(name, request, runs):
    if ONLY and ONLY not in name:
        return
    for _ in range(5):  # warm, as a worker that has served a while: templates compiled, URL resolver filled,
        request()       # the queries prepared on PostgreSQL (from their fifth run on a connection)
    if PROFILE and PROFILE in name:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(runs):
            request()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
    times = []
    server_before = database_server_cpu()
    for _ in range(runs):
        started = time.process_time()
        response = request()
        times.append((time.process_time() - started) * 1000)
    server_after = database_server_cpu()
    server = "   —   " if server_before is None else f"{(server_after - server_before) / runs * 1000:5.1f} ms"
    with CaptureQueriesContext(connection) as queries:
        response = request()
    print(f"{name:28} {response.status_code}  CPU 中位 {statistics.median(times):6.1f} ms  最少 {min(times):6.1f} ms"
          f"  数据库进程 {server}  查询 {len(queries):3d}  {len(response.content) // 1024:4d} KB")


def database_server_cpu():
    """CPU seconds of the PostgreSQL process serving this connection, where it runs on this machine (None
    otherwise): what the pages cost the database server, which the load test's machine pays too."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", metavar="页面", help="剖析名称含此文字的页面（cProfile），如 --profile 填写页")
    parser.add_argument("--only", metavar="页面", help="只测名称含此文字的页面，如 --only 自评列表")
    arguments = parser.parse_args()
    runs = arguments.runs
    global PROFILE, ONLY
    PROFILE, ONLY = arguments.profile, arguments.only
    User = get_user_model()
    draft = Evaluation.objects.filter(status=EvaluationStatus.DRAFT, unit__members__isnull=False).first()
    if draft is None:
        sys.exit("没有草稿状态的自评：请先运行 seed_scale --users。")
    filler = client_for(User.objects.filter(filler_units=draft.unit).values_list("username", flat=True).first())
    reviewer = client_for("reviewer0")
    reviewed = reviewer.get("/evaluations/").content.decode()
    reviewed_pk = re.search(r'href="/evaluations/(\d+)/"', reviewed).group(1)
    edit_url = f"/evaluations/{draft.pk}/edit/"
    save, data = in_page_save(filler, edit_url)

    print(f"{connection.vendor}，填报人的草稿 {draft.pk}（{draft.results.count()} 个三级指标），每页 {runs} 次")
    measure("填报人：自评列表", lambda: filler.get("/evaluations/"), runs)
    measure("填报人：自评表", lambda: filler.get(f"/evaluations/{draft.pk}/"), runs)
    measure("填报人：填写页", lambda: filler.get(edit_url), runs)
    measure("填报人：页面内保存（htmx）", save, runs)
    measure("填报人：实时预览（htmx）", lambda: filler.post(
        f"/evaluations/{draft.pk}/edit/preview/", urlencode([tuple(pair) for pair in data]), content_type=FORM, HTTP_HX_REQUEST="true"), runs)
    measure("审核人：自评列表（50 个单位）", lambda: reviewer.get("/evaluations/"), runs)
    measure("审核人：审核页", lambda: reviewer.get(f"/evaluations/{reviewed_pk}/review/"), runs)
    measure("审核人：待审核", lambda: reviewer.get("/evaluations/queue/"), runs)
    anonymous = Client()
    measure("裸视图 /healthz", lambda: anonymous.get("/healthz"), runs)


if __name__ == "__main__":
    main()
