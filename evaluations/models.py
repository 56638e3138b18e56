"""The 自评表 as data: units, the yearly indicator framework, evaluations and their rows.

Scores and totals are never typed twice: rows carry their own 得分, everything above them is summed by
`evaluations.scoring`, and the printed 说明 reads the same numbers.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Prefetch, Q, Value
from django.db.models.functions import Concat, Substr

from evaluations import scoring

MONEY = {"max_digits": 14, "decimal_places": 2}
SCORE = {"max_digits": 5, "decimal_places": 2}
NON_NEGATIVE = [MinValueValidator(Decimal("0"), message="不能为负数。")]


class Comparison(models.TextChoices):
    EQUAL = "=", "="
    AT_LEAST = ">=", "≥"
    AT_MOST = "<=", "≤"
    QUALITATIVE = "qualitative", "定性"


class ScoringRule(models.TextChoices):
    PROPORTIONAL = "proportional", "按比例计分"
    DEDUCTION = "deduction", "超限扣分"
    QUALITATIVE = "qualitative", "定性分档"
    MANUAL = "manual", "人工评分"


class QualitativeBand(models.TextChoices):
    ACHIEVED = "achieved", "达成"
    PARTLY = "partly", "部分达成"
    NOT_ACHIEVED = "not_achieved", "未达成"


class ActualSource(models.TextChoices):
    ENTERED = "", "填报"
    BUDGET_EXECUTION_RATE = "budget_execution_rate", "取自预算执行率"
    BUDGET_ADJUSTMENT_RATE = "budget_adjustment_rate", "取自预算调整率"
    BUDGET_BALANCE_RATE = "budget_balance_rate", "取自结转结余率"


# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------


class UnitQuerySet(models.QuerySet):
    def descendants_of(self, unit, include_self=True):
        qs = self.filter(path__startswith=unit.path)
        return qs if include_self else qs.exclude(pk=unit.pk)


class Unit(models.Model):
    name = models.CharField("单位全称", max_length=200, unique=True)
    short_name = models.CharField("简称", max_length=50, blank=True)
    code = models.CharField("单位编码", max_length=50, unique=True)
    parent = models.ForeignKey(
        "self", verbose_name="上级单位", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Materialised path ("/1/5/12/") so "a unit and everything under it" is one indexed query.
    path = models.CharField("层级路径", max_length=500, editable=False, db_index=True, default="")
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name="填报人", blank=True, related_name="filler_units"
    )
    supervising_department = models.ForeignKey(
        "self", verbose_name="主管部门", null=True, blank=True, on_delete=models.SET_NULL, related_name="supervised_units",
        help_text="设有主管部门的单位，提交后先由主管部门审核，再由财政部门审核。",
    )

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = "单位"
        verbose_name_plural = "单位"
        ordering = ["code"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        old_path = self.path
        super().save(*args, **kwargs)
        new_path = f"{self.parent.path if self.parent_id else '/'}{self.pk}/"
        if new_path != old_path:
            Unit.objects.filter(pk=self.pk).update(path=new_path)
            if old_path:  # moved: re-root everything below
                Unit.objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                    path=Concat(Value(new_path), Substr("path", len(old_path) + 1))
                )
            self.path = new_path

    def clean(self):
        ancestor = self.parent
        while ancestor is not None:
            if self.pk and ancestor.pk == self.pk:
                raise ValidationError({"parent": "上级单位不能是本单位或其下级单位。"})
            ancestor = ancestor.parent

    @property
    def display_name(self):
        return self.short_name or self.name


# ---------------------------------------------------------------------------------------------
# The yearly framework: 一级 → 二级 → 三级 indicators, with grade thresholds
# ---------------------------------------------------------------------------------------------


class Framework(models.Model):
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
        if not (Decimal("0") <= self.pass_min <= self.good_min <= self.excellent_min <= Decimal("100")):
            raise ValidationError("等级分数线应满足 0 ≤ “中” ≤ “良” ≤ “优” ≤ 100。")

    def top_level_indicators(self):
        return [i for i in self.indicators.all() if i.level == 1]


class Indicator(models.Model):
    framework = models.ForeignKey(Framework, verbose_name="指标体系", on_delete=models.CASCADE, related_name="indicators")
    parent = models.ForeignKey(
        "self", verbose_name="上级指标", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    level = models.PositiveSmallIntegerField("级别", choices=[(1, "一级指标"), (2, "二级指标"), (3, "三级指标")])
    name = models.CharField("指标名称", max_length=200)
    weight = models.DecimalField("分值", validators=NON_NEGATIVE, **SCORE)
    order = models.PositiveIntegerField("排序", default=0)
    scoring_standard = models.TextField("评分标准", blank=True)
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


# ---------------------------------------------------------------------------------------------
# Evaluations
# ---------------------------------------------------------------------------------------------


class EvaluationStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已提交"
    DEPARTMENT_REVIEWED = "department_reviewed", "主管部门已审核"
    RETURNED = "returned", "已退回"
    APPROVED = "approved", "已通过"


class EvaluationQuerySet(models.QuerySet):
    def visible_to(self, user):
        from evaluations import access

        return access.visible_evaluations(self, user)

    def for_year(self, year):
        return self.filter(framework__year=year)

    def published(self):
        """What the public may read (信息公开): approved and published by an admin."""
        return self.filter(status=EvaluationStatus.APPROVED, published_at__isnull=False)

    def with_total_score(self):
        return self.annotate(total_score_sum=models.Sum("results__score"))

    def with_document_data(self):
        """Everything the evaluation page and the 说明 read, in a fixed number of queries."""
        return self.select_related("unit", "framework", "updated_by").prefetch_related(
            Prefetch("framework__indicators", queryset=Indicator.objects.order_by("level", "order", "pk")),
            Prefetch(
                "results", queryset=IndicatorResult.objects.select_related("indicator", "category").order_by("order", "pk")
            ),
            Prefetch("budget_lines", queryset=BudgetLine.objects.order_by("pk")),
            Prefetch("sections", queryset=NarrativeSection.objects.select_related("indicator").order_by("order", "pk")),
            Prefetch(
                "comments",
                queryset=ReviewComment.objects.select_related(
                    "author", "answered_by", "result", "section__indicator", "sent_in"
                ).order_by("created_at", "pk"),
            ),
        )


class EvaluationManager(models.Manager.from_queryset(EvaluationQuerySet)):
    @transaction.atomic
    def start(self, *, unit, framework, by=None):
        """A new draft with one row per 三级 framework indicator, the budget lines and the 说明's sections."""
        evaluation = self.create(unit=unit, framework=framework, updated_by=by)
        self.add_skeleton(evaluation)
        return evaluation

    def add_skeleton(self, evaluation):
        indicators = list(evaluation.framework.indicators.order_by("level", "order", "pk"))
        IndicatorResult.objects.bulk_create(
            IndicatorResult(
                evaluation=evaluation, indicator=i, category_id=i.parent_id, name=i.name, comparison=i.comparison,
                target_value=i.target_value, unit_of_measure=i.unit_of_measure, weight=i.weight, rule=i.rule,
                deduction_per_point=i.deduction_per_point, actual_source=i.actual_source, order=i.order,
            )
            for i in indicators
            if i.level == 3
        )
        BudgetLine.objects.bulk_create(
            BudgetLine(evaluation=evaluation, item=item) for item in (*FUNDING_SOURCES, *SPENDING_KINDS)
        )
        NarrativeSection.objects.bulk_create(section_skeleton(evaluation, indicators))


    @transaction.atomic
    def start_from_previous(self, *, unit, framework, previous, by=None):
        """A new draft prefilled from the unit's previous year: its own rows and targets (no results or scores),
        and the narrative as a starting point. Everything copied is marked, so it is checked before use."""
        evaluation = self.start(unit=unit, framework=framework, by=by)
        categories = {c.name: c for c in framework.indicators.filter(level=2, accepts_unit_rows=True)}
        IndicatorResult.objects.bulk_create(
            IndicatorResult(
                evaluation=evaluation, category=categories[row.category.name], name=row.name,
                comparison=row.comparison, target_value=row.target_value, target_text=row.target_text,
                unit_of_measure=row.unit_of_measure, weight=row.weight, rule=row.rule,
                deduction_per_point=row.deduction_per_point, order=row.order, copied_from_previous_year=True,
            )
            for row in previous.results.filter(indicator__isnull=True).select_related("category")
            if row.category.name in categories
        )
        old_sections = {(s.kind, s.indicator.name if s.indicator_id else ""): s
                        for s in previous.sections.select_related("indicator")}
        copied = []
        for section in evaluation.sections.select_related("indicator"):
            old = old_sections.get((section.kind, section.indicator.name if section.indicator_id else ""))
            if old and old.is_filled:
                section.body, section.points, section.copied_from_previous_year = old.body, old.points, True
                copied.append(section)
        NarrativeSection.objects.bulk_update(copied, ["body", "points", "copied_from_previous_year"])
        return evaluation


def section_skeleton(evaluation, indicators):
    """The 说明's outline: the goal, the conclusion, one analysis per 一级指标, problems, improvements."""
    tops = [i for i in indicators if i.level == 1]
    yield NarrativeSection(evaluation=evaluation, kind=SectionKind.GOAL, order=0)
    yield NarrativeSection(evaluation=evaluation, kind=SectionKind.CONCLUSION, order=1)
    for n, top in enumerate(tops, start=2):
        yield NarrativeSection(evaluation=evaluation, kind=SectionKind.ANALYSIS, indicator=top, order=n)
    yield NarrativeSection(evaluation=evaluation, kind=SectionKind.PROBLEMS, order=len(tops) + 2)
    yield NarrativeSection(evaluation=evaluation, kind=SectionKind.IMPROVEMENTS, order=len(tops) + 3)


class Evaluation(models.Model):
    unit = models.ForeignKey(Unit, verbose_name="单位", on_delete=models.PROTECT, related_name="evaluations")
    framework = models.ForeignKey(Framework, verbose_name="年度指标体系", on_delete=models.PROTECT, related_name="evaluations")
    status = models.CharField("状态", max_length=24, choices=EvaluationStatus.choices, default=EvaluationStatus.DRAFT)
    # Bumped by every save, so a stale save (or a second reviewer acting at once) is detected.
    version = models.PositiveIntegerField("版本", default=1)
    budget_note = models.TextField(
        "预算执行情况说明", blank=True, help_text="预算执行率低于 90% 时必须说明原因。"
    )
    submitted_at = models.DateTimeField("最近提交时间", null=True, blank=True, editable=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="最近提交人", null=True, blank=True, editable=False,
        on_delete=models.SET_NULL, related_name="+",
    )
    published_at = models.DateTimeField("公开时间", null=True, blank=True, editable=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="最后修改人", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = EvaluationManager()

    class Meta:
        verbose_name = "部门整体支出绩效自评"
        verbose_name_plural = "部门整体支出绩效自评"
        ordering = ["-framework__year", "unit__code"]
        constraints = [models.UniqueConstraint(fields=["unit", "framework"], name="one_evaluation_per_unit_and_year")]

    def __str__(self):
        return f"{self.year}年 {self.unit.name}"

    @property
    def year(self):
        return self.framework.year

    @property
    def title(self):
        return f"{self.year}年{self.unit.name}部门整体支出绩效自评表说明"

    def budget_summary(self):
        return scoring.summarize_budget(
            self.budget_lines.all(), FUNDING_SOURCES, SPENDING_KINDS, dict(BudgetItem.choices)
        )

    def scorecard(self):
        """The whole table scored: rows, 二级/一级 subtotals, 综合得分 and grade (see scoring.py)."""
        return scoring.build_scorecard(
            self.framework.indicators.all(), self.results.all(), self.budget_summary(), self.framework.grade_thresholds
        )

    def refresh_computed_scores(self):
        """Store what the rules decide (and the 执行率 taken from the budget), so that sums made in the
        database (lists, exports) always equal the scorecard. Call after rows or budget figures change."""
        card = self.scorecard()
        changed = []
        for scored in card.rows:
            row = scored.row
            if not scoring.is_rule_scored(row.rule):
                continue
            actual = scoring.actual_of(row, card.budget.measures())
            if row.score != scored.score or row.actual_value != actual:
                row.score, row.actual_value = scored.score, actual
                changed.append(row)
        if changed:
            IndicatorResult.objects.bulk_update(changed, ["score", "actual_value"])
        return card

    def sections_in_order(self):
        return sorted(self.sections.all(), key=lambda s: s.order)


class BudgetItem(models.TextChoices):
    FISCAL = "fiscal", "本年财政拨款"
    CARRYOVER = "carryover", "上年结转资金"
    OTHER = "other", "其他资金"
    BASIC = "basic", "其中：基本支出"
    PROJECT = "project", "其中：项目支出"


# 年度资金总额 is the sum of these; 基本支出/项目支出 split the same total the other way.
FUNDING_SOURCES = (BudgetItem.FISCAL, BudgetItem.CARRYOVER, BudgetItem.OTHER)
SPENDING_KINDS = (BudgetItem.BASIC, BudgetItem.PROJECT)


class BudgetLine(models.Model):
    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="budget_lines")
    item = models.CharField("项目", max_length=20, choices=BudgetItem.choices)
    initial_budget = models.DecimalField("年初预算数（万元）", default=Decimal("0"), validators=NON_NEGATIVE, **MONEY)
    adjusted_budget = models.DecimalField("全年预算数（万元）", default=Decimal("0"), validators=NON_NEGATIVE, **MONEY)
    executed = models.DecimalField("全年执行数（万元）", default=Decimal("0"), validators=NON_NEGATIVE, **MONEY)

    class Meta:
        verbose_name = "预算执行情况"
        verbose_name_plural = "预算执行情况"
        constraints = [models.UniqueConstraint(fields=["evaluation", "item"], name="one_budget_line_per_item")]

    def __str__(self):
        return self.get_item_display()

    @property
    def execution_rate(self):
        return scoring.execution_rate(self.adjusted_budget, self.executed)


class IndicatorResult(models.Model):
    """One 三级 row of the 自评表: a framework row, or one of the unit's own 绩效目标 under a category."""

    evaluation = models.ForeignKey(Evaluation, verbose_name="自评", on_delete=models.CASCADE, related_name="results")
    indicator = models.ForeignKey(
        Indicator, verbose_name="体系指标", null=True, blank=True, on_delete=models.PROTECT, related_name="results",
        help_text="体系内的三级指标；单位自设指标留空。",
    )
    category = models.ForeignKey(
        Indicator, verbose_name="所属二级指标", on_delete=models.PROTECT, related_name="category_results"
    )
    name = models.CharField("三级指标", max_length=200)
    comparison = models.CharField("指标性质", max_length=12, choices=Comparison.choices, default=Comparison.AT_LEAST)
    target_value = models.DecimalField("年度指标值", null=True, blank=True, **MONEY)
    target_text = models.CharField("年度指标值（定性）", max_length=200, blank=True)
    unit_of_measure = models.CharField("度量单位", max_length=20, blank=True)
    actual_value = models.DecimalField("实际完成值", null=True, blank=True, **MONEY)
    actual_text = models.CharField("实际完成情况（定性）", max_length=500, blank=True)
    weight = models.DecimalField("分值", validators=NON_NEGATIVE, **SCORE)
    rule = models.CharField("计分方法", max_length=20, choices=ScoringRule.choices, default=ScoringRule.PROPORTIONAL)
    deduction_per_point = models.DecimalField("每超 1 个百分点扣分", null=True, blank=True, validators=NON_NEGATIVE, **SCORE)
    actual_source = models.CharField(
        "实际完成值来源", max_length=30, choices=ActualSource.choices, default=ActualSource.ENTERED, blank=True
    )
    band = models.CharField("定性评价", max_length=20, choices=QualitativeBand.choices, blank=True)
    score = models.DecimalField("得分", null=True, blank=True, **SCORE)
    deviation_reason = models.TextField("偏差原因分析及改进措施", blank=True)
    order = models.PositiveIntegerField("排序", default=0)
    copied_from_previous_year = models.BooleanField("沿用上年", default=False)

    class Meta:
        verbose_name = "指标得分"
        verbose_name_plural = "指标得分"
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "indicator"], condition=Q(indicator__isnull=False), name="one_result_per_indicator"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_unit_row(self):
        return self.indicator_id is None

    @property
    def target_display(self):
        if self.comparison == Comparison.QUALITATIVE or self.target_value is None:
            return self.target_text
        return f"{self.get_comparison_display()}{scoring.plain(self.target_value)}"

    @property
    def actual_display(self):
        if self.actual_value is None:
            return self.actual_text or (self.get_band_display() if self.band else "")
        return scoring.plain(self.actual_value)

    def clean(self):
        errors = scoring.row_errors(self)
        if errors:
            raise ValidationError(errors)


class SectionKind(models.TextChoices):
    GOAL = "goal", "部门整体支出绩效目标"
    CONCLUSION = "conclusion", "自评结论"
    ANALYSIS = "analysis", "分析"
    PROBLEMS = "problems", "存在的主要问题"
    IMPROVEMENTS = "improvements", "下一步改进措施"


class NarrativeSection(models.Model):
    """A section of the 说明. Paragraphs are separated by line breaks; numbered points are a list, numbered when printed."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="sections")
    kind = models.CharField("类型", max_length=20, choices=SectionKind.choices)
    indicator = models.ForeignKey(
        Indicator, verbose_name="一级指标", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="分析部分对应的一级指标。",
    )
    body = models.TextField("正文", blank=True, help_text="每段一行。")
    points = models.JSONField("分条要点", default=list, blank=True, help_text="按顺序排列，打印时自动编号 1. 2. …")
    order = models.PositiveIntegerField("排序", default=0)
    copied_from_previous_year = models.BooleanField("沿用上年", default=False)

    class Meta:
        verbose_name = "说明章节"
        verbose_name_plural = "说明章节"
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "kind", "indicator"], name="one_section_per_kind"),
        ]

    def __str__(self):
        return self.title

    @property
    def title(self):
        if self.kind == SectionKind.ANALYSIS and self.indicator_id:
            return f"{self.indicator.name}分析"
        return self.get_kind_display()

    @property
    def paragraphs(self):
        return [p.strip() for p in self.body.splitlines() if p.strip()]

    @property
    def is_filled(self):
        return bool(self.paragraphs or [p for p in self.points if str(p).strip()])

    def clean(self):
        if not isinstance(self.points, list) or not all(isinstance(p, str) for p in self.points):
            raise ValidationError({"points": "分条要点应为文字列表。"})
        if (self.kind == SectionKind.ANALYSIS) != bool(self.indicator_id):
            raise ValidationError({"indicator": "只有“分析”部分需要对应一级指标。"})


class ReviewStage(models.TextChoices):
    DEPARTMENT = "department", "主管部门审核"
    FINANCE = "finance", "财政部门审核"


class ReviewerCharge(models.Model):
    """The units a 审核人 is in charge of: one unit, or a unit and everything under it."""

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="审核人", on_delete=models.CASCADE, related_name="review_charges"
    )
    unit = models.ForeignKey(Unit, verbose_name="负责单位", on_delete=models.CASCADE, related_name="reviewer_charges")
    include_subunits = models.BooleanField("含下级单位", default=True)
    stage = models.CharField("审核环节", max_length=20, choices=ReviewStage.choices, default=ReviewStage.FINANCE)

    class Meta:
        verbose_name = "审核分工"
        verbose_name_plural = "审核分工"
        constraints = [
            models.UniqueConstraint(fields=["reviewer", "unit", "stage"], name="one_charge_per_reviewer_unit_stage")
        ]

    def __str__(self):
        return f"{self.reviewer} → {self.unit}{'（含下级）' if self.include_subunits else ''}（{self.get_stage_display()}）"


class Event(models.Model):
    """One workflow transition, written in the same transaction as the status change. Never changed or deleted."""

    evaluation = models.ForeignKey(Evaluation, verbose_name="自评", on_delete=models.PROTECT, related_name="events")
    action = models.CharField("操作", max_length=30)
    from_status = models.CharField("原状态", max_length=24, choices=EvaluationStatus.choices)
    to_status = models.CharField("新状态", max_length=24, choices=EvaluationStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="操作人", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField("原因或意见", blank=True)
    total_score = models.DecimalField("当时综合得分", **SCORE)
    version = models.PositiveIntegerField("当时版本")
    document_sha256 = models.CharField("归档文件 SHA-256", max_length=64, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "流程记录"
        verbose_name_plural = "流程记录"
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("流程记录只能追加，不能修改。")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("流程记录只能追加，不能删除。")

    @property
    def action_label(self):
        from evaluations.workflow import ACTION_LABELS

        return ACTION_LABELS.get(self.action, self.action)


class ReviewComment(models.Model):
    """审核意见 pinned to a row or a narrative section (or the whole evaluation). Sent to the unit on return."""

    evaluation = models.ForeignKey(Evaluation, verbose_name="自评", on_delete=models.CASCADE, related_name="comments")
    result = models.ForeignKey(
        IndicatorResult, verbose_name="指标", null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    section = models.ForeignKey(
        NarrativeSection, verbose_name="说明章节", null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="审核人", on_delete=models.PROTECT, related_name="+")
    text = models.TextField("审核意见")
    created_at = models.DateTimeField("提出时间", auto_now_add=True)
    sent_in = models.ForeignKey(
        Event, verbose_name="随退回发出", null=True, blank=True, on_delete=models.PROTECT, related_name="comments"
    )
    answer = models.TextField("单位答复", blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="答复人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField("答复时间", null=True, blank=True)

    class Meta:
        verbose_name = "审核意见"
        verbose_name_plural = "审核意见"
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.text[:30]

    @property
    def target_label(self):
        if self.result_id:
            return f"指标“{self.result.name}”"
        if self.section_id:
            return f"“{self.section.title}”"
        return "整体"

    @property
    def is_open(self):
        """Sent to the unit and not yet answered."""
        return self.sent_in_id is not None and not self.answer.strip()


def archive_path(instance, filename):
    return f"archive/{instance.evaluation_id}/{instance.sha256}.pdf"


class ArchivedDocument(models.Model):
    """The 说明 as approved: rendered once at approval, stored, and its SHA-256 recorded in the approval event."""

    evaluation = models.ForeignKey(Evaluation, verbose_name="自评", on_delete=models.PROTECT, related_name="archives")
    event = models.OneToOneField(Event, verbose_name="审核通过记录", on_delete=models.PROTECT, related_name="archive")
    file = models.FileField("归档 PDF", upload_to=archive_path, max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    size = models.PositiveBigIntegerField("大小（字节）")
    created_at = models.DateTimeField("归档时间", auto_now_add=True)

    class Meta:
        verbose_name = "归档说明"
        verbose_name_plural = "归档说明"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.evaluation}（{self.created_at:%Y-%m-%d}）"


def evidence_path(instance, filename):
    """A safe name chosen by us (the uploaded name is kept only as a label)."""
    return f"evidence/{instance.evaluation_id}/{uuid.uuid4().hex}.{instance.kind}"


class Evidence(models.Model):
    """佐证材料: a file attached to an evaluation or one of its rows, kept outside the static files."""

    evaluation = models.ForeignKey(Evaluation, verbose_name="自评", on_delete=models.CASCADE, related_name="evidence")
    result = models.ForeignKey(
        IndicatorResult, verbose_name="指标", null=True, blank=True, on_delete=models.SET_NULL, related_name="evidence"
    )
    file = models.FileField("文件", upload_to=evidence_path, max_length=200)
    original_name = models.CharField("原文件名", max_length=255)
    kind = models.CharField("类型", max_length=10)
    size = models.PositiveBigIntegerField("大小（字节）")
    sha256 = models.CharField("SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="上传人", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "佐证材料"
        verbose_name_plural = "佐证材料"
        ordering = ["uploaded_at", "pk"]

    def __str__(self):
        return self.original_name


class FieldChange(models.Model):
    """Field-level history of an evaluation's content, written in bulk by each save."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="changes")
    object_label = models.CharField("对象", max_length=250)
    field_label = models.CharField("字段", max_length=100)
    old_value = models.TextField("原值", blank=True)
    new_value = models.TextField("新值", blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="修改人", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField("修改时间", auto_now_add=True, db_index=True)
    version = models.PositiveIntegerField("保存后版本")

    class Meta:
        verbose_name = "修改记录"
        verbose_name_plural = "修改记录"
        ordering = ["changed_at", "pk"]

    def __str__(self):
        return f"{self.object_label} · {self.field_label}"
