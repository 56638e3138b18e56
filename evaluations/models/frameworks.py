"""The yearly indicator framework: 一级 → 二级 → 三级 indicators, with grade thresholds."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from evaluations import scoring, text
from evaluations.models.choices import MONEY, NON_NEGATIVE, SCORE, ActualSource, Comparison, ScoringRule
from evaluations.models.rule_settings import RulePackSettings


class Framework(RulePackSettings):
    year = models.PositiveIntegerField(
        "年度", unique=True, validators=[MinValueValidator(2000, "年度不正确。"), MaxValueValidator(2100, "年度不正确。")]
    )
    name = models.CharField("名称", max_length=200)
    excellent_min = models.DecimalField("“优”最低分", default=Decimal("90"), **SCORE)
    good_min = models.DecimalField("“良”最低分", default=Decimal("80"), **SCORE)
    pass_min = models.DecimalField("“中”最低分", default=Decimal("60"), **SCORE)
    submission_deadline = models.DateField("提交截止日期", null=True, blank=True)

    class Meta:
        verbose_name = "年度指标体系"
        verbose_name_plural = "年度指标体系"
        ordering = ["-year"]

    def __str__(self):
        return self.name

    @property
    def grade_thresholds(self):
        return scoring.GradeThresholds(self.excellent_min, self.good_min, self.pass_min)

    def clean(self):
        self.clean_rule_pack()
        if not (Decimal("0") <= self.pass_min <= self.good_min <= self.excellent_min <= Decimal("100")):
            raise ValidationError("等级分数线应满足 0 ≤ “中” ≤ “良” ≤ “优” ≤ 100。")


class Indicator(models.Model):
    framework = models.ForeignKey(Framework, verbose_name="指标体系", on_delete=models.CASCADE, related_name="indicators")
    parent = models.ForeignKey(
        "self", verbose_name="上级指标", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    level = models.PositiveSmallIntegerField("级别", choices=[(1, "一级指标"), (2, "二级指标"), (3, "三级指标")])
    name = models.CharField("指标名称", max_length=200)
    weight = models.DecimalField("分值", validators=NON_NEGATIVE, **SCORE)
    order = models.PositiveIntegerField("排序", default=0)
    scoring_standard = models.TextField("评分标准", blank=True, max_length=text.SCORING_STANDARD_LIMIT)
    accepts_unit_rows = models.BooleanField(
        "单位可在此类下自设指标", default=False, help_text="二级指标（如产出、效益）下由单位填写自己的绩效目标。"
    )
    # Rule and parameters: the defaults a 三级 row is created with.
    rule = models.CharField("计分方法", max_length=20, choices=ScoringRule.choices, default=ScoringRule.MANUAL)
    comparison = models.CharField("指标性质", max_length=12, choices=Comparison.choices, default=Comparison.QUALITATIVE)
    target_value = models.DecimalField("年度指标值", null=True, blank=True, **MONEY)
    unit_of_measure = models.CharField("度量单位", max_length=20, blank=True)
    deduction_per_point = models.DecimalField(
        "每超 1 个百分点扣分", null=True, blank=True, validators=NON_NEGATIVE, **SCORE
    )
    actual_source = models.CharField(
        "实际完成值来源", max_length=30, choices=ActualSource.choices, default=ActualSource.ENTERED, blank=True
    )

    class Meta:
        verbose_name = "指标"
        verbose_name_plural = "指标"
        ordering = ["framework", "level", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "parent", "name"], name="indicator_unique_name_in_parent"),
        ]

    def __str__(self):
        return self.name

    # What a 三级 row of an evaluation starts from: the rule and its parameters as the framework sets them.
    ROW_DEFAULTS = ("comparison", "target_value", "unit_of_measure", "weight", "rule", "deduction_per_point", "actual_source")

    def row_defaults(self):
        return {name: getattr(self, name) for name in self.ROW_DEFAULTS}

    def clean(self):
        errors = {}
        expected_level = self.parent.level + 1 if self.parent_id else 1
        if self.level != expected_level:
            errors["level"] = (
                f"级别应为“{dict(self._meta.get_field('level').choices)[expected_level]}”："
                + ("没有上级指标的是一级指标。" if not self.parent_id else f"上级指标“{self.parent.name}”是第 {self.parent.level} 级。")
            )
        if self.parent_id and self.framework_id and self.parent.framework_id != self.framework_id:
            errors["parent"] = "上级指标必须属于同一年度指标体系。"
        if self.rule == ScoringRule.DEDUCTION and self.deduction_per_point is None:
            errors["deduction_per_point"] = "“超限扣分”需要填写每超 1 个百分点扣几分。"
        if self.rule in (ScoringRule.PROPORTIONAL, ScoringRule.DEDUCTION) and self.level == 3:
            if self.comparison == Comparison.QUALITATIVE:
                errors["comparison"] = "按比例计分或超限扣分的指标不能是“定性”指标，请选择 =、≥ 或 ≤。"
            if self.target_value is None and self.actual_source == ActualSource.ENTERED:
                errors["target_value"] = "按比例计分或超限扣分的指标需要填写年度指标值。"
        if errors:
            raise ValidationError(errors)
