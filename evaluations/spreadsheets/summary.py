"""The summary workbook of a year: every unit's status, subtotals, total and grade, and every row; every project
(funds, 执行率, 总分, grade) and every project row; streamed in bounded memory.

Scores are never computed here: the summary sums the stored `IndicatorResult.score` (kept equal to the scorecard by
`Evaluation.refresh_computed_scores`), caps the sum by the 执行率 where the framework says so
(`scoring.cap_by_budget`) and grades it with `scoring.grade`. Every text cell is neutralised.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import groupby

import xlsxwriter
from django.db.models import OuterRef, Subquery, Sum

from evaluations import rule_packs, scoring
from evaluations.models import (
    FUNDING_SOURCES,
    BudgetLine,
    Evaluation,
    Framework,
    IndicatorResult,
    Project,
    ProjectIndicator,
    ProjectTemplateIndicator,
    Unit,
)
from evaluations.spreadsheets.cells import (
    BAND_LABELS,
    COMPARISON_LABELS,
    FRAMEWORK_ROW,
    NOT_STARTED,
    RESULT_COLUMNS,
    RULE_LABELS,
    STATUS_LABELS,
    UNIT_ROW,
    as_float,
    neutralise,
)

CHUNK = 2000
DETAIL_FIELDS = (
    "evaluation_id", "category_id", "indicator_id", "name", "comparison", "target_value", "target_text",
    "unit_of_measure", "actual_value", "actual_text", "weight", "rule", "deduction_per_point", "band", "score",
    "deviation_reason", "order", "pk",
)


def summary_rows(year, user=None):
    """Rows of the summary as plain tuples, streamed; `user=None` is the command line (every unit)."""
    framework = Framework.objects.get(year=year)
    indicators = sorted(framework.indicators.all(), key=lambda i: (i.level, i.order, i.pk))
    units = Unit.objects.all() if user is None else Unit.objects.visible_to(user)
    evaluation = Evaluation.objects.filter(unit=OuterRef("pk"), framework=framework)
    unit_rows = (
        units.annotate(evaluation_id=Subquery(evaluation.values("pk")[:1]),
                       evaluation_status=Subquery(evaluation.values("status")[:1]))
        .order_by("code").values_list("code", "name", "evaluation_id", "evaluation_status")
        .iterator(chunk_size=CHUNK)
    )
    detail = (
        IndicatorResult.objects.filter(evaluation__framework=framework, evaluation__unit__in=units.values("pk"))
        .order_by("evaluation__unit__code").values_list(*DETAIL_FIELDS).iterator(chunk_size=CHUNK)
    )
    return framework, indicators, unit_rows, detail


# The 项目 and 项目指标 sheets (issue 16): one row per project, one per project indicator.
PROJECT_FIELDS = (
    "evaluation__unit__code", "evaluation__unit__name", "evaluation__status", "code", "name",
    "supervising_department", "implementing_unit",
    *(f"{source}_{column}" for source in ("fiscal", "carryover", "other") for column in ("initial", "adjusted", "executed")),
    "execution_score", "total_score", "is_demo",
)
PROJECT_COLUMNS = (
    "单位编码", "单位名称", "状态", "项目编码", "项目名称", "主管部门", "实施单位", "年初预算数（万元）", "全年预算数（万元）",
    "全年执行数（万元）", "执行率（%）", "执行率得分", "总分", "自评结果", "演示数据",
)
PROJECT_ROW_FIELDS = (
    "project__evaluation__unit__code", "project__code", "project__name", "category_id", "name", "comparison",
    "target_value", "target_text", "unit_of_measure", "actual_value", "actual_text", "weight", "method", "score",
    "deviation_reason",
)
PROJECT_ROW_COLUMNS = (
    "单位编码", "项目编码", "项目名称", "一级指标", "二级指标", "三级指标", "指标性质", "年度指标值", "年度指标值（定性）",
    "度量单位", "实际完成值", "实际完成值（定性）", "分值", "计分方式", "得分", "偏差原因分析及改进措施",
)
METHOD_LABELS = {"rule": "按规则计分", "qualitative": "定性分档", "manual": "人工评分"}


def project_rows(framework, units):
    """The year's projects and their indicator rows as plain tuples, in unit-code order, streamed."""
    projects = (
        Project.objects.filter(evaluation__framework=framework, evaluation__unit__in=units.values("pk"))
        .order_by("evaluation__unit__code", "order", "pk").values_list(*PROJECT_FIELDS).iterator(chunk_size=CHUNK)
    )
    rows = (
        ProjectIndicator.objects.filter(project__evaluation__framework=framework,
                                        project__evaluation__unit__in=units.values("pk"))
        .order_by("project__evaluation__unit__code", "project__order", "project__pk", "order", "pk")
        .values_list(*PROJECT_ROW_FIELDS).iterator(chunk_size=CHUNK)
    )
    return projects, rows


def write_project_sheets(wb, framework, units, bold):
    """项目 and 项目指标, after the unit sheets (constant_memory: each sheet written top to bottom)."""
    thresholds = framework.grade_thresholds
    template = {}
    items = list(ProjectTemplateIndicator.objects.filter(project_framework__framework=framework))
    tops = {i.pk: i.name for i in items if i.level == 1}
    for i in items:
        if i.level == 2:
            template[i.pk] = (tops.get(i.parent_id, ""), i.name)
    projects, rows = project_rows(framework, units)
    sheet = wb.add_worksheet("项目")
    sheet.write_row(0, 0, PROJECT_COLUMNS, bold)
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, len(PROJECT_COLUMNS) - 1, 14)
    count = 0
    for n, p in enumerate(projects, start=1):
        initial = sum((p[i] for i in (7, 10, 13)), Decimal(0))
        adjusted = sum((p[i] for i in (8, 11, 14)), Decimal(0))
        executed = sum((p[i] for i in (9, 12, 15)), Decimal(0))
        rate = rule_packs.execution_rate(adjusted, executed)
        total = p[17]
        sheet.write_row(n, 0, (
            neutralise(p[0]), neutralise(p[1]), STATUS_LABELS.get(p[2], ""), neutralise(p[3]), neutralise(p[4]),
            neutralise(p[5]), neutralise(p[6]), float(initial), float(adjusted), float(executed), as_float(rate),
            as_float(p[16]), as_float(total), "" if total is None else scoring.grade(total, thresholds),
            "是" if p[18] else "",
        ))
        count = n
    detail = wb.add_worksheet("项目指标")
    detail.write_row(0, 0, PROJECT_ROW_COLUMNS, bold)
    detail.freeze_panes(1, 0)
    detail.set_column(0, len(PROJECT_ROW_COLUMNS) - 1, 14)
    for n, r in enumerate(rows, start=1):
        top, category = template.get(r[3], ("", ""))
        detail.write_row(n, 0, (
            neutralise(r[0]), neutralise(r[1]), neutralise(r[2]), top, category, neutralise(r[4]),
            neutralise(COMPARISON_LABELS.get(r[5], r[5])), as_float(r[6]), neutralise(r[7]), neutralise(r[8]), as_float(r[9]),
            neutralise(r[10]), as_float(r[11]), METHOD_LABELS.get(r[12], r[12]), as_float(r[13]), neutralise(r[14]),
        ))
    return count


def write_summary(target, year, user=None) -> int:
    """Write the summary workbook of `year` to `target` (a path or a binary file); returns the number of units.

    XlsxWriter's constant_memory mode flushes each row as it is written, one temporary file per sheet, so both
    sheets are written in one pass over two ordered streams (units, rows), merged on the unit code.
    """
    framework, indicators, unit_rows, detail = summary_rows(year, user)
    tops = [i for i in indicators if i.level == 1]
    cats = [i for i in indicators if i.level == 2]
    by_pk = {i.pk: i for i in indicators}
    position = {c.pk: n for n, c in enumerate(sorted(cats, key=lambda c: (by_pk[c.parent_id].order, c.order, c.pk)))}
    columns = [(t, [c for c in cats if c.parent_id == t.pk]) for t in tops]
    thresholds = framework.grade_thresholds
    pack, budgets = None, {}
    if framework.execution_caps_enabled:  # one grouped read of the funding lines, only when the caps apply
        pack = framework.rule_pack()
        budgets = {e: (a, x) for e, a, x in BudgetLine.objects.filter(
            evaluation__framework=framework, item__in=FUNDING_SOURCES).order_by().values("evaluation")
            .annotate(a=Sum("adjusted_budget"), x=Sum("executed")).values_list("evaluation", "a", "x")}

    wb = xlsxwriter.Workbook(target, {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
    })
    bold = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True, "valign": "vcenter"})
    score_fmt = wb.add_format({"num_format": "0.00"})
    summary = wb.add_worksheet("汇总")
    sheet = wb.add_worksheet("指标明细")

    headers = ["单位编码", "单位名称", "状态"]
    for top, children in columns:
        headers.append(f"{top.name}（{scoring.plain(top.weight)}分）")
        headers += [f"{c.name}（{scoring.plain(c.weight)}分）" for c in children]
    headers += ["综合得分", "自评结果"]
    summary.write(0, 0, f"{year}年度部门整体支出绩效自评汇总表", wb.add_format({"bold": True, "font_size": 14}))
    summary.write_row(1, 0, headers, bold)
    summary.freeze_panes(2, 2)
    summary.set_column(0, 0, 14)
    summary.set_column(1, 1, 36)
    summary.set_column(2, len(headers) - 1, 12, score_fmt)
    sheet.write_row(0, 0, RESULT_COLUMNS, bold)
    sheet.freeze_panes(1, 0)
    sheet.set_column(0, len(RESULT_COLUMNS) - 1, 14)

    detail_groups = groupby(detail, key=lambda r: r[0])
    pending = next(detail_groups, None)
    summary_row, detail_row, count = 2, 1, 0
    write_detail = sheet.write_row
    for code, name, evaluation_id, status in unit_rows:
        count += 1
        rows = []
        # Both streams are ordered by unit code over the same units, so this unit's rows (if any) come next.
        if evaluation_id is not None and pending is not None and pending[0] == evaluation_id:
            rows = sorted(pending[1], key=lambda r: (position.get(r[1], 0), r[16], r[17]))
            pending = next(detail_groups, None)
        scores = {}
        for r in rows:
            scores[r[1]] = scores.get(r[1], scoring.ZERO) + (r[14] or scoring.ZERO)
            category = by_pk[r[1]]
            write_detail(detail_row, 0, (
                neutralise(code), neutralise(name), year, by_pk[category.parent_id].name, category.name,
                neutralise(r[3]), UNIT_ROW if r[2] is None else FRAMEWORK_ROW,
                neutralise(COMPARISON_LABELS.get(r[4], r[4])), as_float(r[5]), neutralise(r[6]), neutralise(r[7]),
                as_float(r[8]), neutralise(r[9]), as_float(r[10]), RULE_LABELS.get(r[11], r[11]), as_float(r[12]),
                BAND_LABELS.get(r[13], ""), as_float(r[14]), neutralise(r[15]), r[16],
            ))
            detail_row += 1
        line = [neutralise(code), neutralise(name), STATUS_LABELS.get(status, NOT_STARTED)]
        if evaluation_id is not None:
            for _top, children in columns:
                line.append(float(sum((scores.get(c.pk, scoring.ZERO) for c in children), scoring.ZERO)))
                line += [float(scores.get(c.pk, scoring.ZERO)) for c in children]
            total = sum(scores.values(), Decimal(0))
            if pack is not None:  # the 执行率 caps, as the scorecard applies them
                capped = scoring.cap_by_budget(total, *budgets.get(evaluation_id, (None, None)), pack)
                total = capped.total if capped.capped else total
            line += [float(scoring.quantize(total)), scoring.grade(total, thresholds)]
        summary.write_row(summary_row, 0, line)
        summary_row += 1
    summary.autofilter(1, 0, max(1, summary_row - 1), len(headers) - 1)
    units = Unit.objects.all() if user is None else Unit.objects.visible_to(user)
    write_project_sheets(wb, framework, units, bold)
    wb.close()
    return count


def summary_filename(year):
    return f"{year}年度部门整体支出绩效自评汇总.xlsx"
