"""A unit's self-evaluation for a year: budget lines, indicator rows and the 说明's sections."""

import functools
import operator
from decimal import Decimal
from functools import reduce

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Prefetch, Q, Subquery
from django.db.models.functions import Coalesce

from evaluations import scoring, text
from evaluations.models.choices import (
    MONEY,
    NON_NEGATIVE,
    SCORE,
    ActualSource,
    Comparison,
    EventAction,
    QualitativeBand,
    ScoringRule,
)
from evaluations.models.frameworks import Framework, Indicator
from evaluations.models.roles import is_filler, is_reviewer
from evaluations.models.units import (
    EVALUATION_UNIT,
    ReviewStage,
    Unit,
    in_charge_condition,
    member_condition,
    visible_to,
)


class EvaluationStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已提交"
    DEPARTMENT_REVIEWED = "department_reviewed", "主管部门已审核"
    RETURNED = "returned", "已退回"
    APPROVED = "approved", "已通过"


# The unit changes its evaluation's content (填写, imports) only in these states; workflow, editing, the admin and
# the imports all ask this one tuple.
EDITABLE_STATUSES = (EvaluationStatus.DRAFT, EvaluationStatus.RETURNED)

# Which review stage an evaluation waits for: (status, whether its unit has a 主管部门 — None: either way, stage).
# A unit with a 主管部门 is reviewed there first. `Evaluation.review_stage` (one row, workflow.current_stage) and
# `EvaluationQuerySet.awaiting` (the task lists) both read this one table.
REVIEW_STAGES = (
    (EvaluationStatus.SUBMITTED, True, ReviewStage.DEPARTMENT),
    (EvaluationStatus.SUBMITTED, False, ReviewStage.FINANCE),
    (EvaluationStatus.DEPARTMENT_REVIEWED, None, ReviewStage.FINANCE),
)


# What a page prints of a person (get_full_name, else username): the columns loaded of the users joined to what it shows.
PERSON_NAME = ("first_name", "last_name", "username")


class EvaluationQuerySet(models.QuerySet):
    def visible_to(self, user, *, with_membership=False):
        """What the user may see (units.visible_to); with_membership: each evaluation with whether the user, a
        filler, fills its unit in (`viewer_is_member`), which the pages of one evaluation ask (access.is_member) for
        their buttons and checks."""
        return visible_to(self, user, EVALUATION_UNIT, with_membership=with_membership)

    def waiting_at(self, stage):
        """Evaluations that wait for review at `stage` (REVIEW_STAGES as a query)."""
        conditions = []
        for status, has_department, waits_at in REVIEW_STAGES:
            if waits_at == stage:
                condition = Q(status=status)
                if has_department is not None:
                    condition &= Q(unit__supervising_department__isnull=not has_department)
                conditions.append(condition)
        return self.filter(reduce(operator.or_, conditions))

    def awaiting(self, user):
        """What waits for this user, oldest first: evaluations to review at their stage (not their own submission),
        or to fill in and submit. One query, whatever the user's roles."""
        tasks = self.none()
        if is_reviewer(user):
            reviews = reduce(operator.or_, (
                self.waiting_at(stage).filter(in_charge_condition(user, stage=stage)) for stage in ReviewStage
            ))
            tasks = reviews.exclude(submitted_by=user)
        if is_filler(user):
            mine = self.filter(member_condition(user), status__in=EDITABLE_STATUSES)
            tasks = tasks | mine if is_reviewer(user) else mine
        return tasks.select_related("unit", "framework").order_by("submitted_at", "created_at")

    def for_year(self, year):
        return self.filter(framework__year=year)

    def published(self):
        """What the public may read (信息公开): approved and published by an admin."""
        return self.filter(status=EvaluationStatus.APPROVED, published_at__isnull=False)

    def with_total_score(self):
        """Each evaluation's 综合得分 as `total_score_sum`: its rows' stored scores summed, capped by the 预算执行率
        where its framework switches the caps on (scoring.cap_by_budget, the same rule, on the scorecard)."""
        # A subquery per evaluation rather than a join with every row and a GROUP BY over every selected column.
        total = (IndicatorResult.objects.filter(evaluation=models.OuterRef("pk")).order_by()
                 .values("evaluation").annotate(total=models.Sum("score")).values("total"))
        rows_total = models.Subquery(total, output_field=models.DecimalField())
        return self.annotate(total_score_sum=models.Case(
            models.When(framework__execution_caps_enabled=True, then=_capped_in_sql(rows_total)),
            default=rows_total, output_field=models.DecimalField(),
        ))

    def with_stored_totals(self):
        """Each evaluation's totals as stored with its rows (EvaluationTotals: `stored_score`, the rows' 得分 summed
        before any 执行率 cap, `stored_adjusted_budget`, `stored_executed`), in the same query: for lists that cap
        them with scoring.cap_by_budget instead of summing every row."""
        return self.annotate(stored_score=models.F("totals__score"),
                             stored_adjusted_budget=models.F("totals__adjusted_budget"),
                             stored_executed=models.F("totals__executed"))

    def with_project_count(self):
        """Each evaluation with the number of its projects (项目支出), in the same query."""
        Project = self.model._meta.get_field("projects").related_model
        count = (Project.objects.filter(evaluation=models.OuterRef("pk")).order_by().values("evaluation")
                 .annotate(n=models.Count("pk")).values("n"))
        return self.annotate(project_count=Coalesce(models.Subquery(count, output_field=models.IntegerField()), 0))

    def with_presence_of(self, *relations):
        """Each evaluation with whether it has any of each of these relations (`has_<relation>`: projects, comments,
        evidence, events), in the same query. A page does not query a list it knows to be empty, and a prefetch of a
        relation an evaluation has none of is not run (_prefetch_related_objects): a draft has no comments and no
        timeline until it is first submitted, often no files, and the subquery costs a fraction of the query it
        spares (docs/benchmarks.md, issue 14 seventh round)."""
        def exists(name):
            relation = self.model._meta.get_field(name)
            return models.Exists(relation.related_model._default_manager.filter(
                **{relation.field.name: models.OuterRef("pk")}))
        return self.annotate(**{f"has_{name}": exists(name) for name in relations})

    def with_scoring_data(self):
        """What the scorecard reads (the framework's tree, the rows, the budget lines) and nothing more: for
        storing what the rules decide after a change (`Evaluation.refresh_computed_scores`)."""
        clone = self.select_related("framework").prefetch_related(
            Prefetch("framework__indicators", queryset=Indicator.objects.order_by()),
            Prefetch("results", queryset=IndicatorResult.objects.order_by()),
            Prefetch("budget_lines", queryset=BudgetLine.objects.order_by()),
        )
        clone._sort_loaded = True
        return clone

    def with_document_data(self):
        """Everything the evaluation page and the 说明 read, in a fixed number of queries.

        The rows', sections' and comments' indicators, rows and sections are not joined into their queries: they
        are attached from what the same load already holds (the framework's indicators, the rows, the sections),
        which spares the ORM building and reading about 80 model instances and three joins per page."""
        # The comments' model, read off the relation: records.py is defined above this module and imports it.
        ReviewComment = self.model._meta.get_field("comments").related_model
        # Of the people and the project row joined into the comments, only what they print (a name; the row's and
        # its project's names): not every column of the users (password hashes among them) and of the project.
        people = [f"{person}__{name}" for person in ("author", "answered_by") for name in PERSON_NAME]
        comments = ReviewComment.objects.select_related("author", "answered_by", "sent_in", "project_row__project").only(
            *(f.name for f in ReviewComment._meta.concrete_fields), *people, "sent_in__id",
            "project_row__name", "project_row__project", "project_row__project__name",
        )
        # The evaluation's 最后修改人 (updated_by) is not joined: no page of its contents shows it. The comments are
        # queried only for an evaluation that has some.
        clone = self.with_presence_of("comments").select_related("unit", "framework").prefetch_related(
            Prefetch("framework__indicators", queryset=Indicator.objects.order_by()),
            Prefetch("results", queryset=IndicatorResult.objects.order_by()),
            Prefetch("budget_lines", queryset=BudgetLine.objects.order_by()),
            Prefetch("sections", queryset=NarrativeSection.objects.order_by()),
            Prefetch("comments", queryset=comments.order_by()),
        )
        clone._sort_loaded = clone._attach_document_data = True
        return clone

    # Django's own hooks (QuerySet._clone, _prefetch_related_objects, as in 5.2 LTS) so that every way of reading
    # the queryset (get, iteration, slicing) gets the relations sorted and attached; tests/test_edit_page.py's query
    # counts, tests/test_page_queries.py's orders and the 说明 tests fail if an upgrade changes them.
    _sort_loaded = _attach_document_data = False

    def _clone(self):
        clone = super()._clone()
        clone._sort_loaded, clone._attach_document_data = self._sort_loaded, self._attach_document_data
        return clone

    def _prefetch_related_objects(self):
        for evaluation in self._result_cache:
            skip_absent_relations(evaluation, self._prefetch_related_lookups)
        super()._prefetch_related_objects()
        for evaluation in self._result_cache if self._sort_loaded else ():
            sort_loaded_relations(evaluation)
        for evaluation in self._result_cache if self._attach_document_data else ():
            attach_document_relations(evaluation)


@functools.cache
def meta_order(model):
    """The sort key of a model's Meta.ordering (its pk where it has none), for objects loaded without ORDER BY: the
    loads below and the pages' short lists sort in Python what the database would have. One evaluation has a few
    dozen of each, which sort in microseconds, where Django 5.2 spends about half a millisecond compiling each
    ORDER BY (it hashes every selected column to match the ordering against them), a sixth of the load of a page
    (docs/benchmarks.md, issue 14 sixth round). Ascending fields only: their columns are never null."""
    names = model._meta.ordering or ["pk"]
    if any(not isinstance(name, str) or name.startswith("-") or "__" in name for name in names):
        raise ValueError(f"{model.__name__}.Meta.ordering 不能在 Python 中排序：{names}")
    return operator.attrgetter(*(model._meta.pk.attname if name == "pk" else model._meta.get_field(name).attname
                                 for name in names))


def known_to_have_none(evaluation, relation):
    """Whether the load found the evaluation has none of `relation` (with_presence_of's `has_<relation>`); False
    where it did not ask."""
    return getattr(evaluation, f"has_{relation}", None) is False


def skip_absent_relations(evaluation, lookups):
    """Each prefetch of a relation the evaluation is known to have none of (with_presence_of's `has_<relation>` is
    False) is answered with an empty result in place of its query, stored as Django stores what it prefetches (the
    relation's queryset holding its result), so that its prefetch finds it fetched, and a further filter or order
    of the relation still queries the database."""
    for lookup in lookups:
        name = lookup.prefetch_to if isinstance(lookup, Prefetch) else lookup
        if known_to_have_none(evaluation, name):
            if not hasattr(evaluation, "_prefetched_objects_cache"):
                evaluation._prefetched_objects_cache = {}
            empty = getattr(evaluation, name).all()
            empty._result_cache, empty._prefetch_done = [], True
            evaluation._prefetched_objects_cache[name] = empty


def sort_loaded_relations(evaluation):
    """Put what the load prefetched (the evaluation's relations, its framework's indicators) in its models' order:
    the prefetched querysets' own lists, which every `evaluation.<relation>.all()` then returns."""
    for instance in (evaluation, evaluation.framework):
        for loaded in getattr(instance, "_prefetched_objects_cache", {}).values():
            loaded._result_cache.sort(key=meta_order(loaded.model))


def attach_document_relations(evaluation):
    """Point each row at its framework indicator and 二级指标, each section at its 一级指标 and each comment at its
    row and section, from the objects `with_document_data` has loaded (the same objects the page shows)."""
    indicators = {i.pk: i for i in evaluation.framework.indicators.all()}
    results = {r.pk: r for r in evaluation.results.all()}
    sections = {s.pk: s for s in evaluation.sections.all()}
    # A reference to something not loaded here (never, for data of this system) is left to load itself when read.
    for result in results.values():
        if result.indicator_id in indicators:
            result.indicator = indicators[result.indicator_id]
        elif result.indicator_id is None:
            result.indicator = None
        if result.category_id in indicators:
            result.category = indicators[result.category_id]
    for section in sections.values():
        if section.indicator_id in indicators:
            section.indicator = indicators[section.indicator_id]
        elif section.indicator_id is None:
            section.indicator = None
    for comment in evaluation.comments.all():
        if comment.result_id in results or comment.result_id is None:
            comment.result = results.get(comment.result_id)
        if comment.section_id in sections or comment.section_id is None:
            comment.section = sections.get(comment.section_id)


class EvaluationManager(models.Manager.from_queryset(EvaluationQuerySet)):
    @transaction.atomic
    def start(self, *, unit, framework, by=None):
        """A new draft with one row per 三级 framework indicator, the budget lines and the 说明's sections."""
        evaluation = self.create(unit=unit, framework=framework, updated_by=by)
        self.add_skeleton(evaluation)
        return evaluation

    def store_totals(self, cards):
        """Store the totals (EvaluationTotals) of {evaluation id: scorecard just refreshed}; see store_totals."""
        store_totals(cards)

    def add_skeleton(self, evaluation):
        indicators = list(evaluation.framework.indicators.order_by("level", "order", "pk"))
        rows = IndicatorResult.objects.bulk_create(
            IndicatorResult(
                evaluation=evaluation, indicator=i, category_id=i.parent_id, name=i.name, order=i.order,
                **i.row_defaults(),
            )
            for i in indicators
            if i.level == 3
        )
        lines = BudgetLine.objects.bulk_create(
            BudgetLine(evaluation=evaluation, item=item) for item in (*FUNDING_SOURCES, *SPENDING_KINDS)
        )
        insert_totals({evaluation.pk: (rows, lines)})
        NarrativeSection.objects.bulk_create(section_skeleton(evaluation, indicators))



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
        "预算执行情况说明", blank=True, max_length=text.BUDGET_NOTE_LIMIT, help_text="预算执行率低于 90% 时必须说明原因。"
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

    @property
    def is_editable(self):
        """In a state where its unit may still change it (whether this user may is workflow.can_edit)."""
        return self.status in EDITABLE_STATUSES

    @property
    def review_stage(self):
        """The review stage this evaluation waits for, or None (REVIEW_STAGES)."""
        has_department = self.unit.supervising_department_id is not None
        for status, needs_department, stage in REVIEW_STAGES:
            if self.status == status and needs_department in (None, has_department):
                return stage
        return None

    def approved_archive(self):
        """The 说明 PDF archived by the approval now in force, offered as 审核通过版本; None when not approved or
        approved without one (ARCHIVE_APPROVED_DOCUMENTS off). Never an earlier approval's: its text was reopened
        and may have changed since (issue 13, item 10)."""
        if self.status != EvaluationStatus.APPROVED:
            return None
        latest = self.events.filter(action=EventAction.APPROVE).order_by("-created_at", "-pk").values("pk")[:1]
        return self.archives.filter(event=Subquery(latest)).first()

    def budget_summary(self):
        return scoring.summarize_budget(
            self.budget_lines.all(), FUNDING_SOURCES, SPENDING_KINDS, dict(BudgetItem.choices)
        )

    def scorecard(self):
        """The whole table scored: rows, 二级/一级 subtotals, 综合得分 and grade (see scoring.py)."""
        return scoring.build_scorecard(
            self.framework.indicators.all(), self.results.all(), self.budget_summary(), self.framework.grade_thresholds,
            self.framework.rule_pack(),
        )

    def computed_score_changes(self, card=None):
        """Rows whose stored 得分 / 实际完成值 differ from what the rules decide (set on the rows, not saved)."""
        card = card or self.scorecard()
        measures = card.budget.measures()
        changed = []
        for scored in card.rows:
            row = scored.row
            if not scoring.is_rule_scored(row.rule):
                continue
            actual = scoring.actual_of(row, measures)
            if row.score != scored.score or row.actual_value != actual:
                row.score, row.actual_value = scored.score, actual
                changed.append(row)
        return changed

    @transaction.atomic
    def refresh_computed_scores(self):
        """Store what the rules decide (and the rates taken from the budget), so that sums made in the database
        (lists, exports) always equal the scorecard, and the evaluation's stored totals (EvaluationTotals) with
        them. Call after rows or budget figures change."""
        card = self.scorecard()
        changed = self.computed_score_changes(card)
        if changed:
            IndicatorResult.objects.bulk_update(changed, ["score", "actual_value"])
        store_totals({self.pk: card})
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


def _capped_in_sql(rows_total):
    """rule_packs.cap_total in SQL, for an evaluation whose framework has 执行率 caps (at most rule_packs.MAX_CAPS):
    the least of the rows' total and every cap whose bound the rate is below.

    The rate is compared as the scorecard compares it, rounded half up to two places, in whole numbers so SQLite's
    floating point cannot tip a boundary: with amounts in cents E and A and a bound b of two places,
    round(100·E ÷ A, 2) < b  ⇔  100·E ÷ A < b − 0.005  ⇔  20000·E < (200·b − 1)·A."""
    from django.db.models.fields.json import KeyTextTransform, KeyTransform
    from django.db.models.functions import Cast, Least, Round
    from django.db.models.lookups import GreaterThan, LessThan

    from evaluations import rule_packs

    decimal = models.DecimalField(max_digits=30, decimal_places=4)
    funding = BudgetLine.objects.filter(evaluation=models.OuterRef("pk"), item__in=FUNDING_SOURCES).order_by()

    def cents(field):
        summed = funding.values("evaluation").annotate(v=models.Sum(field)).values("v")
        return Round(Coalesce(models.Subquery(summed, output_field=decimal), Decimal(0)) * 100)

    adjusted, executed = cents("adjusted_budget"), cents("executed")
    terms = []
    for n in range(rule_packs.MAX_CAPS):
        step = KeyTransform(str(n), "framework__execution_caps")
        below, cap = (Cast(KeyTextTransform(str(i), step), decimal) for i in (0, 1))
        below_rate = GreaterThan(adjusted, 0) & LessThan(executed * 20000, (Round(below * 200) - 1) * adjusted)
        terms.append(Coalesce(models.Case(models.When(below_rate, then=cap), output_field=decimal), Decimal(1000)))
    return Least(rows_total, *terms, output_field=models.DecimalField())


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
    deviation_reason = models.TextField("偏差原因分析及改进措施", blank=True, max_length=text.DEVIATION_REASON_LIMIT)
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
        indexes = [
            # The 总览's losses chart (dashboard.indicator_losses) reads only the rows losing points, grouped per
            # evaluation, 二级 category and name: from this index alone on PostgreSQL (an index-only scan, already in
            # the grouping's order), not the whole table.
            models.Index(
                fields=["evaluation", "category", "name"], include=["weight", "score"],
                condition=Q(score__lt=models.F("weight")) | Q(score__isnull=True), name="losing_rows",
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
    body = models.TextField("正文", blank=True, max_length=text.SECTION_LIMIT, help_text="每段一行。")
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


class EvaluationTotals(models.Model):
    """An evaluation's sums as the 总览 and the 汇总分析报告 read them: 综合得分 (the rows' 得分 summed) and the
    funding lines' 全年预算数 and 全年执行数 (执行率 is their ratio).

    Written with the skeleton (`EvaluationManager.add_skeleton`) and then only where the rows' rule scores are
    stored (`store_totals`, called by `Evaluation.refresh_computed_scores` and `editing.refresh_computed_scores`, in
    the same transaction as the rows; every content write ends there), so at 10,000 units the 总览 reads 10,000
    stored lines instead of summing 400,000 rows and 50,000 budget lines on every view."""

    evaluation = models.OneToOneField(Evaluation, primary_key=True, on_delete=models.CASCADE, related_name="totals")
    # None while no row has a 得分 (as the database's SUM of no scores).
    score = models.DecimalField("综合得分", null=True, blank=True, max_digits=8, decimal_places=2)
    adjusted_budget = models.DecimalField("全年预算数合计（万元）", default=Decimal("0"), **MONEY)
    executed = models.DecimalField("全年执行数合计（万元）", default=Decimal("0"), **MONEY)

    class Meta:
        verbose_name = "自评合计"
        verbose_name_plural = "自评合计"

    def __str__(self):
        return f"{self.evaluation_id}: {self.score}"


def computed_totals(evaluation_id, rows, adjusted_budget, executed):
    """The totals stored for an evaluation from its rows as stored (得分 already what the rules decide) and its
    funding lines' sums: the same sums the database would make."""
    scores = [row.score for row in rows if row.score is not None]
    return EvaluationTotals(
        evaluation_id=evaluation_id,
        score=scoring.quantize(sum(scores, Decimal("0"))) if scores else None,
        adjusted_budget=scoring.quantize(adjusted_budget), executed=scoring.quantize(executed),
    )


def store_totals(cards):
    """Store `computed_totals` for {evaluation id: scorecard} whose rule scores have just been stored: one upsert
    however many evaluations (in the caller's transaction)."""
    zero = Decimal("0")
    totals = [
        computed_totals(pk, [scored.row for scored in card.rows],
                        card.budget.total.adjusted_budget if card.budget else zero,
                        card.budget.total.executed if card.budget else zero)
        for pk, card in cards.items()
    ]
    _upsert(totals)


def insert_totals(loaded):
    """Store the totals of {evaluation id: (rows, budget lines)} just written in memory (the skeleton, seed_scale)."""
    totals = []
    for pk, (rows, lines) in loaded.items():
        funding = [line for line in lines if line.item in FUNDING_SOURCES]
        totals.append(computed_totals(pk, rows, sum((line.adjusted_budget for line in funding), Decimal("0")),
                                      sum((line.executed for line in funding), Decimal("0"))))
    _upsert(totals)


def _upsert(totals):
    EvaluationTotals.objects.bulk_create(
        totals, batch_size=500,
        update_conflicts=True, unique_fields=["evaluation"], update_fields=["score", "adjusted_budget", "executed"],
    )
