"""Bad input never gives a 500 (issue 7). Hypothesis posts random and hostile values to every form of the app:
the login, the edit form and its live preview, comments and answers, workflow actions with a reason, evidence
upload, starting an evaluation, the summary export and the official-table import, and the admin change forms
of evaluations, frameworks and units.

Values: huge numbers, NaN, Infinity, negatives, 100,000-character text, HTML and <script>, SQL fragments,
invalid UTF-8 (raw bytes in the body), NUL characters, missing fields, wrong types (lists for scalars, text for
numbers and ids). A NUL character anywhere is refused whole (ops.security.RefuseNulMiddleware: 400, as
PostgreSQL cannot store it). Each example asserts: no 500; a refused form left the database unchanged; text that was stored
is shown escaped wherever the pages show it.

FUZZ_EXAMPLES (default 25) sets the examples per form; the total of requests posted is printed at the end of the
module (docs/benchmarks.md records a run: 590 requests with the default).
"""

import os
import random
import re

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluations import access, workflow
from evaluations.models import (
    BudgetLine,
    Evaluation,
    Event,
    Evidence,
    FieldChange,
    Framework,
    Indicator,
    IndicatorResult,
    NarrativeSection,
    ReviewComment,
    Unit,
)
from reports.models import ExportJob
from tests.factories import FAST_PASSWORD_HASHERS, PASSWORD, make_evaluation, make_unit, make_user
from tests.forms import form_data

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 25))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
SCRIPT = '<script>alert("xss")</script>'
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE = [
    "", " ", "0", "-1", "-0.01", "-99999999999", "1e309", "1E+400", "9" * 400, "0." + "0" * 300 + "1", "NaN", "nan",
    "sNaN", "Infinity", "-Infinity", "inf", "0x1F", "１２３", "1,000.5", "12%", "1/0", "true", "null", "[]", "{}",
    SCRIPT, IMG, "<b>粗体</b>", "{{ 7|add:7 }}", "{% debug %}", "' OR '1'='1", "'; DROP TABLE evaluations_unit; --",
    "1; SELECT pg_sleep(10)", "%s%s%s%n", "../../../../etc/passwd", "=HYPERLINK(\"http://x\")", "a\x00b", "\x00",
    "\r\n\r\n", "\u202e反转", "😀" * 50, "中" * 3000, "x" * 100_000, "2024-13-45", "999999999999999999999999",
]
VALUE = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
# A field's new value: hostile text, a list where one value is expected, or the field left out altogether.
MUTATION = st.one_of(VALUE, st.lists(VALUE, min_size=2, max_size=3), st.just(None))
COUNT = {"requests": 0}


@pytest.fixture(scope="module", autouse=True)
def report_count(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    line = f"test_fuzz: 共尝试 {COUNT['requests']} 个随机或恶意输入（每个表单 {EXAMPLES} 个样例）。"
    if reporter:
        reporter.write_line(line)
    print(line)


def send(client, method, url, data=None, **kwargs):
    COUNT["requests"] += 1
    response = getattr(client, method)(url, data, **kwargs)
    assert response.status_code < 500, f"{method.upper()} {url} → {response.status_code}"
    return response


def mutate(data, draw, keys=None):
    data = dict(data)
    keys = sorted(keys or data)
    if not keys:
        return data
    for key in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=8, unique=True)):
        value = draw(MUTATION)
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    if draw(st.booleans()):
        data[draw(st.sampled_from(["extra", "form-0-score", "rows-999-score", "__proto__"]))] = draw(VALUE)
    return data


MODELS = [Evaluation, IndicatorResult, BudgetLine, NarrativeSection, FieldChange, Event, ReviewComment, Evidence,
          Unit, Framework, Indicator, ExportJob]


def snapshot():
    return {m.__name__: list(m.objects.order_by("pk").values_list()) for m in MODELS}


def assert_escaped(client, *urls):
    for url in urls:
        COUNT["requests"] += 1
        html = client.get(url).content.decode()
        assert "<script>alert(" not in html and "<img src=x onerror" not in html, f"{url} 显示了未转义的脚本"


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker):
    """The evaluations, people and signed-in sessions of every test here, made once in a transaction that is rolled
    back after the module; each test runs in a savepoint inside it (its `db`), so each starts from this state."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_PASSWORD_HASHERS):
        atomic = transaction.atomic()
        atomic.__enter__()
        district = make_unit("某区")
        evaluation = make_evaluation(unit=make_unit("某镇", parent=district), extra_rows=3)
        submitted = make_evaluation(unit=make_unit("某街道", parent=district))
        returned = make_evaluation(unit=make_unit("某乡", parent=district))
        filler = make_user(access.FILLER, units=[evaluation.unit, submitted.unit, returned.unit])
        reviewer = make_user(access.REVIEWER, charge=district)
        admin = make_user(access.ADMIN)
        workflow.submit(submitted, by=filler)
        workflow.submit(returned, by=filler)
        workflow.return_for_changes(returned, by=reviewer, reason="请修改")
        ReviewComment.objects.create(evaluation=returned, author=reviewer, text="请补充说明")
        sessions = {}
        for name, user in (("filler", filler), ("reviewer", reviewer), ("admin", admin)):
            client = Client()
            client.login(username=user.username, password=PASSWORD)
            sessions[name] = (user, client.cookies[django_settings.SESSION_COOKIE_NAME].value)
        world = {"evaluation": evaluation, "submitted": submitted, "returned": returned, "sessions": sessions,
                 "unit": make_unit("未开始的单位"), "filler": filler}
    yield world
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


@pytest.fixture
def world(shared_world, db, settings, tmp_path):
    """The shared world with this test's own clients (signed in, fresh cookies) and folders."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.IMPORT_TMP_DIR = tmp_path / "imports"
    settings.EXPORT_ROOT = tmp_path / "exports"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    clients = {}
    for name, (user, session_key) in shared_world["sessions"].items():
        clients[name] = Client()
        clients[name].cookies[settings.SESSION_COOKIE_NAME] = session_key
        clients[name].user = user
    return {**shared_world, "clients": clients}


# --- The login --------------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_login_survives_hostile_input(world, data):
    form = mutate({"username": world["filler"].username, "password": "wrong", "next": "/evaluations/"}, data.draw)
    response = send(Client(), "post", "/accounts/login/", form, REMOTE_ADDR=f"10.0.{random.randint(0, 255)}.1")
    assert response.status_code in (200, 302, 400, 429)
    assert "<script>alert(" not in response.content.decode()


# --- The edit form and its live preview --------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_edit_form_survives_hostile_input(world, data):
    client, evaluation = world["clients"]["filler"], world["evaluation"]
    url = f"/evaluations/{evaluation.pk}/edit/"
    page = form_data(client.get(url).content.decode(), "edit-form")
    COUNT["requests"] += 1
    if data.draw(st.booleans()):  # sometimes only fields a person types in, with a current version
        keys = [k for k in page if re.search(r"(actual_value|actual_text|score|deviation_reason|name|target_value|"
                                             r"weight|budget_note|body|initial_budget|adjusted_budget|executed)$", k)]
    else:
        keys = None
    form = mutate(page, data.draw, keys)
    if keys and data.draw(st.booleans()):  # one hostile value in many number boxes at once ("sNaN" everywhere)
        value = data.draw(VALUE)
        form.update({k: value for k in keys if k.endswith(("value", "score", "weight", "budget", "executed"))})
    before = snapshot()
    preview = send(client, "post", f"/evaluations/{evaluation.pk}/edit/preview/", form)
    assert snapshot() == before, "预览不应写入数据库"
    assert "<script>alert(" not in preview.content.decode()
    response = send(client, "post", url, form)
    assert response.status_code in (302, 400, 409), response.status_code
    if response.status_code != 302:
        assert snapshot() == before, "被拒绝的保存改变了数据库"
        assert "<script>alert(" not in response.content.decode()
    else:
        assert_escaped(client, url, f"/evaluations/{evaluation.pk}/", f"/evaluations/{evaluation.pk}/document/")


@FUZZ
@given(body=st.binary(max_size=300))
def test_edit_form_survives_invalid_utf8(world, body):
    """Raw bytes as the body, as a broken client or an attacker might send: never decoded into a 500."""
    client, evaluation = world["clients"]["filler"], world["evaluation"]
    before = snapshot()
    for suffix in ("edit/", "edit/preview/"):
        payload = b"version=" + body + b"&budget_note=%FF%FE" + body + b"&rows-TOTAL_FORMS=" + body
        send(client, "post", f"/evaluations/{evaluation.pk}/{suffix}", payload,
             content_type="application/x-www-form-urlencoded")
    assert snapshot() == before


# --- Comments, answers and workflow actions ----------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_comments_answers_and_actions_survive_hostile_input(world, data):
    submitted, returned = world["submitted"], world["returned"]
    reviewer, filler = world["clients"]["reviewer"], world["clients"]["filler"]
    result = submitted.results.first().pk
    comment = ReviewComment.objects.filter(evaluation=returned).first().pk  # not .comments: prefetched empty
    which = data.draw(st.sampled_from(["comment", "answer", "action"]))
    before = snapshot()
    if which == "comment":
        form = mutate({"text": "意见", "result": str(result), "section": ""}, data.draw)
        response = send(reviewer, "post", f"/evaluations/{submitted.pk}/comments/", form)
        pages = [f"/evaluations/{submitted.pk}/review/"]
        client = reviewer
    elif which == "answer":
        form = mutate({"answer": "已补充"}, data.draw)
        response = send(filler, "post", f"/evaluations/{returned.pk}/comments/{comment}/answer/", form)
        pages = [f"/evaluations/{returned.pk}/"]
        client = filler
    else:
        action = data.draw(st.sampled_from([*workflow.TRANSITIONS, "delete", "<script>"]))
        client = data.draw(st.sampled_from([reviewer, filler]))
        target = data.draw(st.sampled_from([submitted, returned]))
        form = mutate({"reason": "原因", "version": str(target.version)}, data.draw)
        response = send(client, "post", f"/evaluations/{target.pk}/actions/{action}/", form)
        pages = [f"/evaluations/{target.pk}/"]
    assert response.status_code in (302, 400, 403, 404), response.status_code
    if response.status_code != 302 or snapshot() == before:
        assert snapshot() == before
    else:
        assert_escaped(client, *pages)
    # A transition that went through is undone so the next example starts from the same states.
    for evaluation, state in ((submitted, "submitted"), (returned, "returned")):
        Evaluation.objects.filter(pk=evaluation.pk).update(status=state)


@pytest.mark.parametrize("text", HOSTILE)
def test_every_hostile_text_in_comments_answers_and_reasons(world, text):
    """Each hostile string once, where views take text straight from the request (NUL: PostgreSQL refuses it)."""
    submitted, returned = world["submitted"], world["returned"]
    reviewer, filler = world["clients"]["reviewer"], world["clients"]["filler"]
    comment = ReviewComment.objects.filter(evaluation=returned).first()
    send(reviewer, "post", f"/evaluations/{submitted.pk}/comments/", {"text": text})
    send(filler, "post", f"/evaluations/{returned.pk}/comments/{comment.pk}/answer/", {"answer": text})
    send(reviewer, "post", f"/evaluations/{submitted.pk}/actions/return_for_changes/", {"reason": text})
    assert_escaped(reviewer, f"/evaluations/{submitted.pk}/", f"/evaluations/{submitted.pk}/review/")


# --- Evidence upload and starting an evaluation ------------------------------------------------------------


FILE_HEADS = [b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"PK\x03\x04", b"", b"<script>alert(1)</script>"]


@FUZZ
@given(data=st.data())
def test_evidence_upload_survives_hostile_input(world, data):
    client, evaluation = world["clients"]["filler"], world["evaluation"]
    name = data.draw(st.one_of(st.sampled_from(["a.pdf", "b.PNG", "c.jpeg", "d.docx", "e.exe", "无扩展名", ".pdf",
                                                 "x" * 300 + ".pdf", SCRIPT + ".pdf", "../../etc/passwd.pdf",
                                                 "a\x00.pdf"]), st.text(min_size=1, max_size=30)))
    body = data.draw(st.sampled_from(FILE_HEADS)) + data.draw(st.binary(max_size=200))
    form = mutate({"result": str(evaluation.results.first().pk)}, data.draw)
    form["file"] = SimpleUploadedFile(name.replace("\x00", "") or "f", body)
    if data.draw(st.booleans()):
        form.pop("file")
    before = Evidence.objects.count()
    response = send(client, "post", f"/evaluations/{evaluation.pk}/evidence/", form)
    assert response.status_code in (302, 400, 404)
    if Evidence.objects.count() > before:
        assert_escaped(client, f"/evaluations/{evaluation.pk}/")


@FUZZ
@given(data=st.data())
def test_start_survives_hostile_input(world, data):
    form = mutate({"unit": str(world["unit"].pk), "year": "2024", "from_previous": "1"}, data.draw)
    before = snapshot()
    response = send(world["clients"]["filler"], "post", "/evaluations/start/", form)
    assert response.status_code in (302, 400, 404)
    if response.status_code != 302:
        assert snapshot() == before


# --- Reports: the summary export and the official-table import ---------------------------------------------


@FUZZ
@given(data=st.data())
def test_reports_forms_survive_hostile_input(world, data):
    reviewer, admin = world["clients"]["reviewer"], world["clients"]["admin"]
    before = snapshot()
    response = send(reviewer, "post", "/reports/exports/summary/", mutate({"year": "2024"}, data.draw))
    assert response.status_code in (302, 400)
    if ExportJob.objects.count() == len(before["ExportJob"]):
        assert snapshot() == before
    before = snapshot()
    form = mutate({"year": "2024", "token": "", "file": ""}, data.draw)
    if form.get("file") is not None:
        name = data.draw(st.sampled_from(["自评表.xlsx", "a.csv", "b.xls", SCRIPT + ".xlsx"]))
        form["file"] = SimpleUploadedFile(name, data.draw(st.sampled_from([b"PK\x03\x04", b"", b"\xff\xfe"]))
                                          + data.draw(st.binary(max_size=200)))
    response = send(admin, "post", "/reports/import/official/", form)
    assert response.status_code in (200, 302, 400)
    assert snapshot() == before
    assert "<script>alert(" not in response.content.decode()


# --- The admin's change forms --------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_admin_change_forms_survive_hostile_input(world, data):
    client, evaluation = world["clients"]["admin"], world["evaluation"]
    model, pk = data.draw(st.sampled_from([
        ("evaluation", evaluation.pk), ("framework", evaluation.framework_id), ("unit", evaluation.unit_id),
    ]))
    url = f"/admin/evaluations/{model}/{pk}/change/"
    page = form_data(client.get(url).content.decode(), f"{model}_form")
    COUNT["requests"] += 1
    form = mutate(page, data.draw)
    before = snapshot()
    response = send(client, "post", url, form)
    assert response.status_code in (200, 302, 400, 403), response.status_code
    if response.status_code != 302:  # the form came back with its errors
        assert snapshot() == before
        assert "<script>alert(" not in response.content.decode()
    else:
        assert_escaped(client, url, f"/admin/evaluations/{model}/")
