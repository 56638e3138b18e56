"""Workflow pages over HTTP: the review page, actions, comments; constant queries from 10 to 500 units."""

import pytest
from django.db import connection
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.test import Client
from django.test.utils import CaptureQueriesContext

from evaluations import access, workflow
from evaluations.models import Evaluation, EvaluationStatus, Unit
from tests.factories import login, make_evaluation, make_framework, make_unit, make_user

pytestmark = pytest.mark.django_db
S = EvaluationStatus



def add_units(parent, count, framework, submitter):
    start = Unit.objects.count()
    Unit.objects.bulk_create(
        Unit(name=f"批量单位{start + n}", code=f"B{start + n:05d}", parent=parent) for n in range(count)
    )
    units = Unit.objects.filter(parent=parent, path="")
    units.update(path=Concat(Value(parent.path), Cast("pk", CharField()), Value("/")))
    Evaluation.objects.bulk_create(
        Evaluation(unit=u, framework=framework, status=[S.SUBMITTED, S.DRAFT, S.RETURNED, S.APPROVED][n % 4],
                   submitted_by=submitter)
        for n, u in enumerate(Unit.objects.filter(parent=parent, evaluations__isnull=True))
    )


@pytest.mark.parametrize("page", ["/evaluations/overview/?year=2024", "/evaluations/queue/", "/evaluations/tasks/",
                                  "/evaluations/?year=2024", "DETAIL", "REVIEW"])
def test_pages_keep_constant_queries_from_10_to_500_units(page):
    framework = make_framework()
    district = make_unit("区")
    filler = make_user(access.FILLER)
    reviewer = make_user(access.REVIEWER, charge=district)
    evaluation = make_evaluation(unit=make_unit("镇", parent=district))
    client = login(reviewer)
    url = {"DETAIL": f"/evaluations/{evaluation.pk}/", "REVIEW": f"/evaluations/{evaluation.pk}/review/"}.get(page, page)
    counts = []
    for total in (10, 500):
        add_units(district, total - Unit.objects.filter(parent=district).count(), framework, filler)
        client.get(url)  # warm: once-per-session work (login bookkeeping) is not what grows with data
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(queries))
    assert Unit.objects.filter(parent=district).count() == 500
    assert counts[0] == counts[1], counts


def test_overview_shows_counts_filters_and_units_not_started():
    framework = make_framework()
    district = make_unit("区")
    make_unit("未开始镇", parent=district)
    done = make_evaluation(unit=make_unit("已提交镇", parent=district), framework=framework)
    filler = make_user(access.FILLER, units=[done.unit])
    workflow.submit(done, by=filler)
    reviewer = make_user(access.REVIEWER, charge=district)
    html = login(reviewer).get("/evaluations/overview/?year=2024").content.decode()
    assert "未开始镇" in html and "已提交镇" in html and "未开始 2" in html and "已提交 1" in html
    html = login(reviewer).get("/evaluations/overview/?year=2024&status=已提交").content.decode()
    assert "已提交镇" in html and "未开始镇" not in html


def test_review_round_trip_over_http(demo):
    filler, reviewer = Client(), Client()
    filler.login(username="filler", password="demo-filler-2024")
    reviewer.login(username="reviewer", password="demo-reviewer-2024")
    assert "检查通过" in filler.get(f"/evaluations/{demo.pk}/").content.decode()
    filler.post(f"/evaluations/{demo.pk}/actions/submit/", {"version": demo.version})
    demo.refresh_from_db()
    assert demo.status == S.SUBMITTED
    queue = reviewer.get("/evaluations/queue/").content.decode()
    assert "广州市番禺区化龙镇人民政府" in queue
    row = demo.results.get(name="预算调整率")
    reviewer.post(f"/evaluations/{demo.pk}/comments/", {"result": row.pk, "text": "调整率偏高，请说明原因。"})
    response = reviewer.post(f"/evaluations/{demo.pk}/actions/return_for_changes/", {"reason": ""}, follow=True)
    assert "请填写退回修改的原因" in response.content.decode()
    reviewer.post(f"/evaluations/{demo.pk}/actions/return_for_changes/", {"reason": "请答复意见"})
    demo.refresh_from_db()
    assert demo.status == S.RETURNED
    page = filler.get(f"/evaluations/{demo.pk}/").content.decode()
    assert "调整率偏高，请说明原因。" in page and "还有 1 条审核意见未答复" in page
    comment = demo.comments.get()
    filler.post(f"/evaluations/{demo.pk}/comments/{comment.pk}/answer/", {"answer": "年中追加了重点项目。"})
    # The filler fixes the row in the edit form; the reviewer then sees exactly that change.
    from tests.forms import form_data

    data = form_data(filler.get(f"/evaluations/{demo.pk}/edit/").content.decode())
    reason_field = next(k for k in data if k.endswith("-deviation_reason") and data[k.replace("deviation_reason", "row_id")] == str(row.pk))
    data[reason_field] = "年中追加重点项目，调整幅度较大；下一步细化预算编制。"
    assert filler.post(f"/evaluations/{demo.pk}/edit/", data).status_code == 302
    filler.post(f"/evaluations/{demo.pk}/actions/submit/", {})
    demo.refresh_from_db()
    assert demo.status == S.SUBMITTED
    review = reviewer.get(f"/evaluations/{demo.pk}/review/").content.decode()
    assert "退回以来的修改（1 处）" in review and "年中追加重点项目" in review
    reviewer.post(f"/evaluations/{demo.pk}/actions/approve/", {})
    demo.refresh_from_db()
    assert demo.status == S.APPROVED
    assert [e.to_status for e in demo.events.order_by("pk")] == [S.SUBMITTED, S.RETURNED, S.SUBMITTED, S.APPROVED]


def test_stale_edit_over_http_keeps_the_input(demo):
    from tests.forms import form_data

    first, second = Client(), Client()
    for c in (first, second):
        c.login(username="filler", password="demo-filler-2024")
    page = second.get(f"/evaluations/{demo.pk}/edit/").content.decode()
    data1 = form_data(first.get(f"/evaluations/{demo.pk}/edit/").content.decode())
    data1["note-budget_note"] = "第一人写的说明"
    assert first.post(f"/evaluations/{demo.pk}/edit/", data1).status_code == 302
    data2 = form_data(page)
    data2["note-budget_note"] = "第二人写的说明"
    response = second.post(f"/evaluations/{demo.pk}/edit/", data2)
    html = response.content.decode()
    assert response.status_code == 409
    assert "其他人修改了同样的 1 处内容" in html and "第一人写的说明" in html and "第二人写的说明" in html
    demo.refresh_from_db()
    assert demo.budget_note == "第一人写的说明"


def test_overview_marks_overdue_and_returned_units(settings):
    import datetime

    framework = make_framework()
    framework.submission_deadline = datetime.date(2000, 1, 1)  # long past
    framework.save()
    district = make_unit("区")
    late = make_evaluation(unit=make_unit("草稿镇", parent=district), framework=framework)
    returned = make_evaluation(unit=make_unit("退回镇", parent=district), framework=framework)
    filler = make_user(access.FILLER, units=[returned.unit, late.unit])
    reviewer = make_user(access.REVIEWER, charge=district)
    workflow.submit(returned, by=filler)
    workflow.return_for_changes(returned, by=reviewer, reason="请修改")
    client = login(reviewer)
    html = client.get("/evaluations/overview/?year=2024").content.decode()
    assert "逾期未提交 3 个单位" in html and "已退回 1" in html and "未开始 1" in html  # 区 itself has not started
    overdue = client.get("/evaluations/overview/?year=2024&status=逾期").content.decode()
    assert "草稿镇" in overdue and "退回镇" in overdue
    assert "退回修改" in html  # the last action


@pytest.mark.parametrize("action", ["submit", "return_for_changes", "comment"])
def test_actions_take_the_same_queries_for_10_and_100_rows(action):
    """An action checks who may act and redirects: it takes a fixed number of queries, and only the submission
    checklist loads what the pages read (the 说明's sections among it)."""
    framework = make_framework()
    district = make_unit("区")
    filler = make_user(access.FILLER)
    reviewer = make_user(access.REVIEWER, charge=district)
    client = login(filler if action == "submit" else reviewer)
    counts = []
    for rows in (10, 100):
        evaluation = make_evaluation(unit=make_unit(f"镇{rows}", parent=district), framework=framework, extra_rows=rows)
        evaluation.unit.members.add(filler)
        if action != "submit":
            workflow.submit(evaluation, by=filler)
        url, data = {
            "submit": (f"/evaluations/{evaluation.pk}/actions/submit/", {}),
            "return_for_changes": (f"/evaluations/{evaluation.pk}/actions/return_for_changes/", {"reason": "请补充佐证"}),
            "comment": (f"/evaluations/{evaluation.pk}/comments/", {"text": "预算执行率的依据请补充。"}),
        }[action]
        with CaptureQueriesContext(connection) as queries:
            response = client.post(url, data)
        assert response.status_code == 302
        counts.append(len(queries))
        reads_sections = any('"evaluations_narrativesection"' in q["sql"] for q in queries)
        assert reads_sections == (action == "submit"), [q["sql"][:80] for q in queries]
        evaluation.refresh_from_db()
        if action == "comment":
            assert evaluation.comments.filter(text="预算执行率的依据请补充。").exists()
        else:
            assert evaluation.status == {"submit": S.SUBMITTED, "return_for_changes": S.RETURNED}[action]
    assert counts[0] == counts[1], counts


def test_timeline_names_each_action_in_chinese():
    district = make_unit("区")
    reviewer = make_user(access.REVIEWER, charge=district)
    evaluation = make_evaluation(unit=make_unit("镇", parent=district))
    Evaluation.objects.filter(pk=evaluation.pk).update(status=S.SUBMITTED)
    evaluation.refresh_from_db()
    workflow.return_for_changes(evaluation, by=reviewer, reason="请补充数据来源。")
    page = login(reviewer).get(f"/evaluations/{evaluation.pk}/").content.decode()
    timeline = page[page.index("流程记录"):]
    assert "<strong>退回修改</strong>（已提交 → 已退回）" in timeline
