"""The 总览's numbers: one line per unit in scope, counts, grades, bands, losses and changes, in fixed queries."""

import io
from decimal import Decimal as D

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluations import access, dashboard, rechecks, workflow
from evaluations.models import Framework, Unit
from tests.factories import make_evaluation, make_framework, make_unit, make_user

pytestmark = pytest.mark.django_db


def desk_for(user, year=2024, **scope):
    units = dashboard.scoped_units(user, **scope)
    framework = Framework.objects.filter(year=year).first()
    return dashboard.build(dashboard.unit_lines(units, year, framework), dashboard.indicator_losses(units, year), year)


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
    assert queries_for(small) == queries_for(large) == 9  # the framework, seven grouped reads, the losses


def test_the_numbers_a_reviewer_sees():
    district = make_unit("某区")
    towns = [make_unit(f"镇{n}", parent=district) for n in range(3)]
    filler = make_user(access.FILLER, units=towns)
    drafter, second = make_user(access.REVIEWER, charge=district), make_user(access.REVIEWER, charge=district)
    make_user(access.REVIEWER, charge=make_unit("别区"))
    last_year = make_evaluation(unit=towns[0], framework=make_framework(2023))
    last_year.results.filter(name="服务对象满意度").update(score=D("8"))  # 88 last year (a draft: reasons not checked)
    full = make_evaluation(unit=towns[0])
    weak = make_evaluation(unit=towns[1])
    weak.results.filter(name="服务对象满意度").update(score=D("5"), deviation_reason="问卷回收率低，下一步改进调查方法。")  # 85: 良
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
