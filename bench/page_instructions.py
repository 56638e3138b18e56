"""Instructions per page (issue 14): the application's work counted by Valgrind, which the machine's noise does
not move, where bench/page_costs.py's CPU times vary by a third between runs on a shared machine.

Runs the pages as page_costs.py does (Django's test client, in-process, against the database `seed_scale` filled)
under `valgrind --tool=cachegrind`, twice: once with the warm-up alone and once with `--requests` more requests
of the page, and prints the difference per request. Only this process is counted, not PostgreSQL's:

    DEBUG=0 HTTPS=0 ALLOWED_HOSTS=testserver DATABASE_URL=postgres://postgres@127.0.0.1:5432/jx_load \\
        .venv/bin/python bench/page_instructions.py 自评表 填写页 保存

Needs Debian's valgrind (apt-get install valgrind). Each page takes two to five minutes (Valgrind runs Python
some thirty times slower); the counts of two checkouts can be taken side by side, one per core (each on its own
copy of the database where the page is the save: two saves of one draft would refuse each other).
"""

import argparse
import gc
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
PASSWORD = "load-test-password"
PAGES = ("自评列表", "自评表", "填写页", "保存", "实时预览", "审核页")
WARM = 6  # as page_costs.py: templates compiled, URLs resolved, the queries prepared (from their fifth run)


def requests_of(page):
    """The page's request, as page_costs.py makes it (a save changes three 实际完成值 and takes the new version)."""
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(HERE))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from page_forms import FORM, in_page_save

    from evaluations.models import Evaluation, EvaluationStatus

    draft = Evaluation.objects.filter(status=EvaluationStatus.DRAFT, unit__members__isnull=False).first()
    if draft is None:
        sys.exit("没有草稿状态的自评：请先运行 seed_scale --users。")
    filler = Client()
    filler.login(username=get_user_model().objects.filter(filler_units=draft.unit).values_list("username", flat=True).first(),
                 password=PASSWORD)
    edit_url = f"/evaluations/{draft.pk}/edit/"
    if page == "审核页":
        reviewer = Client()
        reviewer.login(username="reviewer0", password=PASSWORD)
        reviewed = re.search(r'href="/evaluations/(\d+)/"', reviewer.get("/evaluations/").content.decode()).group(1)
        return lambda: reviewer.get(f"/evaluations/{reviewed}/review/")
    if page in ("保存", "实时预览"):
        save, data = in_page_save(filler, edit_url)
        if page == "保存":
            return save
        return lambda: filler.post(f"/evaluations/{draft.pk}/edit/preview/", urlencode([tuple(p) for p in data]),
                                   content_type=FORM, HTTP_HX_REQUEST="true")
    url = {"自评列表": "/evaluations/", "自评表": f"/evaluations/{draft.pk}/", "填写页": edit_url}[page]
    return lambda: filler.get(url)


def run_inner(page, requests):
    request = requests_of(page)
    for _ in range(WARM):
        if request().status_code != 200:
            sys.exit(f"{page}未能打开")
    gc.collect()
    gc.freeze()  # as gunicorn.conf.py does once the application is loaded: no full collection of what it holds
    for _ in range(requests):
        request()


def instructions(page, requests):
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
               sys.executable, __file__, "--inner", page, str(requests)]
    # One hash seed for every run: the same dicts and sets in the same order (the counts still move by about 1 %
    # between runs of the same code, so a comparison takes more than one run of each).
    run = subprocess.run(command, capture_output=True, text=True, env={"PYTHONHASHSEED": "0", **os.environ})
    found = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    if run.returncode != 0 or not found:
        sys.exit(f"valgrind 未能运行{page}：{run.stderr[-500:]}")
    return int(found.group(1).replace(",", ""))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("pages", nargs="*", default=list(PAGES), metavar="页面", help="、".join(PAGES))
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--inner", nargs=2, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.inner:
        run_inner(arguments.inner[0], int(arguments.inner[1]))
        return
    for page in arguments.pages:
        if page not in PAGES:
            sys.exit(f"没有“{page}”这一页：可测 {'、'.join(PAGES)}")
        warm_only = instructions(page, 0)
        measured = instructions(page, arguments.requests)
        print(f"{page:8} {(measured - warm_only) / arguments.requests / 1e6:7.1f} M 条指令/次（{arguments.requests} 次）", flush=True)


if __name__ == "__main__":
    main()
