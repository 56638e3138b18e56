"""The finance bureau's 总览 for a year: what the charts and the 汇总分析报告 summarise, computed once.

`unit_lines` reads every unit in scope with its evaluation's stored totals (EvaluationTotals) in three queries,
however many units there are; `indicator_losses` two more (a grouped read of the losing rows, their names). Everything after that (counts, bins, changes, the chart definitions) is plain Python
over those lines, so the page, the report and the tests read the same numbers.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db import connections, router
from django.db.models import Case, Count, DecimalField, F, Max, Q, TextField, Value, When
from django.db.models.functions import Cast

from evaluations import charts, scoring
from evaluations.models import (
    FINAL_STATES,
    Evaluation,
    EvaluationStatus,
    Event,
    Indicator,
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
    (its 复核 where confirmed), 执行率 from the budget's funding lines.

    Three queries however many units there are, none summing rows: the totals are the ones stored with the rows
    (EvaluationTotals, kept by the one place that stores row scores). The last recorded action and the number of
    projects are for the lines shown on a page (`add_details`)."""
    years = (year, year - 1)
    evaluations = Evaluation.objects.filter(unit__in=units, framework__year__in=years).order_by()
    of_year = {}  # (unit id, year) → (evaluation id, status, score, adjusted, executed)
    # The caps table read as text, only where the framework switches caps on, and decoded once per framework:
    # decoding the JSON on every one of 10,000 rows cost more than the rest of the query.
    caps_text = Case(When(framework__execution_caps_enabled=True, then=Cast("framework__execution_caps", TextField())),
                     default=Value(None), output_field=TextField())
    packs = {}
    for pk, unit_id, status, of, score, adjusted, executed, cap_table in evaluations.annotate(caps=caps_text).values_list(
            "pk", "unit_id", "status", "framework__year", "totals__score", "totals__adjusted_budget", "totals__executed",
            "caps"):
        if cap_table is not None and score is not None:  # the 综合得分 under the 执行率 caps, as the scorecard's
            if cap_table not in packs:
                packs[cap_table] = caps_pack(json.loads(cap_table))
            score = scoring.cap_by_budget(score, adjusted, executed, packs[cap_table]).total
        of_year[unit_id, of] = (pk, status, score, adjusted, executed)
    rechecks = {e: (status, total) for e, status, total in
                Recheck.objects.filter(evaluation__in=evaluations).values_list("evaluation", "status", "total_score")}
    thresholds = framework.grade_thresholds if framework else scoring.GradeThresholds()
    deadline = framework.submission_deadline if framework else None
    late = deadline is not None and today is not None and today > deadline
    none = (None, None, None, None, None)
    quantize, rate, grade = scoring.quantize, scoring.execution_rate, scoring.grade
    lines = []
    for pk, code, name, short_name, department_id in units.order_by("code").values_list(
            "pk", "code", "name", "short_name", "supervising_department_id"):
        evaluation_id, status, own, adjusted, executed = of_year.get((pk, year), none)
        previous_id, _, previous_own, _, _ = of_year.get((pk, year - 1), none)
        recheck_status, rechecked = rechecks.get(evaluation_id, (None, None))
        previous_status, previous_rechecked = rechecks.get(previous_id, (None, None))
        rechecked = rechecked if recheck_status in FINAL_STATES else None
        previous = previous_rechecked if previous_status in FINAL_STATES and previous_rechecked is not None else previous_own
        started = evaluation_id is not None
        line = UnitLine(
            unit_id=pk, code=code, name=name, short_name=short_name, department_id=department_id,
            evaluation_id=evaluation_id, status=status,
            own_score=quantize(own or 0) if started else None,
            recheck_score=quantize(rechecked) if rechecked is not None else None,
            recheck_status=recheck_status,
            previous_score=quantize(previous) if previous is not None else None,
            execution_rate=rate(adjusted, executed), adjusted=adjusted, executed=executed,
        )
        if started:
            line.grade = grade(line.final_score, thresholds)
            line.own_grade = grade(line.own_score, thresholds)
        line.overdue = late and (status is None or status in WAITING)
        lines.append(line)
    return lines


def add_details(lines):
    """The last recorded action and the number of projects (项目支出, issue 16) of the lines shown: two queries."""
    ids = [line.evaluation_id for line in lines if line.evaluation_id]
    last_pks = Event.objects.filter(evaluation__in=ids).order_by().values("evaluation").annotate(last=Max("pk"))
    last_events = {e: (action, at) for e, action, at in
                   Event.objects.filter(pk__in=last_pks.values("last")).values_list("evaluation", "action", "created_at")}
    projects = dict(Project.objects.filter(evaluation__in=ids).order_by().values("evaluation")
                    .annotate(n=Count("pk")).values_list("evaluation", "n"))
    for line in lines:
        line.last_action, line.last_action_at = last_events.get(line.evaluation_id, ("", None))
        line.project_count = projects.get(line.evaluation_id, 0)
    return lines


def indicator_losses(units, year, limit=TOP):
    """The 三级 indicators where the units in scope lose the most points in total (分值 − 得分 summed), with how
    many units lose on each; rows matched by 二级 category and name across units. One query over the losing rows,
    grouped per evaluation first and then per indicator (a COUNT(DISTINCT) over them took twice as long), plus one
    for the categories' names. On PostgreSQL the losing rows are read from the partial index `losing_rows`
    (IndicatorResult.Meta) alone, in the grouping's order."""
    counted = (Evaluation.objects.filter(unit__in=units, framework__year=year).exclude(status__in=WAITING)
               .order_by().values("pk"))
    alias = router.db_for_read(IndicatorResult)
    connection = connections[alias]
    subquery, params = counted.query.get_compiler(using=alias).as_sql()
    q = connection.ops.quote_name
    column = {name: q(IndicatorResult._meta.get_field(name).column)
              for name in ("evaluation", "category", "name", "weight", "score")}
    sql = (
        f"SELECT {column['category']}, {column['name']}, SUM(lost), COUNT(*) FROM ("
        f"SELECT {column['evaluation']}, {column['category']}, {column['name']}, "
        f"SUM(COALESCE({column['weight']}, 0) - COALESCE({column['score']}, 0)) AS lost "
        f"FROM {q(IndicatorResult._meta.db_table)} "
        f"WHERE ({column['score']} < {column['weight']} OR {column['score']} IS NULL) "
        f"AND {column['evaluation']} IN ({subquery}) "
        f"GROUP BY {column['evaluation']}, {column['category']}, {column['name']}) per "
        f"GROUP BY {column['category']}, {column['name']}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        grouped = cursor.fetchall()
    names = dict(Indicator.objects.using(alias).filter(pk__in={c for c, *_ in grouped}).values_list("pk", "name"))
    merged = {}  # the same 二级 name under two categories of a year's frameworks: one indicator
    for category_id, name, lost, losing in grouped:
        entry = merged.setdefault((names.get(category_id, ""), name), {"lost": Decimal("0"), "units": 0})
        entry["lost"] += scoring.quantize(Decimal(str(lost or 0)))
        entry["units"] += losing
    rows = [{"category__name": category, "name": name, "lost": entry["lost"], "units": entry["units"]}
            for (category, name), entry in merged.items() if entry["lost"] > 0]
    rows.sort(key=lambda r: (-r["lost"], r["category__name"], r["name"]))
    return rows[:limit]


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
