"""The scoring module: each rule, its explanation, and the invariants of the whole table."""

from dataclasses import dataclass
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from evaluations import scoring


@dataclass
class Row:
    weight: D
    rule: str = "proportional"
    comparison: str = ">="
    target_value: D | None = None
    actual_value: D | None = None
    unit_of_measure: str = ""
    deduction_per_point: D | None = None
    actual_source: str = ""
    band: str = ""
    score: D | None = None
    deviation_reason: str = ""
    category_id: int = 1
    order: int = 0
    pk: int = 0


@dataclass
class Node:
    pk: int
    level: int
    weight: D
    parent_id: int | None = None
    name: str = "指标"
    order: int = 0
    accepts_unit_rows: bool = False


def test_budget_execution_rate_uses_the_adjusted_budget():
    assert scoring.execution_rate(D("58700"), D("56704.20")) == D("96.60")
    assert scoring.execution_rate(D("0"), D("5")) is None


def test_proportional_budget_row_explains_itself():
    row = Row(weight=D("10"), target_value=D("100"), unit_of_measure="%", actual_source="budget_execution_rate")
    result = scoring.score_row(row, {"budget_execution_rate": D("96.60")})
    assert result.score == D("9.66")
    assert result.explanation == "执行率 96.60%，得 9.66 分（满分 10 分）"


def test_proportional_caps_at_full_marks_and_scales_below_target():
    row = Row(weight=D("6"), target_value=D("500"), actual_value=D("535"), unit_of_measure="家次")
    assert scoring.score_row(row).score == D("6.00")
    assert "完成值 535家次，目标 ≥500家次" in scoring.score_row(row).explanation
    row.actual_value = D("250")
    assert scoring.score_row(row).score == D("3.00")


def test_proportional_at_most_target_uses_the_inverse():
    row = Row(weight=D("5"), comparison="<=", target_value=D("10"), actual_value=D("20"))
    assert scoring.score_row(row).score == D("2.50")
    row.actual_value = D("8")
    assert scoring.score_row(row).score == D("5.00")


def test_deduction_takes_points_per_percentage_point_beyond_the_limit():
    row = Row(weight=D("5"), rule="deduction", comparison="<=", target_value=D("10"), unit_of_measure="%",
              deduction_per_point=D("0.5"), actual_source="budget_adjustment_rate")
    result = scoring.score_row(row, {"budget_adjustment_rate": D("17.40")})
    assert result.score == D("1.30")
    assert result.explanation == "调整率 17.40%，超出 10% 的上限 7.4 个百分点，每个百分点扣 0.5 分，得 1.30 分（满分 5 分）"
    assert scoring.score_row(row, {"budget_adjustment_rate": D("40")}).score == D("0.00")
    assert scoring.score_row(row, {"budget_adjustment_rate": D("3")}).score == D("5.00")


def test_qualitative_band_limits_the_score():
    row = Row(weight=D("5"), rule="qualitative", comparison="qualitative", band="partly", score=D("4"))
    assert scoring.score_row(row).explanation == "定性评价“部分达成”（3.00–4.00 分），得 4.00 分（满分 5 分）"
    assert scoring.row_errors(row) == {}
    row.score = D("4.5")
    assert scoring.row_errors(row) == {"score": "“部分达成”的得分应在 3.00 到 4.00 分之间，现为 4.5 分。"}


def test_manual_score_must_lie_between_zero_and_the_weight():
    row = Row(weight=D("5"), rule="manual", score=D("6"))
    assert "得分应在 0 到 5 分之间" in scoring.row_errors(row)["score"]
    row.score = D("-1")
    assert "score" in scoring.row_errors(row)
    row.score = D("5")
    assert scoring.row_errors(row) == {}


def test_unscored_rows_say_what_is_missing():
    assert scoring.score_row(Row(weight=D("5"), target_value=D("1"))).explanation == "尚未填写实际完成值"
    assert scoring.score_row(Row(weight=D("5"), rule="manual")).score is None


def test_grade_bands_from_the_thresholds():
    assert [scoring.grade(D(x)) for x in ("100", "90", "89.99", "80", "60", "59.99")] == ["优", "优", "良", "良", "中", "差"]


def test_framework_must_total_100_and_add_up_per_level():
    nodes = [Node(1, 1, D("50")), Node(2, 1, D("40")), Node(3, 2, D("30"), parent_id=1), Node(4, 2, D("10"), parent_id=1)]
    errors = scoring.framework_errors(nodes)
    assert "一级指标分值合计为 90 分，应为 100 分。" in errors
    assert "“指标”的下级指标分值合计为 40 分，应等于其分值 50 分。" in errors
    assert scoring.framework_errors([Node(1, 1, D("100"))]) == []
    assert scoring.framework_errors([Node(1, 1, D("100"))], require_complete=True) == ["一级指标“指标”下没有二级指标。"]


def test_unit_rows_must_share_exactly_their_category_weight():
    category = Node(10, 2, D("30"), name="产出")
    card = scoring.Scorecard([scoring.Dimension(Node(1, 1, D("30")), [scoring.Category(category, [
        scoring.ScoredRow(Row(weight=D("20")), scoring.RowScore(None, "", True))])])], None, scoring.GradeThresholds())
    [(cat, message)] = scoring.category_weight_errors(card)
    assert message == "“产出”的三级指标分值合计 20 分，还有 10 分未分配（应为 30 分）。"


# --- invariants -------------------------------------------------------------------------------------

weights = st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=12)


@st.composite
def scored_tables(draw):
    """A framework of 100 points split over rows, each scored between 0 and its weight by some rule."""
    cuts = sorted(draw(st.lists(st.integers(1, 9999), min_size=0, max_size=30, unique=True)))
    bounds = [0, *cuts, 10000]
    rows = []
    for n, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        weight = D(b - a) / 100
        rule = draw(st.sampled_from(["proportional", "deduction", "manual", "qualitative"]))
        row = Row(weight=weight, rule=rule, pk=n, order=n)
        if rule in ("proportional", "deduction"):
            row.comparison = draw(st.sampled_from([">=", "<=", "="]))
            row.target_value = D(draw(st.integers(0, 10000))) / 10
            row.actual_value = D(draw(st.integers(0, 10000))) / 10
            row.deduction_per_point = D(draw(st.integers(0, 300))) / 100
        elif rule == "qualitative":
            row.band = draw(st.sampled_from(list(scoring.BANDS)))
            low, high = scoring.band_range(row.band, weight)
            row.score = D(draw(st.integers(int(low * 100), int(high * 100)))) / 100
        else:
            row.score = D(draw(st.integers(0, int(weight * 100)))) / 100
        rows.append(row)
    return rows


def _card(rows):
    top = Node(1, 1, D("100"))
    category = Node(2, 2, D("100"), parent_id=1, accepts_unit_rows=True)
    return scoring.build_scorecard([top, category], rows, None, scoring.GradeThresholds())


@given(scored_tables())
def test_total_is_the_sum_of_rows_and_never_above_100(rows):
    card = _card(rows)
    assert card.total == sum(r.score for r in card.rows)
    assert D("0") <= card.total <= D("100")
    for scored in card.rows:
        assert D("0") <= scored.score <= scored.row.weight
    assert card.dimensions[0].score == card.categories[0].score == card.total


GRADE_ORDER = {"差": 0, "中": 1, "良": 2, "优": 3}


@given(st.decimals(0, 100, places=2), st.decimals(0, 100, places=2))
def test_grade_never_falls_as_the_score_rises(a, b):
    low, high = sorted([a, b])
    assert GRADE_ORDER[scoring.grade(low)] <= GRADE_ORDER[scoring.grade(high)]


@given(st.decimals(0, 1000, places=2), st.decimals(0, 1000, places=2), st.integers(1, 40))
def test_proportional_score_stays_within_the_weight(target, actual, weight):
    row = Row(weight=D(weight), target_value=target, actual_value=actual)
    assert D("0") <= scoring.score_row(row).score <= D(weight)


# --- the framework's rule pack ------------------------------------------------------------------------


def test_101_pack_steps_the_budget_execution_row():
    from evaluations.rule_packs import PACK_101

    row = Row(weight=D("10"), target_value=D("100"), unit_of_measure="%", actual_source="budget_execution_rate")
    result = scoring.score_row(row, {"budget_execution_rate": D("96.60")}, PACK_101)
    assert result.score == D("7.00")
    assert result.explanation.startswith("执行率 96.60%，按 101 号文分档得 7 分")


def test_deviation_pack_deducts_on_unit_rows():
    from dataclasses import replace

    from evaluations.rule_packs import PACK_10

    row = Row(weight=D("6"), target_value=D("500"), actual_value=D("650"), unit_of_measure="家次")
    assert scoring.score_row(row, None, PACK_10).score == D("6.00")
    result = scoring.score_row(row, None, replace(PACK_10, deviation_enabled=True))
    assert result.score == D("4.00")
    assert "属指标偏离" in result.explanation
