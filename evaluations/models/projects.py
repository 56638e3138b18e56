"""Projects (项目支出) in a unit's yearly package, their framework and their 自评表 rows.

A unit hands in one package a year: its 部门整体 evaluation and one 项目支出绩效自评表 per project it spent money on
(财预〔2020〕10号 第八条). A project therefore belongs to the unit's Evaluation of that year and has no status of its
own: the evaluation's status governs it. The project framework is the year's template (一级/二级 and weights) with
its rule pack; the 三级 rows are the project's own targets, approved at budget time (第十三条).
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Prefetch, Q

from evaluations import project_scoring, rule_packs, scoring
from evaluations.models.choices import MONEY, NON_NEGATIVE, SCORE, Comparison, QualitativeBand
from evaluations.models.evaluations import Evaluation
from evaluations.models.frameworks import Framework
from evaluations.models.rule_settings import RulePackSettings
from evaluations.models.units import visible_to


class DimensionKind(models.TextChoices):
    OUTPUT = rule_packs.OUTPUT, "产出指标"
    BENEFIT = rule_packs.BENEFIT, "效益指标"
    SATISFACTION = rule_packs.SATISFACTION, "满意度指标"
    COST = rule_packs.COST, "成本指标"


class ProjectScoring(models.TextChoices):
    BY_RULE = project_scoring.BY_RULE, "按规则计分"
    QUALITATIVE = project_scoring.QUALITATIVE, "定性分档"
    MANUAL = project_scoring.MANUAL, "人工评分"


class ProjectFrameworkManager(models.Manager):
    @transaction.atomic
    def create_from_weighting(self, framework, weighting="10", **fields):
        """A year's project framework with one of the national weightings (rule_packs.WEIGHTINGS) as its template."""
        preset = rule_packs.WEIGHTINGS[weighting]
        project_framework = self.create(
            framework=framework, name=fields.pop("name", f"{framework.year}年度项目支出绩效自评指标体系"),
            execution_weight=preset.execution_weight, scoring_basis=preset.scoring_basis, **fields,
        )
        project_framework.apply_weighting(weighting)
        return project_framework


class ProjectFramework(RulePackSettings):
    """The year's 项目支出 template: 执行率 分值, 一级 weights, 二级 names and the rule pack."""

    framework = models.OneToOneField(
        Framework, verbose_name="年度", on_delete=models.CASCADE, related_name="project_framework",
        help_text="项目支出指标体系与同年度的部门整体指标体系共用年度和等级分数线。",
    )
    name = models.CharField("名称", max_length=200)
    execution_weight = models.DecimalField("预算执行率分值", default=Decimal("10"), validators=NON_NEGATIVE, **SCORE)

    objects = ProjectFrameworkManager()

    class Meta:
        verbose_name = "项目支出指标体系"
        verbose_name_plural = "项目支出指标体系"
        ordering = ["-framework__year"]

    def __str__(self):
        return self.name

    @property
    def year(self):
        return self.framework.year

    def clean(self):
        self.clean_rule_pack()

    def linked_template(self):
        """The template (prefetched, see ProjectQuerySet.with_table_data) with each 二级 knowing its 一级 without
        a query of its own."""
        items = list(self.template.all())
        tops = {i.pk: i for i in items if i.level == 1}
        for item in items:
            if item.parent_id in tops:
                item.parent = tops[item.parent_id]
        return items

    @transaction.atomic
    def apply_weighting(self, weighting):
        """Replace the template by a national weighting (only while no project uses it)."""
        if Project.objects.filter(evaluation__framework_id=self.framework_id).exists():
            raise ValidationError("本年度已有项目使用此指标体系，不能整体替换模板；请逐项调整。")
        preset = rule_packs.WEIGHTINGS[weighting]
        self.template.all().delete()
        self.execution_weight = preset.execution_weight
        self.save(update_fields=["execution_weight"])
        for n1, (name, kind, weight, categories) in enumerate(preset.dimensions, start=1):
            top = ProjectTemplateIndicator.objects.create(
                project_framework=self, level=1, name=name, kind=kind, weight=weight, order=n1
            )
            ProjectTemplateIndicator.objects.bulk_create(
                ProjectTemplateIndicator(project_framework=self, level=2, parent=top, name=category, order=n2)
                for n2, category in enumerate(categories, start=1)
            )


class ProjectTemplateIndicator(models.Model):
    """一级 (with its 分值) or 二级 indicator of the project template; the 三级 rows are each project's."""

    project_framework = models.ForeignKey(
        ProjectFramework, verbose_name="项目支出指标体系", on_delete=models.CASCADE, related_name="template"
    )
    parent = models.ForeignKey(
        "self", verbose_name="一级指标", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    level = models.PositiveSmallIntegerField("级别", choices=[(1, "一级指标"), (2, "二级指标")])
    name = models.CharField("指标名称", max_length=100)
    kind = models.CharField(
        "类别", max_length=20, choices=DimensionKind.choices, blank=True,
        help_text="一级指标的类别；满意度指标在 101 号文下按满意度分档计分。",
    )
    weight = models.DecimalField("分值", null=True, blank=True, validators=NON_NEGATIVE, help_text="一级指标填写。", **SCORE)
    order = models.PositiveIntegerField("排序", default=0)

    class Meta:
        verbose_name = "项目指标模板"
        verbose_name_plural = "项目指标模板"
        ordering = ["project_framework", "level", "order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project_framework", "parent", "name"], condition=Q(parent__isnull=False),
                name="project_template_unique_name_in_parent",
            ),
            models.UniqueConstraint(
                fields=["project_framework", "name"], condition=Q(parent__isnull=True),
                name="project_template_unique_top_name",
            ),
        ]

    def __str__(self):
        return f"{self.parent.name} / {self.name}" if self.parent_id and self.level == 2 else self.name

    def clean(self):
        errors = {}
        if self.level == 1:
            if self.parent_id:
                errors["parent"] = "一级指标没有上级指标。"
            if self.weight is None:
                errors["weight"] = "一级指标需要填写分值。"
            if not self.kind:
                errors["kind"] = "请选择一级指标的类别（产出、效益、满意度或成本）。"
        elif self.level == 2:
            if not self.parent_id or self.parent.level != 1:
                errors["parent"] = "二级指标需选择所属一级指标。"
            elif self.parent.project_framework_id != self.project_framework_id:
                errors["parent"] = "上级指标必须属于同一项目支出指标体系。"
        if errors:
            raise ValidationError(errors)


class ProjectManager(models.Manager):
    def copy_from_previous(self, previous, *, into):
        """Last year's projects carried into this year's package as a starting point: header, 预期目标 and the
        indicators with their targets and weights (no funds, results or scores); rows whose 一级/二级 this year's
        template lacks are left out. Every copy is marked (copied_from, copied_from_previous_year)."""
        try:
            template = into.framework.project_framework.linked_template()
        except ProjectFramework.DoesNotExist:
            return []
        categories = {(c.parent.name, c.name): c for c in template if c.level == 2 and c.parent_id}
        old_projects = list(
            self.filter(evaluation=previous).prefetch_related(
                Prefetch("indicators", queryset=ProjectIndicator.objects.select_related("category__parent").order_by("order", "pk"))
            ).order_by("order", "pk")
        )
        copies = self.bulk_create([
            Project(
                evaluation=into, name=p.name, code=p.code, supervising_department=p.supervising_department,
                implementing_unit=p.implementing_unit, goal_expected=p.goal_expected, order=p.order, copied_from=p,
            )
            for p in old_projects
        ])
        rows = [
            ProjectIndicator(
                project=copy, category=categories[(r.category.parent.name, r.category.name)], name=r.name,
                comparison=r.comparison, unit_of_measure=r.unit_of_measure, target_value=r.target_value,
                target_text=r.target_text, weight=r.weight, method=r.method, order=r.order,
                copied_from_previous_year=True,
            )
            for copy, old in zip(copies, old_projects, strict=True)
            for r in old.indicators.all()
            if (r.category.parent.name, r.category.name) in categories
        ]
        ProjectIndicator.objects.bulk_create(rows)
        for project in self.with_table_data().filter(evaluation=into):
            project.refresh_scores()
        return copies


class ProjectQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A project is seen by whoever sees the evaluation (the package) it belongs to."""
        return visible_to(self, user, "evaluation__unit_id")

    def for_year(self, year):
        return self.filter(evaluation__framework__year=year)

    def demo(self):
        return self.filter(is_demo=True)

    def with_table_data(self):
        """Everything a project's 自评表 reads (the template, the rules, the rows), in a fixed number of queries."""
        return self.select_related(
            "evaluation__unit", "evaluation__framework__project_framework"
        ).prefetch_related(
            Prefetch(
                "evaluation__framework__project_framework__template",
                queryset=ProjectTemplateIndicator.objects.order_by("level", "order", "pk"),
            ),
            Prefetch("indicators", queryset=ProjectIndicator.objects.order_by("order", "pk")),
        )


# The nine money fields: (prefix, label) × (suffix, label).
FUND_COLUMNS = (("initial", "年初预算数"), ("adjusted", "全年预算数"), ("executed", "全年执行数"))


def _money(label):
    return models.DecimalField(f"{label}（万元）", default=Decimal("0"), validators=NON_NEGATIVE, **MONEY)


class Project(models.Model):
    evaluation = models.ForeignKey(
        Evaluation, verbose_name="所属年度自评", on_delete=models.CASCADE, related_name="projects",
        help_text="单位当年的部门整体自评；项目随其一并提交、退回和通过。",
    )
    name = models.CharField("项目名称", max_length=200)
    code = models.CharField("项目编码", max_length=60, blank=True)
    supervising_department = models.CharField("主管部门", max_length=200)
    implementing_unit = models.CharField("实施单位", max_length=200)

    fiscal_initial = _money("当年财政拨款 年初预算数")
    fiscal_adjusted = _money("当年财政拨款 全年预算数")
    fiscal_executed = _money("当年财政拨款 全年执行数")
    carryover_initial = _money("上年结转资金 年初预算数")
    carryover_adjusted = _money("上年结转资金 全年预算数")
    carryover_executed = _money("上年结转资金 全年执行数")
    other_initial = _money("其他资金 年初预算数")
    other_adjusted = _money("其他资金 全年预算数")
    other_executed = _money("其他资金 全年执行数")
    execution_note = models.TextField("执行率偏低原因", blank=True, help_text="执行率低于 90% 时必须说明原因。")

    goal_expected = models.TextField("年度总体目标：预期目标", blank=True)
    goal_actual = models.TextField("年度总体目标：实际完成情况", blank=True)

    # What the rules decided, stored so lists and exports sum and sort in the database; written only by
    # refresh_scores() after a change, from the same scorecard the page and the documents show.
    execution_score = models.DecimalField("执行率得分", null=True, blank=True, editable=False, **SCORE)
    total_score = models.DecimalField("总分", null=True, blank=True, editable=False, **SCORE)

    order = models.PositiveIntegerField("排序", default=0)
    is_demo = models.BooleanField("演示数据", default=False, editable=False)
    copied_from = models.ForeignKey(
        "self", verbose_name="沿用自上年项目", null=True, blank=True, editable=False, on_delete=models.SET_NULL,
        related_name="copies",
    )
    version = models.PositiveIntegerField("版本", default=1, editable=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="最后修改人", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ProjectManager.from_queryset(ProjectQuerySet)()

    class Meta:
        verbose_name = "项目支出绩效自评"
        verbose_name_plural = "项目支出绩效自评"
        ordering = ["evaluation", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "name"], name="one_project_name_per_evaluation"),
            models.UniqueConstraint(
                fields=["evaluation", "code"], condition=~Q(code=""), name="one_project_code_per_evaluation"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def unit(self):
        return self.evaluation.unit

    @property
    def year(self):
        return self.evaluation.framework.year

    @property
    def title(self):
        return f"项目支出绩效自评表（{self.year}年度）"

    @property
    def project_framework(self):
        """The year's project framework, or None when the admin has not set one up."""
        try:
            return self.evaluation.framework.project_framework
        except ProjectFramework.DoesNotExist:
            return None

    def scorecard(self):
        """The 自评表 scored (project_scoring.py); load with Project.objects.with_table_data()."""
        project_framework = self.project_framework
        if project_framework is None:
            raise ValidationError(f"{self.year}年度尚未设置项目支出指标体系，请联系管理员。")
        return project_scoring.build_scorecard(
            self, project_framework.template.all(), self.indicators.all(),
            pack=project_framework.rule_pack(), execution_weight=project_framework.execution_weight,
            thresholds=self.evaluation.framework.grade_thresholds,
        )

    def refresh_scores(self, card=None):
        """Store what the rules decide: rule-scored rows' 得分, the 执行率 score and the capped 总分."""
        card = card or self.scorecard()
        changed = []
        for scored in card.rows:
            row = scored.row
            if row.method == ProjectScoring.BY_RULE and row.score != scored.score:
                row.score = scored.score
                changed.append(row)
        if changed:
            ProjectIndicator.objects.bulk_update(changed, ["score"])
        execution_score, total = card.execution.score, card.total
        if (self.execution_score, self.total_score) != (execution_score, total):
            self.execution_score, self.total_score = execution_score, total
            Project.objects.filter(pk=self.pk).update(execution_score=execution_score, total_score=total)
        return card

    @property
    def grade(self):
        if self.total_score is None:
            return ""
        return scoring.grade(self.total_score, self.evaluation.framework.grade_thresholds)

    def fund_rows(self):
        return project_scoring.fund_rows(self)


class ProjectIndicator(models.Model):
    """One 三级 row of a project's 自评表, under a 二级 of the template."""

    project = models.ForeignKey(Project, verbose_name="项目", on_delete=models.CASCADE, related_name="indicators")
    category = models.ForeignKey(
        ProjectTemplateIndicator, verbose_name="二级指标", on_delete=models.PROTECT, related_name="project_rows",
        limit_choices_to={"level": 2},
    )
    name = models.CharField("三级指标", max_length=200)
    comparison = models.CharField("指标性质", max_length=12, choices=Comparison.choices, default=Comparison.AT_LEAST)
    unit_of_measure = models.CharField("度量单位", max_length=20, blank=True)
    target_value = models.DecimalField("年度指标值", null=True, blank=True, **MONEY)
    target_text = models.CharField("年度指标值（定性）", max_length=200, blank=True)
    actual_value = models.DecimalField("实际完成值", null=True, blank=True, **MONEY)
    actual_text = models.CharField("实际完成值（定性）", max_length=500, blank=True)
    weight = models.DecimalField("分值", validators=NON_NEGATIVE, **SCORE)
    method = models.CharField("计分方式", max_length=20, choices=ProjectScoring.choices, default=ProjectScoring.BY_RULE)
    band = models.CharField("定性评价", max_length=20, choices=QualitativeBand.choices, blank=True)
    score = models.DecimalField("得分", null=True, blank=True, **SCORE)
    deviation_reason = models.TextField("偏差原因分析及改进措施", blank=True)
    order = models.PositiveIntegerField("排序", default=0)
    copied_from_previous_year = models.BooleanField("沿用上年", default=False, editable=False)

    class Meta:
        verbose_name = "项目绩效指标"
        verbose_name_plural = "项目绩效指标"
        ordering = ["project", "order", "pk"]

    def __str__(self):
        return self.name

    @property
    def target_display(self):
        if self.comparison == Comparison.QUALITATIVE or self.target_value is None:
            return self.target_text
        return f"{self.get_comparison_display()}{scoring.plain(self.target_value)}{self.unit_of_measure}"

    @property
    def actual_display(self):
        if self.actual_value is None:
            return self.actual_text or (self.get_band_display() if self.band else "")
        return f"{scoring.plain(self.actual_value)}{self.unit_of_measure}"

    def clean(self):
        errors = {}
        if self.method == ProjectScoring.BY_RULE:
            if self.comparison == Comparison.QUALITATIVE:
                errors["comparison"] = "按规则计分的指标需选择指标性质 =、≥ 或 ≤；定性指标请选择“定性分档”。"
            for name, label in (("target_value", "年度指标值"), ("actual_value", "实际完成值")):
                value = getattr(self, name)
                if value is not None and value < 0:
                    errors[name] = f"{label}不能为负数。"
        elif self.score is not None and self.weight is not None:
            if not Decimal("0") <= self.score <= self.weight:
                errors["score"] = f"得分应在 0 到 {scoring.plain(self.weight)} 分之间，现为 {scoring.plain(self.score)} 分。"
            elif self.method == ProjectScoring.QUALITATIVE:
                if not self.band:
                    errors["band"] = "定性指标请先选择“达成 / 部分达成 / 未达成”，再评分。"
                else:
                    low, high = rule_packs.tier_range(self.band, self.weight)
                    if not low <= self.score <= high:
                        errors["score"] = f"“{self.get_band_display()}”的得分应在 {scoring.plain(low)} 到 {scoring.plain(high)} 分之间，现为 {scoring.plain(self.score)} 分。"
        if self.category_id and self.category.level != 2:
            errors["category"] = "请选择二级指标。"
        elif self.category_id and self.project_id and (
            self.category.project_framework.framework_id != self.project.evaluation.framework_id
        ):
            errors["category"] = "二级指标应属于本项目所在年度的项目支出指标体系。"
        if errors:
            raise ValidationError(errors)
