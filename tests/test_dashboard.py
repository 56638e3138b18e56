"""The 总览's numbers: one line per unit in scope, counts, grades, bands, losses and changes, in fixed queries."""

import io
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluations import access, dashboard, rechecks, workflow
from evaluations.models import Evaluation, Framework, Unit
from tests.factories import make_evaluation, make_framework, make_unit, make_user

pytestmark = pytest.mark.django_db


def desk_for(user, year=2024, **scope):
    units = dashboard.scoped_units(user, **scope)
    framework = Framework.objects.filter(year=year).first()
    return dashboard.build(dashboard.unit_lines(units, year, framework), dashboard.indicator_losses(units, year), year)


def stored(evaluation):
    """After a test's direct write to rows: the scores and totals stored, as every write home stores them."""
    Evaluation.objects.with_scoring_data().get(pk=evaluation.pk).refresh_computed_scores()


def queries_for(user):
    with CaptureQueriesContext(connection) as captured:
        desk_for(user)
    return len(captured)


def test_same_queries_at_10_and_100_units():
    call_command("seed_scale", units=10, rows=14, prefix="A", stdout=io.StringIO())
    call_command("seed_scale", units=100, rows=14, prefix="B", stdout=io.StringIO())
    small = make_user(access.REVIEWER, charge=Unit.objects.get(code="A-ROOT"))
    large = make_user(access.REVIEWER, charge=Unit.objects.get(code="B-ROOT"))
    assert len(desk_for(small).lines) == 11 and len(desk_for(large).lines) == 101  # (roles now known)
    # The framework; the evaluations with their stored totals, the 复核, the units; the losing rows and their names.
    assert queries_for(small) == queries_for(large) == 6


def test_the_numbers_a_reviewer_sees():
    district = make_unit("某区")
    towns = [make_unit(f"镇{n}", parent=district) for n in range(3)]
    filler = make_user(access.FILLER, units=towns)
    drafter, second = make_user(access.REVIEWER, charge=district), make_user(access.REVIEWER, charge=district)
    make_user(access.REVIEWER, charge=make_unit("别区"))
    last_year = make_evaluation(unit=towns[0], framework=make_framework(2023))
    last_year.results.filter(name="服务对象满意度").update(score=D("8"))  # 88 last year (a draft: reasons not checked)
    stored(last_year)
    full = make_evaluation(unit=towns[0])
    weak = make_evaluation(unit=towns[1])
    weak.results.filter(name="服务对象满意度").update(score=D("5"), deviation_reason="问卷回收率低，下一步改进调查方法。")  # 85: 良
    stored(weak)
    for evaluation in (full, weak):
        workflow.submit(evaluation, by=filler)
        workflow.approve(evaluation, by=drafter)
    recheck = rechecks.draw(full, by=drafter)
    rechecks.rescore(recheck, full.results.get(name="服务对象满意度"), by=drafter, score="12", note="问卷不足")
    import datetime

    from django.utils import timezone

    rechecks.confirm(recheck, by=second, opinion="满意度无佐证。",
                     answer_deadline=timezone.localdate() + datetime.timedelta(days=5))
    desk = desk_for(drafter)
    assert [line.name for line in desk.lines] == ["某区", "镇0", "镇1", "镇2"]
    by_name = {line.name: line for line in desk.lines}
    assert (by_name["镇0"].own_score, by_name["镇0"].final_score, by_name["镇0"].grade) == (D("100.00"), D("92.00"), "优")
    assert by_name["镇0"].change == D("4.00")  # 92 (复核) against 88
    assert desk.status_counts["已通过"] == 2 and desk.status_counts["未开始"] == 2
    assert desk.grade_counts == {"优": 1, "良": 1, "中": 0, "差": 0}
    assert [(label, n) for label, _low, _high, n in desk.bands][-2:] == [("80–90", 1), ("90–100", 1)]
    assert desk.average == D("88.50") and desk.rechecked == 1
    assert desk.losses[0]["name"] == "服务对象满意度" and desk.losses[0]["lost"] == D("15") and desk.losses[0]["units"] == 1
    only_first = desk_for(drafter, subtree=towns[0])
    assert [line.name for line in only_first.lines] == ["镇0"]


def test_overdue_and_returned_are_counted():
    import datetime

    district = make_unit("某区")
    make_unit("迟镇", parent=district)  # never started
    returned = make_unit("退镇", parent=district)
    filler = make_user(access.FILLER, units=[returned])
    reviewer = make_user(access.REVIEWER, charge=district)
    framework = make_framework()
    framework.submission_deadline = datetime.date(2025, 3, 31)
    framework.save()
    evaluation = make_evaluation(unit=returned, framework=framework)
    workflow.submit(evaluation, by=filler)
    workflow.return_for_changes(evaluation, by=reviewer, reason="请补充")
    units = dashboard.scoped_units(reviewer)
    lines = dashboard.unit_lines(units, 2024, framework, today=datetime.date(2025, 4, 1))
    desk = dashboard.build(lines, [], 2024)
    assert desk.overdue == 3 and desk.returned == 1  # the district itself has not started either
    assert [line.name for line in dashboard.filter_lines(lines, status="已退回")] == ["退镇"]
    assert {line.name for line in dashboard.filter_lines(lines, status="逾期")} == {"某区", "迟镇", "退镇"}


# --- The stored totals (EvaluationTotals) follow every kind of write ---------------------------------------


def database_totals(evaluation):
    """What the database says now, summed from the stored rows and funding lines (the sums the 总览 made before)."""
    from django.db.models import Sum

    from evaluations.models import FUNDING_SOURCES

    score = evaluation.results.aggregate(t=Sum("score"))["t"]
    funds = evaluation.budget_lines.filter(item__in=FUNDING_SOURCES).aggregate(a=Sum("adjusted_budget"), x=Sum("executed"))
    return (score, funds["a"], funds["x"])


def stored_totals(evaluation):
    from evaluations.models import EvaluationTotals

    t = EvaluationTotals.objects.get(evaluation=evaluation)
    return (t.score, t.adjusted_budget, t.executed)


def assert_all_current():
    evaluations = list(Evaluation.objects.all())
    assert evaluations
    for evaluation in evaluations:
        assert stored_totals(evaluation) == database_totals(evaluation), evaluation


def login(user):
    from django.test import Client

    from tests.factories import PASSWORD

    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_a_new_evaluation_and_one_started_from_last_year_have_their_totals():
    previous = make_evaluation(extra_rows=2)
    filler = make_user(access.FILLER, units=[previous.unit])
    make_framework(2025)
    response = login(filler).post("/evaluations/start/", {"unit": previous.unit.pk, "year": 2025, "from_previous": "1"})
    assert response.status_code == 302
    fresh_start = Evaluation.objects.start(unit=make_unit("新单位"), framework=Framework.objects.get(year=2025))
    assert stored_totals(fresh_start)[0] is None  # no 得分 yet: as the database's sum of nothing
    assert_all_current()


def test_saving_the_edit_page_stores_the_new_total_and_execution_rate():
    from tests.forms import form_data

    evaluation = make_evaluation(extra_rows=2)
    client = login(make_user(access.FILLER, units=[evaluation.unit]))
    url = f"/evaluations/{evaluation.pk}/edit/"
    data = form_data(client.get(url).content.decode(), "edit-form")
    before = stored_totals(evaluation)
    executed = next(k for k in data if k.endswith("-executed") and data[k] not in ("", "0", "0.00"))
    data[executed] = "50"  # 执行率 down: the 预算执行率 row loses points
    assert client.post(url, data).status_code == 302
    after = stored_totals(evaluation)
    assert after != before and after[2] < before[2] and after[0] < before[0]
    assert_all_current()


def test_the_admin_form_the_admin_import_and_the_official_import_store_the_totals(demo):
    from django.contrib.auth import get_user_model

    from evaluations.spreadsheets import official
    from evaluations.spreadsheets.resources import IndicatorResultResource
    from tests.forms import form_data

    admin = get_user_model().objects.get(username="admin")
    client = login(make_user(access.ADMIN))
    row = demo.results.filter(rule="proportional", actual_source="", actual_value__isnull=False).first()
    before = stored_totals(demo)

    url = f"/admin/evaluations/evaluation/{demo.pk}/change/"
    data = form_data(client.get(url).content.decode(), "evaluation_form")
    prefix = next(k for k, v in data.items() if k.endswith("-name") and v == row.name).replace("-name", "")
    data[f"{prefix}-actual_value"] = "0"
    assert client.post(url, data).status_code == 302
    after_admin = stored_totals(demo)
    assert after_admin[0] < before[0]
    assert_all_current()

    dataset = IndicatorResultResource().export(Evaluation.objects.filter(pk=demo.pk))
    index = dataset["三级指标"].index(row.name)
    values = list(dataset[index])
    values[dataset.headers.index("实际完成值")] = str(row.actual_value)  # back to the target's figure
    dataset[index] = values
    result = IndicatorResultResource().import_data(dataset, dry_run=False, user=admin)
    assert not result.has_errors() and not result.has_validation_errors()
    assert stored_totals(demo) == before
    assert_all_current()

    workbook = io.BytesIO()
    official.official_workbook(Evaluation.objects.with_document_data().get(pk=demo.pk)).save(workbook)
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(workbook.getvalue()))
    sheet = book.active
    cell = next(c for r in sheet.iter_rows() for c in r if c.value == row.name)
    sheet.cell(cell.row, official.COL["实际完成值"]).value = 0
    edited = io.BytesIO()
    book.save(edited)
    result = official.import_official(edited.getvalue(), by=admin, dry_run=False)
    assert result.ok, result.problems
    assert stored_totals(demo) == after_admin
    assert_all_current()


def test_workflow_and_rechecks_leave_the_totals_current():
    district = make_unit("某区")
    town = make_unit("镇", parent=district)
    filler = make_user(access.FILLER, units=[town])
    drafter, second = make_user(access.REVIEWER, charge=district), make_user(access.REVIEWER, charge=district)
    evaluation = make_evaluation(unit=town)
    workflow.submit(evaluation, by=filler)
    workflow.return_for_changes(evaluation, by=drafter, reason="请补充")
    workflow.submit(evaluation, by=filler)
    workflow.approve(evaluation, by=drafter)
    recheck = rechecks.draw(evaluation, by=drafter)
    rechecks.rescore(recheck, evaluation.results.get(name="服务对象满意度"), by=drafter, score="12", note="问卷不足")
    assert_all_current()
    workflow.reopen(evaluation, by=make_user(access.ADMIN), reason="复核后重新填报")
    assert_all_current()
    line = desk_for(second).lines[1]
    assert line.own_score == database_totals(evaluation)[0]


def test_the_migration_fills_the_totals_of_existing_evaluations():
    import importlib

    from django.apps import apps

    from evaluations.models import EvaluationTotals

    call_command("seed_scale", units=5, rows=14, prefix="M", stdout=io.StringIO())
    make_evaluation(extra_rows=2)
    stored = {t.pk: (t.score, t.adjusted_budget, t.executed) for t in EvaluationTotals.objects.all()}
    EvaluationTotals.objects.all().delete()
    importlib.import_module("evaluations.migrations.0014_fill_evaluation_totals").fill(apps, None)
    assert {t.pk: (t.score, t.adjusted_budget, t.executed) for t in EvaluationTotals.objects.all()} == stored
    assert_all_current()
