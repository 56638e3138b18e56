"""复核 (the finance bureau's re-check of a sampled 自评) and what follows from the results (结果应用, 整改).

A 复核 re-scores rows beside the unit's own: `RecheckScore` rows are the bureau's scores and never touch the
unit's `IndicatorResult` (财预〔2020〕10号 第十九条: the self-evaluation stays as the unit submitted it; the
bureau's view is recorded next to it). Once confirmed by a second reviewer, the 复核 total and grade are the
year's final result for that unit. Status changes happen in `evaluations.rechecks`, each with a `RecheckEvent`.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from evaluations import scoring
from evaluations.models.choices import SCORE
from evaluations.models.evaluations import Evaluation, IndicatorResult
from evaluations.models.frameworks import Framework

GRADES = [("优", "优"), ("良", "良"), ("中", "中"), ("差", "差")]


class RecheckStatus(models.TextChoices):
    DRAFT = "draft", "复核中"
    CONFIRMED = "confirmed", "已确认（待申辩）"
    ANSWERED = "answered", "单位已申辩"
    CLOSED = "closed", "已办结"


# A confirmed 复核 is the final result in each of these states.
FINAL_STATES = (RecheckStatus.CONFIRMED, RecheckStatus.ANSWERED, RecheckStatus.CLOSED)


class DeductionReason(models.Model):
    """The library of standard deduction reasons a reviewer picks from (admins keep it); free text may follow."""

    text = models.CharField("扣分原因", max_length=200, unique=True)
    is_active = models.BooleanField("可选用", default=True)
    order = models.PositiveIntegerField("排序", default=0)

    class Meta:
        verbose_name = "标准扣分原因"
        verbose_name_plural = "标准扣分原因"
        ordering = ["order", "pk"]

    def __str__(self):
        return self.text


class RecheckQuerySet(models.QuerySet):
    def confirmed(self):
        return self.filter(status__in=FINAL_STATES)

    def for_year(self, year):
        return self.filter(evaluation__framework__year=year)


class Recheck(models.Model):
    evaluation = models.OneToOneField(Evaluation, verbose_name="自评", on_delete=models.PROTECT, related_name="recheck")
    status = models.CharField("状态", max_length=20, choices=RecheckStatus.choices, default=RecheckStatus.DRAFT)
    version = models.PositiveIntegerField("版本", default=1)
    sampled_reasons = models.JSONField("抽取理由", default=list, blank=True,
                                       help_text="抽样时列出的风险理由；人工添加的单位为空。")
    opinion = models.TextField("复核意见", blank=True)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="复核人", on_delete=models.PROTECT, related_name="+"
    )
    drafted_at = models.DateTimeField("抽取时间", auto_now_add=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="确认人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)
    answer_deadline = models.DateField("申辩截止日期", null=True, blank=True)
    answer = models.TextField("单位申辩", blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="申辩人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField("申辩时间", null=True, blank=True)
    closing_note = models.TextField("办结意见", blank=True)
    # Fixed at confirmation: the final result does not move if rows are re-scored in a later round.
    total_score = models.DecimalField("复核得分", null=True, blank=True, **SCORE)
    grade = models.CharField("复核等级", max_length=2, choices=GRADES, blank=True)

    objects = RecheckQuerySet.as_manager()

    class Meta:
        verbose_name = "复核"
        verbose_name_plural = "复核"
        ordering = ["-drafted_at", "pk"]
        constraints = [
            # 复核 is drafted by one reviewer and confirmed by another.
            models.CheckConstraint(
                condition=Q(confirmed_by__isnull=True) | ~Q(confirmed_by=F("drafted_by")),
                name="recheck_confirmed_by_another",
            ),
        ]

    def __str__(self):
        return f"{self.evaluation}的复核"

    @property
    def is_final(self):
        return self.status in FINAL_STATES

    def compared_rows(self):
        """Each row of the 自评 beside the 复核: the unit's score, the bureau's (the same where not re-scored),
        the difference and the reason. Reads `evaluation.results` and `scores`, prefetched by the caller."""
        scores = {s.result_id: s for s in self.scores.all()}
        compared = []
        for row in self.evaluation.results.all():
            rescored = scores.get(row.pk)
            own = scoring.quantize(row.score or 0)
            bureau = scoring.quantize(rescored.score) if rescored else own
            compared.append(ComparedRow(row, own, bureau, bureau - own, rescored))
        return compared

    def totals(self):
        """(自评 total, 复核 total) from the rows as they stand now."""
        rows = self.compared_rows()
        own = scoring.quantize(sum((r.own for r in rows), Decimal("0")))
        bureau = scoring.quantize(sum((r.bureau for r in rows), Decimal("0")))
        framework = self.evaluation.framework
        if framework.execution_caps_enabled:  # both under the year's 执行率 caps, as the 自评's 综合得分 is
            budget = self.evaluation.budget_summary().total
            pack = framework.rule_pack()
            own, bureau = (scoring.cap_by_budget(t, budget.adjusted_budget, budget.executed, pack).total
                           for t in (own, bureau))
        return own, bureau


class ComparedRow:
    __slots__ = ("row", "own", "bureau", "difference", "rescored")

    def __init__(self, row, own, bureau, difference, rescored):
        self.row, self.own, self.bureau, self.difference, self.rescored = row, own, bureau, difference, rescored


class RecheckScore(models.Model):
    """The bureau's score for one row, with the reason. The unit's IndicatorResult is left as submitted."""

    recheck = models.ForeignKey(Recheck, verbose_name="复核", on_delete=models.CASCADE, related_name="scores")
    result = models.ForeignKey(IndicatorResult, verbose_name="指标", on_delete=models.PROTECT, related_name="recheck_scores")
    score = models.DecimalField("复核得分", **SCORE)
    reason = models.ForeignKey(
        DeductionReason, verbose_name="标准扣分原因", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField("复核说明", blank=True)
    scored_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="评分人", on_delete=models.PROTECT, related_name="+")
    scored_at = models.DateTimeField("评分时间", auto_now=True)

    class Meta:
        verbose_name = "复核评分"
        verbose_name_plural = "复核评分"
        ordering = ["result__order", "result__pk"]
        constraints = [models.UniqueConstraint(fields=["recheck", "result"], name="one_recheck_score_per_row")]

    def __str__(self):
        return f"{self.result.name}：{self.score}"

    @property
    def reason_text(self):
        return "；".join(t for t in (self.reason.text if self.reason_id else "", self.note.strip()) if t)


class RectificationState(models.TextChoices):
    OPEN = "open", "待整改"
    ANSWERED = "answered", "单位已反馈"
    CLOSED = "closed", "已销号"


def rectification_evidence_path(instance, filename):
    import uuid

    return f"rectification/{instance.evaluation_id}/{uuid.uuid4().hex}.{instance.evidence_kind}"


class Rectification(models.Model):
    """整改: a problem found (a 中/差 grade, or a 复核 finding), what to do by when, the unit's answer and evidence,
    and its state until the bureau closes it (第二十七条: results are applied; problems lead to 整改)."""

    evaluation = models.ForeignKey(Evaluation, verbose_name="自评", on_delete=models.PROTECT, related_name="rectifications")
    recheck = models.ForeignKey(
        Recheck, verbose_name="复核", null=True, blank=True, on_delete=models.PROTECT, related_name="rectifications"
    )
    problem = models.TextField("存在问题")
    requirement = models.TextField("整改要求", blank=True)
    deadline = models.DateField("整改期限")
    state = models.CharField("状态", max_length=20, choices=RectificationState.choices, default=RectificationState.OPEN)
    answer = models.TextField("整改情况", blank=True)
    evidence = models.FileField("整改佐证", upload_to=rectification_evidence_path, max_length=200, blank=True)
    evidence_name = models.CharField("佐证原文件名", max_length=255, blank=True)
    evidence_kind = models.CharField("佐证类型", max_length=10, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="反馈人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField("反馈时间", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="提出人", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("提出时间", auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="销号人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField("销号时间", null=True, blank=True)

    class Meta:
        verbose_name = "整改事项"
        verbose_name_plural = "整改事项"
        ordering = ["deadline", "pk"]

    def __str__(self):
        return self.problem[:30]


class ResultConsequence(models.Model):
    """What a final grade means for next year's budget (第二十七条), per framework; admins set text and tier."""

    framework = models.ForeignKey(Framework, verbose_name="年度指标体系", on_delete=models.CASCADE, related_name="consequences")
    grade = models.CharField("等级", max_length=2, choices=GRADES)
    tier = models.CharField("档次", max_length=30, help_text="如：优先保障、正常保障、压减、压减或取消。")
    text = models.TextField("应用措施", blank=True)

    class Meta:
        verbose_name = "结果应用规则"
        verbose_name_plural = "结果应用规则"
        ordering = ["framework", "grade"]
        constraints = [models.UniqueConstraint(fields=["framework", "grade"], name="one_consequence_per_grade")]

    def __str__(self):
        return f"{self.framework.year}年 {self.grade}：{self.tier}"


# Our defaults until an admin sets the framework's own (docs/domain.md §10; Sichuan 2025 publishes similar tiers).
DEFAULT_CONSEQUENCES = {
    "优": ("优先保障", "下年度预算安排优先保障。"),
    "良": ("正常保障", "下年度预算正常保障。"),
    "中": ("压减", "下年度预算适当压减，并限期整改。"),
    "差": ("压减或取消", "下年度预算压减或取消相关支出，并限期整改。"),
}


def consequences_for(framework):
    """grade → (tier, text): the framework's own rules, else the defaults."""
    found = {c.grade: (c.tier, c.text) for c in framework.consequences.all()} if framework else {}
    return {grade: found.get(grade, DEFAULT_CONSEQUENCES[grade]) for grade, _ in GRADES}


class RecheckEvent(models.Model):
    """One step of a 复核 or an 整改 item, written in the same transaction as the change. Never changed or deleted."""

    evaluation = models.ForeignKey(Evaluation, verbose_name="自评", on_delete=models.PROTECT, related_name="recheck_events")
    recheck = models.ForeignKey(Recheck, verbose_name="复核", null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    rectification = models.ForeignKey(
        Rectification, verbose_name="整改事项", null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    action = models.CharField("操作", max_length=30)
    from_status = models.CharField("原状态", max_length=20, blank=True)
    to_status = models.CharField("新状态", max_length=20, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="操作人", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField("说明", blank=True)
    total_score = models.DecimalField("当时复核得分", null=True, blank=True, **SCORE)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "复核与整改记录"
        verbose_name_plural = "复核与整改记录"
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.action}：{self.from_status} → {self.to_status}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("复核记录只能追加，不能修改。")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("复核记录只能追加，不能删除。")


class ReportPart(models.TextChoices):
    """The 汇总分析报告's narrative parts: the bureau's own words around the computed figures."""

    OVERVIEW = "overview", "总体评价"
    PROBLEMS = "problems", "存在的主要问题（财政部门分析）"
    NEXT_STEPS = "next_steps", "下一步工作"


class ReportNarrative(models.Model):
    year = models.PositiveIntegerField("年度")
    part = models.CharField("部分", max_length=20, choices=ReportPart.choices)
    body = models.TextField("正文", blank=True, help_text="每段一行。")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="最后修改人", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    class Meta:
        verbose_name = "汇总分析报告文字"
        verbose_name_plural = "汇总分析报告文字"
        ordering = ["-year", "part"]
        constraints = [models.UniqueConstraint(fields=["year", "part"], name="one_report_narrative_per_part")]

    def __str__(self):
        return f"{self.year}年 {self.get_part_display()}"

    @property
    def paragraphs(self):
        return [p.strip() for p in self.body.splitlines() if p.strip()]
