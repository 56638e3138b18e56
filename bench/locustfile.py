"""Load test (issue 7): logged-in fillers and reviewers against `make serve` on PostgreSQL seeded with
`seed_scale --units 3000 --rows 40 --year 2024 --users 3000`.

The mix, per user: open the list 40%, open an evaluation 30% (fillers: the 自评表 or the 填写页, half and half;
reviewers: the 审核页), save rows 20% (fillers: change three 实际完成值 in the 填写页 and click 保存, as the page's
JavaScript posts it, with the version the page holds; reviewers: the 待审核 queue), submit / return for changes 10%.
A 409 (someone saved first), a 403 (not open for editing) or a 400 (errors shown) is an expected answer, not an
error. Fillers are three in four users; reviewers (50 units each) the rest. The statistics start once every user
has logged in; logging in (PBKDF2) is timed on its own. Locust runs in its own virtualenv (pip install
locust==2.47.0); see docs/benchmarks.md「负载测试」:

    flock /tmp/bench.lock locust -f bench/locustfile.py --headless -u 70 -r 35 -t 340s -H http://127.0.0.1:8765 \
        --csv var/load --only-summary FillerUser ReviewerUser
    flock /tmp/bench.lock locust -f bench/locustfile.py --headless -u 40 -r 40 -t 30s -H http://127.0.0.1:8765 \
        --only-summary CeilingUser          # the bare view (/healthz: one SELECT 1), for the ratio
"""

import logging
import random
import re
import statistics
import time
from urllib.parse import urlencode

from locust import FastHttpUser, between, events, task
from page_forms import csrf, edit_form  # bench/: Locust puts the locustfile's folder on the path

PASSWORD = "load-test-password"
FILLERS = 3000
REVIEWERS = 60
EXPECTED = {200, 204, 302, 400, 403, 409}  # 204: sent to another page; 400: errors shown; 403/409: refused as designed

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
VERSION = re.compile(r'name="version" value="(\d+)"')

# The issue measures logged-in users: the statistics start once every user has logged in. Logging in (PBKDF2, about
# half a second of CPU by design) is timed on its own and printed at the end.
LOGINS = []


@events.test_stop.add_listener
def print_logins(environment, **kwargs):
    if LOGINS:
        ms = sorted(LOGINS)
        logging.info("登录 %d 次（测量开始前）：中位 %.0f ms，p95 %.0f ms，最长 %.0f ms", len(ms),
                     statistics.median(ms), ms[int(len(ms) * 0.95) - 1], ms[-1])


class _Person(FastHttpUser):
    abstract = True
    wait_time = between(0.5, 1.5)

    def on_start(self):
        started = time.perf_counter()
        page = self.client.get("/accounts/login/", name="登录页")
        self.client.post("/accounts/login/", name="登录", headers=FORM, data=urlencode(
            {"username": self.username(), "password": PASSWORD, "csrfmiddlewaretoken": csrf(page.text)}))
        LOGINS.append((time.perf_counter() - started) * 1000)
        runner = self.environment.runner
        if len(LOGINS) == runner.target_user_count:
            runner.stats.reset_all()
            logging.info("全部 %d 人已登录：统计从此刻开始", len(LOGINS))
        listing = self.client.get("/evaluations/", name="页面：自评列表")
        self.evaluations = [int(pk) for pk in set(re.findall(r'href="/evaluations/(\d+)/"', listing.text))]
        self.token = csrf(listing.text)

    def expect(self, method, url, name, data=None, htmx=False):
        # A POST is followed to the page it redirects to, as a browser does (that page shows the message).
        extra = {"data": urlencode(data, doseq=True), "headers": FORM} if data is not None else {}
        if htmx:  # made by the page's JavaScript: the answer is a fragment of the page
            extra["headers"] = {**extra.get("headers", {}), "HX-Request": "true"}
        with getattr(self.client, method)(url, name=name, catch_response=True, allow_redirects=method == "post",
                                          **extra) as response:
            if response.status_code in EXPECTED:
                response.success()
            else:
                response.failure(f"{response.status_code}")
            return response

    def pick(self):
        return random.choice(self.evaluations) if self.evaluations else None

    @task(40)
    def open_list(self):
        self.expect("get", "/evaluations/", "页面：自评列表")


class FillerUser(_Person):
    weight = 3

    def username(self):
        return f"filler{random.randrange(FILLERS)}"

    def on_start(self):
        super().on_start()
        self.forms = {}  # the edit form of each evaluation as this user's browser last showed it

    def open_edit_page(self, pk):
        page = self.expect("get", f"/evaluations/{pk}/edit/", "页面：填写页")
        self.keep(pk, page)

    def keep(self, pk, page):
        # Submitted or approved evaluations are not open for editing (403, as designed): no form to keep.
        self.forms[pk] = edit_form(page.text) if page.status_code == 200 else None

    @task(30)
    def open_evaluation(self):
        # Fillers open the 自评表 to read it and the 填写页 to work in it, half and half.
        if pk := self.pick():
            if random.random() < 0.5:
                self.expect("get", f"/evaluations/{pk}/", "页面：自评表")
            else:
                self.open_edit_page(pk)

    @task(20)
    def save_rows(self):
        """Change three 实际完成值 in the edit page and click 保存, as a browser with JavaScript does: the page posts
        its form (with the version it holds) and stays, taking the new scores and version from the answer."""
        pk = self.pick()
        if not pk:
            return
        if pk not in self.forms:
            self.open_edit_page(pk)
        if not self.forms[pk]:
            return
        data = self.forms[pk]
        actual = [i for i, (name, value) in enumerate(data) if name.endswith("-actual_value") and value != ""]
        for i in random.sample(actual, min(3, len(actual))):
            data[i] = (data[i][0], str(random.randint(1, 600)))
        answer = self.expect("post", f"/evaluations/{pk}/edit/", "保存（页面内保存）", data=data, htmx=True)
        version = VERSION.search(answer.text or "")
        if answer.status_code in (200, 409) and version:  # saved, or someone saved first: the page has the new version
            self.forms[pk] = [(name, version.group(1) if name == "version" else value) for name, value in data]
        else:  # no longer open for editing (returned, submitted or approved since): open it again next time
            self.forms.pop(pk, None)

    @task(10)
    def submit(self):
        if pk := self.pick():
            self.expect("post", f"/evaluations/{pk}/actions/submit/", "提交/审核",
                        data={"csrfmiddlewaretoken": self.token})
            self.forms.pop(pk, None)


class ReviewerUser(_Person):
    weight = 1

    def username(self):
        return f"reviewer{random.randrange(REVIEWERS)}"

    @task(30)
    def open_evaluation(self):
        if pk := self.pick():
            self.expect("get", f"/evaluations/{pk}/review/", "页面：审核页")

    @task(20)
    def open_queue(self):
        self.expect("get", "/evaluations/queue/", "页面：待审核")

    @task(10)
    def return_for_changes(self):
        if pk := self.pick():
            self.expect("post", f"/evaluations/{pk}/actions/return_for_changes/", "提交/审核",
                        data={"csrfmiddlewaretoken": self.token, "reason": "请补充偏差原因。"})


class CeilingUser(FastHttpUser):
    """The bare view: /healthz (no session, one SELECT 1), as fast as it will go."""

    wait_time = between(0, 0)

    @task
    def healthz(self):
        self.client.get("/healthz", name="裸视图 /healthz")
