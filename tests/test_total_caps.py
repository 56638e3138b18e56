"""执行率 caps on the 部门整体 综合得分 (issue 16: "the total is capped by the 执行率 … for 部门整体 frameworks too"):
the rule at its boundaries, the scorecard saying which cap applied, and every place that reads totals from the
database (lists, the event's total, the 总览, the summary workbook) agreeing with the table to the cent."""

from decimal import Decimal as D

import openpyxl
import pytest
from django.db.models import F
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from evaluations import access, dashboard, rule_packs, scoring, workflow
from evaluations.models import Evaluation, Framework
from tests.factories import PASSWORD, make_evaluation, make_framework, make_user

CAPS = rule_packs.RulePack(caps=rule_packs.EXECUTION_CAPS)


# --- the rule, pure ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("adjusted", "executed", "total"), [
    ("100", "49.99", "59"), ("100", "50", "69"), ("100", "59.99", "69"), ("100", "60", "79"),
    ("100", "69.99", "79"), ("100", "70", "89"), ("100", "79.99", "89"), ("100", "80", "95"),
    # 139.99 ÷ 200 = 69.995%: the rate is 70.00% (two places, half up), so the 70–80% cap, not the 60–70% one.
    ("200", "139.99", "89"), ("200", "139.98", "79"),
    ("0", "0", "95"),  # no budget: no rate, no cap
])
def test_cap_by_budget_at_the_boundaries(adjusted, executed, total):
    capped = scoring.cap_by_budget(D("95"), D(adjusted), D(executed), CAPS)
    assert capped.total == D(total)
    assert capped.capped == (D(total) < D("95"))


def test_without_caps_the_total_is_the_sum():
    assert scoring.cap_by_budget(D("95"), D("100"), D("10"), rule_packs.PACK_10).total == D("95")


@given(st.decimals(min_value=0, max_value=100, places=2), st.integers(1, 10**8), st.integers(0, 2 * 10**8))
def test_capped_total_never_above_the_sum_or_its_cap(total, adjusted_cents, executed_cents):
    adjusted, executed = D(adjusted_cents) / 100, D(executed_cents) / 100
    capped = scoring.cap_by_budget(total, adjusted, executed, CAPS)
    assert capped.total <= scoring.quantize(total)
    cap, _ = rule_packs.execution_cap(scoring.execution_rate(adjusted, executed), CAPS.caps)
    assert cap is None or capped.total <= cap


# --- the evaluation: table, pages, lists, event, 总览, summary ------------------------------------------------------


@pytest.fixture
def capped(db):
    """An evaluation scored in full whose 预算执行率 is 65%: its framework caps the total at 79."""
    framework = make_framework()
    framework.execution_caps_enabled = True
    framework.full_clean()  # the 部门整体 framework accepts the caps now
    framework.save()
    evaluation = make_evaluation(framework=framework)
    evaluation.budget_lines.filter(item="fiscal").update(adjusted_budget=D("100"), executed=D("65"))
    evaluation = Evaluation.objects.with_scoring_data().get(pk=evaluation.pk)
    evaluation.refresh_computed_scores()
    return Evaluation.objects.get(pk=evaluation.pk)


def test_the_scorecard_caps_and_says_which_cap(capped):
    card = capped.scorecard()
    assert card.rows_total > D("79")
    assert card.total == D("79.00")
    assert (scoring.grade(card.rows_total), card.grade) == ("优", "中")  # graded on what counts: 79
    assert card.capped.explanation == f"执行率 65.00%，低于 70%，总分最高 79 分（各项得分合计 {rule_packs.plain(card.rows_total)} 分）"


def test_pages_lists_and_the_event_show_the_capped_total(capped):
    filler = make_user(access.FILLER, units=[capped.unit])
    client = Client()
    client.login(username=filler.username, password=PASSWORD)
    page = client.get(f"/evaluations/{capped.pk}/").content.decode()
    assert 'class="total-score">79.00<' in page and "执行率 65.00%，低于 70%，总分最高 79 分" in page
    assert "79.00" in client.get("/evaluations/?year=2024").content.decode()
    assert Evaluation.objects.with_total_score().get(pk=capped.pk).total_score_sum == D("79")
    capped.results.filter(score__lt=F("weight")).update(deviation_reason="年底项目资金未及时拨付，下年度提前谋划。")
    Evaluation.objects.filter(pk=capped.pk).update(budget_note="执行率偏低：两个项目资金年底才下达。")
    try:
        event = workflow.submit(capped, by=filler)
    except workflow.WorkflowError as refused:
        raise AssertionError(refused.problems) from None
    assert event.total_score == D("79.00")


def test_the_overview_and_the_summary_workbook_agree(capped, tmp_path):
    from evaluations.spreadsheets import summary

    line = next(x for x in dashboard.unit_lines(capped.unit.__class__.objects.filter(pk=capped.unit_id), 2024,
                                                capped.framework) if x.evaluation_id == capped.pk)
    assert line.own_score == D("79.00")
    summary.write_summary(tmp_path / "s.xlsx", 2024)
    sheet = openpyxl.load_workbook(tmp_path / "s.xlsx")["汇总"]
    headers = [c.value for c in sheet[2]]
    row = next(r for r in sheet.iter_rows(min_row=3, values_only=True) if r[0] == capped.unit.code)
    assert row[headers.index("综合得分")] == 79


@pytest.mark.django_db
@pytest.mark.parametrize(("adjusted", "executed"), [
    ("100", "65"), ("100", "69.99"), ("100", "70"), ("100", "80"), ("100", "79.99"), ("200", "139.99"),
    ("200", "139.98"), ("3", "2.1"), ("7", "3.5"), ("0", "0"), ("100", "49.99"), ("123456.78", "98765.43"),
])
def test_the_database_total_equals_the_scorecard_at_every_boundary(adjusted, executed):
    framework = make_framework()
    Framework.objects.filter(pk=framework.pk).update(execution_caps_enabled=True)
    evaluation = make_evaluation(framework=Framework.objects.get(pk=framework.pk))
    evaluation.budget_lines.filter(item="fiscal").update(adjusted_budget=D(adjusted), executed=D(executed))
    Evaluation.objects.with_scoring_data().get(pk=evaluation.pk).refresh_computed_scores()
    card = Evaluation.objects.get(pk=evaluation.pk).scorecard()
    stored = Evaluation.objects.with_total_score().get(pk=evaluation.pk).total_score_sum
    assert scoring.quantize(stored) == card.total
    # The list's way: the totals stored with the rows, capped in Python.
    kept = Evaluation.objects.with_stored_totals().get(pk=evaluation.pk)
    assert scoring.cap_by_budget(kept.stored_score, kept.stored_adjusted_budget, kept.stored_executed,
                                 kept.framework.rule_pack()).total == card.total


def test_caps_off_leave_the_sum(db):
    evaluation = make_evaluation()
    evaluation.budget_lines.filter(item="fiscal").update(adjusted_budget=D("100"), executed=D("10"))
    Evaluation.objects.with_scoring_data().get(pk=evaluation.pk).refresh_computed_scores()
    card = Evaluation.objects.get(pk=evaluation.pk).scorecard()
    assert card.total == card.rows_total and not card.capped.explanation
    assert scoring.quantize(Evaluation.objects.with_total_score().get(pk=evaluation.pk).total_score_sum) == card.total


def test_a_recheck_compares_totals_under_the_same_cap(capped):
    from evaluations import rechecks
    from evaluations.models import Recheck

    reviewer = make_user(access.REVIEWER, charge=capped.unit)
    Evaluation.objects.filter(pk=capped.pk).update(status="approved")
    recheck = rechecks.draw(Evaluation.objects.get(pk=capped.pk), by=reviewer)
    row = capped.results.get(name="产出指标1")
    rechecks.rescore(recheck, row, by=reviewer, score="29", note="有一项未验收")
    own, bureau = Recheck.objects.get(pk=recheck.pk).totals()
    assert own == capped.scorecard().total == D("79.00")  # 91.5 capped
    assert bureau == D("79.00")  # 90.5, still above the cap
