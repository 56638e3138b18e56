"""The rule packs (10号, 101号, 指标偏离, 执行率封顶): worked examples at the boundaries, and their invariants."""

from dataclasses import replace
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaluations import rule_packs
from evaluations.rule_packs import PACK_10, PACK_101

WITH_DEVIATION = replace(PACK_10, deviation_enabled=True)
WITH_CAPS = replace(PACK_10, caps=rule_packs.EXECUTION_CAPS)


def quantitative(actual, target="100", points="10", comparison=">=", pack=PACK_10, satisfaction=False):
    return rule_packs.score_quantitative(
        comparison=comparison, target=D(target), actual=None if actual is None else D(actual), points=D(points),
        satisfaction=satisfaction, pack=pack, unit_of_measure="%",
    )


# --- 执行率 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "score"), [
    ("100", "10"), ("100.01", "10"), ("99.99", "7"), ("80", "7"), ("79.99", "5"), ("60", "5"), ("59.99", "0"), ("0", "0"),
])
def test_execution_rate_stepped_under_101_at_its_boundaries(rate, score):
    assert rule_packs.score_execution(D(rate), D("10"), PACK_101).score == D(score)


def test_execution_rate_explains_its_step():
    result = rule_packs.score_execution(D("78"), D("10"), PACK_101)
    assert result.explanation.startswith("执行率 78.00%，按 101 号文分档得 5 分")


def test_execution_rate_steps_scale_with_the_points():
    assert rule_packs.score_execution(D("85"), D("20"), PACK_101).score == D("14.00")


def test_execution_rate_proportional_under_10():
    result = rule_packs.score_execution(D("85.5"), D("10"), PACK_10)
    assert result.score == D("8.55")
    assert result.explanation == "执行率 85.50%，按 10 号文按比例得 8.55 分"


def test_execution_rate_above_100_scores_full_marks_and_is_flagged():
    result = rule_packs.score_execution(D("104"), D("10"), PACK_10)
    assert result.score == D("10")
    assert "超过 100%" in result.flagged


def test_execution_rate_without_budget_is_not_scored():
    assert rule_packs.execution_rate(D("0"), D("5")) is None
    assert rule_packs.score_execution(None, D("10")).score is None


# --- quantitative ---------------------------------------------------------------------------------


def test_10_met_is_full_marks_and_missed_is_in_proportion():
    assert quantitative("100").score == D("10")
    assert quantitative("120").score == D("10")
    result = quantitative("95")
    assert result.score == D("9.50")
    assert result.explanation == "完成值 95%，目标 ≥100%，完成率 95.00%，按比例得 9.5 分"


@pytest.mark.parametrize(("actual", "score"), [
    ("100", "10"), ("90", "7.5"), ("80", "5"), ("70", "2.5"), ("60", "0"), ("59.99", "0"), ("60.4", "0.10"),
])
def test_101_floored_formula_at_its_boundaries(actual, score):
    # (rate − 60%) ÷ (1 − 60%) × points, nothing below 60%.
    assert quantitative(actual, pack=PACK_101).score == D(score)


def test_101_floored_formula_explains_itself():
    assert "低于 60%，按 101 号文不得分" in quantitative("50", pack=PACK_101).explanation
    assert "（完成率−60%）÷（1−60%）×分值得 7.5 分" in quantitative("90", pack=PACK_101).explanation


@pytest.mark.parametrize(("actual", "score"), [
    ("100", "10"), ("90", "10"), ("89.99", "8"), ("80", "8"), ("79.99", "5"), ("60", "5"), ("59.99", "0"),
])
def test_101_satisfaction_stepped_at_90_80_60(actual, score):
    assert quantitative(actual, target="95", pack=PACK_101, satisfaction=True).score == D(score)


def test_10_satisfaction_is_in_proportion():
    assert quantitative("85.5", target="90", satisfaction=True).score == D("9.50")


def test_reverse_indicator_scores_target_over_actual():
    # A ÷ B × points for "≤" targets: 成本 ≤ 80 万元, actual 100 → 8 of 10.
    assert quantitative("100", target="80", comparison="<=").score == D("8.00")
    assert quantitative("100", target="80", comparison="<=", pack=PACK_101).score == D("8.00")
    assert quantitative("70", target="80", comparison="<=").score == D("10")
    assert quantitative("0", target="80", comparison="<=").score == D("10")


def test_unscored_indicator_says_what_is_missing():
    assert quantitative(None).explanation == "尚未填写实际完成值"
    assert rule_packs.score_quantitative(comparison=">=", target=None, actual=D("1"), points=D("5")).score is None


# --- 指标偏离 ---------------------------------------------------------------------------------------


def test_deviation_at_exactly_30_percent_above_the_target_deducts():
    result = quantitative("130", pack=WITH_DEVIATION)
    assert result.deviated
    assert result.score == D("8.00")
    assert "完成值超出目标 30.00%（≥ 30%），属指标偏离，扣 2 分，计 8 分" in result.explanation


def test_deviation_just_under_30_percent_keeps_full_marks():
    result = quantitative("129.99", pack=WITH_DEVIATION)
    assert not result.deviated
    assert result.score == D("10")


def test_deviation_off_by_default_and_never_for_at_most_targets():
    assert quantitative("200").score == D("10")
    assert not quantitative("200", comparison="<=", pack=WITH_DEVIATION).deviated


def test_deviation_never_goes_below_zero():
    assert quantitative("500", points="1", pack=WITH_DEVIATION).score == D("0.00")


def test_deviation_parameters_come_from_the_pack():
    pack = replace(PACK_10, deviation_enabled=True, deviation_threshold=D("50"), deviation_deduction=D("1.5"))
    assert quantitative("140", pack=pack).score == D("10")
    assert quantitative("150", pack=pack).score == D("8.50")


# --- qualitative and manual -----------------------------------------------------------------------


def test_qualitative_three_tiers_bound_the_score():
    assert rule_packs.tier_range("achieved", D("10")) == (D("8.00"), D("10.00"))
    assert rule_packs.tier_range("partly", D("10")) == (D("6.00"), D("8.00"))
    assert rule_packs.tier_range("not_achieved", D("10")) == (D("0.00"), D("6.00"))
    assert rule_packs.score_qualitative("partly", D("7"), D("10")).score == D("7.00")
    assert rule_packs.score_qualitative("partly", D("9"), D("10")).score is None
    assert rule_packs.score_qualitative("", None, D("10")).explanation == "尚未选择定性评价档次"


def test_entered_score_stands_within_the_points():
    assert rule_packs.score_manual(D("7"), D("10")).score == D("7.00")
    assert rule_packs.score_manual(D("11"), D("10")).score is None


# --- 执行率 caps on the total -----------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "total"), [
    ("80", "95"), ("79.99", "89"), ("70", "89"), ("69.99", "79"), ("60", "79"), ("59.99", "69"), ("50", "69"),
    ("49.99", "59"), (None, "95"),
])
def test_execution_caps_at_their_boundaries(rate, total):
    capped = rule_packs.cap_total(D("95"), None if rate is None else D(rate), WITH_CAPS)
    assert capped.total == D(total)
    assert capped.uncapped == D("95")


def test_capped_total_says_which_cap_applied():
    capped = rule_packs.cap_total(D("85.3"), D("65"), WITH_CAPS)
    assert capped.capped
    assert capped.explanation == "执行率 65.00%，低于 70%，总分最高 79 分（各项得分合计 85.3 分）"


def test_total_under_its_cap_is_not_capped():
    capped = rule_packs.cap_total(D("75"), D("65"), WITH_CAPS)
    assert (capped.total, capped.capped, capped.explanation) == (D("75.00"), False, "")


def test_caps_off_by_default():
    assert rule_packs.cap_total(D("95"), D("10")).total == D("95")


def test_pack_errors_name_what_to_fix():
    bad = replace(PACK_101, execution_steps=((D("60"), D("0.5")), (D("80"), D("0.7"))), floor_rate=D("100"))
    assert rule_packs.pack_errors(bad) == [
        "执行率分档应按比率从高到低排列，且不重复。", "起评完成率应在 0% 到 100% 之间（不含 100%）。",
    ]
    assert rule_packs.pack_errors(PACK_101) == []


# --- invariants -------------------------------------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=100000, places=2)
points = st.decimals(min_value=0, max_value=50, places=2)
packs = st.sampled_from([PACK_10, PACK_101, WITH_DEVIATION, replace(PACK_101, deviation_enabled=True)])
comparisons = st.sampled_from(["=", ">=", "<="])


@given(comparisons, amounts, amounts, points, packs, st.booleans())
def test_indicator_score_within_zero_and_its_points(comparison, target, actual, weight, pack, satisfaction):
    result = rule_packs.score_quantitative(
        comparison=comparison, target=target, actual=actual, points=weight, satisfaction=satisfaction, pack=pack
    )
    assert D("0") <= result.score <= weight
    assert result.explanation


@given(st.decimals(min_value=0, max_value=300, places=2), points, st.sampled_from([PACK_10, PACK_101]))
def test_execution_score_within_zero_and_its_points(rate, weight, pack):
    assert D("0") <= rule_packs.score_execution(rate, weight, pack).score <= weight


@given(amounts.filter(lambda t: t > 0), amounts, amounts, points, st.sampled_from([PACK_10, PACK_101]), st.booleans())
def test_score_never_falls_as_a_at_least_actual_rises(target, a, b, weight, pack, satisfaction):
    low, high = sorted((a, b))

    def score(actual):
        return rule_packs.score_quantitative(
            comparison=">=", target=target, actual=actual, points=weight, satisfaction=satisfaction, pack=pack
        ).score

    assert score(low) <= score(high)


below_deviation = st.decimals(min_value=0, max_value=D("1.29"), places=2)


@given(amounts.filter(lambda t: t > 0), below_deviation, below_deviation, points)
def test_with_deviation_monotone_below_the_deviation_threshold(target, a, b, weight):
    # At the threshold the deduction starts, by design (an actual far above a too-low target loses marks).
    def score(ratio):
        return rule_packs.score_quantitative(
            comparison=">=", target=target, actual=target * ratio, points=weight, pack=WITH_DEVIATION
        ).score

    low, high = sorted((a, b))
    assert score(low) <= score(high)


@given(st.decimals(min_value=0, max_value=100, places=2), st.decimals(min_value=0, max_value=150, places=2))
def test_total_never_above_its_cap(uncapped, rate):
    capped = rule_packs.cap_total(uncapped, rate, WITH_CAPS)
    assert capped.total <= uncapped
    cap, _ = rule_packs.execution_cap(rate, rule_packs.EXECUTION_CAPS)
    if cap is not None:
        assert capped.total <= cap
    else:
        assert capped.total == uncapped
