"""The finance bureau's 总览 for a year: what the charts and the 汇总分析报告 summarise, computed once.

`unit_lines` reads every unit in scope with its evaluation's facts in one query, however many units there are;
`indicator_losses` one more. Everything after that (counts, bins, changes, the chart definitions) is plain Python
over those lines, so the page, the report and the tests read the same numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Max, Q, Sum
from django.db.models.functions import Coalesce

from evaluations import charts, scoring
from evaluations.models import (
    FINAL_STATES,
    FUNDING_SOURCES,
    BudgetLine,
    Evaluation,
    EvaluationStatus,
    Event,
    IndicatorResult,
    Project,
    Recheck,
    Unit,
)
from evaluations.models.rule_settings import caps_pack

S = EvaluationStatus
NOT_STARTED = "未开始"
GRADES = ("优", "良", "中", "差")
SCORE_BANDS = ((0, 60, "60 分以下"), (60, 70, "60–70"), (70, 80, "70–80"), (80, 90, "80–90"), (90, 100, "90–100"))
WAITING = (S.DRAFT, S.RETURNED)  # not (re)submitted: late once the deadline has passed
TOP = 10


@dataclass
class UnitLine:
    unit_id: int
    code: str
    name: str
    short_name: str
    department_id: int | None
    evaluation_id: int | None
    status: str | None
    own_score: Decimal | None  # the unit's 自评
    recheck_score: Decimal | None  # a confirmed 复核, when there is one
    recheck_status: str | None
    previous_score: Decimal | None
    execution_rate: Decimal | None
    adjusted: Decimal | None = None  # 全年预算数 of the funding lines, 万元
    executed: Decimal | None = None
    last_action: str = ""
    last_action_at: object = None
    project_count: int = 0  # 项目支出 in the unit's package (issue 16)
    grade: str = ""  # of the final result
    own_grade: str = ""  # of the 自评
    overdue: bool = False

    @property
    def final_score(self):
        """The year's result: the confirmed 复核 where there is one, else the 自评."""
        return self.recheck_score if self.recheck_score is not None else self.own_score

    @property
    def status_label(self):
        return S(self.status).label if self.status else NOT_STARTED

    @property
    def change(self):
        if self.final_score is None or self.previous_score is None:
            return None
        return self.final_score - self.previous_score

    @property
    def display_name(self):
        return self.short_name or self.name

    @property
    def is_counted(self):
        """Submitted at least once and not sent back: the 自评 the results and the report count."""
        return self.evaluation_id is not None and self.status not in WAITING


def _decimal():
    return DecimalField(max_digits=14, decimal_places=2)


def scoped_units(user, *, subtree=None, department=None):
    """The units the user oversees, narrowed to a part of the tree and/or to one 主管部门's units."""
    units = Unit.objects.visible_to(user)
    if subtree is not None:
        units = units.filter(path__startswith=subtree.path)
    if department is not None:
        units = units.filter(supervising_department=department)
    return units


def unit_lines(units, year, framework=None, today=None):
    """Every unit in `units` with the year's facts: status, own total, confirmed 复核 total, last year's result
    (its 复核 where confirmed), 执行率 from the budget's funding lines, the last recorded action.

    Seven queries however many units there are, each a grouped scan (not a subquery per unit: at 10,000 units eleven
    correlated subqueries per row took seconds)."""
    years = (year, year - 1)
    evaluations = Evaluation.objects.filter(unit__in=units, framework__year__in=years).order_by()
    of_year = {}  # (unit id, year) → (evaluation id, status)
    caps = {}  # evaluation id → its framework's 执行率 caps, where switched on
    for pk, unit_id, status, of, capped, cap_table in evaluations.values_list(
            "pk", "unit_id", "status", "framework__year", "framework__execution_caps_enabled", "framework__execution_caps"):
        of_year[unit_id, of] = (pk, status)
        if capped:
            caps[pk] = cap_table
    current = evaluations.filter(framework__year=year)
    totals = dict(
        IndicatorResult.objects.filter(evaluation__in=evaluations).order_by().values("evaluation")
        .annotate(t=Sum("score")).values_list("evaluation", "t")
    )
    budgets = {
        e: (a, x) for e, a, x in BudgetLine.objects.filter(evaluation__in=evaluations, item__in=FUNDING_SOURCES).order_by()
        .values("evaluation").annotate(a=Sum("adjusted_budget"), x=Sum("executed")).values_list("evaluation", "a", "x")
    }
    for pk, cap_table in caps.items():  # the 综合得分 under the 执行率 caps, as the scorecard's (scoring.cap_by_budget)
        if totals.get(pk) is not None:
            totals[pk] = scoring.cap_by_budget(totals[pk], *budgets.get(pk, (None, None)), caps_pack(cap_table)).total
    rechecks = {e: (status, total) for e, status, total in
                Recheck.objects.filter(evaluation__in=evaluations).values_list("evaluation", "status", "total_score")}
    last_pks = Event.objects.filter(evaluation__in=current).order_by().values("evaluation").annotate(last=Max("pk"))
    last_events = {e: (action, at) for e, action, at in
                   Event.objects.filter(pk__in=last_pks.values("last")).values_list("evaluation", "action", "created_at")}
    projects = dict(Project.objects.filter(evaluation__in=current).order_by().values("evaluation")
                    .annotate(n=Count("pk")).values_list("evaluation", "n"))
    rows = []
    for pk, code, name, short_name, department_id in units.order_by("code").values_list(
            "pk", "code", "name", "short_name", "supervising_department_id"):
        evaluation_id, status = of_year.get((pk, year), (None, None))
        previous_id = of_year.get((pk, year - 1), (None, None))[0]
        recheck_status, rechecked = rechecks.get(evaluation_id, (None, None))
        previous_status, previous_rechecked = rechecks.get(previous_id, (None, None))
        adjusted, executed = budgets.get(evaluation_id, (None, None))
        last_action, last_action_at = last_events.get(evaluation_id, ("", None))
        rows.append({
            "pk": pk, "code": code, "name": name, "short_name": short_name, "supervising_department_id": department_id,
            "evaluation_id": evaluation_id, "status": status, "own": totals.get(evaluation_id),
            "rechecked": rechecked if recheck_status in FINAL_STATES else None, "recheck_status": recheck_status,
            "previous_own": totals.get(previous_id) if previous_id else None,
            "previous_rechecked": previous_rechecked if previous_status in FINAL_STATES else None,
            "adjusted": adjusted, "executed": executed, "last_action": last_action, "last_action_at": last_action_at,
            "project_count": projects.get(evaluation_id, 0),
        })
    thresholds = framework.grade_thresholds if framework else scoring.GradeThresholds()
    deadline = framework.submission_deadline if framework else None
    late = deadline is not None and today is not None and today > deadline
    lines = []
    for r in rows:
        started = r["evaluation_id"] is not None
        previous = r["previous_rechecked"] if r["previous_rechecked"] is not None else r["previous_own"]
        line = UnitLine(
            unit_id=r["pk"], code=r["code"], name=r["name"], short_name=r["short_name"],
            department_id=r["supervising_department_id"], evaluation_id=r["evaluation_id"], status=r["status"],
            own_score=scoring.quantize(r["own"] or 0) if started else None,
            recheck_score=scoring.quantize(r["rechecked"]) if r["rechecked"] is not None else None,
            recheck_status=r["recheck_status"],
            previous_score=scoring.quantize(previous) if previous is not None else None,
            execution_rate=scoring.execution_rate(r["adjusted"], r["executed"]),
            adjusted=r["adjusted"], executed=r["executed"],
            last_action=r["last_action"] or "", last_action_at=r["last_action_at"], project_count=r["project_count"] or 0,
        )
        line.grade = scoring.grade(line.final_score, thresholds) if started else ""
        line.own_grade = scoring.grade(line.own_score, thresholds) if started else ""
        line.overdue = late and (r["status"] is None or r["status"] in WAITING)
        lines.append(line)
    return lines


def indicator_losses(units, year, limit=TOP):
    """The 三级 indicators where the units in scope lose the most points in total (分值 − 得分 summed), with how
    many units lose on each; one grouped query. Rows are matched by 二级 category and name across units."""
    lost = Coalesce(F("weight"), Decimal("0")) - Coalesce(F("score"), Decimal("0"))
    counted = Evaluation.objects.filter(unit__in=units, framework__year=year).exclude(status__in=WAITING).order_by()
    losing = Q(score__lt=F("weight")) | Q(score__isnull=True)  # rows at full marks add nothing: not grouped
    return list(
        IndicatorResult.objects.filter(losing, evaluation__in=counted)
        .order_by().values("category__name", "name")
        .annotate(lost=Sum(lost, output_field=_decimal()), units=Count("evaluation", distinct=True))
        .filter(lost__gt=0)
        .order_by("-lost", "category__name", "name")[:limit]
    )


@dataclass
class Desk:
    year: int
    lines: list
    status_counts: dict
    overdue: int
    returned: int
    grade_counts: dict
    bands: list  # (label, low, high, count)
    losses: list
    changes: list  # UnitLine, largest change first
    average: Decimal | None
    rechecked: int

    @property
    def evaluated(self):
        return [line for line in self.lines if line.evaluation_id is not None]


def build(lines, losses, year):
    statuses = Counter(line.status_label for line in lines)
    counted = [line for line in lines if line.evaluation_id is not None and line.status not in WAITING]
    grades = Counter(line.grade for line in counted)
    scores = [line.final_score for line in counted]
    bins = charts.histogram_bins(scores, [low for low, _high, _label in SCORE_BANDS] + [100])
    changes = sorted((line for line in counted if line.change is not None), key=lambda line: (-abs(line.change), line.code))
    return Desk(
        year=year, lines=lines,
        status_counts={label: statuses.get(label, 0) for label in [NOT_STARTED, *S.labels]},
        overdue=sum(1 for line in lines if line.overdue),
        returned=statuses.get(S.RETURNED.label, 0),
        grade_counts={g: grades.get(g, 0) for g in GRADES},
        bands=[(label, low, high, n) for (low, high, label), n in zip(SCORE_BANDS, bins, strict=True)],
        losses=losses, changes=changes[:TOP],
        average=scoring.quantize(sum(scores) / len(scores)) if scores else None,
        rechecked=sum(1 for line in counted if line.recheck_score is not None),
    )


def filter_lines(lines, *, status="", grade="", band="", indicator_units=None, changed=False):
    """The list a chart links to: the same lines, narrowed as the chart's bar or point says."""
    shown = lines
    if status == "逾期":
        shown = [line for line in shown if line.overdue]
    elif status:
        shown = [line for line in shown if line.status_label == status]
    if grade:
        shown = [line for line in shown if line.grade == grade and line.status not in WAITING]
    if band:
        low, high = band
        shown = [line for line in shown if line.evaluation_id and line.status not in WAITING
                 and line.final_score is not None
                 and (low <= line.final_score < high or (high == 100 and line.final_score == 100))]
    if indicator_units is not None:
        shown = [line for line in shown if line.unit_id in indicator_units]
    if changed:
        shown = sorted((line for line in shown if line.change is not None and line.status not in WAITING),
                       key=lambda line: (-abs(line.change), line.code))
    return shown


def units_losing_on(units, year, category, name):
    """The unit ids losing points on one indicator (the list the losses chart links to)."""
    return set(
        IndicatorResult.objects.filter(evaluation__framework__year=year, evaluation__unit__in=units,
                                       category__name=category, name=name)
        .filter(Q(score__lt=F("weight")) | Q(score__isnull=True)).values_list("evaluation__unit_id", flat=True)
    )


# --- The charts -----------------------------------------------------------------------------------


def chart_definitions(desk, link):
    """The dashboard's charts; `link(**filters)` gives the URL of the list each bar or point summarises."""
    blue = charts.BLUE
    progress = charts.Chart(
        "barh", f"{desk.year}年填报进度（单位数）",
        bars=tuple(charts.Bar(label, n, link(status=label), charts.GREY if label == NOT_STARTED else blue)
                   for label, n in desk.status_counts.items()),
    )
    grades = charts.Chart(
        "bar", "自评（复核）等级分布", x_label="等级", y_label="单位数",
        bars=tuple(charts.Bar(g, n, link(grade=g), charts.GRADE_COLOURS[g]) for g, n in desk.grade_counts.items()),
    )
    histogram = charts.Chart(
        "bar", "综合得分分布", x_label="综合得分", y_label="单位数",
        bars=tuple(charts.Bar(label, n, link(band=f"{low}-{high}")) for label, low, high, n in desk.bands),
    )
    points = tuple(
        charts.Point(line.execution_rate, line.final_score, line.display_name, link(evaluation=line.evaluation_id))
        for line in desk.evaluated
        if line.execution_rate is not None and line.final_score is not None and line.status not in WAITING
    )
    scatter = charts.Chart(
        "scatter", "预算执行率与综合得分（每点一个单位）", x_label="预算执行率（%）", y_label="综合得分",
        points=points, guides=(("x", 90, "执行率 90%"), ("y", 90, "优 90 分")),
    )
    losses = charts.Chart(
        "barh", f"失分最多的指标（前 {TOP} 项，合计失分）",
        bars=tuple(charts.Bar(f"{r['name']}", scoring.quantize(r["lost"]), link(indicator=f"{r['category__name']}/{r['name']}"))
                   for r in desk.losses),
    )
    changes = charts.Chart(
        "barh", f"与上年相比变化最大的单位（前 {TOP} 个，分）",
        bars=tuple(charts.Bar(line.display_name, line.change, link(evaluation=line.evaluation_id),
                              charts.GRADE_COLOURS["优"] if line.change > 0 else charts.GRADE_COLOURS["差"])
                   for line in desk.changes),
    )
    return {"progress": progress, "grades": grades, "histogram": histogram, "scatter": scatter,
            "losses": losses, "changes": changes}
