"""Which units to re-check (抽查复核): risk signals and the ranking that combines them.

财预〔2020〕10号 第十九条 and 财预〔2018〕167号 ask the finance bureau to check that self-evaluations are true and
accurate; the Ministry's own reading names the problem, "有些绩效自评不实、得分虚高". Each signal below is a
pattern of an inflated or careless 自评 that a reviewer can verify, and says why in one Chinese sentence.

The signals and the ranking are pure functions over `UnitFacts` (plain values, no database), so each is tested
with a worked example. `load_facts` (at the end) is the only part that reads the database.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from evaluations import scoring

# Defaults (our own; domain.md §10): the bureau can pass other values.
HIGH_SCORE = Decimal("90")  # 优
LOW_EXECUTION_RATE = scoring.LOW_EXECUTION_RATE  # below it the unit must explain anyway
SHARP_RISE = Decimal("10")  # points over last year
SHORT_REASON = 10  # characters: "已完成" or "无" explains nothing
REPEATED_REASON = 3  # the same text on this many rows is pasted, not analysed
NOT_CHECKED_YEARS = 3  # a unit no 复核 has looked at for this many years
SAMPLE_SHARE = Decimal("0.1")  # the suggested sample: a tenth of the units, at least three

# How much each signal weighs in the ranking: a score the money contradicts weighs most.
POINTS = {
    "execution": 3,
    "rise": 2,
    "targets": 2,
    "reasons": 1,
    "unchecked": 1,
}


@dataclass(frozen=True)
class Row:
    """One 三级 row as the signals see it. `key` names the indicator the same way across years."""

    key: str
    name: str
    weight: Decimal
    score: Decimal | None
    reason: str = ""
    comparison: str = ">="
    target: Decimal | None = None


@dataclass(frozen=True)
class UnitFacts:
    unit_id: int
    unit_name: str
    score: Decimal | None  # 综合得分 of this year's 自评
    execution_rate: Decimal | None  # percent
    previous_score: Decimal | None = None
    rows: tuple[Row, ...] = ()
    previous_targets: dict = field(default_factory=dict)  # key → (comparison, target) of last year's rows
    last_checked_year: int | None = None  # the last year a confirmed 复核 covered
    evaluation_id: int | None = None
    unit_code: str = ""


@dataclass(frozen=True)
class Signal:
    code: str
    reason: str

    @property
    def points(self):
        return POINTS[self.code]


@dataclass(frozen=True)
class Risk:
    facts: UnitFacts
    signals: tuple[Signal, ...]

    @property
    def points(self):
        return sum(s.points for s in self.signals)

    @property
    def reasons(self):
        return [s.reason for s in self.signals]


def _n(value):
    return scoring.plain(value)


def high_score_low_execution(facts, *, min_score=HIGH_SCORE, max_rate=LOW_EXECUTION_RATE):
    """A score of 优 while a tenth or more of the money was not spent: the results claimed and the spending
    disagree."""
    if facts.score is None or facts.execution_rate is None:
        return None
    if facts.score >= min_score and facts.execution_rate < max_rate:
        return Signal("execution", f"综合得分 {_n(facts.score)} 分，但预算执行率仅 {_n(facts.execution_rate)}%（低于 {_n(max_rate)}%）。")
    return None


def sharp_rise(facts, *, min_rise=SHARP_RISE):
    if facts.score is None or facts.previous_score is None:
        return None
    rise = facts.score - facts.previous_score
    if rise >= min_rise:
        return Signal("rise", f"综合得分由上年 {_n(facts.previous_score)} 分升至 {_n(facts.score)} 分，提高 {_n(rise)} 分。")
    return None


def _lowered(comparison, before, now):
    """A target made easier: a smaller "≥"/"=" target, a larger "≤" limit."""
    if comparison == "<=":
        return now > before
    return now < before


def lowered_targets(facts):
    """Targets set lower than last year's for the same indicator: full marks against an easier target."""
    lowered = []
    for row in facts.rows:
        before = facts.previous_targets.get(row.key)
        if row.target is None or before is None:
            continue
        comparison, target = before
        if target is not None and comparison == row.comparison and _lowered(row.comparison, target, row.target):
            lowered.append(f"“{row.name}”{_n(target)}→{_n(row.target)}")
    if not lowered:
        return None
    return Signal("targets", f"{len(lowered)} 项指标的年度指标值低于上年：{'；'.join(lowered[:3])}{'等' if len(lowered) > 3 else ''}。")


def weak_reasons(facts, *, short=SHORT_REASON, repeated=REPEATED_REASON):
    """Points lost without a real explanation: no 偏差原因, a few characters, or the same text pasted on many rows."""
    losing = [r for r in facts.rows if r.score is not None and r.score < r.weight]
    texts = Counter(r.reason.strip() for r in losing if r.reason.strip())
    missing = sum(1 for r in losing if not r.reason.strip())
    too_short = sum(1 for r in losing if 0 < len(r.reason.strip()) < short)
    pasted = sum(n for text, n in texts.items() if n >= repeated and len(text) >= short)
    parts = []
    if missing:
        parts.append(f"{missing} 行未填写偏差原因")
    if too_short:
        parts.append(f"{too_short} 行偏差原因不足 {short} 字")
    if pasted:
        parts.append(f"{pasted} 行偏差原因完全相同")
    if not parts:
        return None
    return Signal("reasons", f"扣分指标中：{'，'.join(parts)}。")


def not_checked(facts, year, *, years=NOT_CHECKED_YEARS):
    if facts.last_checked_year is not None and year - facts.last_checked_year < years:
        return None
    if facts.last_checked_year is None:
        return Signal("unchecked", "该单位从未被复核。")
    return Signal("unchecked", f"该单位最近一次复核是 {facts.last_checked_year} 年，已 {year - facts.last_checked_year} 年未复核。")


def signals_of(facts, year):
    found = (
        high_score_low_execution(facts),
        sharp_rise(facts),
        lowered_targets(facts),
        weak_reasons(facts),
        not_checked(facts, year),
    )
    return tuple(s for s in found if s is not None)


def rank(all_facts, year):
    """Every unit with its signals, riskiest first; ties by the higher score (more to lose), then the unit code."""
    risks = [Risk(f, signals_of(f, year)) for f in all_facts]
    return sorted(risks, key=lambda r: (-r.points, -(r.facts.score or 0), r.facts.unit_code, r.facts.unit_id))


def sample_size(units, share=SAMPLE_SHARE, minimum=3):
    return min(units, max(minimum, math.ceil(units * share)))


def suggest(ranked, size=None):
    """The sample to propose: the riskiest units with any signal; `size` defaults to a tenth of the units ranked
    (at least three). The bureau may add any other unit by hand."""
    size = sample_size(len(ranked)) if size is None else size
    return [r for r in ranked if r.points > 0][:size]


# --- Reading the facts from the database -----------------------------------------------------------


def row_key(category_name, name):
    return f"{category_name}/{name}"


def load_facts(evaluations, year):
    """The facts of each evaluation of `year` in `evaluations` (already scoped to the reviewer), in five queries
    however many there are: the evaluations with totals and budget, their rows, last year's totals and rows,
    the last confirmed 复核 per unit."""
    from django.db.models import Max, Q, Sum

    from evaluations.models import FUNDING_SOURCES, Evaluation, IndicatorResult, Recheck

    funding = Q(budget_lines__item__in=FUNDING_SOURCES)
    current = list(
        evaluations.for_year(year).order_by().with_total_score()
        .annotate(adjusted=Sum("budget_lines__adjusted_budget", filter=funding),
                  executed=Sum("budget_lines__executed", filter=funding))
        .values("pk", "unit_id", "unit__name", "unit__code", "total_score_sum", "adjusted", "executed")
    )
    unit_ids = [e["unit_id"] for e in current]
    rows = {}
    for r in (IndicatorResult.objects.filter(evaluation__in=[e["pk"] for e in current]).order_by("order", "pk")
              .values("evaluation_id", "category__name", "name", "weight", "score", "deviation_reason",
                      "comparison", "target_value")):
        rows.setdefault(r["evaluation_id"], []).append(Row(
            key=row_key(r["category__name"], r["name"]), name=r["name"], weight=r["weight"], score=r["score"],
            reason=r["deviation_reason"], comparison=r["comparison"], target=r["target_value"],
        ))
    previous = Evaluation.objects.filter(unit_id__in=unit_ids, framework__year=year - 1)
    previous_scores = dict(previous.order_by().with_total_score().values_list("unit_id", "total_score_sum"))
    previous_targets = {}
    for r in (IndicatorResult.objects.filter(evaluation__in=previous, target_value__isnull=False)
              .values("evaluation__unit_id", "category__name", "name", "comparison", "target_value")):
        previous_targets.setdefault(r["evaluation__unit_id"], {})[row_key(r["category__name"], r["name"])] = (
            r["comparison"], r["target_value"])
    checked = dict(
        Recheck.objects.confirmed().filter(evaluation__unit_id__in=unit_ids, evaluation__framework__year__lt=year)
        .values("evaluation__unit_id").annotate(last=Max("evaluation__framework__year"))
        .values_list("evaluation__unit_id", "last")
    )
    return [
        UnitFacts(
            unit_id=e["unit_id"], unit_name=e["unit__name"], unit_code=e["unit__code"], evaluation_id=e["pk"],
            score=scoring.quantize(e["total_score_sum"] or 0),
            execution_rate=scoring.execution_rate(e["adjusted"], e["executed"]),
            previous_score=(scoring.quantize(previous_scores[e["unit_id"]] or 0)
                            if e["unit_id"] in previous_scores else None),
            rows=tuple(rows.get(e["pk"], ())), previous_targets=previous_targets.get(e["unit_id"], {}),
            last_checked_year=checked.get(e["unit_id"]),
        )
        for e in current
    ]
