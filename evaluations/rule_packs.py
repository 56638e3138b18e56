"""Rule packs: the national scoring rules as pure functions a framework switches on and parameterises.

- 财预〔2020〕10号 第十六条: a quantitative indicator met scores full marks, one not met scores in proportion;
  a qualitative one is scored in three tiers, within 100–80%, 80–60% and 60–0% of its points.
- 财预〔2021〕101号 (the alternatives): 执行率 stepped 10 / 7 / 5 / 0 at 100 / 80 / 60 %; other quantitative
  indicators (完成率 − 60%) ÷ (1 − 60%) × 分值, nothing below 60%; 满意度 stepped at 90 / 80 / 60 %;
  reverse (≤) indicators A ÷ B × 分值, capped at 分值.
- Seen in provincial 一体化 systems (for 部门整体 frameworks too): an actual ≥ 30% above its target is 指标偏离 and
  loses a fixed deduction; the total is capped by the 执行率 (70–80% → 89, 60–70% → 79, < 60% → 69, < 50% → 59).

Every score comes with its one-line explanation ("执行率 78.00%，按 101 号文分档得 5 分"). Decimals are quantized to
two places; nothing here touches the database. The parameters (steps, floor, deduction, caps) are data on the
framework (`models.RulePackSettings.rule_pack()`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")
ONE = Decimal("1")
HUNDRED = Decimal("100")

# Rule names as stored on the framework (models.RulePackSettings choices).
PROPORTIONAL = "proportional"  # 10号: in proportion, full marks when met
STEPPED = "stepped"  # 101号: 执行率 and 满意度 in steps
FLOORED = "floored"  # 101号: (rate − floor) ÷ (1 − floor) × points

AT_LEAST, AT_MOST, EQUAL = ">=", "<=", "="
SIGNS = {EQUAL: "=", AT_LEAST: "≥", AT_MOST: "≤"}

# (rate from, fraction of the points), highest first; below the last step nothing.
EXECUTION_STEPS_101 = ((Decimal("100"), ONE), (Decimal("80"), Decimal("0.7")), (Decimal("60"), Decimal("0.5")))
SATISFACTION_STEPS_101 = ((Decimal("90"), ONE), (Decimal("80"), Decimal("0.8")), (Decimal("60"), Decimal("0.5")))
# (rate below, the most the total may be), loosest first.
EXECUTION_CAPS = (
    (Decimal("80"), Decimal("89")),
    (Decimal("70"), Decimal("79")),
    (Decimal("60"), Decimal("69")),
    (Decimal("50"), Decimal("59")),
)


# The most steps a 执行率 cap table may have: the lists and exports apply the caps in the database, one term a step
# (models.evaluations.EvaluationQuerySet.with_total_score).
MAX_CAPS = 8


def quantize(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def plain(value: Decimal | None) -> str:
    """7.00 → "7", 7.50 → "7.5": how people write points."""
    if value is None:
        return ""
    text = f"{quantize(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(value: Decimal) -> str:
    return f"{quantize(value)}%"


@dataclass(frozen=True)
class RulePack:
    """Which rules apply and with what parameters. The two national packs are `PACK_10` and `PACK_101`."""

    name: str = "财预〔2020〕10号"
    short_name: str = "10 号文"
    execution_rule: str = PROPORTIONAL
    execution_steps: tuple = EXECUTION_STEPS_101
    quantitative_rule: str = PROPORTIONAL
    floor_rate: Decimal = Decimal("60")  # percent of the target, for FLOORED
    satisfaction_rule: str = PROPORTIONAL
    satisfaction_steps: tuple = SATISFACTION_STEPS_101
    deviation_enabled: bool = False
    deviation_threshold: Decimal = Decimal("30")  # percent above the target
    deviation_deduction: Decimal = Decimal("2")  # points
    caps: tuple = field(default=())  # empty: the 执行率 does not cap the total
    low_execution_rate: Decimal = Decimal("90")  # below this a written reason is required


PACK_10 = RulePack()
PACK_101 = RulePack(
    name="财预〔2021〕101号", short_name="101 号文",
    execution_rule=STEPPED, quantitative_rule=FLOORED, satisfaction_rule=STEPPED,
)


@dataclass(frozen=True)
class Scored:
    score: Decimal | None
    explanation: str
    deviated: bool = False  # 指标偏离 applied
    flagged: str = ""  # something a reviewer should look at (e.g. 执行率 above 100%)


def _step_fraction(rate: Decimal, steps) -> tuple[Decimal, Decimal | None]:
    """The fraction of the points for `rate` and the step it reached (None below the last)."""
    for start, fraction in steps:
        if rate >= start:
            return Decimal(fraction), Decimal(start)
    return ZERO, None


def _bounded(points: Decimal, fraction: Decimal) -> Decimal:
    return quantize(points * min(ONE, max(ZERO, fraction)))


# ------------------------------------------------------------------------------------------------
# 执行率
# ------------------------------------------------------------------------------------------------


def execution_rate(adjusted_budget: Decimal | None, executed: Decimal | None) -> Decimal | None:
    """执行率 = 全年执行数 ÷ 全年预算数 (percent, two places); None when there is no budget to divide by."""
    if adjusted_budget is None or executed is None or adjusted_budget <= 0:
        return None
    return quantize(Decimal(executed) / Decimal(adjusted_budget) * HUNDRED)


def score_execution(rate: Decimal | None, points: Decimal, pack: RulePack = PACK_10) -> Scored:
    """The 执行率 row of the funds table (分值 usually 10)."""
    points = quantize(points)
    if rate is None:
        return Scored(None, "全年预算数为 0 或未填写，无法计算执行率")
    flagged = "执行率超过 100%，支出超出全年预算数，请核实" if rate > HUNDRED else ""
    if pack.execution_rule == STEPPED:
        fraction, step = _step_fraction(rate, pack.execution_steps)
        score = _bounded(points, fraction)
        reached = f"（达到 {plain(step)}% 档）" if step is not None else f"（低于 {plain(pack.execution_steps[-1][0])}%）"
        text = f"执行率 {percent(rate)}，按 {pack.short_name}分档得 {plain(score)} 分{reached}"
    else:
        score = _bounded(points, rate / HUNDRED)
        text = f"执行率 {percent(rate)}，按 {pack.short_name}按比例得 {plain(score)} 分"
    if flagged:
        text += "；超过 100% 按满分计"
    return Scored(score, text, flagged=flagged)


# ------------------------------------------------------------------------------------------------
# Indicators
# ------------------------------------------------------------------------------------------------


def completion_rate(comparison: str, target: Decimal, actual: Decimal) -> Decimal:
    """完成率 as a fraction (not capped): actual ÷ target, or for "≤" targets target ÷ actual (A ÷ B)."""
    if comparison == AT_MOST:
        if actual <= 0:
            return ONE
        return Decimal(target) / Decimal(actual)
    if target <= 0:
        return ONE
    return Decimal(actual) / Decimal(target)


def is_deviation(comparison: str, target: Decimal, actual: Decimal, pack: RulePack) -> bool:
    """指标偏离: an actual at least `deviation_threshold`% above a "≥"/"=" target (a target set too low).
    Compared exactly, so 30% above a 30% threshold counts."""
    if not pack.deviation_enabled or comparison == AT_MOST or target <= 0:
        return False
    return (Decimal(actual) - Decimal(target)) * HUNDRED >= Decimal(target) * pack.deviation_threshold


def score_quantitative(
    *, comparison: str, target: Decimal | None, actual: Decimal | None, points: Decimal,
    satisfaction: bool = False, pack: RulePack = PACK_10, unit_of_measure: str = "",
) -> Scored:
    """One quantitative 三级 indicator under the pack: 满意度 rows by the satisfaction rule, the rest by the
    quantitative rule; then 指标偏离 where switched on. The score stays within [0, 分值]."""
    points = quantize(points)
    if actual is None:
        return Scored(None, "尚未填写实际完成值")
    if target is None:
        return Scored(None, "尚未填写年度指标值")
    actual, target = Decimal(actual), Decimal(target)
    if actual < 0 or target < 0:
        return Scored(None, "年度指标值和实际完成值不能为负数")
    described = f"完成值 {plain(actual)}{unit_of_measure}，目标 {SIGNS.get(comparison, '')}{plain(target)}{unit_of_measure}"
    rate = completion_rate(comparison, target, actual)

    if satisfaction and pack.satisfaction_rule == STEPPED:
        # 101号: the satisfaction itself (a percentage) is stepped, whatever the target.
        fraction, step = _step_fraction(actual, pack.satisfaction_steps)
        score = _bounded(points, fraction)
        reached = f"达到 {plain(step)}% 档" if step is not None else f"低于 {plain(pack.satisfaction_steps[-1][0])}%"
        text = f"满意度 {plain(actual)}%，{reached}，按 {pack.short_name}分档得 {plain(score)} 分"
    elif rate >= ONE:
        score = points
        text = f"{described}，已完成，得满分 {plain(score)} 分"
    elif comparison == AT_MOST:
        # 101号 reverse indicators: A ÷ B × 分值 (10号: the inverse proportion, the same formula).
        score = _bounded(points, rate)
        text = f"{described}，未完成，按目标值÷完成值（{percent(rate * HUNDRED)}）得 {plain(score)} 分"
    elif pack.quantitative_rule == FLOORED:
        floor = pack.floor_rate / HUNDRED
        if rate < floor:
            score = quantize(ZERO)
            text = f"{described}，完成率 {percent(rate * HUNDRED)}，低于 {plain(pack.floor_rate)}%，按 {pack.short_name}不得分"
        else:
            score = _bounded(points, (rate - floor) / (ONE - floor))
            text = (f"{described}，完成率 {percent(rate * HUNDRED)}，按 {pack.short_name}"
                    f"（完成率−{plain(pack.floor_rate)}%）÷（1−{plain(pack.floor_rate)}%）×分值得 {plain(score)} 分")
    else:
        score = _bounded(points, rate)
        text = f"{described}，完成率 {percent(rate * HUNDRED)}，按比例得 {plain(score)} 分"

    if is_deviation(comparison, target, actual, pack):
        over = (actual - target) / target * HUNDRED
        deducted = quantize(max(ZERO, score - pack.deviation_deduction))
        text += (f"；完成值超出目标 {percent(over)}（≥ {plain(pack.deviation_threshold)}%），属指标偏离，"
                 f"扣 {plain(pack.deviation_deduction)} 分，计 {plain(deducted)} 分")
        return Scored(deducted, text, deviated=True)
    return Scored(score, text)


# The three qualitative tiers of 10号 第十六条: (label, low, high) as fractions of the points.
TIERS = {
    "achieved": ("达成", Decimal("0.8"), ONE),
    "partly": ("部分达成", Decimal("0.6"), Decimal("0.8")),
    "not_achieved": ("未达成", ZERO, Decimal("0.6")),
}


def tier_range(tier: str, points: Decimal) -> tuple[Decimal, Decimal]:
    _, low, high = TIERS[tier]
    return quantize(points * low), quantize(points * high)


def score_qualitative(tier: str, entered: Decimal | None, points: Decimal) -> Scored:
    """A qualitative indicator: the evaluator picks a tier and a score within it."""
    points = quantize(points)
    if not tier:
        return Scored(None, "尚未选择定性评价档次")
    label = TIERS[tier][0]
    low, high = tier_range(tier, points)
    if entered is None:
        return Scored(None, f"定性评价“{label}”，请在 {plain(low)}–{plain(high)} 分之间评分")
    if not low <= Decimal(entered) <= high:
        return Scored(None, f"定性评价“{label}”的得分应在 {plain(low)}–{plain(high)} 分之间，现为 {plain(entered)} 分")
    return Scored(quantize(entered), f"定性评价“{label}”（{plain(low)}–{plain(high)} 分），得 {plain(entered)} 分")


def score_manual(entered: Decimal | None, points: Decimal) -> Scored:
    """An entered score (judgement, docs/domain.md §8: it stands, with its reason)."""
    points = quantize(points)
    if entered is None:
        return Scored(None, "尚未评分")
    if not ZERO <= Decimal(entered) <= points:
        return Scored(None, f"得分应在 0–{plain(points)} 分之间，现为 {plain(entered)} 分")
    return Scored(quantize(entered), f"人工评分，得 {plain(entered)} 分")


# ------------------------------------------------------------------------------------------------
# The total
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CappedTotal:
    total: Decimal  # what counts: the sum, or the cap where the 执行率 sets one below it
    uncapped: Decimal
    cap: Decimal | None  # the cap that applies to this 执行率 (None: none)
    explanation: str  # which cap applied, or ""

    @property
    def capped(self) -> bool:
        return self.total < self.uncapped


def execution_cap(rate: Decimal | None, caps) -> tuple[Decimal | None, Decimal | None]:
    """The tightest cap whose bound the rate is below, and that bound."""
    if rate is None:
        return None, None
    found = (None, None)
    for below, cap in caps:
        if rate < Decimal(below) and (found[0] is None or Decimal(cap) < found[0]):
            found = (Decimal(cap), Decimal(below))
    return found


def cap_total(uncapped: Decimal, rate: Decimal | None, pack: RulePack = PACK_10) -> CappedTotal:
    uncapped = quantize(uncapped)
    cap, below = execution_cap(rate, pack.caps)
    if cap is None or uncapped <= cap:
        return CappedTotal(uncapped, uncapped, cap, "")
    return CappedTotal(
        quantize(cap), uncapped, cap,
        f"执行率 {percent(rate)}，低于 {plain(below)}%，总分最高 {plain(cap)} 分（各项得分合计 {plain(uncapped)} 分）",
    )


def pack_errors(pack: RulePack) -> list[str]:
    """What makes a pack's parameters unusable, in the admin's words."""
    errors = []
    for label, steps in (("执行率分档", pack.execution_steps), ("满意度分档", pack.satisfaction_steps)):
        starts = [Decimal(s) for s, _ in steps]
        fractions = [Decimal(f) for _, f in steps]
        if not steps:
            errors.append(f"{label}至少需要一档。")
        elif starts != sorted(starts, reverse=True) or len(set(starts)) != len(starts):
            errors.append(f"{label}应按比率从高到低排列，且不重复。")
        elif fractions != sorted(fractions, reverse=True) or any(not ZERO <= f <= ONE for f in fractions):
            errors.append(f"{label}的得分比例应在 0 到 1 之间，且随档次降低而不升高。")
    if not ZERO <= pack.floor_rate < HUNDRED:
        errors.append("起评完成率应在 0% 到 100% 之间（不含 100%）。")
    if pack.deviation_threshold <= 0:
        errors.append("指标偏离的比例应大于 0。")
    if pack.deviation_deduction < 0:
        errors.append("指标偏离扣分不能为负数。")
    if len(pack.caps) > MAX_CAPS:
        errors.append(f"执行率封顶规则最多 {MAX_CAPS} 档。")
    for below, cap in pack.caps:
        if not (ZERO < Decimal(below) <= HUNDRED and ZERO <= Decimal(cap) <= HUNDRED):
            errors.append("执行率封顶规则中的执行率和最高分应在 0 到 100 之间。")
            break
        if Decimal(below) != quantize(below):
            errors.append("执行率封顶规则中的执行率最多两位小数（执行率按两位小数计算）。")
            break
    return errors


# ------------------------------------------------------------------------------------------------
# The national weightings, as presets for a project framework
# ------------------------------------------------------------------------------------------------

OUTPUT, BENEFIT, SATISFACTION, COST = "output", "benefit", "satisfaction", "cost"


@dataclass(frozen=True)
class Weighting:
    label: str
    scoring_basis: str  # the rules that usually go with it ("10" / "101")
    execution_weight: Decimal
    # (一级指标, kind, 分值, 二级指标 names)
    dimensions: tuple


WEIGHTINGS = {
    # 财预〔2020〕10号 第十三条: 执行率 10, 产出 50, 效益 30, 满意度 10 (adjustable).
    "10": Weighting("财预〔2020〕10号：执行率10、产出50、效益30、满意度10", "10", Decimal("10"), (
        ("产出指标", OUTPUT, Decimal("50"), ("数量指标", "质量指标", "时效指标", "成本指标")),
        ("效益指标", BENEFIT, Decimal("30"), ("经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标")),
        ("满意度指标", SATISFACTION, Decimal("10"), ("服务对象满意度指标",)),
    )),
    # 财预〔2021〕101号, with a 成本 indicator: 成本 20, 产出 40, 效益 20, 满意度 10, plus 执行率 10.
    "101": Weighting("财预〔2021〕101号：执行率10、成本20、产出40、效益20、满意度10", "101", Decimal("10"), (
        ("成本指标", COST, Decimal("20"), ("经济成本指标", "社会成本指标", "生态环境成本指标")),
        ("产出指标", OUTPUT, Decimal("40"), ("数量指标", "质量指标", "时效指标")),
        ("效益指标", BENEFIT, Decimal("20"), ("经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标")),
        ("满意度指标", SATISFACTION, Decimal("10"), ("服务对象满意度指标",)),
    )),
}
