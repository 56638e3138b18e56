"""A project's 项目支出绩效自评表 scored: pure functions over loaded objects, never touching the database.

The layout is the national one (财预〔2020〕10号 附1; domain.md §8): the funds table with its 执行率 row (分值 10),
then 一级 → 二级 → 三级 indicators. 总分 = the 执行率 score + every 三级 row's score, capped by the 执行率 where the
framework switches the caps on. Each score carries its explanation from `rule_packs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from evaluations import rule_packs, scoring
from evaluations.rule_packs import ZERO, quantize

# Row scoring methods as stored (models.ProjectScoring values).
BY_RULE, QUALITATIVE, MANUAL = "rule", "qualitative", "manual"

# (attribute prefix, label) of the funding sources, in the table's order.
FUND_SOURCES = (("fiscal", "当年财政拨款"), ("carryover", "上年结转资金"), ("other", "其他资金"))


@dataclass(frozen=True)
class FundRow:
    label: str
    initial_budget: Decimal
    adjusted_budget: Decimal
    executed: Decimal
    is_total: bool = False

    @property
    def rate(self) -> Decimal | None:
        return rule_packs.execution_rate(self.adjusted_budget, self.executed)


def fund_rows(project) -> list[FundRow]:
    """年度资金总额 (the sum of the sources) first, then 其中：each source."""
    sources = [
        FundRow(
            f"其中：{label}" if n == 0 else label,
            quantize(getattr(project, f"{prefix}_initial") or ZERO),
            quantize(getattr(project, f"{prefix}_adjusted") or ZERO),
            quantize(getattr(project, f"{prefix}_executed") or ZERO),
        )
        for n, (prefix, label) in enumerate(FUND_SOURCES)
    ]
    total = FundRow(
        "年度资金总额",
        sum((r.initial_budget for r in sources), ZERO),
        sum((r.adjusted_budget for r in sources), ZERO),
        sum((r.executed for r in sources), ZERO),
        is_total=True,
    )
    return [total, *sources]


def score_row(row, pack: rule_packs.RulePack, satisfaction: bool) -> rule_packs.Scored:
    """One 三级 row by its method: by the pack's rules, a qualitative tier, or an entered score."""
    weight = row.weight or ZERO
    if row.method == QUALITATIVE:
        return rule_packs.score_qualitative(row.band, row.score, weight)
    if row.method == MANUAL:
        return rule_packs.score_manual(row.score, weight)
    if row.comparison not in rule_packs.SIGNS:
        return rule_packs.Scored(None, "按规则计分的指标需选择指标性质 =、≥ 或 ≤")
    return rule_packs.score_quantitative(
        comparison=row.comparison, target=row.target_value, actual=row.actual_value, points=weight,
        satisfaction=satisfaction, pack=pack, unit_of_measure=row.unit_of_measure,
    )


@dataclass
class ScoredRow:
    row: object
    result: rule_packs.Scored

    @property
    def score(self) -> Decimal | None:
        return self.result.score

    @property
    def points_lost(self) -> Decimal:
        return quantize(self.row.weight or ZERO) - (self.score or ZERO) if self.score is not None else ZERO

    @property
    def reason_missing(self) -> bool:
        """偏差原因分析及改进措施 is required wherever a point was lost (domain.md §3)."""
        return self.points_lost > 0 and not (self.row.deviation_reason or "").strip()


@dataclass
class Category:
    """A 二级指标 of the template and the project's 三级 rows under it."""

    indicator: object
    rows: list[ScoredRow]

    @property
    def score(self) -> Decimal:
        return sum((r.score or ZERO for r in self.rows), ZERO)


@dataclass
class Dimension:
    """A 一级指标 (产出, 效益, 满意度, 成本) with its 分值 and categories."""

    indicator: object
    categories: list[Category]

    @property
    def weight(self) -> Decimal:
        return quantize(self.indicator.weight or ZERO)

    @property
    def rows(self) -> list[ScoredRow]:
        return [r for c in self.categories for r in c.rows]

    @property
    def rows_weight(self) -> Decimal:
        return sum((quantize(r.row.weight or ZERO) for r in self.rows), ZERO)

    @property
    def score(self) -> Decimal:
        return sum((r.score or ZERO for r in self.rows), ZERO)

    @property
    def row_count(self) -> int:
        return len(self.rows)


@dataclass
class ProjectScorecard:
    funds: list[FundRow]
    execution_weight: Decimal
    execution: rule_packs.Scored
    dimensions: list[Dimension]
    pack: rule_packs.RulePack
    thresholds: scoring.GradeThresholds

    @property
    def rate(self) -> Decimal | None:
        return self.funds[0].rate

    @property
    def rows(self) -> list[ScoredRow]:
        return [r for d in self.dimensions for r in d.rows]

    @property
    def rows_total(self) -> Decimal:
        """The 执行率 score and every row's: what 总分 is before any cap."""
        return quantize((self.execution.score or ZERO) + sum((r.score or ZERO for r in self.rows), ZERO))

    @property
    def capped(self) -> rule_packs.CappedTotal:
        return rule_packs.cap_total(self.rows_total, self.rate, self.pack)

    @property
    def total(self) -> Decimal:
        return self.capped.total

    @property
    def grade(self) -> str:
        return scoring.grade(self.total, self.thresholds)

    @property
    def max_total(self) -> Decimal:
        return quantize(self.execution_weight) + sum((d.weight for d in self.dimensions), ZERO)

    @property
    def execution_needs_reason(self) -> bool:
        return self.rate is not None and self.rate < self.pack.low_execution_rate


def build_scorecard(project, template, rows, *, pack, execution_weight, thresholds) -> ProjectScorecard:
    """Arrange the rows under the template (一级 → 二级) and score everything; no queries here."""
    template = sorted(template, key=lambda i: (i.level, i.order, i.pk or 0))
    by_category: dict[int, list] = {}
    dimension_of = {i.pk: i.parent_id for i in template if i.level == 2}
    kinds = {i.pk: i.kind for i in template if i.level == 1}
    for row in sorted(rows, key=lambda r: (r.order, r.pk or 0)):
        satisfaction = kinds.get(dimension_of.get(row.category_id)) == rule_packs.SATISFACTION
        by_category.setdefault(row.category_id, []).append(ScoredRow(row, score_row(row, pack, satisfaction)))
    dimensions = [
        Dimension(top, [Category(c, by_category.get(c.pk, [])) for c in template if c.level == 2 and c.parent_id == top.pk])
        for top in template
        if top.level == 1
    ]
    funds = fund_rows(project)
    execution = rule_packs.score_execution(funds[0].rate, execution_weight, pack)
    return ProjectScorecard(funds, quantize(execution_weight), execution, dimensions, pack, thresholds)


def weight_errors(card: ProjectScorecard) -> list[str]:
    """Each 一级's rows share exactly its 分值 (产出 50 ...), so that 总分 is out of 100."""
    problems = []
    for dimension in card.dimensions:
        placed, weight = dimension.rows_weight, dimension.weight
        if placed != weight:
            problems.append(
                f"“{dimension.indicator.name}”的三级指标分值合计 {rule_packs.plain(placed)} 分，应为 {rule_packs.plain(weight)} 分。"
            )
    return problems


def template_errors(template, execution_weight) -> list[str]:
    """执行率 and the 一级 weights total 100."""
    total = quantize(execution_weight or ZERO) + sum((quantize(i.weight or ZERO) for i in template if i.level == 1), ZERO)
    if total != quantize(Decimal(100)):
        return [f"执行率分值与一级指标分值合计为 {rule_packs.plain(total)} 分，应为 100 分。"]
    return []
