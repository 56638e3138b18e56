"""Scoring of the 自评表: pure functions over rows, never touching the database.

Rules (docs/domain.md §3, 财预〔2020〕10号):
- proportional: 分值 × min(1, 实际/目标); for "≤" targets the inverse.
- deduction:    full marks within the limit, minus k points per percentage point beyond it, floored at 0.
- qualitative:  达成 80–100% of 分值, 部分达成 60–80%, 未达成 0–60%; the evaluator picks within the band.
- manual:       the evaluator enters a score between 0 and 分值.
Grades compare the unrounded sum with the framework's thresholds (优 ≥ 90, 良 ≥ 80, 中 ≥ 60, else 差).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from evaluations import rule_packs

CENT = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = Decimal("100")
LOW_EXECUTION_RATE = Decimal("90")  # below this the unit must explain (common provincial rule)

# Rule and band names as stored (models.ScoringRule / QualitativeBand values); kept as plain strings so
# this module imports nothing from Django.
PROPORTIONAL, DEDUCTION, QUALITATIVE, MANUAL = "proportional", "deduction", "qualitative", "manual"
BANDS = {
    "achieved": ("达成", Decimal("0.8"), Decimal("1")),
    "partly": ("部分达成", Decimal("0.6"), Decimal("0.8")),
    "not_achieved": ("未达成", Decimal("0"), Decimal("0.6")),
}
COMPARISON_SIGNS = {"=": "=", ">=": "≥", "<=": "≤", "qualitative": ""}
# Rows whose 实际完成值 is read off the budget table rather than typed (models.ActualSource).
BUDGET_MEASURES = {
    "budget_execution_rate": "执行率",
    "budget_adjustment_rate": "调整率",
    "budget_balance_rate": "结转结余率",
}


def quantize(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def plain(value: Decimal | None) -> str:
    """10.00 → "10", 7.50 → "7.5", 535.00 → "535": how people write 分值 and targets."""
    if value is None:
        return ""
    text = f"{quantize(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(value: Decimal | None) -> str:
    return "" if value is None else f"{quantize(value):,.2f}"


# ------------------------------------------------------------------------------------------------
# Budget execution
# ------------------------------------------------------------------------------------------------


def execution_rate(adjusted_budget: Decimal | None, executed: Decimal | None) -> Decimal | None:
    """预算执行率 = 全年执行数 ÷ 全年预算数 (the adjusted budget, not 年初预算), in percent, two places."""
    if adjusted_budget is None or executed is None or adjusted_budget <= 0:
        return None
    return quantize(Decimal(executed) / Decimal(adjusted_budget) * HUNDRED)


@dataclass(frozen=True)
class BudgetRow:
    item: str
    label: str
    initial_budget: Decimal
    adjusted_budget: Decimal
    executed: Decimal
    is_total: bool = False
    is_breakdown: bool = False

    @property
    def rate(self) -> Decimal | None:
        return execution_rate(self.adjusted_budget, self.executed)


@dataclass(frozen=True)
class BudgetSummary:
    rows: list[BudgetRow]
    total: BudgetRow

    @property
    def rate(self) -> Decimal | None:
        return self.total.rate

    @property
    def adjustment_rate(self) -> Decimal | None:
        """预算调整率 = |全年预算数 − 年初预算数| ÷ 年初预算数."""
        initial = self.total.initial_budget
        if initial <= 0:
            return None
        return quantize(abs(self.total.adjusted_budget - initial) / initial * HUNDRED)

    @property
    def balance_rate(self) -> Decimal | None:
        """结转结余率 = (全年预算数 − 全年执行数) ÷ 全年预算数."""
        adjusted = self.total.adjusted_budget
        if adjusted <= 0:
            return None
        return quantize(max(ZERO, adjusted - self.total.executed) / adjusted * HUNDRED)

    def measures(self) -> dict[str, Decimal | None]:
        return {
            "budget_execution_rate": self.rate,
            "budget_adjustment_rate": self.adjustment_rate,
            "budget_balance_rate": self.balance_rate,
        }


def summarize_budget(lines, funding_sources, spending_kinds, labels) -> BudgetSummary:
    """年度资金总额 is the sum of the funding sources; 基本/项目支出 are shown under it as a breakdown."""
    by_item = {line.item: line for line in lines}

    def row(item, **kw):
        line = by_item.get(item)
        return BudgetRow(
            item, labels[item],
            quantize(line.initial_budget if line else ZERO),
            quantize(line.adjusted_budget if line else ZERO),
            quantize(line.executed if line else ZERO),
            **kw,
        )

    sources = [row(item) for item in funding_sources]
    breakdown = [row(item, is_breakdown=True) for item in spending_kinds if item in by_item]
    total = BudgetRow(
        "total", "年度资金总额",
        sum((r.initial_budget for r in sources), ZERO),
        sum((r.adjusted_budget for r in sources), ZERO),
        sum((r.executed for r in sources), ZERO),
        is_total=True,
    )
    return BudgetSummary([total, *sources, *breakdown], total)


def budget_errors(summary: BudgetSummary) -> list[str]:
    """Breakdown rows must add up to the total where they are given."""
    breakdown = [r for r in summary.rows if r.is_breakdown]
    if not breakdown:
        return []
    errors = []
    for attr, label in (("initial_budget", "年初预算数"), ("adjusted_budget", "全年预算数"), ("executed", "全年执行数")):
        parts = sum((getattr(r, attr) for r in breakdown), ZERO)
        whole = getattr(summary.total, attr)
        if parts and parts != whole:
            errors.append(f"基本支出与项目支出的{label}合计 {money(parts)} 万元，与年度资金总额 {money(whole)} 万元不一致。")
    return errors


# ------------------------------------------------------------------------------------------------
# Rows
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowScore:
    score: Decimal | None
    explanation: str
    computed: bool  # the rule decides the score (proportional, deduction); otherwise a person enters it


def is_rule_scored(rule: str) -> bool:
    return rule in (PROPORTIONAL, DEDUCTION)


def stored_score_over_weight(row) -> str | None:
    """A rule-scored row whose imported 得分 is above its 分值 (manual and qualitative scores: row_errors)."""
    if is_rule_scored(row.rule) and row.score is not None and row.weight is not None and row.score > row.weight:
        return f"得分 {plain(row.score)} 分超过本指标分值 {plain(row.weight)} 分。"
    return None


def actual_of(row, measures: dict | None) -> Decimal | None:
    source = getattr(row, "actual_source", "")
    if source in BUDGET_MEASURES:
        return (measures or {}).get(source)
    return row.actual_value


def _target_phrase(row) -> str:
    return f"{COMPARISON_SIGNS.get(row.comparison, '')}{plain(row.target_value)}{row.unit_of_measure}"


def band_range(band: str, weight: Decimal) -> tuple[Decimal, Decimal]:
    _, low, high = BANDS[band]
    return quantize(weight * low), quantize(weight * high)


def _by_pack(pack) -> bool:
    """Whether the framework's rule pack changes the proportional rows (10号 without 指标偏离 is the rule here)."""
    return pack is not None and (
        pack.execution_rule != rule_packs.PROPORTIONAL or pack.quantitative_rule != rule_packs.PROPORTIONAL
        or pack.satisfaction_rule != rule_packs.PROPORTIONAL or pack.deviation_enabled
    )


def score_row(row, measures: dict | None = None, pack=None) -> RowScore:
    """The score of one 三级 row and a sentence saying how it was reached. Proportional rows follow the
    framework's rule pack (rule_packs.py) where it sets 101号 rules or 指标偏离."""
    weight = quantize(row.weight or ZERO)
    full = f"（满分 {plain(weight)} 分）"

    def result(score, text, computed):
        if score is not None:
            text = f"{text}，得 {quantize(score)} 分{full}" if text else f"得 {quantize(score)} 分{full}"
        return RowScore(None if score is None else quantize(score), text, computed)

    if row.rule in (PROPORTIONAL, DEDUCTION):
        actual = actual_of(row, measures)
        measure = BUDGET_MEASURES.get(getattr(row, "actual_source", ""))
        if actual is None:
            return result(None, f"预算数据不完整，无法计算{measure}" if measure else "尚未填写实际完成值", True)
        target = row.target_value
        if target is None:
            return result(None, "尚未填写年度指标值", True)
        described = f"{measure} {quantize(actual)}%" if measure else f"完成值 {plain(actual)}{row.unit_of_measure}"
        if row.rule == PROPORTIONAL and _by_pack(pack):
            if getattr(row, "actual_source", "") == "budget_execution_rate":
                packed = rule_packs.score_execution(actual, weight, pack)
            else:
                packed = rule_packs.score_quantitative(
                    comparison=row.comparison, target=target, actual=actual, points=weight, pack=pack,
                    satisfaction="满意度" in getattr(row, "name", ""), unit_of_measure=row.unit_of_measure,
                )
            return RowScore(packed.score, f"{packed.explanation}{full}", True)
        if row.rule == PROPORTIONAL:
            return result(*_proportional(actual, target, weight, row, described), True)
        return result(*_deduction(actual, target, weight, row, described), True)

    if row.rule == QUALITATIVE:
        if not row.band:
            return result(None, "尚未选择定性评价档次", False)
        label = BANDS[row.band][0]
        low, high = band_range(row.band, weight)
        if row.score is None:
            return result(None, f"定性评价“{label}”，请在 {low}–{high} 分之间评分", False)
        return result(row.score, f"定性评价“{label}”（{low}–{high} 分）", False)

    # manual
    if row.score is None:
        return result(None, "尚未评分", False)
    return result(row.score, "人工评分", False)


def _proportional(actual, target, weight, row, described):
    if row.comparison == "<=":
        ratio = Decimal(1) if actual <= target else (target / actual if actual else Decimal(1))
    else:
        ratio = Decimal(1) if target <= 0 else min(Decimal(1), actual / target)
    ratio = max(ratio, ZERO)
    score = weight * ratio
    if getattr(row, "actual_source", "") in BUDGET_MEASURES:
        return score, described
    return score, f"{described}，目标 {_target_phrase(row)}，完成比例 {quantize(ratio * HUNDRED)}%"


def _deduction(actual, target, weight, row, described):
    per_point = row.deduction_per_point or ZERO
    over = actual - target if row.comparison != ">=" else target - actual
    side = "下限" if row.comparison == ">=" else "上限"
    limit = f"{plain(target)}{row.unit_of_measure}"
    if over <= 0:
        return weight, f"{described}，未超出 {limit} 的{side}"
    score = max(ZERO, weight - per_point * over)
    return score, (
        f"{described}，超出 {limit} 的{side} {plain(over)} 个百分点，每个百分点扣 {plain(per_point)} 分"
    )


def row_errors(row) -> dict[str, str]:
    """What makes a row impossible to save: values out of range or contradicting the rule."""
    errors = {}
    weight = row.weight
    if weight is not None and weight < 0:
        errors["weight"] = "分值不能为负数。"
    if row.rule in (PROPORTIONAL, DEDUCTION):
        if row.comparison == "qualitative":
            errors["comparison"] = "按比例计分或超限扣分的指标不能是“定性”指标，请选择 =、≥ 或 ≤。"
        if row.rule == DEDUCTION and row.deduction_per_point is None:
            errors["deduction_per_point"] = "“超限扣分”需要填写每超 1 个百分点扣几分。"
        if row.actual_value is not None and row.actual_value < 0:
            errors["actual_value"] = "实际完成值不能为负数。"
        if row.target_value is not None and row.target_value < 0:
            errors["target_value"] = "年度指标值不能为负数。"
    if row.score is not None and weight is not None and not is_rule_scored(row.rule):
        if row.score < 0 or row.score > weight:
            errors["score"] = f"得分应在 0 到 {plain(weight)} 分之间（本指标分值 {plain(weight)} 分），现为 {plain(row.score)} 分。"
        elif row.rule == QUALITATIVE:
            if not row.band:
                errors["band"] = "定性指标请先选择“达成 / 部分达成 / 未达成”，再评分。"
            else:
                low, high = band_range(row.band, weight)
                if not low <= row.score <= high:
                    errors["score"] = f"“{BANDS[row.band][0]}”的得分应在 {low} 到 {high} 分之间，现为 {plain(row.score)} 分。"
    return errors


def needs_reason(row, scored: RowScore) -> bool:
    """偏差原因 is required wherever points were lost or the target was missed (docs/domain.md §3)."""
    return scored.score is not None and scored.score < quantize(row.weight or ZERO)


# ------------------------------------------------------------------------------------------------
# The whole table
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradeThresholds:
    excellent: Decimal = Decimal("90")
    good: Decimal = Decimal("80")
    passing: Decimal = Decimal("60")


def grade(total: Decimal, thresholds: GradeThresholds = GradeThresholds()) -> str:
    if total >= thresholds.excellent:
        return "优"
    if total >= thresholds.good:
        return "良"
    if total >= thresholds.passing:
        return "中"
    return "差"


@dataclass
class ScoredRow:
    row: object
    result: RowScore

    @property
    def score(self) -> Decimal | None:
        return self.result.score

    @property
    def reason_missing(self) -> bool:
        return needs_reason(self.row, self.result) and not (self.row.deviation_reason or "").strip()


@dataclass
class Category:
    """A 二级指标 and the 三级 rows under it."""

    indicator: object
    rows: list[ScoredRow]

    @property
    def weight(self) -> Decimal:
        return quantize(self.indicator.weight)

    @property
    def score(self) -> Decimal:
        return sum((r.score or ZERO for r in self.rows), ZERO)

    @property
    def rows_weight(self) -> Decimal:
        return sum((quantize(r.row.weight or ZERO) for r in self.rows), ZERO)

    @property
    def weight_left(self) -> Decimal:
        return self.weight - self.rows_weight

    @property
    def weight_over(self) -> Decimal:
        """How far the rows' weights exceed the category's (0 when they do not)."""
        return max(ZERO, -self.weight_left)


@dataclass
class Dimension:
    """A 一级指标 and its 二级 categories."""

    indicator: object
    categories: list[Category]

    @property
    def weight(self) -> Decimal:
        return quantize(self.indicator.weight)

    @property
    def score(self) -> Decimal:
        return sum((c.score for c in self.categories), ZERO)

    @property
    def row_count(self) -> int:
        return sum(max(1, len(c.rows)) for c in self.categories)


def cap_by_budget(rows_total, adjusted_budget, executed, pack=None) -> rule_packs.CappedTotal:
    """The 综合得分 the rows' sum comes to under the framework's 执行率 caps (rule_packs.cap_total): the 预算执行率
    is 全年执行数 ÷ 全年预算数 of the funding lines. Lists and exports that read the sums from the database use
    this (or EvaluationQuerySet.with_total_score, the same rule in SQL), so they agree with the table."""
    rate = execution_rate(adjusted_budget, executed)
    return rule_packs.cap_total(rows_total or ZERO, rate, pack or rule_packs.PACK_10)


@dataclass
class Scorecard:
    dimensions: list[Dimension]
    budget: BudgetSummary | None
    thresholds: GradeThresholds
    pack: rule_packs.RulePack | None = None

    @property
    def rows(self) -> list[ScoredRow]:
        return [r for d in self.dimensions for c in d.categories for r in c.rows]

    @property
    def categories(self) -> list[Category]:
        return [c for d in self.dimensions for c in d.categories]

    @property
    def rows_total(self) -> Decimal:
        """Every row's score summed: the 综合得分 before any 执行率 cap."""
        return quantize(sum((r.score or ZERO for r in self.rows), ZERO))

    @property
    def capped(self) -> rule_packs.CappedTotal:
        """The total under the framework's 执行率 caps, with the sentence saying which cap applied ("" if none)."""
        budget = self.budget.total if self.budget else None
        return cap_by_budget(self.rows_total, budget and budget.adjusted_budget, budget and budget.executed, self.pack)

    @property
    def total(self) -> Decimal:
        return self.capped.total

    @property
    def grade(self) -> str:
        capped = self.capped
        if capped.capped:
            return grade(capped.total, self.thresholds)
        return grade(sum((r.score or ZERO for r in self.rows), ZERO), self.thresholds)

    @property
    def max_total(self) -> Decimal:
        return sum((d.weight for d in self.dimensions), ZERO)


def build_scorecard(indicators, rows, budget: BudgetSummary | None, thresholds: GradeThresholds, pack=None) -> Scorecard:
    """Arrange rows under the framework's tree (already loaded; no queries here) and score each."""
    indicators = sorted(indicators, key=lambda i: (i.level, i.order, i.pk or 0))
    measures = budget.measures() if budget else None
    rows_by_category: dict[int, list] = {}
    for row in sorted(rows, key=lambda r: (r.order, r.pk or 0)):
        rows_by_category.setdefault(row.category_id, []).append(ScoredRow(row, score_row(row, measures, pack)))
    dimensions = []
    for top in (i for i in indicators if i.level == 1):
        categories = [
            Category(cat, rows_by_category.get(cat.pk, []))
            for cat in indicators
            if cat.level == 2 and cat.parent_id == top.pk
        ]
        dimensions.append(Dimension(top, categories))
    return Scorecard(dimensions, budget, thresholds, pack)


def framework_errors(indicators, require_complete: bool = False) -> list[str]:
    """The 一级 weights total 100 and each parent's children add up to its 分值.

    A parent without children is only an error when the framework must be complete (before use): in the admin
    a framework is built level by level. Under a category open to the unit's own rows the framework's rows may
    take less than the category's weight; the units place the rest.
    """
    errors = []
    indicators = list(indicators)
    total = sum((quantize(i.weight or ZERO) for i in indicators if i.level == 1), ZERO)
    if total != HUNDRED:
        errors.append(f"一级指标分值合计为 {plain(total)} 分，应为 100 分。")
    for parent in indicators:
        if parent.level == 3:
            continue
        children = [c for c in indicators if parent.pk is not None and c.parent_id == parent.pk]
        weight = quantize(parent.weight or ZERO)
        if not children:
            if require_complete and parent.level == 1:
                errors.append(f"一级指标“{parent.name}”下没有二级指标。")
            elif require_complete and not parent.accepts_unit_rows:
                errors.append(f"二级指标“{parent.name}”下没有三级指标，也未允许单位自设指标。")
            continue
        subtotal = sum((quantize(c.weight or ZERO) for c in children), ZERO)
        if parent.level == 2 and parent.accepts_unit_rows:
            if subtotal > weight:
                errors.append(f"“{parent.name}”的三级指标分值合计 {plain(subtotal)} 分，超出其分值 {plain(weight)} 分。")
        elif subtotal != weight:
            errors.append(f"“{parent.name}”的下级指标分值合计为 {plain(subtotal)} 分，应等于其分值 {plain(weight)} 分。")
    return errors


def category_weight_errors(scorecard: Scorecard) -> list[tuple[object, str]]:
    """Each 二级 category's rows (framework and the unit's own) share exactly its weight."""
    problems = []
    for category in scorecard.categories:
        left = category.weight_left
        if left > 0:
            problems.append((category, f"“{category.indicator.name}”的三级指标分值合计 {plain(category.rows_weight)} 分，还有 {plain(left)} 分未分配（应为 {plain(category.weight)} 分）。"))
        elif left < 0:
            problems.append((category, f"“{category.indicator.name}”的三级指标分值合计 {plain(category.rows_weight)} 分，比其分值 {plain(category.weight)} 分多 {plain(-left)} 分。"))
    return problems


def parse_decimal(text) -> Decimal | None:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None
