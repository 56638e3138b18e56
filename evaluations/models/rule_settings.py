"""The rule packs a framework switches on, and their parameters, as data (evaluations.rule_packs holds the rules).

Shared by the 部门整体 framework and the project framework: both may score under 财预〔2020〕10号 or the
财预〔2021〕101号 alternatives, deduct for 指标偏离 and cap the total by the 执行率.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models

from evaluations import rule_packs
from evaluations.models.choices import SCORE


class ScoringBasis(models.TextChoices):
    RULES_10 = "10", "财预〔2020〕10号：按比例计分"
    RULES_101 = "101", "财预〔2021〕101号：执行率、满意度分档，其他按起评完成率计分"


def _steps_json(steps):
    return [[str(start), str(fraction)] for start, fraction in steps]


def default_execution_steps():
    return _steps_json(rule_packs.EXECUTION_STEPS_101)


def default_satisfaction_steps():
    return _steps_json(rule_packs.SATISFACTION_STEPS_101)


def default_execution_caps():
    return _steps_json(rule_packs.EXECUTION_CAPS)


def _pairs(value, label):
    """[[rate, value], ...] from the JSON field, as Decimals; a ValidationError in Chinese otherwise."""
    message = f"{label}应为“[[比率, 数值], ...]”的列表，例如 [[100, 1], [80, 0.7]]。"
    if not isinstance(value, list):
        raise ValidationError(message)
    pairs = []
    for item in value:
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise ValidationError(message)
        try:
            pair = (Decimal(str(item[0])), Decimal(str(item[1])))
        except ArithmeticError:
            raise ValidationError(message) from None
        if not all(p.is_finite() for p in pair):
            raise ValidationError(message)
        pairs.append(pair)
    return tuple(pairs)


def caps_pack(execution_caps):
    """A pack with only the 执行率 caps of a framework's `execution_caps` JSON (for totals read in bulk)."""
    return rule_packs.RulePack(caps=_pairs(execution_caps, "执行率封顶规则"))


class RulePackSettings(models.Model):
    scoring_basis = models.CharField(
        "计分规则", max_length=4, choices=ScoringBasis.choices, default=ScoringBasis.RULES_10,
        help_text="10号文：定量指标完成得满分、未完成按比例；101号文：执行率和满意度分档，其他定量指标按（完成率−起评完成率）÷（1−起评完成率）计分。",
    )
    execution_steps = models.JSONField(
        "执行率分档（101号文）", default=default_execution_steps,
        help_text="[[执行率%, 得分比例], ...]，从高到低；默认 100%→10分、80%→7分、60%→5分，以下 0 分（按分值折算）。",
    )
    floor_rate = models.DecimalField(
        "起评完成率%（101号文）", default=Decimal("60"), help_text="完成率低于此值不得分。", **SCORE
    )
    satisfaction_steps = models.JSONField(
        "满意度分档（101号文）", default=default_satisfaction_steps,
        help_text="[[满意度%, 得分比例], ...]，从高到低；默认 90%→满分、80%→80%、60%→50%，以下 0 分。",
    )
    deviation_enabled = models.BooleanField(
        "启用指标偏离扣分", default=False, help_text="实际完成值超出年度指标值达到规定比例的，视为目标设定偏低，扣固定分值。"
    )
    deviation_threshold = models.DecimalField("指标偏离比例%", default=Decimal("30"), **SCORE)
    deviation_deduction = models.DecimalField("指标偏离扣分", default=Decimal("2"), **SCORE)
    execution_caps_enabled = models.BooleanField(
        "启用执行率封顶", default=False, help_text="执行率偏低时总分封顶，例如执行率 70%–80% 的总分最高 89 分。"
    )
    execution_caps = models.JSONField(
        "执行率封顶规则", default=default_execution_caps,
        help_text="[[执行率低于%, 总分最高], ...]；默认低于 80%→89，低于 70%→79，低于 60%→69，低于 50%→59。",
    )

    class Meta:
        abstract = True

    def rule_pack(self) -> rule_packs.RulePack:
        """The pure rule pack these settings describe (raises ValidationError if the JSON is malformed)."""
        national = rule_packs.PACK_101 if self.scoring_basis == ScoringBasis.RULES_101 else rule_packs.PACK_10
        return rule_packs.RulePack(
            name=national.name, short_name=national.short_name,
            execution_rule=national.execution_rule, quantitative_rule=national.quantitative_rule,
            satisfaction_rule=national.satisfaction_rule,
            execution_steps=_pairs(self.execution_steps, "执行率分档"),
            satisfaction_steps=_pairs(self.satisfaction_steps, "满意度分档"),
            floor_rate=self.floor_rate,
            deviation_enabled=self.deviation_enabled,
            deviation_threshold=self.deviation_threshold,
            deviation_deduction=self.deviation_deduction,
            caps=_pairs(self.execution_caps, "执行率封顶规则") if self.execution_caps_enabled else (),
        )

    def clean_rule_pack(self):
        try:
            pack = self.rule_pack()
        except ValidationError as error:
            raise ValidationError({"scoring_basis": error.messages}) from None
        errors = rule_packs.pack_errors(pack)
        if errors:
            raise ValidationError({"scoring_basis": errors})

    @property
    def rule_pack_summary(self) -> str:
        pack = self.rule_pack()
        parts = [pack.name]
        if pack.deviation_enabled:
            parts.append(f"指标偏离（超出 {rule_packs.plain(pack.deviation_threshold)}% 扣 {rule_packs.plain(pack.deviation_deduction)} 分）")
        if pack.caps:
            parts.append("执行率封顶")
        return "；".join(parts)
