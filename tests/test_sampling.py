"""The risk ranking for 抽查复核: each signal with a worked example, the ranking, and the facts read from the data."""

from decimal import Decimal as D

import pytest

from evaluations import sampling
from evaluations.sampling import Row, UnitFacts

YEAR = 2024


def facts(**kwargs):
    defaults = {"unit_id": 1, "unit_name": "甲镇", "score": D("85"), "execution_rate": D("98"), "last_checked_year": 2023}
    return UnitFacts(**(defaults | kwargs))


def test_high_score_with_low_execution_rate():
    # 优 (92.5) while only 72.3% of the adjusted budget was spent.
    signal = sampling.high_score_low_execution(facts(score=D("92.5"), execution_rate=D("72.3")))
    assert signal.code == "execution"
    assert signal.reason == "综合得分 92.5 分，但预算执行率仅 72.3%（低于 90%）。"
    assert sampling.high_score_low_execution(facts(score=D("92.5"), execution_rate=D("90"))) is None
    assert sampling.high_score_low_execution(facts(score=D("89.99"), execution_rate=D("50"))) is None
    assert sampling.high_score_low_execution(facts(score=D("95"), execution_rate=None)) is None


def test_rise_of_ten_points_over_last_year():
    signal = sampling.sharp_rise(facts(score=D("91"), previous_score=D("78.5")))
    assert signal.reason == "综合得分由上年 78.5 分升至 91 分，提高 12.5 分。"
    assert sampling.sharp_rise(facts(score=D("88.5"), previous_score=D("78.5"))).code == "rise"  # exactly 10
    assert sampling.sharp_rise(facts(score=D("88.49"), previous_score=D("78.5"))) is None
    assert sampling.sharp_rise(facts(score=D("91"), previous_score=None)) is None  # no 自评 last year


def test_targets_lowered_against_last_year():
    rows = (
        Row("产出/巡查涉水污染源", "巡查涉水污染源", D("6"), D("6"), target=D("400"), comparison=">="),
        Row("预算执行/预算调整率", "预算调整率", D("5"), D("5"), target=D("15"), comparison="<="),  # limit raised
        Row("产出/培训人次", "培训人次", D("6"), D("6"), target=D("300"), comparison=">="),  # raised: fine
        Row("产出/新指标", "新指标", D("6"), D("6"), target=D("1"), comparison=">="),  # not there last year
    )
    previous = {"产出/巡查涉水污染源": (">=", D("500")), "预算执行/预算调整率": ("<=", D("10")),
                "产出/培训人次": (">=", D("200"))}
    signal = sampling.lowered_targets(facts(rows=rows, previous_targets=previous))
    assert signal.reason == "2 项指标的年度指标值低于上年：“巡查涉水污染源”500→400；“预算调整率”10→15。"
    assert sampling.lowered_targets(facts(rows=rows[2:], previous_targets=previous)) is None


def test_target_with_another_comparison_is_not_compared():
    rows = (Row("产出/案件办结率", "案件办结率", D("6"), D("6"), target=D("90"), comparison="="),)
    assert sampling.lowered_targets(facts(rows=rows, previous_targets={"产出/案件办结率": (">=", D("95"))})) is None


def test_lost_points_with_missing_short_or_pasted_reasons():
    pasted = "受客观因素影响，部分工作未能按计划完成，下一步将加强管理。"
    rows = (
        Row("a/1", "一", D("5"), D("4"), reason=""),  # missing
        Row("a/2", "二", D("5"), D("3"), reason="已整改"),  # 3 characters
        Row("a/3", "三", D("5"), D("4"), reason=pasted),
        Row("a/4", "四", D("5"), D("4"), reason=pasted),
        Row("a/5", "五", D("5"), D("4"), reason=pasted),
        Row("a/6", "六", D("5"), D("5"), reason=""),  # full marks: nothing to explain
    )
    signal = sampling.weak_reasons(facts(rows=rows))
    assert signal.reason == "扣分指标中：1 行未填写偏差原因，1 行偏差原因不足 10 字，3 行偏差原因完全相同。"
    explained = (Row("a/1", "一", D("5"), D("4"), reason="部分项目年中调整后未能在年内全部支付，执行率未达 100%。"),)
    assert sampling.weak_reasons(facts(rows=explained)) is None
    assert sampling.weak_reasons(facts(rows=rows[2:4])) is None  # the same text twice is not yet pasting


def test_unit_not_checked_for_several_years():
    assert sampling.not_checked(facts(last_checked_year=None), YEAR).reason == "该单位从未被复核。"
    assert sampling.not_checked(facts(last_checked_year=2021), YEAR).reason == "该单位最近一次复核是 2021 年，已 3 年未复核。"
    assert sampling.not_checked(facts(last_checked_year=2022), YEAR) is None


def test_ranking_weighs_the_signals_and_the_sample_takes_the_riskiest():
    inflated = facts(unit_id=1, unit_code="A", score=D("95"), execution_rate=D("70"), previous_score=D("80"))
    risen = facts(unit_id=2, unit_code="B", score=D("90"), previous_score=D("79"))
    unchecked = facts(unit_id=3, unit_code="C", last_checked_year=None)
    clean = facts(unit_id=4, unit_code="D")
    ranked = sampling.rank([clean, unchecked, risen, inflated], YEAR)
    assert [r.facts.unit_code for r in ranked] == ["A", "B", "C", "D"]
    assert [r.points for r in ranked] == [5, 2, 1, 0]  # 执行率 3 + rise 2; rise 2; unchecked 1
    assert ranked[0].reasons == ["综合得分 95 分，但预算执行率仅 70%（低于 90%）。", "综合得分由上年 80 分升至 95 分，提高 15 分。"]
    assert [r.facts.unit_code for r in sampling.suggest(ranked, size=1)] == ["A"]
    assert [r.facts.unit_code for r in sampling.suggest(ranked)] == ["A", "B", "C"]  # never a clean unit


def test_sample_size_is_a_tenth_and_at_least_three():
    assert [sampling.sample_size(n) for n in (0, 1, 10, 31, 300)] == [0, 1, 3, 4, 30]


@pytest.mark.django_db
def test_facts_read_from_the_database(django_assert_num_queries):
    from evaluations.models import Evaluation
    from tests.factories import make_evaluation, make_framework, make_unit

    unit = make_unit()
    last_year = make_evaluation(unit=unit, framework=make_framework(2023))
    this_year = make_evaluation(unit=unit, framework=make_framework(2024))
    last_year.results.filter(name="产出指标1").update(target_value=D("20"))
    this_year.budget_lines.filter(item="fiscal").update(executed=D("70"))
    this_year.results.filter(name="服务对象满意度").update(score=D("15"), deviation_reason="")
    with django_assert_num_queries(5):
        [found] = sampling.load_facts(Evaluation.objects.all(), 2024)
    assert found.unit_id == unit.pk and found.execution_rate == D("70.00")
    assert found.previous_score == D("100.00") and found.score == D("95.00")
    assert found.previous_targets["产出/产出指标1"] == (">=", D("20"))
    codes = {s.code for s in sampling.signals_of(found, 2024)}
    assert codes == {"execution", "targets", "reasons", "unchecked"}


@pytest.mark.django_db
def test_the_sample_suggested_for_the_demo(settings):
    """`load_demo --peers`: six towns, each showing one pattern; the three riskiest are proposed."""
    import io

    from django.core.management import call_command

    from evaluations.models import Evaluation

    settings.DEBUG = True
    call_command("load_demo", "--peers", stdout=io.StringIO())
    ranked = sampling.rank(sampling.load_facts(Evaluation.objects.filter(status="approved"), 2024), 2024)
    assert [(r.facts.unit_code, r.points) for r in ranked] == [
        ("440113-SLZ", 4), ("440113-SQZ", 3), ("440113-SWJ", 3), ("440113-NCZ", 2), ("440113-ZCJ", 2), ("440113-DSJ", 1)]
    first, second, third = sampling.suggest(ranked)
    assert first.reasons == ["综合得分 92.4 分，但预算执行率仅 74%（低于 90%）。", "该单位从未被复核。"]
    assert second.reasons[0] == "综合得分由上年 70.86 分升至 97.2 分，提高 26.34 分。"
    assert third.reasons[0].startswith("4 项指标的年度指标值低于上年：“巡查涉水污染源”800→500")
    assert ranked[3].reasons[0] == "扣分指标中：13 行偏差原因完全相同。"
