"""Every POST goes through a form (issue 13): no view reads `request.POST` or `request.FILES` but by handing it to
a form, and what the desk's, the project page's, the edit page's and the imports' forms refuse is said in Chinese,
with nothing written.

The first test reads the source: each use of `request.POST`/`request.FILES` in the app's code must be the data of a
form's constructor (`SomeForm(request.POST)`, `SomeForm(request.POST if … else None)`, `SomeForm(data=request.POST)`).
"""

import ast
import datetime
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from evaluations import access, rechecks, workflow
from evaluations.models import (
    Framework,
    Recheck,
    RecheckEvent,
    RecheckScore,
    RecheckStatus,
    Rectification,
    RectificationState,
    ReportNarrative,
)
from tests.factories import PASSWORD, make_evaluation, make_project, make_project_framework, make_unit, make_user

ROOT = Path(__file__).resolve().parent.parent
APPS = ("evaluations", "reports", "config", "ops")
# Not a view: the middleware refusing a NUL character looks at every parameter before any view runs.
INSPECTS_ONLY = {"ops/security.py"}
REQUEST_DATA = ("POST", "FILES")


def _is_request_data(node):
    if not (isinstance(node, ast.Attribute) and node.attr in REQUEST_DATA):
        return False
    owner = node.value
    return (isinstance(owner, ast.Name) and owner.id == "request") or (
        isinstance(owner, ast.Attribute) and owner.attr == "request")


def _is_form(call):
    func = call.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name.endswith(("Form", "FormSet"))


def reads_past_a_form(source):
    """The line numbers where request data is used other than as the data of a form's constructor."""
    tree = ast.parse(source)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    found = []
    for node in ast.walk(tree):
        if not _is_request_data(node):
            continue
        at, parent = node, parents.get(node)
        if isinstance(parent, ast.IfExp) and at is not parent.test:  # SomeForm(request.POST if … else None)
            at, parent = parent, parents.get(parent)
        if isinstance(parent, ast.keyword):  # SomeForm(data=request.POST, files=request.FILES)
            at, parent = parent, parents.get(parent)
        if isinstance(parent, ast.Call) and _is_form(parent) and at in (*parent.args, *parent.keywords):
            continue
        found.append(node.lineno)
    return found


def app_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative and relative not in INSPECTS_ONLY:
                yield relative, path.read_text(encoding="utf-8")


def test_no_view_reads_post_data_past_a_form():
    offending = [f"{name}:{line}" for name, source in app_modules() for line in reads_past_a_form(source)]
    assert not offending, f"这些地方绕过表单直接读取了 request.POST/FILES：{offending}"


def test_the_source_check_finds_what_it_should():
    assert reads_past_a_form('x = request.POST.get("year")') == [1]
    assert reads_past_a_form("data = request.POST\nform = F(data)") == [1]
    assert reads_past_a_form("upload = request.FILES['file']") == [1]
    assert reads_past_a_form("_choices(request.POST)") == [1]
    assert reads_past_a_form("f = SomeForm(request.POST if request.POST else None)") == [1]  # the test reads it
    assert reads_past_a_form("f = helper(request.POST)") == [1]
    assert reads_past_a_form("x = self.request.POST.getlist('a')") == [1]
    assert reads_past_a_form("\n".join([
        "a = ImportForm(request.POST, request.FILES)",
        "b = forms.CommentForm(request.POST, evaluation=e)",
        'c = EvaluationContentForm(e, request.POST if request.method == "POST" else None)',
        "d = RowFormSet(data=request.POST, files=request.FILES)",
        "e = form or ExportStartForm(request.POST)",
    ])) == []
    # …and the app's views do hand their data to forms: the check is not passing on an empty walk.
    handed = sum(source.count("Form(request.POST") for _name, source in app_modules())
    assert handed >= 15


# --- What the forms refuse, over HTTP: a Chinese message, nothing written --------------------------------------


TOMORROW = timezone.localdate() + datetime.timedelta(days=1)


def client_for(user):
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def flash(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def desk(db):
    district = make_unit("某区")
    town = make_unit("某镇", parent=district)
    evaluation = make_evaluation(unit=town)
    other = make_evaluation(unit=make_unit("另一镇", parent=district))
    people = {
        "filler": make_user(access.FILLER, units=[town]),
        "drafter": make_user(access.REVIEWER, charge=district),
        "second": make_user(access.REVIEWER, charge=district),
    }
    workflow.submit(evaluation, by=people["filler"])
    workflow.approve(evaluation, by=people["drafter"])
    recheck = rechecks.draw(evaluation, by=people["drafter"])
    return {"evaluation": evaluation, "other": other, "recheck": recheck,
            **{name: client_for(user) for name, user in people.items()}, "people": people}


def recheck_state(recheck):
    recheck = Recheck.objects.get(pk=recheck.pk)
    return (recheck.status, recheck.version, recheck.opinion, recheck.answer, list(RecheckScore.objects.values_list()),
            RecheckEvent.objects.count(), list(Rectification.objects.values_list()))


@pytest.mark.django_db
@pytest.mark.parametrize(("posted", "said"), [
    ({"result": "abc", "score": "10"}, "该指标不属于本次复核的自评"),
    ({"result": "9" * 40, "score": "10"}, "该指标不属于本次复核的自评"),
    ({"result": "other", "score": "10"}, "该指标不属于本次复核的自评"),  # another evaluation's row
    ({"score": "10"}, "请选择要复核评分的指标"),
    ({"result": "own", "score": "1", "note": "说" * 2001}, "复核说明不能超过 2000 字（现有 2001 字）"),
    ({"result": "own", "score": "1", "reason": "x"}, "所选的标准扣分原因已停用"),
    ({"result": "own", "score": "1", "note": "n", "version": "abc"}, "页面已过期，请刷新页面后再操作"),  # was a 500
    ({"result": "own", "score": "1", "note": "n", "version": "-1"}, "页面已过期"),
    ({"result": "own", "score": "9" * 400, "note": "n"}, "复核得分应为数字"),
])
def test_a_refused_recheck_score_says_why_and_writes_nothing(desk, posted, said):
    evaluation, recheck = desk["evaluation"], desk["recheck"]
    rows = {"own": str(evaluation.results.first().pk), "other": str(desk["other"].results.first().pk)}
    posted = {k: rows.get(v, v) for k, v in posted.items()}
    before = recheck_state(recheck)
    response = desk["drafter"].post(f"/evaluations/{evaluation.pk}/recheck/score/", posted, follow=True)
    assert response.status_code == 200
    assert any(said in m for m in flash(response)), flash(response)
    assert recheck_state(recheck) == before


@pytest.mark.django_db
def test_a_recheck_score_through_the_form_is_saved(desk):
    evaluation, recheck = desk["evaluation"], desk["recheck"]
    row = evaluation.results.get(name="服务对象满意度")
    response = desk["drafter"].post(f"/evaluations/{evaluation.pk}/recheck/score/", {
        "result": row.pk, "score": " 14 ", "note": "问卷\r\n仅 20 份\x0b", "version": recheck.version, "reason": ""})
    assert response["Location"].endswith(f"#row-{row.pk}")
    saved = RecheckScore.objects.get(recheck=recheck, result=row)
    assert (str(saved.score), saved.note, saved.reason) == ("14.00", "问卷\n仅 20 份", None)


@pytest.mark.django_db
@pytest.mark.parametrize(("posted", "said"), [
    ({"opinion": "核减", "answer_deadline": "2025-13-45"}, "申辩截止日期格式不正确，请按“2025-05-31”的格式填写。"),
    ({"opinion": "核减", "answer_deadline": "明天"}, "申辩截止日期格式不正确"),
    ({"opinion": "意" * 2001, "answer_deadline": "2099-01-01"}, "复核意见不能超过 2000 字（现有 2001 字）"),
    ({"opinion": "核减", "answer_deadline": "2099-01-01", "version": "1e9"}, "页面已过期"),
    ({"opinion": "核减"}, "请填写申辩截止日期"),
])
def test_a_refused_confirmation_says_why_and_writes_nothing(desk, posted, said):
    evaluation, recheck = desk["evaluation"], desk["recheck"]
    before = recheck_state(recheck)
    response = desk["second"].post(f"/evaluations/{evaluation.pk}/recheck/actions/confirm/", posted, follow=True)
    assert response.status_code == 200 and any(said in m for m in flash(response)), flash(response)
    assert recheck_state(recheck) == before


@pytest.mark.django_db
def test_an_overlong_answer_is_refused_with_its_name(desk):
    evaluation, recheck = desk["evaluation"], desk["recheck"]
    rechecks.confirm(recheck, by=desk["people"]["second"], opinion="核减。", answer_deadline=TOMORROW)
    before = recheck_state(recheck)
    response = desk["filler"].post(f"/evaluations/{evaluation.pk}/recheck/actions/answer/",
                                   {"reason": "辩" * 2001, "version": before[1]}, follow=True)
    assert "申辩内容不能超过 2000 字（现有 2001 字），请精简后再提交。" in flash(response)
    assert recheck_state(recheck) == before
    desk["filler"].post(f"/evaluations/{evaluation.pk}/recheck/actions/answer/", {"reason": "有依据。", "version": before[1]})
    assert Recheck.objects.get(pk=recheck.pk).status == RecheckStatus.ANSWERED


@pytest.mark.django_db
@pytest.mark.parametrize(("posted", "said"), [
    ({"problem": "未填偏差原因", "deadline": "2025-02-30"}, "整改期限格式不正确，请按“2025-06-30”的格式填写。"),
    ({"problem": "问" * 2001, "deadline": "2099-06-30"}, "存在问题不能超过 2000 字（现有 2001 字）"),
    ({"problem": "未填偏差原因", "requirement": "要" * 5000, "deadline": "2099-06-30"}, "整改要求不能超过 2000 字"),
    ({"problem": "", "deadline": "2099-06-30"}, "请填写存在的问题"),
])
def test_a_refused_rectification_says_why_and_writes_nothing(desk, posted, said):
    evaluation = desk["evaluation"]
    before = recheck_state(desk["recheck"])
    response = desk["drafter"].post(f"/evaluations/{evaluation.pk}/rectifications/", posted, follow=True)
    assert response.status_code == 200 and any(said in m for m in flash(response)), flash(response)
    assert recheck_state(desk["recheck"]) == before


@pytest.mark.django_db
def test_a_rectification_answer_and_review_through_their_forms(desk):
    evaluation, drafter = desk["evaluation"], desk["people"]["drafter"]
    item = rechecks.add_rectification(evaluation, by=drafter, problem="未填偏差原因", deadline=TOMORROW)
    answer_url = f"/evaluations/{evaluation.pk}/rectifications/{item.pk}/answer/"
    review_url = f"/evaluations/{evaluation.pk}/rectifications/{item.pk}/review/"
    refused = desk["filler"].post(answer_url, {"answer": "改" * 2001}, follow=True)
    assert "整改情况不能超过 2000 字（现有 2001 字），请精简后再提交。" in flash(refused)
    bad_file = SimpleUploadedFile("佐证.pdf", b"not a pdf")
    refused = desk["filler"].post(answer_url, {"answer": "已补充", "evidence": bad_file}, follow=True)
    assert any("内容不是" in m for m in flash(refused)), flash(refused)
    item.refresh_from_db()
    assert (item.state, item.answer, item.evidence.name) == (RectificationState.OPEN, "", "")
    desk["filler"].post(answer_url, {"answer": "已补充\r\n偏差原因"})
    item.refresh_from_db()
    assert (item.state, item.answer) == (RectificationState.ANSWERED, "已补充\n偏差原因")
    for posted in ({"reason": "x"}, {"decision": "maybe"}, {"decision": "reopen", "reason": "说" * 2001}):
        refused = desk["drafter"].post(review_url, posted, follow=True)
        assert any(m.startswith(("请选择销号或退回整改", "说明不能超过 2000 字")) for m in flash(refused)), flash(refused)
        item.refresh_from_db()
        assert item.state == RectificationState.ANSWERED
    desk["drafter"].post(review_url, {"decision": "close"})
    item.refresh_from_db()
    assert item.state == RectificationState.CLOSED


@pytest.mark.django_db
def test_the_report_narrative_through_its_form(desk):
    reviewer = desk["drafter"]
    url = "/evaluations/report/narrative/"
    for year in ("abc", "1999", "99999999999999999999", ""):
        assert reviewer.post(url, {"year": year, "part": "problems", "body": "x"}).status_code == 404
    assert Framework.objects.filter(year=2024).exists()
    refused = reviewer.post(url, {"year": "2024", "part": "other", "body": "x"}, follow=True)
    assert flash(refused) == ["请选择要保存的报告部分（总体评价、存在的主要问题或下一步工作）。"]
    refused = reviewer.post(url, {"year": "2024", "part": "problems", "body": "字" * 5001}, follow=True)
    assert flash(refused) == ["正文不能超过 5000 字（现有 5001 字），请精简后再保存。"]
    assert not ReportNarrative.objects.exists()
    reviewer.post(url, {"year": "2024", "part": "problems", "body": " 一、偏低\r\n二、\x01不足 "})
    assert ReportNarrative.objects.get().body == "一、偏低\n二、不足"


# --- The project page, the edit page, the imports -------------------------------------------------------------


@pytest.mark.django_db
def test_project_delete_and_version_through_their_forms():
    from evaluations.models import Project
    from tests.forms import form_data

    make_project_framework()
    town = make_unit("某镇")
    project = make_project(make_evaluation(unit=town))
    client = client_for(make_user(access.FILLER, units=[town]))
    for confirm in ({}, {"confirm": "0"}, {"confirm": "false"}, {"confirm": ["1", "on"]}):
        refused = client.post(f"/evaluations/projects/{project.pk}/delete/", confirm, follow=True)
        assert "请勾选“确认删除”后再删除项目。" in flash(refused)
    data = form_data(client.get(f"/evaluations/projects/{project.pk}/edit/").content.decode(), form_id="project-form")
    data["project-goal_actual"] = "改过的内容"
    for garbled in ("abc", "-5", "9" * 30, "", data["base"][:-2]):  # a page whose token is not ours is a stale page
        response = client.post(f"/evaluations/projects/{project.pk}/edit/", data | {"base": garbled})
        assert response.status_code == 409 and "页面已过期或不完整" in response.content.decode()
    assert Project.objects.get(pk=project.pk).goal_actual == "实际完成情况"
    assert client.post(f"/evaluations/projects/{project.pk}/edit/", data).status_code == 302
    assert client.post(f"/evaluations/projects/{project.pk}/delete/", {"confirm": "1"}).status_code == 302
    assert not Project.objects.filter(pk=project.pk).exists()


@pytest.mark.django_db
def test_the_edit_page_ignores_what_is_not_its_own(cast):
    client = client_for(cast.filler)
    evaluation = cast.evaluation
    from tests.forms import form_data

    page = client.get(f"/evaluations/{evaluation.pk}/edit/").content.decode()
    data = form_data(page, "edit-form")
    hostile = {"open_detail": ["rows-0", "../../x", "rows-99999"], "resolve-x": "rm -rf", "resolve-": "mine"}
    preview = client.post(f"/evaluations/{evaluation.pk}/edit/preview/", data | hostile)
    assert preview.status_code == 200
    saved = client.post(f"/evaluations/{evaluation.pk}/edit/", data | hostile | {"base": "不是令牌" * 100})
    assert saved.status_code < 500


@pytest.mark.django_db
def test_a_refused_comment_is_shown_where_it_was_typed(cast):
    evaluation = cast.evaluation
    workflow.submit(evaluation, by=cast.filler)
    reviewer = client_for(cast.reviewer)
    row = evaluation.results.first()
    response = reviewer.post(f"/evaluations/{evaluation.pk}/comments/", {"result": row.pk, "text": "意" * 2001},
                             HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and response["HX-Retarget"] == f"#comment-error-result-{row.pk}"
    response = reviewer.post(f"/evaluations/{evaluation.pk}/comments/", {"result": "x1", "text": ""},
                             HTTP_HX_REQUEST="true")
    assert response["HX-Retarget"] == "#comment-error-whole-0"
    assert not evaluation.comments.exists()


@pytest.fixture
def importer(db, settings, tmp_path):
    settings.IMPORT_TMP_DIR = tmp_path / "imports"
    evaluation = make_evaluation(unit=make_unit("某镇"))
    return evaluation, client_for(make_user(access.ADMIN))


@pytest.mark.django_db
def test_the_official_import_refuses_a_garbled_year_and_token(importer):
    from evaluations.models import FieldChange
    from evaluations.spreadsheets import official

    evaluation, admin = importer
    workbook = io.BytesIO()
    official.official_workbook(evaluation).save(workbook)
    before = (evaluation.version, FieldChange.objects.count())
    for year in ("abc", "20 24", "99999", "-1"):  # "abc" was a 500 (int("abc") in the import)
        upload = SimpleUploadedFile("自评表.xlsx", workbook.getvalue())
        response = admin.post("/reports/import/official/", {"file": upload, "year": year})
        assert response.status_code == 200
        assert "请选择要导入到的年度，或选“与文件相同”。" in response.content.decode()
    for token in ("../../etc/passwd", "a" * 65, "deadbeef"):
        response = admin.post("/reports/import/official/", {"token": token}, follow=True)
        assert "导入已失效，请重新上传文件。" in flash(response)
    evaluation.refresh_from_db()
    assert (evaluation.version, FieldChange.objects.count()) == before
    preview = admin.post("/reports/import/official/", {"file": SimpleUploadedFile("自评表.xlsx", workbook.getvalue())})
    token = preview.context["token"]
    refused = admin.post("/reports/import/official/", {"token": token, "year": "abc"})
    assert "请选择要导入到的年度" in refused.content.decode()
    done = admin.post("/reports/import/official/", {"token": token, "year": ""})
    assert done.status_code == 302


# --- Hostile input to the desk's forms (as tests/test_fuzz.py does for the units' forms) -----------------------

from django.contrib.messages import constants, get_messages  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.test_fuzz import FUZZ, mutate, send  # noqa: E402


def refused(response):
    return any(m.level == constants.ERROR for m in get_messages(response.wsgi_request))


@pytest.mark.django_db
@FUZZ
@given(data=st.data())
def test_the_desks_forms_survive_hostile_input(desk, data):
    evaluation, recheck = desk["evaluation"], Recheck.objects.get(pk=desk["recheck"].pk)
    row = evaluation.results.first()
    client, url, form = data.draw(st.sampled_from([
        ("drafter", "recheck/score/", {"result": row.pk, "score": "10", "note": "核减", "version": recheck.version,
                                       "reason": ""}),
        ("second", "recheck/actions/confirm/", {"opinion": "核减", "answer_deadline": "2099-01-01",
                                                "version": recheck.version}),
        ("drafter", "rectifications/", {"problem": "未填偏差原因", "requirement": "补充", "deadline": "2099-06-30"}),
        ("drafter", "/evaluations/report/narrative/", {"year": "2024", "part": "problems", "body": "偏低"}),
    ]))
    url = url if url.startswith("/") else f"/evaluations/{evaluation.pk}/{url}"
    before = (recheck_state(recheck), list(ReportNarrative.objects.values_list()))
    desk[client].cookies.pop("messages", None)  # what this request says, not what earlier ones left unread
    response = send(desk[client], "post", url, mutate({k: str(v) for k, v in form.items()}, data.draw))
    assert response.status_code in (302, 400, 403, 404), response.status_code
    if response.status_code != 302 or refused(response):
        assert (recheck_state(recheck), list(ReportNarrative.objects.values_list())) == before
