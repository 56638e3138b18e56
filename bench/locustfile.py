"""Load test (issue 7): logged-in fillers and reviewers against `make serve` on PostgreSQL seeded with
`seed_scale --units 3000 --rows 40 --year 2024 --users 3000`.

The mix, per user: open the list 40%, open an evaluation 30%, save rows 20% (the edit form posted back with
its version; a 409 conflict or a 403 for an evaluation not open for editing is an expected answer, not an
error), submit / return for changes 10%. Fillers are three in four users; reviewers (50 units each) the rest.
Locust runs in its own virtualenv (pip install locust==2.47.0); see docs/benchmarks.md「负载测试」:

    flock /tmp/bench.lock locust -f bench/locustfile.py --headless -u 80 -r 10 -t 5m -H http://127.0.0.1:8000 \
        --csv var/load --only-summary FillerUser ReviewerUser
    flock /tmp/bench.lock locust -f bench/locustfile.py --headless -u 40 -r 40 -t 30s -H http://127.0.0.1:8000 \
        --only-summary CeilingUser          # the bare view (/healthz: one SELECT 1), for the ratio
"""

import random
import re
from html.parser import HTMLParser

from locust import HttpUser, between, task

PASSWORD = "load-test-password"
FILLERS = 3000
REVIEWERS = 60
EXPECTED = {200, 302, 400, 403, 409}  # 400: a form sent back with errors; 403/409: refused as designed


class _Form(HTMLParser):
    """The edit form's fields, as a browser would post them unchanged (tests/forms.py, simplified)."""

    def __init__(self):
        super().__init__()
        self.data, self.inside, self.textarea, self.select = {}, False, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == "edit-form"
        if not self.inside or not a.get("name"):
            if tag == "option" and self.select and "selected" in a:
                self.data[self.select] = a.get("value", "")
            return
        name = a["name"]
        if tag == "input" and a.get("type", "text") not in ("submit", "button", "file", "checkbox", "radio"):
            self.data[name] = a.get("value") or ""
        elif tag == "textarea":
            self.textarea = name
            self.data.setdefault(name, "")
        elif tag == "select":
            self.select = name
            self.data.setdefault(name, "")

    def handle_endtag(self, tag):
        if tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None
        elif tag == "form":
            self.inside = False

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea] += data


def csrf(html):
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return match.group(1) if match else ""


class _Person(HttpUser):
    abstract = True
    wait_time = between(0.5, 1.5)

    def on_start(self):
        page = self.client.get("/accounts/login/", name="登录页")
        self.client.post("/accounts/login/", {"username": self.username(), "password": PASSWORD,
                                              "csrfmiddlewaretoken": csrf(page.text)}, name="登录")
        listing = self.client.get("/evaluations/", name="页面：自评列表")
        self.evaluations = [int(pk) for pk in set(re.findall(r'href="/evaluations/(\d+)/"', listing.text))]
        self.token = csrf(listing.text)

    def expect(self, method, url, name, **kwargs):
        # A POST is followed to the page it redirects to, as a browser does (that page shows the message).
        with getattr(self.client, method)(url, name=name, catch_response=True, allow_redirects=method == "post",
                                          **kwargs) as response:
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

    @task(30)
    def open_evaluation(self):
        if pk := self.pick():
            self.expect("get", f"/evaluations/{pk}/", "页面：自评表")

    @task(20)
    def save_rows(self):
        pk = self.pick()
        if not pk:
            return
        page = self.expect("get", f"/evaluations/{pk}/edit/", "页面：填写页")
        if page.status_code != 200:
            return  # submitted or approved: not open for editing (403), as designed
        form = _Form()
        form.feed(page.text)
        data = form.data
        for key in [k for k in data if k.endswith("-actual_value") and data[k] != ""][:3]:
            data[key] = str(random.randint(1, 600))
        self.expect("post", f"/evaluations/{pk}/edit/", "保存（含版本号）", data=data)

    @task(10)
    def submit(self):
        if pk := self.pick():
            self.expect("post", f"/evaluations/{pk}/actions/submit/", "提交/审核",
                        data={"csrfmiddlewaretoken": self.token})


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


class CeilingUser(HttpUser):
    """The bare view: /healthz (no session, one SELECT 1), as fast as it will go."""

    wait_time = between(0, 0)

    @task
    def healthz(self):
        self.client.get("/healthz", name="裸视图 /healthz")
